"""Every arrival its own record; output names reserved at the claim; the notification outbox; daemons.

- `files.path` is no longer unique: a file dropped again at a path already read is a new row, and
  the earlier row keeps its document and its output name. `moved_to` is where the original went.
- `claim_token` fences a claim: a worker's result is recorded only while the row still holds it.
- `after_due` / `after_error`: an after-action (move, delete) not done yet, retried with backoff.
- `outbox`: notifications, written in the transaction that records the outcome, delivered at least
  once under their own id.
- `daemons`: each running daemon's heartbeat and pause state, for `ocrwatch status`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_constraint("uq_files_path", type_="unique")
        batch.add_column(sa.Column("moved_to", sa.Text))
        batch.add_column(sa.Column("claim_token", sa.String(32)))
        batch.add_column(sa.Column("after_due", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("after_error", sa.Text))
        batch.add_column(sa.Column("after_attempts", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_files_path", "files", ["path"])
    op.create_index("ix_files_after_due", "files", ["after_due"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file_id", sa.Integer, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name="fk_outbox_file_id_files", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_outbox_due_at", "outbox", ["due_at"])
    op.create_table(
        "daemons",
        sa.Column("node", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("folders", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused", sa.Text),
        sa.Column("paused_since", sa.DateTime(timezone=True)),
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("node", name="pk_daemons"),
    )


def downgrade() -> None:
    op.drop_table("daemons")
    op.drop_index("ix_outbox_due_at", "outbox")
    op.drop_table("outbox")
    op.drop_index("ix_files_after_due", "files")
    op.drop_index("ix_files_path", "files")
    with op.batch_alter_table("files") as batch:
        for column in ("after_attempts", "after_error", "after_due", "claim_token", "moved_to"):
            batch.drop_column(column)
        batch.create_unique_constraint("uq_files_path", ["path"])
