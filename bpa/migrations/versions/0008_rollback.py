"""Rollback: a run can be `rolled_back` or `rollback_failed` (bpa/rollback.py).

PostgreSQL keeps run statuses in the `runstatus` enum type, which gains the two values.
SQLite keeps them as text: nothing to change (the column's declared length is not enforced
there, and `bpa.migrations.compare_type` does not count it as a difference). Going back,
rolled-back runs become `cancelled` and failed rollbacks `failed`: their trails still say
what happened.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD = ("queued", "running", "waiting", "succeeded", "failed", "cancelled")
#: The new statuses, and what each becomes on a downgrade.
ADDED = {"rolled_back": "cancelled", "rollback_failed": "failed"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for value in ADDED:
            op.execute(f"ALTER TYPE runstatus ADD VALUE IF NOT EXISTS '{value}'")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # an enum type drops no value: the column goes through text to a new type
        op.execute("ALTER TABLE bpa_runs ALTER COLUMN status TYPE text")
    for value, instead in ADDED.items():
        op.execute(f"UPDATE bpa_runs SET status = '{instead}' WHERE status = '{value}'")
    if postgres:
        op.execute("DROP TYPE runstatus")
        sa.Enum(*OLD, name="runstatus").create(op.get_bind())
        op.execute(
            "ALTER TABLE bpa_runs ALTER COLUMN status TYPE runstatus USING status::runstatus"
        )
