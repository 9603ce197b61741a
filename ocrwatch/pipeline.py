"""One file through every stage: hash, decide, open, read each page, write the outputs, index.

The stages are split where the work changes hands. `prepare` and `finish` talk to the index;
`read_document` (open, OCR, annotate, write outputs) needs no index, so the daemon runs it in worker
processes while one process owns the database; `ocrwatch scan` runs all three in a row (`Pipeline`).
Stages are timed so that ocrwatch's own overhead over the engine stays visible. No partial outputs are
left behind: outputs are written only once every page has been read.
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from time import perf_counter

from ocrwatch.config import OutputFormat, Settings
from ocrwatch.documents import file_sha256, open_pages
from ocrwatch.engines import Engine, PageText, create_engine
from ocrwatch.errors import FileChanged, OcrwatchError, Unexpected, UnreadableFile
from ocrwatch.index import FileStatus, Index
from ocrwatch.outputs import OutputPaths, output_stem, write_outputs
from ocrwatch.outputs.annotated import annotate, encode_jpeg
from ocrwatch.result import DocumentText

log = logging.getLogger(__name__)


class Status(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    """Already indexed with the same content."""
    DUPLICATE = "duplicate"
    """New path, known content: recorded as another path of the same document, not read again."""
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outcome:
    path: Path
    status: Status
    seconds: float
    error: str | None = None
    document_id: int | None = None
    pages: int = 0


@dataclass(frozen=True, slots=True)
class OcrJob:
    """A file to read, with everything a reader needs and nothing of the index: it pickles."""

    source: Path
    key: str
    """The path as the index knows it (absolute)."""
    size: int
    mtime: float
    sha256: str
    """The content hashed before the job was made; the reader checks the file still holds it."""
    stem: str
    """The output name claimed for it."""
    settings: Settings


def prepare(
    index: Index, settings: Settings, source: Path, root: Path, *, force: bool = False
) -> Outcome | OcrJob:
    """Hash `source` (found under `root`) and settle what the index already knows.

    Returns an `Outcome` when nothing is left to read: the path still holds its document (skipped), or
    its content is known under another path (recorded here as a duplicate). Otherwise, the job to read.
    Raises `OcrwatchError` when the file cannot be read.
    """
    started = perf_counter()
    key = os.path.abspath(source)
    size, mtime = _stat(source)
    sha256 = file_sha256(source)
    document_id = index.document_id_for_sha(sha256)
    known = index.file(key)
    if not force and document_id is not None and known and known.document_id == document_id:
        if known.status not in _FINISHED or (known.size, known.mtime) != (size, mtime):
            index.record_unchanged(key, size, mtime)
        return Outcome(source, Status.SKIPPED, perf_counter() - started, document_id=document_id)
    if not force and document_id is not None:
        index.record_duplicate(key, size, mtime, sha256, document_id)
        return Outcome(source, Status.DUPLICATE, perf_counter() - started, document_id=document_id)
    stem = index.claim_output_stem(key, output_stem(source, root), sha256)
    return OcrJob(source, key, size, mtime, sha256, stem, settings)


def read_document(job: OcrJob, engine: Engine) -> DocumentText:
    """OCR every page of the job's file and write its outputs; the index is not touched."""
    content, annotated = read_pages(job, engine)
    write_job_outputs(job, content, annotated)
    return content


def read_pages(job: OcrJob, engine: Engine) -> tuple[DocumentText, list[bytes]]:
    """OCR every page of the job's file, writing nothing: a worker asks whether it may write first.

    Raises `FileChanged` when the file no longer holds the content that was hashed: what was read
    may be half of a file still being written.
    """
    content, annotated = _read(job.source, job.sha256, engine, job.settings)
    if file_sha256(job.source) != job.sha256:
        raise FileChanged("the file changed while it was being read")
    return content, annotated


def write_job_outputs(job: OcrJob, content: DocumentText, annotated: list[bytes]) -> None:
    """Write what `read_pages` made of the job under its claimed stem; timed as the "write" stage."""
    write_started = perf_counter()
    write_outputs(content, annotated, OutputPaths(job.settings.output, job.stem), job.settings.outputs)
    content.timings["write"] = perf_counter() - write_started


def finish(index: Index, job: OcrJob, content: DocumentText, seconds: float) -> Outcome:
    """Record what a reader made of `job`."""
    document_id = index.record_done(job.key, job.size, job.mtime, job.sha256, job.stem, content)
    return Outcome(job.source, Status.DONE, seconds, document_id=document_id, pages=len(content.pages))


def fail(
    index: Index, source: Path, error: OcrwatchError, seconds: float, sha256: str | None = None
) -> Outcome:
    """Record that `source` (with content `sha256`, when it was hashed) could not be read, and why."""
    size = mtime = None
    with suppress(OcrwatchError):
        size, mtime = _stat(source)
    index.record_failed(os.path.abspath(source), size, mtime, sha256, str(error))
    return Outcome(source, Status.FAILED, seconds, error=str(error))


def unexpected(source: Path, error: Exception) -> Unexpected:
    """A bug or an engine crash, as a failure that can be recorded: one file must not stop the rest."""
    log.error("unexpected error on %s", source, exc_info=error)
    return Unexpected(f"unexpected error: {type(error).__name__}: {error}")


class Pipeline:
    """Reads files one after another in this process. Build one per process: the engine loads once."""

    def __init__(self, settings: Settings, index: Index, engine: Engine | None = None) -> None:
        self.settings = settings
        self.index = index
        self.engine = engine or create_engine(settings.engine, settings.engines)

    def process(self, source: Path, root: Path, *, force: bool = False) -> Outcome:
        """Read `source`, found under the folder `root`, unless its content is already indexed."""
        started = perf_counter()
        sha256 = None
        try:
            job = prepare(self.index, self.settings, source, root, force=force)
            if isinstance(job, Outcome):
                return job
            sha256 = job.sha256
            content = read_document(job, self.engine)
            return finish(self.index, job, content, perf_counter() - started)
        except OcrwatchError as error:
            return fail(self.index, source, error, perf_counter() - started, sha256)
        except Exception as error:
            return fail(self.index, source, unexpected(source, error), perf_counter() - started, sha256)


def _read(source: Path, sha256: str, engine: Engine, settings: Settings) -> tuple[DocumentText, list[bytes]]:
    """OCR every page; keep each page's annotated copy (when chosen) as JPEG bytes, not its image."""
    timings = {"open": 0.0, "ocr": 0.0, "annotate": 0.0}
    annotating = OutputFormat.ANNOTATED in settings.outputs
    pages: list[PageText] = []
    annotated: list[bytes] = []
    mark = perf_counter()
    for image in open_pages(source, settings.documents):
        timings["open"] += perf_counter() - mark
        mark = perf_counter()
        page = engine.read(image)
        timings["ocr"] += perf_counter() - mark
        mark = perf_counter()
        if annotating:
            annotated.append(encode_jpeg(annotate(image, page), settings.annotate.quality))
        pages.append(page)
        timings["annotate"] += perf_counter() - mark
        mark = perf_counter()
    content = DocumentText(
        source=source,
        sha256=sha256,
        engine=engine.name,
        engine_version=engine.version,
        pages=pages,
        ocr_seconds=timings["ocr"],
        timings=timings,
    )
    return content, annotated


_FINISHED = (FileStatus.DONE, FileStatus.DUPLICATE)


def _stat(source: Path) -> tuple[int, float]:
    try:
        stat = source.stat()
    except FileNotFoundError:
        raise UnreadableFile("the file disappeared before it could be read") from None
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror}") from None
    return stat.st_size, stat.st_mtime
