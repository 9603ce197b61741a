"""What the web page's dashboard reads: files by watched folder and state, the latest documents, one
arrival by id, and a cheap marker that changes whenever any of them may have."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from ocrwatch.index import document_rows
from ocrwatch.index.records import FileRecord, FileStatus, file_record
from ocrwatch.index.tables import documents, files


@dataclass(frozen=True, slots=True)
class RecentDocument:
    """A document as a list of the latest shows it: no pages, no words."""

    id: int
    path: str | None
    """Its first-recorded file, as search names it; None once every file row of it is gone."""
    pages: int
    created_at: datetime


class Overview:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def counts_by_folder(self) -> dict[str | None, dict[FileStatus, int]]:
        """Arrivals in each status per watched folder (None: read by `ocrwatch scan` or uploaded),
        every status present for each folder that has any."""
        query = select(files.c.folder, files.c.status, func.count()).group_by(files.c.folder, files.c.status)
        counts: dict[str | None, dict[FileStatus, int]] = {}
        with self._engine.connect() as connection:
            for folder, status, count in connection.execute(query):
                counts.setdefault(folder, dict.fromkeys(FileStatus, 0))[FileStatus(status)] = count
        return counts

    def recent_documents(self, limit: int) -> list[RecentDocument]:
        """The documents read last, latest first."""
        first_path = document_rows.source_path(documents.c.id)
        query = (
            select(documents.c.id, first_path.label("path"), documents.c.page_count, documents.c.created_at)
            .order_by(documents.c.created_at.desc(), documents.c.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [
                RecentDocument(id=row.id, path=row.path, pages=row.page_count, created_at=row.created_at)
                for row in connection.execute(query)
            ]

    def arrival(self, file_id: int) -> FileRecord | None:
        """The arrival with the id `file_id` (a `files` row), whatever its status."""
        with self._engine.connect() as connection:
            row = connection.execute(select(files).where(files.c.id == file_id)).first()
        return None if row is None else file_record(row)

    def marker(self) -> tuple[object, ...]:
        """Changes whenever an arrival is added, removed or updated (every write stamps `updated_at`;
        a new document comes with its arrival's update). Each part is read off an index (the latest
        `updated_at` per status from the one on status and updated_at), so it costs well under a
        millisecond however many files there are: cheap enough to poll."""
        parts = [
            select(func.count()).select_from(files).scalar_subquery(),
            select(func.max(files.c.id)).scalar_subquery(),
            *(
                select(func.max(files.c.updated_at)).where(files.c.status == status).scalar_subquery()
                for status in FileStatus
            ),
        ]
        with self._engine.connect() as connection:
            return tuple(connection.execute(select(*parts)).one())
