"""API keys and roles: viewer < operator < approver < admin, and the open loopback mode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import assert_problem, services
from fastapi import FastAPI

from bpa.auth import ApiKeyStore, Role, is_loopback
from bpa.config import Settings
from bpa.db import create_schema, open_engine

KeyMaker = Callable[[Role], dict[str, str]]


async def test_without_keys_loopback_is_served_as_local_admin(client: httpx.AsyncClient) -> None:
    assert (await client.get("/keys")).status_code == 200
    run = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 60}})).json()
    done = (await client.post(f"/runs/{run['id']}/resume", json={"action": "reject"})).json()
    assert done["output"]["approved"] is False


async def test_without_keys_remote_clients_are_refused(app: FastAPI) -> None:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as remote:
            assert_problem(await remote.get("/runs"), 403, "loopback", "bpa keys create")
            assert (await remote.get("/healthz")).status_code == 200


async def test_a_key_is_required_once_one_exists(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    viewer = make_key(Role.viewer)
    body = assert_problem(await client.get("/runs"), 401, "Authorization: Bearer")
    assert body["type"].endswith("api-key-missing")
    missing = await client.get("/runs")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert_problem(await client.get("/runs", headers={"Authorization": "Bearer nonsense"}), 401)
    assert (await client.get("/runs", headers=viewer)).status_code == 200
    x_api_key = {"X-API-Key": viewer["Authorization"].removeprefix("Bearer ")}
    assert (await client.get("/runs", headers=x_api_key)).status_code == 200
    assert (await client.get("/healthz")).status_code == 200


async def test_roles_gate_each_action(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    viewer, operator = make_key(Role.viewer), make_key(Role.operator)
    approver, admin = make_key(Role.approver), make_key(Role.admin)
    start = {"json": {"input": {"amount": 60}}}

    body = assert_problem(
        await client.post("/flows/toy/runs", headers=viewer, **start),
        403,
        "operator role",
        "viewer",
    )
    assert body["required_role"] == "operator" and body["your_role"] == "viewer"
    run = (await client.post("/flows/toy/runs/wait", headers=operator, **start)).json()
    assert run["status"] == "waiting"
    decision = {"json": {"action": "approve"}}
    for weak in (viewer, operator):
        assert_problem(
            await client.post(f"/runs/{run['id']}/resume", headers=weak, **decision),
            403,
            "approver role",
        )
    done = await client.post(f"/runs/{run['id']}/resume", headers=approver, **decision)
    assert done.status_code == 200 and done.json()["status"] == "succeeded"
    decided = [
        e
        for e in (await client.get(f"/runs/{run['id']}/events", headers=viewer)).json()["data"]
        if e["kind"] == "decision_recorded"
    ]
    assert decided[0]["payload"]["decided_by"] == "approver key"

    other = (await client.post("/flows/toy/runs/wait", headers=operator, **start)).json()
    assert_problem(await client.post(f"/runs/{other['id']}/cancel", headers=viewer), 403)
    assert (await client.post(f"/runs/{other['id']}/cancel", headers=operator)).status_code == 200

    for weak in (viewer, operator, approver):
        assert_problem(await client.get("/keys", headers=weak), 403, "admin role")
    assert (await client.get("/keys", headers=admin)).status_code == 200


async def test_admin_manages_keys(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    admin = make_key(Role.admin)
    created = await client.post("/keys", headers=admin, json={"role": "viewer", "name": "grafana"})
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith("bpa_") and key["role"] == "viewer"
    listed = (await client.get("/keys", headers=admin)).json()
    assert {k["name"] for k in listed} == {"admin key", "grafana"}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    grafana = {"Authorization": f"Bearer {key['key']}"}
    assert (await client.get("/metrics", headers=grafana)).status_code == 200
    revoked = await client.delete(f"/keys/{key['id']}", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    assert_problem(await client.get("/metrics", headers=grafana), 401, "revoked")
    assert_problem(await client.delete("/keys/nope", headers=admin), 404, "nope")
    assert_problem(await client.post("/keys", headers=admin, json={"role": "god"}), 422, "role")


def test_keys_are_stored_hashed_and_checked(tmp_path: Path) -> None:
    engine = open_engine(Settings(home=tmp_path / "keys"))
    create_schema(engine)
    store = ApiKeyStore(engine)
    record, secret = store.create(Role.approver, "ann")
    assert secret not in record.key_hash and record.salt
    assert store.verify(secret) is not None and store.verify(secret).role == Role.approver
    tampered = secret[:-1] + ("0" if secret[-1] != "0" else "1")
    assert store.verify(tampered) is None
    assert store.verify("bpa_short_key") is None
    store.revoke(record.id)
    assert store.verify(secret) is None


@pytest.mark.parametrize(
    ("have", "need", "ok"),
    [
        (Role.viewer, Role.viewer, True),
        (Role.operator, Role.approver, False),
        (Role.admin, Role.approver, True),
        (Role.approver, Role.operator, True),
    ],
)
def test_role_order(have: Role, need: Role, ok: bool) -> None:
    assert have.allows(need) is ok


def test_services_expose_the_key_store(app: FastAPI) -> None:
    with pytest.raises(AttributeError):
        services(app)  # built at start-up, not at import or creation


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("127.8.9.10", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.org", False),
        (None, False),
    ],
)
def test_loopback_detection(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback
