"""Conversations: the keys under which runs wait for an outside reply (bpa/runs/replies.py).

One row per key: a thread key (an e-mail's Message-ID, a chat session) and the waiting run
and question it leads to, or the key of a message that answered a run (so a second delivery
resumes nothing). Looked up by primary key; the sweeper finds expired questions by
`expires_at`. The same on SQLite and PostgreSQL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bpa_reply_keys",
        sa.Column("flow", AutoString(), nullable=False),
        sa.Column("kind", AutoString(), nullable=False),
        sa.Column("key", AutoString(), nullable=False),
        sa.Column("run_id", AutoString(), nullable=False),
        sa.Column("approval_id", AutoString(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["bpa_runs.id"]),
        sa.PrimaryKeyConstraint("flow", "kind", "key", name="pk_reply_keys"),
    )
    op.create_index("ix_bpa_reply_keys_run_id", "bpa_reply_keys", ["run_id"])
    op.create_index("ix_bpa_reply_keys_expires_at", "bpa_reply_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_bpa_reply_keys_expires_at", table_name="bpa_reply_keys")
    op.drop_index("ix_bpa_reply_keys_run_id", table_name="bpa_reply_keys")
    op.drop_table("bpa_reply_keys")
