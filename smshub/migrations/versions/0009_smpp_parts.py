"""durable parts of concatenated inbound SMPP messages

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 19:00:00

Parts used to wait in memory after the SMSC had been told they were received, so a
restart between two parts lost the first. Each part is now stored before its
deliver_sm_resp, and the message is written in the transaction that stores its last part.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smshub.kit.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "smpp_parts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("connector_id", sa.String(length=26), nullable=False),
        sa.Column("source", sa.String(length=70), nullable=False),
        sa.Column("destination", sa.String(length=70), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("received_at", smshub.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_parts")),
        sa.UniqueConstraint(
            "connector_id",
            "source",
            "destination",
            "ref",
            "total",
            "seq",
            name=op.f("uq_smpp_parts_connector_id_source_destination_ref_total_seq"),
        ),
    )
    with op.batch_alter_table("smpp_parts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_smpp_parts_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("smpp_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_smpp_parts_received_at"))
    op.drop_table("smpp_parts")
