"""The web chat's outbox: messages waiting for the page's next poll (staff replies).

Created only when missing, like the baseline: a database built with `create_all` by a
newer checkout (tests, `bot db` before `upgrade`) is adopted as it is.

Revision ID: 0005_webchat
Revises: 0004_feedback
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_webchat"
down_revision = "0004_feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "webchat_outbox" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "webchat_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_webchat_outbox_sender_id", "webchat_outbox", ["sender_id"], unique=False)
    op.create_index("ix_webchat_outbox_created_at", "webchat_outbox", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_webchat_outbox_created_at", table_name="webchat_outbox")
    op.drop_index("ix_webchat_outbox_sender_id", table_name="webchat_outbox")
    op.drop_table("webchat_outbox")
