"""The `auto` engine: RapidOCR and Tesseract loaded once, and per page the one that reads it best.

Measured on four sets (README, "Measured"): RapidOCR reads photos, receipts and invoices (tables,
forms) better; Tesseract reads pages of running text better and in a third of the time. So a page's
kind is told first from image statistics (`kind.py`, 20-40 ms): photos go to RapidOCR alone;
receipts and forms to RapidOCR, with the words it ran together split where Tesseract sees a space
(`spaces.py`). A page of running text is read by Tesseract and its reading checked (`check.py`); one
Tesseract read without confidence, or in a script it has no language for, is read again by RapidOCR,
whose reading is then kept. Reading every page with both would cost 1.1-1.35 times the slower engine.

Without tesserocr (it is an extra: `ocrwatch[tesseract]`) every page goes to RapidOCR, and says so.
Each engine takes its own settings (threads, languages) from `engines.rapidocr` / `engines.tesseract`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ocrwatch.config import EngineSettings
from ocrwatch.engines.auto.check import cjk_share, review
from ocrwatch.engines.auto.kind import DOCUMENT, PHOTO, page_kind
from ocrwatch.engines.auto.spaces import split_run_together
from ocrwatch.engines.base import PageText
from ocrwatch.engines.rapidocr import RapidOcrEngine
from ocrwatch.engines.tesseract import TesseractEngine
from ocrwatch.errors import EngineError

CJK_SHARE = 0.3
"""RapidOCR's reading with at least this share of CJK characters is Chinese, Japanese or Korean text."""
CJK_PACKS = ("chi_", "jpn", "kor")
"""Tesseract's traineddata for those scripts start so."""


class AutoEngine:
    name = "auto"

    def __init__(self, settings: EngineSettings) -> None:
        self._rapidocr = RapidOcrEngine(settings)
        self._tesseract = _tesseract_or_none(settings)
        self._lang = settings.tesseract.lang
        self._reads_cjk = any(code.startswith(CJK_PACKS) for code in self._lang.split("+"))
        tesseract = f"tesseract {self._tesseract.version}" if self._tesseract else "no tesseract"
        self.version = f"rapidocr {self._rapidocr.version} + {tesseract}"

    def read(self, image: np.ndarray) -> PageText:
        kind = page_kind(image)
        if kind.name == PHOTO:
            return self._by_rapidocr(image, f"{kind.name}: rapidocr ({kind.why})")
        if self._tesseract is None:
            return self._by_rapidocr(image, f"{kind.name}: rapidocr ({kind.why}; tesseract is not installed)")
        if kind.name != DOCUMENT:
            page = split_run_together(image, self._rapidocr.read(image), self._tesseract)
            why = f"{kind.name}: rapidocr, words run together split by tesseract ({kind.why})"
            return replace(page, reason=why)
        first = self._tesseract.read(image)
        verdict = review(first)
        if verdict.good:
            return replace(first, reason=f"document page: tesseract ({verdict.why})")
        second = self._rapidocr.read(image)
        why = verdict.why
        if cjk_share(second) >= CJK_SHARE and not self._reads_cjk:
            why = f"Chinese, Japanese or Korean text, which tesseract's {self._lang} does not read"
        return replace(second, reason=f"document page: rapidocr ({why})")

    def _by_rapidocr(self, image: np.ndarray, reason: str) -> PageText:
        return replace(self._rapidocr.read(image), reason=reason)


def _tesseract_or_none(settings: EngineSettings) -> TesseractEngine | None:
    """Tesseract as configured, or None when tesserocr is not installed; a missing pack still fails."""
    try:
        return TesseractEngine(settings)
    except EngineError as error:
        if "needs tesserocr" not in str(error):
            raise
        return None
