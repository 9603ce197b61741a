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

from sqlalchemy import Connection, delete, func, or_, select, update

from ocrwatch.errors import ClaimLost
from ocrwatch.index import database, dialects, document_rows, outbox
from ocrwatch.index.daemons import Daemons
from ocrwatch.index.overview import Overview
from ocrwatch.index.query import parse
from ocrwatch.index.queue import Queue, claim_held
from ocrwatch.index.records import DocumentBrief, FileRecord, FileStatus, Hit, StoredDocument, file_record
from ocrwatch.index.tables import documents, files, utc_now
from ocrwatch.index.tallies import Tallies
from ocrwatch.result import DocumentText


class Index:
    """Files seen, the documents read from them, and full-text search over their pages."""

    def __init__(self, url: str) -> None:
        """Open the database at `url` (an SQLAlchemy URL), migrating it to the newest schema."""
        self._engine = database.connect(url)
        self._writer = database.writer(self._engine)
        self.queue = Queue(self._engine, self._writer)
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

    # Arrivals

    def file(self, path: str) -> FileRecord | None:
        """The latest arrival at `path`."""
        query = select(files).where(files.c.path == path).order_by(files.c.id.desc()).limit(1)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else file_record(row)

    def arrivals(self, path: str) -> list[FileRecord]:
        """Every arrival at `path`, first first."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(files).where(files.c.path == path).order_by(files.c.id))
            return [file_record(row) for row in rows]

    def previous_arrival(self, record: FileRecord) -> FileRecord | None:
        """The arrival at the same path just before `record`."""
        query = (
            select(files)
            .where(files.c.path == record.path, files.c.id < record.id)
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
        its notifications are due now, with the summary saying where the original went."""
        with self._writer.begin() as connection:
            now = utc_now()
            connection.execute(
                update(files)
                .where(files.c.id == record.id)
                .values(moved_to=moved_to, after_due=None, updated_at=now)
            )
            outbox.release(connection, record.id, now)

    def record_after_failure(self, record: FileRecord, error: str, retry_seconds: float | None) -> None:
        """The after-action failed with `error`: try again in `retry_seconds`, or, when None, give up,
        keep the original where it is and let its notifications go."""
        with self._writer.begin() as connection:
            now = utc_now()
            due = None if retry_seconds is None else now + timedelta(seconds=retry_seconds)
            connection.execute(
                update(files)
                .where(files.c.id == record.id)
                .values(
                    after_due=due,
                    after_error=error,
                    after_attempts=files.c.after_attempts + 1,
                    updated_at=now,
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

    def document_for_path(self, path: str) -> StoredDocument | None:
        """The document of the latest arrival at `path` (or at where its original was moved to) that
        has one."""
        query = (
            select(files.c.document_id)
            .where(or_(files.c.path == path, files.c.moved_to == path), files.c.document_id.is_not(None))
            .order_by(files.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as connection:
            document_id = connection.scalar(query)
            return None if document_id is None else document_rows.load(connection, document_id)

    # Search

    def search(self, query: str, limit: int = 20, offset: int = 0) -> list[Hit]:
        """Pages matching `query`, best first. Raises `QueryError` for a query that cannot be searched."""
        parsed = parse(query)
        with self._engine.connect() as connection:
            matches = dialects.of(connection).search(connection, parsed, limit, offset)
            page_words = document_rows.words_by_page(connection, [match.page_id for match in matches])
        hits = []
        for match in matches:
            found = page_words[match.page_id]
            indices = parsed.matching_words([word.text for word in found])
            hits.append(
                Hit(
                    document_id=match.document_id,
                    page=match.number,
                    path=match.path,
                    snippet=match.snippet,
                    rank=match.rank,
                    words=indices,
                    matched=[found[index] for index in indices],
                    width=match.width,
                    height=match.height,
                )
            )
        return hits


@dataclass(frozen=True, slots=True)
class Notice:
    """The notifications an outcome sends: the hook `event` (`on_done`, `on_failed`) to `targets`
    (`webhook`, `command`), held until the after-action when `after_action` is set; an outcome with
    an after-action is marked so the after-action is tried (again) after any crash."""

    event: str
    targets: tuple[str, ...] = ()
    after_action: bool = False


def _claimed(connection: Connection, record: FileRecord) -> datetime:
    """The time of an outcome; raises `ClaimLost` unless `record` still holds its claim.

    The row is locked first, so that nothing (a requeue, another daemon's claim) can take the claim
    between this check and the outcome's write; the check then reads the row as last committed.
    """
    connection.execute(select(files.c.id).where(files.c.id == record.id).with_for_update())
    held = claim_held(connection, record.id, record.claim_token)
    if not held:
        raise ClaimLost(f"the claim on {record.path} was lost before its outcome was recorded")
    return utc_now()


def _finish(connection: Connection, record: FileRecord, now: datetime, notice: Notice, **values: Any) -> None:
    connection.execute(
        update(files)
        .where(files.c.id == record.id)
        .values(
            claim_token=None,
            next_attempt_at=None,
            after_due=now if notice.after_action else None,
            after_error=None,
            after_attempts=0,
            updated_at=now,
            **values,
        )
    )
    if notice.targets:
        outbox.add(connection, record.id, notice.event, notice.targets, held=notice.after_action, now=now)
