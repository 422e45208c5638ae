"""Batches: many inputs or files through one flow, followed as one unit, idempotently."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from conftest import assert_problem


async def until_settled(client: httpx.AsyncClient, batch_id: str) -> dict[str, Any]:
    for _ in range(500):
        batch = (await client.get(f"/batches/{batch_id}")).json()
        if batch["progress"] == 1:
            return batch
        await asyncio.sleep(0.02)
    raise AssertionError(batch)


async def test_batch_runs_every_input_and_reports_progress(client: httpx.AsyncClient) -> None:
    inputs = [{"amount": 1}, {"amount": 2}, {"amount": 70}, {"amount": 3, "mode": "flow_error"}]
    response = await client.post("/flows/toy/batches", json={"inputs": inputs})
    assert response.status_code == 202
    batch = response.json()
    assert batch["total"] == 4 and len(batch["run_ids"]) == 4
    assert response.headers["location"] == f"/batches/{batch['id']}"
    done = await until_settled(client, batch["id"])
    assert done["counts"] == {"succeeded": 2, "waiting": 1, "failed": 1}
    assert done["finished"] == 3 and done["settled"] == 4
    runs = (await client.get("/runs", params={"batch_id": batch["id"]})).json()["data"]
    assert sorted(r["id"] for r in runs) == sorted(batch["run_ids"])
    assert {r["trigger"] for r in runs} == {"batch"}


async def test_batch_idempotency(client: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": "nightly-2024-05-01"}
    body = {"inputs": [{"amount": 1}, {"amount": 2}]}
    first = await client.post("/flows/toy/batches", json=body, headers=key)
    again = await client.post("/flows/toy/batches", json=body, headers=key)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["run_ids"] == first.json()["run_ids"]
    changed = {"inputs": [{"amount": 1}, {"amount": 5}]}
    assert_problem(
        await client.post("/flows/toy/batches", json=changed, headers=key),
        422,
        "nightly-2024-05-01",
    )
    shorter = {"inputs": [{"amount": 1}]}
    assert_problem(
        await client.post("/flows/toy/batches", json=shorter, headers=key), 422, "number of inputs"
    )
    # The same key with one more input: refused, and the batch does not grow (#9, item 6).
    longer = {"inputs": [{"amount": 1}, {"amount": 2}, {"amount": 3}]}
    assert_problem(
        await client.post("/flows/toy/batches", json=longer, headers=key), 422, "number of inputs"
    )
    assert len((await client.get("/runs")).json()["data"]) == 2
    batch = (await client.get(f"/batches/{first.json()['id']}")).json()
    assert batch["total"] == 2


async def test_one_bad_input_refuses_the_whole_batch(client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.post("/flows/toy/batches", json={"inputs": [{"amount": 1}, {"amount": "x"}]}),
        422,
        "inputs.1.amount",
    )
    assert body["errors"][0]["loc"] == ["inputs", "1", "amount"]
    assert (await client.get("/runs")).json()["data"] == []
    assert_problem(await client.post("/flows/toy/batches", json={"inputs": []}), 422, "inputs")
    assert_problem(await client.get("/batches/batch_nope"), 404, "batch_nope")


async def test_batch_of_uploaded_files(client: httpx.AsyncClient) -> None:
    files = [("files", (f"inv{i}.txt", b"x" * (i + 1), "text/plain")) for i in range(3)]
    batch = (await client.post("/flows/toy_doc/batches", files=files)).json()
    assert batch["total"] == 3
    await until_settled(client, batch["id"])
    runs = (await client.get("/runs", params={"batch_id": batch["id"]})).json()["data"]
    assert sorted(r["output"]["size"] for r in runs) == [1, 2, 3]


async def test_inputs_the_flow_already_ran_are_reported_as_duplicates(
    client: httpx.AsyncClient,
) -> None:
    earlier = (
        await client.post("/flows/toy/runs", json={"input": {"amount": 1, "ref": "m1"}})
    ).json()
    again = await client.post("/flows/toy/runs", json={"input": {"amount": 1, "ref": "m1"}})
    assert again.status_code == 200 and again.json()["id"] == earlier["id"]
    body = {"inputs": [{"amount": 1, "ref": "m1"}, {"amount": 2}]}
    batch = (await client.post("/flows/toy/batches", json=body)).json()
    assert batch["duplicates"] == [0] and batch["run_ids"][0] == earlier["id"]
    assert batch["total"] == 1


async def test_two_inputs_of_one_batch_with_one_natural_key_are_one_run(
    client: httpx.AsyncClient,
) -> None:
    """Found by the property test (a 500 from the unique key): the same message twice in one
    batch is one run; the same key with another input is refused, and nothing is recorded."""
    body = {"inputs": [{"amount": 1, "ref": "m7"}, {"amount": 1, "ref": "m7"}]}
    batch = await client.post("/flows/toy/batches", json=body)
    assert batch.status_code in (200, 201, 202), batch.text
    data = batch.json()
    assert data["duplicates"] == [1] and data["run_ids"][0] == data["run_ids"][1]
    assert data["total"] == 1
    clash = {"inputs": [{"amount": 1, "ref": "m8"}, {"amount": 2, "ref": "m8"}]}
    refused = await client.post("/flows/toy/batches", json=clash)
    assert refused.status_code in (409, 422), refused.text
    runs = (await client.get("/runs", params={"flow": "toy", "limit": 50})).json()["data"]
    assert not [r for r in runs if (r.get("input") or {}).get("ref") == "m8"]
