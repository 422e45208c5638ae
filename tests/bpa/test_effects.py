"""Side effects in the audit trail: announced before they are made, recorded with the run's
next write, completed from the connector's ledger when a process died in between, recorded
once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel
from toy_ledger import ChargeRecord, ChargeRequest, ToyBank, toy_runner, toy_settings

from bpa.flows import Flow
from bpa.runs.audit import CALL, EFFECT_KINDS, INTENT, RunAudit
from bpa.runs.context import ConnectorHub, RunContext, complete_effects
from bpa.runs.store import RunStore
from bpa.runs.tables import RunEvent
from connectors.base import Irreversible, action


class SignRequest(BaseModel):
    run_id: str


class Signature(BaseModel):
    trail: list[str]


class WitnessBank(ToyBank):
    """A bank whose write notes what the run's audit trail held while it was made."""

    def __init__(self, database_url: str, store: RunStore) -> None:
        super().__init__(database_url)
        self.store = store

    @action(side_effect=True, undo=Irreversible("a toy"))
    async def sign(self, request: SignRequest, *, idempotency_key: str) -> Signature:
        """Signs, noting the run's side-effect events in the database at that moment."""
        events = self.store.events(request.run_id, kinds=EFFECT_KINDS)
        return Signature(trail=[e.kind for e in events])


class SignInput(BaseModel):
    pass


class SignState(TypedDict, total=False):
    during: list[str]
    after: list[str]


async def sign(state: SignState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    bank = ctx.connectors.get("bank")
    signature = await bank.sign(
        SignRequest(run_id=ctx.run_id), idempotency_key=ctx.idempotency_key("sign", "sign")
    )
    after = bank.store.events(ctx.run_id, kinds=EFFECT_KINDS)
    return {"during": signature.trail, "after": [e.kind for e in after]}


def build_graph() -> StateGraph:
    graph = StateGraph(SignState, context_schema=RunContext)
    graph.add_node("sign", sign, metadata={"kind": "connector"})
    graph.add_edge(START, "sign")
    graph.add_edge("sign", END)
    return graph


SIGN = Flow(
    name="sign",
    version="1",
    description="one write",
    build_graph=build_graph,
    input_model=SignInput,
    make_output=lambda s: {"during": s.get("during"), "after": s.get("after")},
    durability="exit",
)


async def test_a_write_is_announced_before_it_is_made_and_recorded_with_the_next_write(
    tmp_path: Path,
) -> None:
    settings = toy_settings(tmp_path / "home")
    async with toy_runner(settings) as runner:
        bank = WitnessBank(settings.resolved_database_url(), runner.store)
        runner.flows["sign"] = SIGN
        runner.connectors["bank"] = bank
        try:
            run = await runner.start("sign", {})
            events = runner.store.events(run.id, kinds=EFFECT_KINDS)
            key = events[-1].payload["idempotency_key"]
            ledger = runner.ledger.recorded("bank", bank.action_specs()["sign"], key)
        finally:
            bank.engine.dispose()
    assert run.status == "succeeded", run.error
    # The intent is in the database before the write; the outcome, with the engine's ledger
    # row, is written with the run's next write (here: its end), not in a transaction of
    # its own.
    assert run.output == {"during": [INTENT], "after": [INTENT]}
    assert [e.kind for e in events] == [INTENT, CALL]
    assert ledger is not None


class CountingBank(ToyBank):
    """A bank that counts the charges that reach it (the engine's ledger answers others)."""

    calls = 0

    @action(side_effect=True, undo=Irreversible("a toy"))
    async def charge(self, request: ChargeRequest, *, idempotency_key: str) -> ChargeRecord:
        """Books an amount on an account, counting the calls."""
        CountingBank.calls += 1
        return await super().charge(request, idempotency_key=idempotency_key)


async def test_a_repeated_write_waiting_to_be_recorded_is_answered_by_the_engine(
    tmp_path: Path,
) -> None:
    bank = CountingBank(f"sqlite:///{tmp_path / 'bank.db'}")
    settings = toy_settings(tmp_path / "home")
    written: list[RunEvent] = []
    async with toy_runner(settings) as runner:
        audit = RunAudit("run-1", lambda events, _: written.extend(events), outcomes_wait=True)
        hub = ConnectorHub({"bank": bank}, audit, runner.ledger, run_id="run-1")
        request = ChargeRequest(account="a", amount=5)
        first = await hub.get("bank").charge(request, idempotency_key="k")
        again = await hub.get("bank").charge(request, idempotency_key="k")
    assert again == first and CountingBank.calls == 1 and len(bank.charges()) == 1
    assert [e.kind for e in written] == [INTENT], "the outcome waits for the next write"
    assert [e.kind for e in audit.take()] == [CALL], "and is recorded once"
    bank.engine.dispose()


def charge_events(written: list[RunEvent]) -> list[tuple[str, str | None]]:
    return [(e.kind, e.payload.get("idempotency_key")) for e in written]


async def test_a_replayed_write_is_not_recorded_again(tmp_path: Path) -> None:
    bank = ToyBank(f"sqlite:///{tmp_path / 'bank.db'}")
    request = ChargeRequest(account="a", amount=5)
    written: list[RunEvent] = []
    first = RunAudit("run-1", lambda events, _entries: written.extend(events))
    booked = (
        await ConnectorHub({"bank": bank}, first).get("bank").charge(request, idempotency_key="k")
    )

    # The run executed again after a crash.
    again = RunAudit("run-1", lambda events, _entries: written.extend(events))
    again.remember(list(written))
    replayed = (
        await ConnectorHub({"bank": bank}, again).get("bank").charge(request, idempotency_key="k")
    )
    assert replayed == booked and len(bank.charges()) == 1
    assert charge_events(written) == [(INTENT, "k"), (CALL, "k")]
    bank.engine.dispose()


async def test_an_unanswered_write_is_completed_from_the_ledger(tmp_path: Path) -> None:
    bank = ToyBank(f"sqlite:///{tmp_path / 'bank.db'}")
    request = ChargeRequest(account="a", amount=5)
    booked = await bank.charge(request, idempotency_key="done")  # then the process died
    intents = [
        RunEvent(
            run_id="run-1",
            kind=INTENT,
            node="charge_account",
            payload={
                "connector": "bank",
                "action": "charge",
                "side_effect": True,
                "idempotency_key": key,
                "request": request.model_dump(mode="json"),
            },
        )
        for key in ("done", "never-made")
    ]
    written: list[RunEvent] = []
    audit = RunAudit("run-1", lambda events, _entries: written.extend(events))
    audit.remember(intents)

    await complete_effects(audit, {"bank": bank})
    [call] = written
    assert (call.kind, call.node) == (CALL, "charge_account")
    assert call.payload["ok"] and call.payload["recovered"]
    assert call.payload["result"] == booked.model_dump(mode="json")
    assert [intent["idempotency_key"] for intent, _ in audit.unanswered()] == ["never-made"]
    bank.engine.dispose()
