"""The notification outbox (placeholder until the hooks' delivery side lands)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, update

from ocrwatch.index.tables import outbox


def add(
    connection: Connection, file_id: int, event: str, targets: Sequence[str], *, held: bool, now: datetime
) -> None:
    connection.execute(
        insert(outbox),
        [
            {
                "file_id": file_id,
                "event": event,
                "target": target,
                "due_at": None if held else now,
                "created_at": now,
            }
            for target in targets
        ],
    )


def release(connection: Connection, file_id: int, now: datetime) -> int:
    result = connection.execute(
        update(outbox)
        .where(outbox.c.file_id == file_id, outbox.c.due_at.is_(None), outbox.c.delivered_at.is_(None))
        .values(due_at=now)
    )
    return result.rowcount


class Outbox:
    def __init__(self, engine: Engine, writer: Engine) -> None:
        self._engine = engine
        self._writer = writer
