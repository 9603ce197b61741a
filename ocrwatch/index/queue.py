"""The durable queue in the `files` table: arrivals wait as `queued`, a claim makes one `processing`
under a lease (`leases.py`) and reserves its output name, and `Index.record_*` finishes it.

A daemon's file is named by its watched folder's name and its path inside (`Place`), so daemons on
hosts that mount a share at different paths agree about it; each claim maps it back to the claiming
host's own path. Every arrival is its own row. A file found at a place whose latest row is finished
(done, a duplicate, or failed and moved away) is a new arrival: a new row, so the earlier row keeps
its document, its outputs and its place in search. Every step is one write transaction, stamped with
the database's clock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, delete, func, insert, or_, select, text, update

from ocrwatch.index import dialects
from ocrwatch.index.leases import NO_CLAIM, lapsed, lease, new_token
from ocrwatch.index.records import FileRecord, FileStat, FileStatus, Node, Place, file_record
from ocrwatch.index.stems import reserve_stem
from ocrwatch.index.tables import OPEN_ROWS, files

_CHUNK = 500
"""Files per statement: well under SQLite's limit on bound parameters."""

_FINISHED = (FileStatus.DONE, FileStatus.DUPLICATE, FileStatus.FAILED)
_AFTER_ACTIONS = 100
"""After-actions claimed at a time."""


class Queue:
    def __init__(self, engine: Engine, writer: Engine) -> None:
        self._engine = engine
        self._writer = writer

    def enqueue(
        self,
        folder: str,
        root: str,
        found: Sequence[FileStat],
        *,
        delay: float,
        again: Collection[FileStatus] = (),
    ) -> list[str]:
        """Queue each file in `found` (under `root`, this host's path of the watched folder `folder`) that
        is new, changed since it was seen, or whose latest row is in a status in `again` (a file dropped
        again after its original was moved away); return their paths.

        Each waits `delay` seconds (settling) before it can be claimed. Files queued or in hand (by any
        daemon), and files whose after-action is still to be done, are left as they are. Two daemons
        that find a new file at once queue it once: the second insert meets the open row of the first.
        """
        queued: list[str] = []
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            ready = now + timedelta(seconds=delay)
            for start in range(0, len(found), _CHUNK):
                chunk = {
                    PurePath(stat.path).relative_to(root).as_posix(): stat
                    for stat in found[start : start + _CHUNK]
                }
                latest = _latest_in(connection, folder, list(chunk))
                arrivals: dict[str, FileStat] = {}
                for relpath, stat in chunk.items():
                    row = latest.get(relpath)
                    if row is not None and not _arrived_again(row, stat, again):
                        continue
                    if row is not None and row.status is FileStatus.FAILED and row.moved_to is None:
                        # The same file, failed and still in place, changed since: try it again.
                        if _queue_again(connection, row, stat, root, ready, now):
                            queued.append(stat.path)
                    else:
                        arrivals[relpath] = stat
                if arrivals:
                    queued += _insert_arrivals(connection, folder, root, arrivals, ready, now)
        return queued

    def claim(self, node: Node) -> FileRecord | None:
        """Take for `node` the oldest arrival of its folders that is queued and due, or in hand under a
        lease that ran out (its daemon died or was cut off); mark it `processing` under a new claim and
        lease, and reserve its output name, in one transaction. Rows locked by another claim are skipped
        (FOR UPDATE SKIP LOCKED where the database has it; SQLite serialises writers anyway)."""
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            waiting = and_(
                files.c.status == FileStatus.QUEUED,
                or_(files.c.next_attempt_at.is_(None), files.c.next_attempt_at <= now),
            )
            abandoned = and_(files.c.status == FileStatus.PROCESSING, lapsed(now))
            due = (
                select(files.c.id)
                .where(files.c.folder.in_(list(node.roots)), or_(waiting, abandoned))
                .order_by(files.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            row = connection.execute(
                update(files)
                .where(files.c.id == due)
                .values(status=FileStatus.PROCESSING, updated_at=now, **lease(node, now))
                .returning(*files.c)
            ).first()
            if row is None:
                return None
            values = _here(node, row)
            if row.output_stem is None:
                values["output_stem"] = reserve_stem(connection, row.relpath)
            connection.execute(update(files).where(files.c.id == row.id).values(**values))
        return file_record(row, **values)

    def claim_after_actions(self, node: Node) -> list[FileRecord]:
        """Claim for `node` the arrivals of its folders whose after-action (move, delete) is due: one that
        failed and waits to be tried again, or one whose daemon died before doing it (its lease ran out).
        One claim for them all: the row's id and the token name each claim."""
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            due = (
                select(files.c.id)
                .where(
                    files.c.after_due.is_not(None),
                    files.c.after_due <= now,
                    files.c.folder.in_(list(node.roots)),
                    or_(files.c.claim_token.is_(None), lapsed(now)),
                )
                .order_by(files.c.after_due)
                .limit(_AFTER_ACTIONS)
                .with_for_update(skip_locked=True)
            )
            rows = connection.execute(
                update(files).where(files.c.id.in_(due)).values(**lease(node, now)).returning(*files.c)
            ).all()
            claimed = []
            for row in rows:
                values = _here(node, row)
                connection.execute(update(files).where(files.c.id == row.id).values(**values))
                claimed.append(file_record(row, **values))
        return sorted(claimed, key=lambda record: (record.after_due, record.id))

    def claim_path(self, path: str, size: int, mtime: float, stem: str) -> FileRecord:
        """`ocrwatch scan`'s claim: a new arrival at `path` (or its latest row, when that is not
        finished), marked `processing`, with an output name reserved from `stem`. It has no lease: the
        scan holds it in its one process."""
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            row = _latest(connection, [path]).get(path)
            values = {
                "size": size,
                "mtime": mtime,
                "status": FileStatus.PROCESSING,
                "claim_token": new_token(),
            }
            if row is not None and row.status not in _FINISHED:
                connection.execute(update(files).where(files.c.id == row.id).values(updated_at=now, **values))
                row_id, reserved = row.id, row.output_stem
            else:
                row_id = connection.scalar(
                    insert(files)
                    .values(path=path, created_at=now, updated_at=now, **values)
                    .returning(files.c.id)
                )
                reserved = None
            if reserved is None:
                reserved = reserve_stem(connection, stem)
                connection.execute(update(files).where(files.c.id == row_id).values(output_stem=reserved))
            claimed = connection.execute(select(files).where(files.c.id == row_id)).one()
        return file_record(claimed)

    def reclaim(self, previous: FileRecord, record: FileRecord) -> FileRecord:
        """`ocrwatch scan --force` of a file that `previous` recorded: the new arrival `record` is dropped
        and `previous` is claimed instead, keeping its output name, so the file is read into it again."""
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            connection.execute(
                delete(files).where(files.c.id == record.id, files.c.claim_token == record.claim_token)
            )
            row = connection.execute(
                update(files)
                .where(files.c.id == previous.id)
                .values(status=FileStatus.PROCESSING, claim_token=new_token(), updated_at=now)
                .returning(*files.c)
            ).one()
        return file_record(row)

    def defer(self, record: FileRecord, size: int, mtime: float, seconds: float) -> None:
        """Put a claimed arrival back, still changing: claimed again once it held still for `seconds`."""
        self._requeue(record, seconds, size=size, mtime=mtime)

    def retry_later(self, record: FileRecord, error: str, seconds: float) -> None:
        """A transient failure: queue the arrival again in `seconds`, counting the attempt, keeping why."""
        self._requeue(record, seconds, error=error, attempts=files.c.attempts + 1)

    def put_back(self, record: FileRecord) -> None:
        """A fault outside the file (a full disk, the database): queue it again, no attempt counted."""
        self._requeue(record, 0.0)

    def _requeue(self, record: FileRecord, seconds: float, **values: object) -> None:
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            connection.execute(
                update(files)
                .where(files.c.id == record.id, files.c.claim_token == record.claim_token)
                .values(
                    status=FileStatus.QUEUED,
                    next_attempt_at=now + timedelta(seconds=seconds),
                    updated_at=now,
                    **NO_CLAIM,
                    **values,
                )
            )

    def retry_failed(self, targets: Collection[Place | str] | None = None) -> list[FileRecord]:
        """`ocrwatch retry`: queue failed arrivals again, attempts reset: the latest at each of `targets`
        (a daemon's file by its place, a scanned one by its path), or every one whose original is still
        where it was found. Returns them as they were."""
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            if targets is None:
                rows = connection.execute(
                    select(files).where(files.c.status == FileStatus.FAILED, files.c.moved_to.is_(None))
                )
                chosen = [file_record(row) for row in rows]
            else:
                chosen = [
                    row
                    for target in targets
                    if (row := _latest_at(connection, target)) is not None and row.status is FileStatus.FAILED
                ]
            for row in chosen:
                connection.execute(
                    update(files)
                    .where(files.c.id == row.id)
                    .values(status=FileStatus.QUEUED, attempts=0, next_attempt_at=None, updated_at=now)
                )
        return chosen

    def in_processing(self) -> list[FileRecord]:
        """Arrivals in hand, oldest claim first."""
        query = select(files).where(files.c.status == FileStatus.PROCESSING).order_by(files.c.updated_at)
        with self._engine.connect() as connection:
            return [file_record(row) for row in connection.execute(query)]

    def oldest_queued(self) -> datetime | None:
        """When the arrival that has waited longest in the queue was queued."""
        query = select(func.min(files.c.created_at)).where(files.c.status == FileStatus.QUEUED)
        with self._engine.connect() as connection:
            return connection.scalar(query)

    def waiting_to_retry(self) -> int:
        """Queued arrivals that failed at least once and wait for their next attempt."""
        query = select(func.count()).where(and_(files.c.status == FileStatus.QUEUED, files.c.attempts > 0))
        with self._engine.connect() as connection:
            return connection.scalar(query) or 0


def _here(node: Node, row: Row[Any]) -> dict[str, Any]:
    """The claimed row's path and folder as `node`'s host sees them: what it reads and moves."""
    root = node.roots[row.folder]
    return {"path": str(PurePath(root, *PurePath(row.relpath).parts)), "root": root}


def _insert_arrivals(
    connection: Connection,
    folder: str,
    root: str,
    arrivals: Mapping[str, FileStat],
    ready: datetime,
    now: datetime,
) -> list[str]:
    """Insert new arrivals; a file another daemon queued a moment ago is left to its row. Returns the
    paths of those inserted."""
    rows = [
        {
            "path": stat.path,
            "folder": folder,
            "relpath": relpath,
            "size": stat.size,
            "mtime": stat.mtime,
            "status": FileStatus.QUEUED,
            "root": root,
            "next_attempt_at": ready,
            "created_at": now,
            "updated_at": now,
        }
        for relpath, stat in arrivals.items()
    ]
    statement = (
        dialects.of(connection)
        .insert(files)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[files.c.folder, files.c.relpath], index_where=text(OPEN_ROWS))
        .returning(files.c.relpath)
    )
    inserted = set(connection.scalars(statement))
    return [stat.path for relpath, stat in arrivals.items() if relpath in inserted]


def _queue_again(
    connection: Connection, row: FileRecord, stat: FileStat, root: str, ready: datetime, now: datetime
) -> bool:
    """Queue the failed arrival `row` again, changed to `stat`; False when another daemon just did."""
    result = connection.execute(
        update(files)
        .where(files.c.id == row.id, files.c.status == FileStatus.FAILED)
        .values(
            path=stat.path,
            root=root,
            size=stat.size,
            mtime=stat.mtime,
            status=FileStatus.QUEUED,
            error=None,
            attempts=0,
            next_attempt_at=ready,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def _arrived_again(row: FileRecord, stat: FileStat, again: Collection[FileStatus]) -> bool:
    """Whether a file found at the place of the finished arrival `row` is to be read (again)."""
    if row.status not in _FINISHED or row.after_due is not None:
        return False  # in the queue or in hand, or its original still waits for its after-action
    if (row.size, row.mtime) != (stat.size, stat.mtime):
        return True
    # The same size and mtime: a new drop only if the original left (an after-action that gave up
    # left it where it was, and it is the same file).
    return row.status in again and row.after_error is None


def _latest_in(connection: Connection, folder: str, relpaths: list[str]) -> dict[str, FileRecord]:
    """The latest arrival at each of `relpaths` in the watched folder `folder` that has one."""
    newest = (
        select(func.max(files.c.id))
        .where(files.c.folder == folder, files.c.relpath.in_(relpaths))
        .group_by(files.c.relpath)
        .scalar_subquery()
    )
    rows = connection.execute(select(files).where(files.c.id.in_(newest)))
    return {row.relpath: file_record(row) for row in rows}


def _latest(connection: Connection, paths: list[str]) -> dict[str, FileRecord]:
    """The latest arrival at each of `paths` (as `ocrwatch scan` names files) that has one."""
    newest = (
        select(func.max(files.c.id)).where(files.c.path.in_(paths)).group_by(files.c.path).scalar_subquery()
    )
    rows = connection.execute(select(files).where(files.c.id.in_(newest)))
    return {row.path: file_record(row) for row in rows}


def _latest_at(connection: Connection, target: Place | str) -> FileRecord | None:
    if isinstance(target, str):
        return _latest(connection, [target]).get(target)
    return _latest_in(connection, target.folder, [target.relpath]).get(target.relpath)
