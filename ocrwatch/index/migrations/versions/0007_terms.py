"""The vocabulary of the full-text index, for fuzzy search: every folded token of every page.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from ocrwatch.index import dialects
from ocrwatch.index.search import terms

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("term", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_terms"),
        sa.UniqueConstraint("term", name="uq_terms_term"),
    )
    terms.backfill(op.get_bind())
    dialects.of(op.get_bind()).create_vocabulary(op.get_bind())


def downgrade() -> None:
    op.drop_table("terms")
