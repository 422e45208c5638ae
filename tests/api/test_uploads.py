"""Documents as input (multipart), and the request and document size limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from conftest import assert_problem, settle
from fastapi import FastAPI

from api import create_app
from bpa.config import Settings


async def test_uploaded_document_becomes_the_document_field(client: httpx.AsyncClient) -> None:
    data = b"INVOICE 42\nTotal: 10.00 EUR\n"
    response = await client.post(
        "/flows/toy_doc/runs", files={"file": ("inv.txt", data, "text/plain")}
    )
    assert response.status_code == 202, response.text
    run = await settle(client, response.json()["id"])
    assert run["status"] == "succeeded"
    assert run["output"] == {"size": len(data), "source": "upload:inv.txt"}
    document = run["input"]["document"]
    assert document["filename"] == "inv.txt" and document["media_type"] == "text/plain"
    assert len(document["sha256"]) == 64


async def test_other_fields_come_as_json_in_the_input_field(client: httpx.AsyncClient) -> None:
    run = (
        await client.post(
            "/flows/toy_doc/runs/wait",
            files={"file": ("a.pdf", b"%PDF-1.4 tiny", "application/pdf")},
            data={"input": '{"source": "mailbox"}'},
        )
    ).json()
    assert run["output"]["source"] == "mailbox"
    assert_problem(
        await client.post(
            "/flows/toy_doc/runs", files={"file": ("a.txt", b"x")}, data={"input": "{not json"}
        ),
        422,
        "not valid JSON",
    )


async def test_same_upload_with_same_key_is_the_same_run(client: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": "upload-1"}
    files = {"file": ("inv.txt", b"same bytes", "text/plain")}
    first = await client.post("/flows/toy_doc/runs", files=files, headers=key)
    again = await client.post("/flows/toy_doc/runs", files=files, headers=key)
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    other = {"file": ("inv.txt", b"other bytes", "text/plain")}
    assert_problem(
        await client.post("/flows/toy_doc/runs", files=other, headers=key), 422, "different input"
    )


async def test_upload_refusals(client: httpx.AsyncClient) -> None:
    assert_problem(
        await client.post("/flows/toy/runs", files={"file": ("a.txt", b"x")}),
        415,
        "takes no document",
        "GET /flows/toy",
    )
    assert_problem(
        await client.post(
            "/flows/toy_doc/runs",
            data={"input": "{}"},
            files={"unused": ("", b"", "application/octet-stream")},
        ),
        422,
        "no file",
        "`file` field",
    )
    big = b"x" * 60_000  # over max_document_bytes (50 000) but under the request limit
    assert_problem(
        await client.post("/flows/toy_doc/runs", files={"file": ("big.pdf", big)}),
        413,
        "50000 bytes",
        "BPA_MAX_DOCUMENT_BYTES",
    )


async def _client(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    from toys import toy_suite

    app = create_app(settings, open_suite=toy_suite)  # records only: no worker needed
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as c:
            yield app, c


async def test_request_body_limit_by_length_and_while_streaming(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"api_max_request_bytes": 1000})
    async for _app, client in _client(settings):
        declared = await client.post(
            "/flows/toy/runs",
            content=b"{" + b" " * 2000 + b"}",
            headers={"content-type": "application/json"},
        )
        assert_problem(declared, 413, "at most 1000 bytes", "BPA_API_MAX_REQUEST_BYTES")

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 200

        streamed = await client.post(
            "/flows/toy/runs", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in streamed.request.headers
        assert_problem(streamed, 413, "at most 1000 bytes")
        upload = await client.post("/flows/toy_doc/runs", files={"file": ("a.txt", b"y" * 1500)})
        assert_problem(upload, 413)
        small = await client.post("/flows/toy/runs", json={"input": {"amount": 1}})
        assert small.status_code == 202
