"""PostgreSQL tells listeners when a run changes (LISTEN/NOTIFY; the API's followers listen).

A statement that appends events to runs' trails, or changes a run's status, notifies
channel `bpa_runs` once per run it touched, with the run's id as the payload. The
notification is sent when the transaction commits, so a listener never hears of a change
before it can read it (api/notify.py). Cost to writers: one `pg_notify` per run per
statement; notifying transactions serialise briefly at commit (PostgreSQL's notification
queue), which is why lease renewals, which change no status, do not notify. Nothing on
SQLite: its followers poll.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_FUNCTIONS = """
CREATE OR REPLACE FUNCTION bpa_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bpa_runs', run_id) FROM (SELECT DISTINCT run_id FROM appended) AS runs;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION bpa_notify_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bpa_runs', new_rows.id)
    FROM new_rows JOIN old_rows ON old_rows.id = new_rows.id
    WHERE old_rows.status IS DISTINCT FROM new_rows.status;
    RETURN NULL;
END $$;
"""

_TRIGGERS = """
CREATE TRIGGER bpa_run_events_notify AFTER INSERT ON bpa_run_events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION bpa_notify_events();

CREATE TRIGGER bpa_runs_notify AFTER UPDATE ON bpa_runs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bpa_notify_runs();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTIONS)
    op.execute(_TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS bpa_runs_notify ON bpa_runs")
    op.execute("DROP TRIGGER IF EXISTS bpa_run_events_notify ON bpa_run_events")
    op.execute("DROP FUNCTION IF EXISTS bpa_notify_runs()")
    op.execute("DROP FUNCTION IF EXISTS bpa_notify_events()")
