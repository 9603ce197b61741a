"""The daemons that run on this index: each one's heartbeat and pause state, for `ocrwatch status`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from ocrwatch.index import dialects
from ocrwatch.index.tables import daemons, utc_now


@dataclass(frozen=True, slots=True)
class DaemonState:
    node: str
    pid: int
    folders: list[str]
    started_at: datetime
    heartbeat_at: datetime
    paused: str | None
    """Why it stopped claiming files (a full disk, the database), while it is paused."""
    paused_since: datetime | None
    stopped_at: datetime | None


class Daemons:
    def __init__(self, engine: Engine, writer: Engine) -> None:
        self._engine = engine
        self._writer = writer

    def register(self, node: str, pid: int, folders: Sequence[str]) -> None:
        """A daemon starts as `node`: its earlier row, if any, is replaced (one upsert, so that two
        starting under one name at once leave one row, not a unique violation)."""
        now = utc_now()
        values = {
            "pid": pid,
            "folders": json.dumps(list(folders)),
            "started_at": now,
            "heartbeat_at": now,
            "paused": None,
            "paused_since": None,
            "stopped_at": None,
        }
        with self._writer.begin() as connection:
            upsert = dialects.of(connection).insert(daemons).values(node=node, **values)
            connection.execute(upsert.on_conflict_do_update(index_elements=[daemons.c.node], set_=values))

    def heartbeat(self, node: str, paused: str | None, paused_since: datetime | None) -> None:
        with self._writer.begin() as connection:
            connection.execute(
                update(daemons)
                .where(daemons.c.node == node)
                .values(heartbeat_at=utc_now(), paused=paused, paused_since=paused_since)
            )

    def stopped(self, node: str) -> None:
        with self._writer.begin() as connection:
            connection.execute(
                update(daemons).where(daemons.c.node == node).values(stopped_at=utc_now(), paused=None)
            )

    def all(self) -> list[DaemonState]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(daemons).order_by(daemons.c.node)).all()
        return [
            DaemonState(
                node=row.node,
                pid=row.pid,
                folders=json.loads(row.folders),
                started_at=row.started_at,
                heartbeat_at=row.heartbeat_at,
                paused=row.paused,
                paused_since=row.paused_since,
                stopped_at=row.stopped_at,
            )
            for row in rows
        ]
