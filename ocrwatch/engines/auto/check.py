"""Whether Tesseract's reading of a page of running text can be kept, or RapidOCR should read it.

Tesseract's mean word confidence on the letters it read well was 0.959-0.966 (both halves); on a
page of Chinese read with `eng` 0.30; on receipts, which it reads worse than RapidOCR, 0.49-0.91.
Below 0.90 the page goes to RapidOCR (README, "Measured"). A page on which Tesseract found no word at
all goes there too: it may hold text Tesseract cannot see, or in a script it has no pack for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ocrwatch.engines.base import PageText

MIN_CONFIDENCE = 0.90
"""Tesseract's mean word confidence below which a document page goes to RapidOCR."""

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
"""Chinese, Japanese and Korean characters (kana, CJK ideographs, Hangul)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    good: bool
    why: str


def review(page: PageText) -> Verdict:
    """Keep Tesseract's reading when its words are, on the whole, confidently read."""
    if not page.words:
        return Verdict(False, "tesseract found no words")
    confidence = sum(word.score for word in page.words) / len(page.words)
    if confidence < MIN_CONFIDENCE:
        return Verdict(False, f"tesseract's mean word confidence {confidence:.2f} < {MIN_CONFIDENCE:.2f}")
    return Verdict(True, f"mean word confidence {confidence:.2f}")


def cjk_share(page: PageText) -> float:
    """The share of the page's characters (spaces aside) that are Chinese, Japanese or Korean."""
    characters = "".join(word.text for word in page.words)
    return len(CJK.findall(characters)) / len(characters) if characters else 0.0
