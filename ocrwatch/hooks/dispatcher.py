"""Delivers the outbox's notifications on background threads, so that a slow or dead receiver never
holds up the daemon's queue.

One thread polls the index for rows that are due (every `POLL_SECONDS`, at once on `wake`, and when a
retry this process scheduled comes due), claims them under this daemon's node name and a lease, and
hands each to a free worker thread. The claim keeps other daemons sharing the index off the row while
it is tried; the ids in flight, kept in memory, keep this daemon off it should an attempt outlast its
lease. Nothing pending lives only in memory: a row stays in the outbox until an attempt is recorded for
it, so what shutdown or a crash interrupts is made again at the next start (or by another daemon once
the lease runs out), under the same id.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable, Collection
from functools import partial
from queue import SimpleQueue
from time import monotonic

from ocrwatch.hooks.patience import Patience, Stopped
from ocrwatch.index.outbox import Notification, Outbox

log = logging.getLogger(__name__)

THREADS = 4
"""Attempts made at once; each mostly waits on a socket or a child process."""
POLL_SECONDS = 0.5
"""How often the outbox is read for rows that another process made due, or that `wake` missed."""
GRACE_SECONDS = 10.0
"""At shutdown, due notifications get this long at most, and never past the daemon's stop deadline."""


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        roots: Collection[str],
        deliver: Callable[[Notification], float | None],
        patience: Patience,
        node: str,
        lease_seconds: float,
        threads: int = THREADS,
    ) -> None:
        """`deliver` makes one attempt and records it, returning in how many seconds the next one is due,
        if any. Rows are claimed for `node` for `lease_seconds`: longer than any one attempt takes."""
        self._outbox = outbox
        self._node = node
        self._lease_seconds = lease_seconds
        self._roots = list(roots)
        self._deliver = deliver
        self._patience = patience
        self._threads = threads
        self._handed: SimpleQueue[Notification | None] = SimpleQueue()
        self._in_flight: set[int] = set()
        self._broken: set[int] = set()
        """Rows whose attempt failed of a bug: not taken again in this run, so it is logged once."""
        self._retries: list[float] = []
        """When (monotonic) the retries this process scheduled come due."""
        self._changed = threading.Condition()
        self._woken = False
        self._polls_begun = self._polls_ended = 0
        self._filled = False
        """The last poll found a row for every free thread: more may be due."""
        threading.Thread(target=self._poll, name="hooks-poll", daemon=True).start()
        for number in range(threads):
            threading.Thread(target=self._work, name=f"hooks-{number}", daemon=True).start()

    def wake(self) -> None:
        """Read the outbox now rather than at the next poll: a notification was just recorded or released."""
        with self._changed:
            self._woken = True
            self._changed.notify_all()

    def close(self, deadline: float, hurry: threading.Event | None = None) -> None:
        """Give the notifications due now until `deadline` (at most `GRACE_SECONDS`, and not after
        `hurry` is set), then stop. Nothing is dropped: what is pending stays in the outbox."""
        until = min(deadline, monotonic() + GRACE_SECONDS)
        with self._changed:
            asked = self._polls_begun
            self._woken = True
            self._changed.notify_all()
            # Done once a poll that began after this call found less than there were threads for.
            while self._polls_ended <= asked or self._in_flight or self._filled:
                left = until - monotonic()
                if left <= 0 or (hurry is not None and hurry.is_set()):
                    break
                self._changed.wait(min(left, 0.1))
            self._patience.stopping.set()
            under_way = len(self._in_flight)
            self._changed.notify_all()
        for _ in range(self._threads):
            self._handed.put(None)
        if under_way:
            log.warning(
                "%d notifications still being sent at shutdown: sent again at the next start unless they end",
                under_way,
            )
        try:
            pending = self._outbox.pending(self._roots)
        except Exception:  # the count is for the log only
            log.warning("at shutdown: cannot count the notifications not delivered yet", exc_info=True)
            return
        if pending:
            log.info("%d notifications not delivered yet stay in the outbox for the next start", pending)

    def _poll(self) -> None:
        while not self._patience.stopping.is_set():
            with self._changed:
                self._polls_begun += 1
                number = self._polls_begun
                free = self._threads - len(self._in_flight)
                skip = self._in_flight | self._broken
                now = monotonic()
                while self._retries and self._retries[0] <= now:
                    heapq.heappop(self._retries)
            found: list[Notification] = []
            if free > 0:
                try:
                    found = self._patience.run(partial(self._due, free, skip))
                except Stopped:
                    return
            with self._changed:
                for notification in found:
                    self._in_flight.add(notification.id)
                    self._handed.put(notification)
                self._filled = free > 0 and len(found) == free
                self._polls_ended = number
                self._changed.notify_all()
                if not self._woken:
                    self._changed.wait(self._timeout())
                self._woken = False

    def _due(self, limit: int, skip: Collection[int]) -> list[Notification]:
        return self._outbox.claim(self._node, self._lease_seconds, limit, roots=self._roots, skip=skip)

    def _timeout(self) -> float:
        """Until the next poll: the sooner of `POLL_SECONDS` and the next retry this process scheduled."""
        if not self._retries:
            return POLL_SECONDS
        return max(0.0, min(POLL_SECONDS, self._retries[0] - monotonic()))

    def _work(self) -> None:
        while (notification := self._handed.get()) is not None:
            if self._patience.stopping.is_set():
                continue  # handed out as the hooks stopped: it stays pending in the outbox
            due = None
            try:
                due = self._deliver(notification)
            except Stopped:
                pass  # it stays pending in the outbox
            except Exception:  # a bug must not end the thread and strand the rest
                log.exception(
                    "notification %d: unexpected error; tried again at the next start", notification.id
                )
                with self._changed:
                    self._broken.add(notification.id)
            with self._changed:
                self._in_flight.discard(notification.id)
                if due is not None:
                    heapq.heappush(self._retries, monotonic() + due)
                self._woken = True
                self._changed.notify_all()
