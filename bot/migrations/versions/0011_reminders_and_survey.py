"""Deadline reminders and anonymous returnee profiles (issue 14).

Revision ID: 0011_reminders_and_survey
Revises: 0010_letter_drafts
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_reminders_and_survey"
down_revision = "0010_letter_drafts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Skipped when present: a database made with `create_all` (tests, older tools) is adopted.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "reminders" not in existing:
        op.create_table(
            "reminders",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("sender_id", sa.String(length=80), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("start_date", sa.Date(), nullable=False),
            sa.Column("deadline", sa.Date(), nullable=False),
            sa.Column("remind_on", sa.Date(), nullable=False),
            sa.Column("status", sa.String(length=10), nullable=False),
            sa.Column("claimed_at", sa.DateTime(), nullable=True),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_reminders_sender_id", "reminders", ["sender_id"])
        op.create_index("ix_reminders_remind_on", "reminders", ["remind_on"])
        op.create_index("ix_reminders_status", "reminders", ["status"])
    if "returnee_profiles" not in existing:
        op.create_table(
            "returnee_profiles",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("host_country", sa.String(length=2), nullable=True),
            sa.Column("sector", sa.String(length=20), nullable=True),
            sa.Column("return_year", sa.Integer(), nullable=True),
            sa.Column("return_mode", sa.String(length=20), nullable=True),
            sa.Column("voluntary", sa.String(length=5), nullable=True),
            sa.Column("gender", sa.String(length=10), nullable=True),
            sa.Column("province", sa.String(length=80), nullable=True),
            sa.Column("needs", sa.String(length=200), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    op.drop_table("returnee_profiles")
    op.drop_index("ix_reminders_status", "reminders")
    op.drop_index("ix_reminders_remind_on", "reminders")
    op.drop_index("ix_reminders_sender_id", "reminders")
    op.drop_table("reminders")
