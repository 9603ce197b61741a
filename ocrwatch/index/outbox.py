"""The notification outbox: rows written in the transaction that records a file's outcome, so that a
crash between recording and delivering loses nothing, and delivered at least once under the row's id.

`add` and `release` take the caller's connection, so that the daemon's record transactions write the
outbox rows together with the outcome and the after-action. `Outbox` is what the delivery threads use:
each method is one short transaction of its own. A daemon claims the rows it delivers (a lease by the
database's clock), so that daemons sharing the index never deliver one row both, and only the holder
records what came of an attempt. Portable SQLAlchemy Core only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from ocrwatch.index import dialects
from ocrwatch.index.records import FileStatus
from ocrwatch.index.tables import documents, files, outbox

EVENTS = ("on_done", "on_failed")
TARGETS = ("webhook", "command")


@dataclass(frozen=True, slots=True)
class Notification:
    """One outbox row claimed for delivery, with what its summary is made of: the file row and its
    document."""

    id: int
    file_id: int
    event: str
    """`on_done` or `on_failed`."""
    target: str
    """`webhook` or `command`."""
    body: str | None
    """The JSON summary; None until the first attempt builds it."""
    attempts: int
    """Attempts made so far."""
    created_at: datetime
    """When the outcome was recorded."""
    path: str
    root: str | None
    status: str
    error: str | None
    document_id: int | None
    moved_to: str | None
    output_stem: str | None
    """The file's own output name."""
    sha256: str | None
    engine: str | None
    pages: int | None
    ocr_seconds: float | None
    """The document's: None when the file has no document (it failed)."""
    document_stem: str | None
    """The output name of the document's first `done` file: where a duplicate's outputs are."""


def add(
    connection: Connection, file_id: int, event: str, targets: Sequence[str], *, held: bool, now: datetime
) -> None:
    """Queue one notification per target for the file's outcome; `held` ones wait for `release`."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}; known: {', '.join(EVENTS)}")
    unknown = set(targets) - set(TARGETS)
    if unknown:
        raise ValueError(f"unknown notification targets {sorted(unknown)}; known: {', '.join(TARGETS)}")
    if not targets:
        return
    due = None if held else now
    connection.execute(
        insert(outbox),
        [
            {"file_id": file_id, "event": event, "target": target, "due_at": due, "created_at": now}
            for target in targets
        ],
    )


def release(connection: Connection, file_id: int, now: datetime) -> int:
    """Make the file's held notifications due now (its after-action is done); return how many."""
    held = and_(outbox.c.file_id == file_id, outbox.c.due_at.is_(None), outbox.c.delivered_at.is_(None))
    return connection.execute(update(outbox).where(held).values(due_at=now)).rowcount


_holder = files.alias("holder")
_DOCUMENT_STEM = (
    select(_holder.c.output_stem)
    .where(_holder.c.document_id == documents.c.id, _holder.c.status == FileStatus.DONE)
    .order_by(_holder.c.id)
    .limit(1)
    .correlate(documents)
    .scalar_subquery()
)

_NOTIFICATIONS = (
    select(
        outbox.c.id,
        outbox.c.file_id,
        outbox.c.event,
        outbox.c.target,
        outbox.c.body,
        outbox.c.attempts,
        outbox.c.created_at,
        files.c.path,
        files.c.root,
        files.c.status,
        files.c.error,
        files.c.document_id,
        files.c.moved_to,
        files.c.output_stem,
        func.coalesce(files.c.sha256, documents.c.sha256).label("sha256"),
        documents.c.engine,
        documents.c.page_count.label("pages"),
        documents.c.ocr_seconds,
        _DOCUMENT_STEM.label("document_stem"),
    )
    .select_from(
        outbox.join(files, files.c.id == outbox.c.file_id).outerjoin(
            documents, documents.c.id == files.c.document_id
        )
    )
    .order_by(outbox.c.due_at, outbox.c.id)
)


class Outbox:
    """The delivery side of the outbox. Reads use `engine`; writes use `writer` (see `database.writer`),
    so that each write transaction takes the lock as it begins."""

    def __init__(self, engine: Engine, writer: Engine) -> None:
        self._engine = engine
        self._writer = writer

    def claim(
        self,
        node: str,
        lease_seconds: float,
        limit: int,
        *,
        roots: Collection[str] | None = None,
        skip: Collection[int] = (),
    ) -> list[Notification]:
        """Claim for `node`, for `lease_seconds`, up to `limit` notifications that are due and that nobody
        holds (never claimed, given back by a retry, or under a lease that ran out: its daemon died in
        the attempt), the longest waiting first: only those of files found in `roots` (the watched
        folders this daemon serves), none of the ids in `skip` (in flight). Rows another claim is taking
        are skipped (FOR UPDATE SKIP LOCKED; SQLite serialises writers anyway)."""
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            chosen = (
                select(outbox.c.id)
                .select_from(outbox.join(files, files.c.id == outbox.c.file_id))
                .where(
                    outbox.c.delivered_at.is_(None),
                    outbox.c.due_at <= now,
                    or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now),
                )
                .order_by(outbox.c.due_at, outbox.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=outbox)
            )
            if roots is not None:
                chosen = chosen.where(files.c.root.in_(roots))
            if skip:
                chosen = chosen.where(outbox.c.id.not_in(skip))
            claimed = list(
                connection.scalars(
                    update(outbox)
                    .where(outbox.c.id.in_(chosen))
                    .values(claimed_by=node, lease_until=now + timedelta(seconds=lease_seconds))
                    .returning(outbox.c.id)
                )
            )
            if not claimed:
                return []
            rows = connection.execute(_NOTIFICATIONS.where(outbox.c.id.in_(claimed)))
            return [Notification(**row._mapping) for row in rows]

    def store_body(self, id: int, node: str, body: str) -> bool:
        """Keep the summary built for the first attempt, so that every retry sends the same bytes."""
        return self._update(id, node, lambda now: {"body": body})

    def delivered(self, id: int, node: str) -> bool:
        return self._update(
            id, node, lambda now: {"attempts": outbox.c.attempts + 1, "last_error": None, "delivered_at": now}
        )

    def retry(self, id: int, node: str, detail: str, seconds: float) -> bool:
        """One attempt failed; the next one is due in `seconds`, for any daemon to claim."""
        return self._update(
            id,
            node,
            lambda now: {
                "attempts": outbox.c.attempts + 1,
                "last_error": detail,
                "due_at": now + timedelta(seconds=seconds),
                "claimed_by": None,
                "lease_until": None,
            },
        )

    def give_up(self, id: int, node: str, detail: str, *, attempted: bool = True) -> bool:
        """Finished without delivery: `detail` says why (the last attempt's failure, or, not `attempted`,
        why no attempt could be made)."""
        attempts = outbox.c.attempts + int(attempted)
        return self._update(
            id, node, lambda now: {"attempts": attempts, "last_error": detail, "delivered_at": now}
        )

    def pending(self, roots: Collection[str] | None = None) -> int:
        """Notifications not finished yet, held ones included (of files found in `roots`, if given)."""
        query = (
            select(func.count())
            .select_from(outbox.join(files, files.c.id == outbox.c.file_id))
            .where(outbox.c.delivered_at.is_(None))
        )
        if roots is not None:
            query = query.where(files.c.root.in_(roots))
        with self._engine.connect() as connection:
            return connection.scalar(query) or 0

    def _update(self, id: int, node: str, values: Callable[[datetime], dict[str, object]]) -> bool:
        """Write `values(now)` (the database's clock) to the row while `node` holds it; whether it did.
        A row another daemon claimed after this one's lease ran out is that daemon's to record."""
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            result = connection.execute(
                update(outbox).where(outbox.c.id == id, outbox.c.claimed_by == node).values(**values(now))
            )
        return result.rowcount == 1
