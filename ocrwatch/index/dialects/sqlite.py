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
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy
from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    Float,
    Integer,
    Result,
    Select,
    Table,
    bindparam,
    event,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.sqlite import Insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from ocrwatch.errors import ConfigError, IndexUnavailable, QueryError
from ocrwatch.index.filters import Filters, Sort
from ocrwatch.index.filters import conditions as conditions_of
from ocrwatch.index.query import Query, Term
from ocrwatch.index.records import PageMatch
from ocrwatch.index.tables import documents, pages, utc_now
from ocrwatch.index.vocabulary import Vocabulary

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

# The full-text table as SQLAlchemy sees it: its rowid is the page's id; `rank` is bm25 (lower is better).
_FTS = sqlalchemy.table("pages_fts", sqlalchemy.column("rowid", Integer), sqlalchemy.column("rank", Float))
_MATCHES = literal_column("pages_fts").match(bindparam("expression"))

# What a hit shows, made for the returned pages only: computed in the ranked query, snippet() and the
# path would be made for every match before the sort. `path` is the document's first-recorded file,
# the same one `Index.document` calls its source.
DETAILS = text(
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
        snippet(pages_fts, 0, char(2), char(3), '…', 16) AS snippet
    FROM pages_fts
    JOIN pages ON pages.id = pages_fts.rowid
    WHERE pages_fts MATCH :expression AND pages_fts.rowid IN :ids
    """
).bindparams(bindparam("ids", expanding=True))


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
    """The term as an FTS5 string; with variants, the group of it OR them."""
    quoted = _quoted(term.text) + ("*" if term.prefix else "")
    if not term.variants:
        return quoted
    return "(" + " OR ".join([quoted, *map(_quoted, term.variants)]) + ")"


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def search(
    connection: Connection,
    query: Query,
    limit: int,
    offset: int,
    filters: Filters,
    sort: Sort,
    without: Query | None = None,
) -> list[PageMatch]:
    """Pages matching `query` and `filters` and not `without`, in `sort` order."""
    expression = match_expression(query)
    if without is not None:
        expression = f"({expression}) NOT ({match_expression(without)})"
    ranked = _ranked(filters, sort).limit(limit).offset(offset)
    top = _fulltext(connection, query, ranked, {"expression": expression}).all()
    if not top:
        return []
    rows = {
        row.page_id: row
        for row in _fulltext(
            connection, query, DETAILS, {"expression": expression, "ids": [t.page_id for t in top]}
        )
    }
    return [
        PageMatch(
            page_id,
            (row := rows[page_id]).document_id,
            row.number,
            row.width,
            row.height,
            row.path,
            _segments(row.snippet),
            rank,
        )
        for page_id, rank in top
    ]


def count(connection: Connection, query: Query, filters: Filters) -> int:
    """How many pages match `query` and `filters`."""
    counted = select(func.count()).select_from(_ranked(filters, Sort.RELEVANCE).order_by(None).subquery())
    return _fulltext(connection, query, counted, {"expression": match_expression(query)}).scalar_one()


def _ranked(filters: Filters, sort: Sort) -> Select[tuple[int, float]]:
    """The matching pages' ids and ranks in `sort` order; pages and documents are joined only when a
    filter or the order needs them, so a plain search is the bare full-text query."""
    ranked = select(_FTS.c.rowid.label("page_id"), _FTS.c.rank).where(_MATCHES)
    conditions = conditions_of(filters)
    if conditions or sort is Sort.DATE:
        joined = _FTS.join(pages, pages.c.id == _FTS.c.rowid).join(
            documents, documents.c.id == pages.c.document_id
        )
        ranked = ranked.select_from(joined).where(*conditions)
    if sort is Sort.DATE:
        return ranked.order_by(documents.c.created_at.desc(), documents.c.id.desc(), pages.c.number)
    return ranked.order_by(_FTS.c.rank, _FTS.c.rowid)


def _fulltext(
    connection: Connection, query: Query, statement: Executable, parameters: dict[str, Any]
) -> Result[Any]:
    """Run a full-text statement; FTS5's refusal of an expression becomes a `QueryError`."""
    try:
        return connection.execute(statement, parameters)
    except OperationalError as error:
        if "fts5" not in str(error.orig):
            raise
        raise QueryError(f"cannot search for {query.text!r}: {error.orig}") from None


def similar_terms(connection: Connection, wanted: Mapping[str, int], limit: int) -> dict[str, list[str]]:
    """The index's terms near each word, from the vocabulary this process holds of the database."""
    vocabulary = _VOCABULARIES.setdefault(connection.engine, Vocabulary())
    vocabulary.refresh(connection)
    return vocabulary.similar(wanted, limit)


_VOCABULARIES: WeakKeyDictionary[Engine, Vocabulary] = WeakKeyDictionary()
"""One in-memory vocabulary per engine (per database a process has open), dropped with the engine."""


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
