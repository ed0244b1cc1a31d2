"""Understanding: training examples added in the staff console, and retrain jobs.

Revision ID: 0009_training_examples
Revises: 0008_directory_edits_and_stats
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_training_examples"
down_revision = "0008_directory_edits_and_stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Skipped when present: a database made with `create_all` (tests, older tools) is adopted.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "training_examples" not in existing:
        op.create_table(
            "training_examples",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("topic", sa.String(length=80), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("file", sa.String(length=200), nullable=False),
            sa.Column("source", sa.String(length=10), nullable=False),
            sa.Column("added_by", sa.String(length=200), nullable=False),
            sa.Column("added_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "training_jobs" not in existing:
        op.create_table(
            "training_jobs",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("state", sa.String(length=20), nullable=False),
            sa.Column("step", sa.String(length=40), nullable=False),
            sa.Column("progress", sa.Integer(), nullable=False),
            sa.Column("active", sa.Integer(), nullable=True),
            sa.Column("pid", sa.Integer(), nullable=True),
            sa.Column("started_by", sa.String(length=200), nullable=False),
            sa.Column("started_at", sa.DateTime(), nullable=False),
            sa.Column("finished_at", sa.DateTime(), nullable=True),
            sa.Column("reason", sa.Text(), nullable=True),
            sa.Column("figures", sa.Text(), nullable=True),
            sa.Column("candidate", sa.String(length=500), nullable=True),
            sa.Column("published_model", sa.String(length=500), nullable=True),
            sa.Column("previous_model", sa.String(length=500), nullable=True),
            sa.Column("rolled_back_at", sa.DateTime(), nullable=True),
            sa.Column("rolled_back_by", sa.String(length=200), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("active"),
        )


def downgrade() -> None:
    op.drop_table("training_jobs")
    op.drop_table("training_examples")
