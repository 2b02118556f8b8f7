"""unread totals kept by triggers

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 15:20:00

Every inbound message tells each recipient their new unread total. Summing it read all
of the user's unread conversations (hundreds in a busy shared inbox) for every batch.
`unread_totals` holds the sum, kept by triggers on `conversation_states`, so no code
path that changes an unread count or hides a conversation can forget it. A row counts
`unread` while `hidden` is false.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_VISIBLE_NEW = "(CASE WHEN NEW.hidden THEN 0 ELSE NEW.unread END)"
_VISIBLE_OLD = "(CASE WHEN OLD.hidden THEN 0 ELSE OLD.unread END)"
_ADD = (
    "INSERT INTO unread_totals (user_id, total) VALUES ({user}, {delta}) "
    "ON CONFLICT (user_id) DO UPDATE SET total = unread_totals.total + excluded.total"
)

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER unread_totals_insert AFTER INSERT ON conversation_states
    WHEN {_VISIBLE_NEW} <> 0
    BEGIN {_ADD.format(user="NEW.user_id", delta=_VISIBLE_NEW)}; END""",
    f"""CREATE TRIGGER unread_totals_update AFTER UPDATE OF unread, hidden ON conversation_states
    WHEN {_VISIBLE_NEW} <> {_VISIBLE_OLD}
    BEGIN {_ADD.format(user="NEW.user_id", delta=f"{_VISIBLE_NEW} - {_VISIBLE_OLD}")}; END""",
    f"""CREATE TRIGGER unread_totals_delete AFTER DELETE ON conversation_states
    WHEN {_VISIBLE_OLD} <> 0
    BEGIN {_ADD.format(user="OLD.user_id", delta=f"-{_VISIBLE_OLD}")}; END""",
]

POSTGRES_FUNCTION = f"""
CREATE FUNCTION smshub_unread_totals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta integer := 0;
    who varchar(26);
BEGIN
    IF TG_OP = 'DELETE' THEN
        who := OLD.user_id;
    ELSE
        who := NEW.user_id;
        delta := {_VISIBLE_NEW};
    END IF;
    IF TG_OP <> 'INSERT' THEN
        delta := delta - {_VISIBLE_OLD};
    END IF;
    IF delta <> 0 THEN
        {_ADD.format(user="who", delta="delta")};
    END IF;
    RETURN NULL;
END $$"""
POSTGRES_TRIGGER = """CREATE TRIGGER unread_totals AFTER INSERT OR UPDATE OR DELETE
    ON conversation_states FOR EACH ROW EXECUTE FUNCTION smshub_unread_totals()"""


def upgrade() -> None:
    op.create_table(
        "unread_totals",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_unread_totals")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    op.execute(
        "INSERT INTO unread_totals (user_id, total) SELECT user_id, SUM(unread) "
        "FROM conversation_states WHERE unread > 0 AND NOT hidden GROUP BY user_id"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER unread_totals ON conversation_states")
        op.execute("DROP FUNCTION smshub_unread_totals()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER unread_totals_{name}")
    op.drop_table("unread_totals")
