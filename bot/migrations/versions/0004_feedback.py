"""Feedback and the unanswered queue: votes, masked queue items, staff decisions on
groups, and queue text linked to a topic (candidate training examples).

Revision ID: 0004_feedback
Revises: 0003_handoff
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_feedback"
down_revision = "0003_handoff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_votes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("vote", sa.String(length=4), nullable=False),
        sa.Column("sender_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_votes_sender_key", "feedback_votes", ["sender_key"], unique=False)
    op.create_index("ix_feedback_votes_created_at", "feedback_votes", ["created_at"], unique=False)
    op.create_table(
        "feedback_queue_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("topic", sa.String(length=80), nullable=True),
        sa.Column("sender_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_queue_items_key", "feedback_queue_items", ["key"], unique=False)
    op.create_index(
        "ix_feedback_queue_items_sender_key", "feedback_queue_items", ["sender_key"], unique=False
    )
    op.create_index(
        "ix_feedback_queue_items_created_at", "feedback_queue_items", ["created_at"], unique=False
    )
    op.create_table(
        "feedback_queue_groups",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("topic", sa.String(length=80), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "feedback_training_examples",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=True),
        sa.Column("linked_by", sa.String(length=200), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("feedback_training_examples")
    op.drop_table("feedback_queue_groups")
    op.drop_index("ix_feedback_queue_items_created_at", table_name="feedback_queue_items")
    op.drop_index("ix_feedback_queue_items_sender_key", table_name="feedback_queue_items")
    op.drop_index("ix_feedback_queue_items_key", table_name="feedback_queue_items")
    op.drop_table("feedback_queue_items")
    op.drop_index("ix_feedback_votes_created_at", table_name="feedback_votes")
    op.drop_index("ix_feedback_votes_sender_key", table_name="feedback_votes")
    op.drop_table("feedback_votes")
