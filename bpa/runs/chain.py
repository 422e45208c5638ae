"""The audit trail's hash chain, and the journal of run heads that shows a deleted run.

Chain. Every event carries its position in its run's trail (`seq`: 1, 2, ...; unique per
run), the hash of the run's event before it (`prev_hash`, empty for the first) and its own
`hash`: SHA-256 of the canonical JSON (keys sorted, no spaces, ASCII) of run_id, seq, kind,
node, payload, duration_ms (a float or null), created_at (ISO 8601, UTC, microseconds) and
prev_hash; anyone can recompute it from an export. An event edited, deleted, inserted or
moved breaks a hash or a link at its position (`bpa.runs.verify`).

No fork. Appends to one run are serialised by the run's row, which the appending
transaction locks first: the UPDATE that changes the run's status does, and
`append_locked` otherwise (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite has no row locks,
so there the transaction starts with `BEGIN IMMEDIATE`, taking the database's only write
lock). Under that lock the transaction reads the run's head (its last seq and hash) once,
from the (run_id, seq) unique index, however many events it appends. A writer that
bypassed the lock would fail on that unique constraint rather than fork the chain. Event
ids follow the same order, which verification checks too (the trail is shown in id order).

Journal. A run's chain alone cannot show that its last events, or the run with all its
events, were deleted. So a transaction that leaves a run at rest (waiting or finished)
appends the run's head (run_id, seq, hash, status) to `bpa_audit_journal`, which is one
global hash chain of its own. Verification checks every resting run's head against its
latest journal entry (nothing after it, nothing missing), every other run's journalled
prefix, and that every journalled run still exists.

Trade-off. Journal entries are appended one at a time across the whole database (on
PostgreSQL under a transaction-level advisory lock, taken as the transaction's last
statement so that it is held only until the commit; SQLite serialises writes anyway), but
only when a run comes to rest, once or twice per run, never per event or per graph step.
What this leaves unprotected:

- a run that is queued or running: events appended since its last rest are chained, but
  cutting them off the end, or deleting a run that never came to rest, is not seen;
- the journal's newest entries: removing them from the end of the journal is not seen;
- someone who can write to the database and recomputes every hash after a change (SHA-256
  has no key): the chain shows consistency, not authorship. Exported hashes
  (`bpa audit export`, kept by a SIEM) anchor the trail outside the database: a rewrite
  then disagrees with what was exported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text

from bpa.db import table_of
from bpa.runs.changes import mark_changed
from bpa.runs.tables import AuditJournalEntry, Run, RunEvent, RunStatus, utcnow

__all__ = [
    "EVENT_COLUMNS",
    "GENESIS",
    "RESTING",
    "append_events",
    "append_locked",
    "event_hash",
    "event_row",
    "journal_hash",
]

#: The `prev_hash` of a run's first event, and of the journal's first entry.
GENESIS = ""
#: Statuses a run stays in until someone acts (every one but queued and running): a
#: transaction that leaves a run in one journals its head.
RESTING = frozenset(status for status in RunStatus if status.finished or status == "waiting")
#: What the caller gives for an event; the chain's columns are added here.
EVENT_COLUMNS = ("run_id", "kind", "node", "payload", "duration_ms", "created_at")

_RUNS = table_of(Run)
_EVENTS = table_of(RunEvent)
_JOURNAL = table_of(AuditJournalEntry)
_INSERT_EVENT = insert(_EVENTS)
_INSERT_ENTRY = insert(_JOURNAL)
_LATER = _EVENTS.alias("later")
_NEWEST = select(func.max(_LATER.c.seq)).where(_LATER.c.run_id == _RUNS.c.id).correlate(_RUNS)
#: A run's status and its last event, from the (run_id, seq) unique index.
_HEAD = (
    select(_RUNS.c.status, _EVENTS.c.seq, _EVENTS.c.hash)
    .select_from(
        _RUNS.outerjoin(
            _EVENTS,
            (_EVENTS.c.run_id == _RUNS.c.id) & (_EVENTS.c.seq == _NEWEST.scalar_subquery()),
        )
    )
    .where(_RUNS.c.id == bindparam("run_id"))
)
#: The runs' rows, locked until the transaction ends (PostgreSQL; SQLite's transaction takes
#: the database's write lock instead: `_BEGIN_WRITING`). A statement of its own: a query
#: that waited for the lock still sees the rows other tables had when it started, so the
#: head is read after it, by a new statement.
_LOCK_RUNS = (
    select(_RUNS.c.id)
    .where(_RUNS.c.id.in_(bindparam("run_ids", expanding=True)))
    .order_by(_RUNS.c.id)
    .with_for_update()
)
_BEGIN_WRITING = "BEGIN IMMEDIATE"
_LAST_ENTRY = select(_JOURNAL.c.hash).order_by(_JOURNAL.c.id.desc()).limit(1)
_JOURNAL_LOCK = 0x62_70_61_5F_6A_6E_6C  # "bpa_jnl": any constant, shared by every process


#: Canonical JSON: keys sorted, no spaces, ASCII (one encoder: `json.dumps` with options
#: builds a new one on every call).
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode


def _instant(value: dt.datetime) -> str:
    if value.tzinfo is None:  # stored as UTC without an offset
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def event_hash(event: Mapping[str, Any]) -> str:
    """The hash of an event (a mapping with its columns) and its `prev_hash`."""
    duration = event["duration_ms"]
    body = {
        "run_id": event["run_id"],
        "seq": event["seq"],
        "kind": event["kind"],
        "node": event["node"],
        "payload": event["payload"],
        "duration_ms": None if duration is None else float(duration),
        "created_at": _instant(event["created_at"]),
        "prev_hash": event["prev_hash"],
    }
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def journal_hash(entry: Mapping[str, Any]) -> str:
    """The hash of a journal entry and its `prev_hash`."""
    body = {name: entry[name] for name in ("run_id", "seq", "head", "status", "prev_hash")}
    body["created_at"] = _instant(entry["created_at"])
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def event_row(event: RunEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in EVENT_COLUMNS}


def append_locked(conn: Connection, events: Sequence[Mapping[str, Any]]) -> None:
    """Append events to runs this transaction has not touched yet: lock the runs' rows
    first (on SQLite: take the write lock, as the transaction's first statement), then read
    their heads and statuses and append as `append_events` does."""
    if not events:
        return
    run_ids = sorted({event["run_id"] for event in events})
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_BEGIN_WRITING)
    else:
        conn.execute(_LOCK_RUNS, {"run_ids": run_ids})
    heads: dict[str, tuple[int, str]] = {}
    statuses: dict[str, str] = {}
    for run_id in run_ids:
        found = conn.execute(_HEAD, {"run_id": run_id}).first()
        if found is not None:  # (an unknown run fails on its foreign key below)
            statuses[run_id] = str(found[0])
            heads[run_id] = (int(found[1] or 0), str(found[2] or GENESIS))
    _append(conn, events, heads, statuses)


def append_events(
    conn: Connection,
    events: Sequence[Mapping[str, Any]],
    *,
    statuses: Mapping[str, str] | None = None,
    new_runs: Collection[str] = (),
) -> None:
    """Insert events (mappings of `EVENT_COLUMNS`), in order, each chained after its run's
    last event, in one statement.

    The caller holds the runs' rows (an UPDATE of them in this transaction), or has inserted
    them in it (`new_runs`: their trails are empty). `statuses` is the status each run is
    left in; runs left at rest have their head journalled, with or without new events.
    """
    heads = {run_id: (0, GENESIS) for run_id in new_runs}
    _append(conn, events, heads, statuses or {})


def _append(
    conn: Connection,
    events: Sequence[Mapping[str, Any]],
    heads: dict[str, tuple[int, str]],
    statuses: Mapping[str, str],
) -> None:
    mark_changed(conn, {*(event["run_id"] for event in events), *statuses})
    rows: list[dict[str, Any]] = []
    for event in events:
        run_id = event["run_id"]
        if run_id not in heads:
            heads[run_id] = _head(conn, run_id)
        seq, prev = heads[run_id]
        row = {name: event[name] for name in EVENT_COLUMNS}
        row["seq"], row["prev_hash"] = seq + 1, prev
        row["hash"] = event_hash(row)
        heads[run_id] = (seq + 1, row["hash"])
        rows.append(row)
    if rows:  # a single execute costs less than an executemany of one
        conn.execute(_INSERT_EVENT, rows if len(rows) > 1 else rows[0])
    resting = {run: str(status) for run, status in statuses.items() if status in RESTING}
    if resting:
        for run_id in resting:
            if run_id not in heads:
                heads[run_id] = _head(conn, run_id)
        _journal(conn, [(run, *heads[run], status) for run, status in sorted(resting.items())])


def _head(conn: Connection, run_id: str) -> tuple[int, str]:
    found = conn.execute(_HEAD, {"run_id": run_id}).first()
    if found is None or found[1] is None:
        return 0, GENESIS
    return int(found[1]), str(found[2])


def _journal(conn: Connection, heads: Sequence[tuple[str, int, str, str]]) -> None:
    """Append (run_id, seq, head hash, status) entries to the global journal chain."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _JOURNAL_LOCK})
    prev = conn.execute(_LAST_ENTRY).scalar() or GENESIS
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for run_id, seq, head, status in heads:
        row: dict[str, Any] = {
            "run_id": run_id,
            "seq": seq,
            "head": head,
            "status": status,
            "created_at": now,
            "prev_hash": prev,
        }
        row["hash"] = prev = journal_hash(row)
        rows.append(row)
    conn.execute(_INSERT_ENTRY, rows if len(rows) > 1 else rows[0])
