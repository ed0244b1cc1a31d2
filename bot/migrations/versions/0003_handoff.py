"""Handoffs to a person: requests, their conversation, a change log, thumbs-down signals.

Revision ID: 0003_handoff
Revises: 0002_staff
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_handoff"
down_revision = "0002_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database built by `create_all` from today's metadata already has these tables.
    if "handoffs" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sender_id", sa.String(length=80), nullable=False),
        sa.Column("label", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("province", sa.String(length=80), nullable=True),
        sa.Column("topic", sa.String(length=80), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_user_message_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("staff_thread_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoffs_sender_id", "handoffs", ["sender_id"], unique=False)
    op.create_index("ix_handoffs_state", "handoffs", ["state"], unique=False)
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=5), nullable=False),
        sa.Column("staff", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivery", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_messages_handoff_id", "handoff_messages", ["handoff_id"], unique=False)
    op.create_table(
        "handoff_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_changes_handoff_id", "handoff_changes", ["handoff_id"], unique=False)
    op.create_table(
        "handoff_signals",
        sa.Column("sender_id", sa.String(length=80), nullable=False),
        sa.Column("thumbs_down", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sender_id"),
    )


def downgrade() -> None:
    op.drop_table("handoff_signals")
    op.drop_index("ix_handoff_changes_handoff_id", table_name="handoff_changes")
    op.drop_table("handoff_changes")
    op.drop_index("ix_handoff_messages_handoff_id", table_name="handoff_messages")
    op.drop_table("handoff_messages")
    op.drop_index("ix_handoffs_state", table_name="handoffs")
    op.drop_index("ix_handoffs_sender_id", table_name="handoffs")
    op.drop_table("handoffs")
