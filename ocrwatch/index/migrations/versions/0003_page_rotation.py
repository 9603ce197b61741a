"""How far each page was turned to be read: its word boxes stay in the pixels of the page as stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("rotation", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    # Not batch mode: SQLite's table rebuild would drop the full-text triggers on pages (SQLite 3.35
    # and later drop a column in place).
    op.drop_column("pages", "rotation")
