"""What is installed (flows, connectors), health, readiness, metrics, and error shapes."""

from __future__ import annotations

import httpx
from conftest import PROBLEM, assert_problem
from fastapi import FastAPI


async def test_flows_list_includes_broken_plugins_with_the_reason(
    client: httpx.AsyncClient,
) -> None:
    flows = {f["name"]: f for f in (await client.get("/flows")).json()}
    assert set(flows) == {"toy", "toy_doc", "broken"}
    assert flows["toy"]["problem"] is None and flows["toy"]["accepts_document"] is False
    assert flows["toy_doc"]["accepts_document"] is True
    assert "nowhere" in flows["broken"]["problem"]


async def test_flow_detail_has_schemas_and_graph(client: httpx.AsyncClient) -> None:
    flow = (await client.get("/flows/toy")).json()
    assert flow["input_schema"]["required"] == ["amount"]
    assert set(flow["decision_schema"]["properties"]) >= {"action", "comment", "corrections"}
    assert "double" in flow["graph_mermaid"] and "review" in flow["graph_mermaid"]
    assert_problem(await client.get("/flows/broken"), 404, "failed to load", "nowhere")
    assert_problem(await client.get("/flows/nope"), 404, "installed flows")


async def test_connectors_and_their_health(client: httpx.AsyncClient) -> None:
    connectors = {c["name"]: c for c in (await client.get("/connectors")).json()}
    echo = connectors["echo"]
    assert echo["ok"] and echo["kind"] == "toy"
    assert echo["actions"][0]["name"] == "ping"
    assert echo["actions"][0]["request_schema"]["properties"]["text"]["type"] == "string"
    assert connectors["dead"]["ok"] is False and connectors["dead"]["problems"]
    health = (await client.get("/connectors/echo/health")).json()
    assert health == {
        "name": "echo",
        "ok": True,
        "details": {"ok": True, "latency_ms": 0},
        "problem": None,
    }
    dead = (await client.get("/connectors/dead/health")).json()
    assert dead["ok"] is False and "dead:X" in dead["problem"]
    assert_problem(await client.get("/connectors/nope/health"), 404, "echo")


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = (await client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["checks"]["database"] == "ok"
    assert ready["checks"]["flows"] == ["toy", "toy_doc"]
    assert "broken" in ready["checks"]["flows_failed"]


async def test_readiness_fails_without_flows(app: FastAPI, client: httpx.AsyncClient) -> None:
    runner = app.state.services.suite.runner
    saved, runner.flows = runner.flows, {}
    try:
        body = assert_problem(await client.get("/readyz"), 503, "no flow is loaded")
        assert body["checks"]["database"] == "ok"
    finally:
        runner.flows = saved


async def test_metrics_count_runs_from_the_database(client: httpx.AsyncClient) -> None:
    await client.post("/flows/toy/runs/wait", json={"input": {"amount": 1}})
    await client.post("/flows/toy/runs/wait", json={"input": {"amount": 1, "mode": "crash"}})
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'bpa_runs{flow="toy",status="succeeded"} 1.0' in text
    assert 'bpa_runs{flow="toy",status="failed"} 1.0' in text
    assert 'bpa_runs{flow="toy_doc",status="queued"} 0.0' in text
    assert "bpa_queue_depth 0.0" in text


async def test_unknown_paths_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/nowhere"), 404, "/docs")
    assert_problem(await client.delete("/runs"), 405, "DELETE")
    body = assert_problem(await client.get("/runs", params={"limit": 0}), 422, "query.limit")
    assert body["errors"][0]["loc"] == ["query", "limit"]


async def test_unexpected_errors_are_logged_problems(
    app: FastAPI, client: httpx.AsyncClient, caplog: object
) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/explode", explode)
    response = await client.get("/explode")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert "secret internals" not in response.text
    assert body["reference"] in body["detail"]
    assert body["reference"] in caplog.text  # type: ignore[attr-defined]


async def test_openapi_documents_both_bodies_and_problems(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/flows/{flow}/runs"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert "RunCreate" in spec["components"]["schemas"]
    responses = spec["paths"]["/runs/{run_id}/resume"]["post"]["responses"]
    assert PROBLEM in responses["409"]["content"]
    assert (await client.get("/docs")).status_code == 200
