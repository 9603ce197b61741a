"""The engines ocrwatch can run, by the name the config uses.

Engines are imported only when chosen, so that an engine's heavy dependencies stay out of the
processes that do not use it.
"""

from __future__ import annotations

from importlib import import_module

from ocrwatch.config import EngineSettings
from ocrwatch.engines.base import Engine, Line, PageText, Word
from ocrwatch.errors import ConfigError

__all__ = ["ENGINES", "Engine", "Line", "PageText", "Word", "create_engine"]

ENGINES: dict[str, str] = {
    "auto": "ocrwatch.engines.auto:AutoEngine",
    "rapidocr": "ocrwatch.engines.rapidocr:RapidOcrEngine",
    "tesseract": "ocrwatch.engines.tesseract:TesseractEngine",
    "keras-ocr": "ocrwatch.engines.kerasocr:KerasOcrEngine",
}


def create_engine(name: str, settings: EngineSettings) -> Engine:
    """Build the engine called `name` (as the config spells it) with its settings."""
    target = ENGINES.get(name)
    if target is None:
        known = ", ".join(sorted(ENGINES))
        raise ConfigError(f"engine: unknown engine {name!r}; known engines: {known}")
    module_name, class_name = target.split(":")
    engine_class = getattr(import_module(module_name), class_name)
    return engine_class(settings)
