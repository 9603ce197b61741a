"""Notifications as claims: a daemon takes a due outbox row under a lease before it delivers it, so that
two daemons sharing the index never deliver one notification both.

- `outbox.claimed_by`: the node whose delivery attempt holds the row; only it records the outcome.
- `outbox.lease_until`: until when (database clock); a row whose lease ran out (its daemon died in the
  attempt) is due again for any daemon.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.Text))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
