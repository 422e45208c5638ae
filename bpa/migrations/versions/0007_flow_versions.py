"""Flow versions: the graph, prompts and package each run's version stands for.

Runs created before this keep the version their flow declared (e.g. `1.0.0`); no graph is
recorded for it, so resuming one checks only that the node it waits at still exists.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bpa_flow_versions",
        sa.Column("flow", AutoString(), nullable=False),
        sa.Column("version", AutoString(), nullable=False),
        sa.Column("declared", AutoString(), nullable=False),
        sa.Column("package", AutoString(), nullable=True),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("flow", "version"),
    )


def downgrade() -> None:
    op.drop_table("bpa_flow_versions")
