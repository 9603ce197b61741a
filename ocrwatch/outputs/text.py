"""The plain-text output: what a person greps, copies or reads."""

from __future__ import annotations

from ocrwatch.result import DocumentText


def render_text(doc: DocumentText) -> str:
    """All text in reading order, one row per line, pages split by a form feed, newline-terminated."""
    return doc.text + "\n"
