"""Regression tests for the outside probe's findings (issue #9), one block per item.

Each test failed on the code before the fix: the probe's request is replayed as it was sent.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import assert_problem, services, settle
from fastapi import FastAPI

from api.access_log import RedactQueryStrings, redact_target
from bpa.auth import Role
from bpa.config import Settings
from bpa.documents import DocumentError, DocumentRef, DocumentStore
from bpa.redaction import Redactor, describe_error

KeyMaker = Callable[[Role], dict[str, str]]


async def _runs(client: httpx.AsyncClient) -> list[dict[str, object]]:
    return list((await client.get("/runs", params={"limit": 200})).json()["data"])


# -- 1. a document reference is a digest the store holds, never a path ---------------------


@pytest.mark.parametrize(
    "reference",
    ["/etc/passwd", "../../../etc/hostname", "/dev/zero", "..", "A" * 64, "0" * 63 + "/"],
)
async def test_a_document_reference_cannot_name_a_file(
    client: httpx.AsyncClient, reference: str
) -> None:
    document = {"filename": "a.txt", "size": 10, "media_type": "text/plain", "sha256": reference}
    response = await client.post("/flows/toy_doc/runs", json={"input": {"document": document}})
    assert response.status_code == 422, response.text
    assert "root:" not in response.text
    assert await _runs(client) == []


async def test_an_unknown_digest_is_refused_and_a_known_one_gets_its_real_size(
    client: httpx.AsyncClient,
) -> None:
    unknown = {"filename": "a.txt", "size": 1, "sha256": hashlib.sha256(b"never").hexdigest()}
    assert_problem(
        await client.post("/flows/toy_doc/runs", json={"input": {"document": unknown}}),
        422,
        "upload the file",
    )
    data = b"INVOICE 7\nTotal 3.00\n"
    uploaded = await client.post("/flows/toy_doc/runs", files={"file": ("a.txt", data)})
    digest = (await settle(client, uploaded.json()["id"]))["input"]["document"]["sha256"]
    lying = {"filename": "b.txt", "size": 1, "sha256": digest}
    again = await client.post("/flows/toy_doc/runs/wait", json={"input": {"document": lying}})
    assert again.status_code == 200, again.text
    assert again.json()["input"]["document"]["size"] == len(data)
    assert again.json()["output"]["size"] == len(data)


def test_the_store_confines_paths_and_checks_size_on_the_file(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "docs", max_bytes=1000)
    ref = store.put(b"hello", "../../x/evil\x00name.txt")
    assert ref.filename == "evilname.txt"
    assert store.read(ref) == b"hello"
    with pytest.raises(ValueError):
        DocumentRef(filename="a", size=1, sha256="/etc/passwd")
    forged = DocumentRef.model_construct(filename="a", size=1, sha256="../../etc/passwd")
    with pytest.raises(DocumentError) as invalid:
        store.read(forged)
    assert invalid.value.code == "document_reference_invalid"
    # 3. A stored file over the limit is refused from its size on disk, whatever the
    # reference claims, before a byte is read: a sparse 64 GiB file costs nothing here.
    huge = hashlib.sha256(b"huge").hexdigest()
    path = tmp_path / "docs" / huge[:2] / huge
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.truncate(64 * 1024**3)
    with pytest.raises(DocumentError) as too_large:
        store.read(DocumentRef(filename="big.pdf", size=10, sha256=huge))
    assert too_large.value.code == "document_too_large"


def test_the_store_refuses_links_and_altered_content(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "docs", max_bytes=1000)
    ref = store.put(b"original", "a.txt")
    assert ref.sha256 is not None
    path = tmp_path / "docs" / ref.sha256[:2] / ref.sha256
    path.write_bytes(b"tampered")
    with pytest.raises(DocumentError) as altered:
        store.read(ref)
    assert altered.value.code == "document_altered"
    path.unlink()
    path.symlink_to("/etc/hostname")
    with pytest.raises(DocumentError) as linked:
        store.read(ref)
    assert linked.value.code == "document_unknown"


# -- 5. a refused request records nothing ----------------------------------------------------


@pytest.mark.parametrize("timeout", ["0", "nan", "inf", "-1", "1e9"])
async def test_a_refused_wait_does_not_start_a_run(client: httpx.AsyncClient, timeout: str) -> None:
    response = await client.post(
        f"/flows/toy/runs/wait?timeout={timeout}", json={"input": {"amount": 1}}
    )
    assert response.status_code == 422, response.text
    assert await _runs(client) == []


# -- 7. NUL characters and crons that never fire are 422s, not 500s --------------------------


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/runs/run_%00x", None),
        ("GET", "/runs?flow=in%00voice", None),
        ("GET", "/runs?status=queued&batch_id=b%00", None),
        ("GET", "/batches/b%00", None),
        ("GET", "/schedules/s%00", None),
        ("POST", "/schedules", {"flow": "toy", "cron": "* * * * *", "name": "n\x00"}),
        ("POST", "/flows/toy/runs", {"input": {"amount": 1, "ref": "m\x00id"}}),
        ("POST", "/flows/toy/batches", {"inputs": [{"amount": 1, "ref": "\x00"}]}),
    ],
)
async def test_nul_characters_are_refused_up_front(
    client: httpx.AsyncClient, method: str, url: str, body: object
) -> None:
    response = await client.request(method, url, json=body)
    assert_problem(response, 422, "NUL")
    assert await _runs(client) == []


async def test_nul_in_an_upload_input_field_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/flows/toy_doc/runs",
        files={"file": ("a.txt", b"bytes\x00are fine in files")},
        data={"input": '{"source": "mail\\u0000box"}'},
    )
    assert_problem(response, 422, "NUL")
    ok = await client.post("/flows/toy_doc/runs", files={"file": ("a.txt", b"\x00\x01")})
    assert ok.status_code == 202


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6 *"])
async def test_a_cron_that_never_fires_is_refused(client: httpx.AsyncClient, cron: str) -> None:
    base = {"flow": "toy", "cron": "*/5 * * * *", "input": {"amount": 1}}
    assert_problem(await client.post("/schedules", json={**base, "cron": cron}), 422, "never")
    created = (await client.post("/schedules", json=base)).json()
    assert_problem(
        await client.patch(f"/schedules/{created['id']}", json={"cron": cron}), 422, "never"
    )
    assert (await client.get("/schedules")).json()[0]["cron"] == "*/5 * * * *"


# -- 8. secrets stay out of errors and logs; ids are not probed without a key ----------------


def test_validation_errors_never_echo_values() -> None:
    from pydantic import BaseModel, ConfigDict, ValidationError

    class Mail(BaseModel):
        model_config = ConfigDict(extra="forbid")
        host: str
        password: str | None = None

    with pytest.raises(ValidationError) as caught:
        Mail.model_validate({"host": "smtp", "passwd": "hunter2-secret"})
    text = describe_error(caught.value)
    assert "passwd" in text and "hunter2-secret" not in text


def test_redactor_masks_configured_secrets_and_url_passwords() -> None:
    settings = Settings(
        connectors={"mail": {"password": "s3cret-pw", "nested": {"api_key": "k-123456"}}},
        database_url="postgresql+psycopg://app:db-pass-9@db.internal/bpa",
    )
    redactor = Redactor.from_settings(settings)
    text = redactor.text(
        "login failed for s3cret-pw with k-123456 at postgresql://app:db-pass-9@db.internal/x "
        "token=abcdef"
    )
    for secret in ("s3cret-pw", "k-123456", "db-pass-9", "abcdef"):
        assert secret not in text


async def test_connector_problems_shown_to_viewers_hold_no_password(tmp_path: Path) -> None:
    from api import create_app

    secret = "Pa55-word-never-shown"
    settings = Settings(
        home=tmp_path / "home",
        connectors={"mail": {"host": "127.0.0.1", "port": 1, "passwd": secret}},
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        _record, viewer = services(app).keys.create(Role.viewer, name="viewer")
        header = {"Authorization": f"Bearer {viewer}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as client:
            listed = await client.get("/connectors", headers=header)
            health = await client.get("/connectors/mail/health", headers=header)
    assert listed.status_code == 200 and health.status_code == 200
    mail = next(c for c in listed.json() if c["name"] == "mail")
    assert mail["ok"] is False and "passwd" in " ".join(mail["problems"])
    assert secret not in listed.text and secret not in health.text


def test_access_log_masks_keys_in_query_strings() -> None:
    assert redact_target("/runs?api_key=bpa_live_123&limit=5") == "/runs?api_key=***&limit=5"
    assert redact_target("/runs?token=x&flow=a") == "/runs?token=***&flow=a"
    assert redact_target("/healthz") == "/healthz"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/runs?key=bpa_secret_1", "1.1", 200),
        None,
    )
    assert RedactQueryStrings().filter(record)
    assert "bpa_secret_1" not in record.getMessage()


async def test_streams_check_the_key_before_the_run_exists(
    app: FastAPI, client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    operator = make_key(Role.operator)
    run = await client.post("/flows/toy/runs", json={"input": {"amount": 1}}, headers=operator)
    run_id = run.json()["id"]
    for url in (f"/runs/{run_id}/stream", "/runs/run_doesnotexist/stream"):
        assert_problem(await client.get(url), 401, "API key")
        assert_problem(await client.get(url, headers={"X-API-Key": "bpa_wrong"}), 401)


@pytest.mark.postgres
async def test_nul_characters_never_reach_postgres_as_500s(pg_url: str, tmp_path: Path) -> None:
    """The probe's 12 requests with NUL bytes, the viewer role's included (issue #9, item 7)."""
    from api import create_app

    settings = Settings(home=tmp_path / "home", database_url=pg_url, checkpoint_url=pg_url)
    app = create_app(settings)
    requests = [
        ("GET", "/runs/run_%00", None),
        ("GET", "/runs?flow=a%00b", None),
        ("GET", "/runs?batch_id=%00", None),
        ("GET", "/runs/run_%00/events", None),
        ("GET", "/batches/b%00", None),
        ("GET", "/schedules/s%00", None),
        ("GET", "/schedules?flow=%00", None),
        ("POST", "/schedules", {"flow": "sales_operations", "cron": "0 7 * * 1", "name": "\x00"}),
        ("POST", "/flows/invoice_processing/runs", {"input": {"text": "INVOICE\x00 1"}}),
        (
            "POST",
            "/flows/customer_service/runs",
            {"input": {"body": "hi", "message_id": "<a\x00b@x>"}},
        ),
        ("POST", "/flows/customer_service/runs", {"input": {"body": "cancel\x00 my order"}}),
        ("DELETE", "/keys/k%00", None),
    ]
    async with app.router.lifespan_context(app):
        services = app.state.services
        _a, admin = services.keys.create(Role.admin, name="admin")
        _v, viewer = services.keys.create(Role.viewer, name="viewer")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as client:
            for secret in (admin, viewer):
                for method, url, body in requests:
                    headers = {"Authorization": f"Bearer {secret}"}
                    response = await client.request(method, url, json=body, headers=headers)
                    assert response.status_code < 500, (method, url, response.text)
            runs = await client.get("/runs", headers={"Authorization": f"Bearer {admin}"})
            assert runs.json()["data"] == []
