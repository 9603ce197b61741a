"""Waiting out an index that cannot be used for a while ("database is locked", a full disk), so that
a delivery thread never dies of it: the step is tried again until it works or the hooks stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from ocrwatch.errors import IndexUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

WAIT_SECONDS = 1.0
"""Between tries of a step the index refused."""


class Stopped(Exception):
    """The hooks stopped while the index could not be used: the step was not done, and the
    notification stays pending in the outbox for the next start."""


class Patience:
    def __init__(self, wait: float = WAIT_SECONDS) -> None:
        self.stopping = threading.Event()
        """Set at shutdown: a step still refused then is given up with `Stopped`."""
        self._wait = wait
        self._failing = False
        self._lock = threading.Lock()

    def run(self, step: Callable[[], T]) -> T:
        """`step()`, tried again every `wait` seconds while the index refuses it; logged once per outage,
        not once per thread or try."""
        while True:
            try:
                result = step()
            except IndexUnavailable as error:
                self._refused(error)
                if self.stopping.wait(self._wait):
                    raise Stopped from error
                continue
            self._answered()
            return result

    def _refused(self, error: IndexUnavailable) -> None:
        with self._lock:
            first, self._failing = not self._failing, True
        if first:
            log.warning("notifications wait: %s; trying again", error)

    def _answered(self) -> None:
        with self._lock:
            last, self._failing = self._failing, False
        if last:
            log.info("notifications go on: the index can be used again")
