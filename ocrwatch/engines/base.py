"""The one seam every OCR engine sits behind: an image in, words and lines with boxes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ocrwatch.geometry import Quad, rows, to_upright


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    score: float
    box: Quad


@dataclass(frozen=True, slots=True)
class Line:
    """A run of words the detector found together; `words` index into `PageText.words`."""

    text: str
    score: float
    box: Quad
    words: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PageText:
    """What an engine read on one page, lines in reading order.

    Boxes are in the pixels of the page as stored (`width` x `height`), also when the page had to be
    turned to be read: `rotation` says by how much, in degrees clockwise (0, 90, 180 or 270).
    `engine` is what read the page, `source` where its text came from (`ocr`, or `text-layer`: a PDF's
    own text), and `reason` why that was chosen, in words; empty when nothing had to be chosen.
    `seconds` is how long the OCR of the page took (for the OCR time metrics); None for a page whose
    text came from its own layer, and until the pipeline has timed it.
    """

    width: int
    height: int
    words: list[Word] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    rotation: int = 0
    engine: str = ""
    source: str = "ocr"
    reason: str = ""
    seconds: float | None = None

    @property
    def text(self) -> str:
        """The page's text, one row of text per line: lines side by side are joined by a space."""
        upright = [to_upright(line.box, self.rotation, self.width, self.height) for line in self.lines]
        return "\n".join(" ".join(self.lines[index].text for index in row) for row in rows(upright))


class Engine(Protocol):
    """An OCR engine. Instances are created once per process and reused for every page."""

    name: str
    version: str

    def read(self, image: np.ndarray) -> PageText:
        """Read one page: `image` is an RGB uint8 array of shape (height, width, 3)."""
        ...
