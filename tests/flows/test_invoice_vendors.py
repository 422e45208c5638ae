"""New vendors and learning from corrections in the invoice flow, end to end through the
engine (issue #13 parts 3 and 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpa.config import Settings
from bpa.runs.tables import Run
from bpa.suite import Suite
from connectors.schemas import BillSearch, VendorCreate, VendorSearch
from flows.invoice_processing import flow, memory

INVOICES = Path(__file__).resolve().parents[2] / "fixtures" / "invoices"
UNKNOWN = INVOICES / "err_unknown_vendor_bluefin_ee.pdf"
BLUEFIN_TAX_ID = "EE101234568"


def writes(suite: Suite, run: Run, action: str) -> list[dict[str, Any]]:
    return [
        e.payload
        for e in suite.store.events(run.id)
        if e.kind == "connector_call" and e.payload["action"] == action
    ]


async def start(suite: Suite, path: Path) -> Run:
    return await suite.runner.start(
        flow.name, flow.input_from_file(path, suite.documents), trigger="test"
    )


async def onboard(suite: Suite, **edits: Any) -> Run:
    run = await start(suite, UNKNOWN)
    assert run.status == "waiting"
    assert [i["code"] for i in run.output["issues"]] == ["unknown_vendor"]
    return await suite.runner.resume(
        run.id,
        {"action": "correct", "corrections": {"create_vendor": True, **edits}},
        by="ann",
    )


async def test_unknown_vendor_is_onboarded_through_the_review_and_posted(
    settings: Settings,
) -> None:
    async with Suite.open(settings) as suite:
        accounting: Any = suite.connectors["accounting"]
        run = await start(suite, UNKNOWN)
        question = suite.store.pending_approval(run.id).question
        offered = question["details"]["create_vendor"]
        assert offered["name"] == "Bluefin Marketing OÜ"
        assert offered["tax_id"] == BLUEFIN_TAX_ID
        assert offered["iban"] == "EE952200002210991457"
        assert offered["country"] == "EE" and offered["currency"] == "EUR"
        assert "create_vendor" in question["editable_fields"]

        done = await suite.runner.resume(
            run.id,
            {
                "action": "correct",
                "corrections": {"create_vendor": True, "vendor_address": "Tartu mnt 2, Tallinn"},
            },
            by="ann",
        )
        assert done.status == "succeeded", done.output
        assert done.output["decision"] == "approved"
        assert done.output["bill_status"] == "posted"
        [created] = writes(suite, run, "create_vendor")
        assert created["ok"] and created["idempotency_key"].startswith(run.id)
        vendor_id = created["result"]["id"]
        assert done.output["vendor_id"] == vendor_id
        vendor = await accounting.get_vendor({"vendor_id": vendor_id})
        assert (vendor.name, vendor.address, vendor.country) == (
            "Bluefin Marketing OÜ",
            "Tartu mnt 2, Tallinn",
            "EE",
        )
        matches = await accounting.search_vendors(VendorSearch(tax_id=BLUEFIN_TAX_ID))
        assert [m.vendor.id for m in matches] == [vendor_id]
        bills = await accounting.find_bills(BillSearch(vendor_id=vendor_id))
        assert [b.status for b in bills] == ["posted"]
        kinds = [(r["type"], r["action"]) for r in done.output["records"]]
        assert kinds.count(("vendor", "created")) == 1
        assert kinds.count(("bill", "created")) == 1

        # The same call again (a retry after a crash) is the same vendor, not a second one.
        again = await accounting.create_vendor(
            VendorCreate.model_validate(created["request"]),
            idempotency_key=created["idempotency_key"],
        )
        assert again.id == vendor_id
        matches = await accounting.search_vendors(VendorSearch(tax_id=BLUEFIN_TAX_ID))
        assert len(matches) == 1

        # The vendor's next invoice finds it: no review for an unknown vendor again.
        second = await start(suite, UNKNOWN)
        assert "unknown_vendor" not in [i["code"] for i in second.output["issues"]]
        assert second.output["vendor_id"] == vendor_id


async def test_a_vendor_the_master_refuses_goes_back_to_the_reviewer(settings: Settings) -> None:
    async with Suite.open(settings) as suite:
        done = await onboard(suite, vendor_tax_id="EE101234567")  # fails its checksum
        assert done.status == "waiting"
        codes = [i["code"] for i in done.output["issues"]]
        assert "vendor_not_created" in codes
        assert writes(suite, done, "create_vendor") == []
        question = suite.store.pending_approval(done.id).question
        assert "create_vendor" in question["editable_fields"]
        fixed = await suite.runner.resume(
            done.id,
            {
                "action": "correct",
                "corrections": {"create_vendor": True, "vendor_tax_id": BLUEFIN_TAX_ID},
            },
            by="ann",
        )
        assert fixed.status == "succeeded", fixed.output
        assert len(writes(suite, fixed, "create_vendor")) == 1


async def test_rollback_removes_the_onboarded_vendor(settings: Settings) -> None:
    from bpa.rollback import RunRollback

    async with Suite.open(settings) as suite:
        done = await onboard(suite)
        assert done.status == "succeeded"
        vendor_id = done.output["vendor_id"]
        report = await RunRollback.of(suite)(done.id, reason="test")
        assert not report.left
        vendor = await suite.connectors["accounting"].get_vendor({"vendor_id": vendor_id})
        assert vendor.active is False  # it has a (void) bill: deactivated, not deleted


async def test_corrections_are_remembered_per_vendor_and_used_on_the_next_invoice(
    settings: Settings,
) -> None:
    text = (
        "Northwind Traders Ltd\n1 Harbour Road, Bristol BS1 5AA\nVAT GB 234 5678 05\n"
        "Invoice\nDoc ref: {number}\nDate: {date}\n"
        "Widgets 10 x 20.00 200.00\nNet 200.00\nVAT 20% 40.00\nTotal GBP 240.00\n"
    )
    async with Suite.open(settings) as suite:
        store = suite.runner.memory
        assert store is not None
        first = await suite.runner.start(
            flow.name,
            {"text": text.format(number="AT-55120", date="2026-03-02")},
            trigger="test",
        )
        assert first.status == "waiting"
        vendor_id = first.output["vendor_id"]
        assert vendor_id == "V-1009"
        assert first.output["invoice_number"] is None  # an unusual label: not read
        done = await suite.runner.resume(
            first.id, {"action": "correct", "corrections": {"invoice_number": "AT-55120"}}, by="ann"
        )
        assert done.status in ("succeeded", "waiting")
        learned = [e for e in suite.store.events(first.id) if e.kind == "vendor_memory_learned"]
        assert learned and learned[0].payload["fields"] == ["invoice_number"]
        assert "AT-55120" not in str(learned[0].payload)  # labels, never values
        remembered = await memory.recall(store, vendor_id)
        assert remembered is not None and "invoice_number" in remembered["fields"]

        second = await suite.runner.start(
            flow.name,
            {"text": text.format(number="AT-55187", date="2026-03-09")},
            trigger="test",
        )
        assert second.output["invoice_number"] == "AT-55187"
        assert second.output["field_sources"] == {"invoice_number": "vendor_memory"}
        applied = [e for e in suite.store.events(second.id) if e.kind == "vendor_memory_applied"]
        assert applied[0].payload == {"vendor_id": vendor_id, "fields": ["invoice_number"]}

        assert await memory.forget(store, vendor_id, "invoice_number") == ["invoice_number"]
        third = await suite.runner.start(
            flow.name,
            {"text": text.format(number="AT-55201", date="2026-03-16")},
            trigger="test",
        )
        assert third.output["field_sources"] == {}
        assert third.output["invoice_number"] is None
