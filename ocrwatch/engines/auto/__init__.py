"""The default engine: each page read by whichever of RapidOCR and Tesseract reads its kind of page best."""

from ocrwatch.engines.auto.engine import AutoEngine

__all__ = ["AutoEngine"]
