"""The tamper-evident audit trail: events tampered with directly in the database (SQLite and
PostgreSQL) are reported by `verify_audit` and `bpa audit verify` at their position."""

from __future__ import annotations

import getpass
import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, delete, select, update
from sqlmodel.sql.sqltypes import UTCDateTime
from typer.testing import CliRunner

from bpa.cli import app
from bpa.db import create_schema, make_engine, table_of
from bpa.migrations import upgrade
from bpa.runs.chain import append_locked, event_hash
from bpa.runs.store import RunStore
from bpa.runs.tables import AuditJournalEntry, Run, RunEvent, RunStatus, utcnow
from bpa.runs.verify import verify_audit

EVENTS = table_of(RunEvent)
RUNS = table_of(Run)
JOURNAL = table_of(AuditJournalEntry)
CONTENT = ("kind", "node", "payload", "duration_ms", "created_at")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
cli = CliRunner()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'bpa.db'}"


@pytest.fixture
def store(url: str) -> Iterator[RunStore]:
    engine = make_engine(url)
    create_schema(engine)
    yield RunStore(engine)
    engine.dispose()


def finished_run(store: RunStore, steps: int = 4, status: RunStatus = RunStatus.succeeded) -> str:
    """A run written as the runner writes one: created, started, steps in batches (with a
    status change and on their own), finished. Its trail has `steps + 3` events."""
    run, _ = store.create_run(flow="f", flow_version="1", input={"n": steps}, trigger="api")
    started = RunEvent(run_id=run.id, kind="run_started", payload={"attempt": 1})
    store.update(run.id, status=RunStatus.running, events=[started])
    for i in range(steps):
        step = RunEvent(
            run_id=run.id,
            kind="node_finished",
            node=f"step_{i}",
            payload={"update": {"i": i, "amount": 12.5 * i, "note": "é ✓"}},
            duration_ms=i,
        )
        store.add_events([step])
    end = RunEvent(run_id=run.id, kind="run_finished", payload={"status": str(status)})
    store.update(run.id, status=status, events=[end])
    return run.id


def findings(engine: Engine, **kwargs: Any) -> list[tuple[str, int, str]]:
    return [(f.run_id, f.seq, f.what) for f in verify_audit(engine, **kwargs).findings]


def cli_findings(url: str) -> tuple[int, list[tuple[str, int, str]]]:
    """`bpa audit verify`: its exit code and the (run, seq, what) of each line it prints."""
    result = cli.invoke(app, ["audit", "verify"], env={"BPA_DATABASE_URL": url})
    lines = [line for line in result.stdout.splitlines() if line.startswith("run_")]
    found = []
    for line in lines:
        run_id, where, what = line.split(" ")[:3]
        found.append((run_id, int(where.partition("=")[2]), what.rstrip(":")))
    return result.exit_code, found


def assert_reported(store: RunStore, url: str, expected: list[tuple[str, int, str]]) -> None:
    assert findings(store.engine) == expected
    code, printed = cli_findings(url)
    assert (code, printed) == (1 if expected else 0, expected)


def event(engine: Engine, run_id: str, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        query = select(EVENTS).where(EVENTS.c.run_id == run_id, EVENTS.c.seq == seq)
        return dict(conn.execute(query).mappings().one())


def set_event(engine: Engine, run_id: str, at: int, /, **values: Any) -> None:
    """Change the event at position `at` of the run's trail, as an UPDATE by hand would."""
    with engine.begin() as conn:
        where = (EVENTS.c.run_id == run_id) & (EVENTS.c.seq == at)
        assert conn.execute(update(EVENTS).where(where).values(**values)).rowcount == 1


def renumber(engine: Engine, run_id: str, *, start: int, by: int) -> None:
    """Shift the seq of events from `start` on (in two steps: seq is unique per run)."""
    with engine.begin() as conn:
        mine = (EVENTS.c.run_id == run_id) & (EVENTS.c.seq >= start)
        conn.execute(update(EVENTS).where(mine).values(seq=EVENTS.c.seq + 100_000))
        moved = (EVENTS.c.run_id == run_id) & (EVENTS.c.seq >= 100_000)
        conn.execute(update(EVENTS).where(moved).values(seq=EVENTS.c.seq - 100_000 + by))


# -- a clean trail ------------------------------------------------------------------------


def test_trails_written_by_the_engine_verify_clean(store: RunStore, url: str) -> None:
    done = finished_run(store)
    failed = finished_run(store, steps=2, status=RunStatus.failed)
    waiting = finished_run(store, steps=1, status=RunStatus.waiting)
    queued, _ = store.create_run(flow="f", flow_version="1", input={}, trigger="api")
    # A runner that lost its lease still writes what it recorded: after the run finished.
    store.add_events([RunEvent(run_id=done, kind="node_failed", payload={"late": True})])
    assert [e.seq for e in store.events(done)] == list(range(1, 9))
    assert [e.seq for e in store.events(queued.id)] == [1]
    trail = store.events(failed)
    assert trail[0].prev_hash == "" and all(
        later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(trail)
    )
    report = verify_audit(store.engine)
    assert report.ok and (report.runs, report.events) == (4, 8 + 5 + 4 + 1)
    assert report.journal_entries == 4  # three runs came to rest, one twice
    assert store.get(waiting).status == RunStatus.waiting
    assert_reported(store, url, [])


def test_hashes_cover_the_documented_fields(store: RunStore) -> None:
    """What an auditor recomputes from an export: the canonical JSON of the event's fields."""
    run_id = finished_run(store, steps=1)
    second = event(store.engine, run_id, 2)
    assert event_hash(second) == second["hash"]
    assert event_hash({**second, "node": "forged"}) != second["hash"]
    assert event_hash({**second, "prev_hash": "0" * 64}) != second["hash"]


# -- tampering, each reported at its position ---------------------------------------------


def test_an_edited_event_is_reported_at_its_position(store: RunStore, url: str) -> None:
    clean, run_id = finished_run(store), finished_run(store)
    set_event(store.engine, run_id, 4, payload={"update": {"i": 1, "amount": 1_000_000}})
    assert_reported(store, url, [(run_id, 4, "edited")])
    assert findings(store.engine) and clean not in {f[0] for f in findings(store.engine)}


def test_an_edit_with_its_hash_recomputed_is_still_reported(store: RunStore, url: str) -> None:
    """The forger recomputes the edited event's hash; the next event recorded the old one."""
    run_id = finished_run(store)
    forged = {**event(store.engine, run_id, 3), "payload": {"update": {"i": 0, "amount": 0}}}
    set_event(store.engine, run_id, 3, payload=forged["payload"], hash=event_hash(forged))
    assert_reported(store, url, [(run_id, 3, "edited")])


def test_a_deleted_event_is_reported_at_its_position(store: RunStore, url: str) -> None:
    run_id, renumbered = finished_run(store), finished_run(store)
    with store.engine.begin() as conn:
        for run in (run_id, renumbered):
            conn.execute(delete(EVENTS).where(EVENTS.c.run_id == run, EVENTS.c.seq == 4))
    renumber(store.engine, renumbered, start=5, by=-1)  # closing the gap hides nothing
    assert_reported(store, url, sorted([(run_id, 4, "deleted"), (renumbered, 4, "deleted")]))


def test_the_deleted_tail_of_a_finished_run_is_reported(store: RunStore, url: str) -> None:
    run_id = finished_run(store)  # 7 events
    with store.engine.begin() as conn:
        conn.execute(delete(EVENTS).where(EVENTS.c.run_id == run_id, EVENTS.c.seq >= 6))
    assert_reported(store, url, [(run_id, 6, "deleted"), (run_id, 7, "deleted")])


def test_reordered_events_are_reported_at_both_positions(store: RunStore, url: str) -> None:
    by_seq, by_content, by_id = finished_run(store), finished_run(store), finished_run(store)
    # Their positions swapped.
    set_event(store.engine, by_seq, 3, seq=-1)
    set_event(store.engine, by_seq, 6, seq=3)
    set_event(store.engine, by_seq, -1, seq=6)
    # Their contents swapped, the chain columns left in place.
    third, sixth = event(store.engine, by_content, 3), event(store.engine, by_content, 6)
    set_event(store.engine, by_content, 3, **{k: sixth[k] for k in CONTENT})
    set_event(store.engine, by_content, 6, **{k: third[k] for k in CONTENT})
    # Their ids swapped: the trail, shown by id, changes order; the chain does not.
    third, fourth = event(store.engine, by_id, 3), event(store.engine, by_id, 4)
    with store.engine.begin() as conn:
        for old, new in ((third["id"], -1), (fourth["id"], third["id"]), (-1, fourth["id"])):
            conn.execute(update(EVENTS).where(EVENTS.c.id == old).values(id=new))
    assert [e.node for e in store.events(by_id)][2:4] == ["step_1", "step_0"]
    moved = {by_seq: (3, 6), by_content: (3, 6), by_id: (3, 4)}
    assert_reported(
        store,
        url,
        sorted((run, seq, "reordered") for run, seqs in moved.items() for seq in seqs),
    )


def test_inserted_events_are_reported_at_their_position(store: RunStore, url: str) -> None:
    crude, linked, appended = finished_run(store), finished_run(store), finished_run(store)
    # A forged event squeezed in (the events after it renumbered), with a made-up hash ...
    renumber(store.engine, crude, start=4, by=1)
    forged = {
        "run_id": crude,
        "seq": 4,
        "kind": "node_finished",
        "node": "approve",
        "payload": {"update": {"approved": True}},
        "duration_ms": 1.0,
        "created_at": event(store.engine, crude, 3)["created_at"],
        "prev_hash": event(store.engine, crude, 3)["hash"],
        "hash": "f" * 64,
    }
    # ... or with a correct one, linked to the event before it ...
    renumber(store.engine, linked, start=4, by=1)
    chained = {**forged, "run_id": linked, "prev_hash": event(store.engine, linked, 3)["hash"]}
    chained["hash"] = event_hash(chained)
    # ... or appended, correctly chained, after the run finished.
    last = event(store.engine, appended, 7)
    after = {**forged, "run_id": appended, "seq": 8, "prev_hash": last["hash"]}
    after["hash"] = event_hash(after)
    with store.engine.begin() as conn:
        conn.execute(EVENTS.insert(), [forged, chained, after])
    assert_reported(
        store,
        url,
        sorted([(crude, 4, "inserted"), (linked, 4, "inserted"), (appended, 8, "inserted")]),
    )


def test_a_deleted_run_is_reported(store: RunStore, url: str) -> None:
    kept, gone = finished_run(store), finished_run(store)
    with store.engine.begin() as conn:
        conn.execute(delete(EVENTS).where(EVENTS.c.run_id == gone))
        conn.execute(delete(RUNS).where(RUNS.c.id == gone))
    assert_reported(store, url, [(gone, 7, "run_deleted")])
    assert kept not in {f[0] for f in findings(store.engine)}


def test_a_journal_entry_removed_from_the_middle_is_reported(store: RunStore, url: str) -> None:
    first, second, third = finished_run(store), finished_run(store), finished_run(store)
    with store.engine.begin() as conn:
        conn.execute(delete(JOURNAL).where(JOURNAL.c.run_id == second))
    report = verify_audit(store.engine)
    assert {(f.run_id, f.what, f.source) for f in report.findings} == {
        (third, "deleted", "journal"),  # the entry after the gap no longer links
        (second, "inserted", "trail"),  # a resting run with no journal entry
    }
    assert first not in {f.run_id for f in report.findings}
    assert cli_findings(url)[0] == 1


def test_since_limits_the_check_to_newer_runs(store: RunStore, url: str) -> None:
    old = finished_run(store)
    set_event(store.engine, old, 2, payload={"edited": True})
    cutoff = utcnow()
    finished_run(store)
    assert findings(store.engine) == [(old, 2, "edited")]
    recent = verify_audit(store.engine, since=cutoff)
    assert recent.ok and (recent.runs, recent.events, recent.journal_entries) == (1, 7, 1)
    env = {"BPA_DATABASE_URL": url}
    everything = cli.invoke(app, ["audit", "verify", "--since", "2000-01-01", "--json"], env=env)
    assert everything.exit_code == 1 and json.loads(everything.stdout)["runs"] == 2
    later = cli.invoke(app, ["audit", "verify", "--since", "2999-01-01"], env=env)
    assert later.exit_code == 0 and "0 runs" in later.stderr


# -- appends from several processes ------------------------------------------------------


def test_concurrent_appends_to_one_run_keep_one_chain(store: RunStore) -> None:
    """The worker and the API append to the same run at once: no fork, no lost event."""
    run, _ = store.create_run(flow="f", flow_version="1", input={}, trigger="api")
    store.update(run.id, status=RunStatus.running)
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def append(who: str) -> None:
        barrier.wait()
        try:
            for i in range(40):
                batch = [
                    RunEvent(run_id=run.id, kind="node_finished", payload={"who": who, "i": i}),
                    RunEvent(run_id=run.id, kind="model_call", payload={"who": who, "i": i}),
                ]
                store.add_events(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    trail = store.events(run.id)
    assert [e.seq for e in trail] == list(range(1, 1 + 1 + 3 * 80))
    for i in range(1, len(trail), 2):  # a batch's two events stay together
        assert trail[i].payload == trail[i + 1].payload
    assert verify_audit(store.engine).ok


def test_an_append_that_waited_for_another_continues_after_it(store: RunStore) -> None:
    """The second writer reads the run's head only once the first has committed (on
    PostgreSQL a query that waited for a row lock still sees other tables as they were when
    it started: the head must be read by a statement of its own)."""
    run, _ = store.create_run(flow="f", flow_version="1", input={}, trigger="api")
    second: list[BaseException | None] = []

    def append_second() -> None:
        try:
            store.add_events([RunEvent(run_id=run.id, kind="second", payload={})])
            second.append(None)
        except BaseException as exc:
            second.append(exc)

    waiting = threading.Thread(target=append_second)
    with store.engine.begin() as conn:
        first: dict[str, Any] = {"run_id": run.id, "kind": "first", "node": None, "payload": {}}
        append_locked(conn, [first | {"duration_ms": None, "created_at": utcnow()}])
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive(), "the second writer waits for the first"
    waiting.join(30)
    assert second == [None]
    assert [(e.seq, e.kind) for e in store.events(run.id)] == [
        (1, "run_created"),
        (2, "first"),
        (3, "second"),
    ]
    assert verify_audit(store.engine).ok


# -- the export ---------------------------------------------------------------------------


def test_export_writes_every_event_with_its_hashes(
    store: RunStore, url: str, tmp_path: Path
) -> None:
    run_id = finished_run(store, steps=1)
    out = tmp_path / "audit.jsonl"
    result = cli.invoke(app, ["audit", "export", "-o", str(out)], env={"BPA_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(e["run_id"], e["seq"]) for e in lines] == [(run_id, n) for n in range(1, 5)]
    assert lines[1]["prev_hash"] == lines[0]["hash"] and lines[2]["payload"]["update"]["note"]
    assert all(e["created_at"].endswith("+00:00") for e in lines)
    stdout = cli.invoke(app, ["audit", "export"], env={"BPA_DATABASE_URL": url}).stdout
    assert [json.loads(line)["hash"] for line in stdout.splitlines()] == [e["hash"] for e in lines]


# -- upgrading a database written before the chain ----------------------------------------


def test_the_migration_chains_existing_events_in_the_order_written(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine, "0005")
    # The tables as they were then, without the chain's columns.
    runs = sa.table(
        "bpa_runs",
        *(sa.column(name) for name in ("id", "flow", "flow_version", "trigger", "attempts")),
        sa.column("status", sa.Enum(*RunStatus, name="runstatus")),
        sa.column("input", sa.JSON()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    events = sa.table(
        "bpa_run_events",
        *(sa.column(name) for name in ("run_id", "kind", "duration_ms")),
        sa.column("payload", sa.JSON()),
        sa.column("created_at", UTCDateTime()),
    )
    now = utcnow()
    with engine.begin() as conn:
        common = {"flow": "f", "flow_version": "1", "trigger": "cli", "attempts": 1, "input": {}}
        conn.execute(
            runs.insert(),
            [
                {"id": "run_a", "status": "succeeded", "created_at": now, "updated_at": now}
                | common,
                {"id": "run_b", "status": "running", "created_at": now, "updated_at": now} | common,
            ],
        )
        conn.execute(
            events.insert(),
            [
                {"run_id": run_id, "kind": f"k{i}", "payload": {"i": i}, "duration_ms": i or None}
                | {"created_at": now}
                for i, run_id in enumerate(["run_a", "run_b", "run_a", "run_a", "run_b"])
            ],
        )
    create_schema(engine)
    store = RunStore(engine)
    assert [(e.seq, e.kind) for e in store.events("run_a")] == [(1, "k0"), (2, "k2"), (3, "k3")]
    assert [(e.seq, e.kind) for e in store.events("run_b")] == [(1, "k1"), (2, "k4")]
    report = verify_audit(engine)
    assert report.ok and report.journal_entries == 1  # run_a is at rest, run_b is not
    store.add_events([RunEvent(run_id="run_b", kind="later", payload={})])
    assert store.events("run_b")[-1].seq == 3 and verify_audit(engine).ok
    set_event(engine, "run_a", 3, kind="forged")
    assert findings(engine) == [("run_a", 3, "edited")]
    engine.dispose()


# -- a real flow, decided from the command line -------------------------------------------


def test_a_cli_decision_records_the_os_user_and_why_and_the_trail_verifies() -> None:
    invoice = FIXTURES / "invoices" / "big_above_threshold_brightline_us.pdf"
    waiting = json.loads(cli.invoke(app, ["run", "invoice_processing", "-i", str(invoice)]).stdout)
    assert waiting["status"] == "waiting"
    answer = ["approve", waiting["run_id"], "--comment", "checked against the contract"]
    assert cli.invoke(app, answer).exit_code == 0
    shown = cli.invoke(app, ["runs", "show", waiting["run_id"], "--json"])
    trail = json.loads(shown.stdout)
    resumed = next(e for e in trail["events"] if e["kind"] == "resumed")["payload"]
    user = f"cli:{getpass.getuser()}"
    assert resumed["actor"] == {"name": user, "role": "admin", "key_id": None}
    assert resumed["decided_by"] == user and resumed["comment"] == "checked against the contract"
    assert trail["approvals"][0]["decided_by"] == user
    assert [e["seq"] for e in trail["events"]] == list(range(1, len(trail["events"]) + 1))
    verified = cli.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and "audit trail intact: 1 runs" in verified.stderr
