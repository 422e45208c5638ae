"""Issue #11, part 4: every user mistake gets one line saying what to do, a non-zero exit
code (2 for usage errors) and no traceback, and a refused input records nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from typer.testing import CliRunner

from bpa.cli import app
from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.runs.store import RunStore
from bpa.runs.tables import Approval, Run, RunStatus
from bpa.schedules import Schedule

REPO = Path(__file__).resolve().parents[2]
INVOICES = REPO / "fixtures" / "invoices"
MESSAGE = {"channel": "email", "subject": "Where is my order?", "body": "Order #W1242543?"}
cli = CliRunner()


@dataclass
class Invoked:
    code: int
    out: str  # stdout and stderr, as a terminal shows them


def bpa(*args: str, columns: int = 100) -> Invoked:
    result = cli.invoke(app, list(args), env={"COLUMNS": str(columns)}, prog_name="bpa")
    return Invoked(result.exit_code, result.output)


def counts(settings: Settings) -> dict[str, int]:
    """What a refused command must not leave behind: runs, decisions, schedules."""
    engine = open_engine(settings)
    create_schema(engine)
    with engine.connect() as conn:
        found = {
            table.__name__: conn.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]
            for table in (Run, Schedule)
        }
        found["decisions"] = conn.execute(
            select(func.count())
            .select_from(Approval)  # type: ignore[arg-type]
            .where(col(Approval.decided_by).is_not(None))
        ).scalar_one()
    engine.dispose()
    return found


@pytest.fixture
def files(tmp_path: Path) -> Callable[[str, str], str]:
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@dataclass
class Mistake:
    """A command line (`{run}` is a waiting invoice run with a blocking issue; files by name
    come from `files`), what its one line must say, and its exit code."""

    args: list[str]
    says: list[str]
    code: int = 2
    files: dict[str, str] = field(default_factory=dict)
    needs_run: bool = False
    before: list[list[str]] = field(default_factory=list)


GOOD = json.dumps(MESSAGE)
ADD_X = ["schedules", "add", "x", "--flow", "sales_operations", "--cron", "0 7 * * MON"]
MISTAKES = {
    "run without --input": Mistake(
        ["run", "invoice_processing"],
        ["invoice_processing needs an input file", "--input FILE"],
    ),
    "run with malformed JSON": Mistake(
        ["run", "customer_service", "--input", "message.json"],
        ["message.json is not valid JSON", "line 1"],
        files={"message.json": '{"body": "hi",'},
    ),
    "run with a JSON array": Mistake(
        ["run", "customer_service", "--input", "message.json"],
        ["must be a JSON object", "not an array", "body"],
        files={"message.json": "[1, 2]"},
    ),
    "run with an unknown field": Mistake(
        ["run", "customer_service", "--input", "message.json"],
        ["unknown field 'foo'", "valid fields: channel, subject, body"],
        files={"message.json": '{"foo": 1}'},
    ),
    "run with an unknown nested field": Mistake(
        ["run", "customer_service", "--input", "message.json"],
        ["unknown field 'sender.mail'", "valid fields: email, name, verified"],
        files={"message.json": '{"body": "hi", "sender": {"mail": "a@b.c"}}'},
    ),
    "run an invoice with an unknown field": Mistake(
        ["run", "invoice_processing", "--input", "invoice.json"],
        ["unknown field 'pdf'", "document, text, source"],
        files={"invoice.json": '{"text": "INVOICE 1", "pdf": "x.pdf"}'},
    ),
    "run with a value of the wrong type": Mistake(
        ["run", "sales_operations", "--input", "review.json"],
        ["review.json does not fit", "stalled_days", "integer"],
        files={"review.json": '{"stalled_days": "a month"}'},
    ),
    "batch with one bad file runs none": Mistake(
        ["batch", "customer_service", "good.json", "bad.json"],
        ["1 of 2 inputs do not fit customer_service", "none was run", "bad.json", "'foo'"],
        files={"good.json": GOOD, "bad.json": '{"foo": 1}'},
    ),
    "cron field out of range": Mistake(
        ["schedules", "add", "x", "--flow", "sales_operations", "--cron", "61 * * * *"],
        ["the minute field '61' is out of range (0-59)"],
    ),
    "cron weekday out of range": Mistake(
        ["schedules", "add", "x", "--flow", "sales_operations", "--cron", "0 7 * * 9"],
        ["the weekday field '9' is out of range"],
    ),
    "schedule input with an unknown field": Mistake(
        [*ADD_X, "--input", "review.json"],
        ["unknown field 'asof'", "as_of"],
        files={"review.json": '{"asof": "2025-06-30"}'},
    ),
    "schedule input with malformed JSON": Mistake(
        [*ADD_X, "--input", "review.json"],
        ["review.json is not valid JSON"],
        files={"review.json": "{as_of: 2025-06-30}"},
    ),
    "schedule name taken": Mistake(
        ["schedules", "add", "weekly", "--flow", "sales_operations", "--cron", "0 8 * * MON"],
        ["a schedule named 'weekly' already exists", "bpa schedules rm weekly"],
        before=[
            ["schedules", "add", "weekly", "--flow", "sales_operations", "--cron", "0 7 * * 1"]
        ],
    ),
    "correct with a value of the wrong type": Mistake(
        ["approve", "{run}", "--correct", "total=abc"],
        ["--correct total=abc", "decimal"],
        needs_run=True,
    ),
    "correct an unknown field": Mistake(
        ["approve", "{run}", "--correct", "nosuchfield=3"],
        ["unknown field 'nosuchfield'", "fields you can correct: vendor_id", "total"],
        needs_run=True,
    ),
    "correct without a value": Mistake(
        ["approve", "{run}", "--correct", "total"],
        ["--correct takes FIELD=VALUE"],
        needs_run=True,
    ),
    "approve what only takes reject or correct": Mistake(
        ["approve", "{run}"],
        ["cannot be approved", "takes reject or correct", "--reject, or --correct FIELD=VALUE"],
        needs_run=True,
    ),
    "reject and correct at once": Mistake(
        ["approve", "{run}", "--reject", "--correct", "total=1520.00"],
        ["give one of them"],
        needs_run=True,
    ),
    "approve an unknown run": Mistake(["approve", "run_nope"], ["no run with id 'run_nope'"]),
    # typer's own usage errors: one line too, with where to read more
    "run without a flow": Mistake(["run"], ["Missing argument 'flow'", "bpa run --help"]),
    "an unknown command": Mistake(["runz", "list"], ["No such command 'runz'", "bpa --help"]),
    "a file that does not exist": Mistake(
        ["batch", "invoice_processing", "no-such-folder"],
        ["'no-such-folder' does not exist", "bpa batch --help"],
    ),
    "a status that does not exist": Mistake(
        ["runs", "list", "--status", "done"], ["'done' is not one of", "bpa runs list --help"]
    ),
    "a lazily loaded command without its argument": Mistake(
        ["schedules", "rm"], ["Missing argument", "bpa schedules rm --help"]
    ),
}


@pytest.fixture
def settings_() -> Settings:
    return Settings()  # BPA_HOME is this test's (tests/conftest.py)


def _waiting_invoice() -> str:
    done = bpa(
        "run", "invoice_processing", "--input", str(INVOICES / "err_bad_total_dubois_fr.pdf")
    )
    run = json.loads(done.out)
    assert run["status"] == "waiting", done.out
    return str(run["run_id"])


@pytest.mark.parametrize("name", list(MISTAKES))
def test_a_mistake_is_one_line_and_records_nothing(
    name: str, files: Callable[[str, str], str], settings_: Settings
) -> None:
    mistake = MISTAKES[name]
    paths = {file: files(file, text) for file, text in mistake.files.items()}
    run_id = _waiting_invoice() if mistake.needs_run else ""
    for args in mistake.before:
        assert bpa(*args).code == 0
    before = counts(settings_)

    args = [paths.get(a, a).replace("{run}", run_id) for a in mistake.args]
    done = bpa(*args, columns=80)  # a narrow terminal must not wrap the line

    assert done.code == mistake.code, done.out
    assert "Traceback" not in done.out
    lines = [line for line in done.out.splitlines() if line.strip()]
    assert len(lines) == 1, done.out
    assert lines[0].startswith("error: ")
    for words in mistake.says:
        assert words in lines[0], lines[0]
    assert counts(settings_) == before
    if run_id:
        assert RunStore(open_engine(settings_)).get(run_id).status == RunStatus.waiting


def test_runs_list_says_how_many_match_and_keeps_ids_whole(settings_: Settings) -> None:
    engine = open_engine(settings_)
    create_schema(engine)
    store = RunStore(engine)
    for n in range(3):
        run, _ = store.create_run(
            flow="customer_service", flow_version="1", input={}, trigger="cli"
        )
        decision = {
            "outcome": "act",
            "reason": "cancel_pending",
            "explanation": f"the order was pending, so it was cancelled ({n})",
            "requests": [{"intent": "cancel_order", "actions": [{"action": "cancel_order"}]}],
        }
        store.update(run.id, status=RunStatus.succeeded, output={"decision": decision})
    newest = store.list_runs(limit=1)[0].id

    done = bpa("runs", "list", "--limit", "2", columns=60)
    assert done.code == 0, done.out
    assert "2 of 3 runs" in done.out
    assert newest in done.out  # on one line: it can be copied

    wide = bpa("runs", "list", columns=200).out
    assert "3 runs" in wide and " of " not in wide
    assert "act: cancel_pending" in wide  # the decision in short, not the whole record
    assert "explanation" not in wide and "requests" not in wide


def test_schedule_names_are_unique_in_the_store(settings_: Settings) -> None:
    engine = open_engine(settings_)
    create_schema(engine)
    from bpa.schedules import ScheduleError, ScheduleStore

    store = ScheduleStore(engine)
    first = store.create(flow="sales_operations", cron="0 7 * * 1")
    second = store.create(flow="sales_operations", cron="0 8 * * 1")
    assert (first.name, second.name) == ("sales_operations", "sales_operations-2")
    with pytest.raises(ScheduleError, match="already exists"):
        store.create(flow="sales_operations", cron="0 9 * * 1", name="sales_operations")
    with pytest.raises(ScheduleError, match="already exists"):
        store.update(second.id, name="sales_operations")
    assert store.update(second.id, cron="0 10 * * 1").name == "sales_operations-2"
