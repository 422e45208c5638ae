"""The invoice flow end to end through the engine, on the sample documents in fixtures/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bpa.batch import expand_paths, run_batch
from bpa.config import Settings
from bpa.runs.tables import Run
from bpa.suite import Suite
from connectors.errors import Transient
from connectors.schemas import BillSearch
from flows.invoice_processing import flow

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
INVOICES = FIXTURES / "invoices"
EXPECTED = INVOICES / "expected"
FIELDS = (
    "vendor_name",
    "vendor_tax_id",
    "invoice_number",
    "invoice_date",
    "due_date",
    "currency",
    "subtotal",
    "tax",
    "total",
    "po_number",
    "iban",
)


def expected(name: str) -> dict[str, Any]:
    return json.loads((EXPECTED / f"{name}.json").read_text())


def codes(run: Run) -> list[str]:
    return sorted({i["code"] for i in (run.output or {}).get("issues", [])})


async def start(suite: Suite, path: Path, **kw: Any) -> Run:
    payload = flow.input_from_file(path, suite.documents)
    return await suite.runner.start(flow.name, payload, trigger="test", **kw)


async def bills(suite: Suite, vendor_id: str, number: str) -> list[Any]:
    found: list[Any] = await suite.connectors["accounting"].find_bills(
        BillSearch(vendor_id=vendor_id, invoice_number=number, include_void=True)
    )
    return found


async def test_sample_invoices_match_their_expected_outcome(settings: Settings) -> None:
    files = expand_paths([INVOICES, INVOICES / "bad"], (".pdf", ".txt", ".eml"))
    assert len(files) >= 30
    async with Suite.open(settings) as suite:
        inputs = [(f.name, (lambda f=f: flow.input_from_file(f, suite.documents))) for f in files]
        result = await run_batch(suite.runner, flow.name, inputs, concurrency=4)
    wrong, field_hits, field_total = [], 0, 0
    for item in result.items:
        exp = expected(item.input)
        got_codes = sorted({i["code"] for i in (item.output or {}).get("issues", [])})
        got_error = (item.error or {}).get("code")
        if (item.status, got_codes, got_error) != (
            exp["status"],
            sorted(exp["issues"]),
            exp.get("error_code"),
        ):
            wrong.append((item.input, item.status, got_codes, got_error))
        if exp.get("output") and item.output:
            for name in FIELDS:
                want, got = exp["output"].get(name), item.output.get(name)
                field_total += 1
                if isinstance(want, float) and isinstance(got, float):
                    field_hits += abs(want - got) < 0.005
                else:
                    field_hits += want == got
    assert wrong == []
    assert field_hits / field_total >= 0.97, f"{field_hits}/{field_total} fields right"


async def test_above_threshold_waits_then_approval_posts(settings: Settings) -> None:
    async with Suite.open(settings) as suite:
        run = await start(suite, INVOICES / "big_above_threshold_brightline_us.pdf")
        assert run.status == "waiting"
        assert run.output["decision"] == "pending_review"
        assert codes(run) == ["above_threshold"]
        assert run.output["bill_status"] == "draft"
        question = suite.store.pending_approval(run.id).question
        assert question["actions"] == ["approve", "reject", "correct"]

        done = await suite.runner.resume(run.id, {"action": "approve"}, by="alice")
        assert done.status == "succeeded"
        assert done.output["decision"] == "approved"
        assert done.output["bill_status"] == "posted"
        [bill] = await bills(suite, done.output["vendor_id"], done.output["invoice_number"])
        assert bill.status == "posted" and bill.id == done.output["bill_id"]
        calls = [e for e in suite.store.events(run.id) if e.kind == "connector_call"]
        writes = [e.payload for e in calls if e.payload["side_effect"]]
        assert [w["action"] for w in writes] == ["create_bill", "post_bill"]
        assert all(w["idempotency_key"].startswith(run.id) for w in writes)


async def test_rejection_voids_the_bill(settings: Settings) -> None:
    async with Suite.open(settings) as suite:
        run = await start(suite, INVOICES / "big_above_threshold_schneider_de_2pages.pdf")
        assert run.status == "waiting"
        done = await suite.runner.resume(
            run.id, {"action": "reject", "comment": "not ordered"}, by="bob"
        )
        assert done.status == "succeeded"
        assert done.output["decision"] == "rejected"
        assert done.output["bill_status"] == "void"
        actions = [r["action"] for r in done.output["records"] if r["type"] == "bill"]
        assert actions == ["created", "voided"]


async def test_blocking_issue_cannot_be_approved_but_can_be_corrected(settings: Settings) -> None:
    async with Suite.open(settings) as suite:
        run = await start(suite, INVOICES / "err_bad_total_dubois_fr.pdf")
        assert run.status == "waiting" and "arithmetic_mismatch" in codes(run)
        assert run.output["bill_id"] is None  # nothing booked while the numbers disagree
        question = suite.store.pending_approval(run.id).question
        assert "approve" not in question["actions"]
        from bpa.errors import InvalidDecision

        with pytest.raises(InvalidDecision):
            await suite.runner.resume(run.id, {"action": "approve"})
        # a field the invoice has no such name for is named, not silently dropped
        with pytest.raises(InvalidDecision, match=r"unknown field 'nosuchfield'.*total"):
            await suite.runner.resume(
                run.id, {"action": "correct", "corrections": {"nosuchfield": "3"}}
            )
        subtotal, tax = run.output["subtotal"], run.output["tax"]
        fixed = await suite.runner.resume(
            run.id,
            {"action": "correct", "corrections": {"total": f"{subtotal + tax:.2f}"}},
            by="carol",
        )
        assert fixed.status == "succeeded", fixed.output["issues"]
        assert fixed.output["decision"] == "approved"
        assert fixed.output["bill_status"] == "posted"
        assert fixed.output["total"] == pytest.approx(subtotal + tax)


async def test_prompt_injection_is_never_auto_approved(settings: Settings) -> None:
    async with Suite.open(settings) as suite:
        run = await start(suite, INVOICES / "bad" / "injection.pdf")
        assert run.status == "waiting"
        assert {"suspicious_instructions", "iban_mismatch"} <= set(codes(run))
        assert run.output["decision"] == "pending_review"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("corrupt.pdf", "document_unreadable"),
        ("encrypted.pdf", "document_encrypted"),
        ("empty.pdf", "document_empty"),
        ("scanned_no_text.pdf", "no_text_layer"),
        ("not_invoice.pdf", "not_an_invoice"),
    ],
)
async def test_bad_documents_fail_with_a_reason(settings: Settings, name: str, code: str) -> None:
    async with Suite.open(settings) as suite:
        run = await start(suite, INVOICES / "bad" / name)
        assert run.status == "failed"
        assert run.error["code"] == code
        assert len(run.error["message"]) > 20
        assert suite.store.get(run.id).input["document"]["filename"] == name


async def test_oversized_document_fails_and_is_recorded(settings: Settings) -> None:
    small = settings.model_copy(update={"max_document_bytes": 1000})
    async with Suite.open(small) as suite:
        run = await start(suite, INVOICES / "inv_01_mueller_de_classic.pdf")
        assert run.status == "failed"
        assert run.error["code"] == "document_too_large"
        assert run.input["document"]["stored"] is False


async def test_same_idempotency_key_books_once(settings: Settings) -> None:
    path = INVOICES / "inv_01_mueller_de_classic.pdf"
    async with Suite.open(settings) as suite:
        first = await start(suite, path, idempotency_key="mail-123")
        second = await start(suite, path, idempotency_key="mail-123")
        assert first.id == second.id and first.status == "succeeded"
        found = await bills(suite, first.output["vendor_id"], first.output["invoice_number"])
        assert len(found) == 1
        # The same invoice again without the key: caught as a duplicate, not booked twice.
        third = await start(suite, path)
        assert third.status == "waiting" and "duplicate_invoice" in codes(third)
        found = await bills(suite, first.output["vendor_id"], first.output["invoice_number"])
        assert len(found) == 1


async def test_transient_connector_error_is_retried_without_double_booking(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Suite.open(settings) as suite:
        accounting = suite.connectors["accounting"]
        real_post = accounting.post_bill
        calls = {"n": 0}

        async def flaky_post(request: Any, *, idempotency_key: str) -> Any:
            calls["n"] += 1
            if calls["n"] == 1:
                raise Transient("ledger service busy")
            return await real_post(request, idempotency_key=idempotency_key)

        monkeypatch.setattr(accounting, "post_bill", flaky_post)
        run = await start(suite, INVOICES / "inv_04_lefevre_fr_classic.pdf")
        assert run.status == "succeeded" and calls["n"] == 2
        found = await bills(suite, run.output["vendor_id"], run.output["invoice_number"])
        assert [b.status for b in found] == ["posted"]
        # the connector's guard retried it (bpa/resilience.py): one call, two tries, audited
        posts = [
            e.payload
            for e in suite.store.events(run.id)
            if e.kind == "connector_call" and e.payload["action"] == "post_bill"
        ]
        assert [(p["ok"], p["attempts"]) for p in posts] == [(True, 2)]
        assert posts[0]["retried"] == ["transient"]


async def test_text_input_and_model_calls_are_audited(settings: Settings) -> None:
    text = (INVOICES / "txt_01_nordisk_en.txt").read_text()
    async with Suite.open(settings) as suite:
        run = await suite.runner.start(flow.name, {"text": text}, trigger="test")
        assert run.status == "succeeded"
        models = [e.payload for e in suite.store.events(run.id) if e.kind == "model_call"]
        assert [(m["task"], m["name"]) for m in models] == [
            ("classify", "document_type"),
            ("extract", "invoice_fields"),
        ]
        assert all(m["backend"] == "offline" and m["ok"] for m in models)


async def test_income_tax_withheld_is_booked_apart_from_what_the_vendor_is_owed(
    settings: Settings,
) -> None:
    text = (
        "Consultoría García y Asociados S.L.\nCalle Serrano 41, 28001 Madrid\n"
        "CIF: ESB87654323\n\nFACTURA\nNº factura: GA-2024-0917\nFecha: 14/03/2024\n\n"
        "Cliente: BPA Demo GmbH\n\n"
        "Concepto                        Cantidad  Precio    Importe\n"
        "Asesoría fiscal (horas)         5         80,00     400,00\n\n"
        "Base imponible                                      400,00 €\n"
        "IVA 21%                                              84,00 €\n"
        "Retención IRPF 15%                                  -60,00 €\n"
        "Total a pagar                                       424,00 €\n"
        "IBAN: ES49 0049 1500 0260 0123 4567\n"
    )
    async with Suite.open(settings) as suite:
        run = await suite.runner.start(flow.name, {"text": text}, trigger="test")
        assert run.status == "succeeded", (run.error, codes(run))
        out = run.output
        assert (out["subtotal"], out["tax"], out["withholding"], out["total"]) == (
            400.0,
            84.0,
            60.0,
            424.0,
        )
        assert "arithmetic_mismatch" not in codes(run)
        (bill,) = await bills(suite, "V-1008", "GA-2024-0917")
        assert (bill.status, bill.withholding, bill.total) == ("posted", 60, 424)
