"""Engines as the benchmarks see them: an RGB page in, words with boxes out.

Engines are imported only when chosen, so that `rapidocr-onnxruntime-1.4` can run in a throwaway venv
that has neither ocrwatch's dependencies nor its engine.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from bench.metrics import TextBox

LEGACY_RAPIDOCR = "rapidocr-onnxruntime-1.4"


class Reader(Protocol):
    label: str
    """Engine name and version, as the result tables show it."""

    def read(self, image: np.ndarray) -> list[TextBox]:
        """The words on an RGB uint8 page of shape (height, width, 3)."""
        ...


def open_reader(name: str) -> Reader:
    """An ocrwatch engine by its config name, or the legacy rapidocr-onnxruntime 1.4 adapter."""
    if name == LEGACY_RAPIDOCR:
        from bench.rapidocr_onnxruntime_14 import RapidOcrOnnxruntime14

        return RapidOcrOnnxruntime14()
    return OcrwatchReader(name)


class OcrwatchReader:
    """An engine exactly as ocrwatch builds it, with the default settings."""

    def __init__(self, name: str) -> None:
        from ocrwatch.config import Settings
        from ocrwatch.engines import create_engine

        self._engine = create_engine(name, Settings().engines)
        self.label = f"{self._engine.name} {self._engine.version}"

    def read(self, image: np.ndarray) -> list[TextBox]:
        return [TextBox(word.text, word.box) for word in self._engine.read(image).words]
