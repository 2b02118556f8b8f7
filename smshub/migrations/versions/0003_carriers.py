"""carriers: number fallback connector, shared pacing buckets

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallback_connector_id", sa.String(length=26), nullable=True))
    op.create_table(
        "carrier_pacing",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_carrier_pacing")),
    )


def downgrade() -> None:
    op.drop_table("carrier_pacing")
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.drop_column("fallback_connector_id")
