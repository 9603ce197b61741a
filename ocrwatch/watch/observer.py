"""watchdog wiring: one observer per watched folder, recursive, reporting paths worth a look.

Events are only hints. The daemon re-checks every path it is told about (patterns, stat, settling)
and the periodic rescan catches whatever an observer missed, so a lost or doubled event costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ocrwatch.config import Profile

Sink = Callable[[Profile, Path], None]
"""Called from the observer's thread with a file or folder that appeared or was written."""


class _Handler(FileSystemEventHandler):
    """Files created, moved in (or renamed) and closed after writing; folders created or moved in."""

    def __init__(self, profile: Profile, sink: Sink) -> None:
        self._profile = profile
        self._sink = sink

    def on_created(self, event: DirCreatedEvent | FileCreatedEvent) -> None:
        self._report(event.src_path)

    def on_moved(self, event: DirMovedEvent | FileMovedEvent) -> None:
        self._report(event.dest_path)

    def on_closed(self, event: FileClosedEvent) -> None:
        self._report(event.src_path)

    def _report(self, path: bytes | str) -> None:
        self._sink(self._profile, Path(path.decode() if isinstance(path, bytes) else path))


_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    DirCreatedEvent,
    FileMovedEvent,
    DirMovedEvent,
    FileClosedEvent,
]


def start(profile: Profile, sink: Sink) -> BaseObserver:
    """A running observer on `profile.folder`: inotify, or polling when the profile asks for it."""
    settings = profile.settings
    observer = PollingObserver(timeout=settings.poll_seconds) if settings.polling else Observer()
    observer.schedule(_Handler(profile, sink), str(profile.folder), recursive=True, event_filter=_EVENTS)
    observer.daemon = True
    observer.start()
    return observer
