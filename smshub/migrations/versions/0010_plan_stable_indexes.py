"""indexes that keep PostgreSQL's plans right while tables grow

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 20:00:00

Under load on a young database (statistics behind the tables' growth), PostgreSQL chose
the index on conversations.number_id alone and filtered a number's every conversation,
and read a connector's every message to map a batch of receipts. The unique
(number_id, remote_e164) covers number_id; carrier_ref now leads its index; the claim's
order (status, run_at, id) is the due index, so a claim stops at its limit.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_number_id")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_carrier_ref")
        batch_op.create_index("ix_messages_carrier_ref", ["carrier_ref", "connector_id"])
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_due")
        batch_op.create_index("ix_jobs_due", ["status", "run_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_due")
        batch_op.create_index("ix_jobs_due", ["status", "run_at"])
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_carrier_ref")
        batch_op.create_index("ix_messages_carrier_ref", ["connector_id", "carrier_ref"])
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index("ix_conversations_number_id", ["number_id"])
