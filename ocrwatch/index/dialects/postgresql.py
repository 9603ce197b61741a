"""Everything in the index that only PostgreSQL understands: the engine, full-text search with a
`tsvector` column and a GIN index, and which errors mean the server is out of reach.

Pages are tokenized as SQLite's `unicode61 remove_diacritics 2` does, so that a query finds the same
pages on both: runs of letters and digits, lowercased, accents removed, no stemming and no stop words.
PostgreSQL's parser alone would keep `9.00` or `ta.k` whole (as a number, a host name), so every run
of punctuation is fenced with U+0001 first, which the parser reads as a space; the text search
configuration then takes each word through `unaccent` and `simple` (which lowercases).
"""

from __future__ import annotations

from datetime import datetime

import psycopg
import sqlalchemy
from sqlalchemy import Connection, Engine, Select, Table, bindparam, event, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.engine import URL, ExceptionContext, make_url

from ocrwatch.errors import ConfigError, IndexUnavailable
from ocrwatch.index.dialects.postgresql_fuzzy import similar_terms as similar_terms
from ocrwatch.index.records import Ranked
from ocrwatch.index.search.filters import Filters, Sort
from ocrwatch.index.search.filters import conditions as conditions_of
from ocrwatch.index.search.query import Query, Term, fold
from ocrwatch.index.tables import documents, pages

CONFIG = "ocrwatch_fts"
"""The text search configuration: `simple` with `unaccent` before it."""

_SPLIT = r"regexp_replace({}, '([^[:alnum:][:space:]]+)', chr(1) || '\1' || chr(1), 'g')"
"""The page text with its punctuation fenced off, as the index reads it."""

_WORDS = ("asciiword", "word", "numword", "asciihword", "hword", "numhword", "hword_asciipart",
          "hword_part", "hword_numpart")  # fmt: skip
"""The parser's token types that are words (the rest, numbers and spaces, need no accents removed)."""

MIGRATION_LOCK = 0x6F637277  # "ocrw"
"""The advisory lock key that serialises migrations between daemons starting together."""
NAMED_LOCKS = 0x6F63  # "oc"
"""The first key of `lock`'s two-key advisory locks (a key space apart from the migration's)."""

FULLTEXT_SCHEMA = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = simple)",
    f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR {', '.join(_WORDS)} WITH unaccent, simple",
    # A stored column rather than an expression index: ranking reads each match's vector, and
    # reading it is far cheaper than tokenizing the page again.
    f"ALTER TABLE pages ADD COLUMN fts tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('{CONFIG}'::regconfig, {_SPLIT.format('text')})) STORED",
    "CREATE INDEX pages_fts ON pages USING gin (fts)",
)
FULLTEXT_DROP = (
    "DROP INDEX pages_fts",
    "ALTER TABLE pages DROP COLUMN fts",
    f"DROP TEXT SEARCH CONFIGURATION {CONFIG}",
)

VOCABULARY_SCHEMA = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS fuzzystrmatch",
    "CREATE INDEX ix_terms_term_trgm ON terms USING gin (term gin_trgm_ops)",
)
"""What `postgresql_fuzzy.similar_terms` searches the `terms` table with (both extensions trusted)."""

_VECTOR = literal_column("pages.fts")
_QUERY = func.to_tsquery(literal_column(f"'{CONFIG}'::regconfig"), bindparam("expression"))
_MATCHES = _VECTOR.bool_op("@@")(_QUERY)
# Cover density, divided by 1 + log(length) as bm25 favours short pages; negated so that, as with
# bm25, lower is better.
_RANK = (-func.ts_rank_cd(_VECTOR, _QUERY, 1)).label("rank")

_UNAVAILABLE = {"57P01", "57P02", "57P03"}
"""Admin shutdown, crash shutdown, cannot connect now."""
_UNAVAILABLE_CLASSES = {"08", "53", "58"}
"""Connection exceptions, insufficient resources (disk full, out of memory), system (I/O) errors."""


def create_engine(url: str) -> Engine:
    """An engine for the PostgreSQL database at `url`, through psycopg 3 (`postgresql://` means it)."""
    parsed = _psycopg_url(make_url(url))
    # pre_ping: a connection the pool kept across a server restart is replaced, not handed out dead.
    engine = sqlalchemy.create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    event.listen(engine, "handle_error", _on_error)
    return engine


def _psycopg_url(url: URL) -> URL:
    if url.drivername == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if url.drivername != "postgresql+psycopg":
        raise ConfigError(
            f"the index reaches PostgreSQL through psycopg 3: write postgresql+psycopg:// "
            f"(database: {url.render_as_string(hide_password=True)})"
        )
    return url


def _on_error(context: ExceptionContext) -> None:
    """Raise `IndexUnavailable` when the server cannot be reached or cannot write, for every caller."""
    error = context.original_exception
    if not isinstance(error, psycopg.OperationalError):
        return
    state = error.sqlstate
    # No SQLSTATE: libpq's own failure (connection refused, the server closed the connection).
    if state is None or state in _UNAVAILABLE or state[:2] in _UNAVAILABLE_CLASSES:
        raise IndexUnavailable(f"the index is unavailable: {str(error).strip()}") from error


def lock_migrations(connection: Connection) -> None:
    """Wait until no other process migrates; the lock ends with the migration's transaction."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def lock(connection: Connection, name: str) -> None:
    """An advisory lock on `name`'s hash, held until the transaction ends (a hash shared by two names
    only makes one wait for the other)."""
    connection.execute(
        text("SELECT pg_advisory_xact_lock(:space, hashtext(:name))"), {"space": NAMED_LOCKS, "name": name}
    )


def create_fulltext(connection: Connection) -> None:
    """Create the full-text column, its index and its configuration (called by the migrations)."""
    _check_letters(connection)
    for statement in FULLTEXT_SCHEMA:
        connection.exec_driver_sql(statement)


def _check_letters(connection: Connection) -> None:
    """Refuse a database whose encoding or locale knows only ASCII letters: `[:alnum:]` and
    lowercasing would leave é, ä or 中 out of the words."""
    encoding, ctype = connection.execute(
        text(
            "SELECT pg_encoding_to_char(encoding), datctype FROM pg_database "
            "WHERE datname = current_database()"
        )
    ).one()
    if encoding != "UTF8" or ctype in ("C", "POSIX"):
        raise ConfigError(
            f"the index needs a database with UTF8 encoding and a UTF-8 locale, not {encoding} and "
            f"{ctype}: createdb --encoding UTF8 --locale C.UTF-8 --template template0"
        )


def drop_fulltext(connection: Connection) -> None:
    for statement in FULLTEXT_DROP:
        connection.exec_driver_sql(statement)


def create_phrase_index(connection: Connection) -> None:
    """Nothing yet: a phrase is checked against the `tsvector` of each row the GIN index returns.
    Word pairs (`search/pairs.py`) would need a second generated column that SQL alone computes."""


def drop_phrase_index(connection: Connection) -> None:
    """Nothing to drop (`create_phrase_index`)."""


def tsquery(query: Query) -> str:
    """The query in `to_tsquery` syntax, grouped as FTS5 groups it (`dialects/sqlite.py`): terms side
    by side must all match, in parentheses, and `OR` / `NOT` stand between such runs. Terms are
    tokenized here as the index tokenizes, so only our operators are syntax; a term without letters
    or digits stands for nothing."""
    rendered = ""
    operator = "AND"
    run: list[Term] = []
    for part in [*query.parts, "AND"]:  # the last AND ends the last run
        if isinstance(part, Term):
            run.append(part)
            continue
        group = _all_of(run)
        if group and rendered:
            rendered += f" {_JOINTS[operator]} {group}"
        elif group:  # the first run with tokens (a NOT before it: after a run of none)
            rendered = f"!{group}" if operator == "NOT" else group
        operator, run = part, []
    return rendered


_JOINTS = {"AND": "&", "OR": "|", "NOT": "& !"}


def _all_of(run: list[Term]) -> str:
    phrases = [phrase for term in run if (phrase := _phrase(term))]
    return "(" + " & ".join(phrases) + ")" if phrases else ""


def _phrase(term: Term) -> str:
    """`'a' <-> 'b':*`, or with variants `('a' | 'v1' | 'v2')`; empty for a term with no tokens."""
    tokens = [f"'{token}'" for token in fold(term.text)]
    if not tokens:
        return ""
    if term.prefix:
        tokens[-1] += ":*"
    alternatives = [" <-> ".join(tokens), *(f"'{variant}'" for variant in term.variants)]
    return "(" + " | ".join(alternatives) + ")"


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
    expression = tsquery(query)
    if without is not None:
        expression = f"({expression}) & !({tsquery(without)})"
    ranked = _ranked(filters, sort).limit(limit).offset(offset)
    rows = connection.execute(ranked, {"expression": expression}).all()
    return [Ranked(page_id, rank) for page_id, rank in rows]


def count(connection: Connection, query: Query, filters: Filters) -> int:
    """How many pages match `query` and `filters`."""
    counted = select(func.count()).select_from(_ranked(filters, Sort.RELEVANCE).order_by(None).subquery())
    return int(connection.execute(counted, {"expression": tsquery(query)}).scalar_one())


def _ranked(filters: Filters, sort: Sort) -> Select[tuple[int, float]]:
    """The matching pages' ids and ranks in `sort` order (the GIN index finds them)."""
    ranked = select(pages.c.id.label("page_id"), _RANK).where(_MATCHES)
    conditions = conditions_of(filters)
    if conditions or sort is Sort.DATE:
        joined = pages.join(documents, documents.c.id == pages.c.document_id)
        ranked = ranked.select_from(joined).where(*conditions)
    if sort is Sort.DATE:
        return ranked.order_by(documents.c.created_at.desc(), documents.c.id.desc(), pages.c.number)
    return ranked.order_by(_RANK, pages.c.id)


def create_vocabulary(connection: Connection) -> None:
    """The trigram index on `terms` that fuzzy search narrows the vocabulary with."""
    for statement in VOCABULARY_SCHEMA:
        connection.exec_driver_sql(statement)


def insert(table: Table) -> Insert:
    """An INSERT that can say what to do ON CONFLICT."""
    return postgresql_insert(table)


def now(connection: Connection) -> datetime:
    """The database server's clock, which every host sharing the index agrees on."""
    return connection.scalar(text("SELECT clock_timestamp()"))
