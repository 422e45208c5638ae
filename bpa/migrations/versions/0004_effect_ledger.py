"""The engine's idempotency ledger of side effects.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bpa_effects",
        sa.Column("connector", AutoString(), nullable=False),
        sa.Column("key", AutoString(), nullable=False),
        sa.Column("action", AutoString(), nullable=False),
        sa.Column("request_hash", AutoString(), nullable=False),
        sa.Column("response_json", AutoString(), nullable=False),
        sa.Column("run_id", AutoString(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "key"),
    )
    op.create_index("ix_bpa_effects_run_id", "bpa_effects", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_bpa_effects_run_id", table_name="bpa_effects")
    op.drop_table("bpa_effects")
