"""Delivery: platform updates whose turn is running (at-least-once), and Zalo reply targets.

Revision ID: 0012_delivery
Revises: 0011_reminders_and_survey
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_delivery"
down_revision = "0011_reminders_and_survey"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Skipped when present: a database made with `create_all` (tests, older tools) is adopted.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "channel_turns_in_flight" not in existing:
        op.create_table(
            "channel_turns_in_flight",
            sa.Column("key", sa.String(length=200), nullable=False),
            sa.Column("lease_until", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    if "zalo_reply_targets" not in existing:
        op.create_table(
            "zalo_reply_targets",
            sa.Column("sender_id", sa.String(length=80), nullable=False),
            sa.Column("message_id", sa.String(length=100), nullable=False),
            sa.Column("received_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("sender_id"),
        )
        op.create_index("ix_zalo_reply_targets_received_at", "zalo_reply_targets", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_zalo_reply_targets_received_at", table_name="zalo_reply_targets")
    op.drop_table("zalo_reply_targets")
    op.drop_table("channel_turns_in_flight")
