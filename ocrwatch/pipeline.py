"""One file through every stage: hash, open, read each page, write the outputs, index.

Stages are timed so that ocrwatch's own overhead over the engine stays visible. A file that fails at
any stage is recorded in the index with the reason, and no partial outputs are left behind: outputs
are written only once every page has been read.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from time import perf_counter

from ocrwatch.config import Settings
from ocrwatch.documents import file_sha256, open_pages
from ocrwatch.engines import Engine, PageText, create_engine
from ocrwatch.errors import OcrwatchError, UnreadableFile
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


class Pipeline:
    """Reads files into the outputs and the index. Build one per process: the engine loads once."""

    def __init__(self, settings: Settings, index: Index, engine: Engine | None = None) -> None:
        self.settings = settings
        self.index = index
        self.engine = engine or create_engine(settings.engine, settings.engines)

    def process(self, source: Path, root: Path, *, force: bool = False) -> Outcome:
        """Read `source`, found under the folder `root`, unless its content is already indexed."""
        started = perf_counter()
        key = os.path.abspath(source)
        size = mtime = sha256 = None
        try:
            size, mtime = _stat(source)
            sha256 = file_sha256(source)
            known = self.index.file(key)
            if not force and known and known.sha256 == sha256 and known.status in _FINISHED:
                return Outcome(
                    source, Status.SKIPPED, perf_counter() - started, document_id=known.document_id
                )
            document_id = None if force else self.index.document_id_for_sha(sha256)
            if document_id is not None:
                self.index.record_duplicate(key, size, mtime, sha256, document_id)
                return Outcome(source, Status.DUPLICATE, perf_counter() - started, document_id=document_id)
            stem = self.index.claim_output_stem(key, output_stem(source, root), sha256)
            paths = OutputPaths(self.settings.output, stem)
            content, annotated = self._read(source, sha256)
            write_started = perf_counter()
            write_outputs(content, annotated, paths)
            content.timings["write"] = perf_counter() - write_started
            document_id = self.index.record_done(key, size, mtime, sha256, stem, content)
        except OcrwatchError as error:
            return self._failed(source, key, size, mtime, sha256, str(error), started)
        except Exception as error:  # a bug or an engine crash must not stop the batch or the daemon
            log.exception("unexpected error on %s", source)
            reason = f"unexpected error: {type(error).__name__}: {error}"
            return self._failed(source, key, size, mtime, sha256, reason, started)
        return Outcome(
            source, Status.DONE, perf_counter() - started, document_id=document_id, pages=len(content.pages)
        )

    def _read(self, source: Path, sha256: str) -> tuple[DocumentText, list[bytes]]:
        """OCR every page; keep each page's annotated copy as JPEG bytes, not its decoded image."""
        timings = {"open": 0.0, "ocr": 0.0, "annotate": 0.0}
        pages: list[PageText] = []
        annotated: list[bytes] = []
        mark = perf_counter()
        for image in open_pages(source, self.settings.documents):
            timings["open"] += perf_counter() - mark
            mark = perf_counter()
            page = self.engine.read(image)
            timings["ocr"] += perf_counter() - mark
            mark = perf_counter()
            annotated.append(encode_jpeg(annotate(image, page), self.settings.annotate.quality))
            pages.append(page)
            timings["annotate"] += perf_counter() - mark
            mark = perf_counter()
        content = DocumentText(
            source=source,
            sha256=sha256,
            engine=self.engine.name,
            engine_version=self.engine.version,
            pages=pages,
            ocr_seconds=timings["ocr"],
            timings=timings,
        )
        return content, annotated

    def _failed(
        self,
        source: Path,
        key: str,
        size: int | None,
        mtime: float | None,
        sha256: str | None,
        reason: str,
        started: float,
    ) -> Outcome:
        self.index.record_failed(key, size, mtime, sha256, reason)
        return Outcome(source, Status.FAILED, perf_counter() - started, error=reason)


_FINISHED = (FileStatus.DONE, FileStatus.DUPLICATE)


def _stat(source: Path) -> tuple[int, float]:
    try:
        stat = source.stat()
    except FileNotFoundError:
        raise UnreadableFile("the file disappeared before it could be read") from None
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror}") from None
    return stat.st_size, stat.st_mtime
