"""`GET /audit/verify` (approvers and admins), and human decisions recording who and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from conftest import assert_problem, services
from fastapi import FastAPI
from sqlalchemy import update

from bpa.auth import Role
from bpa.db import table_of
from bpa.runs.tables import RunEvent

KeyMaker = Callable[[Role], dict[str, str]]
EVENTS = table_of(RunEvent)


async def _events(
    client: httpx.AsyncClient, run_id: str, kind: str, key: dict[str, str]
) -> list[dict[str, Any]]:
    response = await client.get(f"/runs/{run_id}/events", headers=key)
    return [event for event in response.json()["data"] if event["kind"] == kind]


async def test_decisions_and_cancels_record_who_and_why(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    operator, approver = make_key(Role.operator), make_key(Role.approver)
    start = {"input": {"amount": 60}}
    run = (await client.post("/flows/toy/runs/wait", headers=operator, json=start)).json()
    answer = {"action": "reject", "comment": "not in the budget"}
    done = await client.post(f"/runs/{run['id']}/resume", headers=approver, json=answer)
    assert done.status_code == 200, done.text
    decided = await _events(client, run["id"], "decision_recorded", operator)
    payload = decided[0]["payload"]
    assert payload["comment"] == "not in the budget" and payload["action"] == "reject"
    assert payload["actor"]["name"] == "approver key" and payload["actor"]["role"] == "approver"
    assert payload["actor"]["key_id"] and payload["actor"]["key_id"] in approver["Authorization"]

    other = (await client.post("/flows/toy/runs/wait", headers=operator, json=start)).json()
    why = {"reason": "duplicate of another request"}
    assert (
        await client.post(f"/runs/{other['id']}/cancel", headers=operator, json=why)
    ).status_code == 200
    finished = await _events(client, other["id"], "run_finished", operator)
    assert finished[-1]["payload"]["reason"] == "duplicate of another request"
    assert finished[-1]["payload"]["actor"]["role"] == "operator"


async def test_verify_is_for_approvers_and_admins_and_reports_tampering(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    viewer, operator = make_key(Role.viewer), make_key(Role.operator)
    approver, admin = make_key(Role.approver), make_key(Role.admin)
    run = (
        await client.post("/flows/toy/runs/wait", headers=operator, json={"input": {"amount": 3}})
    ).json()
    assert run["status"] == "succeeded"

    for weak in (viewer, operator):
        assert_problem(await client.get("/audit/verify", headers=weak), 403, "approver role")
    for strong in (approver, admin):
        clean = await client.get("/audit/verify", headers=strong)
        assert clean.status_code == 200, clean.text
        assert clean.json()["ok"] is True and clean.json()["findings"] == []
        assert clean.json()["runs"] == 1 and clean.json()["events"] >= 4

    with services(app).suite.engine.begin() as conn:
        where = (EVENTS.c.run_id == run["id"]) & (EVENTS.c.seq == 3)
        conn.execute(update(EVENTS).where(where).values(payload={"forged": True}))
    report = (await client.get("/audit/verify", headers=approver)).json()
    assert report["ok"] is False
    assert [(f["run_id"], f["seq"], f["what"]) for f in report["findings"]] == [
        (run["id"], 3, "edited")
    ]
    later = await client.get("/audit/verify", headers=admin, params={"since": "2999-01-01"})
    assert later.json() == {
        "ok": True,
        "runs": 0,
        "events": 0,
        "journal_entries": 0,
        "findings": [],
    }
