"""The invoice flow's vendor nodes: onboarding an unknown vendor from its invoice, and the
per-vendor memory of reviewers' corrections (flows/invoice_processing/memory.py).

Onboarding is a reviewer's decision: the review of an invoice from an unknown vendor offers
the vendor as the invoice states it (`proposal`); a ``correct`` answer with
``create_vendor=true`` (and any edits) has `create_vendor` add it through the accounting
connector, idempotent per run and invoice revision, undone by deactivating it. What the
vendor master would refuse (a VAT id or IBAN that fails its checksum, one already on file)
goes back to the reviewer as a blocking issue, with nothing created.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime

from bpa.runs.context import RunContext
from connectors.errors import Conflict, NotFound, Rejected
from connectors.kinds import AccountingConnector
from connectors.schemas import Vendor, VendorCreate, VendorRef, VendorSearch
from flows.invoice_processing import checks, einvoice, memory
from flows.invoice_processing.state import InvoiceState

__all__ = [
    "ONBOARDING_FIELDS",
    "apply_vendor_memory",
    "create_vendor",
    "proposal",
    "remember_corrections",
    "route_after_create_vendor",
]

Ctx = Runtime[RunContext]

#: What a reviewer may set on a vendor being created, besides the invoice's own fields.
ONBOARDING_FIELDS = ("create_vendor", "vendor_address", "vendor_country", "vendor_currency")
#: Audit events of the memory: learned from a review, applied to an invoice.
LEARNED, APPLIED = "vendor_memory_learned", "vendor_memory_applied"
_NAME_SCORE = 88.0


def _country(fields: dict[str, Any]) -> str | None:
    """The vendor's country as its VAT id or IBAN states it (both start with it)."""
    for name in ("vendor_tax_id", "iban"):
        value = (fields.get(name) or "").replace(" ", "").upper()
        if len(value) > 2 and value[:2].isalpha():
            return "GR" if value[:2] == "EL" else value[:2]
    return None


def proposal(state: InvoiceState) -> dict[str, Any] | None:
    """The vendor the invoice describes, offered for creation when the vendor is unknown."""
    if not any(i["code"] == "unknown_vendor" for i in state.get("issues", [])):
        return None
    fields = state.get("fields") or {}
    return {
        "name": fields.get("vendor_name"),
        "tax_id": fields.get("vendor_tax_id"),
        "iban": fields.get("iban"),
        "address": fields.get("vendor_address"),
        "country": fields.get("vendor_country") or _country(fields),
        "currency": fields.get("vendor_currency") or fields.get("currency"),
        "how": "answer `correct` with create_vendor=true (and vendor_name, vendor_tax_id, "
        "iban, vendor_address, vendor_country, vendor_currency to change any of these)",
    }


def _blocked(state: InvoiceState, code: str, message: str, field: str | None) -> dict[str, Any]:
    problem = checks.issue(code, message, field)
    problem["blocking"] = True
    kept = [i for i in state.get("issues", []) if i["code"] != code]
    return {"issues": [*kept, problem]}


async def create_vendor(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Reads `fields` (with the reviewer's edits); creates the vendor in the accounting
    system and writes `vendor`, `fields.vendor_id` and `records`; or, when the vendor master
    refuses it, a blocking `vendor_not_created` issue for the reviewer."""
    ctx = runtime.context
    fields = state["fields"]
    invalid = [i for i in checks.id_issues(fields, None) if i["code"].startswith("invalid_")]
    if invalid:
        return _blocked(
            state,
            "vendor_not_created",
            f"the vendor was not created: {invalid[0]['message']}; correct it",
            invalid[0]["field"],
        )
    try:
        request = VendorCreate(
            name=fields.get("vendor_name") or "",
            tax_id=fields.get("vendor_tax_id") or None,
            iban=fields.get("iban") or None,
            address=fields.get("vendor_address") or None,
            country=fields.get("vendor_country") or _country(fields),
            currency=(fields.get("vendor_currency") or fields.get("currency") or "EUR").upper(),
        )
    except ValueError as exc:
        return _blocked(
            state,
            "vendor_not_created",
            f"the vendor was not created: {str(exc).splitlines()[0]}; correct the vendor fields",
            "vendor_name",
        )
    accounting = ctx.connector(AccountingConnector, needs=["vendor_master"])
    key = ctx.idempotency_key("create_vendor", "create_vendor", f"r{state.get('revision', 0)}")
    try:
        vendor = await accounting.create_vendor(request, idempotency_key=key)
    except (Conflict, Rejected, NotFound) as exc:
        return _blocked(
            state,
            "vendor_not_created",
            f"the accounting system refused the new vendor: {exc.message}",
            "vendor_tax_id",
        )
    update: dict[str, Any] = {
        "vendor": vendor.model_dump(mode="json"),
        "fields": {**fields, "vendor_id": vendor.id},
        "records": [
            {"system": "accounting", "type": "vendor", "id": vendor.id, "action": "created"}
        ],
    }
    corrections = (state.get("review") or {}).get("corrections") or {}
    before = {**fields, **(state.get("corrected_from") or {})}
    await remember_corrections(
        {**state, "vendor": update["vendor"], "fields": before}, runtime, corrections
    )
    return update


def route_after_create_vendor(state: InvoiceState) -> Literal["validate_invoice", "open_review"]:
    return "validate_invoice" if (state.get("fields") or {}).get("vendor_id") else "open_review"


async def _vendor_of(ctx: RunContext, fields: dict[str, Any]) -> Vendor | None:
    accounting = ctx.connector(AccountingConnector)
    if fields.get("vendor_id"):
        try:
            return await accounting.get_vendor(VendorRef(vendor_id=fields["vendor_id"]))
        except NotFound:
            return None
    if not (fields.get("vendor_name") or fields.get("vendor_tax_id")):
        return None
    search = VendorSearch(
        name=fields.get("vendor_name"), tax_id=fields.get("vendor_tax_id"), limit=3
    )
    for match in await accounting.search_vendors(search):
        if match.matched_on in ("tax_id", "iban") or match.score >= _NAME_SCORE:
            return match.vendor
    return None


async def apply_vendor_memory(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Reads `fields`, `text` and the vendor's memory; writes `fields` (with the values the
    memory finds where reviewers found them before) and `field_sources` (``vendor_memory``
    for each). The vendor is the one the fields match, else the remembered vendor whose
    name line or VAT id the text shows. A structured invoice states its fields: untouched."""
    store, ctx = runtime.store, runtime.context
    if store is None or einvoice.structured(state) is not None:
        return {}
    fields, text = state.get("fields") or {}, state.get("text") or ""
    vendor = await _vendor_of(ctx, fields)
    if vendor is not None:
        found = await memory.recall(store, vendor.id)
    else:
        found = memory.recognise(text, fields, await memory.remembered(store))
    if found is None:
        return {}
    applied, changed = memory.apply(text, fields, found)
    if vendor is None:
        applied["vendor_id"] = found["vendor_id"]
    if not changed:
        return {"fields": applied} if vendor is None else {}
    ctx.audit.record(APPLIED, {"vendor_id": found["vendor_id"], "fields": changed})
    confidence = dict(state.get("field_confidence") or {})
    return {
        "fields": applied,
        "field_sources": {
            **(state.get("field_sources") or {}),
            **dict.fromkeys(changed, "vendor_memory"),
        },
        "field_confidence": {**confidence, **dict.fromkeys(changed, 0.95)},
    }


async def remember_corrections(
    state: InvoiceState, runtime: Ctx, corrections: dict[str, Any]
) -> list[str]:
    """Learns, for the invoice's vendor, where the corrected values stood in the document;
    records what was learned (fields and labels, never values) in the audit trail."""
    store = runtime.store
    vendor = state.get("vendor") or {}
    vendor_id = corrections.get("vendor_id") or vendor.get("id")
    if store is None or not vendor_id or einvoice.structured(state) is not None:
        return []
    known = await memory.recall(store, vendor_id) or {
        "vendor_id": vendor_id,
        "vendor_name": vendor.get("name") or corrections.get("vendor_name"),
    }
    if vendor.get("currency"):
        known.setdefault("currency", vendor["currency"])
    if vendor.get("tax_id"):
        known.setdefault("vendor_tax_id", memory.compact(vendor["tax_id"]))
    taught = {k: v for k, v in corrections.items() if v is not None and k in memory.LEARNABLE}
    updated, learned = memory.learn(
        state.get("text") or "", state.get("fields") or {}, taught, known
    )
    if not learned:
        return []
    await memory.save(store, {**updated, "learned_in": runtime.context.run_id})
    labels = {f: [r["label"] for r in (updated.get("rules") or {}).get(f, [])] for f in learned}
    runtime.context.audit.record(
        LEARNED, {"vendor_id": vendor_id, "fields": learned, "labels": labels}
    )
    return learned
