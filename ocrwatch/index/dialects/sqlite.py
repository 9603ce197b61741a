"""Everything in the index that only SQLite understands: connection setup, FTS5 and its queries, and
where fuzzy search finds a word's misreadings (the vocabulary held in memory). A query that is one
phrase is answered by the word pairs table instead (`sqlite_pairs.py`).

The rest of `ocrwatch.index` is portable SQLAlchemy; this module implements `dialects.Dialect`.

Several processes share one database file, so connections use WAL (readers never block the writer)
and a busy timeout, and transactions that will write start with BEGIN IMMEDIATE: a transaction that
reads first and upgrades to a write lock later can fail at once with "database is locked", whereas
one that asks for the lock up front simply waits its turn.

The SQLite library is `sqlite_driver`'s: a current one where a wheel brings it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Executable,
    Integer,
    Label,
    Row,
    Select,
    Table,
    TableClause,
    bindparam,
    event,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.sqlite import Insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from ocrwatch.errors import ConfigError, IndexUnavailable, QueryError
from ocrwatch.index.dialects import sqlite_pairs
from ocrwatch.index.dialects.sqlite_driver import sqlite3
from ocrwatch.index.records import Ranked
from ocrwatch.index.search import pairs
from ocrwatch.index.search.filters import Filters, Sort
from ocrwatch.index.search.filters import conditions as conditions_of
from ocrwatch.index.search.query import Query, Term, fold
from ocrwatch.index.search.vocabulary import Vocabulary
from ocrwatch.index.tables import documents, pages, utc_now

WRITES = "ocrwatch_writes"
"""Execution option (set by `database.writer`) marking transactions that will write."""

BUSY_TIMEOUT_SECONDS = 5.0
PRAGMAS = (
    f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}",
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


@dataclass(frozen=True, slots=True)
class _Fulltext:
    """An FTS5 table as a query sees it: its rowid is the page's id."""

    table: TableClause
    matches: ColumnElement[bool]
    rank: Label[Any]
    """bm25 in the select list and a tie-break on rowid: measured faster than FTS5's own `ORDER BY rank`."""

    @classmethod
    def named(cls, name: str) -> _Fulltext:
        return cls(
            sqlalchemy.table(name, sqlalchemy.column("rowid", Integer)),
            literal_column(name).match(bindparam("expression")),
            func.bm25(literal_column(name)).label("rank"),
        )


_WORDS = _Fulltext.named("pages_fts")
_PAIRS = _Fulltext.named(sqlite_pairs.TABLE)


def create_engine(url: str) -> Engine:
    """An engine for the SQLite database at `url`, its folder created if need be."""
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"cannot create the index's folder {folder}: {error.strerror}") from None
    engine = sqlalchemy.create_engine(parsed, module=sqlite3)
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
    sqlite_pairs.register(dbapi_connection)
    for pragma in PRAGMAS:
        dbapi_connection.execute(pragma)
    _use_wal(dbapi_connection)


def _use_wal(dbapi_connection: sqlite3.Connection) -> None:
    """Switch to WAL, waiting for other processes as long as the busy timeout would.

    Changing the journal mode never calls SQLite's busy handler: while another process holds a lock
    on a new database (two daemons creating one index together), it fails at once with "database is
    locked", so it is retried here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _on_begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def lock_migrations(connection: Connection) -> None:
    """Nothing to do: the migration's transaction began with BEGIN IMMEDIATE, SQLite's one write lock."""


def lock(connection: Connection, name: str) -> None:
    """Nothing to do: a write transaction began with BEGIN IMMEDIATE, so no other writer runs beside it."""


def create_fulltext(connection: Connection) -> None:
    """Create the full-text table and its triggers (called by the migrations)."""
    for statement in FULLTEXT_SCHEMA:
        connection.exec_driver_sql(statement)


def drop_fulltext(connection: Connection) -> None:
    for statement in FULLTEXT_DROP:
        connection.exec_driver_sql(statement)


def create_phrase_index(connection: Connection) -> None:
    """The word pairs that make phrases fast (called by the migration that adds them)."""
    sqlite_pairs.create(connection)


def drop_phrase_index(connection: Connection) -> None:
    sqlite_pairs.drop(connection)


def match_expression(query: Query) -> str:
    """The query in FTS5 syntax. Every term becomes an FTS5 string, so only our operators are syntax.

    Terms side by side are joined by an explicit AND, in parentheses: FTS5 accepts no implicit AND
    next to a group (a word with variants), and its implicit AND binds tighter than NOT and OR.
    """
    pieces: list[str] = []
    run: list[Term] = []
    for part in query.parts:
        if isinstance(part, str):
            pieces += [_all_of(run), part]
            run = []
        else:
            run.append(part)
    return " ".join([*pieces, _all_of(run)])


def _all_of(run: list[Term]) -> str:
    """Terms that must all match. One without letters or digits (`-`) is an empty FTS5 phrase, which
    an implicit AND ignores and an explicit one never matches: it is left out."""
    strings = [_fts5_string(term) for term in run if fold(term.text)] or [_fts5_string(t) for t in run[:1]]
    if len(strings) == 1:
        return strings[0]
    return "(" + " AND ".join(strings) + ")" if strings else ""  # none: after a last operator


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
) -> list[Ranked]:
    """Pages matching `query` and `filters` and not `without`, in `sort` order."""
    fulltext, expression = _source(query, without)
    ranked = _ranked(fulltext, filters, sort).limit(limit).offset(offset)
    rows = _fulltext(connection, query, ranked, {"expression": expression})
    return [Ranked(page_id, rank) for page_id, rank in rows]


def count(connection: Connection, query: Query, filters: Filters) -> int:
    """How many pages match `query` and `filters`."""
    fulltext, expression = _source(query, None)
    matching = _ranked(fulltext, filters, Sort.RELEVANCE).order_by(None).subquery()
    counted = select(func.count()).select_from(matching)
    [(found,)] = _fulltext(connection, query, counted, {"expression": expression})
    return int(found)


def _source(query: Query, without: Query | None) -> tuple[_Fulltext, str]:
    """The table that answers `query` (not `without`) and its MATCH expression: a lone phrase is
    looked up by its word pairs (`sqlite_pairs`), anything else in the words' table."""
    phrase = pairs.phrase(query) if without is None else None
    if phrase is not None:
        return _PAIRS, sqlite_pairs.expression(phrase)
    expression = match_expression(query)
    if without is not None:
        expression = f"({expression}) NOT ({match_expression(without)})"
    return _WORDS, expression


def _ranked(fulltext: _Fulltext, filters: Filters, sort: Sort) -> Select[tuple[int, float]]:
    """The matching pages' ids and ranks in `sort` order; pages and documents are joined only when a
    filter or the order needs them, so a plain search is the bare full-text query."""
    rowid = fulltext.table.c.rowid
    ranked = select(rowid.label("page_id"), fulltext.rank).where(fulltext.matches)
    conditions = conditions_of(filters)
    if conditions or sort is Sort.DATE:
        joined = fulltext.table.join(pages, pages.c.id == rowid).join(
            documents, documents.c.id == pages.c.document_id
        )
        ranked = ranked.select_from(joined).where(*conditions)
    if sort is Sort.DATE:
        return ranked.order_by(documents.c.created_at.desc(), documents.c.id.desc(), pages.c.number)
    return ranked.order_by(fulltext.rank, rowid)


def _fulltext(
    connection: Connection, query: Query, statement: Executable, parameters: dict[str, Any]
) -> Sequence[Row[Any]]:
    """Run a full-text statement; FTS5's refusal of an expression becomes a `QueryError`."""
    try:
        return connection.execute(statement, parameters).all()
    except OperationalError as error:
        if "fts5" not in str(error.orig):
            raise
        raise QueryError(f"cannot search for {query.text!r}: {error.orig}") from None


def create_vocabulary(connection: Connection) -> None:
    """Nothing to do: `similar_terms` reads the `terms` table into memory (`vocabulary.py`)."""


def similar_terms(connection: Connection, wanted: Mapping[str, int], limit: int) -> dict[str, list[str]]:
    """The index's terms near each word, from the vocabulary this process holds of the database."""
    vocabulary = _VOCABULARIES.setdefault(connection.engine, Vocabulary())
    vocabulary.refresh(connection)
    return vocabulary.similar(wanted, limit)


_VOCABULARIES: WeakKeyDictionary[Engine, Vocabulary] = WeakKeyDictionary()
"""One in-memory vocabulary per engine (per database a process has open), dropped with the engine."""


def insert(table: Table) -> Insert:
    """An INSERT that can say what to do ON CONFLICT (SQLite 3.24+ spells it as PostgreSQL does)."""
    return sqlite_insert(table)


def now(connection: Connection) -> datetime:
    """The index's clock. An SQLite file is on one host, whose clock every process on it shares."""
    return utc_now()
