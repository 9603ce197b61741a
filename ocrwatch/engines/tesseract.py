"""Tesseract 5 (its LSTM recognizer) through tesserocr, the C API: no subprocess, no temporary files.

Words, their boxes and confidences come from Tesseract's own layout analysis, walked with its result
iterator at the word level; a new line starts where Tesseract's text line does. Tesseract gives
axis-aligned rectangles: they become four-corner boxes. Confidences (0-100) become scores (0-1).

Languages are Tesseract's traineddata files, installed from Debian's language packs
(`tesseract-ocr-eng`, `tesseract-ocr-deu`, ...). The configured `lang` is checked against them when the
engine starts, so a missing pack is reported before the first file, with the package that brings it.

Tesseract's OpenMP threads make it slower, not faster, on the pages ocrwatch reads (see README,
"Tesseract threads"): `threads` (default 1) sets OMP_THREAD_LIMIT before Tesseract's library loads.
OpenMP reads it once per process, so the first Tesseract engine of a process decides it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ocrwatch.config import TesseractSettings
from ocrwatch.engines.base import Line, PageText, Word
from ocrwatch.errors import ConfigError, EngineError
from ocrwatch.geometry import Quad, reading_order

# Where Debian's language packs put their traineddata (tesseract-ocr 5.x), for a tesserocr wheel that
# was built with another default folder.
DEBIAN_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")


class TesseractEngine:
    name = "tesseract"

    def __init__(self, settings: Any) -> None:
        options: TesseractSettings = settings.tesseract
        if options.threads:
            os.environ["OMP_THREAD_LIMIT"] = str(options.threads)
        tesserocr = _import_tesserocr()
        self._ril = tesserocr.RIL
        self._psm = options.psm
        self._single_line = tesserocr.PSM.SINGLE_LINE
        folder, installed = _installed_languages(tesserocr, options.tessdata)
        check_languages(options.lang, folder, installed)
        self.version = tesserocr.tesseract_version().split()[1]
        self._min_score = options.min_score
        try:
            self._api = tesserocr.PyTessBaseAPI(
                path=str(folder), lang=options.lang, psm=options.psm, oem=tesserocr.OEM.LSTM_ONLY
            )
        except RuntimeError as error:
            raise EngineError(f"Tesseract could not start with lang {options.lang!r}: {error}") from error

    def read(self, image: np.ndarray) -> PageText:
        height, width = image.shape[:2]
        pixels = np.ascontiguousarray(image, dtype=np.uint8)
        self._api.SetImageBytes(pixels.tobytes(), width, height, 3, width * 3)
        self._api.Recognize()
        raw_lines = _walk(self._api.GetIterator(), self._ril, self._min_score)
        order = reading_order([box for box, _, _ in raw_lines])
        words: list[Word] = []
        lines: list[Line] = []
        for index in order:
            box, score, line_words = raw_lines[index]
            first = len(words)
            words.extend(line_words)
            lines.append(
                Line(
                    text=" ".join(word.text for word in line_words),
                    score=score,
                    box=box,
                    words=tuple(range(first, len(words))),
                )
            )
        self._api.Clear()
        return PageText(width=width, height=height, words=words, lines=lines, engine=self.name)

    def read_line(self, gray: np.ndarray) -> str:
        """The text of a grey image that holds one line (a word's crop, say), read as a single line."""
        height, width = gray.shape[:2]
        pixels = np.ascontiguousarray(gray, dtype=np.uint8)
        self._api.SetPageSegMode(self._single_line)
        try:
            self._api.SetImageBytes(pixels.tobytes(), width, height, 1, width)
            return self._api.GetUTF8Text()
        finally:
            self._api.Clear()
            self._api.SetPageSegMode(self._psm)


def check_languages(lang: str, folder: Path, installed: set[str]) -> None:
    """Refuse a `lang` whose traineddata is not in `folder`, naming the Debian package that brings it."""
    missing = [code for code in lang.split("+") if code not in installed]
    if not missing:
        return
    packages = " ".join(debian_package(code) for code in missing)
    have = ", ".join(sorted(installed - {"osd"})) or "none"
    raise ConfigError(
        f"engines.tesseract.lang: no traineddata for {', '.join(map(repr, missing))} in {folder} "
        f"(installed: {have}); install it with: apt-get install {packages}"
    )


def debian_package(code: str) -> str:
    """Debian's language pack for a traineddata name: chi_sim -> tesseract-ocr-chi-sim."""
    return "tesseract-ocr-" + code.lower().replace("_", "-")


def _import_tesserocr() -> Any:
    try:
        import tesserocr
    except ImportError as error:
        raise EngineError(
            "the tesseract engine needs tesserocr: pip install 'ocrwatch[tesseract]' "
            f"and Debian's tesseract-ocr with a language pack ({error})"
        ) from error
    return tesserocr


def _installed_languages(tesserocr: Any, tessdata: Path | None) -> tuple[Path, set[str]]:
    """The traineddata folder to use and the languages in it."""
    if tessdata is not None:
        candidates = [tessdata]
    else:
        default, _ = tesserocr.get_languages()
        candidates = [Path(default), DEBIAN_TESSDATA]
    for folder in candidates:
        languages = {path.name.removesuffix(".traineddata") for path in folder.glob("*.traineddata")}
        if languages or tessdata is not None:
            return folder, languages
    return candidates[0], set()


def _walk(iterator: Any, ril: Any, min_score: float) -> list[tuple[Quad, float, list[Word]]]:
    """Tesseract's text lines in its own order: (box, score, words) with the empty words left out."""
    lines: list[tuple[Quad, float, list[Word]]] = []
    if iterator is None:
        return lines
    current: list[Word] | None = None
    while True:
        if current is None or iterator.IsAtBeginningOf(ril.TEXTLINE):
            box = iterator.BoundingBox(ril.TEXTLINE)
            if box is not None:
                current = []
                lines.append((_quad(box), _score(iterator.Confidence(ril.TEXTLINE)), current))
        try:
            text = (iterator.GetUTF8Text(ril.WORD) or "").strip()
        except RuntimeError:  # tesserocr's "No text returned", on a page without text
            text = ""
        box = iterator.BoundingBox(ril.WORD)
        score = _score(iterator.Confidence(ril.WORD))
        if text and box is not None and current is not None and score >= min_score:
            current.append(Word(text, score, _quad(box)))
        if not iterator.Next(ril.WORD):
            break
    return [line for line in lines if line[2]]


def _quad(box: tuple[int, int, int, int]) -> Quad:
    left, top, right, bottom = (float(value) for value in box)
    return ((left, top), (right, top), (right, bottom), (left, bottom))


def _score(confidence: float) -> float:
    return round(min(max(float(confidence) / 100.0, 0.0), 1.0), 4)
