"""The daemons that share this index: each one's node name, folders, heartbeat and pause state, for
`ocrwatch status`. Every time is the database's clock, so daemons on several hosts compare alike."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select, update

from ocrwatch.index import dialects
from ocrwatch.index.records import FileStatus
from ocrwatch.index.tables import daemons, files


@dataclass(frozen=True, slots=True)
class DaemonState:
    node: str
    host: str | None
    pid: int
    folders: list[str]
    """The names of the folders it watches."""
    started_at: datetime
    heartbeat_at: datetime
    lease_seconds: float
    paused: str | None
    """Why it stopped claiming files (a full disk, the database), while it is paused."""
    paused_since: datetime | None
    stopped_at: datetime | None
    in_hand: int
    """Files it holds claims on (being read, or waiting for a worker)."""

    def stale(self, now: datetime) -> bool:
        """Not stopped, yet silent for longer than its leases last: dead, frozen or cut off. Its files
        are taken by the other daemons as their leases run out."""
        return self.stopped_at is None and now - self.heartbeat_at > timedelta(seconds=self.lease_seconds)


class Daemons:
    def __init__(self, engine: Engine, writer: Engine) -> None:
        self._engine = engine
        self._writer = writer

    def register(self, node: str, host: str, pid: int, folders: Sequence[str], lease_seconds: float) -> None:
        """A daemon starts as `node`: its earlier row, if any, is replaced (one upsert, so that two
        starting under one name at once leave one row, not a unique violation)."""
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            values = {
                "host": host,
                "pid": pid,
                "folders": json.dumps(list(folders)),
                "lease_seconds": lease_seconds,
                "started_at": now,
                "heartbeat_at": now,
                "paused": None,
                "paused_since": None,
                "stopped_at": None,
            }
            upsert = dialects.of(connection).insert(daemons).values(node=node, **values)
            connection.execute(upsert.on_conflict_do_update(index_elements=[daemons.c.node], set_=values))

    def heartbeat(self, node: str, paused: str | None) -> None:
        """`node` is alive, and paused for the reason `paused` (since its first heartbeat that said so)."""
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            since = None if paused is None else func.coalesce(daemons.c.paused_since, now)
            connection.execute(
                update(daemons)
                .where(daemons.c.node == node)
                .values(heartbeat_at=now, paused=paused, paused_since=since)
            )

    def stopped(self, node: str) -> None:
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            connection.execute(
                update(daemons)
                .where(daemons.c.node == node)
                .values(stopped_at=now, paused=None, paused_since=None)
            )

    def forget(self, node: str) -> None:
        """Drop the row of a daemon that is gone and whose name will never come back."""
        with self._writer.begin() as connection:
            connection.execute(delete(daemons).where(daemons.c.node == node))

    def all(self) -> list[DaemonState]:
        in_hand = (
            select(func.count())
            .where(files.c.claimed_by == daemons.c.node, files.c.status == FileStatus.PROCESSING)
            .scalar_subquery()
        )
        query = select(daemons, in_hand.label("in_hand")).order_by(daemons.c.node)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            DaemonState(
                node=row.node,
                host=row.host,
                pid=row.pid,
                folders=json.loads(row.folders),
                started_at=row.started_at,
                heartbeat_at=row.heartbeat_at,
                lease_seconds=row.lease_seconds,
                paused=row.paused,
                paused_since=row.paused_since,
                stopped_at=row.stopped_at,
                in_hand=row.in_hand,
            )
            for row in rows
        ]
