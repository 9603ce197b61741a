"""Everything in the index that only SQLite understands: connection setup, FTS5 and its queries.

The rest of `ocrwatch.index` is portable SQLAlchemy; this module implements `dialects.Dialect`.

Several processes share one database file, so connections use WAL (readers never block the writer)
and a busy timeout, and transactions that will write start with BEGIN IMMEDIATE: a transaction that
reads first and upgrades to a write lock later can fail at once with "database is locked", whereas
one that asks for the lock up front simply waits its turn.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from pathlib import Path

import sqlalchemy
from sqlalchemy import Connection, Engine, Table, event, text
from sqlalchemy.dialects.sqlite import Insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from ocrwatch.errors import ConfigError, IndexUnavailable, QueryError
from ocrwatch.index.query import Query, Term
from ocrwatch.index.records import PageMatch
from ocrwatch.index.tables import utc_now

WRITES = "ocrwatch_writes"
"""Execution option (set by `database.writer`) marking transactions that will write."""

PRAGMAS = (
    "PRAGMA busy_timeout = 5000",  # first, so that switching to WAL waits for other processes
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",  # safe with WAL: a power cut can lose the last commits, never corrupt
    "PRAGMA foreign_keys = ON",
)

# The standard external-content recipe: pages_fts indexes pages.text without a second copy of it,
# and triggers keep it in step ('delete' needs the old text to remove its tokens).
FULLTEXT_SCHEMA = (
    """
    CREATE VIRTUAL TABLE pages_fts USING fts5(
        text,
        content='pages',
        content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER pages_fts_insert AFTER INSERT ON pages BEGIN
        INSERT INTO pages_fts (rowid, text) VALUES (new.id, new.text);
    END
    """,
    """
    CREATE TRIGGER pages_fts_delete AFTER DELETE ON pages BEGIN
        INSERT INTO pages_fts (pages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END
    """,
    """
    CREATE TRIGGER pages_fts_update AFTER UPDATE ON pages BEGIN
        INSERT INTO pages_fts (pages_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO pages_fts (rowid, text) VALUES (new.id, new.text);
    END
    """,
)
FULLTEXT_DROP = (
    "DROP TRIGGER pages_fts_update",
    "DROP TRIGGER pages_fts_delete",
    "DROP TRIGGER pages_fts_insert",
    "DROP TABLE pages_fts",
)

# snippet() wraps each match in these control characters, which OCR text never contains; the
# segments are split apart here so that no caller ever has to escape or parse markup.
_START, _END = "\x02", "\x03"
_MARKED = re.compile(f"{_START}(.*?){_END}", re.DOTALL)

# `path` is the document's first-recorded file, the same one `Index.document` calls its source.
SEARCH = text(
    """
    SELECT
        pages.id AS page_id,
        pages.document_id,
        pages.number,
        pages.width,
        pages.height,
        (
            SELECT files.path FROM files
            WHERE files.document_id = pages.document_id
            ORDER BY files.id LIMIT 1
        ) AS path,
        snippet(pages_fts, 0, char(2), char(3), '…', 16) AS snippet,
        bm25(pages_fts) AS rank
    FROM pages_fts
    JOIN pages ON pages.id = pages_fts.rowid
    WHERE pages_fts MATCH :expression
    ORDER BY rank, pages.id
    LIMIT :limit OFFSET :offset
    """
)


def create_engine(url: str) -> Engine:
    """An engine for the SQLite database at `url`, its folder created if need be."""
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"cannot create the index's folder {folder}: {error.strerror}") from None
    engine = sqlalchemy.create_engine(parsed)
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "handle_error", _on_error)
    return engine


_UNAVAILABLE = (
    "database is locked",
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
    "attempt to write a readonly database",
)
"""What SQLite says when the fault is the database's place, not the statement: these pause the queue."""


def _on_error(context: ExceptionContext) -> None:
    """Raise `IndexUnavailable` for a fault outside the statement, once, here, for every caller."""
    error = context.original_exception
    if isinstance(error, sqlite3.OperationalError) and str(error).lower().startswith(_UNAVAILABLE):
        raise IndexUnavailable(f"the index is unavailable: {error}") from error


def _on_connect(dbapi_connection: sqlite3.Connection, record: ConnectionPoolEntry) -> None:
    # Python's sqlite3 would otherwise begin transactions itself, only before writes; _on_begin does it.
    dbapi_connection.isolation_level = None
    for pragma in PRAGMAS:
        dbapi_connection.execute(pragma)


def _on_begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def lock_migrations(connection: Connection) -> None:
    """Nothing to do: the migration's transaction began with BEGIN IMMEDIATE, SQLite's one write lock."""


def create_fulltext(connection: Connection) -> None:
    """Create the full-text table and its triggers (called by the migrations)."""
    for statement in FULLTEXT_SCHEMA:
        connection.exec_driver_sql(statement)


def drop_fulltext(connection: Connection) -> None:
    for statement in FULLTEXT_DROP:
        connection.exec_driver_sql(statement)


def match_expression(query: Query) -> str:
    """The query in FTS5 syntax. Every term becomes an FTS5 string, so only our operators are syntax."""
    return " ".join(part if isinstance(part, str) else _fts5_string(part) for part in query.parts)


def _fts5_string(term: Term) -> str:
    quoted = '"' + term.text.replace('"', '""') + '"'
    return quoted + "*" if term.prefix else quoted


def search(connection: Connection, query: Query, limit: int, offset: int) -> list[PageMatch]:
    """Pages matching `query`, best first."""
    parameters = {"expression": match_expression(query), "limit": limit, "offset": offset}
    try:
        rows = connection.execute(SEARCH, parameters).all()
    except OperationalError as error:
        if "fts5" not in str(error.orig):
            raise
        raise QueryError(f"cannot search for {query.text!r}: {error.orig}") from None
    return [
        PageMatch(
            row.page_id,
            row.document_id,
            row.number,
            row.width,
            row.height,
            row.path,
            _segments(row.snippet),
            row.rank,
        )
        for row in rows
    ]


def _segments(snippet: str) -> list[tuple[str, bool]]:
    """Split a marked snippet into (text, matched) pairs; re.split puts the matches at odd indices."""
    pieces = _MARKED.split(snippet)
    return [(piece, index % 2 == 1) for index, piece in enumerate(pieces) if piece]


def insert(table: Table) -> Insert:
    """An INSERT that can say what to do ON CONFLICT (SQLite 3.24+ spells it as PostgreSQL does)."""
    return sqlite_insert(table)


def now(connection: Connection) -> datetime:
    """The index's clock. An SQLite file is on one host, whose clock every process on it shares."""
    return utc_now()
