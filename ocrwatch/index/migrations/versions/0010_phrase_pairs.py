"""Word pairs beside the full-text index, so that a phrase of common words is found fast
(`search/pairs.py`); SQLite indexes its pages' pairs here, PostgreSQL has nothing to add.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op

from ocrwatch.index import dialects

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialects.of(op.get_bind()).create_phrase_index(op.get_bind())


def downgrade() -> None:
    dialects.of(op.get_bind()).drop_phrase_index(op.get_bind())
