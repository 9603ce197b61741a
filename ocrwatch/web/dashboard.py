"""The page's dashboard: per watched folder its files by state and the daemons that watch it, the latest
failures and documents; and Retry, which requeues a failure as `ocrwatch retry` does.

The page polls `GET /api/dashboard` every 2 s with If-None-Match. The ETag is made from a marker read
off the files table's indexes and the (few) daemon rows, so an unchanged index costs that and a 304.
The bundle is built only when the marker changed, once for every page open on it.
"""

from __future__ import annotations

import hashlib

from ocrwatch.index import FileRecord, FileStatus, Index
from ocrwatch.index.daemons import DaemonState
from ocrwatch.index.tables import utc_now
from ocrwatch.web.problems import Refused
from ocrwatch.web.schemas import (
    DaemonOut,
    DashboardOut,
    FailureOut,
    FolderCounts,
    FolderOut,
    RecentDocumentOut,
    RetryOut,
)

FAILURES = 20
RECENT = 12


class Dashboard:
    """The bundle of the latest marker, kept so that every page polling it shares one build."""

    def __init__(self, index: Index) -> None:
        self._index = index
        self._built: tuple[str, DashboardOut] | None = None

    def etag(self) -> str:
        """Changes whenever the bundle may have: any arrival written, any daemon's row (heartbeats too)."""
        marker = repr((self._index.overview.marker(), self._index.daemons.all()))
        return f'"{hashlib.sha256(marker.encode()).hexdigest()[:32]}"'

    def bundle(self, etag: str) -> DashboardOut:
        """The bundle as of `etag` (taken before it is built, so a change meanwhile shows next time)."""
        built = self._built
        if built is None or built[0] != etag:
            built = self._built = (etag, _build(self._index))
        return built[1].model_copy(update={"now": utc_now()})


def _build(index: Index) -> DashboardOut:
    daemons = index.daemons.all()
    counts = index.overview.counts_by_folder()
    watched = {folder for daemon in daemons for folder in daemon.folders}
    folders = sorted(watched | {folder for folder in counts if folder is not None})
    if None in counts:
        folders.append(None)
    empty = dict.fromkeys(FileStatus, 0)
    return DashboardOut(
        now=utc_now(),
        folders=[
            FolderOut(
                folder=folder,
                counts=FolderCounts(**{status.value: n for status, n in counts.get(folder, empty).items()}),
                daemons=[daemon.node for daemon in daemons if folder in daemon.folders],
            )
            for folder in folders
        ],
        daemons=[_daemon(daemon) for daemon in daemons],
        failures=[failure(record) for record in index.recent_failures(FAILURES)],
        recent=[
            RecentDocumentOut(
                id=document.id,
                path=document.path,
                pages=document.pages,
                created_at=document.created_at,
                document_url=f"/api/documents/{document.id}",
                thumbnail_url=f"/api/documents/{document.id}/pages/1/thumbnail",
            )
            for document in index.overview.recent_documents(RECENT)
        ],
    )


def failure(record: FileRecord) -> FailureOut:
    return FailureOut(
        id=record.id,
        path=record.path,
        folder=record.folder,
        error=record.error,
        attempts=record.attempts,
        updated_at=record.updated_at,
        moved_to=record.moved_to,
        retry_url=None if _not_retryable(record) else f"/api/files/{record.id}/retry",
    )


def retry(index: Index, file_id: int) -> RetryOut:
    """Queue the failed arrival `file_id` again through `Queue.retry_failed`, as `ocrwatch retry PATH`
    does: a running daemon claims it as soon as it looks at the queue."""
    record = index.overview.arrival(file_id)
    if record is None:
        raise Refused(404, f"no file with id {file_id}")
    if record.status is not FileStatus.FAILED:
        raise Refused(409, f"{record.path} is {record.status.value}, not failed")
    if reason := _not_retryable(record):
        raise Refused(409, f"{record.path}: {reason}")
    latest = index.file(record.place)
    if latest is None or latest.id != record.id:
        raise Refused(409, f"{record.path} has arrived again since; that arrival is the one to retry")
    if not index.queue.retry_failed([record.place]):
        raise Refused(409, f"{record.path} is no longer failed")
    return RetryOut(id=record.id, path=record.path, status=FileStatus.QUEUED.value)


def _not_retryable(record: FileRecord) -> str | None:
    """Why the daemon could not read this failure again from the queue, if it could not."""
    if record.moved_to is not None:
        return f"the original was moved to {record.moved_to}: drop it into the folder again"
    if record.place is None:
        return "it was scanned or uploaded, not found in a watched folder: scan or upload it again"
    return None


def _daemon(daemon: DaemonState) -> DaemonOut:
    if daemon.stopped_at is not None:
        state, since = "stopped", daemon.stopped_at
    elif daemon.paused is not None:
        state, since = "paused", daemon.paused_since
    else:
        state, since = "running", None
    return DaemonOut(
        node=daemon.node,
        pid=daemon.pid,
        folders=daemon.folders,
        state=state,
        reason=daemon.paused if state == "paused" else None,
        since=since,
        started_at=daemon.started_at,
        heartbeat_at=daemon.heartbeat_at,
    )
