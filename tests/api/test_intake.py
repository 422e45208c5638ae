"""Runs started together are recorded together (group commit), and still each on its own."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from conftest import assert_problem, services, settle
from fastapi import FastAPI

from bpa.runs.store import RunStore


async def test_concurrent_starts_share_transactions_and_all_run(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    intake = services(app).intake
    commits_before = intake.commits
    responses = await asyncio.gather(
        *(client.post("/flows/toy/runs", json={"input": {"amount": i}}) for i in range(20))
    )
    assert [r.status_code for r in responses] == [202] * 20
    runs = [r.json() for r in responses]
    assert len({run["id"] for run in runs}) == 20
    assert sorted(run["input"]["amount"] for run in runs) == list(range(20))
    assert intake.recorded >= 20
    assert intake.commits - commits_before < 20  # some requests shared a commit
    for run in runs:
        done = await settle(client, run["id"])
        assert done["status"] == "succeeded"
        assert done["output"]["doubled"] == 2 * run["input"]["amount"]
        events = (await client.get(f"/runs/{run['id']}/events")).json()["data"]
        assert [e["kind"] for e in events].count("run_created") == 1


async def test_keyed_starts_take_the_one_by_one_path(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    intake = services(app).intake
    body = {"input": {"amount": 5}}
    headers = {"Idempotency-Key": "same-key"}
    first, second = await asyncio.gather(
        client.post("/flows/toy/runs", json=body, headers=headers),
        client.post("/flows/toy/runs", json=body, headers=headers),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 202]
    assert first.json()["id"] == second.json()["id"]
    assert intake.recorded == 0  # never grouped: a key needs its lookup


async def test_a_failed_commit_fails_every_request_of_its_group_and_records_nothing(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = services(app).suite.store

    def broken(self: RunStore, runs: object) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(RunStore, "insert_queued", broken)
    responses = await asyncio.gather(
        *(client.post("/flows/toy/runs", json={"input": {"amount": i}}) for i in range(3))
    )
    for response in responses:
        assert_problem(response, 500)
    monkeypatch.undo()
    assert store.list_runs(flow="toy") == []
    ok = await client.post("/flows/toy/runs", json={"input": {"amount": 1}})
    assert ok.status_code == 202
