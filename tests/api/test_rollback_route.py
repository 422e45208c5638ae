"""`POST /runs/{id}/rollback`: who may, what it needs, what it answers.

The toy suite gets a side-effecting connector, a counter whose `add` is undone by
`subtract`; a run adds to it through the engine's audited path, as a flow's node would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import httpx
import pytest
from conftest import assert_problem, services, with_worker
from fastapi import FastAPI
from pydantic import BaseModel
from toys import toy_suite

from api import create_app
from bpa.auth import Role
from bpa.config import Settings
from bpa.effects import EffectLedger
from bpa.runs.audit import RunAudit
from bpa.runs.context import ConnectorHub
from bpa.runs.status import RunStatus
from bpa.suite import Suite
from connectors.base import Connector, Done, Irreversible, Undo, action


class Amount(BaseModel):
    amount: int


class Total(BaseModel):
    total: int


def _subtract(done: Done[Amount, Total]) -> Amount:
    return Amount(amount=done.request.amount)


class Counter(Connector):
    """A system with one number in it."""

    name: ClassVar[str] = "counter"
    kind: ClassVar[str] = "toy"

    def __init__(self) -> None:
        self.total = 0

    @action(side_effect=True, undo=Undo("subtract", _subtract))
    async def add(self, request: Amount, *, idempotency_key: str) -> Total:
        """Adds to the number."""
        self.total += request.amount
        return Total(total=self.total)

    @action(side_effect=True, undo=Irreversible("a toy"))
    async def subtract(self, request: Amount, *, idempotency_key: str) -> Total:
        """Takes from the number."""
        self.total -= request.amount
        return Total(total=self.total)


@pytest.fixture
def app(api_settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def suite_with_counter(settings: Settings) -> AsyncIterator[Suite]:
        async with toy_suite(settings) as suite:
            suite.connectors["counter"] = Counter()
            yield suite

    return create_app(api_settings, open_suite=with_worker(suite_with_counter))


def counter(app: FastAPI) -> Counter:
    found = services(app).suite.connectors["counter"]
    assert isinstance(found, Counter)
    return found


async def a_run_that_added(app: FastAPI, *amounts: int, status: RunStatus | None = None) -> str:
    """A finished run (or one in `status`) that added `amounts` to the counter."""
    suite = services(app).suite
    # a flow no worker serves: the test's worker leaves the run alone, whatever its status
    run, _ = suite.store.create_run(flow="manual", flow_version="1", input={}, trigger="test")
    hub = ConnectorHub(
        suite.connectors,
        RunAudit(run.id, suite.store.add_events),
        EffectLedger(suite.engine),
        run_id=run.id,
    )
    for number, amount in enumerate(amounts):
        await hub.get("counter").add(Amount(amount=amount), idempotency_key=f"{run.id}:{number}")
    suite.store.update(run.id, status=status or RunStatus.succeeded)
    return run.id


async def test_an_approver_rolls_a_run_back_and_a_second_time_nothing_happens(
    app: FastAPI, client: httpx.AsyncClient, make_key: Callable[[Role], dict[str, str]]
) -> None:
    run_id = await a_run_that_added(app, 5, 7)
    assert counter(app).total == 12
    approver = make_key(Role.approver)
    response = await client.post(
        f"/runs/{run_id}/rollback", json={"reason": "wrong numbers"}, headers=approver
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run"]["status"] == "rolled_back" and not body["noop"]
    assert [(s["action"], s["outcome"]) for s in body["steps"]] == [("add", "undone")] * 2
    assert body["left"] == [] and counter(app).total == 0
    trail = (await client.get(f"/runs/{run_id}/events", headers=approver)).json()["data"]
    started = next(e for e in trail if e["kind"] == "rollback_started")
    assert started["payload"]["reason"] == "wrong numbers"
    assert started["payload"]["by"] == "approver key"

    again = await client.post(
        f"/runs/{run_id}/rollback", json={"reason": "again"}, headers=make_key(Role.admin)
    )
    assert again.status_code == 200 and again.json()["noop"]
    assert [s["outcome"] for s in again.json()["steps"]] == ["already_undone"] * 2
    assert counter(app).total == 0


@pytest.mark.parametrize("role", [Role.viewer, Role.operator])
async def test_only_approvers_and_admins_roll_back(
    app: FastAPI, client: httpx.AsyncClient, make_key: Callable[[Role], dict[str, str]], role: Role
) -> None:
    run_id = await a_run_that_added(app, 3)
    refused = await client.post(
        f"/runs/{run_id}/rollback", json={"reason": "x"}, headers=make_key(role)
    )
    assert_problem(refused, 403, "approver")
    assert counter(app).total == 3 and services(app).suite.store.get(run_id).status == "succeeded"


@pytest.mark.parametrize(
    "body", [None, {}, {"reason": ""}, {"reason": "   "}, {"reason": "ok", "force": True}]
)
async def test_a_rollback_needs_a_reason(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_key: Callable[[Role], dict[str, str]],
    body: dict[str, Any] | None,
) -> None:
    run_id = await a_run_that_added(app, 3)
    refused = await client.post(f"/runs/{run_id}/rollback", json=body, headers=make_key(Role.admin))
    assert refused.status_code == 422, refused.text
    assert counter(app).total == 3


async def test_unknown_runs_and_runs_a_worker_holds_are_refused(
    app: FastAPI, client: httpx.AsyncClient, make_key: Callable[[Role], dict[str, str]]
) -> None:
    admin = make_key(Role.admin)
    missing = await client.post("/runs/run_nope/rollback", json={"reason": "x"}, headers=admin)
    assert_problem(missing, 404)
    running = await a_run_that_added(app, 3, status=RunStatus.running)
    busy = await client.post(f"/runs/{running}/rollback", json={"reason": "x"}, headers=admin)
    assert_problem(busy, 409, "cancel it first")
    assert counter(app).total == 3
