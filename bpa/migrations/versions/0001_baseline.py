"""Baseline: runs, their audit trail, approvals (the schema before migrations existed).

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RUN_STATUS = ("queued", "running", "waiting", "succeeded", "failed", "cancelled")
APPROVAL_STATUS = ("pending", "decided", "cancelled")


def upgrade() -> None:
    op.create_table(
        "bpa_runs",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("flow", AutoString(), nullable=False),
        sa.Column("flow_version", AutoString(), nullable=False),
        sa.Column("status", sa.Enum(*RUN_STATUS, name="runstatus"), nullable=False),
        sa.Column("trigger", AutoString(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("idempotency_key", AutoString(), nullable=True),
        sa.Column("request_hash", AutoString(), nullable=True),
        sa.Column("batch_id", AutoString(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flow", "idempotency_key", name="uq_run_idempotency"),
    )
    for column in ("batch_id", "created_at", "flow", "status", "trigger"):
        op.create_index(f"ix_bpa_runs_{column}", "bpa_runs", [column])

    op.create_table(
        "bpa_run_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", AutoString(), nullable=False),
        sa.Column("kind", AutoString(), nullable=False),
        sa.Column("node", AutoString(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["bpa_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bpa_run_events_run_id", "bpa_run_events", ["run_id"])

    op.create_table(
        "bpa_approvals",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("run_id", AutoString(), nullable=False),
        sa.Column("node", AutoString(), nullable=True),
        sa.Column("interrupt_id", AutoString(), nullable=False),
        sa.Column("question", sa.JSON(), nullable=False),
        sa.Column("status", sa.Enum(*APPROVAL_STATUS, name="approvalstatus"), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("decided_by", AutoString(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["bpa_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bpa_approvals_run_id", "bpa_approvals", ["run_id"])
    op.create_index("ix_bpa_approvals_status", "bpa_approvals", ["status"])


def downgrade() -> None:
    op.drop_table("bpa_approvals")
    op.drop_table("bpa_run_events")
    op.drop_table("bpa_runs")
    sa.Enum(name="approvalstatus").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="runstatus").drop(op.get_bind(), checkfirst=True)
