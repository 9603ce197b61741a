"""Where RapidOCR ran two printed words together, Tesseract's reading of that word's crop splits them.

RapidOCR's recognizer reads the characters of forms and invoices better than Tesseract does, but it
drops narrow spaces: between a currency sign and its amount (`$150.00` for `$ 150.00`), after a
label's colon (`Date:31/12/2017`), between a number and its unit. Tesseract, which measures the gaps
between glyphs, keeps them. So the words that mix a sign, a colon, letters and digits (10-20 on an
invoice page) are cropped and read by Tesseract as one line each, and its split is taken only when its
pieces spell the word's own characters: a split never changes what was read, only where words end.
Measured on the invoices (bench/README.md, issue 12): word F1 0.954 to 0.958, no page worse.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Protocol

import cv2
import numpy as np

from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.geometry import split_line_box

RUN_TOGETHER = re.compile(r"[$€£¥|:;#=]\w|\w[$€£¥|#=]|[^\W\d_][0-9]|[0-9][^\W\d_]|^\d{7,}$")
"""A word that may be two: a sign or colon against a letter or digit, letters against digits, or a
long run of digits (a phone number read without its spaces)."""
MARGIN = 0.4
"""White kept around a word's crop, in the word box's heights: Tesseract needs some around glyphs."""
MAX_SLANT = 0.2
"""Words whose box rises more than this over its width are left alone: the crop would not be a line."""


class LineReader(Protocol):
    def read_line(self, gray: np.ndarray) -> str: ...


def split_run_together(image: np.ndarray, page: PageText, reader: LineReader) -> PageText:
    """`page` with each word that `reader` reads as several words split into them."""
    if page.rotation or not any(RUN_TOGETHER.search(word.text) for word in page.words):
        return page
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    words: list[Word] = []
    lines: list[Line] = []
    for line in page.lines:
        first = len(words)
        for index in line.words:
            words.extend(_split(gray, page.words[index], reader))
        members = tuple(range(first, len(words)))
        text = " ".join(words[member].text for member in members)
        lines.append(replace(line, text=text, words=members))
    return replace(page, words=words, lines=lines)


def _split(gray: np.ndarray, word: Word, reader: LineReader) -> list[Word]:
    if not RUN_TOGETHER.search(word.text) or (crop := _crop(gray, word)) is None:
        return [word]
    pieces = reader.read_line(crop).split()
    if len(pieces) < 2 or "".join(pieces).casefold() != word.text.casefold():
        return [word]
    spaced, position = [], 0
    for piece in pieces:  # the word's own characters, cut where Tesseract's pieces end
        spaced.append(word.text[position : position + len(piece)])
        position += len(piece)
    return [Word(text, word.score, box) for text, box in split_line_box(word.box, " ".join(spaced))]


def _crop(gray: np.ndarray, word: Word) -> np.ndarray | None:
    xs = [point[0] for point in word.box]
    ys = [point[1] for point in word.box]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    rise = abs(word.box[1][1] - word.box[0][1])
    if width <= 0 or height <= 0 or rise > MAX_SLANT * width:
        return None
    margin = MARGIN * height
    top, bottom = max(0, int(min(ys) - margin)), min(gray.shape[0], int(max(ys) + margin) + 1)
    left, right = max(0, int(min(xs) - margin)), min(gray.shape[1], int(max(xs) + margin) + 1)
    return gray[top:bottom, left:right]
