"""Whether Tesseract's reading of a document page can be kept, or RapidOCR should read the page.

Tesseract's own word confidences tell its good pages from its bad ones: on the office pages it read
well its mean word confidence was high, on the tables and the pages it garbled it fell (the measured
threshold and both halves of the sets: README, "Measured"). A page on which it found no word at all is
given to RapidOCR as well: it may be a photo-like page, or text in a script Tesseract has no pack for.
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
