"""Run leases (durable execution), schedules and their firings, API keys.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROLES = ("viewer", "operator", "approver", "admin")


def upgrade() -> None:
    op.add_column("bpa_runs", sa.Column("claimed_by", AutoString(), nullable=True))
    op.add_column("bpa_runs", sa.Column("lease_until", UTCDateTime(), nullable=True))
    op.create_index("ix_bpa_runs_lease_until", "bpa_runs", ["lease_until"])

    op.create_table(
        "bpa_schedules",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("name", AutoString(), nullable=False),
        sa.Column("flow", AutoString(), nullable=False),
        sa.Column("cron", AutoString(), nullable=False),
        sa.Column("timezone", AutoString(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("overlap", AutoString(), nullable=False),
        sa.Column("misfire", AutoString(), nullable=False),
        sa.Column("next_fire_at", UTCDateTime(), nullable=True),
        sa.Column("last_fired_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("enabled", "flow", "name", "next_fire_at"):
        op.create_index(f"ix_bpa_schedules_{column}", "bpa_schedules", [column])

    op.create_table(
        "bpa_schedule_firings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule_id", AutoString(), nullable=False),
        sa.Column("fire_time", UTCDateTime(), nullable=False),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("run_id", AutoString(), nullable=True),
        sa.Column("batch_id", AutoString(), nullable=True),
        sa.Column("detail", AutoString(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("schedule_id", "fire_time", name="uq_firing_once"),
    )
    op.create_index("ix_bpa_schedule_firings_schedule_id", "bpa_schedule_firings", ["schedule_id"])
    op.create_index("ix_bpa_schedule_firings_status", "bpa_schedule_firings", ["status"])

    op.create_table(
        "bpa_api_keys",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("name", AutoString(), nullable=True),
        sa.Column("role", sa.Enum(*ROLES, name="role"), nullable=False),
        sa.Column("salt", AutoString(), nullable=False),
        sa.Column("key_hash", AutoString(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bpa_api_keys_revoked_at", "bpa_api_keys", ["revoked_at"])


def downgrade() -> None:
    op.drop_table("bpa_api_keys")
    sa.Enum(name="role").drop(op.get_bind(), checkfirst=True)
    op.drop_table("bpa_schedule_firings")
    op.drop_table("bpa_schedules")
    op.drop_index("ix_bpa_runs_lease_until", table_name="bpa_runs")
    with op.batch_alter_table("bpa_runs") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
