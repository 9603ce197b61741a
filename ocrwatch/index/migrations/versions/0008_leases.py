"""Several daemons on one queue: a file named by its watched folder and its place inside; claims as leases.

- `files.folder` / `files.relpath`: the watched folder's name and the POSIX path inside it, the same on
  every host however it mounts the share. Filled here from `root` and `path`: the folder's name is the
  base name of `root` (the config's default name), or `root` itself when two folders share a base name.
- `uq_files_open_place`: at most one queued or processing row per place, so that two daemons that see
  a new file at once queue it once (their inserts say ON CONFLICT DO NOTHING).
- `files.claimed_by` / `files.lease_until`: which daemon holds a claim, and until when (database
  clock). Rows in hand before this revision have no lease: any daemon may take them.
- `daemons.host` / `daemons.lease_seconds`: where a daemon runs, and how long its heartbeat may be
  silent before `ocrwatch status` calls it stale.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import posixpath
from collections import Counter
from pathlib import PurePath

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OPEN_ROWS = "status IN ('queued', 'processing')"


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("folder", sa.Text))
        batch.add_column(sa.Column("relpath", sa.Text))
        batch.add_column(sa.Column("claimed_by", sa.Text))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))
    with op.batch_alter_table("daemons") as batch:
        batch.add_column(sa.Column("host", sa.Text))
        batch.add_column(sa.Column("lease_seconds", sa.Float, nullable=False, server_default="60"))
    _fill_places()
    op.create_index("ix_files_folder_relpath", "files", ["folder", "relpath"])
    op.create_index(
        "uq_files_open_place",
        "files",
        ["folder", "relpath"],
        unique=True,
        sqlite_where=sa.text(OPEN_ROWS),
        postgresql_where=sa.text(OPEN_ROWS),
    )


def _fill_places() -> None:
    """Name each row found by a daemon by its folder and relative path (rows of `ocrwatch scan` have
    no folder and keep none)."""
    connection = op.get_bind()
    columns = ("id", "path", "root", "folder", "relpath")
    files = sa.table("files", *(sa.column(name) for name in columns))
    query = sa.select(files.c.id, files.c.path, files.c.root).where(files.c.root.is_not(None))
    rows = connection.execute(query).all()
    roots = {row.root for row in rows}
    shared = Counter(posixpath.basename(root.rstrip("/")) for root in roots)
    for row in rows:
        base = posixpath.basename(row.root.rstrip("/"))
        folder = base if shared[base] == 1 else row.root
        try:
            relpath = PurePath(row.path).relative_to(row.root).as_posix()
        except ValueError:
            relpath = PurePath(row.path).name
        connection.execute(
            sa.update(files).where(files.c.id == row.id).values(folder=folder, relpath=relpath)
        )


def downgrade() -> None:
    op.drop_index("uq_files_open_place", "files")
    op.drop_index("ix_files_folder_relpath", "files")
    with op.batch_alter_table("daemons") as batch:
        batch.drop_column("lease_seconds")
        batch.drop_column("host")
    with op.batch_alter_table("files") as batch:
        for column in ("lease_until", "claimed_by", "relpath", "folder"):
            batch.drop_column(column)
