"""The one seam every OCR engine sits behind: an image in, words and lines with boxes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ocrwatch.geometry import Quad, rows


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
    """What an engine read on one page, lines in reading order."""

    width: int
    height: int
    words: list[Word] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    rotation: int = 0
    """Degrees clockwise the image had to be turned for its text to read upright (0, 90, 180 or 270).

    Word and line boxes stay in the coordinates of the image as stored; a box's points are in reading
    order (top-left, top-right, bottom-right, bottom-left as read), so its text runs from point 0 to 1.
    """

    @property
    def text(self) -> str:
        """The page's text, one row of text per line: lines side by side are joined by a space."""
        return "\n".join(
            " ".join(self.lines[index].text for index in row)
            for row in rows([line.box for line in self.lines])
        )


class Engine(Protocol):
    """An OCR engine. Instances are created once per process and reused for every page."""

    name: str
    version: str

    def read(self, image: np.ndarray) -> PageText:
        """Read one page: `image` is an RGB uint8 array of shape (height, width, 3)."""
        ...
