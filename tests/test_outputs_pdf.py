"""The searchable PDF, read back with pdftotext: the engine's words, in order, over the words' pixels.

Real RapidOCR on a SROIE receipt, a multi-page TIFF, a bilevel scan, a PDF input and turned pages.
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from ocrwatch.config import DocumentSettings
from ocrwatch.documents import open_pages
from ocrwatch.engines import Engine
from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.errors import OriginalChanged
from ocrwatch.geometry import Quad
from ocrwatch.outputs.pdf import DEFAULT_DPI, read_original, render_pdf
from ocrwatch.result import DocumentText
from tests.conftest import render_text
from tests.pdftext import in_order, iou, needs_pdftotext, pdf_words, pdftotext

pytestmark = needs_pdftotext

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RECEIPT = DATA / "sroie" / "img" / "000.jpg"
RECEIPT_DPI = 150  # as its JFIF header records
PDF_DPI = DocumentSettings().pdf_dpi


def read(engine: Engine, path: Path) -> DocumentText:
    """What the pipeline makes of `path`: every page through the engine."""
    pages = [engine.read(image) for image in open_pages(path, DocumentSettings())]
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return DocumentText(path, sha256, engine.name, engine.version, pages, 0.0)


def write_pdf(doc: DocumentText, folder: Path) -> Path:
    target = folder / f"{doc.source.name}.pdf"
    target.write_bytes(render_pdf(doc, read_original(doc.source, doc.sha256)))
    return target


def envelope(box: Quad, scale: float) -> tuple[float, float, float, float]:
    xs, ys = [x * scale for x, _ in box], [y * scale for _, y in box]
    return min(xs), min(ys), max(xs), max(ys)


def assert_words_over_boxes(pdf: Path, pages: list[PageText], scales: list[float]) -> None:
    """pdftotext finds each page's words, in the engine's order, and each word it reports sits over
    the engine's box for it (scaled to points, as the page is displayed).

    In layout mode pdftotext groups rows itself, so a word the engine put in a neighbouring row (a
    tall handwritten figure beside a printed line) may come a row later: a few may be out of order.
    In raw mode (the order of the PDF's content) every word is in the engine's order.
    """
    extracted = pdf_words(pdf)
    assert len(extracted) == len(pages)
    for number, (page, scale, (_, words)) in enumerate(zip(pages, scales, extracted, strict=True), start=1):
        texts = [word.text for word in page.words]
        one_page = ("-f", str(number), "-l", str(number))
        assert in_order(texts, pdftotext(pdf, "-raw", *one_page)) == []
        assert len(in_order(texts, pdftotext(pdf, "-layout", *one_page))) <= len(texts) // 20
        assert sorted(word.text for word in words) == sorted(texts)
        overlaps = [
            max(iou(found.box, envelope(word.box, scale)) for found in words if found.text == word.text)
            for word in page.words
        ]
        assert min(overlaps) > 0.6, sorted(overlaps)[:5]
        assert np.median(overlaps) > 0.85


@pytest.fixture(scope="module")
def receipt(engine: Engine) -> DocumentText:
    if not RECEIPT.is_file():
        pytest.skip(f"benchmark receipt {RECEIPT} not found (see ../shared/data/README.md)")
    return read(engine, RECEIPT)


def test_a_receipt_reads_back_in_order_with_each_word_over_its_box(tmp_path: Path, receipt: DocumentText):
    pdf = write_pdf(receipt, tmp_path)
    (page,) = receipt.pages
    assert len(page.words) > 50
    ((width, height), _), *_ = pdf_words(pdf)
    assert (width, height) == pytest.approx((page.width * 72 / RECEIPT_DPI, page.height * 72 / RECEIPT_DPI))
    assert_words_over_boxes(pdf, receipt.pages, [72 / RECEIPT_DPI])


def test_a_jpeg_goes_in_byte_for_byte_and_the_pdf_is_about_its_size(tmp_path: Path, receipt: DocumentText):
    started = time.perf_counter()
    pdf = write_pdf(receipt, tmp_path)
    seconds = time.perf_counter() - started
    with pikepdf.open(pdf) as document:
        (image,) = document.pages[0].get_images().values()
        assert image.Filter == pikepdf.Name.DCTDecode
        assert image.read_raw_bytes() == RECEIPT.read_bytes()
    assert RECEIPT.stat().st_size < pdf.stat().st_size < RECEIPT.stat().st_size * 1.15
    assert seconds < 2


def test_every_page_of_a_tiff_gets_its_own_page(tmp_path: Path, engine: Engine):
    source = tmp_path / "scan.tiff"
    first, second = render_text(["INVOICE 4711", "Total amount 129.50"]), render_text(["Second page here"])
    first.save(source, save_all=True, append_images=[second], compression="tiff_lzw")
    doc = read(engine, source)
    assert [len(page.words) for page in doc.pages] == [5, 3]
    pdf = write_pdf(doc, tmp_path)
    assert_words_over_boxes(pdf, doc.pages, [72 / DEFAULT_DPI] * 2)  # the TIFF records no resolution
    assert pdf.stat().st_size < source.stat().st_size + 15_000


def test_a_bilevel_scan_stays_bilevel_and_small(tmp_path: Path, engine: Engine):
    source = tmp_path / "fax.tiff"
    first = render_text(["Delivery note 0815", "Three boxes of paper"]).convert("1")
    second = render_text(["Signed"]).convert("1")
    first.save(source, save_all=True, append_images=[second], compression="group4")
    doc = read(engine, source)
    pdf = write_pdf(doc, tmp_path)
    with pikepdf.open(pdf) as document:
        for page in document.pages:
            (image,) = page.get_images().values()
            assert (image.Filter, image.BitsPerComponent) == (pikepdf.Name.CCITTFaxDecode, 1)
    assert pdf.stat().st_size < source.stat().st_size + 10_000
    assert_words_over_boxes(pdf, doc.pages, [72 / DEFAULT_DPI] * 2)


def test_a_pdf_keeps_its_own_pages_under_the_text(tmp_path: Path, engine: Engine):
    source = tmp_path / "letter.pdf"
    first = render_text(["Dear customer", "your order 4711 has shipped"])
    first.save(source, save_all=True, append_images=[render_text(["Kind regards"])], resolution=100)
    doc = read(engine, source)
    pdf = write_pdf(doc, tmp_path)
    with pikepdf.open(source) as original, pikepdf.open(pdf) as result:
        assert len(result.pages) == 2
        for before, after in zip(original.pages, result.pages, strict=True):
            assert after.mediabox == before.mediabox
            (old,), (new,) = before.get_images().values(), after.get_images().values()
            assert new.read_raw_bytes() == old.read_raw_bytes()  # the page's own image, untouched
    assert pdftotext(source).strip() == ""  # the input had no text: all of it is the new layer
    assert_words_over_boxes(pdf, doc.pages, [72 / PDF_DPI] * 2)  # rasterised at documents.pdf_dpi


def turned(box: Quad, height: int) -> Quad:
    """`box` on a page of `height` pixels once the page is turned 90 degrees anticlockwise (as stored
    sideways); its points keep their reading order, so the text now runs upwards."""
    a, b, c, d = ((y, height - x) for x, y in box)
    return (a, b, c, d)


def test_a_page_stored_sideways_reads_upright(tmp_path: Path, receipt: DocumentText):
    """The engine's rotation: words' boxes on the image as stored, /Rotate shows the page upright."""
    (upright,) = receipt.pages
    source = tmp_path / "sideways.png"
    with Image.open(RECEIPT) as image:
        image.rotate(90, expand=True).save(source, dpi=(RECEIPT_DPI, RECEIPT_DPI))
    width = upright.width
    sideways = PageText(
        width=upright.height,
        height=upright.width,
        words=[Word(w.text, w.score, turned(w.box, width)) for w in upright.words],
        lines=[Line(li.text, li.score, turned(li.box, width), li.words) for li in upright.lines],
        rotation=90,
    )
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    doc = DocumentText(source, sha256, receipt.engine, receipt.engine_version, [sideways], 0.0)
    pdf = write_pdf(doc, tmp_path)
    with pikepdf.open(pdf) as document:
        assert document.pages[0].Rotate == 90
    assert_words_over_boxes(pdf, [upright], [72 / RECEIPT_DPI])  # as displayed: upright


def test_an_exif_turned_jpeg_is_kept_as_stored_and_shown_turned(tmp_path: Path, engine: Engine):
    source = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers turn it 90 degrees clockwise
    render_text(["Parking ticket 17", "Valid until 18:30"]).rotate(90, expand=True).save(
        source, exif=exif, dpi=(200, 200), quality=90
    )
    doc = read(engine, source)  # the engine sees the page upright
    pdf = write_pdf(doc, tmp_path)
    with pikepdf.open(pdf) as document:
        page = document.pages[0]
        assert page.Rotate == 90
        (image,) = page.get_images().values()
        assert image.read_raw_bytes() == source.read_bytes()
    assert_words_over_boxes(pdf, doc.pages, [72 / 200])


def test_any_script_is_found_in_the_text_layer(tmp_path: Path):
    """The invisible font covers whatever the engine read: RapidOCR reads Chinese, too."""
    source = tmp_path / "grey.png"
    Image.new("L", (1000, 300), 200).save(source)
    box = ((100.0, 100.0), (400.0, 100.0), (400.0, 160.0), (100.0, 160.0))
    after = tuple((x + 400, y) for x, y in box)
    words = [Word("Grüße", 0.9, box), Word("谢谢光临", 0.8, after)]  # type: ignore[arg-type]
    page = PageText(1000, 300, words, [Line("Grüße 谢谢光临", 0.85, box, (0, 1))])
    doc = DocumentText(source, hashlib.sha256(source.read_bytes()).hexdigest(), "hand", "1", [page], 0.0)
    assert pdftotext(write_pdf(doc, tmp_path)).split() == ["Grüße", "谢谢光临"]


def test_the_original_must_still_hold_what_was_read(tmp_path: Path):
    source = tmp_path / "a.png"
    Image.new("L", (10, 10)).save(source)
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    assert read_original(source, sha256) == source.read_bytes()
    buffer = io.BytesIO()
    Image.new("L", (10, 10), 255).save(buffer, "PNG")
    source.write_bytes(buffer.getvalue())
    with pytest.raises(OriginalChanged, match="has changed since it was read"):
        read_original(source, sha256)
    source.unlink()
    with pytest.raises(OriginalChanged, match="cannot be read: the file disappeared"):
        read_original(source, sha256)
