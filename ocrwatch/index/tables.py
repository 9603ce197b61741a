"""The index's tables as SQLAlchemy Core objects: what the statements in `store` are written against.

Core tables rather than ORM classes, because every access is a plain statement (bulk inserts of
words, updates by path) and nothing needs an identity map. The migrations create these tables;
`tests/test_index.py` checks that both still agree. The full-text table lives in `sqlite.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always in UTC; SQLite drops the zone, so it is put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


# Named constraints keep future migrations stable (SQLite's batch mode and PostgreSQL need names).
metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    }
)

files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", Text, nullable=False, unique=True),
    Column("size", BigInteger),
    Column("mtime", Float),
    Column("sha256", String(64)),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("document_id", ForeignKey("documents.id", ondelete="SET NULL"), index=True),
    Column("output_stem", Text, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("root", Text),
    Column("next_attempt_at", UtcDateTime),
    Index(None, "status", "updated_at"),
    Index(None, "status", "next_attempt_at"),
)
"""One row per path seen; also the durable queue (`status`, `next_attempt_at`).

`root` is the watched folder the daemon found the path in (NULL for `ocrwatch scan`);
`next_attempt_at` holds a queued path back while it settles or until its next retry."""

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("engine", Text, nullable=False),
    Column("engine_version", Text, nullable=False),
    Column("page_count", Integer, nullable=False),
    Column("ocr_seconds", Float, nullable=False),
    Column("timings", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
"""One row per distinct content; `timings` is JSON text, stage → seconds."""

pages = Table(
    "pages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("rotation", Integer, nullable=False, server_default="0"),
    UniqueConstraint("document_id", "number"),
)
"""`number` is 1-based; `text` is what the full-text index reads; `rotation` (degrees clockwise) is
how far the page was turned to be read."""

lines = Table(
    "lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("page_id", ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("box", Text, nullable=False),
    UniqueConstraint("page_id", "number"),
)
"""`number` is the 0-based index in `PageText.lines`; `box` is JSON text of four [x, y] points."""

words = Table(
    "words",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("page_id", ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("line_number", Integer),
    Column("text", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("box", Text, nullable=False),
    UniqueConstraint("page_id", "number"),
)
"""`number` is the 0-based index in `PageText.words`; `line_number` the line that holds the word."""
