"""Answer-card revisions (drafts, review, live, history) and facts flagged for review.

Revision ID: 0007_content_revisions
Revises: 0006_privacy
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_content_revisions"
down_revision = "0006_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Skipped when present: a database made with `create_all` (tests, older tools) is adopted.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "content_revisions" not in existing:
        op.create_table(
            "content_revisions",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("card_id", sa.String(length=80), nullable=False),
            sa.Column("vi_text", sa.Text(), nullable=False),
            sa.Column("en_text", sa.Text(), nullable=False),
            sa.Column("status", sa.String(length=12), nullable=False),
            sa.Column("author", sa.String(length=254), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("based_on", sa.Integer(), nullable=True),
            sa.Column("note", sa.String(length=300), nullable=False),
            sa.Column("reviewer", sa.String(length=254), nullable=True),
            sa.Column("reviewed_at", sa.DateTime(), nullable=True),
            sa.Column("published_at", sa.DateTime(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_content_revisions_card_id", "content_revisions", ["card_id"])
    if "fact_flags" not in existing:
        op.create_table(
            "fact_flags",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("topic", sa.String(length=80), nullable=False),
            sa.Column("note", sa.String(length=500), nullable=False),
            sa.Column("flagged_by", sa.String(length=254), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("resolved_by", sa.String(length=254), nullable=True),
            sa.Column("resolved_at", sa.DateTime(), nullable=True),
            sa.Column("resolution", sa.String(length=300), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    op.drop_table("fact_flags")
    op.drop_index("ix_content_revisions_card_id", table_name="content_revisions")
    op.drop_table("content_revisions")
