"""Re-export: any output of an indexed document rebuilt from the index, without running OCR again.

The index keeps every word, line, box and score, which is all that the text, JSON, hOCR and ALTO
outputs are made of. The searchable PDF also needs the page images: it is made from whichever of the
document's recorded paths still holds the content that was read.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path

from ocrwatch.config import OutputFormat
from ocrwatch.errors import OriginalChanged
from ocrwatch.index import Index, StoredDocument
from ocrwatch.outputs import render
from ocrwatch.places import Places


class ExportFormat(StrEnum):
    PDF = "pdf"
    HOCR = "hocr"
    ALTO = "alto"
    TXT = "txt"
    JSON = "json"

    @property
    def output(self) -> OutputFormat:
        return OutputFormat.TEXT if self is ExportFormat.TXT else OutputFormat(self.value)


def find(index: Index, target: str, places: Places) -> StoredDocument | None:
    """The document with id `target`, or the one read from the path `target` (in a watched folder: from
    that file, whichever host read it)."""
    document = index.document(int(target)) if target.isdigit() else None
    return document or index.document_for_path(places.target(target))


def export(document: StoredDocument, output: ExportFormat) -> bytes:
    """`document`'s output in format `output`.

    Raises `OriginalChanged` for the PDF when none of the document's paths holds its content any more.
    """
    if output is not ExportFormat.PDF:
        return render(output.output, document.content)
    reasons = []
    for path in document.originals:
        try:
            return render(OutputFormat.PDF, dataclasses.replace(document.content, source=Path(path)))
        except OriginalChanged as error:
            reasons.append(str(error))
    raise OriginalChanged(
        "the PDF needs the original file, and every copy is gone or changed: " + "; ".join(reasons)
    )
