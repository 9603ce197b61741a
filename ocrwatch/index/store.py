"""`Index`: the one owner of ocrwatch's database. Every other module reads and writes through it.

Each method is one transaction on its own pooled connection, so an `Index` may be shared between
threads. Writes take the write lock as they begin (see `sqlite.py`), which keeps read-then-write
sequences such as "find the document for this sha, else insert it" safe between processes.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Row, and_, case, delete, exists, func, insert, or_, select, update

from ocrwatch.index import database, document_rows, sqlite
from ocrwatch.index.outbox import Outbox
from ocrwatch.index.query import parse
from ocrwatch.index.records import DocumentBrief, FileRecord, FileStat, FileStatus, Hit, StoredDocument
from ocrwatch.index.tables import documents, files
from ocrwatch.result import DocumentText


class Index:
    """Files seen, the documents read from them, and full-text search over their pages."""

    def __init__(self, url: str) -> None:
        """Open the database at `url` (an SQLAlchemy URL), migrating it to the newest schema."""
        self._engine = database.connect(url)
        self._writer = database.writer(self._engine)
        self.outbox = Outbox(self._engine, self._writer)

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

    # Files

    def file(self, path: str) -> FileRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(files).where(files.c.path == path)).first()
        return None if row is None else _file_record(row)

    def counts(self) -> dict[FileStatus, int]:
        """How many paths are in each status, every status present."""
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
            return [_file_record(row) for row in connection.execute(query)]

    def claim_output_stem(self, path: str, preferred: str, sha256: str) -> str:
        """The output name `path` should write to: `preferred`, unless another path owns it.

        Then `preferred~<first 8 of sha256>`, then `...~2`, `...~3`. Nothing is stored here:
        `record_done` stores the name, and the unique constraint there settles a race.
        """
        family = or_(
            files.c.output_stem == preferred,
            files.c.output_stem.startswith(f"{preferred}~", autoescape=True),
        )
        with self._engine.connect() as connection:
            owners = dict(connection.execute(select(files.c.output_stem, files.c.path).where(family)).all())
        return next(stem for stem in _stems(preferred, sha256) if owners.get(stem, path) == path)

    def record_done(
        self, path: str, size: int, mtime: float, sha256: str, output_stem: str, content: DocumentText
    ) -> int:
        """Store what was read from `path` and return its document's id.

        Content already in the index (a forced re-run) replaces that document's pages and keeps its
        id. A document that `path` held before and no path holds any more is deleted.
        """
        if content.sha256 != sha256:
            raise ValueError(f"{path}: the content's sha256 {content.sha256} is not the file's {sha256}")
        now = _now()
        with self._writer.begin() as connection:
            previous = _document_of(connection, path)
            document_id = document_rows.store(connection, content, now)
            _upsert_file(
                connection,
                path,
                now,
                size=size,
                mtime=mtime,
                sha256=sha256,
                status=FileStatus.DONE,
                error=None,
                attempts=0,
                document_id=document_id,
                output_stem=output_stem,
            )
            _delete_orphan(connection, previous)
        return document_id

    def record_duplicate(self, path: str, size: int, mtime: float, sha256: str, document_id: int) -> None:
        """`path` holds content already indexed as `document_id`; its output name, if any, stays claimed."""
        now = _now()
        with self._writer.begin() as connection:
            previous = _document_of(connection, path)
            _upsert_file(
                connection,
                path,
                now,
                size=size,
                mtime=mtime,
                sha256=sha256,
                status=FileStatus.DUPLICATE,
                error=None,
                attempts=0,
                document_id=document_id,
            )
            _delete_orphan(connection, previous)

    def record_failed(
        self, path: str, size: int | None, mtime: float | None, sha256: str | None, error: str
    ) -> None:
        """`path` could not be read; `error` is the reason a user sees. Counts one more attempt.

        A document recorded for `path` earlier stays linked: it is still the last text read from it.
        """
        now = _now()
        with self._writer.begin() as connection:
            _upsert_file(
                connection,
                path,
                now,
                size=size,
                mtime=mtime,
                sha256=sha256,
                status=FileStatus.FAILED,
                error=error,
            )
            connection.execute(
                update(files).where(files.c.path == path).values(attempts=files.c.attempts + 1)
            )

    def record_unchanged(self, path: str, size: int, mtime: float) -> None:
        """`path` was read again and still holds the document it holds: keep its new size and mtime.

        It is `done` when it owns an output name (it was read under this name), else a `duplicate`.
        """
        status = case((files.c.output_stem.is_not(None), FileStatus.DONE), else_=FileStatus.DUPLICATE)
        with self._writer.begin() as connection:
            connection.execute(
                update(files)
                .where(files.c.path == path)
                .values(
                    size=size,
                    mtime=mtime,
                    status=status,
                    error=None,
                    attempts=0,
                    next_attempt_at=None,
                    updated_at=_now(),
                )
            )

    # The queue: `queued` rows wait for `next_attempt_at`, a claim makes one `processing`, and the
    # record_* methods above finish it. Every step is one statement or one write transaction, so
    # several daemons could share the queue (on PostgreSQL the claim's FOR UPDATE SKIP LOCKED applies).

    def enqueue(
        self,
        root: str,
        found: Sequence[FileStat],
        *,
        delay: float,
        again: Collection[FileStatus] = (),
    ) -> list[str]:
        """Queue each file in `found` that is new, changed since it was seen, or in a status in `again`
        (so a file dropped again after its original was moved away is read again); return their paths.

        Each waits `delay` seconds (settling) before it can be claimed. Queued and processing paths are
        left as they are: the claim checks that a file settled.
        """
        now = _now()
        ready = now + timedelta(seconds=delay)
        queued: list[str] = []
        with self._writer.begin() as connection:
            for start in range(0, len(found), _CHUNK):
                chunk = {stat.path: stat for stat in found[start : start + _CHUNK]}
                known = {
                    row.path: row
                    for row in connection.execute(
                        select(files.c.path, files.c.size, files.c.mtime, files.c.status).where(
                            files.c.path.in_(chunk)
                        )
                    )
                }
                fresh = [stat for path, stat in chunk.items() if path not in known]
                if fresh:
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
                            for stat in fresh
                        ],
                    )
                    queued += [stat.path for stat in fresh]
                for path, row in known.items():
                    stat = chunk[path]
                    if row.status in (FileStatus.QUEUED, FileStatus.PROCESSING):
                        continue
                    if (row.size, row.mtime) == (stat.size, stat.mtime) and row.status not in again:
                        continue
                    connection.execute(
                        update(files)
                        .where(files.c.path == path)
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
        return queued

    def claim(self) -> FileRecord | None:
        """Take the oldest queued path that is due, marking it `processing`, in one atomic statement."""
        now = _now()
        due = (
            select(files.c.id)
            .where(
                files.c.status == FileStatus.QUEUED,
                or_(files.c.next_attempt_at.is_(None), files.c.next_attempt_at <= now),
            )
            .order_by(files.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's write lock already serialises
            .scalar_subquery()
        )
        with self._writer.begin() as connection:
            row = connection.execute(
                update(files)
                .where(files.c.id == due)
                .values(status=FileStatus.PROCESSING, updated_at=now)
                .returning(*files.c)
            ).first()
        return None if row is None else _file_record(row)

    def defer(self, path: str, size: int, mtime: float, seconds: float) -> None:
        """Put a claimed path back, still changing: it is claimed again once it held still for `seconds`."""
        now = _now()
        with self._writer.begin() as connection:
            connection.execute(
                update(files)
                .where(files.c.path == path)
                .values(
                    size=size,
                    mtime=mtime,
                    status=FileStatus.QUEUED,
                    next_attempt_at=now + timedelta(seconds=seconds),
                    updated_at=now,
                )
            )

    def retry_later(self, path: str, error: str, seconds: float) -> None:
        """A transient failure: queue `path` again in `seconds`, counting the attempt and keeping why."""
        now = _now()
        with self._writer.begin() as connection:
            connection.execute(
                update(files)
                .where(files.c.path == path)
                .values(
                    status=FileStatus.QUEUED,
                    error=error,
                    attempts=files.c.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=seconds),
                    updated_at=now,
                )
            )

    def requeue_processing(self, paths: Collection[str] | None = None) -> int:
        """Put `processing` paths (all of them, or those in `paths`) back in the queue, due at once:
        at start-up, the work a crashed daemon held; at shutdown, what did not finish in time."""
        query = update(files).where(files.c.status == FileStatus.PROCESSING)
        if paths is not None:
            query = query.where(files.c.path.in_(paths))
        with self._writer.begin() as connection:
            result = connection.execute(
                query.values(status=FileStatus.QUEUED, next_attempt_at=None, updated_at=_now())
            )
        return result.rowcount

    def waiting_to_retry(self) -> int:
        """Queued paths that failed at least once and wait for their next attempt."""
        query = select(func.count()).where(and_(files.c.status == FileStatus.QUEUED, files.c.attempts > 0))
        with self._engine.connect() as connection:
            return connection.scalar(query) or 0

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
        with self._engine.connect() as connection:
            document_id = _document_of(connection, path)
            return None if document_id is None else document_rows.load(connection, document_id)

    # Search

    def search(self, query: str, limit: int = 20, offset: int = 0) -> list[Hit]:
        """Pages matching `query`, best first. Raises `QueryError` for a query that cannot be searched."""
        parsed = parse(query)
        with self._engine.connect() as connection:
            matches = sqlite.search(connection, parsed, limit, offset)
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


_CHUNK = 500
"""Paths per IN (...) list: well under SQLite's limit on bound parameters."""


def _now() -> datetime:
    return datetime.now(UTC)


def _stems(preferred: str, sha256: str) -> Iterator[str]:
    yield preferred
    yield f"{preferred}~{sha256[:8]}"
    for number in itertools.count(2):
        yield f"{preferred}~{sha256[:8]}~{number}"


def _file_record(row: Row[Any]) -> FileRecord:
    return FileRecord(
        id=row.id,
        path=row.path,
        size=row.size,
        mtime=row.mtime,
        sha256=row.sha256,
        status=FileStatus(row.status),
        error=row.error,
        attempts=row.attempts,
        document_id=row.document_id,
        output_stem=row.output_stem,
        updated_at=row.updated_at,
        root=row.root,
        next_attempt_at=row.next_attempt_at,
    )


def _document_of(connection: Connection, path: str) -> int | None:
    return connection.scalar(select(files.c.document_id).where(files.c.path == path))


def _upsert_file(connection: Connection, path: str, now: datetime, **values: Any) -> None:
    """Update the row for `path`, or insert one. Safe without ON CONFLICT: writers hold the lock."""
    result = connection.execute(update(files).where(files.c.path == path).values(updated_at=now, **values))
    if result.rowcount == 0:
        connection.execute(insert(files).values(path=path, created_at=now, updated_at=now, **values))


def _delete_orphan(connection: Connection, document_id: int | None) -> None:
    """Delete the document unless some path still holds it; its pages go with it (and their text)."""
    if document_id is not None:
        held = exists().where(files.c.document_id == document_id)
        connection.execute(delete(documents).where(documents.c.id == document_id, ~held))
