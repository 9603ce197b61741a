"""hOCR and ALTO: valid by their schemas and validators, and holding every word the engine read."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree, html

from ocrwatch.config import DocumentSettings
from ocrwatch.documents import open_pages
from ocrwatch.engines import Engine
from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.outputs.alto import render_alto
from ocrwatch.outputs.hocr import render_hocr
from ocrwatch.result import DocumentText
from tests.conftest import render_text

SCHEMAS = Path(__file__).resolve().parent / "schemas"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RECEIPT = DATA / "sroie" / "img" / "000.jpg"
ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"
BIN = Path(sys.executable).parent


class LocalSchemas(etree.Resolver):
    """The ALTO XSD imports xlink.xsd from the Library of Congress: use the copy in tests/schemas."""

    def resolve(self, system_url, public_id, context):  # type: ignore[no-untyped-def]
        if system_url and system_url.endswith("/xlink.xsd"):
            return self.resolve_filename(str(SCHEMAS / "xlink.xsd"), context)
        return None


@pytest.fixture(scope="module")
def alto_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)  # an import that is not mapped fails, never fetches
    parser.resolvers.add(LocalSchemas())
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "alto-4-4.xsd"), parser))


def read(engine: Engine, path: Path) -> DocumentText:
    pages = [engine.read(image) for image in open_pages(path, DocumentSettings())]
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return DocumentText(path, sha256, engine.name, engine.version, pages, 0.0)


@pytest.fixture(scope="module")
def receipt(engine: Engine) -> DocumentText:
    if not RECEIPT.is_file():
        pytest.skip(f"benchmark receipt {RECEIPT} not found (see ../shared/data/README.md)")
    return read(engine, RECEIPT)


@pytest.fixture(scope="module")
def two_pages(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> DocumentText:
    source = tmp_path_factory.mktemp("tiff") / "two pages.tiff"
    first, second = render_text(["INVOICE 4711", "Total amount 129.50"]), render_text(["Second page"])
    first.save(source, save_all=True, append_images=[second], compression="tiff_lzw")
    return read(engine, source)


def sideways() -> DocumentText:
    """A hand-made page stored turned (rotation 90), with a line whose words have no boxes of their
    own and a word that no line claims."""
    up = ((100.0, 400.0), (100.0, 100.0), (140.0, 100.0), (140.0, 400.0))  # runs upwards
    aside = ((200.0, 300.0), (200.0, 250.0), (240.0, 250.0), (240.0, 300.0))
    words = [Word("Grüße", 0.91, up), Word("<&\"'>", 0.5, aside)]
    lines = [Line("Grüße", 0.91, up, (0,)), Line("no boxes here", 0.7, up, ())]
    page = PageText(600, 500, words, lines, rotation=90)
    return DocumentText(Path('/scans/a "b".png'), "ab" * 32, "hand", "1", [page], 0.0)


def unspaced(text: str) -> str:
    """Line texts join Chinese words without spaces; the formats' words are what counts."""
    return "".join(text.split())


# --- ALTO --------------------------------------------------------------------------------------


def alto_strings(data: bytes) -> list[list[etree._Element]]:
    root = etree.fromstring(data)
    return [page.findall(f".//{ALTO}String") for page in root.iter(f"{ALTO}Page")]


def test_the_alto_of_a_receipt_is_valid_and_holds_every_word(receipt: DocumentText, alto_schema):
    data = render_alto(receipt)
    document = etree.fromstring(data)
    assert alto_schema.validate(document), alto_schema.error_log
    assert document.get("SCHEMAVERSION") == "4.4"
    assert document.findtext(f"{ALTO}Description/{ALTO}MeasurementUnit") == "pixel"
    (page,) = receipt.pages
    (strings,) = alto_strings(data)
    assert [s.get("CONTENT") for s in strings] == [word.text for word in page.words]
    for string, word in zip(strings, page.words, strict=True):
        left, top = (int(string.get(key)) for key in ("HPOS", "VPOS"))
        right, bottom = left + int(string.get("WIDTH")), top + int(string.get("HEIGHT"))
        xs, ys = [x for x, _ in word.box], [y for _, y in word.box]
        assert (left, top, right, bottom) == pytest.approx((min(xs), min(ys), max(xs), max(ys)), abs=1)
        assert float(string.get("WC")) == pytest.approx(word.score, abs=1e-4)
    lines = document.findall(f".//{ALTO}TextLine")
    contents = ["".join(s.get("CONTENT") for s in line.iter(f"{ALTO}String")) for line in lines]
    assert contents == [unspaced(line.text) for line in page.lines]


def test_the_alto_of_a_multi_page_tiff_has_a_page_each(two_pages: DocumentText, alto_schema):
    data = render_alto(two_pages)
    document = etree.fromstring(data)
    assert alto_schema.validate(document), alto_schema.error_log
    pages = document.findall(f".//{ALTO}Page")
    assert [(p.get("PHYSICAL_IMG_NR"), p.get("WIDTH"), p.get("HEIGHT")) for p in pages] == [
        ("1", "900", "220"),
        ("2", "900", "140"),
    ]
    assert [[s.get("CONTENT") for s in strings] for strings in alto_strings(data)] == [
        ["INVOICE", "4711", "Total", "amount", "129.50"],
        ["Second", "page"],
    ]


def test_alto_keeps_every_word_and_escapes_them_on_a_turned_page(alto_schema):
    data = render_alto(sideways())
    document = etree.fromstring(data)
    assert alto_schema.validate(document), alto_schema.error_log
    assert document.find(f".//{ALTO}Page").get("ROTATION") == "90"
    (strings,) = alto_strings(data)
    assert [s.get("CONTENT") for s in strings] == ["Grüße", "no", "boxes", "here", "<&\"'>"]


def test_alto_of_a_page_without_text_is_valid(alto_schema):
    doc = DocumentText(Path("blank.png"), "ab" * 32, "hand", "1", [PageText(100, 100)], 0.0)
    assert alto_schema.validate(etree.fromstring(render_alto(doc))), alto_schema.error_log


# --- hOCR --------------------------------------------------------------------------------------


def hocr_file(doc: DocumentText, folder: Path) -> Path:
    path = folder / "out.hocr"
    path.write_bytes(render_hocr(doc))
    return path


def tool(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """A hOCR tool from this venv (hocr-spec's validator, hocr-tools' scripts)."""
    command = [sys.executable, str(BIN / name), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("which", ["receipt", "two_pages"])
def test_hocr_passes_the_spec_validator(which: str, request: pytest.FixtureRequest, tmp_path: Path):
    path = hocr_file(request.getfixturevalue(which), tmp_path)
    result = tool("hocr-spec", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Document is valid" in result.stdout
    assert "[ERROR]" not in result.stdout


def test_hocr_tools_read_the_receipts_lines(receipt: DocumentText, tmp_path: Path):
    path = hocr_file(receipt, tmp_path)
    check = tool("hocr-check", path)
    assert check.returncode == 0 and "ok 1 -" in check.stderr
    assert "not ok" not in check.stderr, check.stderr
    lines = tool("hocr-lines", path).stdout.splitlines()
    assert [unspaced(line) for line in lines] == [unspaced(line.text) for line in receipt.pages[0].lines]


def test_hocr_words_carry_their_boxes_and_confidences(receipt: DocumentText):
    document = html.fromstring(render_hocr(receipt))
    (system,) = document.xpath("//meta[@name='ocr-system']/@content")
    assert system.startswith("ocrwatch ") and system.endswith(f"({receipt.engine} {receipt.engine_version})")
    (page,) = document.xpath("//*[@class='ocr_page']")
    size = f"{receipt.pages[0].width} {receipt.pages[0].height}"
    assert page.get("title") == f'image "{RECEIPT}"; bbox 0 0 {size}; ppageno 0'
    words = document.xpath("//*[@class='ocrx_word']")
    assert [word.text for word in words] == [word.text for word in receipt.pages[0].words]
    for element, word in zip(words, receipt.pages[0].words, strict=True):
        bbox, wconf = element.get("title").split("; ")
        xs, ys = [x for x, _ in word.box], [y for _, y in word.box]
        assert [int(v) for v in bbox.split()[1:]] == pytest.approx(
            [min(xs), min(ys), max(xs), max(ys)], abs=1
        )
        assert wconf == f"x_wconf {round(word.score * 100)}"
    assert all(word.getparent().get("class") == "ocr_line" for word in words)


def test_hocr_keeps_every_word_and_the_turn_of_a_sideways_page(tmp_path: Path):
    path = hocr_file(sideways(), tmp_path)
    assert tool("hocr-spec", path).returncode == 0
    document = html.parse(str(path))
    words = [word.text for word in document.xpath("//*[@class='ocrx_word']")]
    assert words == ["Grüße", "no", "boxes", "here", "<&\"'>"]
    assert all("textangle 90" in line.get("title") for line in document.xpath("//*[@class='ocr_line']"))
    assert 'image "/scans/a \\"b\\".png"' in document.xpath("//*[@class='ocr_page']")[0].get("title")
