"""`ocrwatch run`: the main loop that ties observers, settling, the queue and the workers together.

This process is the database's one writer: it turns events and rescans into queued paths, claims
them, settles them, hashes them, hands the reading to the worker processes, records what comes back
and applies the after-actions. At most `2 * workers` files are in hand at once; the rest wait in the
index, so a burst of 10,000 files costs rows, not memory. SIGTERM or SIGINT stops claiming, lets the
files in hand finish within `stop_timeout_seconds`, puts the rest back in the queue, gives pending
notifications what is left of that time (`ocrwatch.hooks`) and returns.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
from time import monotonic, perf_counter

from ocrwatch.config import OnFailure, OnSuccess, Profile, Settings
from ocrwatch.engines import ENGINES
from ocrwatch.errors import ConfigError, OcrwatchError, WorkerCrashed
from ocrwatch.hooks import Hooks
from ocrwatch.index import FileRecord, FileStat, FileStatus, Index
from ocrwatch.pipeline import OcrJob, Outcome, fail, finish, prepare, unexpected
from ocrwatch.result import DocumentText
from ocrwatch.watch import observer, printable, scanner, settle
from ocrwatch.watch.after import after_failure, after_success
from ocrwatch.watch.notify import notify
from ocrwatch.watch.patterns import Patterns
from ocrwatch.watch.workers import Workers

log = logging.getLogger("ocrwatch")

TICK = 0.2
"""Seconds the loop waits for a result or an event before it looks at the queue again."""
SAME_CONTENT_WAIT = 1.0
"""A copy of content being read right now waits this long, then is recorded as a duplicate."""


@dataclass(frozen=True, slots=True)
class _InHand:
    record: FileRecord
    profile: Profile
    job: OcrJob
    workers: Workers
    started: float


class Daemon:
    def __init__(self, settings: Settings, index: Index) -> None:
        self.settings = settings
        self.index = index
        self.profiles = {str(profile.folder): profile for profile in settings.profiles()}
        self._patterns = {root: Patterns(profile) for root, profile in self.profiles.items()}
        self._events: SimpleQueue[tuple[Profile, Path]] = SimpleQueue()
        self._stopping = threading.Event()
        self._hurry = threading.Event()
        self._in_hand: dict[Future[DocumentText], _InHand] = {}
        self._limit = 2 * settings.workers

    def run(self) -> None:
        """Watch until SIGTERM or SIGINT; raises `ConfigError` when the folders cannot be watched."""
        self._check()
        self._hooks = Hooks(self.index, self.profiles.values())
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        if requeued := self.index.requeue_processing():
            log.info("%d files an earlier run held are queued again", requeued)
        self._workers = Workers(self.settings.workers, self.settings.engine, self.settings.engines)
        # Observers first, then the catch-up walk: a file dropped in between is seen by one or both.
        observers = [observer.start(profile, self._on_event) for profile in self.profiles.values()]
        notify("READY=1", f"STATUS=watching {len(observers)} folders")
        log.info(
            "watching %s with %d workers",
            ", ".join(str(profile.folder) for profile in self.profiles.values()),
            self.settings.workers,
        )
        next_rescan = monotonic()
        try:
            while not self._stopping.is_set():
                self._take_events()
                if monotonic() >= next_rescan:
                    self._rescan()
                    next_rescan = monotonic() + self.settings.rescan_seconds
                self._fill()
                self._wait(TICK)
        finally:
            notify("STOPPING=1")
            for running in observers:
                running.stop()
            deadline = monotonic() + self.settings.stop_timeout_seconds
            self._finish_in_hand(deadline)
            self._hooks.close(deadline, self._hurry)

    def _check(self) -> None:
        if not self.profiles:
            raise ConfigError("nothing to watch: add a `watch:` list of folders to the config")
        for profile in self.profiles.values():
            if profile.settings.engine not in ENGINES:
                known = ", ".join(sorted(ENGINES))
                raise ConfigError(
                    f"engine: unknown engine {profile.settings.engine!r}; known engines: {known}"
                )
            try:
                profile.folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ConfigError(
                    f"cannot create the watched folder {profile.folder}: {error.strerror}"
                ) from None

    def _on_signal(self, signum: int, frame: object) -> None:
        if self._stopping.is_set():
            self._hurry.set()  # a second Ctrl-C: requeue what is in hand now
        self._stopping.set()
        log.info("stopping on %s: %d files in hand", signal.Signals(signum).name, len(self._in_hand))

    # Finding files

    def _on_event(self, profile: Profile, path: Path) -> None:
        self._events.put((profile, path))

    def _take_events(self) -> None:
        found: defaultdict[str, list[FileStat]] = defaultdict(list)
        while True:
            try:
                profile, path = self._events.get_nowait()
            except Empty:
                break
            patterns = self._patterns[str(profile.folder)]
            if path.is_dir():
                if patterns.wants_folder(path):
                    found[str(profile.folder)].extend(scanner.walk(patterns, path))
            elif stat := scanner.stat(patterns, path):
                found[str(profile.folder)].append(stat)
        for root, stats in found.items():
            self._enqueue(self.profiles[root], stats)

    def _rescan(self) -> None:
        for root, profile in self.profiles.items():
            if queued := self._enqueue(profile, list(scanner.walk(self._patterns[root]))):
                log.info("rescan of %s: %d new or changed files queued", profile.folder, queued)

    def _enqueue(self, profile: Profile, stats: list[FileStat]) -> int:
        """Queue new and changed files. When originals are moved or deleted after reading, a file at a
        path already read is a new drop, and is read again even when its size and mtime match."""
        again: set[FileStatus] = set()
        if profile.settings.on_success is not OnSuccess.KEEP:
            again |= {FileStatus.DONE, FileStatus.DUPLICATE}
        if profile.settings.on_failure is not OnFailure.KEEP:
            again.add(FileStatus.FAILED)
        queued = self.index.enqueue(
            str(profile.folder), stats, delay=profile.settings.settle_seconds, again=again
        )
        return len(queued)

    # Reading

    def _fill(self) -> None:
        while len(self._in_hand) < self._limit and not self._stopping.is_set():
            record = self.index.claim()
            if record is None:
                return
            self._start(record)

    def _start(self, record: FileRecord) -> None:
        started = perf_counter()
        source = Path(record.path)
        profile = self.profiles.get(record.root or "")
        if profile is None:
            reason = f"its watched folder {record.root} is no longer in the config"
            self._log(fail(self.index, source, OcrwatchError(reason), 0.0))
            return
        try:
            if moved := settle.check(record):
                self.index.defer(record.path, moved.size, moved.mtime, profile.settings.settle_seconds)
                return
            job = prepare(self.index, profile.settings, source, profile.folder)
        except OcrwatchError as error:
            self._failed(record, profile, error, started)
            return
        except Exception as error:
            self._failed(record, profile, unexpected(source, error), started)
            return
        if isinstance(job, Outcome):
            self._succeeded(profile, job)
        elif any(held.job.sha256 == job.sha256 for held in self._in_hand.values()):
            self.index.defer(record.path, job.size, job.mtime, SAME_CONTENT_WAIT)
        else:
            future = self._workers.submit(job)
            self._in_hand[future] = _InHand(record, profile, job, self._workers, started)

    def _wait(self, timeout: float) -> None:
        if not self._in_hand:
            self._stopping.wait(timeout)
            return
        done, _ = wait(self._in_hand, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            self._collect(future)

    def _collect(self, future: Future[DocumentText]) -> None:
        held = self._in_hand.pop(future)
        try:
            content = future.result()
        except BrokenProcessPool:
            error: OcrwatchError = WorkerCrashed("the OCR worker process died while reading the file")
            if held.workers is self._workers:
                log.error("an OCR worker process died; starting new workers")
                self._workers = Workers(self.settings.workers, self.settings.engine, self.settings.engines)
        except OcrwatchError as failure:
            error = failure
        except Exception as failure:
            error = unexpected(held.job.source, failure)
        else:
            self._succeeded(
                held.profile, finish(self.index, held.job, content, perf_counter() - held.started)
            )
            return
        self._failed(held.record, held.profile, error, held.started, held.job.sha256)

    # Recording

    def _succeeded(self, profile: Profile, outcome: Outcome) -> None:
        moved = after_success(profile, outcome.path)
        self._log(outcome, moved)
        self._hooks.notify(profile, outcome, moved)

    def _failed(
        self,
        record: FileRecord,
        profile: Profile,
        error: OcrwatchError,
        started: float,
        sha256: str | None = None,
    ) -> None:
        """Retry a transient failure with exponential backoff, a bounded number of times; else record it."""
        source = Path(record.path)
        if error.transient and record.attempts < self.settings.retries:
            delay = self.settings.retry_seconds * 2**record.attempts
            self.index.retry_later(record.path, str(error), delay)
            log.warning(
                "retry %s in %.0f s (attempt %d of %d): %s",
                printable(source),
                delay,
                record.attempts + 1,
                self.settings.retries + 1,
                error,
            )
            return
        outcome = fail(self.index, source, error, perf_counter() - started, sha256)
        moved = after_failure(profile, source, str(error))
        self._log(outcome, moved)
        self._hooks.notify(profile, outcome, moved)

    def _log(self, outcome: Outcome, moved: Path | None = None) -> None:
        """One line per file for journald: outcome, path, seconds, and why or where it went."""
        line = f"{outcome.status.value} {printable(outcome.path)} {outcome.seconds:.2f} s"
        if outcome.error:
            line += f": {outcome.error}"
        if moved:
            line += f" → {printable(moved)}"
        (log.warning if outcome.error else log.info)(line)

    def _finish_in_hand(self, deadline: float) -> None:
        """Give the files in hand until `deadline` to finish; queue the rest again."""
        while self._in_hand and not self._hurry.is_set() and (left := deadline - monotonic()) > 0:
            self._wait(min(TICK, left))
        if self._in_hand:
            paths = [held.job.key for held in self._in_hand.values()]
            self.index.requeue_processing(paths)
            log.warning("%d files did not finish in time and are queued again", len(paths))
            self._in_hand.clear()
            self._workers.kill()
        else:
            self._workers.close()
