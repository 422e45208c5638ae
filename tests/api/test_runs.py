"""Starting, following, answering and cancelling runs through the API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from conftest import assert_problem, settle


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a Server-Sent Events body."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if "data" in fields:
            events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


async def test_start_in_background_then_succeeds(client: httpx.AsyncClient) -> None:
    response = await client.post("/flows/toy/runs", json={"input": {"amount": 4}})
    assert response.status_code == 202
    run = response.json()
    assert response.headers["location"] == f"/runs/{run['id']}"
    assert run["flow"] == "toy" and run["trigger"] == "api" and run["input"]["amount"] == 4
    done = await settle(client, run["id"])
    assert done["status"] == "succeeded"
    assert done["output"] == {"doubled": 8, "approved": None}


async def test_wait_returns_result_or_question(client: httpx.AsyncClient) -> None:
    small = await client.post("/flows/toy/runs/wait", json={"input": {"amount": 3}})
    assert small.status_code == 200
    assert small.json()["status"] == "succeeded" and small.json()["output"]["doubled"] == 6

    big = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 70}})).json()
    assert big["status"] == "waiting"
    assert big["question"]["question"]["title"] == "big amount"
    assert big["question"]["approval_id"].startswith("apr_")


async def test_wait_timeout_answers_202_with_running_run(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/flows/toy/runs/wait",
        params={"timeout": 0.05},
        json={"input": {"amount": 1, "mode": "slow"}},
    )
    assert response.status_code == 202
    assert response.json()["status"] in ("queued", "running")
    assert (await settle(client, response.json()["id"]))["status"] == "succeeded"


async def test_flow_failures_are_runs_not_api_errors(client: httpx.AsyncClient) -> None:
    failed = (
        await client.post(
            "/flows/toy/runs/wait", json={"input": {"amount": 1, "mode": "flow_error"}}
        )
    ).json()
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "bad_amount"
    crashed = (
        await client.post("/flows/toy/runs/wait", json={"input": {"amount": 1, "mode": "crash"}})
    ).json()
    assert crashed["status"] == "failed" and "boom" in crashed["error"]["message"]


async def test_stream_sends_node_events_then_the_run(client: httpx.AsyncClient) -> None:
    response = await client.post("/flows/toy/runs/stream", json={"input": {"amount": 5}})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "run_created"
    assert "node_started" in kinds and "node_finished" in kinds
    assert kinds[-1] == "run"
    assert events[-1][1]["status"] == "succeeded" and events[-1][1]["output"]["doubled"] == 10
    nodes = [data["node"] for kind, data in events if kind == "node_finished"]
    assert nodes == ["double", "review"]


async def test_start_and_stream_ends_at_the_question(client: httpx.AsyncClient) -> None:
    events = sse((await client.post("/flows/toy/runs/stream", json={"input": {"amount": 60}})).text)
    assert [kind for kind, _ in events][-2:] == ["waiting", "run"]
    assert events[-1][1]["status"] == "waiting" and events[-1][1]["question"]


async def test_stream_of_a_waiting_run_follows_it_through_the_answer(
    client: httpx.AsyncClient,
) -> None:
    run = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 60}})).json()
    joined = asyncio.create_task(client.get(f"/runs/{run['id']}/stream"))
    await asyncio.sleep(0.3)
    assert not joined.done()  # a waiting run's stream stays open
    answer = await client.post(f"/runs/{run['id']}/resume", json={"action": "approve"})
    assert answer.json()["status"] == "succeeded"
    full = sse((await asyncio.wait_for(joined, 10)).text)
    kinds = [kind for kind, _ in full]
    assert kinds.index("waiting") < kinds.index("decision_recorded") < kinds.index("resumed")
    assert kinds.count("run") == 1 and kinds[-1] == "run"
    assert full[-1][1]["status"] == "succeeded" and full[-1][1]["output"]["approved"] is True
    ids = [data["id"] for kind, data in full if kind != "run"]
    assert ids == sorted(ids)

    waiting_id = next(data["id"] for kind, data in full if kind == "waiting")
    again = sse(
        (
            await client.get(
                f"/runs/{run['id']}/stream", headers={"Last-Event-ID": str(waiting_id)}
            )
        ).text
    )
    assert [kind for kind, _ in again] == kinds[kinds.index("waiting") + 1 :]


async def test_resume_approves_and_finishes(client: httpx.AsyncClient) -> None:
    run = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 60}})).json()
    answer = await client.post(
        f"/runs/{run['id']}/resume", json={"action": "approve", "comment": "fine"}
    )
    assert answer.status_code == 200
    done = answer.json()
    assert done["status"] == "succeeded" and done["output"]["approved"] is True
    assert done["question"] is None
    trail = (await client.get(f"/runs/{run['id']}/events")).json()["data"]
    decided = [e for e in trail if e["kind"] == "decision_recorded"]
    assert decided and decided[0]["payload"]["comment"] == "fine"
    assert decided[0]["payload"]["decided_by"] == "local"


async def test_resume_refusals(client: httpx.AsyncClient) -> None:
    waiting = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 60}})).json()
    assert_problem(
        await client.post(f"/runs/{waiting['id']}/resume", json={"action": "correct"}),
        422,
        "not possible here",
        "approve",
    )
    body = assert_problem(
        await client.post(f"/runs/{waiting['id']}/resume", json={"action": "maybe"}), 422
    )
    assert body["errors"][0]["loc"] == ["body", "action"]
    finished = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 1}})).json()
    assert_problem(
        await client.post(f"/runs/{finished['id']}/resume", json={"action": "approve"}),
        409,
        "not waiting",
    )
    assert_problem(
        await client.post("/runs/run_nope/resume", json={"action": "approve"}), 404, "run_nope"
    )


async def test_cancel_waiting_run_then_cancel_again_conflicts(client: httpx.AsyncClient) -> None:
    run = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 60}})).json()
    cancelled = await client.post(f"/runs/{run['id']}/cancel", json={"reason": "duplicate"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["error"] == {"code": "cancelled", "message": "duplicate"}
    assert_problem(await client.post(f"/runs/{run['id']}/cancel"), 409, "already cancelled")


async def test_cancel_running_run_stops_it(client: httpx.AsyncClient) -> None:
    run = (
        await client.post("/flows/toy/runs", json={"input": {"amount": 1, "mode": "hang"}})
    ).json()
    for _ in range(100):
        if (await client.get(f"/runs/{run['id']}")).json()["status"] == "running":
            break
        await asyncio.sleep(0.02)
    cancelled = await client.post(f"/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert (await settle(client, run["id"]))["status"] == "cancelled"


async def test_idempotency_key_replays_and_refuses_other_bodies(client: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": "order-42"}
    first = await client.post("/flows/toy/runs", json={"input": {"amount": 2}}, headers=key)
    again = await client.post("/flows/toy/runs", json={"input": {"amount": 2}}, headers=key)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = await client.post("/flows/toy/runs", json={"input": {"amount": 3}}, headers=key)
    assert_problem(other, 422, "order-42", "different input")
    runs = (await client.get("/runs", params={"flow": "toy"})).json()["data"]
    assert len(runs) == 1


async def test_bad_requests_say_what_to_fix(client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.post("/flows/toy/runs", json={"input": {"amount": "many"}}),
        422,
        "input.amount",
    )
    assert body["errors"][0]["loc"] == ["input", "amount"]
    assert_problem(await client.post("/flows/toy/runs", json={"inptu": {}}), 422, "body.inptu")
    assert_problem(await client.post("/flows/nope/runs", json={"input": {}}), 404, "toy")
    assert_problem(
        await client.post(
            "/flows/toy/runs", content=b"{", headers={"content-type": "application/json"}
        ),
        422,
    )
    assert_problem(await client.post("/flows/toy/runs"), 422, '{"input"')
    assert_problem(
        await client.post("/flows/toy/runs", content=b"x", headers={"content-type": "text/plain"}),
        415,
        "application/json",
    )
    assert_problem(await client.get("/runs/run_missing"), 404, "GET /runs")


async def test_list_filters_and_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    ids = []
    for amount in range(5):
        ids.append(
            (await client.post("/flows/toy/runs/wait", json={"input": {"amount": amount}})).json()[
                "id"
            ]
        )
    waiting = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 99}})).json()
    page = (await client.get("/runs", params={"limit": 4})).json()
    assert [r["id"] for r in page["data"]] == [waiting["id"], *reversed(ids[2:])]
    rest = (await client.get("/runs", params={"limit": 4, "before": page["next_cursor"]})).json()
    assert [r["id"] for r in rest["data"]] == list(reversed(ids[:2]))
    assert rest["next_cursor"] is None
    only_waiting = (await client.get("/runs", params={"status": "waiting"})).json()["data"]
    assert [r["id"] for r in only_waiting] == [waiting["id"]]
    assert only_waiting[0]["question"]["question"]["kind"] == "toy"
    future = (await client.get("/runs", params={"created_after": "2999-01-01T00:00:00Z"})).json()
    assert future["data"] == []
    assert_problem(await client.get("/runs", params={"status": "sleeping"}), 422, "status")


async def test_events_page_with_after_cursor(client: httpx.AsyncClient) -> None:
    run = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 1}})).json()
    everything = (await client.get(f"/runs/{run['id']}/events")).json()
    assert everything["next_cursor"] is None
    kinds = [e["kind"] for e in everything["data"]]
    assert kinds[0] == "run_created" and kinds[-1] == "run_finished"
    first = (await client.get(f"/runs/{run['id']}/events", params={"limit": 2})).json()
    assert len(first["data"]) == 2 and first["next_cursor"] == first["data"][-1]["id"]
    rest = (
        await client.get(f"/runs/{run['id']}/events", params={"after": first["next_cursor"]})
    ).json()
    assert first["data"] + rest["data"] == everything["data"]
