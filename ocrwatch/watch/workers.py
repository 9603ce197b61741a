"""The OCR worker processes: jobs go in, `DocumentText` or a typed `OcrwatchError` comes back.

A `ProcessPoolExecutor` on the spawn context (no forked copy of the daemon's threads, observers or
database connections). Each process loads its engine once, in the initializer, and ignores SIGINT and
SIGTERM, which a terminal or systemd also sends to it: the daemon decides when workers stop. A worker
that dies (a crashing engine, the OOM killer) breaks the pool; the daemon then starts a new one.
"""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import Future, ProcessPoolExecutor

from ocrwatch.config import EngineSettings, cores
from ocrwatch.engines import Engine, create_engine
from ocrwatch.errors import OcrwatchError
from ocrwatch.pipeline import OcrJob, read_document, unexpected
from ocrwatch.result import DocumentText

_engines: dict[str, Engine] = {}
"""Per worker process: the engines it loaded, by name."""


class Workers:
    def __init__(self, count: int, engine: str, settings: EngineSettings) -> None:
        self.count = count
        self._pool = ProcessPoolExecutor(
            count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(engine, _share_cores(settings, count)),
        )

    def submit(self, job: OcrJob) -> Future[DocumentText]:
        return self._pool.submit(_read, job)

    def close(self) -> None:
        """Let the workers finish what they hold and exit."""
        self._pool.shutdown(wait=True)

    def kill(self) -> None:
        """Stop the workers now, whatever they hold (the daemon has requeued it)."""
        # The pool's processes are this process's only multiprocessing children.
        for process in multiprocessing.active_children():
            process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _share_cores(settings: EngineSettings, workers: int) -> EngineSettings:
    """`threads: 0` means "every core" for one process; N workers share the cores instead of each
    starting one thread per core, which only makes them wait for each other (`bench/throughput.py`:
    2 RapidOCR workers x 2 threads on 2 cores read 36 % fewer images than 2 x 1; 2 Tesseract workers
    x 2 OpenMP threads slow to a crawl)."""
    share = max(1, cores() // workers)
    return settings.model_copy(
        update={
            name: options.model_copy(update={"threads": options.threads or share})
            for name, options in (("rapidocr", settings.rapidocr), ("tesseract", settings.tesseract))
        }
    )


def _start(engine: str, settings: EngineSettings) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _engine(engine, settings)


def _engine(name: str, settings: EngineSettings) -> Engine:
    if name not in _engines:
        _engines[name] = create_engine(name, settings)
    return _engines[name]


def _read(job: OcrJob) -> DocumentText:
    try:
        return read_document(job, _engine(job.settings.engine, job.settings.engines))
    except OcrwatchError:
        raise
    except Exception as error:  # not every exception pickles back; this one does, with its reason
        raise unexpected(job.source, error) from None
