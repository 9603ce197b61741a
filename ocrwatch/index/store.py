"""`Index`: the one owner of ocrwatch's database. Every other module reads and writes through it.

Each method is one transaction on its own pooled connection, so an `Index` may be shared between
threads. On SQLite writes take the one write lock as they begin (see `dialects/sqlite.py`); PostgreSQL
runs them side by side under READ COMMITTED, so a write that depends on what it read locks that row
first (`_claimed`) or is a single upsert (`document_rows.store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sqlalchemy import ColumnElement, Connection, delete, func, or_, select, update

from ocrwatch.errors import ClaimLost
from ocrwatch.index import database, dialects, document_rows, outbox
from ocrwatch.index.daemons import Daemons
from ocrwatch.index.leases import NO_CLAIM, Leases, claim_held, held
from ocrwatch.index.overview import Overview
from ocrwatch.index.queue import Queue
from ocrwatch.index.records import (
    DocumentBrief,
    FileRecord,
    FileStatus,
    Hit,
    Place,
    StoredDocument,
    file_record,
)
from ocrwatch.index.search import browse, fuzzy, hits
from ocrwatch.index.search.filters import NO_FILTERS, Filters, Sort, extract
from ocrwatch.index.search.query import parse
from ocrwatch.index.tables import documents, files
from ocrwatch.index.tallies import Tallies
from ocrwatch.result import DocumentText


class Index:
    """Files seen, the documents read from them, and full-text search over their pages."""

    def __init__(self, url: str) -> None:
        """Open the database at `url` (an SQLAlchemy URL), migrating it to the newest schema."""
        self._engine = database.connect(url)
        self._writer = database.writer(self._engine)
        self.queue = Queue(self._engine, self._writer)
        self.leases = Leases(self._engine, self._writer)
        self.outbox = outbox.Outbox(self._engine, self._writer)
        self.daemons = Daemons(self._engine, self._writer)
        self.overview = Overview(self._engine)
        self.tallies = Tallies(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def schema_version(self) -> str:
        with self._engine.connect() as connection:
            return database.schema_version(connection)

    def now(self) -> datetime:
        """The index's clock: what every stored time is measured against, on every host."""
        with self._engine.connect() as connection:
            return dialects.of(connection).now(connection)

    # Arrivals: a daemon's file by its `Place` (the same on every host), a scanned file by its path

    def file(self, where: Place | str) -> FileRecord | None:
        """The latest arrival at `where`."""
        query = select(files).where(_at(where)).order_by(files.c.id.desc()).limit(1)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else file_record(row)

    def arrivals(self, where: Place | str) -> list[FileRecord]:
        """Every arrival at `where`, first first."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(files).where(_at(where)).order_by(files.c.id))
            return [file_record(row) for row in rows]

    def previous_arrival(self, record: FileRecord) -> FileRecord | None:
        """The arrival at the same place (or path) just before `record`."""
        query = (
            select(files)
            .where(_at(record.place or record.path), files.c.id < record.id)
            .order_by(files.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else file_record(row)

    def counts(self) -> dict[FileStatus, int]:
        """How many arrivals are in each status, every status present."""
        query = select(files.c.status, func.count()).group_by(files.c.status)
        with self._engine.connect() as connection:
            found: dict[str, int] = dict(connection.execute(query).all())
        return {status: found.get(status, 0) for status in FileStatus}

    def recent_failures(self, limit: int = 10) -> list[FileRecord]:
        query = (
            select(files)
            .where(files.c.status == FileStatus.FAILED)
            .order_by(files.c.updated_at.desc(), files.c.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [file_record(row) for row in connection.execute(query)]

    # Recording an outcome: each is one transaction, refused (`ClaimLost`) unless the arrival is still
    # `processing` under the claim it was read under, and writes the outcome's notifications (held
    # until the after-action is done, when there is one) in the same transaction.

    def record_done(
        self, record: FileRecord, size: int, mtime: float, content: DocumentText, notice: Notice
    ) -> int:
        """Store what was read from the arrival `record` and return its document's id.

        Content already in the index (a forced re-run) replaces that document's pages and keeps its
        id. Nothing recorded for any other arrival changes.
        """
        with self._writer.begin() as connection:
            now = _claimed(connection, record)
            document_id = document_rows.store(connection, content, now)
            _finish(
                connection,
                record,
                now,
                notice,
                size=size,
                mtime=mtime,
                sha256=content.sha256,
                status=FileStatus.DONE,
                error=None,
                attempts=0,
                document_id=document_id,
            )
        return document_id

    def record_duplicate(
        self, record: FileRecord, size: int, mtime: float, sha256: str, document_id: int, notice: Notice
    ) -> None:
        """The arrival holds content already indexed as `document_id`; its output name is released."""
        with self._writer.begin() as connection:
            now = _claimed(connection, record)
            _finish(
                connection,
                record,
                now,
                notice,
                size=size,
                mtime=mtime,
                sha256=sha256,
                status=FileStatus.DUPLICATE,
                error=None,
                attempts=0,
                document_id=document_id,
                output_stem=None,
            )

    def record_failed(
        self,
        record: FileRecord,
        size: int | None,
        mtime: float | None,
        sha256: str | None,
        error: str,
        notice: Notice,
    ) -> None:
        """The arrival could not be read; `error` is the reason a user sees. Counts one more attempt."""
        with self._writer.begin() as connection:
            now = _claimed(connection, record)
            _finish(
                connection,
                record,
                now,
                notice,
                size=size,
                mtime=mtime,
                sha256=sha256,
                status=FileStatus.FAILED,
                error=error,
                attempts=files.c.attempts + 1,
                output_stem=None,
            )

    def record_unchanged(self, record: FileRecord, previous: FileRecord, size: int, mtime: float) -> None:
        """The arrival is the file `previous` recorded, touched but unchanged: keep `previous` (its new
        size and mtime) and drop the arrival, which brought nothing new."""
        with self._writer.begin() as connection:
            now = _claimed(connection, record)
            connection.execute(delete(files).where(files.c.id == record.id))
            connection.execute(
                update(files).where(files.c.id == previous.id).values(size=size, mtime=mtime, updated_at=now)
            )

    def record_after_action(self, record: FileRecord, moved_to: str | None) -> None:
        """The arrival's after-action is done (the original moved to `moved_to`, or deleted or kept):
        its notifications are due now, with the summary saying where the original went. Refused
        (`ClaimLost`) unless `record` still holds the claim its after-action was done under."""
        with self._writer.begin() as connection:
            now = _after_action_held(connection, record)
            connection.execute(
                update(files)
                .where(files.c.id == record.id)
                .values(moved_to=moved_to, after_due=None, updated_at=now, **NO_CLAIM)
            )
            outbox.release(connection, record.id, now)

    def record_after_failure(self, record: FileRecord, error: str, retry_seconds: float | None) -> None:
        """The after-action failed with `error`: try again in `retry_seconds`, or, when None, give up,
        keep the original where it is and let its notifications go. The claim is given up: any daemon
        that watches the folder tries it when it is due. Refused (`ClaimLost`) like `record_after_action`."""
        with self._writer.begin() as connection:
            now = _after_action_held(connection, record)
            due = None if retry_seconds is None else now + timedelta(seconds=retry_seconds)
            connection.execute(
                update(files)
                .where(files.c.id == record.id)
                .values(
                    after_due=due,
                    after_error=error,
                    after_attempts=files.c.after_attempts + 1,
                    updated_at=now,
                    **NO_CLAIM,
                )
            )
            if due is None:
                outbox.release(connection, record.id, now)

    # Documents

    def document_id_for_sha(self, sha256: str) -> int | None:
        with self._engine.connect() as connection:
            return connection.scalar(select(documents.c.id).where(documents.c.sha256 == sha256))

    def document(self, document_id: int) -> StoredDocument | None:
        with self._engine.connect() as connection:
            return document_rows.load(connection, document_id)

    def document_brief(self, document_id: int) -> DocumentBrief | None:
        """The document's sha256, engine, page count and output name, without loading its pages."""
        stem = (
            select(files.c.output_stem)
            .where(files.c.document_id == documents.c.id, files.c.status == FileStatus.DONE)
            .order_by(files.c.id)
            .limit(1)
            .scalar_subquery()
        )
        query = select(
            documents.c.id,
            documents.c.sha256,
            documents.c.engine,
            documents.c.engine_version,
            documents.c.page_count,
            stem.label("output_stem"),
        ).where(documents.c.id == document_id)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else DocumentBrief(**row._mapping)

    def document_for_path(self, where: Place | str) -> StoredDocument | None:
        """The document of the latest arrival at `where` (or, for a path, at where its original was
        moved to) that has one."""
        found = _at(where) if isinstance(where, Place) else or_(_at(where), files.c.moved_to == where)
        query = (
            select(files.c.document_id)
            .where(found, files.c.document_id.is_not(None))
            .order_by(files.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as connection:
            document_id = connection.scalar(query)
            return None if document_id is None else document_rows.load(connection, document_id)

    # Search

    def search(
        self,
        query: str,
        limit: int = 20,
        offset: int = 0,
        *,
        filters: Filters = NO_FILTERS,
        sort: Sort = Sort.RELEVANCE,
        exact: bool = False,
    ) -> list[Hit]:
        """Pages matching `query`, best first (or newest, by `sort`); unless `exact`, then the pages
        that match through misreadings of its words (`fuzzy`). `filters` add to those in the query's
        text and win over them. A query with no words but a filter (here or in its text) lists the
        pages that pass, newest read first (`browse`). Raises `QueryError` for a query that cannot be
        searched, one with neither words nor filters among them."""
        words, given = extract(query)
        wanted = filters.over(given)
        browsing = not words.strip() and wanted != NO_FILTERS
        parsed = browse.NO_WORDS if browsing else parse(words)
        with self._engine.connect() as connection:
            if browsing:
                found = browse.search(connection, wanted, limit, offset)
            else:
                found = fuzzy.search(connection, parsed, limit, offset, wanted, sort, exact)
            return hits.load(connection, found, parsed)


@dataclass(frozen=True, slots=True)
class Notice:
    """The notifications an outcome sends: the hook `event` (`on_done`, `on_failed`) to `targets`
    (`webhook`, `command`), held until the after-action when `after_action` is set; an outcome with
    an after-action is marked so the after-action is tried (again) after any crash."""

    event: str
    targets: tuple[str, ...] = ()
    after_action: bool = False


def _at(where: Place | str) -> ColumnElement[bool]:
    """The rows of a daemon's file at a place, or of a file at a path."""
    if isinstance(where, Place):
        return (files.c.folder == where.folder) & (files.c.relpath == where.relpath)
    return files.c.path == where


def _claimed(connection: Connection, record: FileRecord) -> datetime:
    """The time of an outcome (the database's clock); raises `ClaimLost` unless `record` is still in hand
    under its claim and the claim's lease still runs.

    The row is locked first, so that nothing (a requeue, another daemon's claim) can take the claim
    between this check and the outcome's write; the check then reads the row as last committed.
    """
    connection.execute(select(files.c.id).where(files.c.id == record.id).with_for_update())
    now = dialects.of(connection).now(connection)
    if not claim_held(connection, record.id, record.claim_token, now):
        raise ClaimLost(f"the claim on {record.path} was lost before its outcome was recorded")
    return now


def _after_action_held(connection: Connection, record: FileRecord) -> datetime:
    """The time an after-action is recorded; raises `ClaimLost` unless `record` still holds its claim."""
    now = dialects.of(connection).now(connection)
    if not connection.scalar(select(func.count()).where(held(record.id, record.claim_token, now))):
        raise ClaimLost(f"the claim on {record.path} was lost before its after-action was recorded")
    return now


def _finish(connection: Connection, record: FileRecord, now: datetime, notice: Notice, **values: Any) -> None:
    """Record the outcome. An outcome with an after-action keeps its claim until the after-action is
    recorded, so that only its daemon does it (or, once its lease ran out, one other)."""
    claim = {} if notice.after_action else NO_CLAIM
    connection.execute(
        update(files)
        .where(files.c.id == record.id)
        .values(
            next_attempt_at=None,
            after_due=now if notice.after_action else None,
            after_error=None,
            after_attempts=0,
            updated_at=now,
            **claim,
            **values,
        )
    )
    if notice.targets:
        outbox.add(connection, record.id, notice.event, notice.targets, held=notice.after_action, now=now)
