"""The `terms` table: the index's vocabulary, kept in step with the pages as they are stored.

Fuzzy search needs the words that are in the index to find a query word's misreadings among them;
asking the full-text index for its vocabulary means scanning all of it, so the terms are kept here.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from ocrwatch.index import dialects
from ocrwatch.index.search.query import fold
from ocrwatch.index.tables import pages
from ocrwatch.index.tables import terms as table

_BATCH = 1000


def record(connection: Connection, texts: Iterable[str]) -> None:
    """Add the tokens of `texts` (pages' text) that the table does not hold yet."""
    tokens = sorted({token for text in texts for token in fold(text)})
    if tokens:
        statement = dialects.of(connection).insert(table).on_conflict_do_nothing(index_elements=["term"])
        connection.execute(statement, [{"term": token} for token in tokens])


def backfill(connection: Connection) -> None:
    """Record the tokens of every page already stored (the migration that adds the table)."""
    # On the statement, not the connection: Connection.execution_options changes the connection
    # itself, and on PostgreSQL every later statement of the migration would go through a cursor.
    rows = connection.execute(select(pages.c.text).execution_options(yield_per=_BATCH))
    for batch in rows.partitions():
        record(connection, (row.text for row in batch))
