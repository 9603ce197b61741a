"""Claims as leases: a daemon holds a file while its claim token is the row's and its lease has not run
out, by the database's clock, so that daemons on several hosts agree about it.

The token fences: every claim writes a new one, so a daemon that lost its claim (its lease ran out and
another daemon claimed the file) holds a token the row no longer has, and whatever it writes with it is
refused. A claim whose lease ran out is lost even while nobody has taken the file yet: a daemon that was
frozen (SIGSTOP, a suspended VM) cannot tell what happened meanwhile, and renewal only extends leases
still running, so the rule is one comparison and the file is simply claimed again, by anyone.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, or_, select, update

from ocrwatch.index import dialects
from ocrwatch.index.records import FileStatus, Node
from ocrwatch.index.tables import files, outbox


def new_token() -> str:
    return secrets.token_hex(16)


def lease(node: Node, now: datetime) -> dict[str, object]:
    """The values of a new claim by `node`: a new token, the node, and its lease from `now`."""
    return {
        "claim_token": new_token(),
        "claimed_by": node.name,
        "lease_until": now + timedelta(seconds=node.lease_seconds),
    }


NO_CLAIM: dict[str, object] = {"claim_token": None, "claimed_by": None, "lease_until": None}
"""The values of a row nobody holds."""


def lapsed(now: datetime) -> ColumnElement[bool]:
    """Rows whose lease has run out, or that never had one (held by a daemon older than leases)."""
    return or_(files.c.lease_until.is_(None), files.c.lease_until <= now)


def held(record_id: int, token: str | None, now: datetime) -> ColumnElement[bool]:
    """The row `record_id` while the claim `token` holds it: the token is the row's and the lease still
    runs (a claim without a lease is `ocrwatch scan`'s, held by the one process that reads the file)."""
    running = or_(files.c.lease_until.is_(None), files.c.lease_until > now)
    return and_(files.c.id == record_id, files.c.claim_token == token, running)


def claim_held(connection: Connection, record_id: int, token: str | None, now: datetime) -> bool:
    """Whether the arrival is `processing` under the claim `token` at `now`, read on `connection`."""
    query = select(func.count()).where(held(record_id, token, now), files.c.status == FileStatus.PROCESSING)
    return bool(connection.scalar(query))


class Leases:
    """What a daemon does with the claims it holds: ask, renew, give back."""

    def __init__(self, engine: Engine, writer: Engine) -> None:
        self._engine = engine
        self._writer = writer

    def holds(self, record_id: int, token: str | None) -> bool:
        """Whether the arrival is still `processing` under the claim `token`: outputs are written and a
        result recorded only while it is."""
        with self._engine.connect() as connection:
            return claim_held(connection, record_id, token, dialects.of(connection).now(connection))

    def renew(self, tokens: Collection[str], seconds: float) -> int:
        """Extend the leases of the claims `tokens` that still run to `seconds` from now; return how many.
        A lease that ran out stays lost (see the module's docstring)."""
        if not tokens:
            return 0
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            result = connection.execute(
                update(files)
                .where(files.c.claim_token.in_(list(tokens)), files.c.lease_until > now)
                .values(lease_until=now + timedelta(seconds=seconds))
            )
        return result.rowcount

    def release(self, node: str, ids: Collection[int] | None = None) -> int:
        """Give back the claims `node` holds: its `processing` arrivals (all, or those in `ids`) go back to
        the queue, due at once, and (when all) the after-actions and notifications it held are free to be
        claimed again.
        At start-up, what this node held before it stopped or crashed; at shutdown, what did not finish
        in time. Returns how many arrivals went back to the queue."""
        mine = files.c.claimed_by == node
        processing = update(files).where(mine, files.c.status == FileStatus.PROCESSING)
        if ids is not None:
            processing = processing.where(files.c.id.in_(list(ids)))
        with self._writer.begin() as connection:
            now = dialects.of(connection).now(connection)
            result = connection.execute(
                processing.values(status=FileStatus.QUEUED, next_attempt_at=None, updated_at=now, **NO_CLAIM)
            )
            if ids is None:
                connection.execute(update(files).where(mine).values(**NO_CLAIM))
                connection.execute(
                    update(outbox)
                    .where(outbox.c.claimed_by == node)
                    .values(claimed_by=None, lease_until=None)
                )
        return result.rowcount
