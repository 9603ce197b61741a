"""One file through every stage: hash, decide, open, read each page, write the outputs, index.

The stages are split where the work changes hands. `prepare`, `finish` and `fail` talk to the index,
always about one claimed arrival (`FileRecord`); `read_pages` (open, OCR, annotate) and
`write_job_outputs` need no index, so the daemon runs them in worker processes, which ask the main
process in between whether the claim still holds (`watch/workers.py`); `ocrwatch scan` runs every
stage in a row (`Pipeline`).
Stages are timed so that ocrwatch's own overhead over the engine stays visible. No partial outputs are
left behind: outputs are written only once every page has been read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from time import perf_counter

import numpy as np

from ocrwatch.config import OnSuccess, OutputFormat, PdfText, Settings
from ocrwatch.documents import file_sha256, is_pdf, open_pages, open_pdf
from ocrwatch.engines import Engine, PageText, create_engine
from ocrwatch.errors import FileChanged, OcrwatchError, Unexpected, UnreadableFile
from ocrwatch.index import FileRecord, FileStatus, Index, Notice
from ocrwatch.outputs import OutputPaths, output_stem, write_outputs
from ocrwatch.outputs.annotated import annotate, encode_jpeg
from ocrwatch.pdftext import decide, page_text, read_layer
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
    record: FileRecord | None = None
    """The arrival it was recorded for."""


@dataclass(frozen=True, slots=True)
class OcrJob:
    """A file to read, with everything a reader needs and nothing of the index: it pickles."""

    source: Path
    record: FileRecord
    """The arrival as claimed; its output name (`output_stem`) was reserved by the claim."""
    size: int
    mtime: float
    sha256: str
    """The content hashed before the job was made; the reader checks the file still holds it."""
    settings: Settings

    @property
    def stem(self) -> str:
        if self.record.output_stem is None:
            raise ValueError(f"{self.record.path}: claimed without an output name")
        return self.record.output_stem


NoticeFor = Callable[[Status], Notice]
"""The notifications an outcome of each status sends (the daemon's hooks); `silent` for none."""


def silent(status: Status) -> Notice:
    return Notice(_EVENTS[status])


def prepare(
    index: Index,
    settings: Settings,
    record: FileRecord,
    source: Path,
    notice: NoticeFor = silent,
    *,
    force: bool = False,
) -> Outcome | OcrJob:
    """Hash the claimed arrival `record` (the file `source`) and settle what the index already knows.

    Returns an `Outcome` when nothing is left to read: the file is the one the path's previous
    arrival recorded, only touched (skipped, and merged into it), or its content is known from
    another arrival (recorded as a duplicate). Otherwise, the job to read.
    Raises `OcrwatchError` when the file cannot be read.
    """
    started = perf_counter()
    size, mtime = _stat(source)
    sha256 = file_sha256(source)
    document_id = index.document_id_for_sha(sha256)
    if document_id is not None:
        previous = index.previous_arrival(record)
        if settings.on_success is OnSuccess.KEEP and _still_there(previous, document_id):
            assert previous is not None
            if force:  # read again into the arrival that recorded it, and its outputs
                return OcrJob(source, index.queue.reclaim(previous, record), size, mtime, sha256, settings)
            index.record_unchanged(record, previous, size, mtime)
            return Outcome(source, Status.SKIPPED, perf_counter() - started, document_id=document_id)
    if not force and document_id is not None:
        index.record_duplicate(record, size, mtime, sha256, document_id, notice(Status.DUPLICATE))
        return Outcome(
            source, Status.DUPLICATE, perf_counter() - started, document_id=document_id, record=record
        )
    return OcrJob(source, record, size, mtime, sha256, settings)


def _still_there(previous: FileRecord | None, document_id: int) -> bool:
    """`previous` recorded this content and its original stayed where it was found."""
    return (
        previous is not None
        and previous.document_id == document_id
        and previous.status in _FINISHED
        and previous.moved_to is None
        and previous.after_due is None
    )


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


def finish(
    index: Index, job: OcrJob, content: DocumentText, seconds: float, notice: NoticeFor = silent
) -> Outcome:
    """Record what a reader made of `job`."""
    document_id = index.record_done(job.record, job.size, job.mtime, content, notice(Status.DONE))
    return Outcome(
        job.source,
        Status.DONE,
        seconds,
        document_id=document_id,
        pages=len(content.pages),
        record=job.record,
    )


def fail(
    index: Index,
    record: FileRecord,
    error: OcrwatchError,
    seconds: float,
    notice: NoticeFor = silent,
    sha256: str | None = None,
) -> Outcome:
    """Record that the arrival `record` (content `sha256`, when it was hashed) could not be read, and why."""
    source = Path(record.path)
    size = mtime = None
    with suppress(OcrwatchError):
        size, mtime = _stat(source)
    index.record_failed(record, size, mtime, sha256, str(error), notice(Status.FAILED))
    return Outcome(source, Status.FAILED, seconds, error=str(error), record=record)


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
        try:
            size, mtime = _stat(source)
        except OcrwatchError as error:
            return Outcome(source, Status.FAILED, perf_counter() - started, error=str(error))
        stem = output_stem(source, root)
        record = self.index.queue.claim_path(os.path.abspath(source), size, mtime, stem)
        sha256 = None
        try:
            job = prepare(self.index, self.settings, record, source, force=force)
            if isinstance(job, Outcome):
                return job
            sha256 = job.sha256
            content = read_document(job, self.engine)
            return finish(self.index, job, content, perf_counter() - started)
        except OcrwatchError as error:
            return fail(self.index, record, error, perf_counter() - started, sha256=sha256)
        except Exception as error:
            failure = unexpected(source, error)
            return fail(self.index, record, failure, perf_counter() - started, sha256=sha256)


def _read(source: Path, sha256: str, engine: Engine, settings: Settings) -> tuple[DocumentText, list[bytes]]:
    """Read every page, from its own text layer or by OCR; keep each page's annotated copy (when chosen)
    as JPEG bytes, not its image. A page read from its layer is rendered only for the annotated copy."""
    timings = {"open": 0.0, "text_layer": 0.0, "ocr": 0.0, "annotate": 0.0}
    annotating = OutputFormat.ANNOTATED in settings.outputs
    pages: list[PageText] = []
    annotated: list[bytes] = []
    mark = perf_counter()
    for source_page in _pages(source, settings):
        timings["open" if source_page.layer is None else "text_layer"] += perf_counter() - mark
        mark = perf_counter()
        page = source_page.layer
        image = source_page.render() if page is None or annotating else None
        timings["open"] += perf_counter() - mark
        mark = perf_counter()
        if page is None:
            page = engine.read(image)
            seconds = perf_counter() - mark
            page = replace(page, reason=source_page.reason or page.reason, seconds=seconds)
            timings["ocr"] += seconds
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


@dataclass(frozen=True, slots=True)
class _SourcePage:
    """A page to read: `layer` is its text when taken from the PDF's own layer, else it is OCR'd."""

    render: Callable[[], np.ndarray]
    layer: PageText | None = None
    reason: str = ""
    """Why the page is OCR'd although it is a PDF's (`pdftext.decide`); empty when nothing was chosen."""


def _pages(source: Path, settings: Settings) -> Iterator[_SourcePage]:
    """Each page of `source`, with what `pdf_text` decided for it when it is a PDF's."""
    if not is_pdf(source):
        for image in open_pages(source, settings.documents):
            yield _SourcePage(lambda image=image: image)
        return
    for pdf_page in open_pdf(source, settings.documents):
        if settings.pdf_text is PdfText.OCR:
            yield _SourcePage(pdf_page.render)
            continue
        layer = read_layer(pdf_page)
        decision = decide(layer, settings.pdf_text)
        if decision.use_layer:
            yield _SourcePage(pdf_page.render, page_text(pdf_page, layer, decision.reason))
        else:
            yield _SourcePage(pdf_page.render, reason=decision.reason)


_FINISHED = (FileStatus.DONE, FileStatus.DUPLICATE)
_EVENTS = {
    Status.DONE: "on_done",
    Status.SKIPPED: "on_done",
    Status.DUPLICATE: "on_done",
    Status.FAILED: "on_failed",
}


def _stat(source: Path) -> tuple[int, float]:
    try:
        stat = source.stat()
    except FileNotFoundError:
        raise UnreadableFile("the file disappeared before it could be read") from None
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror}") from None
    return stat.st_size, stat.st_mtime
