"""Opening the index: an engine for the configured URL, with the schema migrated to the newest version.

Alembic runs in-process on a connection passed through `Config.attributes`, so no alembic.ini is
needed and an installed wheel migrates its own database.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ocrwatch.index import dialects
from ocrwatch.index.dialects import sqlite

MIGRATIONS = "ocrwatch.index:migrations"


def connect(url: str) -> Engine:
    """An engine for `url` whose schema is up to date; safe to call from several processes at once."""
    engine = dialects.create_engine(url)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine and pool, marked so that each transaction takes the write lock as it begins
    (SQLite's BEGIN IMMEDIATE; other databases lock the rows a statement touches)."""
    return engine.execution_options(**{sqlite.WRITES: True})


def migrate(engine: Engine) -> None:
    """Upgrade to the newest schema in one transaction, under a lock so that daemons starting together
    migrate once; a database already there is left as it is."""
    with writer(engine).begin() as connection:
        dialects.of(connection).lock_migrations(connection)
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def shown(url: str) -> str:
    """`url` as a message may show it: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def schema_version(connection: Connection) -> str:
    """The alembic revision the database is at."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise RuntimeError("the index has no schema version: it was not migrated")
    return revision
