"""The index's tables as SQLAlchemy Core objects: what the statements in `store` are written against.

Core tables rather than ORM classes, because every access is a plain statement (bulk inserts of
words, updates by path) and nothing needs an identity map. The migrations create these tables;
`tests/test_index.py` checks that both still agree. The full-text parts live in `dialects/`.
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
    text,
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always in UTC on the way out: SQLite drops the zone, PostgreSQL gives its own."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # PostgreSQL answers in the session's time zone, which the server's settings choose.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    """The time every row is stamped with."""
    return datetime.now(UTC)


BigId = BigInteger().with_variant(Integer, "sqlite")
"""The id of a table that grows without bound (a page's words): 64-bit on PostgreSQL. On SQLite an
INTEGER PRIMARY KEY is the rowid, 64-bit already, and only that spelling makes it the rowid."""

OPEN_ROWS = "status IN ('queued', 'processing')"
"""The rows of a file still in the queue or in hand: one per place at a time."""

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
    Column("path", Text, nullable=False, index=True),
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
    Column("moved_to", Text),
    Column("claim_token", String(32)),
    Column("after_due", UtcDateTime, index=True),
    Column("after_error", Text),
    Column("after_attempts", Integer, nullable=False, server_default="0"),
    Column("folder", Text),
    Column("relpath", Text),
    Column("claimed_by", Text),
    Column("lease_until", UtcDateTime),
    Index(None, "status", "updated_at"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "folder", "relpath"),
    Index(
        "uq_files_open_place",
        "folder",
        "relpath",
        unique=True,
        sqlite_where=text(OPEN_ROWS),
        postgresql_where=text(OPEN_ROWS),
    ),
)
"""One row per arrival: a file dropped again at a path already read is a new row, and the earlier
row keeps its document and output name. Also the durable queue (`status`, `next_attempt_at`).

`root` is the watched folder the daemon found the path in (NULL for `ocrwatch scan`);
`next_attempt_at` holds a queued path back while it settles or until its next retry; `output_stem`
is reserved when the row is claimed; `claim_token` names the claim a result must still hold to be
recorded; `moved_to` is where the after-action put the original; `after_due` marks an after-action
(move, delete) not done yet, retried with backoff (`after_error`, `after_attempts`).

A file's identity across hosts is `folder` (the watched folder's configured name) and `relpath` (the
POSIX path inside it); `path` and `root` are where the host that last claimed it saw them. At most one
open (queued or processing) row per place (`uq_files_open_place`), so daemons sharing a folder queue
each new file once. A claim is a lease: `claimed_by` (the daemon's node name) holds it until
`lease_until` (the database's clock), renewed while the file is in hand."""

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
    Column("id", BigId, primary_key=True),
    Column("document_id", ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("rotation", Integer, nullable=False, server_default="0"),
    Column("engine", Text, nullable=False, server_default=""),
    Column("source", String(16), nullable=False, server_default="ocr"),
    Column("reason", Text, nullable=False, server_default=""),
    Column("seconds", Float),
    UniqueConstraint("document_id", "number"),
)
"""`number` is 1-based; `text` is what the full-text index reads; `rotation` (degrees clockwise) is
how far the page was turned to be read; `engine`, `source` and `reason` say what read it, from
where (OCR or a PDF's text layer) and why; `seconds` how long its OCR took (NULL for a page read
from its text layer, or stored before it was kept), for `/metrics`."""

lines = Table(
    "lines",
    metadata,
    Column("id", BigId, primary_key=True),
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
    Column("id", BigId, primary_key=True),
    Column("page_id", ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("line_number", Integer),
    Column("text", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("box", Text, nullable=False),
    UniqueConstraint("page_id", "number"),
)
"""`number` is the 0-based index in `PageText.words`; `line_number` the line that holds the word."""

terms = Table(
    "terms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("term", Text, nullable=False, unique=True),
)
"""Every token the full-text index holds, folded as its tokenizer folds it (`query.fold`): the
vocabulary that fuzzy search looks for a query word's misreadings in. Terms are only added, never
removed: one whose pages are gone finds nothing. `id` grows, so a cached copy reads only new rows."""

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("file_id", ForeignKey("files.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(16), nullable=False),
    Column("target", String(16), nullable=False),
    Column("body", Text),
    Column("due_at", UtcDateTime, index=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("delivered_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("claimed_by", Text),
    Column("lease_until", UtcDateTime),
)
"""Notifications to deliver: one row per file, event (`on_done`, `on_failed`) and target (`webhook`,
`command`), written in the transaction that records the file's outcome. `body` is the JSON summary;
`due_at` NULL holds the row until the file's after-action is done (the summary says where the
original went); `delivered_at` set means delivered or given up (`last_error` says which).
`claimed_by` is the node whose attempt holds the row until `lease_until` (database clock): only it
records what came of it."""

daemons = Table(
    "daemons",
    metadata,
    Column("node", Text, primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("folders", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("paused", Text),
    Column("paused_since", UtcDateTime),
    Column("stopped_at", UtcDateTime),
    Column("host", Text),
    Column("lease_seconds", Float, nullable=False, server_default="60"),
)
"""Each daemon that runs on this index: its heartbeat, and why it paused (a full disk, a locked
database), for `ocrwatch status`. `folders` is JSON text: the watched folders' names. A heartbeat
older than `lease_seconds` means the daemon is gone (its leases have expired too)."""
