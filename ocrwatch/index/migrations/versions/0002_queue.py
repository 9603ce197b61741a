"""The durable queue: which watched folder a file came from, and when it may be tried again.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default) works on SQLite without a table rebuild.
    op.add_column("files", sa.Column("root", sa.Text))
    op.add_column("files", sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
    op.create_index("ix_files_status_next_attempt_at", "files", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_files_status_next_attempt_at", "files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("root")
