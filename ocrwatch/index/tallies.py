"""Counts over the whole index for monitoring (`/metrics`), read fresh at every scrape.

The daemon, `ocrwatch serve` and `ocrwatch scan` are separate processes that share only the index, so
what a Prometheus scrape reports is counted here, from the rows every process writes, and not kept in
any one process's memory. Each method is one read-only statement; portable SQLAlchemy Core only.
A file found by `ocrwatch scan` or uploaded through the web page has no watched folder: its folder
is "".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, case, func, select

from ocrwatch.index.records import FileStatus
from ocrwatch.index.tables import files, outbox, pages

_FOLDER = func.coalesce(files.c.folder, "").label("folder")


@dataclass(frozen=True, slots=True)
class FolderQueue:
    """The queue of one watched folder, as `ocrwatch status` describes the whole queue."""

    folder: str
    oldest_queued: datetime | None
    """When the arrival that has waited longest was queued; None when nothing is queued."""
    retrying: int
    """Queued arrivals that failed at least once and wait for their next attempt."""


@dataclass(frozen=True, slots=True)
class PageSeconds:
    """The OCR time of every page one engine read, as a histogram: `buckets[i]` pages took at most
    `bounds[i]` seconds (cumulative, as Prometheus counts them)."""

    engine: str
    buckets: list[int]
    count: int
    total: float


class Tallies:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def queues(self) -> list[FolderQueue]:
        """The queue of each folder that has queued arrivals."""
        query = (
            select(
                _FOLDER,
                func.min(files.c.created_at),
                func.sum(case((files.c.attempts > 0, 1), else_=0)),
            )
            .where(files.c.status == FileStatus.QUEUED)
            .group_by(_FOLDER)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [FolderQueue(folder, oldest, int(retrying or 0)) for folder, oldest, retrying in rows]

    def page_seconds(self, bounds: Sequence[float]) -> list[PageSeconds]:
        """The OCR time of the pages each engine read, counted into `bounds` (ascending seconds).
        Pages read from their own text layer, and pages stored before their time was kept, have none."""
        timed = pages.c.seconds.is_not(None)
        query = (
            select(
                pages.c.engine,
                func.count(),
                func.sum(pages.c.seconds),
                *(func.sum(case((pages.c.seconds <= bound, 1), else_=0)) for bound in bounds),
            )
            .where(timed)
            .group_by(pages.c.engine)
            .order_by(pages.c.engine)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            PageSeconds(engine, [int(count) for count in buckets], int(total_pages), float(seconds))
            for engine, total_pages, seconds, *buckets in rows
        ]

    def notifications(self) -> dict[tuple[str, str, str, str], int]:
        """Notifications by (folder, event, target, state): `pending` (held, due or waiting to be
        retried), `delivered`, or `failed` (given up or not retried; the reason is in the outbox)."""
        state = case(
            (outbox.c.delivered_at.is_(None), "pending"),
            (outbox.c.last_error.is_(None), "delivered"),
            else_="failed",
        ).label("state")
        query = (
            select(_FOLDER, outbox.c.event, outbox.c.target, state, func.count())
            .select_from(outbox.join(files, files.c.id == outbox.c.file_id))
            .group_by(_FOLDER, outbox.c.event, outbox.c.target, state)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return {(folder, event, target, state): count for folder, event, target, state, count in rows}
