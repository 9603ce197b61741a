"""The durable queue in the `files` table: arrivals wait as `queued`, a claim makes one `processing`
and reserves its output name, and `Index.record_*` finishes it.

Every arrival is its own row. A file found at a path whose latest row is finished (done, a
duplicate, or failed and moved away) is a new arrival: a new row, so the earlier row keeps its
document, its outputs and its place in search. Every step is one write transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update

from ocrwatch.errors import OutputError
from ocrwatch.index.records import FileRecord, FileStat, FileStatus, file_record
from ocrwatch.index.tables import files, utc_now
from ocrwatch.outputs.paths import output_stem

_CHUNK = 500
"""Paths per IN (...) list: well under SQLite's limit on bound parameters."""

_FINISHED = (FileStatus.DONE, FileStatus.DUPLICATE, FileStatus.FAILED)


class Queue:
    def __init__(self, engine: Engine, writer: Engine) -> None:
        self._engine = engine
        self._writer = writer

    def enqueue(
        self,
        root: str,
        found: Sequence[FileStat],
        *,
        delay: float,
        again: Collection[FileStatus] = (),
    ) -> list[str]:
        """Queue each file in `found` that is new, changed since it was seen, or whose latest row is in a
        status in `again` (a file dropped again after its original was moved away); return their paths.

        Each waits `delay` seconds (settling) before it can be claimed. Paths queued or in hand, and
        paths whose after-action (a move that failed) is still to be retried, are left as they are.
        """
        now = utc_now()
        ready = now + timedelta(seconds=delay)
        queued: list[str] = []
        with self._writer.begin() as connection:
            for start in range(0, len(found), _CHUNK):
                chunk = {stat.path: stat for stat in found[start : start + _CHUNK]}
                latest = _latest(connection, list(chunk))
                arrivals = []
                for path, stat in chunk.items():
                    row = latest.get(path)
                    if row is not None and not _arrived_again(row, stat, again):
                        continue
                    if row is not None and row.status is FileStatus.FAILED and row.moved_to is None:
                        # The same file, failed and still in place, changed since: try it again.
                        connection.execute(
                            update(files)
                            .where(files.c.id == row.id)
                            .values(
                                size=stat.size,
                                mtime=stat.mtime,
                                status=FileStatus.QUEUED,
                                error=None,
                                attempts=0,
                                root=root,
                                next_attempt_at=ready,
                                updated_at=now,
                            )
                        )
                        queued.append(path)
                    else:
                        arrivals.append(stat)
                if arrivals:
                    connection.execute(
                        insert(files),
                        [
                            {
                                "path": stat.path,
                                "size": stat.size,
                                "mtime": stat.mtime,
                                "status": FileStatus.QUEUED,
                                "root": root,
                                "next_attempt_at": ready,
                                "created_at": now,
                                "updated_at": now,
                            }
                            for stat in arrivals
                        ],
                    )
                    queued += [stat.path for stat in arrivals]
        return queued

    def claim(self, roots: Collection[str] | None = None) -> FileRecord | None:
        """Take the oldest queued arrival that is due (of the folders `roots`, when given), mark it
        `processing` under a new claim token and reserve its output name, in one transaction."""
        now = utc_now()
        due = select(files.c.id).where(
            files.c.status == FileStatus.QUEUED,
            or_(files.c.next_attempt_at.is_(None), files.c.next_attempt_at <= now),
        )
        if roots is not None:
            due = due.where(files.c.root.in_(roots))
        due = due.order_by(files.c.id).limit(1).with_for_update(skip_locked=True).scalar_subquery()
        with self._writer.begin() as connection:
            row = connection.execute(
                update(files)
                .where(files.c.id == due)
                .values(status=FileStatus.PROCESSING, claim_token=secrets.token_hex(16), updated_at=now)
                .returning(*files.c)
            ).first()
            if row is None:
                return None
            if row.output_stem is None and row.root is not None:
                stem = reserve_stem(connection, _preferred_stem(row.path, row.root))
                connection.execute(update(files).where(files.c.id == row.id).values(output_stem=stem))
                return file_record(row, output_stem=stem)
        return file_record(row)

    def claim_path(self, path: str, size: int, mtime: float, stem: str) -> FileRecord:
        """`ocrwatch scan`'s claim: a new arrival at `path` (or its latest row, when that is not
        finished), marked `processing`, with an output name reserved from `stem`."""
        now = utc_now()
        with self._writer.begin() as connection:
            row = _latest(connection, [path]).get(path)
            token = secrets.token_hex(16)
            values = {"size": size, "mtime": mtime, "status": FileStatus.PROCESSING, "claim_token": token}
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
        now = utc_now()
        with self._writer.begin() as connection:
            connection.execute(
                delete(files).where(files.c.id == record.id, files.c.claim_token == record.claim_token)
            )
            row = connection.execute(
                update(files)
                .where(files.c.id == previous.id)
                .values(status=FileStatus.PROCESSING, claim_token=secrets.token_hex(16), updated_at=now)
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
        now = utc_now()
        due = now + timedelta(seconds=seconds)
        with self._writer.begin() as connection:
            connection.execute(
                update(files)
                .where(files.c.id == record.id, files.c.claim_token == record.claim_token)
                .values(
                    status=FileStatus.QUEUED, claim_token=None, next_attempt_at=due, updated_at=now, **values
                )
            )

    def requeue_processing(self, ids: Collection[int] | None = None) -> int:
        """Put `processing` arrivals (all of them, or those in `ids`) back in the queue, due at once:
        at start-up, the work a crashed daemon held; at shutdown, what did not finish in time."""
        query = update(files).where(files.c.status == FileStatus.PROCESSING)
        if ids is not None:
            query = query.where(files.c.id.in_(ids))
        with self._writer.begin() as connection:
            result = connection.execute(
                query.values(
                    status=FileStatus.QUEUED, claim_token=None, next_attempt_at=None, updated_at=utc_now()
                )
            )
        return result.rowcount

    def retry_failed(self, paths: Collection[str] | None = None) -> list[str]:
        """`ocrwatch retry`: queue failed arrivals again (the latest at each of `paths`, or every one
        whose original is still where it was found), attempts reset; return their paths."""
        with self._writer.begin() as connection:
            if paths is None:
                rows = connection.execute(
                    select(files.c.id, files.c.path).where(
                        files.c.status == FileStatus.FAILED, files.c.moved_to.is_(None)
                    )
                ).all()
                chosen = [(row.id, row.path) for row in rows]
            else:
                latest = _latest(connection, list(paths))
                chosen = [(row.id, row.path) for row in latest.values() if row.status is FileStatus.FAILED]
            for row_id, _ in chosen:
                connection.execute(
                    update(files)
                    .where(files.c.id == row_id)
                    .values(status=FileStatus.QUEUED, attempts=0, next_attempt_at=None, updated_at=utc_now())
                )
        return [path for _, path in chosen]

    def holds_claim(self, record_id: int, token: str | None) -> bool:
        """Whether the arrival is still `processing` under the claim `token`: a result is recorded and
        outputs are written only while it is."""
        with self._engine.connect() as connection:
            return claim_held(connection, record_id, token)

    def after_due(self, roots: Collection[str]) -> list[FileRecord]:
        """Arrivals whose after-action (move, delete) is due to be tried (again)."""
        query = (
            select(files)
            .where(files.c.after_due.is_not(None), files.c.after_due <= utc_now(), files.c.root.in_(roots))
            .order_by(files.c.after_due)
            .limit(100)
        )
        with self._engine.connect() as connection:
            return [file_record(row) for row in connection.execute(query)]

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


def claim_held(connection: Connection, record_id: int, token: str | None) -> bool:
    """Whether the arrival is `processing` under the claim `token`, read on `connection`."""
    query = select(func.count()).where(
        files.c.id == record_id, files.c.claim_token == token, files.c.status == FileStatus.PROCESSING
    )
    return bool(connection.scalar(query))


def reserve_stem(connection: Connection, preferred: str) -> str:
    """The first output name of `preferred`, `preferred~2`, `preferred~3`... that no arrival holds.

    Called inside the claim's write transaction, which holds the write lock, so no other claim can
    take the same name between the look and the update (the unique constraint backs this up).
    """
    family = or_(
        files.c.output_stem == preferred,
        files.c.output_stem.startswith(f"{preferred}~", autoescape=True),
    )
    taken = set(connection.scalars(select(files.c.output_stem).where(family)))
    if preferred not in taken:
        return preferred
    number = 2
    while f"{preferred}~{number}" in taken:
        number += 1
    return f"{preferred}~{number}"


def _preferred_stem(path: str, root: str) -> str:
    """The output name of `path` as found in the folder `root`; its file name if it is not inside."""
    try:
        return output_stem(Path(path), Path(root))
    except OutputError:
        return Path(path).name


def _arrived_again(row: FileRecord, stat: FileStat, again: Collection[FileStatus]) -> bool:
    """Whether a file found at the path of the finished arrival `row` is to be read (again)."""
    if row.status not in _FINISHED or row.after_due is not None:
        return False  # in the queue or in hand, or its original still waits for its after-action
    if (row.size, row.mtime) != (stat.size, stat.mtime):
        return True
    # The same size and mtime: a new drop only if the original left (an after-action that gave up
    # left it where it was, and it is the same file).
    return row.status in again and row.after_error is None


def _latest(connection: Connection, paths: list[str]) -> dict[str, FileRecord]:
    """The latest arrival at each of `paths` that has one."""
    newest = (
        select(func.max(files.c.id)).where(files.c.path.in_(paths)).group_by(files.c.path).scalar_subquery()
    )
    rows = connection.execute(select(files).where(files.c.id.in_(newest)))
    return {row.path: file_record(row) for row in rows}
