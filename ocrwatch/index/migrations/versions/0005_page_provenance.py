"""What read each page, from where (OCR or a PDF's own text layer) and why.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("engine", sa.Text, nullable=False, server_default=""))
    op.add_column("pages", sa.Column("source", sa.String(16), nullable=False, server_default="ocr"))
    op.add_column("pages", sa.Column("reason", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    # Not batch mode: SQLite's table rebuild would drop the full-text triggers on pages (SQLite 3.35
    # and later drop a column in place).
    for column in ("reason", "source", "engine"):
        op.drop_column("pages", column)
