"""Directory drafts (edits proposed in the staff console) and unlinkable statistics.

Revision ID: 0008_directory_edits_and_stats
Revises: 0007_content_revisions
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_directory_edits_and_stats"
down_revision = "0007_content_revisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Skipped when present: a database made with `create_all` (tests, older tools) is adopted.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "directory_drafts" not in existing:
        op.create_table(
            "directory_drafts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("table_name", sa.String(length=20), nullable=False),
            sa.Column("row_id", sa.String(length=80), nullable=False),
            sa.Column("action", sa.String(length=10), nullable=False),
            sa.Column("cells", sa.Text(), nullable=False),
            sa.Column("base", sa.Text(), nullable=True),
            sa.Column("author", sa.String(length=254), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("status", sa.String(length=10), nullable=False),
            sa.Column("reviewer", sa.String(length=254), nullable=True),
            sa.Column("decided_at", sa.DateTime(), nullable=True),
            sa.Column("note", sa.String(length=500), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_directory_drafts_row_id", "directory_drafts", ["row_id"], unique=False)
        op.create_index("ix_directory_drafts_status", "directory_drafts", ["status"], unique=False)
    if "stats_week_salts" not in existing:
        op.create_table(
            "stats_week_salts",
            sa.Column("week", sa.Date(), nullable=False),
            sa.Column("salt", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("week"),
        )
    if "stats_turns" not in existing:
        op.create_table(
            "stats_turns",
            sa.Column("week", sa.Date(), nullable=False),
            sa.Column("conversation", sa.String(length=32), nullable=False),
            sa.Column("channel", sa.String(length=20), nullable=False),
            sa.Column("lang", sa.String(length=5), nullable=False),
            sa.Column("topic", sa.String(length=80), nullable=False),
            sa.Column("country", sa.String(length=2), nullable=False),
            sa.Column("province", sa.String(length=80), nullable=False),
            sa.Column("answered", sa.Boolean(), nullable=False),
            sa.Column("turns", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint(
                "week", "conversation", "channel", "lang", "topic", "country", "province", "answered"
            ),
        )
    if "stats_weekly" not in existing:
        op.create_table(
            "stats_weekly",
            sa.Column("week", sa.Date(), nullable=False),
            sa.Column("dimension", sa.String(length=20), nullable=False),
            sa.Column("value", sa.String(length=80), nullable=False),
            sa.Column("conversations", sa.Integer(), nullable=False),
            sa.Column("turns", sa.Integer(), nullable=False),
            sa.Column("unanswered", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("week", "dimension", "value"),
        )


def downgrade() -> None:
    op.drop_table("stats_weekly")
    op.drop_table("stats_turns")
    op.drop_table("stats_week_salts")
    op.drop_index("ix_directory_drafts_status", table_name="directory_drafts")
    op.drop_index("ix_directory_drafts_row_id", table_name="directory_drafts")
    op.drop_table("directory_drafts")
