"""One OCR worker process: it loads its engine, then reads one job at a time and asks before it writes.

The target of the processes `ocrwatch.watch.workers` spawns, and the messages it sends back over its
pipe. A worker reads a file's pages, then asks its parent whether it may write the outputs (the daemon
checks that the index still gives it the file's claim), and writes only on a yes. It dies with its
parent: by `PR_SET_PDEATHSIG` on Linux even in the middle of a page, and anywhere by the end of its pipe
closing, so a killed daemon leaves no worker behind to write outputs nobody will record.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ocrwatch.config import EngineSettings
from ocrwatch.engines import Engine, PageText, create_engine
from ocrwatch.errors import EngineError, OcrwatchError
from ocrwatch.monitoring.logs import like_parent
from ocrwatch.pipeline import OcrJob, read_pages, unexpected, write_job_outputs
from ocrwatch.result import DocumentText

PR_SET_PDEATHSIG = 1
"""From <linux/prctl.h>: the signal this process gets when the thread that started it exits."""


@dataclass(frozen=True, slots=True)
class Ready:
    """The engine is loaded and warmed up: the worker takes jobs."""


@dataclass(frozen=True, slots=True)
class CannotStart:
    reason: str


@dataclass(frozen=True, slots=True)
class PageOpened:
    """One more page of the job: its time limit grows."""


@dataclass(frozen=True, slots=True)
class MayWrite:
    """The job is read; the worker waits for True (write the outputs) or False (drop them)."""


@dataclass(frozen=True, slots=True)
class Done:
    content: DocumentText | None
    error: OcrwatchError | None


class _ParentGone(BaseException):
    """The parent's end of the pipe closed. Not an `Exception`: no handler for a file's errors catches it."""


class _Parent:
    """The pipe to the parent, where a closed end (the daemon stopped or died) means "exit now"."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def send(self, message: object) -> None:
        try:
            self._connection.send(message)
        except OSError:
            raise _ParentGone from None

    def recv(self) -> Any:
        try:
            return self._connection.recv()
        except (EOFError, OSError):
            raise _ParentGone from None


class _Reporting:
    """The engine, telling the parent of each page before reading it, so that its time limit grows."""

    def __init__(self, engine: Engine, parent: _Parent) -> None:
        self.name = engine.name
        self.version = engine.version
        self._engine = engine
        self._parent = parent

    def read(self, image: np.ndarray) -> PageText:
        self._parent.send(PageOpened())
        return self._engine.read(image)


def main(connection: Connection, engine: str, settings: EngineSettings, parent_pid: int) -> None:
    """Load `engine`, say whether it could, then read jobs until the parent closes the pipe."""
    _die_with_parent(parent_pid)
    # A terminal's Ctrl-C and systemd's SIGTERM reach the whole group: the daemon decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    like_parent()
    parent = _Parent(connection)
    engines: dict[str, Engine] = {}
    try:
        try:
            engines[engine] = _create(engine, settings)
        except EngineError as error:
            parent.send(CannotStart(str(error)))
            return
        parent.send(Ready())
        while True:
            if (done := _run(parent.recv(), parent, engines)) is not None:
                parent.send(done)
    except _ParentGone:
        return


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl: no signal will come
        os._exit(0)


def _run(job: OcrJob, parent: _Parent, engines: dict[str, Engine]) -> Done | None:
    """Read `job`, ask, write; None when the parent said no (it reports the job itself)."""
    try:
        engine = _Reporting(_engine(engines, job.settings.engine, job.settings.engines), parent)
        content, annotated = read_pages(job, engine)
        parent.send(MayWrite())
        if not parent.recv():
            return None
        write_job_outputs(job, content, annotated)
        return Done(content, None)
    except OcrwatchError as error:
        return Done(None, error)
    except Exception as error:  # not every exception pickles back; this one does, with its reason
        return Done(None, unexpected(job.source, error))


def _engine(engines: dict[str, Engine], name: str, settings: EngineSettings) -> Engine:
    """A folder's own engine is loaded on its first file: most workers never need it."""
    if name not in engines:
        engines[name] = _create(name, settings)
    return engines[name]


def _create(name: str, settings: EngineSettings) -> Engine:
    try:
        return create_engine(name, settings)
    except Exception as error:  # a missing language pack, damaged weights, a broken install
        raise EngineError(f"the {name} engine cannot start: {error}") from error
