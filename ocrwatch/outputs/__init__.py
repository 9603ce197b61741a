"""Everything ocrwatch writes for one input: plain text, the JSON contract, annotated copies, the
searchable PDF, hOCR and ALTO; each profile chooses which (config key `outputs`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from ocrwatch.config import DEFAULT_OUTPUTS, OutputFormat
from ocrwatch.outputs.alto import render_alto
from ocrwatch.outputs.atomic import write_atomic
from ocrwatch.outputs.hocr import render_hocr
from ocrwatch.outputs.jsonfile import render_json
from ocrwatch.outputs.paths import OutputPaths, output_stem
from ocrwatch.outputs.pdf import read_original, render_pdf
from ocrwatch.outputs.text import render_text
from ocrwatch.result import DocumentText

__all__ = ["OutputPaths", "output_stem", "render", "write_outputs"]

FILE_ORDER = (OutputFormat.TEXT, OutputFormat.PDF, OutputFormat.HOCR, OutputFormat.ALTO, OutputFormat.JSON)
"""The one-file formats in the order they are written: JSON last, so a tool that waits for it finds
the others in place."""


def render(output: OutputFormat, doc: DocumentText) -> bytes:
    """One output of `doc` as bytes; the PDF reads `doc.source`, which must still hold `doc.sha256`."""
    if output is OutputFormat.TEXT:
        return render_text(doc).encode("utf-8")
    if output is OutputFormat.JSON:
        return render_json(doc)
    if output is OutputFormat.PDF:
        return render_pdf(doc, read_original(doc.source, doc.sha256))
    if output is OutputFormat.HOCR:
        return render_hocr(doc)
    if output is OutputFormat.ALTO:
        return render_alto(doc)
    raise ValueError(f"{output.value} is drawn on the page images, not rendered from the text")


def write_outputs(
    doc: DocumentText,
    annotated: Sequence[bytes],
    paths: OutputPaths,
    outputs: Collection[OutputFormat] = DEFAULT_OUTPUTS,
) -> list[Path]:
    """Write the chosen `outputs`, each atomically; return the paths written.

    `annotated[i]` is page i + 1's annotated copy, already encoded (see `annotated.encode_jpeg`), so
    that the caller need not hold every decoded page of a long PDF until the end; it is only needed
    when the annotated copies are chosen. Every path is checked and every output rendered before the
    first write, so a failure (say, the original gone before its PDF was made) writes nothing.
    Annotated copies of pages a previous, longer version had are removed.
    """
    with_pages = OutputFormat.ANNOTATED in outputs
    if with_pages and len(annotated) != len(doc.pages):
        raise ValueError(f"{len(annotated)} annotated pages for {len(doc.pages)} pages of {doc.source}")
    page_paths = [paths.annotated(page) for page in range(1, len(doc.pages) + 1)] if with_pages else []
    chosen = [output for output in FILE_ORDER if output in outputs]
    file_paths = [_path(paths, output) for output in chosen]
    contents = [render(output, doc) for output in chosen]
    for path, jpeg in zip(page_paths, annotated, strict=with_pages):
        write_atomic(path, jpeg)
    for path, data in zip(file_paths, contents, strict=True):
        write_atomic(path, data)
    if with_pages:
        _remove_pages_after(paths, len(doc.pages))
    return [*page_paths, *file_paths]


def _path(paths: OutputPaths, output: OutputFormat) -> Path:
    path: Path = getattr(paths, output.value)  # OutputPaths names each one-file output by its format
    return path


def _remove_pages_after(paths: OutputPaths, page_count: int) -> None:
    page = page_count + 1
    while (stale := paths.annotated(page)).exists():
        stale.unlink()
        page += 1
