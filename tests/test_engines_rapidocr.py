"""The RapidOCR engine's own work beyond the engine contract: word boxes fitted to the printed words,
and pages read upright whichever way they lie."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench.datasets import load_rgb, sroie
from bench.metrics import TextBox, sroie_score
from ocrwatch.engines import Engine, PageText
from ocrwatch.engines.rapidocr.orientation import page_rotation
from ocrwatch.engines.rapidocr.tuning import RAPIDOCR_DEFAULTS, TUNED
from ocrwatch.engines.rapidocr.words import line_words
from ocrwatch.geometry import Quad, to_upright
from tests.conftest import render_text


def rect(left: float, top: float, right: float, bottom: float) -> Quad:
    return ((left, top), (right, top), (right, bottom), (left, bottom))


def iou(a: Quad, b: Quad) -> float:
    (al, at), _, (ar, ab), _ = a
    (bl, bt), _, (br, bb), _ = b
    inter = max(0.0, min(ar, br) - max(al, bl)) * max(0.0, min(ab, bb) - max(at, bt))
    return inter / ((ar - al) * (ab - at) + (br - bl) * (bb - bt) - inter)


# Word boxes


def test_word_boxes_fit_the_printed_words(engine: Engine) -> None:
    """Boxes as tall as the detector's padded line box would overlap the ink by about 0.6."""
    lines = ["INVOICE 4711", "Total amount 129.50"]
    image = render_text(lines, size=48)
    page = engine.read(np.asarray(image))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=48)
    printed = []
    for number, line in enumerate(lines):
        position = 0
        for word in line.split():
            start = line.index(word, position)
            position = start + len(word)
            left = 40 + draw.textlength(line[:start], font=font)
            _, top, _, bottom = draw.textbbox((40, 30 + number * 96), word, font=font)
            printed.append((word, rect(left, top, left + draw.textlength(word, font=font), bottom)))
    assert [word.text for word in page.words] == [word for word, _ in printed]
    for word, (text, box) in zip(page.words, printed, strict=True):
        assert iou(word.box, box) > 0.7, (text, word.box, box)


def boxed(text: str, left: float, width: float) -> tuple[str, float, list[list[float]]]:
    return (text, 0.9, [[left, 100], [left + width, 100], [left + width, 140], [left, 140]])


def test_characters_boxed_one_by_one_join_into_the_lines_words() -> None:
    """A full-width bracket makes RapidOCR box every character; the line's spaces give the words."""
    text = "TOTAL \uff08RM\uff09 9.00"  # full-width brackets
    characters = [boxed(char, 10 + 20 * i, 18) for i, char in enumerate(text.replace(" ", ""))]
    (words,) = line_words([text], [0.95], [rect(0, 95, 400, 145)], [characters])
    assert [word.text for word in words] == ["TOTAL", "\uff08RM\uff09", "9.00"]
    total, bracket, amount = (word.box for word in words)
    assert (total[0][0], total[1][0]) == (10, 108)  # first character's left to fifth's right
    assert (bracket[0][0], amount[1][0]) == (110, 268)
    assert all(abs((box[3][1] - box[0][1]) - 40 * 0.75) < 0.2 for box in (total, bracket, amount))


def test_words_that_cannot_be_laid_on_the_line_stay_as_given() -> None:
    pieces = [boxed("AB", 10, 40), boxed("C", 60, 20)]
    (words,) = line_words(["A BC"], [0.9], [rect(0, 95, 100, 145)], [pieces])
    assert [word.text for word in words] == ["AB", "C"]


def test_lines_without_word_boxes_are_cut_and_later_lines_keep_theirs() -> None:
    """RapidOCR leaves out the entries of lines it found no word boxes for."""
    second = [boxed("second", 10, 60), boxed("line", 80, 40)]
    words = line_words(
        ["first one", "second line"], [0.8, 0.9], [rect(0, 0, 90, 40), rect(0, 95, 130, 145)], [second]
    )
    assert [[w.text for w in line] for line in words] == [["first", "one"], ["second", "line"]]
    assert words[0][0].score == 0.8


# Orientation


def box(left: float, top: float, width: float, height: float) -> np.ndarray:
    return np.array(rect(left, top, left + width, top + height), dtype=np.float32)


@pytest.mark.parametrize(
    ("sideways", "label", "expected"),
    [(False, "0", 0), (False, "180", 180), (True, "0", 270), (True, "180", 90)],
)
def test_most_of_the_text_decides_which_way_up_the_page_is(sideways: bool, label: str, expected: int):
    lines = [box(10, 10 + 50 * i, 30, 300) if sideways else box(10, 10 + 50 * i, 300, 30) for i in range(5)]
    stray = [box(400, 10, 300, 30)]  # one line the other way does not turn the page
    directions = [(label, 0.99)] * 5 + [("0" if label == "180" else "180", 0.99)]
    assert page_rotation(np.array(lines + stray), directions, 0.9) == expected


def test_short_boxes_do_not_vote_and_a_page_without_lines_stays_as_it_is() -> None:
    digits = np.array([box(10 + 40 * i, 10, 30, 40) for i in range(8)])
    assert page_rotation(digits, [("180", 0.99)] * 8, 0.9) == 0
    assert page_rotation(np.zeros((0, 4, 2), np.float32), [], 0.9) == 0


def test_unsure_answers_and_a_sign_or_two_do_not_turn_a_page() -> None:
    lines = np.array([box(10, 10 + 50 * i, 300, 30) for i in range(5)])
    assert page_rotation(lines, [("180", 0.8)] * 5, 0.9) == 0  # unsure
    assert page_rotation(lines[:2], [("180", 0.99)] * 2, 0.9) == 0  # too few lines
    assert page_rotation(lines[:3], [("180", 0.99)] * 3, 0.9) == 180
    split = [("180", 0.99)] * 3 + [("0", 0.99)] * 2  # 3 against 2: no clear majority
    assert page_rotation(lines, split, 0.9) == 0


def f1(page: PageText, truth: list[TextBox]) -> float:
    return sroie_score([TextBox(word.text, word.box) for word in page.words], truth).f1


@pytest.fixture(scope="module")
def receipts(data_dir: Path, engine: Engine) -> list[tuple[np.ndarray, PageText, list[TextBox]]]:
    samples = sroie(2, data_dir)
    return [(image, engine.read(image), s.truth) for s in samples for image in [load_rgb(s.image)]]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_receipts_turned_any_way_are_read_as_well_as_upright(receipts, engine: Engine, rotation: int):
    """The figures for 100 receipts, from bench/rotation.py, are in the README."""
    for image, upright, truth in receipts:
        stored = np.ascontiguousarray(np.rot90(image, rotation // 90))  # needs `rotation` clockwise
        page = engine.read(stored)
        assert page.rotation == rotation
        assert (page.width, page.height) == (stored.shape[1], stored.shape[0])
        assert f1(page, truth) >= f1(upright, truth) - 0.02
        assert page.text == upright.text
        turned = [to_upright(word.box, rotation, page.width, page.height) for word in page.words]
        assert len(turned) == len(upright.words)
        for box, word in zip(turned, upright.words, strict=True):
            assert iou(rect(*_bounds(box)), rect(*_bounds(word.box))) > 0.9


def _bounds(box: Quad) -> tuple[float, float, float, float]:
    xs, ys = [x for x, _ in box], [y for _, y in box]
    return min(xs), min(ys), max(xs), max(ys)


def test_upright_pages_are_left_as_they_are(receipts) -> None:
    assert [page.rotation for _, page, _ in receipts] == [0, 0]


def test_a_long_receipt_is_not_shrunk_until_its_letters_vanish(receipts, engine: Engine) -> None:
    """Two receipts end to end twice, as a long till roll of 440 x 4000: RapidOCR's own cap of 2000
    pixels on the longest side would halve it and lose many of its words."""
    (first, first_page, first_truth), (second, second_page, second_truth) = receipts
    width = min(first.shape[1], second.shape[1])
    roll = np.vstack([first[:, :width], second[:, :width]] * 2)
    assert roll.shape[0] > 4000
    page = engine.read(roll)
    alone = min(f1(first_page, first_truth), f1(second_page, second_truth))
    assert f1(page, (first_truth + second_truth) * 2) >= alone - 0.03


# Detector input size and dense pages

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
VOCABULARY = (
    "the library work code source copy license program that may you must any with this for such terms "
    "distribute modify under section software free public general version notice permit rights "
    "warranty without even implied merchantability fitness particular purpose"
)


def prose(lines: int, words: int = 15) -> list[list[str]]:
    """Lines of a fixed pseudo-random prose, about 95 characters each like a letter's."""
    rng = np.random.default_rng(7)
    return [[str(word) for word in rng.choice(VOCABULARY.split(), words)] for _ in range(lines)]


def a4_page_at_200_dpi(rows: list[list[str]], column: int = 0) -> np.ndarray:
    """A4 at 200 dpi (1654 x 2339), 9-pt text (25 px) on 35-px lines, turned by 1 degree as scanned;
    more pixels than ocrwatch's budget, so it is shrunk. `column` > 0 sets rows out as a ruled table."""
    image = Image.new("RGB", (1654, 2339), "white")
    draw, font = ImageDraw.Draw(image), ImageFont.truetype(SANS, 25)
    for number, row in enumerate(rows):
        top = 160 + number * 35
        if column:
            for index, cell in enumerate(row):
                right = 160 + (index + 1) * column - 20
                draw.text((right - draw.textlength(cell, font=font), top), cell, fill="black", font=font)
            draw.line((160, top + 31, 160 + len(row) * column, top + 31), fill="black", width=1)
        else:
            draw.text((160, top), " ".join(row), fill="black", font=font)
    return np.asarray(image.rotate(1.0, fillcolor="white"))


def test_a_small_image_is_not_enlarged_for_the_detector() -> None:
    """RapidOCR enlarges every image to a 736-pixel short side: 37 times the pixels for a label."""
    assert RAPIDOCR_DEFAULTS.input_size(120, 480) == (736, 2944)
    assert TUNED.input_size(120, 480) == (256, 960)  # twice as large at most (240, rounded to 32)
    assert TUNED.input_size(720, 1280) == RAPIDOCR_DEFAULTS.input_size(720, 1280)  # photos as before
    assert TUNED.input_size(1414, 2000) == RAPIDOCR_DEFAULTS.input_size(1414, 2000) == (1408, 1984)


def test_a_small_label_is_read(engine: Engine) -> None:
    label = Image.new("RGB", (480, 120), "white")
    ImageDraw.Draw(label).text(
        (16, 38), "Order 4711 shipped", fill="black", font=ImageFont.truetype(SANS, 36)
    )
    assert engine.read(np.asarray(label)).text == "Order 4711 shipped"


def test_dense_lines_of_9_pt_text_at_200_dpi_are_read_whole(engine: Engine) -> None:
    """RapidOCR's direction classifier squeezes such a line to a fifth of its width, guesses "upside
    down" for some, and they come out as noise (`E`, `T`, `THD`): it loses over 30 of these 600 words.
    A word or two misread by the recognizer is not a line lost."""
    rows = prose(40)
    page = engine.read(a4_page_at_200_dpi(rows))
    printed = Counter(word.upper() for row in rows for word in row)
    read = Counter(word.text.upper() for word in page.words)
    assert (printed - read).total() <= 6, sorted((printed - read).elements())
    assert (read - printed).total() <= 6, sorted((read - printed).elements())


def test_a_table_of_small_figures_reads_each_figure(engine: Engine) -> None:
    """40 rows of four right-aligned figures under ruled lines, at the same 9 pt and 200 dpi."""
    rng = np.random.default_rng(11)
    rows = [
        [
            str(rng.integers(1, 99)),
            f"{rng.integers(1, 999)}.{rng.integers(0, 99):02d}",
            f"{rng.integers(1, 20)}%",
            f"{rng.integers(1, 9)},{rng.integers(0, 999):03d}.{rng.integers(0, 99):02d}",
        ]
        for _ in range(40)
    ]
    page = engine.read(a4_page_at_200_dpi(rows, column=300))
    printed = Counter(cell for row in rows for cell in row)
    read = Counter(word.text for word in page.words)
    assert (printed - read).total() <= 1, sorted((printed - read).elements())
    assert (read - printed).total() <= 1, sorted((read - printed).elements())
