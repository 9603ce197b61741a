"""Output names: each claimed arrival reserves one that no other arrival holds."""

from __future__ import annotations

from sqlalchemy import Connection, or_, select

from ocrwatch.index import dialects
from ocrwatch.index.tables import files


def reserve_stem(connection: Connection, preferred: str) -> str:
    """The first output name of `preferred`, `preferred~2`, `preferred~3`... that no arrival holds.

    Called inside the claim's write transaction, which must set the name before it commits. Two claims
    must not choose one name at once (PostgreSQL lets them, under READ COMMITTED, and the unique
    constraint would fail the second): each first locks the name's family, what comes before its first
    `~`, which every name `preferred` may end up as shares with every other name it could meet. The
    lock lasts until the claim commits, so the next claim of the family sees the name taken.
    """
    dialects.of(connection).lock(connection, preferred.split("~", 1)[0])
    family = or_(
        files.c.output_stem == preferred,
        files.c.output_stem.startswith(f"{preferred}~", autoescape=True),
    )
    taken = set(connection.scalars(select(files.c.output_stem).where(family)))
    if preferred not in taken:
        return preferred
    number = 2
    while f"{preferred}~{number}" in taken:
        number += 1
    return f"{preferred}~{number}"
