"""PDFs with text: a page's own layer is read like pdftotext reads it, and trusted only when it should be.

Real PDFs only: the 13 invoices of the shared data (read, never copied into the repository), and PDFs
made here from them: a scan (an invoice page as an image), a mix of both, an image under an invisible
layer of wrong words (an earlier bad OCR), and text whose font maps its glyphs to no Unicode.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from fpdf import FPDF
from fpdf.enums import TextMode

from bench.pdf_text import matches
from ocrwatch.config import DocumentSettings, PdfText, Settings
from ocrwatch.documents import open_pdf
from ocrwatch.engines import Engine
from ocrwatch.index import FileRecord, FileStatus
from ocrwatch.outputs.pdf import render_pdf
from ocrwatch.pdftext import decide, is_non_word, page_text, read_layer
from ocrwatch.pipeline import OcrJob, read_pages
from ocrwatch.result import DocumentText
from tests.conftest import DATA
from tests.pdftext import needs_pdftotext, pdf_words, pdftotext
from tests.test_scan import scan

INVOICES = sorted((DATA / "documents" / "pdf").glob("*.pdf"))
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WRONG = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
]

pytestmark = [
    needs_pdftotext,
    pytest.mark.skipif(not INVOICES, reason=f"the invoice PDFs are not at {DATA / 'documents' / 'pdf'}"),
]


def layer_pages(path: Path, mode: PdfText = PdfText.AUTO) -> list[tuple[bool, str, object]]:
    """Each page's decision and, when the layer is used, its `PageText`."""
    pages = []
    for page in open_pdf(path, DocumentSettings()):
        layer = read_layer(page)
        decision = decide(layer, mode)
        pages.append((decision.use_layer, decision.reason, page_text(page, layer, decision.reason)))
    return pages


def read(path: Path, engine: Engine, mode: PdfText = PdfText.AUTO) -> DocumentText:
    """`path` through the pipeline's reading stage, as a worker reads it."""
    data = path.read_bytes()
    stat = path.stat()
    record = FileRecord(
        id=1,
        path=str(path),
        size=stat.st_size,
        mtime=stat.st_mtime,
        sha256=sha256(data).hexdigest(),
        status=FileStatus.PROCESSING,
        error=None,
        attempts=0,
        document_id=None,
        output_stem=path.name,
        updated_at=datetime.now(UTC),
    )
    settings = Settings(output=path.parent / "out", outputs=("json",), pdf_text=mode)
    job = OcrJob(path, record, stat.st_size, stat.st_mtime, record.sha256 or "", settings)
    return read_pages(job, engine)[0]


def scanned(source: Path, target: Path, dpi: int = 150) -> Path:
    """`source`'s first page as a scan: an image in a PDF, no text."""
    pdf = pypdfium2.PdfDocument(source)
    image = pdf[0].render(scale=dpi / 72).to_pil().convert("RGB")
    pdf.close()
    image.save(target, "PDF", resolution=dpi)
    return target


def under_wrong_words(source: Path, target: Path, tmp_path: Path) -> Path:
    """`source`'s first page as an image under an invisible layer of wrong words (a bad earlier OCR)."""
    picture = tmp_path / "page.png"
    pdf_page = pypdfium2.PdfDocument(source)[0]
    pdf_page.render(scale=150 / 72).to_pil().convert("RGB").save(picture)
    width, height = pdf_page.get_size()
    pdf = FPDF(unit="pt", format=(width, height))
    pdf.add_page()
    pdf.image(str(picture), x=0, y=0, w=width, h=height)
    pdf.set_font("helvetica", size=10)
    pdf.text_mode = TextMode.INVISIBLE
    for row in range(40):
        pdf.text(40, 60 + row * 18, " ".join(WRONG[row % 5 :][:6]))
    pdf.output(str(target))
    return target


def concatenated(target: Path, *sources: Path) -> Path:
    """The first page of each of `sources`, one after another."""
    with pikepdf.new() as result:
        for source in sources:
            with pikepdf.open(source) as pdf:
                result.pages.append(pdf.pages[0])
        result.save(target)
    return target


@pytest.mark.parametrize("path", INVOICES, ids=[path.stem for path in INVOICES])
def test_an_invoice_is_read_from_its_layer_with_pdftotexts_words_and_boxes(path: Path) -> None:
    scale = DocumentSettings().pdf_dpi / 72
    for (use, reason, page), (_, truth) in zip(layer_pages(path), pdf_words(path), strict=True):
        assert use, reason
        assert reason == f"its own text layer covers the page ({len(page.words)} words)"
        assert (page.engine, page.source) == ("text-layer", "text-layer")
        found = [(word.text, _points(word.box, scale)) for word in page.words]
        paired = matches(found, [(word.text, word.box) for word in truth])
        assert 2 * paired / (len(found) + len(truth)) >= 0.98  # 0.99 over all of them: the next test
        assert sorted(index for line in page.lines for index in line.words) == list(range(len(page.words)))
        assert all(line.text == " ".join(page.words[i].text for i in line.words) for line in page.lines)


def test_the_invoices_words_match_pdftotext_with_f1_over_0_99() -> None:
    scale = DocumentSettings().pdf_dpi / 72
    paired = found = truth = 0
    for path in INVOICES:
        for (_, _, page), (_, theirs) in zip(layer_pages(path), pdf_words(path), strict=True):
            mine = [(word.text, _points(word.box, scale)) for word in page.words]
            paired += matches(mine, [(word.text, word.box) for word in theirs])
            found, truth = found + len(mine), truth + len(theirs)
    assert 2 * paired / (found + truth) >= 0.99


def test_a_scan_is_ocrd_because_it_has_no_text_layer(tmp_path: Path, engine: Engine) -> None:
    path = scanned(DATA / "documents" / "pdf" / "coolblue1.pdf", tmp_path / "scan.pdf")
    [(use, reason, _)] = layer_pages(path)
    assert (use, reason) == (False, "no text layer")

    [page] = read(path, engine).pages
    assert (page.source, page.engine, page.reason) == ("ocr", engine.name, "no text layer")
    assert "FACTUUR" in page.text


def test_a_stamped_page_number_on_a_scan_does_not_count_as_its_text(tmp_path: Path) -> None:
    picture = tmp_path / "page.png"
    pypdfium2.PdfDocument(INVOICES[0])[0].render(scale=1).to_pil().convert("RGB").save(picture)
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.image(str(picture), x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.set_font("helvetica", size=8)
    pdf.text(280, 830, "Page 1 of 3")
    pdf.output(str(tmp_path / "stamped.pdf"))

    [(use, reason, _)] = layer_pages(tmp_path / "stamped.pdf")
    assert not use
    assert reason == "text layer covers only 0.1% of a page that is an image (4 words)"


def test_an_invisible_layer_of_wrong_words_is_replaced_by_ocr_and_removed_from_the_pdf(
    tmp_path: Path, engine: Engine
) -> None:
    path = under_wrong_words(DATA / "documents" / "pdf" / "coolblue1.pdf", tmp_path / "bad-ocr.pdf", tmp_path)
    assert "lorem" in pdftotext(path)

    content = read(path, engine)
    [page] = content.pages
    assert (page.source, page.engine) == ("ocr", engine.name)
    assert page.reason == "text layer is invisible (render mode 3): replaced"
    assert "FACTUUR" in page.text and "lorem" not in page.text

    searchable = tmp_path / "searchable.pdf"
    searchable.write_bytes(render_pdf(content, path.read_bytes()))
    text = pdftotext(searchable)
    assert "FACTUUR" in text
    assert not set(WRONG) & set(text.split())


def test_pdf_text_use_takes_even_an_invisible_layer(tmp_path: Path, engine: Engine) -> None:
    path = under_wrong_words(DATA / "documents" / "pdf" / "coolblue1.pdf", tmp_path / "bad-ocr.pdf", tmp_path)
    [page] = read(path, engine, PdfText.USE).pages
    assert (page.source, page.engine) == ("text-layer", "text-layer")
    assert page.reason == "its own text layer (invisible, render mode 3), as pdf_text: use asks (240 words)"
    assert page.text.split()[:6] == WRONG[:6]


def test_pdf_text_ocr_reads_an_invoice_with_text_by_ocr(tmp_path: Path, engine: Engine) -> None:
    [page] = read(DATA / "documents" / "pdf" / "coolblue1.pdf", engine, PdfText.OCR).pages
    assert (page.source, page.engine, page.reason) == ("ocr", engine.name, "")
    assert "FACTUUR" in page.text


@pytest.mark.skipif(not FONT.is_file(), reason=f"{FONT} is missing: apt-get install fonts-dejavu-core")
def test_glyphs_without_unicode_are_replaced(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=14)
    for row in range(10):
        pdf.text(20, 20 + 10 * row, "Invoice number 4711, total amount due")
    with pikepdf.open(io.BytesIO(bytes(pdf.output()))) as broken:
        for item in broken.objects:
            if isinstance(item, pikepdf.Dictionary) and pikepdf.Name.ToUnicode in item:
                del item[pikepdf.Name.ToUnicode]
        broken.save(tmp_path / "no-unicode.pdf")

    [(use, reason, _)] = layer_pages(tmp_path / "no-unicode.pdf")
    assert (use, reason) == (False, "text layer has no Unicode: replaced")


def test_a_layer_of_non_words_is_replaced(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for row in range(20):
        pdf.text(20, 20 + 10 * row, "qxzvbkt #@!%^& wrtplkmn ~|~|~ 4711 zzxcvbnm")
    pdf.output(str(tmp_path / "garbage.pdf"))

    [(use, reason, _)] = layer_pages(tmp_path / "garbage.pdf")
    assert (use, reason) == (False, "text layer is mostly non-words: replaced")


def test_non_words() -> None:
    words = ["Rechnungsnr.", "NL50INGB0683251309", "€", ":", "Deutschland", "aws.amazon.com/contact-us/"]
    assert not any(map(is_non_word, words))
    assert all(map(is_non_word, ["qxzvbkt", "a#@!%^&", "wrtplkmn"]))


def test_scan_reads_a_mixed_pdf_page_by_page_and_its_searchable_pdf_has_each_word_once(
    tmp_path: Path,
) -> None:
    invoice = DATA / "documents" / "pdf" / "coolblue1.pdf"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    image_page = scanned(DATA / "documents" / "pdf" / "saeco.pdf", tmp_path / "scan.pdf")
    concatenated(inbox / "mixed.pdf", invoice, image_page)
    (tmp_path / "config.yaml").write_text("outputs: [json, pdf]\n")

    result = scan(tmp_path, "inbox", extra=("--config", "config.yaml"))
    assert result.returncode == 0, result.stderr

    pages = json.loads((tmp_path / "out" / "mixed.pdf.json").read_text())["pages"]
    assert [(page["source"], page["engine"]) for page in pages] == [
        ("text-layer", "text-layer"),
        ("ocr", "rapidocr"),
    ]
    assert pages[0]["reason"].startswith("its own text layer covers the page")
    assert pages[1]["reason"] == "no text layer"

    original = pdftotext(invoice).split()
    searchable = pdftotext(tmp_path / "out" / "mixed.pdf.pdf", "-f", "1", "-l", "1").split()
    assert sorted(searchable) == sorted(original)  # each word once: no second layer over its own
    assert "Factuur" in pdftotext(tmp_path / "out" / "mixed.pdf.pdf", "-f", "2", "-l", "2")


def _points(box: tuple[tuple[float, float], ...], scale: float) -> tuple[float, float, float, float]:
    (left, top), _, (right, bottom), _ = box
    return left / scale, top / scale, right / scale, bottom / scale
