"""The OCR worker processes: jobs go in, a `Finished` (the text, or a typed `OcrwatchError`) comes back.

A small pool written for the daemon rather than a `ProcessPoolExecutor`, which cannot say which task
killed a worker (one crash breaks the pool and every file in hand), has no per-task time limit, and no
way for a task to ask its parent something halfway. Here each process (`ocrwatch.watch.worker`, spawned:
no forked copy of the daemon's threads, observers or database connections) holds at most one job, and
the parent knows which. So a crash or a hung file costs that file only: the worker is replaced and the
job reported as `WorkerCrashed` or `TimedOut`. Before writing outputs, a worker asks `may_write`, so
that a claim the index gave to someone else is never written over (`ClaimLost`).

Use a `Workers` from one long-lived thread: `PR_SET_PDEATHSIG` kills a worker when the thread that
started it exits, and replacements are started by `wait`.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import threading
import weakref
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_any
from multiprocessing.process import BaseProcess
from time import monotonic
from typing import NamedTuple

from ocrwatch.config import EngineSettings, cores
from ocrwatch.errors import ClaimLost, EngineError, OcrwatchError, TimedOut, WorkerCrashed
from ocrwatch.pipeline import OcrJob
from ocrwatch.result import DocumentText
from ocrwatch.watch import worker

log = logging.getLogger(__name__)

RESTART_SECONDS = (1.0, 60.0)
"""A replacement whose engine cannot start is tried again after 1 s, doubling up to 60 s."""
CLOSE_TICK = 0.2
"""Seconds `close` waits at a time, so that `hurry` is seen soon."""
EXIT_SECONDS = 5.0
"""How long a worker told to stop may take to exit before it is killed."""


@dataclass(frozen=True, slots=True)
class Finished:
    job: OcrJob
    content: DocumentText | None
    """Set when the file was read and its outputs written."""
    error: OcrwatchError | None
    """Set otherwise: `WorkerCrashed`, `TimedOut`, `ClaimLost`, or the reader's own typed error."""


class Closed(NamedTuple):
    """What `Workers.close` leaves: results to record, and jobs to queue again."""

    finished: list[Finished]
    unstarted: list[OcrJob]
    """Jobs that waited for a worker: none of them was begun."""
    cut_off: list[OcrJob]
    """Jobs still being read at the deadline: their workers were stopped."""


@dataclass(eq=False)
class _Worker:
    """One process, and the job it holds (None while it starts or waits)."""

    process: BaseProcess
    connection: Connection
    ready: bool = False
    job: OcrJob | None = None
    since: float = 0.0
    pages: int = 0

    def limit(self) -> float:
        """Seconds the job may take: a base, and more for each page the worker has opened."""
        assert self.job is not None
        settings = self.job.settings
        return settings.timeout_seconds + settings.timeout_per_page_seconds * self.pages


class Workers:
    """`count` worker processes and up to `2 * count` jobs: one running and one waiting per worker."""

    def __init__(
        self, count: int, engine: str, settings: EngineSettings, *, may_write: Callable[[OcrJob], bool]
    ) -> None:
        """Start every worker and wait until each has loaded `engine`; raises `EngineError` if one cannot
        (a missing language pack, damaged weights), leaving no process behind."""
        self.count = count
        self._engine = engine
        self._settings = _share_cores(settings, count)
        self._may_write = may_write
        self._context = multiprocessing.get_context("spawn")
        self._waiting: deque[OcrJob] = deque()
        self._restarts: list[float] = []
        """When replacements are due (monotonic)."""
        self._failed_starts = 0
        """Replacements in a row whose engine could not start: the backoff's exponent."""
        self._closing = False
        self._workers: list[_Worker] = []
        # Also when this object is dropped or the program exits without close(): multiprocessing's own
        # exit handler would wait forever for workers that ignore SIGTERM. Registered after that handler
        # (imported with this module), this one runs before it.
        self._finalizer = weakref.finalize(self, _stop_workers, self._workers)
        atexit.register(self._finalizer)
        try:
            for _ in range(count):
                self._workers.append(self._spawn())
            for started in self._workers:
                _await_start(started)
        except BaseException:
            self._stop_all()
            raise

    def free(self) -> int:
        """How many more jobs `submit` takes now."""
        return 0 if self._closing else 2 * self.count - len(self.in_hand())

    def submit(self, job: OcrJob) -> None:
        if self.free() <= 0:
            raise RuntimeError("submit() beyond free(): the workers hold enough")
        self._waiting.append(job)
        self._dispatch()

    def in_hand(self) -> list[OcrJob]:
        """The jobs submitted and not yet finished, running or waiting."""
        return [held.job for held in self._workers if held.job is not None] + list(self._waiting)

    def wait(self, timeout: float) -> list[Finished]:
        """Wait up to `timeout` seconds for jobs to finish and return them. Meanwhile answer the workers'
        `may_write` questions, enforce time limits and replace workers that died."""
        deadline = monotonic() + timeout
        finished: list[Finished] = []
        while True:
            wake = min([deadline, *self._restarts, *(held.since + held.limit() for held in self._busy())])
            pipes = [held.connection for held in self._workers]
            for ready in wait_for_any(pipes, max(0.0, wake - monotonic())):
                finished += self._receive(next(held for held in self._workers if held.connection is ready))
            now = monotonic()
            finished += self._enforce_limits(now)
            self._start_due(now)
            self._dispatch()
            if finished or now >= deadline:
                return finished

    def close(self, deadline: float, hurry: threading.Event | None = None) -> Closed:
        """Stop taking jobs, let the running ones finish until `deadline` (monotonic) or `hurry`, then stop
        every worker. Returns what finished meanwhile, and the jobs that did not (to queue again)."""
        self._closing = True
        self._restarts.clear()
        unstarted = list(self._waiting)
        self._waiting.clear()
        finished: list[Finished] = []
        while self._busy() and not (hurry and hurry.is_set()) and (left := deadline - monotonic()) > 0:
            finished += self.wait(min(CLOSE_TICK, left))
        cut_off = [held.job for held in self._busy() if held.job is not None]
        self._stop_all()
        return Closed(finished, unstarted, cut_off)

    def _stop_all(self) -> None:
        self._finalizer()
        atexit.unregister(self._finalizer)

    def _spawn(self) -> _Worker:
        ours, theirs = multiprocessing.Pipe()
        process = self._context.Process(
            target=worker.main,
            args=(theirs, self._engine, self._settings, os.getpid()),
            name="ocrwatch-worker",
            daemon=True,
        )
        process.start()
        theirs.close()  # the worker's death then reads as the end of our pipe
        return _Worker(process, ours)

    def _busy(self) -> list[_Worker]:
        return [held for held in self._workers if held.job is not None]

    def _dispatch(self) -> None:
        for idle in self._workers:
            if not self._waiting:
                return
            # An idle worker has nothing to say: a readable pipe is its end closing (it just died).
            if idle.ready and idle.job is None and not idle.connection.poll():
                job = self._waiting.popleft()
                try:
                    idle.connection.send(job)
                except OSError:  # it just died: its end of the pipe is read next
                    self._waiting.appendleft(job)
                    continue
                idle.job, idle.since, idle.pages = job, monotonic(), 0

    def _receive(self, held: _Worker) -> list[Finished]:
        try:
            message = held.connection.recv()
        except (EOFError, OSError):
            return self._died(held)
        match message:
            case worker.Ready():
                held.ready = True
                self._failed_starts = 0
                log.info("a new OCR worker process is ready")
            case worker.CannotStart(reason):
                log.error("a new OCR worker process could not start: %s", reason)
                self._replace(held, failed_start=True)
            case worker.PageOpened():
                held.pages += 1
            case worker.MayWrite():
                assert held.job is not None
                allowed = self._may_write(held.job)
                with suppress(OSError):  # it died meanwhile: its end of the pipe is read next
                    held.connection.send(allowed)
                if not allowed:
                    return [self._release(held, error=ClaimLost(_CLAIM_LOST))]
            case worker.Done(content, error):
                return [self._release(held, content, error)]
        return []

    def _release(
        self, held: _Worker, content: DocumentText | None = None, error: OcrwatchError | None = None
    ) -> Finished:
        assert held.job is not None
        job, held.job = held.job, None
        return Finished(job, content, error)

    def _died(self, held: _Worker) -> list[Finished]:
        cause = _cause(_reap(held.process))
        self._replace(held, failed_start=not held.ready)
        if held.job is None:
            log.error("an OCR worker process died (%s); starting another", cause)
            return []
        log.error("an OCR worker process died (%s) reading %s; starting another", cause, held.job.source)
        return [Finished(held.job, None, WorkerCrashed(f"{_CRASHED} ({cause})"))]

    def _enforce_limits(self, now: float) -> list[Finished]:
        finished = []
        for held in self._busy():
            limit = held.limit()
            # A message waiting to be read (another page, a result) may move or end the limit.
            if now < held.since + limit or held.connection.poll():
                continue
            assert held.job is not None
            log.warning("%s timed out after %.0f s; killing its OCR worker process", held.job.source, limit)
            held.process.kill()
            self._replace(held, failed_start=False)
            finished.append(Finished(held.job, None, TimedOut(f"timed out after {limit:.0f} s")))
        return finished

    def _replace(self, held: _Worker, *, failed_start: bool) -> None:
        """Reap and drop `held` (exited or killed), and schedule its replacement: later after each failed
        start, so that an engine that cannot load does not spin."""
        _reap(held.process)
        held.connection.close()
        self._workers.remove(held)
        if self._closing:
            return
        delay = 0.0
        if failed_start:
            first, most = RESTART_SECONDS
            delay = min(most, first * 2**self._failed_starts)
            self._failed_starts += 1
            log.error("trying again in %.0f s", delay)
        self._restarts.append(monotonic() + delay)

    def _start_due(self, now: float) -> None:
        for due in [when for when in self._restarts if when <= now]:
            self._restarts.remove(due)
            self._workers.append(self._spawn())


_CRASHED = "the OCR worker process died while reading the file"
_CLAIM_LOST = "the claim on this file was lost before its outputs were written"


def _stop_workers(workers: list[_Worker]) -> None:
    """Close every pipe (an idle worker exits on that), kill the busy and the starting, reap them all."""
    for held in workers:
        if held.job is not None or not held.ready:
            held.process.kill()
        held.connection.close()
    for held in workers:
        _reap(held.process)
    workers.clear()


def _await_start(held: _Worker) -> None:
    """Block until `held` has loaded its engine; raise `EngineError` with its reason if it cannot."""
    try:
        message = held.connection.recv()
    except EOFError:
        cause = _cause(_reap(held.process))
        raise EngineError(f"the OCR worker process died while starting its engine ({cause})") from None
    if isinstance(message, worker.CannotStart):
        raise EngineError(message.reason)
    held.ready = True


def _reap(process: BaseProcess) -> int | None:
    """Wait for `process` to exit (killing it if it will not) and return its exit code."""
    process.join(EXIT_SECONDS)
    if process.exitcode is None:
        process.kill()
        process.join()
    return process.exitcode


def _cause(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        with suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"


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
