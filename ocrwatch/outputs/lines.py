"""A page as lines of words: the nesting that hOCR, ALTO and the PDF's text layer all write.

Every word appears exactly once, so a format built from this loses no text: words that no line claims
become lines of their own, and a line that has no word boxes is cut into words along its own box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ocrwatch.engines.base import PageText, Word
from ocrwatch.geometry import Quad, split_line_box


@dataclass(frozen=True, slots=True)
class TextLine:
    box: Quad
    words: list[Word]


def text_lines(page: PageText) -> list[TextLine]:
    """The page's lines in reading order, each with its words in reading order."""
    claimed: set[int] = set()
    lines = []
    for line in page.lines:
        members = [index for index in line.words if 0 <= index < len(page.words)]
        claimed.update(members)
        if members:
            words = [page.words[index] for index in members]
        else:
            words = [Word(text, line.score, box) for text, box in split_line_box(line.box, line.text)]
        if words:
            lines.append(TextLine(line.box, words))
    for index, word in enumerate(page.words):
        if index not in claimed and word.text.strip():
            lines.append(TextLine(word.box, [word]))
    return lines


def envelope(box: Quad, width: int, height: int) -> tuple[int, int, int, int]:
    """The upright integer rectangle (left, top, right, bottom) around `box`, inside the page."""
    xs = [x for x, _ in box]
    ys = [y for _, y in box]
    return (
        max(0, math.floor(min(xs))),
        max(0, math.floor(min(ys))),
        min(width, math.ceil(max(xs))),
        min(height, math.ceil(max(ys))),
    )
