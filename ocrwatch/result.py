"""What one input file yields: its pages' text and boxes, and how it was read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ocrwatch.engines.base import PageText


@dataclass(frozen=True, slots=True)
class DocumentText:
    """The OCR result of one input file, the shape that the JSON output and the index both store."""

    source: Path
    sha256: str
    engine: str
    engine_version: str
    pages: list[PageText]
    ocr_seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each stage of the pipeline (open, ocr, write, index)."""

    @property
    def text(self) -> str:
        """All pages' text in reading order; pages are separated by a form feed, as pdftotext does."""
        return "\n\f".join(page.text for page in self.pages)
