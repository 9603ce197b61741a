"""The index: files seen, documents read from them, and full-text search. The only SQL in ocrwatch."""

from ocrwatch.index.records import (
    DocumentBrief,
    FileRecord,
    FileStat,
    FileStatus,
    Hit,
    Node,
    Place,
    StoredDocument,
)
from ocrwatch.index.search.filters import Filters, Sort
from ocrwatch.index.store import Index, Notice

__all__ = [
    "DocumentBrief",
    "FileRecord",
    "FileStat",
    "FileStatus",
    "Filters",
    "Hit",
    "Index",
    "Node",
    "Notice",
    "Place",
    "Sort",
    "StoredDocument",
]
