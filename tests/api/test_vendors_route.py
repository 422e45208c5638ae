"""`/vendors`: CSV import (admin, an upload body, never a path) and the per-vendor memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from conftest import assert_problem, with_worker

from api.app import create_app
from bpa.config import Settings
from bpa.roles import Role
from bpa.suite import Suite
from flows.invoice_processing import memory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
VENDORS = (
    "name,tax_id,country,currency\n"
    "Bluefin Marketing OÜ,EE101234568,EE,EUR\n"
    "Broken Tax Id GmbH,DE123,DE,EUR\n"
)


@pytest.fixture
async def real(
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, dict[str, str]]]]:
    settings = Settings(home=tmp_path / "home", fixtures_dir=FIXTURES)
    app = create_app(settings, open_suite=with_worker(Suite.open))
    async with app.router.lifespan_context(app):
        keys = {}
        for role in (Role.operator, Role.approver, Role.admin):
            _record, secret = app.state.services.keys.create(role, name=role.value)
            keys[role.value] = {"Authorization": f"Bearer {secret}"}
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client, keys


async def test_import_takes_an_upload_and_reports_bad_rows(
    real: tuple[httpx.AsyncClient, dict[str, dict[str, str]]],
) -> None:
    client, keys = real
    upload = {"vendors": ("v.csv", VENDORS.encode(), "text/csv")}
    assert_problem(
        await client.post("/vendors/import", files=upload, headers=keys["approver"]),
        403,
        "admin",
    )
    response = await client.post("/vendors/import", files=upload, headers=keys["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded" and body["created"]["vendors"] == 1
    assert [(e["file"], e["line"]) for e in body["errors"]] == [("vendors", 3)]
    events = await client.get(f"/runs/{body['run_id']}/events", headers=keys["admin"])
    assert '"create_vendor"' in events.text
    run = (await client.get(f"/runs/{body['run_id']}", headers=keys["admin"])).json()
    assert run["flow"] == "vendor_import" and run["input"]["by"] == "admin"
    assert "Bluefin" not in str(run["input"])  # the file is stored, not copied into the run

    # The file is kept where no other run can refer to it (an operator's invoice run).
    ref = run["input"]["vendors"]
    borrowed = await client.post(
        "/flows/invoice_processing/runs",
        json={"input": {"document": ref}},
        headers=keys["operator"],
    )
    assert_problem(borrowed, 422, "no stored document")

    # Only an admin takes an admin's import back, or stops it.
    for role, path, payload in (
        ("approver", "rollback", {"reason": "wrong file"}),
        ("operator", "cancel", {}),
    ):
        refused = await client.post(
            f"/runs/{body['run_id']}/{path}", json=payload, headers=keys[role]
        )
        assert_problem(refused, 403, "admin role")

    again = await client.post("/vendors/import", files=upload, headers=keys["admin"])
    assert again.json()["created"]["vendors"] == 0 and again.json()["existing"]["vendors"] == 1

    path_body = await client.post(
        "/vendors/import", json={"path": "/etc/passwd"}, headers=keys["admin"]
    )
    assert_problem(path_body, 415, "multipart")
    wrong = {"vendors": ("v.csv", b"company\nAcme\n", "text/csv")}
    assert_problem(
        await client.post("/vendors/import", files=wrong, headers=keys["admin"]),
        422,
        "lacks column(s) name",
    )


async def test_memory_is_listed_and_forgotten(
    real: tuple[httpx.AsyncClient, dict[str, dict[str, str]]],
) -> None:
    client, keys = real
    store = client.app.state.services.suite.runner.memory  # type: ignore[attr-defined]
    await memory.save(
        store,
        {
            "vendor_id": "V-1009",
            "vendor_name": "Northwind Traders Ltd",
            "fields": ["total"],
            "rules": {"total": [{"label": "total due", "nth": "last", "offset": 0}]},
        },
    )
    listed = (await client.get("/vendors/memory", headers=keys["approver"])).json()
    assert listed == [
        {
            "vendor_id": "V-1009",
            "vendor_name": "Northwind Traders Ltd",
            "fields": ["total"],
            "labels": {"total": ["total due"]},
            "currency": None,
            "vendor_tax_id": None,
        }
    ]
    gone = await client.delete("/vendors/V-1009/memory?field=total", headers=keys["approver"])
    body = gone.json()
    assert {k: body[k] for k in ("vendor_id", "forgotten")} == {
        "vendor_id": "V-1009",
        "forgotten": ["total"],
    }
    # Who forgot what, and the memory as it was, are in the audit trail of a run of its own.
    run = (await client.get(f"/runs/{body['run_id']}", headers=keys["approver"])).json()
    assert run["flow"] == "vendor_memory_forget" and run["status"] == "succeeded"
    assert run["input"]["by"] and run["input"]["field"] == "total"
    page = await client.get(f"/runs/{body['run_id']}/events", headers=keys["approver"])
    events = page.json()["data"]
    forgotten = [e for e in events if e["kind"] == memory.FORGOTTEN]
    assert len(forgotten) == 1
    assert forgotten[0]["payload"]["memory"]["rules"]["total"][0]["label"] == "total due"
    assert_problem(await client.get("/vendors/V-1009/memory", headers=keys["approver"]), 404)
    assert_problem(
        await client.delete("/vendors/V-1009/memory", headers=keys["approver"]),
        404,
        "nothing is remembered",
    )


async def test_the_generic_start_routes_keep_the_admin_flows_to_their_roles(
    real: tuple[httpx.AsyncClient, dict[str, dict[str, str]]],
) -> None:
    """`vendor_import` asks what `/vendors/import` asks (admin), `vendor_memory_forget` what
    `DELETE /vendors/{id}/memory` asks (approver): an operator, who may start flows, cannot
    reach them through `/flows/{flow}/runs` or a batch."""
    client, keys = real
    forget = {"input": {"vendor_id": "V-1009", "field": "total"}}
    for path in ("/flows/vendor_memory_forget/runs", "/flows/vendor_memory_forget/runs/wait"):
        refused = await client.post(path, json=forget, headers=keys["operator"])
        assert_problem(refused, 403, "approver role")
    batch = await client.post(
        "/flows/vendor_import/batches", json={"inputs": [{"by": "x"}]}, headers=keys["approver"]
    )
    assert_problem(batch, 403, "admin role")
    runs = await client.get("/runs", headers=keys["admin"])
    assert runs.json()["data"] == [], "a refused start records nothing"
    forged = {"input": {**forget["input"], "by": "admin"}}
    allowed = await client.post(
        "/flows/vendor_memory_forget/runs/wait", json=forged, headers=keys["approver"]
    )
    assert allowed.status_code == 200 and allowed.json()["output"]["forgotten"] == []
    assert allowed.json()["input"]["by"] == "approver", "who asked is the caller, not the body"


async def test_an_import_that_fails_is_a_problem_naming_its_run_and_a_key_replays_it(
    real: tuple[httpx.AsyncClient, dict[str, dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, keys = real
    upload = {"vendors": ("v.csv", VENDORS.encode(), "text/csv")}
    headers = {**keys["admin"], "Idempotency-Key": "import-2026-03"}
    first = await client.post("/vendors/import", files=upload, headers=headers)
    again = await client.post("/vendors/import", files=upload, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json()["run_id"] == first.json()["run_id"], "the key's run, not a second import"

    accounting = client.app.state.services.suite.connectors["accounting"]  # type: ignore[attr-defined]

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the ledger database is gone")

    monkeypatch.setattr(accounting, "search_vendors", broken)
    other = {"vendors": ("w.csv", b"name\nNorthwind Traders Ltd\n", "text/csv")}
    failed = await client.post("/vendors/import", files=other, headers=keys["admin"])
    body = assert_problem(failed, 502, "failed")
    run = (await client.get(f"/runs/{body['run_id']}", headers=keys["admin"])).json()
    assert run["flow"] == "vendor_import" and run["status"] == "failed"
