"""jobs NOTIFY smshub_jobs on insert (PostgreSQL), so workers in other processes wake

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 23:00:00

A statement-level trigger: one notification per INSERT statement, folded into one per
transaction by PostgreSQL, and no extra round trip for whoever enqueues. The payload is
the enqueuer's application_name (`smshub:<pid>`), so a process ignores its own jobs,
which already woke its runner in memory. SQLite is one process, whose runner is woken in
memory, so it gets nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION smshub_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('smshub_jobs', current_setting('application_name'));
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER jobs_notify AFTER INSERT ON jobs"
        " FOR EACH STATEMENT EXECUTE FUNCTION smshub_jobs_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS jobs_notify ON jobs")
    op.execute("DROP FUNCTION IF EXISTS smshub_jobs_notify()")
