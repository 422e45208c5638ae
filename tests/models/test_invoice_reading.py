"""The invoice flow on the `openai` backend asks one model call per invoice (issue #13).

Run through the engine against the local OpenAI-compatible server: the document's kind and
its fields come back in one structured answer, and the audit trail holds that one call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import FakeOpenAIServer, Reply

from bpa.config import Settings
from bpa.runs.tables import Run
from bpa.suite import Suite
from flows.invoice_processing import flow
from flows.invoice_processing.schemas import InvoiceFields
from flows.invoice_processing.tasks import DOCUMENT_LABELS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
INVOICES = FIXTURES / "invoices"
NAMES = ("txt_01_nordisk_en.txt", "txt_02_helvetia_de.txt", "txt_03_dubois_fr.txt")


def fields_of(name: str) -> dict[str, Any]:
    """The invoice's fields as its expected outcome states them."""
    output = json.loads((INVOICES / "expected" / f"{name}.json").read_text())["output"]
    return {key: output.get(key) for key in InvoiceFields.model_fields}


def reading(kind: str, fields: dict[str, Any], kind_confidence: float = 0.97) -> Reply:
    answer = {"document_type": kind, "document_type_confidence": kind_confidence}
    return Reply.structured({"data": {**answer, "fields": fields}, "confidence": 0.95})


def model_calls(suite: Suite, run: Run) -> list[dict[str, Any]]:
    return [
        {**e.payload, "node": e.node} for e in suite.store.events(run.id) if e.kind == "model_call"
    ]


async def test_each_invoice_is_read_in_one_model_call(
    openai_server: FakeOpenAIServer,
    openai_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    settings = openai_settings(home=tmp_path / "home", fixtures_dir=FIXTURES)
    async with Suite.open(settings) as suite:
        for name in NAMES:
            openai_server.reply(reading("invoice", fields_of(name)))
            text = (INVOICES / name).read_text()
            run = await suite.runner.start(flow.name, {"text": text}, trigger="test")
            assert run.status == "succeeded", (name, run.error, run.output)
            assert run.output is not None
            assert run.output["invoice_number"] == fields_of(name)["invoice_number"]
            calls = model_calls(suite, run)
            assert [(c["task"], c["name"], c["node"], c["backend"]) for c in calls] == [
                ("extract", "document_reading", "classify_document", "openai")
            ]
            assert calls[0]["ok"] and calls[0]["template"] == "read_document.j2"
    assert len(openai_server.requests) == len(NAMES)
    request = openai_server.requests[0]
    schema = json.dumps(request.response_format)
    assert '"document_type"' in schema and '"invoice_number"' in schema
    assert all(label in request.message("system")[0] for label in DOCUMENT_LABELS)
    assert "2026-0347" in request.message("user")[0]


@pytest.mark.parametrize("method", ["function_calling", "json_mode"])
async def test_one_call_whichever_the_structured_output_method(
    openai_server: FakeOpenAIServer,
    openai_settings: Callable[..., Settings],
    tmp_path: Path,
    method: str,
) -> None:
    settings = openai_settings(
        home=tmp_path / "home", fixtures_dir=FIXTURES, openai_structured_method=method
    )
    name = NAMES[0]
    openai_server.reply(reading("invoice", fields_of(name)))
    async with Suite.open(settings) as suite:
        text = (INVOICES / name).read_text()
        run = await suite.runner.start(flow.name, {"text": text}, trigger="test")
        assert run.status == "succeeded", (run.error, run.output)
        assert len(model_calls(suite, run)) == 1
    assert len(openai_server.requests) == 1


async def test_a_document_read_as_no_invoice_is_turned_away_after_one_call(
    openai_server: FakeOpenAIServer,
    openai_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    settings = openai_settings(home=tmp_path / "home", fixtures_dir=FIXTURES)
    empty: dict[str, Any] = {key: None for key in InvoiceFields.model_fields}
    empty["line_items"] = []
    openai_server.reply(reading("letter", empty | {"vendor_name": "Nordisk"}))
    async with Suite.open(settings) as suite:
        text = "Dear customer, our offices close for the holidays on 23 December."
        run = await suite.runner.start(flow.name, {"text": text}, trigger="test")
        assert run.status == "failed"
        assert (run.error or {}).get("code") == "not_an_invoice"
        assert len(model_calls(suite, run)) == 1
    assert len(openai_server.requests) == 1


async def test_a_doubtful_kind_with_an_invoices_fields_goes_to_review(
    openai_server: FakeOpenAIServer,
    openai_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    """As with two calls: a low-confidence "receipt" that has an invoice's fields is
    validated, and the reviewer is told the kind is in doubt."""
    settings = openai_settings(home=tmp_path / "home", fixtures_dir=FIXTURES)
    name = NAMES[0]
    openai_server.reply(reading("receipt", fields_of(name), kind_confidence=0.4))
    async with Suite.open(settings) as suite:
        text = (INVOICES / name).read_text()
        run = await suite.runner.start(flow.name, {"text": text}, trigger="test")
        assert run.status == "waiting"
        codes = {i["code"] for i in (run.output or {}).get("issues", [])}
        assert "document_type" in codes
        assert len(model_calls(suite, run)) == 1
    assert len(openai_server.requests) == 1
