"""The schema as it was before migrations existed (directory, pseudonyms, channel stores).

Each table (with its indexes) is created only when it is missing, so a database that an
earlier version of the bot created with `create_all` is adopted as it is, rows included;
Alembic then records this revision and later revisions apply as usual.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    "channel_button_payloads",
    "channel_processed_updates",
    "dir_host_countries",
    "dir_load_state",
    "dir_partners",
    "platform_identities",
    "pseudonym_secrets",
    "zalo_oauth_tokens",
    "dir_offices",
    "dir_partner_areas",
    "dir_partner_coverage",
    "dir_partner_services",
    "dir_office_phones",
)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "channel_button_payloads" not in existing:
        op.create_table(
            "channel_button_payloads",
            sa.Column("key", sa.String(length=64), nullable=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    if "channel_processed_updates" not in existing:
        op.create_table(
            "channel_processed_updates",
            sa.Column("key", sa.String(length=200), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    if "channel_processed_updates" not in existing:
        op.create_index(
            "ix_channel_processed_updates_created_at",
            "channel_processed_updates",
            ["created_at"],
            unique=False,
        )
    if "dir_host_countries" not in existing:
        op.create_table(
            "dir_host_countries",
            sa.Column("code", sa.String(length=2), nullable=False),
            sa.Column("name_vi", sa.String(length=120), nullable=False),
            sa.Column("name_en", sa.String(length=120), nullable=False),
            sa.Column("main_host", sa.Boolean(), nullable=False),
            sa.Column("sort_order", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("code"),
        )
    if "dir_load_state" not in existing:
        op.create_table(
            "dir_load_state",
            sa.Column("key", sa.String(length=40), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            sa.Column("loaded_at", sa.String(length=40), nullable=True),
            sa.PrimaryKeyConstraint("key"),
        )
    if "dir_partners" not in existing:
        op.create_table(
            "dir_partners",
            sa.Column("id", sa.String(length=80), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("name_vi", sa.String(length=300), nullable=False),
            sa.Column("name_en", sa.String(length=300), nullable=False),
            sa.Column("description_vi", sa.Text(), nullable=True),
            sa.Column("description_en", sa.Text(), nullable=True),
            sa.Column("phone", sa.String(length=200), nullable=True),
            sa.Column("email", sa.String(length=200), nullable=True),
            sa.Column("website", sa.String(length=300), nullable=True),
            sa.Column("address", sa.Text(), nullable=True),
            sa.Column("hours_vi", sa.String(length=300), nullable=True),
            sa.Column("hours_en", sa.String(length=300), nullable=True),
            sa.Column("languages", sa.String(length=120), nullable=True),
            sa.Column("source", sa.Text(), nullable=False),
            sa.Column("last_checked", sa.Date(), nullable=False),
            sa.Column("confidence", sa.String(length=10), nullable=False),
            sa.Column("synthetic", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "platform_identities" not in existing:
        op.create_table(
            "platform_identities",
            sa.Column("sender_id", sa.String(length=80), nullable=False),
            sa.Column("platform", sa.String(length=20), nullable=False),
            sa.Column("platform_user_id", sa.String(length=100), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("sender_id"),
        )
    if "pseudonym_secrets" not in existing:
        op.create_table(
            "pseudonym_secrets",
            sa.Column("name", sa.String(length=40), nullable=False),
            sa.Column("value", sa.String(length=200), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )
    if "zalo_oauth_tokens" not in existing:
        op.create_table(
            "zalo_oauth_tokens",
            sa.Column("app_id", sa.String(length=64), nullable=False),
            sa.Column("access_token", sa.Text(), nullable=False),
            sa.Column("refresh_token", sa.Text(), nullable=False),
            sa.Column("expires_at", sa.DateTime(), nullable=True),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("app_id"),
        )
    if "dir_offices" not in existing:
        op.create_table(
            "dir_offices",
            sa.Column("id", sa.String(length=80), nullable=False),
            sa.Column("country_code", sa.String(length=2), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("city", sa.String(length=80), nullable=True),
            sa.Column("name_vi", sa.String(length=300), nullable=False),
            sa.Column("name_en", sa.String(length=300), nullable=False),
            sa.Column("address", sa.Text(), nullable=True),
            sa.Column("email", sa.String(length=200), nullable=True),
            sa.Column("hours_vi", sa.String(length=300), nullable=True),
            sa.Column("hours_en", sa.String(length=300), nullable=True),
            sa.Column("note_vi", sa.Text(), nullable=True),
            sa.Column("note_en", sa.Text(), nullable=True),
            sa.Column("source", sa.Text(), nullable=False),
            sa.Column("last_checked", sa.Date(), nullable=False),
            sa.Column("confidence", sa.String(length=10), nullable=False),
            sa.ForeignKeyConstraint(
                ["country_code"],
                ["dir_host_countries.code"],
            ),
            sa.PrimaryKeyConstraint("id"),
        )
    if "dir_offices" not in existing:
        op.create_index("ix_dir_offices_country_city", "dir_offices", ["country_code", "city"], unique=False)
    if "dir_partner_areas" not in existing:
        op.create_table(
            "dir_partner_areas",
            sa.Column("partner_id", sa.String(length=80), nullable=False),
            sa.Column("scope", sa.String(length=20), nullable=False),
            sa.Column("value", sa.String(length=120), nullable=False),
            sa.ForeignKeyConstraint(
                ["partner_id"],
                ["dir_partners.id"],
            ),
            sa.PrimaryKeyConstraint("partner_id", "scope", "value"),
        )
    if "dir_partner_areas" not in existing:
        op.create_index(
            "ix_dir_partner_areas_scope_value",
            "dir_partner_areas",
            ["scope", "value", "partner_id"],
            unique=False,
        )
    if "dir_partner_coverage" not in existing:
        op.create_table(
            "dir_partner_coverage",
            sa.Column("service", sa.String(length=40), nullable=False),
            sa.Column("scope", sa.String(length=20), nullable=False),
            sa.Column("value", sa.String(length=120), nullable=False),
            sa.Column("partner_id", sa.String(length=80), nullable=False),
            sa.ForeignKeyConstraint(
                ["partner_id"],
                ["dir_partners.id"],
            ),
            sa.PrimaryKeyConstraint("service", "scope", "value", "partner_id"),
        )
    if "dir_partner_services" not in existing:
        op.create_table(
            "dir_partner_services",
            sa.Column("partner_id", sa.String(length=80), nullable=False),
            sa.Column("service", sa.String(length=40), nullable=False),
            sa.ForeignKeyConstraint(
                ["partner_id"],
                ["dir_partners.id"],
            ),
            sa.PrimaryKeyConstraint("partner_id", "service"),
        )
    if "dir_partner_services" not in existing:
        op.create_index(
            "ix_dir_partner_services_service", "dir_partner_services", ["service", "partner_id"], unique=False
        )
    if "dir_office_phones" not in existing:
        op.create_table(
            "dir_office_phones",
            sa.Column("office_id", sa.String(length=80), nullable=False),
            sa.Column("purpose", sa.String(length=40), nullable=False),
            sa.Column("number", sa.String(length=80), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["office_id"],
                ["dir_offices.id"],
            ),
            sa.PrimaryKeyConstraint("office_id", "purpose", "number"),
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
