"""systemd's watchdog (`WatchdogSec=`): the daemon's main loop says it is alive, or systemd restarts it.

systemd passes the interval in $WATCHDOG_USEC and the process it expects the pings from in
$WATCHDOG_PID (as sd_watchdog_enabled(3) reads them); the pings are "WATCHDOG=1" on the notify socket
(`ocrwatch.watch.notify`), sent at half the interval so that one late loop turn is not fatal. They come
only from the main loop's own thread: a loop that hangs stops pinging, and that is the point.
"""

from __future__ import annotations

import os
from time import monotonic

from ocrwatch.watch.notify import notify


class Watchdog:
    def __init__(self, interval: float | None) -> None:
        """Ping every `interval` seconds; None: systemd asked for no pings."""
        self.interval = interval
        self._next = 0.0

    @classmethod
    def from_environment(cls) -> Watchdog:
        """The watchdog systemd configured for this process, if any: $WATCHDOG_USEC, when $WATCHDOG_PID
        is unset or names this process (a child that inherited the variables must not ping)."""
        usec, pid = os.environ.get("WATCHDOG_USEC", ""), os.environ.get("WATCHDOG_PID")
        if not usec.isdigit() or int(usec) == 0 or (pid is not None and pid != str(os.getpid())):
            return cls(None)
        return cls(int(usec) / 1e6 / 2)

    def ping(self) -> None:
        """Say "WATCHDOG=1" when half the interval has passed since the last ping; cheap otherwise, so
        it may be called at every step that can take a while."""
        if self.interval is None or monotonic() < self._next:
            return
        notify("WATCHDOG=1")
        self._next = monotonic() + self.interval
