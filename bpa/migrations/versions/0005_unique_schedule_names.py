"""Schedule names are unique (people find, show and delete schedules by name).

Schedules that shared a name before keep the oldest under it; each other one gets its id
appended, so nothing is lost and every name is unique again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEX = "ix_bpa_schedules_name"


def upgrade() -> None:
    schedules = sa.table("bpa_schedules", sa.column("id"), sa.column("name"))
    conn = op.get_bind()
    seen: set[str] = set()
    rows = conn.execute(sa.select(schedules.c.id, schedules.c.name).order_by(schedules.c.id))
    for schedule_id, name in rows.all():
        if name in seen:
            conn.execute(
                schedules.update()
                .where(schedules.c.id == schedule_id)
                .values(name=f"{name} ({schedule_id})")
            )
        seen.add(name)
    op.drop_index(_INDEX, table_name="bpa_schedules")
    op.create_index(_INDEX, "bpa_schedules", ["name"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="bpa_schedules")
    op.create_index(_INDEX, "bpa_schedules", ["name"], unique=False)
