"""Tamper-evident audit: a hash chain over each run's events, and a journal of run heads.

Existing events are chained in the order they were written (by id), and every run already at
rest gets its journal entry, so an upgraded database verifies clean (bpa/runs/chain.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

from bpa.runs.chain import GENESIS, RESTING, event_hash, journal_hash

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_CHAIN_COLUMNS: tuple[tuple[str, type[sa.types.TypeEngine[Any]]], ...] = (
    ("seq", sa.Integer),
    ("prev_hash", AutoString),
    ("hash", AutoString),
)
_RUNS_PER_PASS = 500
_ENTRIES_PER_INSERT = 1000


def upgrade() -> None:
    op.create_table(
        "bpa_audit_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", AutoString(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head", AutoString(), nullable=False),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("prev_hash", AutoString(), nullable=False),
        sa.Column("hash", AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bpa_audit_journal_run_id", "bpa_audit_journal", ["run_id"])
    for name, type_ in _CHAIN_COLUMNS:  # nullable until existing events have their values
        op.add_column("bpa_run_events", sa.Column(name, type_(), nullable=True))
    heads = _chain_events()
    _journal_resting_runs(heads)
    with op.batch_alter_table("bpa_run_events") as batch:
        for name, type_ in _CHAIN_COLUMNS:
            batch.alter_column(name, existing_type=type_(), nullable=False)
        batch.create_unique_constraint("uq_run_event_seq", ["run_id", "seq"])


def _chain_events() -> dict[str, tuple[int, str]]:
    """Give every existing event its seq and hashes, run by run in id order; returns each
    run's head."""
    conn = op.get_bind()
    events = sa.table(
        "bpa_run_events",
        sa.column("id", sa.Integer()),
        sa.column("run_id", AutoString()),
        sa.column("kind", AutoString()),
        sa.column("node", AutoString()),
        sa.column("payload", sa.JSON()),
        sa.column("duration_ms", sa.Float()),
        sa.column("created_at", UTCDateTime()),
        sa.column("seq", sa.Integer()),
        sa.column("prev_hash", AutoString()),
        sa.column("hash", AutoString()),
    )
    content = [events.c[name] for name in ("id", "run_id", "kind", "node", "payload")]
    content += [events.c.duration_ms, events.c.created_at]
    set_chain = (
        events.update()
        .where(events.c.id == sa.bindparam("event_id"))
        .values(
            seq=sa.bindparam("new_seq"),
            prev_hash=sa.bindparam("new_prev"),
            hash=sa.bindparam("new_hash"),
        )
    )
    run_ids = list(conn.execute(sa.select(events.c.run_id).distinct()).scalars())
    heads: dict[str, tuple[int, str]] = {}
    for start in range(0, len(run_ids), _RUNS_PER_PASS):
        chunk = run_ids[start : start + _RUNS_PER_PASS]
        query = sa.select(*content).where(events.c.run_id.in_(chunk))
        rows = conn.execute(query.order_by(events.c.run_id, events.c.id)).mappings().all()
        changes: list[dict[str, Any]] = []
        for run_id, trail in itertools.groupby(rows, key=lambda row: row["run_id"]):
            seq, prev = 0, GENESIS
            for row in trail:
                seq += 1
                digest = event_hash({**row, "seq": seq, "prev_hash": prev})
                changes.append(
                    {"event_id": row["id"], "new_seq": seq, "new_prev": prev, "new_hash": digest}
                )
                prev = digest
            heads[run_id] = (seq, prev)
        if changes:
            conn.execute(set_chain, changes)
    return heads


def _journal_resting_runs(heads: dict[str, tuple[int, str]]) -> None:
    """A journal entry for every run at rest, so that its trail is protected from the start."""
    conn = op.get_bind()
    runs = sa.table("bpa_runs", sa.column("id", AutoString()), sa.column("status", AutoString()))
    journal = sa.table(
        "bpa_audit_journal",
        *(sa.column(name) for name in ("run_id", "seq", "head", "status", "prev_hash", "hash")),
        sa.column("created_at", UTCDateTime()),
    )
    status_text = sa.cast(runs.c.status, sa.String())  # PostgreSQL: an enum, compared as text
    resting = sorted(str(status) for status in RESTING)
    found = conn.execute(
        sa.select(runs.c.id, status_text).where(status_text.in_(resting)).order_by(runs.c.id)
    ).all()
    created = dt.datetime.now(dt.UTC)
    prev = GENESIS
    entries: list[dict[str, Any]] = []
    for run_id, status in found:
        seq, head = heads.get(run_id, (0, GENESIS))
        entry: dict[str, Any] = {
            "run_id": run_id,
            "seq": seq,
            "head": head,
            "status": str(status),
            "created_at": created,
            "prev_hash": prev,
        }
        entry["hash"] = prev = journal_hash(entry)
        entries.append(entry)
    for start in range(0, len(entries), _ENTRIES_PER_INSERT):
        conn.execute(journal.insert(), entries[start : start + _ENTRIES_PER_INSERT])


def downgrade() -> None:
    with op.batch_alter_table("bpa_run_events") as batch:
        batch.drop_constraint("uq_run_event_seq", type_="unique")
        for name in ("hash", "prev_hash", "seq"):
            batch.drop_column(name)
    op.drop_index("ix_bpa_audit_journal_run_id", table_name="bpa_audit_journal")
    op.drop_table("bpa_audit_journal")
