"""A real uvicorn server on a free loopback port, driven over HTTP like a person with curl:
upload an invoice PDF, stream it, see it wait, approve it (not as a viewer), read the audit
trail, cancel a waiting run, retry idempotently. A worker beside the app executes the runs
(tests/api/conftest.py); `bpa serve` itself is tested in test_served.py."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import with_worker

from api import create_app
from bpa.auth import ApiKeyStore, Role
from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.suite import Suite

REPO = Path(__file__).resolve().parents[2]
INVOICES = REPO / "fixtures" / "invoices"
BIG = INVOICES / "big_above_threshold_brightline_us.pdf"
BIG_TOO = INVOICES / "big_above_threshold_schneider_de_2pages.pdf"


class Live:
    def __init__(self, base_url: str, keys: dict[Role, str]) -> None:
        self.base_url = base_url
        self.keys = keys

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    settings = Settings(home=tmp_path / "home", fixtures_dir=REPO / "fixtures")
    settings.ensure_home()
    engine = open_engine(settings)
    create_schema(engine)
    store = ApiKeyStore(engine)
    keys = {role: store.create(role, role.value)[1] for role in Role}
    engine.dispose()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, open_suite=with_worker(Suite.open))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", keys)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def read_sse(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    event, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and data:
            yield event, json.loads(data)
            event, data = "message", ""


def upload(path: Path) -> dict[str, Any]:
    return {"file": (path.name, path.read_bytes(), "application/pdf")}


def test_invoice_over_http(live: Live) -> None:
    with httpx.Client(base_url=live.base_url, timeout=60) as http:
        assert "invoice_processing" in http.get("/readyz").json()["checks"]["flows"]
        assert http.get("/runs").status_code == 401

        operator, viewer = live.auth(Role.operator), live.auth(Role.viewer)
        approver = live.auth(Role.approver)
        with http.stream(
            "POST", "/flows/invoice_processing/runs/stream", files=upload(BIG), headers=operator
        ) as response:
            assert response.status_code == 200
            events = list(read_sse(response))
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "run_created" and kinds[-1] == "run"
        assert {"node_started", "node_finished", "model_call", "connector_call"} <= set(kinds)
        run = events[-1][1]
        assert run["status"] == "waiting", run
        assert "approve" in run["question"]["question"]["actions"]
        assert run["input"]["document"]["filename"] == BIG.name

        refused = http.post(f"/runs/{run['id']}/resume", json={"action": "approve"}, headers=viewer)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "approver" in refused.json()["detail"]

        approved = http.post(
            f"/runs/{run['id']}/resume",
            json={"action": "approve", "comment": "checked against the contract"},
            headers=approver,
        )
        assert approved.status_code == 200, approved.text
        done = approved.json()
        assert done["status"] == "succeeded" and done["output"]["decision"] == "approved"

        trail = http.get(f"/runs/{run['id']}/events", headers=viewer).json()["data"]
        decided = next(e for e in trail if e["kind"] == "decision_recorded")
        assert decided["payload"]["decided_by"] == "approver"
        assert decided["payload"]["comment"] == "checked against the contract"
        assert "resumed" in [e["kind"] for e in trail if e["id"] > decided["id"]]
        writes = [e for e in trail if e["kind"] == "connector_call" and e["payload"]["side_effect"]]
        assert writes and all(e["payload"]["idempotency_key"] for e in writes)
        assert trail[-1]["kind"] == "run_finished"

        joined = http.get(f"/runs/{run['id']}/stream", headers=viewer)
        assert joined.text.rstrip().splitlines()[0] == "event: run_created"
        assert '"status": "succeeded"' in joined.text.rstrip().split("\n\n")[-1]

        key = {**operator, "Idempotency-Key": "inbox-msg-1"}
        first = http.post("/flows/invoice_processing/runs", files=upload(BIG_TOO), headers=key)
        retry = http.post("/flows/invoice_processing/runs", files=upload(BIG_TOO), headers=key)
        assert (first.status_code, retry.status_code) == (202, 200)
        assert retry.json()["id"] == first.json()["id"]
        clash = http.post("/flows/invoice_processing/runs", files=upload(BIG), headers=key)
        assert clash.status_code == 422 and "inbox-msg-1" in clash.json()["detail"]

        waiting = http.post(
            "/flows/invoice_processing/runs/wait?timeout=60",
            files=upload(BIG_TOO),
            headers={**operator, "Idempotency-Key": "inbox-msg-1"},
        ).json()
        assert waiting["status"] == "waiting", waiting
        cancelled = http.post(
            f"/runs/{waiting['id']}/cancel",
            headers=operator,
            json={"reason": "sent twice by the vendor"},
        )
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        again = http.post(
            f"/runs/{waiting['id']}/resume", json={"action": "approve"}, headers=approver
        )
        assert again.status_code == 409

        metrics = http.get("/metrics", headers=viewer).text
        assert 'bpa_runs{flow="invoice_processing",status="succeeded"} 1.0' in metrics
        assert 'bpa_runs{flow="invoice_processing",status="cancelled"} 1.0' in metrics
        assert "bpa_queue_depth 0.0" in metrics
