"""Complaint letters: the drafts of answers and the finished PDFs waiting for delivery.

Revision ID: 0010_letter_drafts
Revises: 0009_training_examples
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_letter_drafts"
down_revision = "0009_training_examples"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Skipped when present: a database made with `create_all` (tests, older tools) is adopted.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "letter_drafts" not in existing:
        op.create_table(
            "letter_drafts",
            sa.Column("sender_id", sa.String(length=80), nullable=False),
            sa.Column("answers", sa.Text(), nullable=False),
            sa.Column("keep", sa.Boolean(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("sender_id"),
        )
        op.create_index("ix_letter_drafts_updated_at", "letter_drafts", ["updated_at"])
    if "letter_files" not in existing:
        op.create_table(
            "letter_files",
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("sender_id", sa.String(length=80), nullable=False),
            sa.Column("filename", sa.String(length=100), nullable=False),
            sa.Column("pdf", sa.LargeBinary(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("expires_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("token_hash"),
        )
        op.create_index("ix_letter_files_sender_id", "letter_files", ["sender_id"])
        op.create_index("ix_letter_files_expires_at", "letter_files", ["expires_at"])


def downgrade() -> None:
    op.drop_table("letter_files")
    op.drop_table("letter_drafts")
