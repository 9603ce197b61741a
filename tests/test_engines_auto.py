"""The auto engine on real pages of each kind: which engine reads the page, and the reason it gives.

The rule is the one measured in bench/accuracy.py (README, "Measured"): photos, receipts and forms
(invoices, tables) go to RapidOCR, pages of running text to Tesseract unless its word confidences
fall, and then, as for text in a script Tesseract has no pack for, to RapidOCR. The engine contract
itself is checked for `auto` with every other engine in tests/test_engines.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench.datasets import load_rgb
from ocrwatch.config import FolderOptions, Settings, load_settings
from ocrwatch.engines import Engine, create_engine
from ocrwatch.engines.auto.kind import DOCUMENT, FORM, PHOTO, RECEIPT, page_kind

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # Debian's fonts-wqy-microhei

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tesserocr") is None,
    reason="tesserocr is not installed: pip install 'ocrwatch[tesseract]' (make test installs it)",
)


@pytest.fixture(scope="module")
def auto() -> Engine:
    return create_engine("auto", Settings().engines)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("icdar2015/img/img_54.jpg", PHOTO),
        ("icdar2015/img/img_1.jpg", PHOTO),
        ("sroie/img/000.jpg", RECEIPT),  # cut to the slip: 2.2 times as tall as wide
        ("sroie/img/023.jpg", RECEIPT),  # scanned on an A4 sheet: print in a narrow column
        ("sroie/img/013.jpg", PHOTO),  # a receipt on a dark background: RapidOCR's either way
        ("documents/letters/img/letter_000.jpg", DOCUMENT),
        ("documents/invoices/img/AmazonWebServices_p1.jpg", FORM),
        ("documents/invoices/img/free_fiber_p1.jpg", FORM),  # the invoice with the most edges
    ],
)
def test_the_kind_of_page_is_told_from_its_image(data_dir: Path, path: str, kind: str) -> None:
    assert page_kind(load_rgb(data_dir / path)).name == kind


def test_a_street_photo_is_read_by_rapidocr(auto: Engine, data_dir: Path) -> None:
    page = auto.read(load_rgb(data_dir / "icdar2015" / "img" / "img_54.jpg"))
    assert page.engine == "rapidocr"
    assert page.reason.startswith("photo: rapidocr (near-white paper ")
    assert "Promenade" in page.text


def test_a_receipt_is_read_by_rapidocr(auto: Engine, data_dir: Path) -> None:
    page = auto.read(load_rgb(data_dir / "sroie" / "img" / "040.jpg"))
    assert page.engine == "rapidocr"
    assert page.reason.startswith("receipt: rapidocr, words run together split by tesseract (a narrow page")
    texts = [word.text for word in page.words]
    assert "12/03/2018" in texts  # RapidOCR alone reads `BIZDATE:12/03/2018`


def test_a_letter_is_read_by_tesseract_when_it_reads_it_confidently(auto: Engine, data_dir: Path) -> None:
    page = auto.read(load_rgb(data_dir / "documents" / "letters" / "img" / "letter_001.jpg"))
    assert page.engine == "tesseract"
    assert page.reason.startswith("document page: tesseract (mean word confidence 0.9")
    assert len(page.words) > 400


def test_an_invoice_is_read_by_rapidocr_with_the_spaces_tesseract_sees(auto: Engine, data_dir: Path) -> None:
    """Tesseract misses table cells RapidOCR reads (invoice word F1 0.89 against 0.95), but RapidOCR
    runs `$ 150.00` together, which Tesseract's reading of the word's crop splits."""
    page = auto.read(load_rgb(data_dir / "documents" / "invoices" / "img" / "AzureInterior_p1.jpg"))
    assert page.engine == "rapidocr"
    assert page.reason.startswith(
        "form page: rapidocr, words run together split by tesseract (edge density 0.0"
    )
    texts = [word.text for word in page.words]
    assert "$150.00" not in texts
    assert "150.00" in texts
    assert texts.count("$") >= 4
    for line in page.lines:  # the lines still spell their words, and every word is in one line
        assert line.text == " ".join(page.words[index].text for index in line.words)
    assert sorted(index for line in page.lines for index in line.words) == list(range(len(page.words)))


def test_a_split_never_changes_the_characters_read(auto: Engine, data_dir: Path) -> None:
    rapidocr = create_engine("rapidocr", Settings().engines)
    image = load_rgb(data_dir / "documents" / "invoices" / "img" / "oyo_p1.jpg")
    split, whole = auto.read(image), rapidocr.read(image)
    assert "".join(word.text for word in split.words) == "".join(word.text for word in whole.words)
    assert len(split.words) > len(whole.words)


def test_a_page_of_chinese_text_is_read_by_rapidocr(auto: Engine) -> None:
    """Running text, so Tesseract reads it first: its eng makes Latin junk of low confidence of the
    characters, and RapidOCR, which reads them, reads the page again."""
    if not CJK_FONT.exists():
        pytest.skip(f"no CJK font at {CJK_FONT}: apt-get install fonts-wqy-microhei")
    image = Image.new("RGB", (620, 877), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(CJK_FONT), 20)
    for row in range(22):
        draw.text(
            (60, 60 + row * 34), "欢迎光临本店谢谢惠顾欢迎再来今天天气很好"[row % 7 :][:25], "black", font
        )
    page = auto.read(np.asarray(image))
    assert page.engine == "rapidocr"
    assert page.reason == (
        "document page: rapidocr (Chinese, Japanese or Korean text, which tesseract's eng does not read)"
    )
    assert page.text.splitlines()[0] == "欢迎光临本店谢谢惠顾欢迎再来今天天气很好"


def test_auto_is_the_default_and_names_both_engines(auto: Engine) -> None:
    assert Settings().engine == FolderOptions().engine == "auto"
    assert auto.name == "auto"
    assert auto.version.startswith("rapidocr 3.") and " + tesseract 5." in auto.version


@pytest.mark.parametrize("name", ["rapidocr", "tesseract"])
def test_a_configured_engine_reads_every_page_itself(tmp_path: Path, data_dir: Path, name: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"engine: {name}\n")
    settings = load_settings(config)
    engine = create_engine(settings.engine, settings.engines)
    page = engine.read(load_rgb(data_dir / "icdar2015" / "img" / "img_54.jpg"))
    assert (engine.name, page.engine, page.reason) == (name, name, "")
