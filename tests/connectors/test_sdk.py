"""The connector SDK as a plug-in author meets it: a connector to an API that keeps no keys
of its own still acts once per key (the engine's ledger), optional capabilities, typed
lookup, and configuration errors in one line."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, Field

from bpa.db import create_schema, make_engine
from bpa.runs.audit import CALL, INTENT, RunAudit
from bpa.runs.context import ConnectorHub
from bpa.runs.store import RunStore
from bpa.runs.tables import RunEvent
from connectors.base import Connector, Irreversible, action
from connectors.errors import Conflict, ConnectorConfigError, Rejected, Unsupported
from connectors.kinds import AccountingConnector, CRMConnector
from connectors.registry import validate_connector_class
from connectors.schemas import Task, TaskClose, TaskCreate, TaskRef, TaskSearch


class HttpishConfig(BaseModel):
    base_url: str = Field(description="Where the CRM's API answers, e.g. https://crm.example")
    api_token: str = Field(description="The API token (a secret)")


class TasksOnlyCRM(CRMConnector):
    """A CRM that only has tasks, and an API that honours no idempotency keys: it acts on
    every call it gets. Its state is a list in memory."""

    name: ClassVar[str] = "tasks_crm"
    config_model: ClassVar[type[BaseModel] | None] = HttpishConfig
    capabilities: ClassVar[frozenset[str]] = frozenset({"tasks"})

    def __init__(self, config: HttpishConfig | dict[str, Any]) -> None:
        super().__init__(config)
        self.created: list[Task] = []
        self.keys_seen: list[str] = []

    def _task(self, n: int, request: TaskCreate) -> Task:
        return Task.model_validate(
            {**request.model_dump(), "id": f"T{n}", "status": "open", "created_at": request.due_at}
        )

    @action()
    async def get_task(self, request: TaskRef) -> Task:
        """One task."""
        return next(t for t in self.created if t.id == request.task_id)

    @action()
    async def list_tasks(self, request: TaskSearch) -> list[Task]:
        """All tasks."""
        return list(self.created)

    @action(side_effect=True, undo="cancel_task")
    async def create_task(self, request: TaskCreate, *, idempotency_key: str) -> Task:
        """Create a task (the API ignores keys)."""
        self.keys_seen.append(idempotency_key)
        task = self._task(len(self.created) + 1, request)
        self.created.append(task)
        return task

    @action(side_effect=True, undo=Irreversible("a toy"))
    async def complete_task(self, request: TaskClose, *, idempotency_key: str) -> Task:
        """Complete."""
        raise Rejected("not here")

    @action(side_effect=True, undo=Irreversible("a toy"))
    async def cancel_task(self, request: TaskClose, *, idempotency_key: str) -> Task:
        """Cancel."""
        raise Rejected("not here")


CONFIG = {"base_url": "https://crm.example", "api_token": "t0ken"}


def task_request() -> TaskCreate:
    return TaskCreate.model_validate(
        {
            "subject": "Call back",
            "due_at": "2026-12-10T09:00:00+00:00",
            "related_type": "customer",
            "related_id": "C1",
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    create_schema(engine)
    return RunStore(engine)


def hub(
    store: RunStore,
    connector: Connector,
    run_id: str,
    written: list[RunEvent],
    *,
    outcomes_wait: bool = False,
) -> ConnectorHub:
    from bpa.effects import EffectLedger

    def write(events: list[RunEvent], entries: Any) -> None:
        store.add_events(events, entries)
        written.extend(events)

    audit = RunAudit(run_id, write, outcomes_wait=outcomes_wait)
    audit.remember(written)
    return ConnectorHub(
        {connector.name: connector}, audit, EffectLedger(store.engine), run_id=run_id
    )


@pytest.mark.parametrize("outcomes_wait", [False, True])
async def test_the_engine_ledger_makes_a_keyless_api_act_once(
    store: RunStore, outcomes_wait: bool
) -> None:
    """In a run's execution (`outcomes_wait`) too: a system that keeps no keys gets its
    outcome and ledger row written at once, so a crash right after cannot call it twice."""
    crm = TasksOnlyCRM(CONFIG)
    run_id = store.create_run(flow="toy", flow_version="1", input={}, trigger="api")[0].id
    written: list[RunEvent] = []
    first = (
        await hub(store, crm, run_id, written, outcomes_wait=outcomes_wait)
        .typed(CRMConnector, needs=["tasks"])
        .create_task(task_request(), idempotency_key="k1")
    )
    # The step runs again (a crash after its call, a resumed node): same key, same request.
    again = (
        await hub(store, crm, run_id, written)
        .typed(CRMConnector)
        .create_task(task_request(), idempotency_key="k1")
    )
    assert again == first
    assert len(crm.created) == 1, "the API was called once"
    assert crm.keys_seen == ["k1"], "the action received the key to pass on"
    assert [e.kind for e in written] == [INTENT, CALL], "audited once"

    other = task_request().model_copy(update={"subject": "Something else"})
    with pytest.raises(Conflict) as refused:
        await (
            hub(store, crm, run_id, written)
            .get("tasks_crm")
            .create_task(other, idempotency_key="k1")
        )
    assert refused.value.code == "idempotency_key_reused"
    assert len(crm.created) == 1


async def test_an_optional_capability_a_connector_lacks_is_refused_before_any_call(
    store: RunStore,
) -> None:
    crm = TasksOnlyCRM(CONFIG)
    assert crm.supports("tasks") and not crm.supports("orders")
    run_id = store.create_run(flow="toy", flow_version="1", input={}, trigger="api")[0].id
    connectors = hub(store, crm, run_id, [])
    with pytest.raises(Unsupported, match="orders"):
        connectors.typed(CRMConnector, needs=["tasks", "orders"])
    with pytest.raises(Unsupported, match="orders") as called:
        await connectors.typed(CRMConnector).get_order({"order_id": "#W1"})
    assert called.value.code == "unsupported"
    with pytest.raises(Exception, match="AccountingConnector"):
        connectors.typed(AccountingConnector)


def test_the_registry_checks_capabilities_against_what_is_implemented() -> None:
    assert validate_connector_class(TasksOnlyCRM, "tasks_crm") == []

    class Overclaims(TasksOnlyCRM):
        capabilities: ClassVar[frozenset[str]] = frozenset({"tasks", "orders", "telepathy"})

    problems = validate_connector_class(Overclaims, "tasks_crm")
    assert any("'telepathy' is not one of its kind's" in p for p in problems)
    assert any(
        "declares capability 'orders' but does not implement cancel_order" in p for p in problems
    )

    class Underclaims(TasksOnlyCRM):
        capabilities: ClassVar[frozenset[str]] = frozenset()

    assert any(
        "add 'tasks' to `capabilities`" in p
        for p in validate_connector_class(Underclaims, "tasks_crm")
    )


def test_a_bad_configuration_is_one_line_that_says_what_to_set() -> None:
    with pytest.raises(ConnectorConfigError) as missing:
        TasksOnlyCRM({"base_url": "https://crm.example"})
    message = str(missing.value)
    assert "\n" not in message
    assert "connector 'tasks_crm': api_token: Field required" in message
    assert "The API token" in message and "BPA_CONNECTORS" in message


def test_action_keeps_the_signature_and_a_write_must_take_its_key() -> None:
    parameters = inspect.signature(TasksOnlyCRM.create_task).parameters
    assert list(parameters) == ["self", "request", "idempotency_key"]
    assert parameters["idempotency_key"].kind is inspect.Parameter.KEYWORD_ONLY

    with pytest.raises(TypeError, match="idempotency_key: str"):

        @action(side_effect=True, undo=Irreversible("x"))
        async def pay(self: Any, request: TaskRef) -> TaskRef:
            return request


async def test_a_write_without_a_key_is_refused_before_the_connector_sees_it() -> None:
    crm = TasksOnlyCRM(CONFIG)
    with pytest.raises(Rejected) as refused:
        await crm.create_task(task_request(), idempotency_key="")
    assert refused.value.code == "idempotency_key_missing" and crm.created == []
