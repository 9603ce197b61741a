"""How well and how fast a PDF's own text layer reads, against pdftotext and against OCR.

For each PDF page: word F1 against `pdftotext -bbox` (a word counts when its text matches a
pdftotext word whose box it overlaps by IoU >= 0.5), and seconds a page to read the layer and to OCR
the rendered page; timings are the median of `--runs` runs.

    PYTHONPATH=. python -m bench.pdf_text [--runs 3] [--no-ocr] [PDF ...]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
from collections import defaultdict
from html import unescape
from pathlib import Path
from time import perf_counter

from ocrwatch.config import DocumentSettings, PdfText, Settings
from ocrwatch.documents import open_pdf
from ocrwatch.engines import Engine, create_engine
from ocrwatch.pdftext import decide, read_layer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "documents" / "pdf"
PAGE = re.compile(r'<page width="[\d.]+" height="[\d.]+">(.*?)</page>', re.S)
WORD = re.compile(r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*?)</word>')
MIN_IOU = 0.5

Box = tuple[float, float, float, float]


def reference(pdf: Path) -> list[list[tuple[str, Box]]]:
    """Each page's words and boxes (points, as displayed) as pdftotext finds them."""
    markup = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [
        [(unescape(t), (float(a), float(b), float(c), float(d))) for a, b, c, d, t in WORD.findall(body)]
        for body in PAGE.findall(markup)
    ]


def matches(found: list[tuple[str, Box]], truth: list[tuple[str, Box]]) -> int:
    """Words of `found` paired one to one with a `truth` word of the same text and overlapping box."""
    free: dict[str, list[Box]] = defaultdict(list)
    for text, box in truth:
        free[text].append(box)
    paired = 0
    for text, box in found:
        candidates = free.get(text, [])
        best = max(candidates, key=lambda other: iou(box, other), default=None)
        if best is not None and iou(box, best) >= MIN_IOU:
            candidates.remove(best)
            paired += 1
    return paired


def iou(a: Box, b: Box) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def layer_words(pdf: Path, settings: DocumentSettings) -> tuple[list[list[tuple[str, Box]]], float]:
    """Each page's layer words in points, and the seconds a page that reading them took."""
    pages, started = [], perf_counter()
    for page in open_pdf(pdf, settings):
        layer = read_layer(page)
        decide(layer, PdfText.AUTO)
        pages.append([(word.text, _points(word.box, page.scale)) for word in layer.words])
    return pages, (perf_counter() - started) / len(pages)


def ocr_seconds(pdf: Path, settings: Settings, engine: Engine) -> float:
    """Seconds a page to render and OCR the PDF."""
    pages, started = 0, perf_counter()
    for page in open_pdf(pdf, settings.documents):
        engine.read(page.render())
        pages += 1
    return (perf_counter() - started) / pages


def _points(box: tuple[tuple[float, float], ...], scale: float) -> Box:
    (left, top), _, (right, bottom), _ = box
    return left / scale, top / scale, right / scale, bottom / scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-ocr", action="store_true", help="time the text layer only")
    options = parser.parse_args()
    pdfs = options.pdfs or sorted(DATA.glob("*.pdf"))
    settings = Settings()
    engine = None if options.no_ocr else create_engine(settings.engine, settings.engines)
    totals = {"paired": 0, "found": 0, "truth": 0}
    layer_times, ocr_times, page_counts = [], [], []
    print(f"{'PDF':32} {'pages':>5} {'F1':>6} {'layer s/page':>13} {'OCR s/page':>11}")
    for pdf in pdfs:
        truth = reference(pdf)
        runs = [layer_words(pdf, settings.documents) for _ in range(options.runs)]
        found, layer_time = runs[0][0], statistics.median(seconds for _, seconds in runs)
        paired = sum(matches(mine, theirs) for mine, theirs in zip(found, truth, strict=True))
        counts = (paired, sum(map(len, found)), sum(map(len, truth)))
        for key, value in zip(totals, counts, strict=True):
            totals[key] += value
        ocr_time = 0.0
        if engine is not None:
            ocr_time = statistics.median(ocr_seconds(pdf, settings, engine) for _ in range(options.runs))
        layer_times.append(layer_time)
        ocr_times.append(ocr_time)
        page_counts.append(len(truth))
        print(f"{pdf.name:32} {len(truth):5} {_f1(*counts):6.4f} {layer_time:13.4f} {ocr_time:11.2f}")
    pages = sum(page_counts)
    layer_mean = sum(t * n for t, n in zip(layer_times, page_counts, strict=True)) / pages
    ocr_mean = sum(t * n for t, n in zip(ocr_times, page_counts, strict=True)) / pages
    print(f"{'all':32} {pages:5} {_f1(*totals.values()):6.4f} {layer_mean:13.4f} {ocr_mean:11.2f}")


def _f1(paired: int, found: int, truth: int) -> float:
    precision, recall = paired / max(found, 1), paired / max(truth, 1)
    return 2 * precision * recall / (precision + recall) if paired else 0.0


if __name__ == "__main__":
    main()
