"""The queue's pause on a fault outside the files: a full disk or quota, a locked or unreachable index.

A fault is logged once, when the pause begins. While paused the daemon claims nothing; the files
stay queued. It probes the place that failed (a small write to the full folder, a write to the
index) after a wait that doubles from `FIRST_WAIT` to `LONGEST_WAIT`, and resumes by itself, with a
log line, as soon as a probe succeeds.
"""

from __future__ import annotations

import logging
import os
import secrets
from contextlib import suppress
from time import monotonic

from ocrwatch.errors import Fault, NoSpace
from ocrwatch.index import Index

log = logging.getLogger("ocrwatch")

FIRST_WAIT = 1.0
LONGEST_WAIT = 60.0
PROBE_BYTES = 1 << 20
"""A probe of a full folder writes this much: room for one small file's outputs, at least."""


class Pause:
    def __init__(self, index: Index, node: str) -> None:
        self._index = index
        self._node = node
        self.fault: Fault | None = None
        self._started = 0.0
        self._wait = FIRST_WAIT
        self._next_probe = 0.0

    @property
    def active(self) -> bool:
        return self.fault is not None

    @property
    def reason(self) -> str | None:
        return None if self.fault is None else str(self.fault)

    def begin(self, fault: Fault) -> None:
        """Pause on `fault`, or, when paused already, wait longer before the next probe."""
        if self.fault is None:
            self._started = monotonic()
            self._wait = FIRST_WAIT
            log.warning("paused: %s; every file stays queued until this clears", fault)
        else:
            self._wait = min(self._wait * 2, LONGEST_WAIT)
        self.fault = fault
        self._next_probe = monotonic() + self._wait

    def probe_due(self) -> bool:
        return self.fault is not None and monotonic() >= self._next_probe

    def probe(self) -> bool:
        """Try the place that failed; resume (True) when it works again, else wait longer."""
        assert self.fault is not None
        try:
            if isinstance(self.fault, NoSpace):
                _probe_folder(self.fault)
            self._index.daemons.heartbeat(self._node, None)
        except Fault as still:
            self.begin(still)
            return False
        log.info("resumed after %.0f s: %s no more", monotonic() - self._started, self.fault)
        self.fault = None
        return True


def _probe_folder(fault: NoSpace) -> None:
    """Write and remove `PROBE_BYTES` in the folder that was full; raises `NoSpace` while it still is."""
    probe = fault.where / f".ocrwatch-probe.{secrets.token_hex(4)}.tmp"
    try:
        fault.where.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as file:
            file.write(b"\0" * PROBE_BYTES)
            file.flush()
            os.fsync(file.fileno())
    except OSError as error:
        raise NoSpace(str(fault), fault.where) from error
    finally:
        with suppress(OSError):
            probe.unlink()
