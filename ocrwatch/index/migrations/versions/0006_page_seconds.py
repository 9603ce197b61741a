"""How long each page's OCR took, so that `/metrics` can give OCR seconds per page by engine from the
index, whichever process read the page.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("seconds", sa.Float))


def downgrade() -> None:
    # Not batch mode: SQLite's table rebuild would drop the full-text triggers on pages (SQLite 3.35
    # and later drop a column in place).
    op.drop_column("pages", "seconds")
