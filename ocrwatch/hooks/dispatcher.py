"""Delivers notifications on background threads, so that a slow or dead receiver never holds up the
daemon's queue.

Deliveries wait in one bounded heap ordered by when each is due: a retry waiting for its backoff holds
no thread, and a few threads serve every hook. Every attempt is logged on one line, the last one
saying that it gave up. The heap lives in memory: what is still pending at shutdown is logged as
dropped, and is not tried again after a restart.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic

from ocrwatch.hooks.send import Attempt

log = logging.getLogger(__name__)

THREADS = 4
"""Deliveries made at once; each mostly waits on a socket or a child process."""
CAPACITY = 1000
"""Deliveries pending at most (due, waiting to retry, or being made); more are dropped and logged."""
GRACE_SECONDS = 10.0
"""At shutdown, pending deliveries get this long at most, and never past the daemon's stop deadline."""


@dataclass(slots=True)
class Delivery:
    what: str
    """The hook and its target, for the log: `on_done webhook https://example.org/hook`."""
    subject: str
    """The file it is about, for the log."""
    send: Callable[[], Attempt]
    attempts: int = 1
    """How many attempts to make at most."""
    retry_seconds: float = 0.0
    """The wait before the first retry; doubled before each next one."""
    made: int = 0


class Dispatcher:
    def __init__(self, threads: int = THREADS, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._due: list[tuple[float, int, Delivery]] = []
        self._sending: dict[int, Delivery] = {}
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._closed = False
        for number in range(threads):
            threading.Thread(target=self._work, name=f"hooks-{number}", daemon=True).start()

    def submit(self, delivery: Delivery) -> None:
        """Queue `delivery` to be made at once; never blocks. Dropped, and logged, when the queue is full."""
        with self._changed:
            if len(self._due) + len(self._sending) >= self._capacity:
                log.error(
                    "%s for %s: dropped, %d deliveries pending",
                    delivery.what,
                    delivery.subject,
                    len(self._due) + len(self._sending),
                )
                return
            self._push(delivery, monotonic())

    def pending(self) -> int:
        """Deliveries not finished yet: due, waiting to retry, or being made."""
        with self._changed:
            return len(self._due) + len(self._sending)

    def close(self, deadline: float, hurry: threading.Event | None = None) -> None:
        """Give pending deliveries until `deadline` (at most `GRACE_SECONDS`, and not after `hurry`
        is set), then stop the threads and log each delivery that was dropped."""
        until = min(deadline, monotonic() + GRACE_SECONDS)
        with self._changed:
            while self._due or self._sending:
                left = until - monotonic()
                if left <= 0 or (hurry is not None and hurry.is_set()):
                    break
                self._changed.wait(min(left, 0.1))
            self._closed = True
            dropped = [delivery for _, _, delivery in sorted(self._due)]
            unfinished = list(self._sending.values())
            self._due.clear()
            self._changed.notify_all()
        for delivery in dropped:
            log.warning(
                "%s for %s: dropped at shutdown after %d of %d attempts, not delivered",
                delivery.what,
                delivery.subject,
                delivery.made,
                delivery.attempts,
            )
        for delivery in unfinished:
            log.warning("%s for %s: still being made at shutdown, abandoned", delivery.what, delivery.subject)

    def _push(self, delivery: Delivery, due: float) -> None:
        heapq.heappush(self._due, (due, next(self._order), delivery))
        self._changed.notify_all()

    def _work(self) -> None:
        while (taken := self._take()) is not None:
            number, delivery = taken
            try:
                attempt = delivery.send()
            except Exception as error:  # a bug here must not end the thread and strand the rest
                log.exception("%s for %s: unexpected error", delivery.what, delivery.subject)
                attempt = Attempt(False, False, f"unexpected error: {error}")
            delivery.made += 1
            retry_in = self._report(delivery, attempt)
            with self._changed:
                del self._sending[number]
                if retry_in is not None and not self._closed:
                    self._push(delivery, monotonic() + retry_in)
                self._changed.notify_all()

    def _take(self) -> tuple[int, Delivery] | None:
        """The next delivery that is due, once it is; None when closed."""
        with self._changed:
            while not self._closed:
                now = monotonic()
                if self._due and self._due[0][0] <= now:
                    _, number, delivery = heapq.heappop(self._due)
                    self._sending[number] = delivery
                    return number, delivery
                self._changed.wait(self._due[0][0] - now if self._due else None)
            return None

    @staticmethod
    def _report(delivery: Delivery, attempt: Attempt) -> float | None:
        """Log the attempt on one line; return the seconds until the next one, if there is to be one."""
        where = f"{delivery.what} for {delivery.subject}: {attempt.detail}"
        count = f" (attempt {delivery.made} of {delivery.attempts})" if delivery.attempts > 1 else ""
        if attempt.ok:
            log.info("%s%s", where, count)
            return None
        if attempt.retry and delivery.made < delivery.attempts:
            delay = delivery.retry_seconds * 2 ** (delivery.made - 1) * random.uniform(0.8, 1.2)
            log.warning("%s%s; retry in %.1f s", where, count, delay)
            return delay
        log.error("%s%s; %s", where, count, "gave up" if attempt.retry else "not retried")
        return None
