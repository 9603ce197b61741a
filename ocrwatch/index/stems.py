"""Output names: each claimed arrival reserves one that no other arrival holds."""

from __future__ import annotations

from sqlalchemy import Connection, or_, select

from ocrwatch.index.tables import files


def reserve_stem(connection: Connection, preferred: str) -> str:
    """The first output name of `preferred`, `preferred~2`, `preferred~3`... that no arrival holds.

    Called inside the claim's write transaction. On SQLite that holds the write lock, so no other claim
    can take the same name between the look and the update. On PostgreSQL two claims may choose one name
    at once: the unique constraint refuses the second, and `Queue.claim` tries its transaction again.
    """
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
