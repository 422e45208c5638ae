"""Schedules through the API: admins change them, everyone reads them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from conftest import assert_problem

from bpa.auth import Role

KeyMaker = Callable[[Role], dict[str, str]]


async def test_create_read_change_delete(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/schedules",
        json={
            "flow": "toy",
            "cron": "*/5 * * * *",
            "timezone": "Europe/Berlin",
            "input": {"amount": 3},
            "overlap": "buffer_one",
            "name": "every five",
        },
    )
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert created.headers["location"] == f"/schedules/{schedule['id']}"
    assert schedule["next_fire_at"] is not None and schedule["enabled"] is True
    assert schedule["overlap"] == "buffer_one" and schedule["misfire"] == "run_once"
    assert (await client.get(f"/schedules/{schedule['id']}")).json() == schedule
    assert [s["id"] for s in (await client.get("/schedules", params={"flow": "toy"})).json()] == [
        schedule["id"]
    ]

    changed = await client.patch(
        f"/schedules/{schedule['id']}", json={"enabled": False, "cron": "0 6 * * 1"}
    )
    assert changed.status_code == 200
    assert changed.json()["enabled"] is False and changed.json()["cron"] == "0 6 * * 1"
    assert changed.json()["name"] == "every five"
    assert (await client.get(f"/schedules/{schedule['id']}/firings")).json() == []

    assert (await client.delete(f"/schedules/{schedule['id']}")).status_code == 204
    assert_problem(await client.get(f"/schedules/{schedule['id']}"), 404, "GET /schedules")


async def test_bad_schedules_say_what_to_fix(client: httpx.AsyncClient) -> None:
    base = {"flow": "toy", "cron": "*/5 * * * *", "input": {"amount": 1}}
    assert_problem(
        await client.post("/schedules", json={**base, "cron": "every day"}), 422, "five-field cron"
    )
    assert_problem(
        await client.post("/schedules", json={**base, "timezone": "Mars/Olympus"}), 422, "IANA"
    )
    assert_problem(await client.post("/schedules", json={**base, "flow": "nope"}), 422, "nope")
    assert_problem(
        await client.post("/schedules", json={**base, "input": {"amount": "x"}}),
        422,
        "does not fit",
    )
    assert_problem(
        await client.post("/schedules", json={**base, "overlap": "sometimes"}), 422, "overlap"
    )
    created = (await client.post("/schedules", json=base)).json()
    assert_problem(
        await client.patch(f"/schedules/{created['id']}", json={"cron": "x"}), 422, "cron"
    )
    assert_problem(await client.patch("/schedules/sch_nope", json={"enabled": True}), 404)


async def test_only_admins_change_schedules(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    viewer, approver, admin = make_key(Role.viewer), make_key(Role.approver), make_key(Role.admin)
    body = {"flow": "toy", "cron": "* * * * *", "input": {"amount": 1}}
    assert_problem(await client.post("/schedules", json=body, headers=approver), 403, "admin")
    created = (await client.post("/schedules", json=body, headers=admin)).json()
    assert (await client.get("/schedules", headers=viewer)).status_code == 200
    assert_problem(await client.delete(f"/schedules/{created['id']}", headers=viewer), 403)


async def test_a_taken_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    """Names are unique: a second schedule (or a rename) onto a taken name is 409, naming
    the schedule that holds it; nothing is created or changed."""
    base = {"flow": "toy", "cron": "*/5 * * * *", "input": {"amount": 1}, "name": "nightly"}
    first = (await client.post("/schedules", json=base)).json()
    assert_problem(await client.post("/schedules", json=base), 409, first["id"])
    other = (await client.post("/schedules", json={**base, "name": "weekly"})).json()
    assert_problem(
        await client.patch(f"/schedules/{other['id']}", json={"name": "nightly"}), 409, "nightly"
    )
    names = sorted(s["name"] for s in (await client.get("/schedules")).json())
    assert names == ["nightly", "weekly"]
