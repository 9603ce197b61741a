"""Everything ocrwatch writes for one input: plain text, the JSON contract and annotated copies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ocrwatch.outputs.atomic import write_atomic
from ocrwatch.outputs.jsonfile import render_json
from ocrwatch.outputs.paths import OutputPaths, output_stem
from ocrwatch.outputs.text import render_text
from ocrwatch.result import DocumentText

__all__ = ["OutputPaths", "output_stem", "write_outputs"]


def write_outputs(doc: DocumentText, annotated: Sequence[bytes], paths: OutputPaths) -> list[Path]:
    """Write the annotated pages, the text and the JSON, each atomically; return the paths written.

    `annotated[i]` is page i + 1's annotated copy, already encoded (see `annotated.encode_jpeg`), so
    that the caller need not hold every decoded page of a long PDF until the end. All paths are
    checked before the first write, and the JSON goes last, so a tool that waits for it finds the
    other outputs in place. Annotated copies of pages a previous, longer version had are removed.
    """
    if len(annotated) != len(doc.pages):
        raise ValueError(f"{len(annotated)} annotated pages for {len(doc.pages)} pages of {doc.source}")
    text_path, json_path, *page_paths = paths.all(len(doc.pages))
    for path, jpeg in zip(page_paths, annotated, strict=True):
        write_atomic(path, jpeg)
    write_atomic(text_path, render_text(doc).encode("utf-8"))
    write_atomic(json_path, render_json(doc))
    _remove_pages_after(paths, len(doc.pages))
    return [*page_paths, text_path, json_path]


def _remove_pages_after(paths: OutputPaths, page_count: int) -> None:
    page = page_count + 1
    while (stale := paths.annotated(page)).exists():
        stale.unlink()
        page += 1
