"""The engine contract, checked on real images: every engine behind the seam must pass it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocrwatch.config import Settings
from ocrwatch.engines import Engine, PageText, create_engine
from ocrwatch.errors import ConfigError
from tests.conftest import render_text


def read(engine: Engine, path: Path) -> PageText:
    return engine.read(np.asarray(Image.open(path).convert("RGB")))


def assert_contract(page: PageText, width: int, height: int) -> None:
    assert (page.width, page.height) == (width, height)
    assert page.lines, "no text found"
    used = [index for line in page.lines for index in line.words]
    assert sorted(used) == list(range(len(page.words))), "every word belongs to exactly one line, in order"
    for word in page.words:
        assert word.text.strip() and word.text == word.text.strip()
        assert 0.0 <= word.score <= 1.0
        assert len(word.box) == 4
        for x, y in word.box:
            assert -2 <= x <= width + 2 and -2 <= y <= height + 2, f"{word} lies outside the image"
    for line in page.lines:
        assert "".join(line.text.split()) == "".join(page.words[i].text for i in line.words).replace(" ", "")


def test_rendered_text_is_read_exactly(engine: Engine, rendered_page: np.ndarray) -> None:
    page = engine.read(rendered_page)
    assert_contract(page, rendered_page.shape[1], rendered_page.shape[0])
    assert page.text.splitlines() == ["INVOICE 4711", "Total amount 129.50", "Thank you"]
    assert [w.text for w in page.words][:4] == ["INVOICE", "4711", "Total", "amount"]


def test_word_boxes_cover_their_words(engine: Engine) -> None:
    image = render_text(["left", "", "", "middle right"], size=48)
    page = engine.read(np.asarray(image))
    boxes = {word.text: word.box for word in page.words}
    assert max(x for x, _ in boxes["left"]) < min(x for x, _ in boxes["right"])
    assert max(y for _, y in boxes["left"]) < min(y for _, y in boxes["middle"])
    assert max(x for x, _ in boxes["middle"]) < min(x for x, _ in boxes["right"])


def test_blank_page_reads_as_no_text(engine: Engine) -> None:
    page = engine.read(np.full((400, 300, 3), 255, dtype=np.uint8))
    assert (page.words, page.lines, page.text) == ([], [], "")


def test_receipt_reads_in_reading_order(engine: Engine, data_dir: Path) -> None:
    path = data_dir / "sroie" / "img" / "000.jpg"
    page = read(engine, path)
    with Image.open(path) as image:
        assert_contract(page, image.width, image.height)
    key = json.loads((data_dir / "sroie" / "key" / "000.json").read_text())
    text = page.text.upper()
    assert key["company"].upper().split()[0] in text
    assert key["total"] in text
    tops = [min(y for _, y in line.box) for line in page.lines]
    assert tops.index(min(tops)) < 3, "the first line read is at the top of the receipt"


def test_street_photo_words_match_ground_truth(engine: Engine, data_dir: Path) -> None:
    page = read(engine, data_dir / "icdar2015" / "img" / "img_1.jpg")
    assert_contract(page, 1280, 720)
    truth = (data_dir / "icdar2015" / "gt" / "gt_img_1.txt").read_text(encoding="utf-8-sig").splitlines()
    expected = {row.split(",", 8)[8].lower() for row in truth} - {"###"}
    found = {word.text.lower() for word in page.words}
    assert len(expected & found) >= 2, (expected, found)


def test_unknown_engine_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown engine 'easyocr'; known engines: rapidocr"):
        create_engine("easyocr", Settings().engines)
