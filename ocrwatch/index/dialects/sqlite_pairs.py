"""SQLite's index of word pairs (`search/pairs.py`): a second FTS5 table that makes phrases fast.

Measured at 100,000 receipt pages (`bench/search.py`), FTS5 takes 13-19 ms for a phrase of common
words that few pages hold (`"rm 0.10"`), checking positions on every page holding both words; the
same phrase as pair tokens takes 3 ms and returns the same pages in the same order. The table is
contentless (it stores the index alone, about 2.5 % of the database) and is kept in step with
`pages` by triggers, which compute a page's pairs with `ocrwatch_pairs()`, a function every
connection registers (`register`). A contentless table can only forget a row given the values it
was given, so the delete trigger computes them again from the old text: the function is
deterministic.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ocrwatch.index.dialects.sqlite_driver import sqlite3
from ocrwatch.index.search.pairs import JOIN, PairPhrase, of_text

TABLE = "pages_pairs"
FUNCTION = "ocrwatch_pairs"

SCHEMA = (
    f"""
    CREATE VIRTUAL TABLE {TABLE} USING fts5(
        pairs,
        content='',
        tokenize="unicode61 remove_diacritics 2 tokenchars '{JOIN}'"
    )
    """,
    f"""
    CREATE TRIGGER {TABLE}_insert AFTER INSERT ON pages BEGIN
        INSERT INTO {TABLE} (rowid, pairs) VALUES (new.id, {FUNCTION}(new.text));
    END
    """,
    f"""
    CREATE TRIGGER {TABLE}_delete AFTER DELETE ON pages BEGIN
        INSERT INTO {TABLE} ({TABLE}, rowid, pairs) VALUES ('delete', old.id, {FUNCTION}(old.text));
    END
    """,
    f"""
    CREATE TRIGGER {TABLE}_update AFTER UPDATE OF text ON pages BEGIN
        INSERT INTO {TABLE} ({TABLE}, rowid, pairs) VALUES ('delete', old.id, {FUNCTION}(old.text));
        INSERT INTO {TABLE} (rowid, pairs) VALUES (new.id, {FUNCTION}(new.text));
    END
    """,
    f"INSERT INTO {TABLE} (rowid, pairs) SELECT id, {FUNCTION}(text) FROM pages",
)
DROP = (
    f"DROP TRIGGER {TABLE}_update",
    f"DROP TRIGGER {TABLE}_delete",
    f"DROP TRIGGER {TABLE}_insert",
    f"DROP TABLE {TABLE}",
)


def register(dbapi_connection: sqlite3.Connection) -> None:
    """Give the connection the function the triggers call."""
    dbapi_connection.create_function(FUNCTION, 1, _pairs, deterministic=True)


def _pairs(text: str | None) -> str:
    return of_text(text or "")


def create(connection: Connection) -> None:
    """Create the table and its triggers, and index the pages already there."""
    for statement in SCHEMA:
        connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    for statement in DROP:
        connection.exec_driver_sql(statement)


def expression(phrase: PairPhrase) -> str:
    """The FTS5 phrase of the pair tokens (a pair token is letters, digits and `_`: nothing to quote)."""
    return '"' + " ".join(phrase.pairs) + '"' + ("*" if phrase.prefix else "")
