"""Checking the audit trail against its hash chains (`bpa audit verify`, `GET /audit/verify`),
and exporting it with its hashes (`bpa audit export`).

A finding names the run, the position (`seq`) in the run's trail, and what happened there:

- `edited`: the event's content no longer matches its hash, or (hash recomputed too) the
  next event recorded another hash for it, or the journal recorded another head;
- `deleted`: no event is left at a position the chain or the journal says was written;
- `reordered`: the event was written at another position (its seq or its content moved),
  or it is stored out of order (the trail is shown by id);
- `inserted`: an event the chain does not link to (a second claim on a position, or one
  that sits between two linked events), or an event after a resting run's journalled head,
  or a resting run that was never journalled;
- `run_deleted`: the journal holds a run that no longer exists (or its events outlived it).

Positions are those the events were written at: after a deletion or an insertion that was
renumbered to hide it, the events behind it are recognised by their hashes, not reported
again. Problems in the journal itself carry `source="journal"`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select

from bpa.db import table_of
from bpa.runs.chain import GENESIS, RESTING, event_hash, journal_hash
from bpa.runs.tables import AuditJournalEntry, Run, RunEvent

__all__ = ["AuditReport", "Finding", "What", "export_events", "verify_audit"]

What = Literal["edited", "deleted", "reordered", "inserted", "run_deleted"]
_Report = Callable[[int, What, str], None]

_RUNS = table_of(Run)
_EVENTS = table_of(RunEvent)
_JOURNAL = table_of(AuditJournalEntry)
_CONTENT = ("run_id", "kind", "node", "payload", "duration_ms", "created_at")
#: Broken events of one run beyond which no moved event is searched for (the search is
#: quadratic in them); they are then reported as edited.
_SEARCH_LIMIT = 64
_PAGE = 2000
#: What an event after a resting run's journalled head is reported as instead.
_AFTER_HEAD: tuple[What, ...] = ("edited", "reordered")


@dataclass(frozen=True, slots=True)
class Finding:
    run_id: str
    seq: int
    what: What
    detail: str
    source: Literal["trail", "journal"] = "trail"

    def line(self) -> str:
        where = "journal" if self.source == "journal" else "seq"
        return f"{self.run_id} {where}={self.seq} {self.what}: {self.detail}"


@dataclass(slots=True)
class AuditReport:
    runs: int = 0
    events: int = 0
    journal_entries: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "runs": self.runs,
            "events": self.events,
            "journal_entries": self.journal_entries,
            "findings": [asdict(finding) for finding in self.findings],
        }


@dataclass(frozen=True, slots=True)
class _Stored:
    """One event as stored: its chain columns, its id and the content its hash covers."""

    id: int
    seq: int
    prev: str
    hash: str
    content: Mapping[str, Any]

    def hash_at(self, seq: int, prev: str) -> str:
        return event_hash({**self.content, "seq": seq, "prev_hash": prev})


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def verify_audit(engine: Engine, *, since: dt.datetime | None = None) -> AuditReport:
    """Check every run's trail (of runs created from `since` on) and the journal (its
    entries from `since` on)."""
    since = _utc(since)
    report = AuditReport()
    with engine.connect() as conn:
        runs_query = select(_RUNS.c.id, _RUNS.c.status)
        if since is not None:
            runs_query = runs_query.where(_RUNS.c.created_at >= since)
        statuses = {row[0]: str(row[1]) for row in conn.execute(runs_query)}
        entries = _journal(conn, since)
        report.journal_entries = len(entries)
        report.findings.extend(_check_journal(entries, continued=since is not None))
        latest = {entry["run_id"]: entry for entry in entries}
        seen: set[str] = set()
        for run_id, rows in _trails(conn, since):
            seen.add(run_id)
            report.events += len(rows)
            entry = latest.get(run_id)
            report.findings.extend(_check_trail(run_id, rows, entry, statuses.get(run_id)))
        for run_id, status in statuses.items():
            if run_id not in seen:
                report.findings.extend(_check_trail(run_id, [], latest.get(run_id), status))
        report.runs = len(statuses)
        gone = _missing_runs(conn, [r for r in latest if r not in statuses and r not in seen])
        for run_id in gone:
            seq = int(latest[run_id]["seq"])
            detail = f"journalled with {seq} event(s); the run and its trail are gone"
            report.findings.append(Finding(run_id, seq, "run_deleted", detail))
    return report


def export_events(engine: Engine, *, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    """Every event (written from `since` on) in the order written, with its chain columns,
    as JSON-ready dicts."""
    since = _utc(since)
    query = select(_EVENTS).order_by(_EVENTS.c.id)
    if since is not None:
        query = query.where(_EVENTS.c.created_at >= since)
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=_PAGE).execute(query).mappings()
        for row in result:
            created: dt.datetime = row["created_at"]
            yield {**row, "created_at": created.astimezone(dt.UTC).isoformat()}


def _journal(conn: Connection, since: dt.datetime | None) -> list[dict[str, Any]]:
    query = select(_JOURNAL).order_by(_JOURNAL.c.id)
    if since is not None:
        query = query.where(_JOURNAL.c.created_at >= since)
    return [dict(row) for row in conn.execute(query).mappings()]


def _trails(conn: Connection, since: dt.datetime | None) -> Iterator[tuple[str, list[_Stored]]]:
    """Each run's events in seq order, run by run: of the runs created from `since` on, or
    all events (those whose run was deleted too)."""
    query = select(_EVENTS).order_by(_EVENTS.c.run_id, _EVENTS.c.seq, _EVENTS.c.id)
    if since is not None:
        scope = select(_RUNS.c.id).where(_RUNS.c.created_at >= since)
        query = query.where(_EVENTS.c.run_id.in_(scope))
    result = conn.execution_options(yield_per=_PAGE).execute(query).mappings()
    for run_id, rows in itertools.groupby(result, key=lambda row: str(row["run_id"])):
        yield (
            run_id,
            [
                _Stored(
                    id=row["id"],
                    seq=row["seq"],
                    prev=row["prev_hash"],
                    hash=row["hash"],
                    content={name: row[name] for name in _CONTENT},
                )
                for row in rows
            ],
        )


def _missing_runs(conn: Connection, run_ids: Sequence[str]) -> list[str]:
    found: set[str] = set()
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        found.update(conn.execute(select(_RUNS.c.id).where(_RUNS.c.id.in_(chunk))).scalars())
    return [run_id for run_id in run_ids if run_id not in found]


def _check_journal(entries: Sequence[Mapping[str, Any]], *, continued: bool) -> list[Finding]:
    """The journal's own chain: each entry matches its hash and follows the one before."""
    findings: list[Finding] = []
    hashes = {entry["hash"] for entry in entries}
    prev = entries[0]["prev_hash"] if continued and entries else GENESIS
    for entry in entries:
        run_id, seq, number = str(entry["run_id"]), int(entry["seq"]), entry["id"]
        if journal_hash(entry) != entry["hash"]:
            detail = f"journal entry {number} does not match its hash"
            findings.append(Finding(run_id, seq, "edited", detail, "journal"))
        if entry["prev_hash"] != prev:
            what: What = "reordered" if entry["prev_hash"] in hashes else "deleted"
            detail = f"journal entry {number} does not follow the entry before it"
            findings.append(Finding(run_id, seq, what, detail, "journal"))
        prev = entry["hash"]
    return findings


def _check_trail(
    run_id: str,
    rows: Sequence[_Stored],
    entry: Mapping[str, Any] | None,
    status: str | None,
) -> list[Finding]:
    """One run's trail (`rows` in seq order) against its chain and its latest journal entry."""
    found: dict[tuple[int, What], str] = {}

    def report(seq: int, what: What, detail: str) -> None:
        found.setdefault((seq, what), detail)

    slots, flagged = _walk(rows, report)
    last = max(slots, default=0)
    if entry is not None:
        journalled, head = int(entry["seq"]), str(entry["head"])
        for seq in range(last + 1, journalled + 1):
            report(seq, "deleted", "journalled when the run came to rest, now missing")
        rewritten = journalled and last >= journalled and slots.get(journalled) != head
        if rewritten and not any(seq == journalled for seq, _ in found):
            report(journalled, "edited", "differs from the head the journal recorded")
        if status in RESTING:
            for seq in range(journalled + 1, last + 1):
                for what in _AFTER_HEAD:
                    found.pop((seq, what), None)
                report(seq, "inserted", "added after the run came to rest")
    elif status in RESTING:
        report(0, "inserted", "the run is at rest but was never journalled")
    if status is None:
        report(0, "run_deleted", "its events remain, the run is gone")
    _check_ids(rows, flagged, report)
    return [Finding(run_id, seq, what, detail) for (seq, what), detail in sorted(found.items())]


def _walk(rows: Sequence[_Stored], report: _Report) -> tuple[dict[int, str], set[int]]:
    """Follow the trail in seq order, recognising each event by its hash; returns the hash
    written at each position and the rows already reported."""
    verified: dict[int, int] = {}  # row -> the position its hash was computed for
    broken: list[int] = []
    for i, row in enumerate(rows):
        if row.hash_at(row.seq, row.prev) == row.hash:
            verified[i] = row.seq
        else:
            broken.append(i)
    moved: dict[int, int] = {}  # row -> the position whose content it holds
    if broken and len(broken) <= _SEARCH_LIMIT:
        _search_moved(rows, broken, verified, moved)
    referenced = {row.prev for row in rows}
    extra: set[int] = set()
    by_position: dict[int, list[int]] = {}
    for i, position in verified.items():
        by_position.setdefault(position, []).append(i)
    for claims in by_position.values():
        if len(claims) > 1:  # a forged event with a valid hash: the chain links to one only
            keep = min(claims, key=lambda i: (rows[i].hash not in referenced, rows[i].id))
            extra.update(i for i in claims if i != keep)
    genuine = {position for i, position in verified.items() if i not in extra}
    occupied = genuine | {rows[i].seq for i in broken if i not in verified}
    slots = {position: rows[i].hash for i, position in verified.items() if i not in extra}
    flagged: set[int] = set()
    shift, expected = 0, 1
    for i, row in enumerate(rows):
        if i in extra:
            report(row.seq, "inserted", "a second event at this position; the chain skips it")
            flagged.add(i)
            shift += 1
        elif i in verified:
            written = verified[i]
            missing = [p for p in range(expected, written) if p not in occupied]
            if written == row.seq - shift or len(missing) == written - expected > 0:
                for position in missing:
                    report(position, "deleted", "the chain has no event here any more")
                shift = row.seq - written
                expected = max(expected, written + 1)
            elif written == expected:  # renumbered without a gap: the events after it follow
                report(row.seq, "reordered", f"written at position {written}")
                flagged.add(i)
                shift = row.seq - written
                expected = written + 1
            else:
                report(row.seq, "reordered", f"written at position {written}")
                flagged.add(i)
                expected = max(expected, row.seq - shift + 1)
        elif i in moved:
            report(row.seq, "reordered", f"holds the event written at position {moved[i]}")
            flagged.add(i)
            slots.setdefault(row.seq - shift, row.hash)
            expected = max(expected, row.seq - shift + 1)
        elif row.seq - shift in genuine:
            report(row.seq, "inserted", "not linked into the chain")
            flagged.add(i)
            shift += 1
        else:
            position = row.seq - shift
            report(position, "edited", "its content does not match its hash")
            flagged.add(i)
            slots.setdefault(position, row.hash)
            expected = max(expected, position + 1)
    for i, position in verified.items():
        before = GENESIS if position == 1 else slots.get(position - 1)
        if i not in extra and before is not None and rows[i].prev != before:
            report(position - 1, "edited", "rewritten: the next event recorded another hash")
    return slots, flagged


def _search_moved(
    rows: Sequence[_Stored], broken: list[int], verified: dict[int, int], moved: dict[int, int]
) -> None:
    """For events that do not match their hash: the position they were written at, when their
    seq was changed (`verified`), or the position whose content they hold (`moved`)."""
    positions = {rows[i].seq for i in broken}
    for i in broken:
        row = rows[i]
        near = {row.seq + d for d in (-2, -1, 1, 2)}
        for position in sorted((positions | near) - {row.seq}):
            if position >= 1 and row.hash_at(position, row.prev) == row.hash:
                verified[i] = position
                break
        else:
            for j in broken:
                other = rows[j]
                if j != i and row.hash_at(other.seq, other.prev) == other.hash:
                    moved[i] = other.seq
                    break


def _check_ids(rows: Sequence[_Stored], flagged: set[int], report: _Report) -> None:
    """Events are written in seq order, so their ids rise with it; one that does not was
    moved in the order the trail is shown in."""
    kept = [row for i, row in enumerate(rows) if i not in flagged]
    for row, id_ in zip(kept, sorted(row.id for row in kept), strict=True):
        if row.id != id_:
            report(row.seq, "reordered", "stored out of order (by id)")
