"""Alembic's entry point. Migrations run on the connection `ocrwatch.index.database.migrate` passes
in, inside its transaction.

A new revision is written by hand, SQL in view, starting from this folder's template:
    python -c "from alembic import command, config; c = config.Config();
    c.set_main_option('script_location', 'ocrwatch/index/migrations');
    command.revision(c, 'what it changes', rev_id='0002')"
"""

from alembic import context

context.configure(connection=context.config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
