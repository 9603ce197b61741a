"""RapidOCR's detector settings, scored on every kind of page: photos, receipts, letters, invoices.

    PYTHONPATH=$PWD .venv/bin/python bench/rapidocr_tuning.py [--variant NAME ...] [--sets a,b]
        [--limit N_PER_HALF] [--small-only] [--json OUT]

Each set is scored in two halves (A: its first half in file order, B: the rest): a setting is chosen
on A and must hold on B. ICDAR 2015 by end-to-end F1, the others by word F1 (bag of words). Every
variant's engine is loaded once, and each image is read by every variant in turn (the order rotating
from image to image) so that other jobs on the machine slow all variants alike: seconds per page are
comparable within one run, not across runs. The small-image check reads a 480 x 120 PNG with one
printed line and the same pixels padded into a 1280 x 736 page, 5 times each, and gives the ratio
of the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from time import perf_counter

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench import datasets
from bench.metrics import Score, TextBox, icdar2015_score, sroie_score
from ocrwatch.config import Settings
from ocrwatch.engines.rapidocr.engine import RapidOcrEngine
from ocrwatch.engines.rapidocr.tuning import RAPIDOCR_DEFAULTS, Tuning

VARIANTS = {
    "rapidocr-736": RAPIDOCR_DEFAULTS,
    "upscale-1": Tuning(max_upscale=1.0),
    "upscale-2": Tuning(max_upscale=2.0),
    "line-pieces": Tuning(line_pieces=1.0),
    "upscale-1+pieces": Tuning(max_upscale=1.0, line_pieces=1.0),
    "upscale-2+pieces": Tuning(max_upscale=2.0, line_pieces=1.0),
    "upscale-2+pieces-over-2": Tuning(max_upscale=2.0, line_pieces=2.0),
}
"""Name -> detector settings; `rapidocr-736` is RapidOCR's own sizing (short side enlarged to 736)."""

SETS = ("icdar2015", "sroie", "letters", "invoices")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@dataclass(slots=True)
class Tally:
    """One variant's scores and seconds on one half of one set."""

    score: Score = field(default_factory=Score)
    seconds: list[float] = field(default_factory=list)
    misses: dict[str, list[str]] = field(default_factory=dict)


def halves(name: str, limit: int | None) -> tuple[list[datasets.Sample], list[datasets.Sample]]:
    """The set's first and second half in file order, each cut to its first `limit` samples."""
    if name == "icdar2015":
        items = datasets.icdar2015()
    elif name == "sroie":
        items = datasets.sroie()
    else:
        items = datasets.documents(name)
    middle = (len(items) + 1) // 2
    return items[:middle][:limit], items[middle:][:limit]


def score(name: str, words: list[TextBox], truth: list[TextBox]) -> Score:
    if name == "icdar2015":
        return icdar2015_score(words, truth).end_to_end
    return sroie_score(words, truth)


def missed(words: list[TextBox], truth: list[TextBox]) -> list[str]:
    """Ground-truth tokens not read, then tokens read that are not in the truth (prefixed `+`)."""
    expected = Counter(t for line in truth for t in line.text.upper().split())
    read = Counter(t for word in words for t in word.text.upper().split())
    return sorted((expected - read).elements()) + [f"+{t}" for t in sorted((read - expected).elements())]


def run_sets(engines: dict[str, RapidOcrEngine], names: list[str], limit: int | None) -> dict:
    results: dict[str, dict[str, dict[str, Tally]]] = {}
    turn = 0
    for name in names:
        first, second = halves(name, limit)
        results[name] = {v: {"A": Tally(), "B": Tally()} for v in engines}
        for index, sample in enumerate(first + second):
            image = datasets.load_rgb(sample.image)
            order = list(engines)
            turn += 1
            order = order[turn % len(order) :] + order[: turn % len(order)]
            for variant in order:
                start = perf_counter()
                page = engines[variant].read(image)
                elapsed = perf_counter() - start
                words = [TextBox(word.text, word.box) for word in page.words]
                tally = results[name][variant]["A" if index < len(first) else "B"]
                tally.score += score(name, words, sample.truth)
                tally.seconds.append(elapsed)
                if name in ("letters", "invoices"):
                    tally.misses[sample.name] = missed(words, sample.truth)
        print_table(name, results[name])
    return results


def print_table(name: str, tallies: dict[str, dict[str, Tally]]) -> None:
    base = next(iter(tallies))
    print(f"\n{name}: F1 A / B, s/page A / B (x {base})")
    for variant, halves in tallies.items():
        a, b = halves["A"], halves["B"]
        ratio = sum(a.seconds + b.seconds) / max(
            sum(tallies[base]["A"].seconds + tallies[base]["B"].seconds), 1e-9
        )
        print(
            f"  {variant:28} {a.score.f1:.3f} / {b.score.f1:.3f}   "
            f"{statistics.mean(a.seconds):.2f} / {statistics.mean(b.seconds):.2f} s  x{ratio:.2f}"
            f"   P {(a.score + b.score).precision:.3f} R {(a.score + b.score).recall:.3f}"
        )


def small_images() -> tuple[np.ndarray, np.ndarray]:
    """A 480 x 120 label with one printed line, and the same pixels padded into a 1280 x 736 page."""
    label = Image.new("RGB", (480, 120), "white")
    ImageDraw.Draw(label).text(
        (16, 38), "Order 4711 shipped 12.03", fill="black", font=ImageFont.truetype(FONT, 36)
    )
    page = Image.new("RGB", (1280, 736), "white")
    page.paste(label, (0, 0))
    return np.asarray(label), np.asarray(page)


def run_small(engines: dict[str, RapidOcrEngine], repeats: int = 5) -> dict[str, dict[str, float]]:
    label, page = small_images()
    timings: dict[str, dict[str, list[float]]] = {v: {"label": [], "page": []} for v in engines}
    texts = {}
    for _ in range(repeats):
        for variant, engine in engines.items():
            for kind, image in (("label", label), ("page", page)):
                start = perf_counter()
                read = engine.read(image)
                timings[variant][kind].append(perf_counter() - start)
                texts[variant, kind] = read.text
    print("\nsmall image: median s, 480x120 label / same padded into 1280x736")
    out = {}
    for variant, kinds in timings.items():
        small, padded = statistics.median(kinds["label"]), statistics.median(kinds["page"])
        out[variant] = {"label": small, "page": padded, "ratio": small / padded}
        print(
            f"  {variant:28} {small:.3f} / {padded:.3f} s  ratio {small / padded:.2f}  "
            f"{texts[variant, 'label']!r} / {texts[variant, 'page']!r}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), help="default: all")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated, of " + ", ".join(SETS))
    parser.add_argument("--limit", type=int, help="the first N images of each half")
    parser.add_argument("--small-only", action="store_true", help="only the small-image timing check")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every figure and miss here")
    args = parser.parse_args()
    settings = Settings().engines
    engines = {name: RapidOcrEngine(settings, VARIANTS[name]) for name in args.variant or VARIANTS}
    report: dict = {"variants": {name: asdict(VARIANTS[name]) for name in engines}}
    report["small"] = run_small(engines)
    if not args.small_only:
        sets = run_sets(engines, args.sets.split(","), args.limit)
        report["sets"] = {
            name: {
                variant: {
                    half: {**t.score.as_dict(), "seconds": t.seconds, "misses": t.misses}
                    for half, t in h.items()
                }
                for variant, h in by_variant.items()
            }
            for name, by_variant in sets.items()
        }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
