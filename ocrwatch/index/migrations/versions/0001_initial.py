"""Files, documents, their pages, lines and words, and the pages' full-text index.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

import sqlalchemy as sa
from alembic import op

from ocrwatch.index import dialects

# Pages, lines and words grow without bound: 64-bit ids on PostgreSQL, the rowid (INTEGER) on SQLite.
BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("engine", sa.Text, nullable=False),
        sa.Column("engine_version", sa.Text, nullable=False),
        sa.Column("page_count", sa.Integer, nullable=False),
        sa.Column("ocr_seconds", sa.Float, nullable=False),
        sa.Column("timings", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("sha256", name="uq_documents_sha256"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("mtime", sa.Float),
        sa.Column("sha256", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("document_id", sa.Integer),
        sa.Column("output_stem", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
        sa.UniqueConstraint("path", name="uq_files_path"),
        sa.UniqueConstraint("output_stem", name="uq_files_output_stem"),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_files_document_id_documents", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_files_document_id", "files", ["document_id"])
    op.create_index("ix_files_status_updated_at", "files", ["status", "updated_at"])
    op.create_table(
        "pages",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("document_id", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pages"),
        sa.UniqueConstraint("document_id", "number", name="uq_pages_document_id_number"),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_pages_document_id_documents", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "lines",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("page_id", BIG_ID, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("box", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lines"),
        sa.UniqueConstraint("page_id", "number", name="uq_lines_page_id_number"),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], name="fk_lines_page_id_pages", ondelete="CASCADE"),
    )
    op.create_table(
        "words",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("page_id", BIG_ID, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("line_number", sa.Integer),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("box", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_words"),
        sa.UniqueConstraint("page_id", "number", name="uq_words_page_id_number"),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], name="fk_words_page_id_pages", ondelete="CASCADE"),
    )
    dialects.of(op.get_bind()).create_fulltext(op.get_bind())


def downgrade() -> None:
    dialects.of(op.get_bind()).drop_fulltext(op.get_bind())
    for table in ("words", "lines", "pages", "files", "documents"):
        op.drop_table(table)
