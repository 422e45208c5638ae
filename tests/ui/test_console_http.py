"""The console over HTTP, without a browser: sessions, roles, CSRF, documents, /docs.

The toy flows stand in for the installed ones (tests/api/toys.py): `toy` waits for a human
at 100 or more, `toy_doc` reads an uploaded document.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import httpx
from console_support import services
from fastapi import FastAPI

from bpa.auth import Role

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def settle(client: httpx.AsyncClient, run_id: str, key: str) -> dict[str, object]:
    for _ in range(500):
        run = (await client.get(f"/runs/{run_id}", headers={"X-API-Key": key})).json()
        if run["status"] not in ("queued", "running"):
            return dict(run)
        await asyncio.sleep(0.02)
    raise AssertionError(run)


async def sign_in(client: httpx.AsyncClient, key: str) -> None:
    page = await client.get("/ui/signin")
    answer = await client.post(
        "/ui/signin", data={"key": key, "csrf_token": csrf_of(page), "next": "/ui/runs"}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ui/runs"


async def test_without_keys_the_console_is_open_to_loopback_and_says_so(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    page = await client.get("/ui/runs")
    assert page.status_code == 200
    assert "This server has no API keys" in page.text
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "default-src 'self'" in page.headers["content-security-policy"]

    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as remote:
        refused = await remote.get("/ui/runs")
    assert refused.status_code == 403
    assert "loopback clients only" in refused.text


async def test_sign_in_exchanges_a_key_for_a_session_until_the_key_is_revoked(
    client: httpx.AsyncClient, app: FastAPI, make_key: Callable[[Role], str]
) -> None:
    key = make_key(Role.viewer)
    away = await client.get("/ui/runs?flow=toy")
    assert away.status_code == 303
    assert away.headers["location"] == "/ui/signin?next=/ui/runs%3Fflow%3Dtoy"

    page = await client.get("/ui/signin")
    wrong = await client.post(
        "/ui/signin",
        data={"key": key[:-1] + ("1" if key.endswith("0") else "0"), "csrf_token": csrf_of(page)},
    )
    assert wrong.status_code == 401 and "unknown, revoked or mistyped" in wrong.text

    await sign_in(client, key)
    assert key not in str(client.cookies.get("bpa_console"))
    page = await client.get("/ui/runs")
    assert page.status_code == 200 and "viewer person" in page.text

    forged = str(client.cookies.get("bpa_console"))[:-2] + "xx"
    client.cookies.set("bpa_console", forged, domain="bpa.test", path="/ui")
    assert (await client.get("/ui/runs")).status_code == 303
    client.cookies.clear()

    await sign_in(client, key)
    make_key(Role.admin)  # without any active key, the server would be open (to loopback)
    services(app).keys.revoke(key.split("_")[1])
    assert (await client.get("/ui/runs")).status_code == 303


async def test_forms_need_the_session_token_and_the_role(
    client: httpx.AsyncClient, make_key: Callable[[Role], str]
) -> None:
    operator, viewer = make_key(Role.operator), make_key(Role.viewer)
    started = await client.post(
        "/flows/toy/runs", json={"input": {"amount": 70}}, headers={"X-API-Key": operator}
    )
    run_id = started.json()["id"]
    assert (await settle(client, run_id, operator))["status"] == "waiting"

    await sign_in(client, viewer)
    page = await client.get(f"/ui/runs/{run_id}")
    assert "Cancel run" not in page.text
    token = csrf_of(page)  # the sign-out form's
    denied = await client.post(f"/ui/runs/{run_id}/cancel", data={"csrf_token": token})
    assert denied.status_code == 403 and "needs the operator role" in denied.text

    client.cookies.clear()
    await sign_in(client, operator)
    page = await client.get(f"/ui/runs/{run_id}")
    assert "Cancel run" in page.text
    forged = await client.post(f"/ui/runs/{run_id}/cancel", data={"reason": "forged"})
    assert forged.status_code == 403 and "security token" in forged.text
    stale = await client.post(f"/ui/runs/{run_id}/cancel", data={"csrf_token": token})
    assert stale.status_code == 403
    run = (await client.get(f"/runs/{run_id}", headers={"X-API-Key": operator})).json()
    assert run["status"] == "waiting"

    done = await client.post(f"/ui/runs/{run_id}/cancel", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 303
    run = (await client.get(f"/runs/{run_id}", headers={"X-API-Key": operator})).json()
    assert run["status"] == "cancelled"
    assert "operator person" in run["error"]["message"]


async def test_a_decision_is_recorded_with_the_key_name(
    client: httpx.AsyncClient, make_key: Callable[[Role], str]
) -> None:
    approver = make_key(Role.approver)
    started = await client.post(
        "/flows/toy/runs", json={"input": {"amount": 60}}, headers={"X-API-Key": approver}
    )
    run_id = started.json()["id"]
    await settle(client, run_id, approver)
    await sign_in(client, approver)
    inbox = await client.get("/ui/approvals")
    assert f"/ui/approvals/{run_id}" in inbox.text and "100 or more" in inbox.text

    review = await client.get(f"/ui/approvals/{run_id}")
    form = {"csrf_token": csrf_of(review), "action": "approve", "comment": "fine by me"}
    decided = await client.post(f"/ui/runs/{run_id}/decide", data=form)
    assert decided.status_code == 303 and decided.headers["location"] == f"/ui/runs/{run_id}"
    events = (await client.get(f"/runs/{run_id}/events", headers={"X-API-Key": approver})).json()
    [decision] = [e for e in events["data"] if e["kind"] == "decision_recorded"]
    assert decision["payload"]["decided_by"] == "approver person"
    assert decision["payload"]["comment"] == "fine by me"
    page = await client.get(f"/ui/runs/{run_id}")
    assert "approver person chose approve" in page.text

    again = await client.post(f"/ui/runs/{run_id}/decide", data=form)
    assert again.status_code == 409


async def test_documents_are_shown_inline_as_pdf_or_as_plain_text(
    client: httpx.AsyncClient, make_key: Callable[[Role], str]
) -> None:
    key = make_key(Role.operator)
    pdf = b"%PDF-1.4\n% tiny\n"
    html = b"<script>alert(1)</script>"
    ids = []
    for name, data, media in (("a.pdf", pdf, "application/pdf"), ("b.pdf", html, "text/html")):
        started = await client.post(
            "/flows/toy_doc/runs", files={"file": (name, data, media)}, headers={"X-API-Key": key}
        )
        ids.append(started.json()["id"])
    await sign_in(client, key)

    shown = await client.get(f"/ui/runs/{ids[0]}/document")
    assert shown.status_code == 200 and shown.content == pdf
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith('inline; filename="a.pdf"')
    assert shown.headers["x-content-type-options"] == "nosniff"

    disguised = await client.get(f"/ui/runs/{ids[1]}/document")
    assert disguised.headers["content-type"] == "text/plain; charset=utf-8"
    assert "sandbox" in disguised.headers["content-security-policy"]

    client.cookies.clear()
    assert (await client.get(f"/ui/runs/{ids[0]}/document")).status_code == 303


async def test_runs_are_found_by_what_their_input_holds(
    client: httpx.AsyncClient, make_key: Callable[[Role], str]
) -> None:
    key = make_key(Role.operator)
    for name in ("Müller-invoice.txt", "other.txt"):
        await client.post(
            "/flows/toy_doc/runs",
            files={"file": (name, b"hello", "text/plain")},
            headers={"X-API-Key": key},
        )
    await sign_in(client, key)
    found = await client.get("/ui/runs", params={"q": "müller"})
    assert "Müller-invoice.txt" in found.text and "other.txt" not in found.text
    assert "No run matches" in (await client.get("/ui/runs", params={"q": "50%_"})).text
    bad = await client.get("/ui/runs", params={"since": "yesterday"})
    assert bad.status_code == 422 and "a date like" in bad.text


async def test_cron_preview_describes_or_says_what_to_fix(
    client: httpx.AsyncClient,
) -> None:
    good = await client.get("/ui/schedules/preview", params={"cron": "0 7 * * MON"})
    assert "07:00" in good.text and "Monday" in good.text and "Next:" in good.text
    bad = await client.get("/ui/schedules/preview", params={"cron": "0 25 * * *"})
    assert "the hour field &#39;25&#39; is out of range" in bad.text


async def test_docs_load_swagger_ui_from_this_server(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(url.startswith("/") for url in assets), assets
    for url in assets:
        served = await client.get(url)
        assert served.status_code == 200, url
    assert (await client.get("/redoc")).status_code == 404


async def test_rollback_needs_the_approver_role_and_a_reason(
    client: httpx.AsyncClient, make_key: Callable[[Role], str]
) -> None:
    operator, approver = make_key(Role.operator), make_key(Role.approver)
    started = await client.post(
        "/flows/toy/runs", json={"input": {"amount": 3}}, headers={"X-API-Key": operator}
    )
    run_id = started.json()["id"]
    assert (await settle(client, run_id, operator))["status"] == "succeeded"

    await sign_in(client, operator)
    page = await client.get(f"/ui/runs/{run_id}")
    assert "Roll back" not in page.text
    refused = await client.post(
        f"/ui/runs/{run_id}/rollback", data={"csrf_token": csrf_of(page), "reason": "x"}
    )
    assert refused.status_code == 403

    client.cookies.clear()
    await sign_in(client, approver)
    page = await client.get(f"/ui/runs/{run_id}")
    assert "Roll back" in page.text
    blank = await client.post(
        f"/ui/runs/{run_id}/rollback", data={"csrf_token": csrf_of(page), "reason": " "}
    )
    assert blank.status_code == 422 and "needs a reason" in blank.text
    done = await client.post(
        f"/ui/runs/{run_id}/rollback", data={"csrf_token": csrf_of(page), "reason": "test"}
    )
    assert done.status_code == 303
    run = (await client.get(f"/runs/{run_id}", headers={"X-API-Key": approver})).json()
    assert run["status"] == "rolled_back"
