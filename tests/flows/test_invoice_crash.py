"""kill -9 at every step boundary of the invoice flow, then a restart.

The invoice flow checkpoints only when it stops (`Flow.durability == "exit"`), so a run
whose process dies mid-way is executed again from its last stop. Whatever the point of
death, the run must end with exactly one bill in the right state (never a "duplicate" of
its own bill, never a forgotten draft) and an audit trail holding exactly one
`connector_call` per change to the accounting system.
"""

from __future__ import annotations

import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from invoice_crash import Crash, spawn

from bpa.config import Settings
from bpa.executor import Executor
from bpa.runs.tables import Run, RunStatus
from bpa.suite import Suite
from connectors.schemas import Bill, BillSearch
from flows.invoice_processing import flow

INVOICES = Path(__file__).resolve().parents[2] / "fixtures" / "invoices"
#: Booked and posted without a human (fixtures/invoices/expected/ says so).
AUTO = INVOICES / "inv_01_mueller_de_classic.pdf"
#: Above the approval threshold: booked as a draft, then it waits for a human.
REVIEW = INVOICES / "big_above_threshold_brightline_us.pdf"
KILLED = -signal.SIGKILL

APPROVE = {"action": "approve"}
REJECT = {"action": "reject", "comment": "not ordered"}
CORRECT = {"action": "correct", "corrections": {"due_date": "2026-05-20"}}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A restart right after each crash: no back-off between attempts (tests/bpa covers it)."""
    return settings.model_copy(update={"retry_backoff_s": 0.0})


async def submit(suite: Suite, path: Path) -> str:
    # The crash process loads the trained classifier from the cache instead of training it.
    await suite.runner.models.backend.warm_up(list(flow.classify_tasks))  # type: ignore[attr-defined]
    payload = flow.input_from_file(path, suite.documents)
    run, _ = suite.runner.submit(flow.name, payload, trigger="test")
    return run.id


async def restart(suite: Suite, run_id: str) -> Run:
    """What a restarted server does: an executor picks up the run of the dead process."""
    executor = Executor(suite.runner, concurrency=1, poll_interval=0.05)
    try:
        await executor.run_until_idle(timeout=60)
    finally:
        await executor.stop()
    return suite.store.get(run_id)


async def bills(suite: Suite, run: Run) -> list[Bill]:
    accounting = suite.connectors["accounting"]
    found: list[Bill] = await accounting.find_bills(  # type: ignore[attr-defined]
        BillSearch(
            vendor_id=run.output["vendor_id"],
            invoice_number=run.output["invoice_number"],
            include_void=True,
        )
    )
    return found


def writes(suite: Suite, run_id: str) -> list[dict[str, Any]]:
    """The trail's successful changes to a business system, in order."""
    return [
        e.payload
        for e in suite.store.events(run_id)
        if e.kind == "connector_call" and e.payload["side_effect"] and e.payload["ok"]
    ]


def assert_each_write_audited_once(suite: Suite, run_id: str, actions: list[str]) -> None:
    done = writes(suite, run_id)
    assert sorted(w["action"] for w in done) == sorted(actions), done
    keys = Counter(w["idempotency_key"] for w in done)
    assert set(keys.values()) == {1}, f"one connector_call per change: {keys}"
    trail = suite.store.events(run_id, kinds=["connector_intent", "connector_call"])
    announced = [e.payload["idempotency_key"] for e in trail if e.kind == "connector_intent"]
    assert Counter(announced) == keys, "each change was announced once"
    seen: set[str] = set()
    for event in trail:  # ...before it was made
        key = event.payload["idempotency_key"]
        if event.kind == "connector_intent":
            seen.add(key)
        elif event.payload["side_effect"]:
            assert key in seen, f"{key} recorded before it was announced"


def codes(run: Run) -> set[str]:
    return {i["code"] for i in (run.output or {}).get("issues", [])}


# -- the matrix: every boundary, on each path through the graph -------------------------------


@dataclass(frozen=True)
class Route:
    """A path through the graph: the document, the answers, what the run ends with."""

    document: Path
    #: The answer the crashing process gives (None: it executes the run from the start).
    answer: dict[str, Any] | None
    #: Answers given after the restart, while the run waits.
    later: tuple[dict[str, Any], ...]
    decision: str
    bills: list[str]
    effects: list[str]


CREATED_POSTED = ["create_bill", "post_bill"]
CREATED_VOIDED = ["create_bill", "void_bill"]
ROUTES = {
    "auto": Route(AUTO, None, (), "auto_approved", ["posted"], CREATED_POSTED),
    "review-reject": Route(REVIEW, None, (REJECT,), "rejected", ["void"], CREATED_VOIDED),
    "review-approve": Route(REVIEW, None, (APPROVE,), "approved", ["posted"], CREATED_POSTED),
    "rejected": Route(REVIEW, REJECT, (), "rejected", ["void"], CREATED_VOIDED),
    "approved": Route(REVIEW, APPROVE, (), "approved", ["posted"], CREATED_POSTED),
    "corrected": Route(
        REVIEW,
        CORRECT,
        (APPROVE,),
        "approved",
        ["void", "posted"],
        [*CREATED_VOIDED, *CREATED_POSTED],
    ),
}

_BEFORE_BILL = ("after:read_input", "after:classify_document", "after:extract_fields")
_FIRST_PASS = (*_BEFORE_BILL, "after:validate_invoice")
BOUNDARIES: list[tuple[str, str]] = [
    *[("auto", at) for at in _FIRST_PASS],
    ("auto", "after:create_bill"),  # the probe's case: a draft bill, not yet posted
    ("auto", "calling:create_bill"),
    ("auto", "effect:create_bill"),
    ("auto", "after:post_bill"),
    ("auto", "calling:post_bill"),
    ("auto", "effect:post_bill"),
    *[("review-reject", at) for at in _FIRST_PASS],
    ("review-reject", "after:create_bill"),
    ("review-reject", "effect:create_bill"),
    ("review-reject", "after:open_review"),
    ("review-approve", "after:create_bill"),
    ("review-approve", "after:open_review"),
    ("rejected", "after:request_review"),
    ("rejected", "calling:void_bill"),
    ("rejected", "after:void_bill"),
    ("rejected", "effect:void_bill"),
    ("approved", "after:request_review"),
    ("approved", "after:post_bill"),
    ("approved", "effect:post_bill"),
    ("corrected", "after:request_review"),
    ("corrected", "after:void_bill"),
    ("corrected", "effect:void_bill"),
    ("corrected", "after:apply_corrections"),
    ("corrected", "after:validate_invoice"),
    ("corrected", "after:create_bill"),
    ("corrected", "effect:create_bill"),
    ("corrected", "after:open_review"),
]
#: Run by default; the rest is marked slow (about 3 s a boundary).
DEFAULT = {("auto", "after:create_bill"), ("review-reject", "after:create_bill")}


@pytest.mark.parametrize(
    ("route", "at"),
    [
        pytest.param(
            *case, id=f"{case[0]}-{case[1]}", marks=() if case in DEFAULT else [pytest.mark.slow]
        )
        for case in BOUNDARIES
    ],
)
async def test_kill_at_a_step_boundary_then_restart(
    settings: Settings, route: str, at: str
) -> None:
    spec = ROUTES[route]
    async with Suite.open(settings) as suite:
        run_id = await submit(suite, spec.document)
        if spec.answer is not None:  # the question is reached without a crash
            assert (await suite.runner.execute(run_id)).status == RunStatus.waiting
        assert spawn(Crash(settings, run_id, at, spec.answer)) == KILLED, f"never reached {at}"
        assert suite.store.get(run_id).status == RunStatus.running

        run = await restart(suite, run_id)
        for answer in spec.later:
            assert run.status == RunStatus.waiting, run.error
            assert not codes(run) & {"duplicate_invoice"}, codes(run)
            run = await suite.runner.resume(run_id, answer, by="ann")

        assert run.status == RunStatus.succeeded, run.error
        assert run.output["decision"] == spec.decision
        assert "duplicate_invoice" not in codes(run)
        assert [b.status for b in await bills(suite, run)] == spec.bills
        assert_each_write_audited_once(suite, run_id, spec.effects)
        events = Counter(e.kind for e in suite.store.events(run_id))
        assert events["run_finished"] == 1


# -- the three defects the outside probe found, one test each ----------------------------------


async def test_a_restarted_run_does_not_take_its_own_bill_for_a_duplicate(
    settings: Settings,
) -> None:
    async with Suite.open(settings) as suite:
        run_id = await submit(suite, AUTO)
        assert spawn(Crash(settings, run_id, "effect:create_bill")) == KILLED

        run = await restart(suite, run_id)
        assert "duplicate_invoice" not in codes(run), run.output["issues"]
        assert run.status == RunStatus.succeeded and run.output["decision"] == "auto_approved"
        [bill] = await bills(suite, run)
        assert bill.status == "posted" and bill.id == run.output["bill_id"]


async def test_a_bill_is_in_the_audit_trail_before_the_process_can_die(settings: Settings) -> None:
    """The bill's intent is written before the bill is made; its outcome goes with the run's
    next write, so a process that dies right after the step leaves the intent alone, and the
    restarted run records the outcome once, from the accounting system's ledger."""
    async with Suite.open(settings) as suite:
        run_id = await submit(suite, AUTO)
        assert spawn(Crash(settings, run_id, "after:create_bill")) == KILLED
        [intent] = [e.payload for e in suite.store.events(run_id) if e.kind == "connector_intent"]
        assert intent["action"] == "create_bill"

        run = await restart(suite, run_id)
        [bill] = await bills(suite, run)
        created, _ = writes(suite, run_id)
        assert created["idempotency_key"] == intent["idempotency_key"]
        assert created["result"]["id"] == bill.id
        assert_each_write_audited_once(suite, run_id, ["create_bill", "post_bill"])


@pytest.mark.parametrize("accounting_db", ["engine's", "its own"])
async def test_an_unanswered_write_is_completed_from_the_connector_ledger(
    settings: Settings, tmp_path: Path, accounting_db: str
) -> None:
    if accounting_db == "its own":  # as a real ERP: no transaction spans both databases
        own = {"database_url": f"sqlite:///{tmp_path / 'accounting.db'}"}
        settings = settings.model_copy(update={"connectors": {"accounting": own}})
    async with Suite.open(settings) as suite:
        accounting_url = suite.connectors["accounting"].engine.url  # type: ignore[attr-defined]
        assert (accounting_url.database == str(tmp_path / "accounting.db")) is (
            accounting_db == "its own"
        )
        run_id = await submit(suite, AUTO)
        assert spawn(Crash(settings, run_id, "effect:create_bill")) == KILLED
        [intent] = [e.payload for e in suite.store.events(run_id) if e.kind == "connector_intent"]
        assert intent["action"] == "create_bill" and writes(suite, run_id) == []

        run = await restart(suite, run_id)
        [bill] = await bills(suite, run)
        created, posted = writes(suite, run_id)
        assert created["idempotency_key"] == intent["idempotency_key"]
        assert created["result"]["id"] == bill.id and created["result"]["status"] == "draft"
        assert posted["action"] == "post_bill"


async def test_rejecting_a_restarted_run_voids_the_bill_it_booked(settings: Settings) -> None:
    async with Suite.open(settings) as suite:
        run_id = await submit(suite, REVIEW)
        assert spawn(Crash(settings, run_id, "effect:create_bill")) == KILLED

        waiting = await restart(suite, run_id)
        assert waiting.status == RunStatus.waiting and codes(waiting) == {"above_threshold"}
        assert waiting.output["bill_id"] is not None, "the run knows the bill it booked"
        done = await suite.runner.resume(run_id, REJECT, by="bob")
        assert [b.status for b in await bills(suite, done)] == ["void"], "no draft left behind"
        assert_each_write_audited_once(suite, run_id, ["create_bill", "void_bill"])
