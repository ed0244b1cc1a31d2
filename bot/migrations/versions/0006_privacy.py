"""Privacy: "forget me" requests still owed, and the lease of the daily purge job.

Revision ID: 0006_privacy
Revises: 0005_webchat
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_privacy"
down_revision = "0005_webchat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Skipped when present: a database made with `create_all` (tests, older tools) is adopted.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "privacy_pending_deletions" not in existing:
        _pending_deletions()
    if "job_leases" not in existing:
        _job_leases()


def _pending_deletions() -> None:
    op.create_table(
        "privacy_pending_deletions",
        sa.Column("sender_id", sa.String(length=80), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("sender_id"),
    )


def _job_leases() -> None:
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
    op.drop_table("privacy_pending_deletions")
