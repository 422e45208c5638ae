"""Resilience (bpa/resilience.py) and the engine under faults: retries that honour Retry-After,
a circuit breaker that makes runs wait (``connector_unavailable``) instead of failing, and
the runs going on by themselves once it closes."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bpa.config import Settings
from bpa.executor import Executor
from bpa.resilience import CallReport, ConnectorGuard, ResilienceConfig, load_guard
from bpa.runs.tables import Run, RunStatus
from bpa.suite import Suite
from connectors.accounting import MockAccountingConnector
from connectors.accounting.tables import AcctBill
from connectors.errors import (
    Conflict,
    ConnectorConfigError,
    RateLimited,
    Rejected,
    TimedOut,
    Transient,
    Unavailable,
)
from connectors.faults import inject_faults
from connectors.schemas import BillCreate
from flows.invoice_processing import flow as invoice_flow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "accounting"
INVOICES = Path(__file__).resolve().parents[2] / "fixtures" / "invoices"
FAST = {"backoff_initial_s": 0.005, "backoff_max_s": 0.02}


def failing(
    *errors: Exception, result: str = "ok"
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """A call that raises `errors` one after the other, then returns `result`."""
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return call, calls


# -- the guard ---------------------------------------------------------------------------------


async def test_transient_errors_are_retried_and_reported() -> None:
    guard = ConnectorGuard("crm", ResilienceConfig(**FAST))
    call, calls = failing(Transient("busy"), TimedOut("slow"))
    report = CallReport()
    assert await guard.call(call, report) == "ok"
    assert len(calls) == 3
    assert report.audit() == {"attempts": 3, "retried": ["transient", "timeout"]}
    assert (guard.stats.calls, guard.stats.attempts, guard.stats.retries) == (1, 3, 2)


@pytest.mark.parametrize("refusal", [Rejected("no such vendor"), Conflict("duplicate")])
async def test_a_refusal_is_an_answer_and_never_retried(refusal: Exception) -> None:
    guard = ConnectorGuard("accounting", ResilienceConfig(**FAST))
    call, calls = failing(refusal)
    with pytest.raises(type(refusal)):
        await guard.call(call)
    assert len(calls) == 1 and guard.stats.retries == 0


async def test_a_429_waits_at_least_its_retry_after() -> None:
    guard = ConnectorGuard("crm", ResilienceConfig(**FAST))
    call, calls = failing(RateLimited("slow down", retry_after=0.2))
    started = time.perf_counter()
    assert await guard.call(call) == "ok"
    assert 0.2 <= time.perf_counter() - started < 1.0
    assert len(calls) == 2


async def test_a_429_asking_for_a_long_pause_makes_the_call_unavailable_at_once() -> None:
    guard = ConnectorGuard("crm", ResilienceConfig(max_retry_after_s=1, **FAST))
    call, calls = failing(RateLimited("come back in a minute", retry_after=60))
    started = time.perf_counter()
    with pytest.raises(Unavailable) as waiting:
        await guard.call(call)
    assert time.perf_counter() - started < 0.5 and len(calls) == 1
    wait = waiting.value.retry_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=58) < wait <= dt.timedelta(seconds=60)


async def test_a_try_without_an_answer_in_time_is_a_timeout() -> None:
    guard = ConnectorGuard("mail", ResilienceConfig(attempts=2, attempt_timeout_s=0.05, **FAST))
    calls: list[int] = []

    async def hangs() -> str:
        calls.append(1)
        await asyncio.sleep(10)
        return "never"

    with pytest.raises(TimedOut):
        await guard.call(hangs)
    assert len(calls) == 2


async def test_the_breaker_opens_refuses_then_lets_a_call_through_and_closes() -> None:
    config = ResilienceConfig(attempts=1, breaker_threshold=3, breaker_reset_s=0.2, **FAST)
    guard = ConnectorGuard("ticketing", config)
    for _ in range(3):
        call, _ = failing(Transient("down"))
        with pytest.raises(Transient):
            await guard.call(call)
    assert guard.stats.trips == 1 and guard.is_open()

    call, calls = failing()
    with pytest.raises(Unavailable) as refused:
        await guard.call(call)
    assert calls == [] and guard.stats.refused == 1
    assert refused.value.connector == "ticketing" and refused.value.code == "unavailable"

    await asyncio.sleep(0.25)  # reset timeout over: the next call is let through
    assert await guard.call(call) == "ok"
    call, _ = failing(Transient("blip"))
    with pytest.raises(Transient):
        await guard.call(call)
    assert guard.stats.trips == 1  # closed again: one failure does not open it


async def test_refusals_and_429s_do_not_open_the_breaker() -> None:
    guard = ConnectorGuard("crm", ResilienceConfig(attempts=1, breaker_threshold=2, **FAST))
    for error in (Rejected("no"), RateLimited("slow", retry_after=0), Rejected("no")):
        call, _ = failing(error)
        with pytest.raises(type(error)):
            await guard.call(call)
    assert guard.stats.trips == 0 and not guard.is_open()


async def test_a_retry_after_a_lost_reply_gets_the_first_bill_not_a_second(
    tmp_path: Path,
) -> None:
    accounting = MockAccountingConnector(
        {"database_url": f"sqlite:///{tmp_path / 'acct.db'}", "seed": str(FIXTURES)}
    )
    faults = inject_faults(accounting, {"crash_after_effect_rate": 1, "max_faults": 2})
    guard = ConnectorGuard("accounting", ResilienceConfig(**FAST))
    request = BillCreate(
        vendor_id="V-1001",
        invoice_number="LOST-REPLY-1",
        invoice_date=dt.date(2026, 3, 2),
        currency="EUR",
        subtotal=Decimal("100.00"),
        total=Decimal("100.00"),
    )
    report = CallReport()
    bill = await guard.call(
        lambda: accounting.create_bill(request, idempotency_key="run-1:create_bill"), report
    )
    assert faults.injected["crash_after_effect"] == 2
    assert report.audit() == {"attempts": 3, "retried": ["timeout", "timeout"]}
    with Session(accounting.engine) as session:
        found = session.exec(select(AcctBill).where(AcctBill.invoice_number == "LOST-REPLY-1"))
        assert [b.id for b in found] == [bill.id]
    accounting.engine.dispose()


def test_a_resilience_entry_that_does_not_fit_is_refused_in_one_line() -> None:
    with pytest.raises(ConnectorConfigError) as refused:
        load_guard("crm", {"attempts": 0, "breaker_reset": 5})
    message = str(refused.value)
    assert "\n" not in message
    assert "resilience.attempts: Input should be greater than or equal to 1" in message
    assert "resilience.breaker_reset: Extra inputs are not permitted" in message


# -- the engine --------------------------------------------------------------------------------


async def test_a_bad_faults_entry_keeps_the_connector_out_with_its_reason(
    settings: Settings,
) -> None:
    settings = settings.model_copy(
        update={"connectors": {"accounting": {"faults": {"error_rate": 3}}}}
    )
    async with Suite.open(settings, preload_flows=False) as suite:
        assert "accounting" not in suite.connectors
        problem = suite.connector_problems["accounting"]
        assert "faults.error_rate: Input should be less than or equal to 1" in problem


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_an_open_breaker_makes_the_run_wait_and_it_goes_on_when_it_closes(
    settings: Settings,
) -> None:
    # The accounting system refuses the first bill (an outage of one failure), which opens its
    # breaker (threshold 1); the guard's retry finds it open: the run waits, then goes on.
    entry: dict[str, Any] = {
        "faults": {"error_rate": 1, "max_faults": 1, "actions": ["create_bill"]},
        "resilience": {"attempts": 2, "breaker_threshold": 1, "breaker_reset_s": 0.4, **FAST},
    }
    settings = settings.model_copy(update={"connectors": {"accounting": entry}})
    async with Suite.open(settings) as suite:
        run = await suite.runner.start(
            invoice_flow.name,
            invoice_flow.load_input(INVOICES / "inv_04_lefevre_fr_classic.pdf", suite.documents),
            trigger="test",
        )
        assert run.status == RunStatus.waiting, run.error
        assert run.error is not None and run.error["code"] == "connector_unavailable"
        assert run.error["connector"] == "accounting"
        assert suite.store.pending_approval(run.id) is None  # no human is asked anything
        events = suite.store.events(run.id)
        [opened] = [e.payload for e in events if e.kind == "connector_breaker_opened"]
        assert opened["connector"] == "accounting" and opened["retried"] == ["transient"]
        [refused] = [
            e.payload
            for e in events
            if e.kind == "connector_call" and e.payload["action"] == "create_bill"
        ]
        assert refused["attempts"] == 1 and refused["error"]["code"] == "unavailable"
        assert suite.guards["accounting"].stats.trips == 1

        # Not before the breaker's reset time, then by itself.
        assert suite.store.requeue_parked() == []
        executor = Executor(suite.runner, poll_interval=0.02)
        await executor.start()
        try:
            await until(lambda: suite.store.get(run.id).status.finished)
        finally:
            await executor.stop()
        done = suite.store.get(run.id)
        assert done.status == RunStatus.succeeded and done.error is None
        kinds = [e.kind for e in suite.store.events(run.id)]
        assert "resumed" in kinds and "run_recovered" not in kinds
        with Session(suite.engine) as session:
            bills = session.exec(
                select(func.count()).where(AcctBill.invoice_number == done.output["invoice_number"])
            ).one()
        assert bills == 1


async def test_requeue_leaves_runs_waiting_for_a_human_alone(settings: Settings) -> None:
    async with Suite.open(settings) as suite:
        run = await suite.runner.start(
            invoice_flow.name,
            invoice_flow.load_input(
                INVOICES / "big_above_threshold_brightline_us.pdf", suite.documents
            ),
            trigger="test",
        )
        assert run.status == RunStatus.waiting
        with Session(suite.engine) as session:  # even with a time in lease_until
            row = session.get(Run, run.id)
            assert row is not None
            row.lease_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            session.add(row)
            session.commit()
        assert suite.store.requeue_parked() == []
        assert suite.store.get(run.id).status == RunStatus.waiting
