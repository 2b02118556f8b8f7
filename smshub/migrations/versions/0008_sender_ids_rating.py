"""alphanumeric sender IDs registered on numbers (N6, B2); rating rules (U2)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 18:00:00

A number lists the alphanumeric sender IDs the carrier registered for it. A campaign
may send under one of them: the message still belongs to the number's conversation and
routes through its connector, and carries the sender ID the recipient sees.

Rating rules price a segment by destination prefix; a campaign's preview estimates its
cost from them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smshub.kit.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rating_rules",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("tenant_id", sa.String(length=26), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("price_per_segment", sa.Numeric(precision=12, scale=5), nullable=False),
        sa.Column("created_at", smshub.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rating_rules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_rules")),
        sa.UniqueConstraint("tenant_id", "prefix", name=op.f("uq_rating_rules_tenant_id_prefix")),
    )
    with op.batch_alter_table("rating_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rating_rules_tenant_id"), ["tenant_id"], unique=False)
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sender_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_id", sa.String(length=11), nullable=True))
    with op.batch_alter_table("simulator_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_id", sa.String(length=11), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("simulator_outbox", schema=None) as batch_op:
        batch_op.drop_column("sender_id")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("sender_id")
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.drop_column("sender_ids")
    with op.batch_alter_table("rating_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rating_rules_tenant_id"))
    op.drop_table("rating_rules")
