"""Engines on an index without ocrwatch's connection set-up, for tests that play another process or
look at the rows themselves."""

from __future__ import annotations

from typing import Any

import sqlalchemy
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from ocrwatch.index.dialects.sqlite_driver import sqlite3


def plain_engine(url: str, **options: Any) -> Engine:
    """An SQLAlchemy engine for `url`; on SQLite through ocrwatch's SQLite library, since two copies
    of SQLite in one process do not see each other's locks (a writer would not wait for the other)."""
    if make_url(url).get_backend_name() == "sqlite":
        options["module"] = sqlite3
    return sqlalchemy.create_engine(url, **options)
