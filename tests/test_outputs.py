"""The outputs of one input: where they go, how they are written, and what they contain."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrwatch.engines import Engine
from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.errors import OutputError
from ocrwatch.geometry import Quad
from ocrwatch.outputs import OutputPaths, output_stem, write_outputs
from ocrwatch.outputs.annotated import annotate, encode_jpeg
from ocrwatch.outputs.atomic import write_atomic
from ocrwatch.outputs.jsonfile import page_to_dict, render_json
from ocrwatch.outputs.text import render_text
from ocrwatch.result import DocumentText

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RECEIPT = DATA / "sroie" / "img" / "000.jpg"
STREET = DATA / "icdar2015" / "img" / "img_1.jpg"
needs_data = pytest.mark.skipif(
    not RECEIPT.is_file() or not STREET.is_file(),
    reason=f"benchmark images not found under {DATA} (see ../shared/data/README.md)",
)

JSON_KEYS = {"source", "sha256", "engine", "engine_version", "pages", "text", "seconds"}
PAGE_KEYS = {"page", "width", "height", "rotation", "engine", "source", "reason", "words", "lines"}


def rect(x: float, y: float, width: float, height: float) -> Quad:
    return ((x, y), (x + width, y), (x + width, y + height), (x, y + height))


def hand_page() -> PageText:
    """A receipt-like page: a row read as two lines ("TOTAL" ... "9.00"), then a row of two words."""
    words = [
        Word("TOTAL", 0.98, rect(100, 200, 150, 40)),
        Word("9.00", 0.97, rect(900, 202, 100, 40)),
        Word("Grüße", 0.95, rect(100, 400, 160, 40)),
        Word("ä€", 0.3, rect(280, 400, 80, 40)),
    ]
    lines = [
        Line("TOTAL", 0.98, rect(100, 200, 150, 40), (0,)),
        Line("9.00", 0.97, rect(900, 202, 100, 40), (1,)),
        Line("Grüße ä€", 0.6, rect(100, 400, 260, 40), (2, 3)),
    ]
    return PageText(width=1600, height=1200, words=words, lines=lines)


def hand_doc(pages: list[PageText] | None = None, source: str = "/scans/2026/a b ä.jpg") -> DocumentText:
    return DocumentText(
        source=Path(source),
        sha256="ab" * 32,
        engine="rapidocr",
        engine_version="3.0.0",
        pages=pages if pages is not None else [hand_page()],
        ocr_seconds=1.23456,
    )


def grey(width: int, height: int) -> np.ndarray:
    return np.full((height, width, 3), 180, dtype=np.uint8)


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def leftovers(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(".tmp")]


def changed(image: np.ndarray, page: PageText) -> np.ndarray:
    """Where annotating changed the page: compared with the same page annotated with no words."""
    plain = np.asarray(annotate(image, PageText(page.width, page.height)))
    return np.any(np.asarray(annotate(image, page)) != plain, axis=2)


def near_words(page: PageText, shape: tuple[int, ...]) -> np.ndarray:
    """Canvas pixels a word's box or its label may use: a label is at most 2 em tall, 1 em a character."""
    height, width = shape[:2]
    sx, sy = width / page.width, height / page.height
    mask = np.zeros((height, width), dtype=bool)
    for word in page.words:
        xs = [x * sx for x, _ in word.box]
        ys = [y * sy for _, y in word.box]
        em = min(64, max(12, (max(ys) - min(ys)) / 2))
        label_width = (len(word.text) + 1) * em
        left = max(0, round(min(min(xs), width - label_width) - 4))
        right = round(max(max(xs), min(xs) + label_width) + 4)
        mask[max(0, round(min(ys) - 2 * em - 4)) : round(max(ys) + 2 * em + 4), left:right] = True
    return mask


def read_document(engine: Engine, path: Path) -> tuple[DocumentText, np.ndarray]:
    image = read_rgb(path)
    start = time.perf_counter()
    page = engine.read(image)
    doc = DocumentText(
        source=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        engine=engine.name,
        engine_version=engine.version,
        pages=[page],
        ocr_seconds=time.perf_counter() - start,
    )
    return doc, image


@pytest.fixture(scope="module")
def receipt(engine: Engine) -> tuple[DocumentText, np.ndarray]:
    if not RECEIPT.is_file():
        pytest.skip(f"benchmark receipt {RECEIPT} not found (see ../shared/data/README.md)")
    return read_document(engine, RECEIPT)


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "stem"),
    [
        ("a.jpg", "a.jpg"),
        ("2026/03/a b ä.jpg", "2026/03/a b ä.jpg"),
        ("日本/レシート 1.png", "日本/レシート 1.png"),
        ("no-extension", "no-extension"),
    ],
)
def test_output_stem_mirrors_the_path_under_the_watched_folder(tmp_path: Path, relative: str, stem: str):
    root = tmp_path / "scans"
    assert output_stem(root / relative, root) == stem


def test_output_stem_collapses_dots_in_the_given_paths(tmp_path: Path):
    root = tmp_path / "scans"
    assert output_stem(root / "x" / ".." / "a.jpg", tmp_path / "other" / ".." / "scans") == "a.jpg"


@pytest.mark.parametrize("source", ["../elsewhere/a.jpg", "..", ".", "../scans-old/a.jpg"])
def test_output_stem_refuses_a_source_outside_the_watched_folder(tmp_path: Path, source: str):
    root = tmp_path / "scans"
    with pytest.raises(OutputError, match="watched folder"):
        output_stem(root / source, root)


def test_output_paths_keep_the_full_input_name(tmp_path: Path):
    paths = OutputPaths(tmp_path, "2026/a b ä.jpg")
    assert paths.text == tmp_path / "2026" / "a b ä.jpg.txt"
    assert paths.json == tmp_path / "2026" / "a b ä.jpg.json"
    assert paths.annotated(1) == tmp_path / "2026" / "a b ä.jpg.page-1.jpg"
    assert paths.pdf == tmp_path / "2026" / "a b ä.jpg.pdf"
    assert paths.hocr == tmp_path / "2026" / "a b ä.jpg.hocr"
    assert paths.alto == tmp_path / "2026" / "a b ä.jpg.alto.xml"


def test_pages_are_counted_from_one(tmp_path: Path):
    with pytest.raises(ValueError, match="from 1"):
        OutputPaths(tmp_path, "a.jpg").annotated(0)


def test_a_sha_suffix_added_to_a_taken_stem_is_valid(tmp_path: Path):
    paths = OutputPaths(tmp_path, "2026/a.jpg~1a2b3c4d")
    assert paths.json == tmp_path / "2026" / "a.jpg~1a2b3c4d.json"


def test_inputs_differing_only_in_extension_both_keep_their_outputs(tmp_path: Path):
    out = tmp_path / "out"
    written = []
    for name in ("a.jpg", "a.png"):
        doc = hand_doc(source=f"/scans/{name}")
        written += write_outputs(doc, encoded(doc, [grey(1600, 1200)]), OutputPaths(out, name))
    assert len(set(written)) == 6
    assert all(path.is_file() for path in written)
    sources = {json.loads(path.read_bytes())["source"] for path in out.glob("*.json")}
    assert sources == {"/scans/a.jpg", "/scans/a.png"}


@pytest.mark.parametrize(
    "stem",
    [
        "../x.jpg",
        "a/../../x.jpg",
        "a/..",
        "..",
        "/etc/passwd",
        "//x",
        "a//b.jpg",
        "./a.jpg",
        "a/",
        "",
        "a\0b",
    ],
)
def test_a_stem_that_could_escape_or_is_malformed_is_refused(tmp_path: Path, stem: str):
    with pytest.raises(OutputError, match="output name"):
        OutputPaths(tmp_path / "out", stem)


def test_a_symlinked_output_subfolder_pointing_outside_is_refused(tmp_path: Path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "2026").symlink_to(outside, target_is_directory=True)
    paths = OutputPaths(out, "2026/a.jpg")
    with pytest.raises(OutputError, match=r"2026/a\.jpg\.txt.*outside"):
        _ = paths.text
    with pytest.raises(OutputError):
        write_outputs(hand_doc(), encoded(hand_doc(), [grey(1600, 1200)]), paths)
    assert list(outside.iterdir()) == []


def test_an_output_file_symlinked_outside_is_refused(tmp_path: Path):
    out, outside = tmp_path / "out", tmp_path / "outside.txt"
    out.mkdir()
    outside.write_text("keep")
    (out / "a.jpg.txt").symlink_to(outside)
    with pytest.raises(OutputError, match="outside"):
        _ = OutputPaths(out, "a.jpg").text
    assert outside.read_text() == "keep"


def test_symlinks_that_stay_inside_the_output_folder_are_fine(tmp_path: Path):
    real_out = tmp_path / "real-out"
    (real_out / "archive").mkdir(parents=True)
    (real_out / "2026").symlink_to(real_out / "archive", target_is_directory=True)
    linked_out = tmp_path / "out"
    linked_out.symlink_to(real_out, target_is_directory=True)
    assert OutputPaths(linked_out, "2026/a.jpg").text == linked_out / "2026" / "a.jpg.txt"


# --- atomic writes -----------------------------------------------------------------------------


def test_write_atomic_creates_folders_and_replaces_an_existing_file(tmp_path: Path):
    target = tmp_path / "deep" / "er" / "a.jpg.txt"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["a.jpg.txt", "deep", "er"]


def test_write_atomic_lets_the_umask_decide_permissions(tmp_path: Path):
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", b"x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_a_failure_mid_write_keeps_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch):
    target = tmp_path / "a.jpg.json"
    target.write_bytes(b"old")

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OutputError, match=r"no space left to write .*a\.jpg\.json: No space left on device"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_a_failed_rename_leaves_no_temporary(tmp_path: Path):
    target = tmp_path / "taken"
    target.mkdir()
    with pytest.raises(OutputError, match="cannot write"):
        write_atomic(target, b"data")
    assert leftovers(tmp_path) == []


# --- text --------------------------------------------------------------------------------------


def test_text_is_one_row_per_line_pages_split_by_form_feed():
    second = PageText(800, 600, lines=[Line("Page two", 0.9, rect(10, 10, 200, 30), ())])
    assert render_text(hand_doc([hand_page(), second])) == "TOTAL 9.00\nGrüße ä€\n\fPage two\n"


def test_text_of_a_page_without_text_is_a_bare_newline():
    assert render_text(hand_doc([PageText(800, 600)])) == "\n"


# --- JSON --------------------------------------------------------------------------------------


def test_json_has_exactly_the_contract_keys():
    data = json.loads(render_json(hand_doc()))
    assert set(data) == JSON_KEYS
    assert data["source"] == "/scans/2026/a b ä.jpg"
    assert data["engine"] == "rapidocr"
    assert data["seconds"] == pytest.approx(1.23456, abs=1e-3)
    assert data["text"] == "TOTAL 9.00\nGrüße ä€"
    (page,) = data["pages"]
    assert set(page) == PAGE_KEYS
    assert (page["page"], page["width"], page["height"], page["rotation"]) == (1, 1600, 1200, 0)
    assert page["words"][0] == {
        "text": "TOTAL",
        "score": 0.98,
        "box": [[100, 200], [250, 200], [250, 240], [100, 240]],
    }
    assert page["lines"][2] == {
        "text": "Grüße ä€",
        "score": 0.6,
        "box": [[100, 400], [360, 400], [360, 440], [100, 440]],
        "words": [2, 3],
    }


def test_json_keeps_non_ascii_text_readable():
    raw = render_json(hand_doc())
    assert "Grüße ä€".encode() in raw
    assert b"\\u" not in raw


def test_page_to_dict_is_the_json_page_shape():
    page = hand_page()
    assert json.loads(render_json(hand_doc([page, page])))["pages"][1] == page_to_dict(page, 2)


@needs_data
def test_json_of_a_real_receipt_round_trips_with_valid_word_indices(receipt):
    doc, _ = receipt
    page = doc.pages[0]
    data = json.loads(render_json(doc).decode("utf-8"))
    (page_data,) = data["pages"]
    assert data["sha256"] == doc.sha256
    assert len(page_data["words"]) == len(page.words) > 50
    assert len(page_data["lines"]) == len(page.lines) > 20
    for line in page_data["lines"]:
        assert set(line) == {"text", "score", "box", "words"}
        assert all(0 <= index < len(page_data["words"]) for index in line["words"])
        assert len(line["box"]) == 4
        assert all(len(point) == 2 for point in line["box"])
    assert "TOTAL" in data["text"].upper()


# --- annotated copies --------------------------------------------------------------------------


def test_annotating_keeps_the_size_of_a_large_page_and_draws_only_near_words():
    page = hand_page()
    image = grey(1600, 1200)
    annotated = annotate(image, page)
    assert annotated.size == (1600, 1200)
    diff = changed(image, page)
    for word in page.words:
        (left, top), _, (right, bottom), _ = word.box
        assert diff[int(top) - 3 : int(bottom) + 3, int(left) - 3 : int(right) + 3].any(), word.text
        assert diff[int(top) - 30 : int(top) - 4, int(left) : int(right)].any(), f"no label above {word.text}"
    assert not diff[~near_words(page, diff.shape)].any()
    assert not diff[700:, :].any()


def test_annotating_does_not_touch_the_callers_image():
    image = grey(1600, 1200)
    annotate(image, hand_page())
    assert (image == 180).all()


@pytest.mark.parametrize(("width", "height"), [(300, 300), (300, 200), (200, 600)])
def test_a_small_page_is_scaled_up_so_labels_can_be_read(width: int, height: int):
    page = PageText(width, height, words=[Word("tiny", 0.9, rect(20, 60, 60, 15))])
    annotated = annotate(grey(width, height), page)
    assert max(annotated.size) == 1200
    assert annotated.width / annotated.height == pytest.approx(width / height, rel=0.01)
    diff = changed(grey(width, height), page)
    scale = 1200 / max(width, height)
    assert diff[round(60 * scale) - 3 : round(75 * scale) + 3, round(20 * scale) : round(80 * scale)].any()


def test_a_word_at_the_top_edge_is_labelled_inside_the_page():
    page = PageText(1600, 1200, words=[Word("Header", 0.9, rect(1500, 0, 100, 40))])
    image = grey(1600, 1200)
    assert annotate(image, page).size == (1600, 1200)
    diff = changed(image, page)
    assert diff[45:80, 1300:1600].any(), "label below the box when there is no room above"


def test_low_confidence_words_are_drawn_in_another_colour():
    page = PageText(
        1600,
        1200,
        words=[Word("sure", 0.99, rect(100, 200, 200, 40)), Word("unsure", 0.2, rect(100, 600, 200, 40))],
    )
    pixels = np.asarray(annotate(grey(1600, 1200), page))
    assert tuple(pixels[220, 100]) != tuple(pixels[620, 100])


@pytest.mark.parametrize(
    "text", ["中文字", "😀🧾", "a\0b", "e\u0301\u200d", "two\nlines", "", "  ", "A" * 400]
)
def test_text_the_font_cannot_draw_does_not_crash(text: str):
    annotated = annotate(grey(800, 600), PageText(800, 600, words=[Word(text, 0.9, rect(700, 300, 90, 30))]))
    assert annotated.size == (1200, 900)


def test_encode_jpeg_honours_the_quality():
    image = annotate(np.random.default_rng(0).integers(0, 255, (400, 400, 3), dtype=np.uint8), hand_page())
    low, high = encode_jpeg(image, 20), encode_jpeg(image, 95)
    assert low[:3] == high[:3] == b"\xff\xd8\xff"
    assert len(low) < len(high)


@needs_data
def test_a_real_receipt_is_annotated_around_its_words(receipt):
    doc, image = receipt
    page = doc.pages[0]
    diff = changed(image, page)
    assert diff.shape[0] == 1200  # 463 x 1013: scaled up to a 1200 px long side
    scale = diff.shape[0] / image.shape[0]
    for word in page.words:
        xs = [round(x * scale) for x, _ in word.box]
        ys = [round(y * scale) for _, y in word.box]
        assert diff[min(ys) - 3 : max(ys) + 4, min(xs) - 3 : max(xs) + 4].any(), word.text
    assert not diff[~near_words(page, diff.shape)].any()


@needs_data
def test_a_300_px_crop_of_a_street_photo_is_scaled_up_and_labelled(engine: Engine):
    crop = np.ascontiguousarray(read_rgb(STREET)[60:360, 330:630])
    page = engine.read(crop)
    assert page.words, "the crop holds the sign's words"
    annotated = annotate(crop, page)
    assert annotated.size == (1200, 1200)
    diff = changed(crop, page)
    assert diff.mean() > 0.01
    assert not diff[~near_words(page, diff.shape)].any()


# --- all outputs of one input ------------------------------------------------------------------


def encoded(doc: DocumentText, images: list[np.ndarray]) -> list[bytes]:
    return [encode_jpeg(annotate(image, page), 80) for image, page in zip(images, doc.pages, strict=True)]


@needs_data
def test_write_outputs_writes_text_json_and_an_annotated_copy(tmp_path: Path, receipt):
    doc, image = receipt
    out = tmp_path / "out"
    paths = OutputPaths(out, "2026/000 receipt.jpg")
    written = write_outputs(doc, encoded(doc, [image]), paths)
    assert written == [paths.annotated(1), paths.text, paths.json]
    assert paths.text.read_text(encoding="utf-8") == doc.text + "\n"
    assert json.loads(paths.json.read_bytes())["pages"][0]["words"]
    with Image.open(io.BytesIO(paths.annotated(1).read_bytes())) as annotated:
        assert (annotated.format, annotated.size) == ("JPEG", (548, 1200))
    assert sorted(path.name for path in out.rglob("*") if path.is_file()) == sorted(p.name for p in written)


def test_write_outputs_writes_one_annotated_copy_per_page(tmp_path: Path):
    doc = hand_doc([hand_page(), PageText(800, 600)])
    written = write_outputs(
        doc, encoded(doc, [grey(1600, 1200), grey(800, 600)]), OutputPaths(tmp_path, "a.pdf")
    )
    assert [path.name for path in written] == [
        "a.pdf.page-1.jpg",
        "a.pdf.page-2.jpg",
        "a.pdf.txt",
        "a.pdf.json",
    ]
    assert leftovers(tmp_path) == []


def test_a_shorter_rewrite_removes_the_old_extra_pages(tmp_path: Path):
    paths = OutputPaths(tmp_path, "a.pdf")
    long = hand_doc([hand_page(), hand_page(), hand_page()])
    write_outputs(long, encoded(long, [grey(1600, 1200)] * 3), paths)
    short = hand_doc([hand_page()])
    write_outputs(short, encoded(short, [grey(1600, 1200)]), paths)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.pdf.json", "a.pdf.page-1.jpg", "a.pdf.txt"]


def test_write_outputs_needs_one_image_per_page(tmp_path: Path):
    with pytest.raises(ValueError, match="1 annotated pages for 2 pages"):
        write_outputs(hand_doc([hand_page(), hand_page()]), [b"jpeg"], OutputPaths(tmp_path, "a"))
    assert list(tmp_path.iterdir()) == []
