"""Reading a PDF back as a user's tools do: Debian's pdftotext (poppler-utils)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext is missing: apt-get install poppler-utils"
)


PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
WORD = re.compile(r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*?)</word>')


@dataclass(frozen=True)
class PdfWord:
    text: str
    box: tuple[float, float, float, float]
    """left, top, right, bottom in points on the page as displayed."""


def pdftotext(pdf: Path, *options: str) -> str:
    """The text pdftotext extracts, `-layout` keeping the physical reading order of rows."""
    result = subprocess.run(
        ["pdftotext", *options, str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout


def pdf_words(pdf: Path) -> list[tuple[tuple[float, float], list[PdfWord]]]:
    """Each page's size (points, as displayed) and its words with their boxes (`pdftotext -bbox`)."""
    markup = pdftotext(pdf, "-bbox")
    pages = []
    for width, height, body in PAGE.findall(markup):
        words = [
            PdfWord(unescape(text), (float(a), float(b), float(c), float(d)))
            for a, b, c, d, text in WORD.findall(body)
        ]
        pages.append(((float(width), float(height)), words))
    return pages


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def in_order(words: list[str], text: str) -> list[str]:
    """The words not found in `text` one after another (white space ignored, as pdftotext spaces
    columns with it and joins words whose boxes touch)."""
    flat = "".join(text.split())
    position, missing = 0, []
    for word in words:
        found = flat.find("".join(word.split()), position)
        if found < 0:
            missing.append(word)
        else:
            position = found + len("".join(word.split()))
    return missing
