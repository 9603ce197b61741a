"""What differs between the databases the index runs on: one module per database, one interface.

Everything else in `ocrwatch.index` is portable SQLAlchemy and asks `of(connection)` for the few
things only a database of its own kind can do: open an engine the way that database wants, make
migrations (and writers that would race, such as two claims choosing output names) wait for each
other, create and query its full-text index, find the terms near a misread word, insert with
`ON CONFLICT`, and tell the time by its own clock (so that several hosts sharing one index agree
about it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ocrwatch.errors import ConfigError
from ocrwatch.index.dialects import postgresql, sqlite
from ocrwatch.index.records import Ranked
from ocrwatch.index.search.filters import Filters, Sort
from ocrwatch.index.search.query import Query


class Dialect(Protocol):
    """The interface each module in this package implements (module-level functions)."""

    def create_engine(self, url: str) -> Engine: ...
    def lock_migrations(self, connection: Connection) -> None:
        """Make other processes wait until this transaction's migration is committed."""
        ...

    def lock(self, connection: Connection, name: str) -> None:
        """Make other transactions that lock `name` wait until this one ends."""
        ...

    def create_fulltext(self, connection: Connection) -> None: ...
    def drop_fulltext(self, connection: Connection) -> None: ...
    def create_phrase_index(self, connection: Connection) -> None:
        """What makes phrases fast beside the full-text index, if the database needs anything."""
        ...

    def drop_phrase_index(self, connection: Connection) -> None: ...
    def search(
        self,
        connection: Connection,
        query: Query,
        limit: int,
        offset: int,
        filters: Filters,
        sort: Sort,
        without: Query | None = None,
    ) -> list[Ranked]:
        """The ids and ranks of the pages matching `query` and `filters` (and not `without`), in
        `sort` order, ties by page id."""
        ...

    def count(self, connection: Connection, query: Query, filters: Filters) -> int:
        """How many pages `search` would find without a limit."""
        ...

    def create_vocabulary(self, connection: Connection) -> None:
        """What `similar_terms` needs beside the `terms` table (called by the migration that adds it)."""
        ...

    def similar_terms(
        self, connection: Connection, wanted: Mapping[str, int], limit: int
    ) -> dict[str, list[str]]:
        """For each folded word, up to `limit` other terms of the index within its edit distance
        (`wanted[word]`), nearest first: the misreadings `fuzzy` widens the query with."""
        ...

    def insert(self, table: Table) -> sqlite_dialect.Insert | postgresql_dialect.Insert:
        """The dialect's own INSERT, which has `on_conflict_do_nothing` / `on_conflict_do_update`."""
        ...

    def now(self, connection: Connection) -> datetime: ...


_DIALECTS: dict[str, Dialect] = {"sqlite": sqlite, "postgresql": postgresql}  # type: ignore[dict-item]


def create_engine(url: str) -> Engine:
    """An engine for `url`, by the dialect its scheme names."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ConfigError(f"the database URL {url!r} is not valid: {error}") from None
    backend = parsed.get_backend_name()
    if backend not in _DIALECTS:
        raise ConfigError(
            f"the index runs on {' or '.join(sorted(_DIALECTS))}; {backend} is not supported "
            f"(database: {parsed.render_as_string(hide_password=True)})"
        )
    return _DIALECTS[backend].create_engine(url)


def of(connection: Connection) -> Dialect:
    """The module for the database `connection` is connected to."""
    return _DIALECTS[connection.dialect.name]
