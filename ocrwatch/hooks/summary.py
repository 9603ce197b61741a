"""The JSON summary of one finished file, which webhooks receive as their body and commands on stdin.

Built from the outbox row and the file row it points at (`Notification`), at the first delivery
attempt, once the after-action is done: `moved_to` says where the original went. The body is then
stored in the outbox, so every retry, in this run or after a restart, sends the same bytes.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from ocrwatch.config import Profile
from ocrwatch.index import FileStatus
from ocrwatch.index.outbox import Notification
from ocrwatch.outputs import OutputPaths


def summarize(profile: Profile, notification: Notification) -> dict[str, Any]:
    """The file's summary: what happened, where the original and its outputs are, and how long it took.

    `id` is the outbox row's: the same on every retry, so a receiver can drop repeats. `seconds` is the
    reading's time as the documents table keeps it (`ocr_seconds`), so it is given only for a file that
    was read (`done`); a duplicate or a failure has null. `timestamp` is when the outcome was recorded.
    """
    failed = notification.event == "on_failed"
    stem = None if failed else _stem(notification)
    pages = None if failed else notification.pages
    read = not failed and notification.status == FileStatus.DONE
    seconds = notification.ocr_seconds if read else None
    recorded = notification.created_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "id": str(notification.id),
        "event": "failed" if failed else "done",
        "status": notification.status,
        "profile": profile.name,
        "folder": str(profile.folder),
        "source": notification.path,
        "moved_to": notification.moved_to,
        "sha256": notification.sha256,
        "document_id": None if failed else notification.document_id,
        "pages": pages,
        "outputs": _outputs(OutputPaths(profile.settings.output, stem), pages or 0) if stem else {},
        "seconds": None if seconds is None else round(seconds, 3),
        "engine": (None if failed else notification.engine) or profile.settings.engine,
        "error": notification.error,
        "timestamp": recorded,
    }


def _stem(notification: Notification) -> str | None:
    """A file read under its own name has its outputs there; a duplicate's are its document's."""
    if notification.status == FileStatus.DONE and notification.output_stem:
        return notification.output_stem
    return notification.document_stem


def _outputs(paths: OutputPaths, pages: int) -> dict[str, Any]:
    """The output files that exist: a duplicate's are those its content was first read into, which
    another watched folder may have written elsewhere."""
    named = {"text": paths.text, "json": paths.json, "pdf": paths.pdf, "hocr": paths.hocr, "alto": paths.alto}
    found: dict[str, Any] = {kind: str(path) for kind, path in named.items() if path.exists()}
    annotated = (paths.annotated(page) for page in range(1, pages + 1))
    found["annotated"] = [str(path) for path in annotated if path.exists()]
    return found
