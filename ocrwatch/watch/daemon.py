"""`ocrwatch run`: the main loop that ties observers, settling, the queue and the workers together.

This process is the database's one writer: it turns events and rescans into queued arrivals, claims
them (which reserves their output names), settles and hashes them, hands the reading to the worker
processes (`workers.py`), records what comes back, and applies the after-actions. Each outcome and
its notifications are one transaction; an outcome with an after-action is marked until the action
is done, so a crash anywhere leaves either the claim (read again after a restart) or the outcome
(never read again), never both and never neither.

Several daemons (on one host or several) may share the index and its folders. Each is a node, and
each claim a lease (`index/leases.py`) that this loop renews for every file in hand every third of
`lease_seconds`; a daemon that dies or is cut off loses its files to the others once its leases run
out, and whatever it still tries to record is refused. At start-up it takes back only its own claims.

A fault outside the files (a full disk, a locked or unreachable index) pauses the queue
(`pause.py`): nothing is claimed, nothing fails, and what could not be recorded waits in memory
until the fault clears. SIGTERM or SIGINT stops claiming, lets the files in hand finish within
`stop_timeout_seconds` and puts the rest back in the queue.

Under systemd's watchdog every turn of the loop pings it (`monitoring/watchdog.py`), and so do the
steps within a turn that can take a while (a rescan, hashing files, recording results while the
index is locked: each wait is bounded by its busy timeout). A pause is no exception: the loop turns
on, probing. Only a loop that hangs stops pinging, and systemd restarts it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from queue import Empty, SimpleQueue
from time import monotonic, perf_counter

from ocrwatch.config import OnFailure, OnSuccess, Profile, Settings
from ocrwatch.engines import ENGINES
from ocrwatch.errors import ClaimLost, ConfigError, Fault, IndexUnavailable, NoSpace, OcrwatchError
from ocrwatch.hooks import Hooks
from ocrwatch.index import FileRecord, FileStat, FileStatus, Index, Node, Notice
from ocrwatch.monitoring.watchdog import Watchdog
from ocrwatch.outputs.atomic import remove_leftovers
from ocrwatch.pipeline import NoticeFor, OcrJob, Outcome, Status, fail, finish, prepare, unexpected
from ocrwatch.places import Places
from ocrwatch.watch import observer, printable, scanner, settle
from ocrwatch.watch.after import after_failure, after_success, has_after_action
from ocrwatch.watch.links import readable_target
from ocrwatch.watch.nodes import gone_from_this_host, node_name
from ocrwatch.watch.notify import notify
from ocrwatch.watch.patterns import Patterns
from ocrwatch.watch.pause import Pause
from ocrwatch.watch.workers import Finished, Workers

log = logging.getLogger("ocrwatch")

TICK = 0.2
"""Seconds the loop waits for a result or an event before it looks at the queue again."""
SAME_CONTENT_WAIT = 1.0
"""A copy of content being read right now waits this long, then is recorded as a duplicate."""
HEARTBEAT_SECONDS = 10.0
"""How often, at most, the daemon's row in the index says it is alive (and whether it is paused); more
often when a third of `lease_seconds` is shorter, because the leases are renewed at the same time."""
AFTER_ACTIONS_SECONDS = 5.0
"""How often after-actions that failed (a move to a full disk) are looked for, to be tried again."""


class Daemon:
    def __init__(self, settings: Settings, index: Index) -> None:
        self.settings = settings
        self.index = index
        self.profiles = {profile.name: profile for profile in settings.profiles()}
        """By the folders' names, as the index knows them."""
        self._patterns = {name: Patterns(profile) for name, profile in self.profiles.items()}
        self._events: SimpleQueue[tuple[Profile, Path]] = SimpleQueue()
        self._stopping = threading.Event()
        self._hurry = threading.Event()
        self._started: dict[int, float] = {}
        """Arrival id → when its reading began, for the arrivals in the workers."""
        self._backlog: list[Callable[[], None]] = []
        """Records the index could not take while it was unavailable, in order, to write once it is."""
        name = node_name(settings.node)
        self.node = Node(name, Places(self.profiles.values()).roots, settings.lease_seconds)
        self._keep_alive_seconds = min(HEARTBEAT_SECONDS, settings.lease_seconds / 3)
        self._stop_signal = "an error"
        self._pause = Pause(index, name)
        self._watchdog = Watchdog.from_environment()

    def run(self) -> None:
        """Watch until SIGTERM or SIGINT; raises `ConfigError` when the folders cannot be watched and
        `EngineError` when the engine cannot start, before systemd is told the service is ready."""
        self._check()
        self._remove_leftovers()
        self._take_back()  # before the hooks start claiming: it frees every claim this node's name holds
        self._hooks = Hooks(self.index, self.profiles.values(), node=self.node.name)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self._workers = Workers(
            self.settings.workers, self.settings.engine, self.settings.engines, may_write=self._may_write
        )
        self.index.daemons.register(
            self.node.name,
            socket.gethostname(),
            os.getpid(),
            list(self.profiles),
            self.settings.lease_seconds,
        )
        # Observers first, then the catch-up walk: a file dropped in between is seen by one or both.
        observers = [observer.start(profile, self._on_event) for profile in self.profiles.values()]
        notify("READY=1", f"STATUS=watching {len(observers)} folders")
        log.info(
            "watching %s with %d workers as %s",
            ", ".join(str(profile.folder) for profile in self.profiles.values()),
            self.settings.workers,
            self.node.name,
        )
        try:
            self._loop()
        finally:
            # Counted here, not in the signal handler: a file being started at the signal is in hand too.
            log.info("stopping on %s: %d files in hand", self._stop_signal, len(self._started))
            notify("STOPPING=1")
            for running in observers:
                running.stop()
            self._finish_in_hand(monotonic() + self.settings.stop_timeout_seconds)
            self._hooks.close(monotonic() + self.settings.stop_timeout_seconds, self._hurry)
            self._safely(lambda: self.index.daemons.stopped(self.node.name))
            if self._backlog:
                log.warning(
                    "%d records could not be written to the index; their files are read again next start",
                    len(self._backlog),
                )

    def _take_back(self) -> None:
        """Queue again what this node held before it stopped or crashed, and what the unnamed daemons of
        this host that are gone held (`nodes.py`); every other daemon's files come back by their leases."""
        gone = gone_from_this_host(self.index.daemons.all(), self.node.name)
        requeued = sum(self.index.leases.release(node) for node in [self.node.name, *gone])
        for node in gone:
            self.index.daemons.forget(node)
        if requeued:
            log.info("%d files an earlier run held are queued again", requeued)

    def _loop(self) -> None:
        next_rescan = next_heartbeat = next_after = monotonic()
        while not self._stopping.is_set():
            self._watchdog.ping()
            try:
                if self._pause.probe_due() and self._pause.probe():
                    next_rescan = monotonic()  # events taken while paused may not have been queued
                    notify("STATUS=watching")
                if not self._pause.active:
                    self._write_backlog()
                    self._take_events()
                    if monotonic() >= next_rescan:
                        self._rescan()
                        next_rescan = monotonic() + self.settings.rescan_seconds
                    if monotonic() >= next_after:
                        self._after_actions_due()
                        next_after = monotonic() + AFTER_ACTIONS_SECONDS
                    self._fill()
                # Paused on a full disk, the leases of the files in hand are kept; with the index
                # unavailable, its probe is what writes to it.
                if monotonic() >= next_heartbeat and not isinstance(self._pause.fault, IndexUnavailable):
                    self._keep_alive()
                    next_heartbeat = monotonic() + self._keep_alive_seconds
            except Fault as fault:
                self._paused(fault)
            for finished in self._workers.wait(TICK):
                self._watchdog.ping()  # each record may wait out the index's busy timeout
                self._collect(finished)

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
        self._stop_signal = signal.Signals(signum).name
        self._stopping.set()

    def _remove_leftovers(self) -> None:
        """The temporary files of writes that a crash interrupted, in every folder this daemon writes."""
        folders = {folder for profile in self.profiles.values() for folder in profile.own_folders}
        if removed := sum(remove_leftovers(folder) for folder in folders):
            log.info("removed %d temporary files of writes a crash interrupted", removed)

    # Faults

    def _paused(self, fault: Fault) -> None:
        self._pause.begin(fault)
        notify(f"STATUS=paused: {fault}")
        if not isinstance(fault, IndexUnavailable):  # for `ocrwatch status`; the index is there to say it
            self._safely(self._heartbeat)

    def _heartbeat(self) -> None:
        self.index.daemons.heartbeat(self.node.name, self._pause.reason)

    def _keep_alive(self, seconds: float | None = None) -> None:
        """The heartbeat, and the leases of every file in hand renewed for `seconds` (default: a lease)."""
        self._heartbeat()
        tokens = [job.record.claim_token for job in self._workers.in_hand() if job.record.claim_token]
        self.index.leases.renew(tokens, seconds or self.settings.lease_seconds)

    def _safely(self, write: Callable[[], None]) -> None:
        """Run `write`; when the index is unavailable, keep it for when it is back, and pause. A claim
        that was lost meanwhile (the file was put back in the queue) drops the write."""
        try:
            write()
        except IndexUnavailable as fault:
            self._backlog.append(write)
            self._paused(fault)
        except ClaimLost as lost:
            log.info("%s; not recorded", lost)

    def _write_backlog(self) -> None:
        while self._backlog:
            self._backlog[0]()  # raises IndexUnavailable while the index is still unavailable
            self._backlog.pop(0)

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
            patterns = self._patterns[profile.name]
            if path.is_dir():
                if patterns.wants_folder(path):
                    found[profile.name].extend(scanner.walk(patterns, path))
            elif stat := scanner.stat(patterns, path):
                found[profile.name].append(stat)
        for name, stats in found.items():
            self._enqueue(self.profiles[name], stats)

    def _rescan(self) -> None:
        for name, profile in self.profiles.items():
            self._watchdog.ping()  # a walk of a large folder (over NFS) takes a while
            if queued := self._enqueue(profile, list(scanner.walk(self._patterns[name]))):
                log.info("rescan of %s: %d new or changed files queued", profile.folder, queued)

    def _enqueue(self, profile: Profile, stats: list[FileStat]) -> int:
        """Queue new arrivals and changed files. When originals are moved or deleted after reading, a
        file at a path already read is a new drop, even when its size and mtime match."""
        again: set[FileStatus] = set()
        if profile.settings.on_success is not OnSuccess.KEEP:
            again |= {FileStatus.DONE, FileStatus.DUPLICATE}
        if profile.settings.on_failure is not OnFailure.KEEP:
            again.add(FileStatus.FAILED)
        queued = self.index.queue.enqueue(
            profile.name, str(profile.folder), stats, delay=profile.settings.settle_seconds, again=again
        )
        return len(queued)

    # Reading

    def _fill(self) -> None:
        while self._workers.free() > 0 and not self._stopping.is_set() and not self._pause.active:
            self._watchdog.ping()  # each file is hashed here, a large one for seconds
            record = self.index.queue.claim(self.node)
            if record is None:
                return
            self._start(record)

    def _start(self, record: FileRecord) -> None:
        started = perf_counter()
        source = Path(record.path)
        profile = self._profile(record)
        try:
            readable_target(source, profile.folder, profile.settings.follow_symlinks)
            if moved := settle.check(record):
                self.index.queue.defer(record, moved.size, moved.mtime, profile.settings.settle_seconds)
                return
            job = prepare(self.index, profile.settings, record, source, self._notice(profile))
        except Fault as fault:
            self._safely(lambda: self.index.queue.put_back(record))
            self._paused(fault)
            return
        except OcrwatchError as error:
            self._failed(record, profile, error, started)
            return
        except Exception as error:
            self._failed(record, profile, unexpected(source, error), started)
            return
        if isinstance(job, Outcome):
            if job.status is Status.DUPLICATE:
                self._after(profile, job)
            else:
                self._log(profile, job)  # skipped: the file its path's previous arrival recorded, touched
        elif any(held.sha256 == job.sha256 for held in self._workers.in_hand()):
            self.index.queue.defer(record, job.size, job.mtime, SAME_CONTENT_WAIT)
        else:
            self._workers.submit(job)
            self._started[record.id] = started

    def _may_write(self, job: OcrJob) -> bool:
        """Asked by a worker before it writes outputs: only while the arrival still holds its claim and
        the claim's lease still runs."""
        try:
            return self.index.leases.holds(job.record.id, job.record.claim_token)
        except IndexUnavailable as fault:
            self._paused(fault)
            return False  # the worker drops the result; the file is read again once the index is back

    def _collect(self, finished: Finished) -> None:
        job = finished.job
        record, profile = job.record, self._profile(job.record)
        started = self._started.pop(record.id, perf_counter())
        if finished.content is not None:
            content = finished.content
            notice = self._notice(profile)

            def record_done() -> None:
                outcome = finish(self.index, job, content, perf_counter() - started, notice)
                self._after(profile, outcome)

            self._safely(record_done)
            return
        error = finished.error or unexpected(job.source, RuntimeError("a worker returned nothing"))
        self._safely(lambda: self._failed(record, profile, error, started, job.sha256))

    # Recording

    def _notice(self, profile: Profile) -> NoticeFor:
        def notice(status: Status) -> Notice:
            failed = status is Status.FAILED
            event = "on_failed" if failed else "on_done"
            return Notice(event, self._hooks.targets(profile, event), has_after_action(profile, failed))

        return notice

    def _failed(
        self,
        record: FileRecord,
        profile: Profile,
        error: OcrwatchError,
        started: float,
        sha256: str | None = None,
    ) -> None:
        """A fault pauses the queue; a transient failure is retried with exponential backoff, a bounded
        number of times; anything else is the file's own failure, recorded with its reason."""
        if isinstance(error, ClaimLost):
            log.info("%s: %s; not recorded", printable(Path(record.path)), error)
            return
        if isinstance(error, Fault):
            self.index.queue.put_back(record)
            self._paused(error)
            return
        if error.transient and record.attempts < self.settings.retries:
            delay = self.settings.retry_seconds * 2**record.attempts
            self.index.queue.retry_later(record, str(error), delay)
            log.warning(
                "retry %s in %.0f s (attempt %d of %d): %s",
                printable(Path(record.path)),
                delay,
                record.attempts + 1,
                self.settings.retries + 1,
                error,
                extra={"path": record.path, "folder": record.root, "attempt": record.attempts + 1},
            )
            return
        outcome = fail(self.index, record, error, perf_counter() - started, self._notice(profile), sha256)
        self._after(profile, outcome)

    def _after(self, profile: Profile, outcome: Outcome) -> None:
        """Apply the folder's after-action to a recorded outcome, record where the original went (which
        releases the outcome's notifications) and log the outcome's line."""
        assert outcome.record is not None
        failed = outcome.status is Status.FAILED
        moved = None
        if has_after_action(profile, failed):
            moved = self._apply_after_action(profile, outcome.record, failed, outcome.error)
        self._log(profile, outcome, moved)
        self._hooks.wake()

    def _after_actions_due(self) -> None:
        """Try again the after-actions that failed, and those a crash interrupted."""
        for record in self.index.queue.claim_after_actions(self.node):
            profile = self._profile(record)
            failed = record.status is FileStatus.FAILED
            moved = self._apply_after_action(profile, record, failed, record.error)
            if moved is not None:
                log.info("%s → %s", printable(Path(record.path)), printable(moved))
            self._hooks.wake()

    def _apply_after_action(
        self, profile: Profile, record: FileRecord, failed: bool, reason: str | None
    ) -> Path | None:
        """Move or delete the original; on failure record why and when to try again (or that it gave up,
        keeping the original in place). A full disk also pauses the queue."""
        source = Path(record.path)
        try:
            moved = after_failure(profile, source, reason or "") if failed else after_success(profile, source)
        except (OSError, NoSpace) as error:
            problem = f"cannot {'move' if failed else profile.settings.on_success.value} it: {error}"
            attempts = record.after_attempts
            retry = None if attempts >= self.settings.retries else self.settings.retry_seconds * 2**attempts
            self._safely(lambda: self.index.record_after_failure(record, problem, retry))
            if retry is None:
                log.error("%s: %s; gave up, the original stays where it is", printable(source), problem)
            elif attempts == 0:
                log.warning("%s: %s; will try again", printable(source), problem)
            if isinstance(error, NoSpace):
                self._paused(error)
            return None
        self._safely(lambda: self.index.record_after_action(record, None if moved is None else str(moved)))
        return moved

    def _log(self, profile: Profile, outcome: Outcome, moved: Path | None = None) -> None:
        """One line per file for journald: outcome, path, seconds, and why or where it went; the same
        as fields of their own for `--log-format json`."""
        line = f"{outcome.status.value} {printable(outcome.path)} {outcome.seconds:.2f} s"
        fields: dict[str, object] = {
            "status": outcome.status.value,
            "path": str(outcome.path),
            "folder": str(profile.folder),
            "seconds": round(outcome.seconds, 3),
        }
        if outcome.status is Status.DONE:
            fields |= {"engine": profile.settings.engine, "pages": outcome.pages}
        if outcome.error:
            line += f": {outcome.error}"
            fields["error"] = outcome.error
        if moved:
            line += f" → {printable(moved)}"
            fields["moved_to"] = str(moved)
        (log.warning if outcome.error else log.info)(line, extra=fields)

    def _profile(self, record: FileRecord) -> Profile:
        """The watched folder of a claimed arrival (a claim takes only files of the folders watched here)."""
        return self.profiles[record.folder or ""]

    def _finish_in_hand(self, deadline: float) -> None:
        """Give the files being read until `deadline` to finish; queue the rest again. Their leases are
        renewed first to outlast the wait, which no renewal interrupts."""
        self._safely(lambda: self._keep_alive(self.settings.lease_seconds + max(0.0, deadline - monotonic())))
        finished, unstarted, cut_off = self._workers.close(deadline, self._hurry)
        for result in finished:
            self._collect(result)
        ids = [job.record.id for job in unstarted + cut_off]
        if ids:

            def requeue() -> None:
                self.index.leases.release(self.node.name, ids)

            self._safely(requeue)
        if unstarted:
            log.info("%d files not begun yet are queued again", len(unstarted))
        if cut_off:
            log.warning("%d files did not finish in time and are queued again", len(cut_off))
