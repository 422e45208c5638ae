"""The invoice flow's nodes. Each returns a partial state update.

Connector nodes make one connector call with an idempotency key derived from the run, the
node and the invoice revision; model nodes only read and answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from bpa.documents import DocumentRef
from bpa.errors import FlowError
from bpa.layout import PageWord, pdf_words
from bpa.models import ModelGateway
from bpa.readers import attached_pdf
from bpa.review import ReviewQuestion
from bpa.runs.context import RunContext
from connectors.base import Done, Irreversible
from connectors.errors import NotFound, Rejected
from connectors.kinds import AccountingConnector
from connectors.schemas import (
    Bill,
    BillCreate,
    BillLine,
    BillRef,
    BillSearch,
    PeriodRef,
    PurchaseOrderRef,
    Vendor,
    VendorSearch,
)
from flows.invoice_processing import checks, einvoice, extraction, vendors
from flows.invoice_processing.schemas import InvoiceFields
from flows.invoice_processing.state import InvoiceState, Issue
from flows.invoice_processing.tasks import (
    DOCUMENT_LABELS,
    DOCUMENT_READING,
    DOCUMENT_TYPE,
    INVOICE_FIELDS,
)

Ctx = Runtime[RunContext]

#: Minimum classifier confidence to turn a document away as "not an invoice".
NOT_INVOICE_CONFIDENCE = 0.6
_VENDOR_NAME_SCORE = 88.0


async def read_input(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Reads `document` (PDF, text, .eml, e-invoice XML); writes `text`, and `einvoice` for a
    structured invoice (an XML file, or a PDF embedding one). Unreadable input fails the run."""
    if state.get("text"):
        return {"text": state["text"]}
    ctx = runtime.context
    ref = DocumentRef.model_validate(state["document"])
    # The store checks the stored file's own size before reading it (never the size claimed).
    return einvoice.read_document_or_einvoice(ctx.documents.read(ref), ref.filename, ref.media_type)


async def classify_document(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Reads `text`; writes `document_type` (label, confidence). A structured invoice
    states its own type: no model is asked. A language model reads the kind and the
    fields in one call, so on such a backend this node writes `extract_fields`' update too
    (the fields are kept whatever the kind: `looks_like_invoice` weighs them as before)."""
    if (structured := einvoice.structured(state)) is not None:
        return {"document_type": {"label": structured.kind, "confidence": 1.0, "scores": {}}}
    models = runtime.context.models
    text = state.get("text") or ""
    if not _reads_in_one_call(models):
        result = await models.classify(DOCUMENT_TYPE, text=text[:8000])
        return {"document_type": _titled(result.model_dump(), text)}
    reading = await models.extract(DOCUMENT_READING, text=text, labels=list(DOCUMENT_LABELS))
    answer = reading.value
    kind = {"label": answer.document_type, "confidence": answer.document_type_confidence}
    return {
        "document_type": _titled({**kind, "scores": {}}, text),
        **_extracted(answer.fields, reading.confidence, reading.field_confidence),
    }


#: The label a document titled as something other than an invoice gets, and the blocking
#: issue it waits with: it asks for money, but is no bill to book as it stands.
_TITLED: dict[str, tuple[str, str, str]] = {
    "credit_note": (
        "credit_note",
        "credit_note",
        "this is a credit note ({title!r}), not a bill: book it as a vendor credit by hand, "
        "or reject it",
    ),
    "pro_forma": (
        "quote",
        "pro_forma",
        "this is a pro forma ({title!r}): it asks for payment before delivery and is no "
        "bill; pay it by hand if that was agreed, and book the invoice that follows",
    ),
    "reminder": (
        "letter",
        "payment_reminder",
        "this is a payment reminder ({title!r}) about an invoice, not the invoice: check "
        "whether that invoice is booked, and book it rather than the reminder",
    ),
}


def _titled(kind: dict[str, Any], text: str) -> dict[str, Any]:
    """The document's own title overrules the classifier: a pro forma or a reminder shares
    nearly every word with an invoice, and only its title says which it is."""
    title = extraction.document_title(text)
    if title is not None and title.kind == "invoice" and kind["label"] != "invoice":
        # its own title says invoice (in a language the classifier may never have seen): not
        # rejected, but checked by a person (`validate_invoice`'s document_type issue)
        return {**kind, "title": title.line, "titled": "invoice"}
    if title is None or title.kind not in _TITLED:
        return kind
    label = _TITLED[title.kind][0]
    return {**kind, "label": label, "confidence": 1.0, "title": title.line, "titled": title.kind}


def _reads_in_one_call(models: ModelGateway) -> bool:
    """Whether the backend is a language model, which reads the kind and the fields in one
    answer (`DOCUMENT_READING`). The offline backend's are two implementations (a trained
    classifier, a rule extractor) that cost nothing to run apart."""
    return models.backend.name != "offline"


def _extracted(
    fields: InvoiceFields, confidence: float, field_confidence: dict[str, float]
) -> dict[str, Any]:
    return {
        "fields": fields.model_dump(mode="json"),
        "confidence": confidence,
        "field_confidence": field_confidence,
        "revision": 0,
    }


def looks_like_invoice(state: InvoiceState) -> bool:
    """The classifier's label, overruled only where the extraction disagrees strongly."""
    kind, fields = state["document_type"], state.get("fields") or {}
    if kind["label"] == "invoice" or einvoice.structured(state) is not None:
        return True
    missing = sum(
        fields.get(name) in (None, "")
        for name in ("invoice_number", "invoice_date", "total", "currency")
    )
    if kind.get("titled") == "invoice":
        return True
    if kind.get("titled"):  # a credit note, pro forma or reminder with an invoice's fields:
        return missing < 2  # a person decides (see `_TITLED`)
    return kind["confidence"] < NOT_INVOICE_CONFIDENCE and missing < 2


async def reject_document(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Ends the run: the document is confidently something other than an invoice."""
    kind = state["document_type"]
    said = (
        f"this document is titled {kind['title']!r}"
        if kind.get("title")
        else f"this document was classified as {kind['label']!r} (confidence "
        f"{kind['confidence']:.2f})"
    )
    raise FlowError(
        "not_an_invoice",
        f"{said} and lacks an invoice's fields; nothing was booked",
        document_type=kind["label"],
        confidence=kind["confidence"],
    )


async def extract_fields(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Reads `text`; writes `fields`, `confidence`, `field_confidence`. A structured invoice
    is taken as its XML says (confidence 1.0), its PDF's page read to compare. Fields a
    language model already read with the document's kind are not asked for again."""
    if (structured := einvoice.structured(state)) is not None:
        return einvoice.structured_extraction(structured, state)
    if "fields" in state:
        return {}
    words = await _page_words(state, runtime.context)
    result = await runtime.context.models.extract(
        INVOICE_FIELDS, text=state.get("text") or "", words=words
    )
    return _extracted(result.value, result.confidence, result.field_confidence)


async def _page_words(state: InvoiceState, ctx: RunContext) -> list[PageWord]:
    """A PDF's words with their positions, for the offline reader's layout pass (read from
    the stored document, not kept in the state: a page has thousands): the document's own,
    or the PDF an e-mail carries. [] for anything else, or when the document was given as
    text."""
    if not state.get("document"):
        return []
    ref = DocumentRef.model_validate(state["document"])
    if not ref.stored or ref.sha256 is None:
        return []
    name = ref.filename.lower()
    if ref.media_type == "application/pdf" or name.endswith(".pdf"):
        data = ctx.documents.read(ref)
    elif ref.media_type == "message/rfc822" or name.endswith(".eml"):
        data = attached_pdf(ctx.documents.read(ref)) or b""
    else:
        return []
    # pdfminer is pure Python: in a thread the loop still serves other runs between slices.
    return await asyncio.to_thread(pdf_words, data)


async def _match_vendor(accounting: Any, fields: dict[str, Any]) -> Vendor | None:
    vendor_id = fields.get("vendor_id")
    if vendor_id:
        try:
            return await accounting.get_vendor({"vendor_id": vendor_id})  # type: ignore[no-any-return]
        except NotFound:
            return None
    search = VendorSearch(
        name=fields.get("vendor_name"), tax_id=fields.get("vendor_tax_id"), iban=None, limit=3
    )
    if not (search.name or search.tax_id):
        return None
    for match in await accounting.search_vendors(search):
        if match.matched_on in ("tax_id", "iban") or match.score >= _VENDOR_NAME_SCORE:
            return match.vendor  # type: ignore[no-any-return]
    return None


def _bill_key(ctx: RunContext, state: InvoiceState) -> str:
    """`create_bill`'s idempotency key: one bill per run and invoice revision."""
    return ctx.idempotency_key("create_bill", "create_bill", f"r{state.get('revision', 0)}")


async def _booked_before(
    accounting: Any, ctx: RunContext, state: InvoiceState, candidates: list[Bill]
) -> Bill | None:
    """The bill among `candidates` that this run booked for this revision in an attempt
    whose process died (the run then executes again from its last stop), recognised by the
    idempotency key the accounting system recorded it under."""
    booked = await accounting.recorded("create_bill", _bill_key(ctx, state))
    if booked is None:
        return None
    return next((bill for bill in candidates if bill.id == booked.id), None)


def _created(bill: Bill) -> list[dict[str, Any]]:
    records = [{"system": "accounting", "type": "bill", "id": bill.id, "action": "created"}]
    if bill.journal_entry_id:
        records.append(
            {
                "system": "accounting",
                "type": "journal_entry",
                "id": bill.journal_entry_id,
                "action": "created",
            }
        )
    return records


async def validate_invoice(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Reads `fields`, `text`, `bill`; checks vendor, ids, arithmetic, duplicates, PO, period.

    Writes `vendor` and `issues` (replacing earlier ones). Reads only; changes nothing. A
    bill this run booked before its process died is its own, not a duplicate: it is taken
    back into `bill` (and `records`), so it is posted or voided rather than forgotten.
    """
    ctx = runtime.context
    accounting = ctx.connector(AccountingConnector)
    fields = state["fields"]
    issues: list[Issue] = [*checks.injection_issues(state.get("text") or "")]
    kind = state.get("document_type") or {}
    if kind.get("titled") in _TITLED:
        _, code, message = _TITLED[kind["titled"]]
        issues.append(checks.issue(code, message.format(title=kind["title"])))
    elif kind and kind.get("label") != "invoice":
        issues.append(
            checks.issue(
                "document_type",
                f"the document reads like a {kind['label'].replace('_', ' ')} "
                f"(confidence {kind['confidence']:.2f}); check that it is an invoice",
            )
        )
    issues += checks.required_issues(fields)
    issues += checks.arithmetic_issues(fields)
    issues += einvoice.einvoice_issues(state)

    vendor = await _match_vendor(accounting, fields)
    if vendor is None and fields.get("vendor_name"):
        issues.append(
            checks.issue(
                "unknown_vendor",
                f"{fields['vendor_name']!r} (tax id {fields.get('vendor_tax_id') or 'none'}) "
                "is not in the vendor master; add the vendor or correct vendor_id",
                "vendor_name",
            )
        )
    issues += checks.id_issues(fields, vendor)

    own_bill = (state.get("bill") or {}).get("id")
    recovered: Bill | None = None
    if vendor and fields.get("invoice_number"):
        earlier = await accounting.find_bills(
            BillSearch(vendor_id=vendor.id, invoice_number=fields["invoice_number"])
        )
        others = [b for b in earlier if b.id != own_bill]
        if others and own_bill is None:
            recovered = await _booked_before(accounting, ctx, state, others)
            others = [b for b in others if b is not recovered]
        if others:
            issues.append(
                checks.issue(
                    "duplicate_invoice",
                    f"invoice {fields['invoice_number']} from {vendor.name} was already booked "
                    f"as bill {others[0].id} ({others[0].status})",
                    "invoice_number",
                )
            )
    if fields.get("po_number"):
        try:
            po = await accounting.get_purchase_order(PurchaseOrderRef(number=fields["po_number"]))
        except NotFound:
            issues.append(
                checks.issue(
                    "po_not_found",
                    f"purchase order {fields['po_number']} does not exist",
                    "po_number",
                )
            )
        else:
            issues += checks.po_issues(fields, po, vendor)
    invoice_date = checks.parse_date(fields.get("invoice_date"))
    if invoice_date is not None:
        try:
            period = await accounting.get_period(PeriodRef(period=invoice_date.strftime("%Y-%m")))
        except NotFound:
            period = None
        if period is not None and period.status == "closed":
            issues.append(
                checks.issue(
                    "period_closed",
                    f"the accounting period {period.period} is closed; correct the date or "
                    "reopen the period",
                    "invoice_date",
                )
            )
    confidence = state.get("confidence", 0.0)
    if state.get("revision", 0) == 0 and confidence < ctx.settings.min_extraction_confidence:
        issues.append(
            checks.issue(
                "low_confidence",
                f"extraction confidence {confidence:.2f} is below "
                f"{ctx.settings.min_extraction_confidence:.2f}",
            )
        )
    total = checks.to_decimal(fields.get("total"))
    threshold = ctx.settings.invoice_approval_threshold
    if total is not None and total > threshold:
        issues.append(
            checks.issue(
                "above_threshold",
                f"total {total} is above the approval threshold {threshold}",
                "total",
            )
        )
    update: dict[str, Any] = {
        "vendor": vendor.model_dump(mode="json") if vendor else None,
        "issues": issues,
    }
    if recovered is not None:
        update.update(bill=recovered.model_dump(mode="json"), records=_created(recovered))
    return update


def _bill_request(state: InvoiceState) -> BillCreate:
    fields, vendor = state["fields"], state["vendor"] or {}
    po_missing = any(i["code"] == "po_not_found" for i in state.get("issues", []))
    # The state holds JSON values (amounts as strings or numbers): validated into the model.
    lines = [
        BillLine.model_validate(
            {
                "description": item.get("description") or "item",
                "quantity": item.get("quantity") or 1,
                "unit_price": item.get("unit_price") or item.get("amount") or 0,
                "amount": item.get("amount") or 0,
            }
        )
        for item in fields.get("line_items") or []
        if item.get("amount") is not None
    ]
    return BillCreate.model_validate(
        {
            "vendor_id": vendor["id"],
            "invoice_number": fields["invoice_number"],
            "invoice_date": fields["invoice_date"],
            "due_date": fields.get("due_date"),
            "currency": fields.get("currency") or vendor.get("currency") or "EUR",
            "subtotal": checks.to_decimal(fields.get("subtotal"))
            or checks.to_decimal(fields["total"]),
            "tax": checks.to_decimal(fields.get("tax")) or 0,
            "withholding": checks.to_decimal(fields.get("withholding")) or 0,
            "total": checks.to_decimal(fields["total"]),
            "lines": lines,
            "po_number": None if po_missing else fields.get("po_number"),
            "memo": f"invoice {fields['invoice_number']} from {vendor.get('name')}",
        }
    )


async def create_bill(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Creates a draft bill and journal entry (idempotent per run and revision).

    A refusal by the accounting system becomes a blocking issue for the reviewer.
    """
    ctx = runtime.context
    accounting = ctx.connector(AccountingConnector)
    try:
        bill = await accounting.create_bill(
            _bill_request(state), idempotency_key=_bill_key(ctx, state)
        )
    except Rejected as exc:
        refused = checks.issue(exc.code, f"the accounting system refused the bill: {exc.message}")
        refused["blocking"] = True
        return {"issues": [*state.get("issues", []), refused]}
    except NotFound as exc:
        refused = checks.issue(exc.code, f"the accounting system refused the bill: {exc.message}")
        refused["blocking"] = True
        return {"issues": [*state.get("issues", []), refused]}
    return {"bill": bill.model_dump(mode="json"), "records": _created(bill)}


async def open_review(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Marks the invoice as waiting for a human before the question is asked."""
    return {"decision": "pending_review"}


async def request_review(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Asks a human (LangGraph interrupt); writes `review`, and `decision` on a rejection."""
    issues = state.get("issues", [])
    blocking = any(i["blocking"] for i in issues)
    fields = state.get("fields", {})
    question = ReviewQuestion(
        kind="invoice_approval",
        title=(
            f"Invoice {fields.get('invoice_number') or '?'} from "
            f"{fields.get('vendor_name') or 'unknown vendor'}: "
            f"{fields.get('total')} {fields.get('currency') or ''}".strip()
        ),
        reasons=[i["message"] for i in issues] or ["a human review was requested"],
        details={
            "issues": issues,
            "fields": fields,
            "vendor": state.get("vendor"),
            "bill_id": (state.get("bill") or {}).get("id"),
            "confidence": state.get("confidence"),
            "field_sources": state.get("field_sources") or {},
            **({"create_vendor": offer} if (offer := vendors.proposal(state)) else {}),
        },
        actions=["reject", "correct"] if blocking else ["approve", "reject", "correct"],
        editable_fields=[
            "vendor_id",
            "vendor_name",
            "vendor_tax_id",
            "invoice_number",
            "invoice_date",
            "due_date",
            "currency",
            "subtotal",
            "tax",
            "withholding",
            "total",
            "po_number",
            "iban",
            *(vendors.ONBOARDING_FIELDS if offer else ()),
        ],
    )
    answer = interrupt(question.model_dump(mode="json"))
    decision = {"reject": "rejected", "approve": "approved"}.get(answer["action"])
    return {"review": answer, "decision": decision}


async def apply_corrections(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Merges the reviewer's corrections into `fields` and bumps `revision`; the vendor's
    memory learns where the corrected values stood (vendors.remember_corrections)."""
    corrections = {
        k: v
        for k, v in ((state.get("review") or {}).get("corrections") or {}).items()
        if v is not None and k != "create_vendor"
    }
    await vendors.remember_corrections(state, runtime, corrections)
    return {
        "fields": {**state["fields"], **corrections},
        "corrected_from": {k: state["fields"].get(k) for k in corrections},
        "revision": state.get("revision", 0) + 1,
        "bill": None,
    }


async def void_bill(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Undoes `create_bill` (rejection, or before a corrected one) with the undo the
    accounting connector declares, as a rollback of the run would: the bill is voided, and
    a later rollback knows it was."""
    ctx = runtime.context
    review = state.get("review") or {}
    reason = review.get("comment") or f"invoice review: {review.get('action', 'rejected')}"
    created = Done(
        action="create_bill",
        request=_bill_request(state),
        result=Bill.model_validate(state["bill"]),
        idempotency_key=_bill_key(ctx, state),
        reason=reason,
    )
    voided = await ctx.undo(AccountingConnector, created)
    if isinstance(voided, Irreversible):  # the connector says a bill cannot be voided
        raise FlowError("bill_not_voidable", f"the bill cannot be undone: {voided.reason}")
    return {
        "bill": voided.model_dump(mode="json"),
        "records": [{"system": "accounting", "type": "bill", "id": voided.id, "action": "voided"}],
    }


async def post_bill(state: InvoiceState, runtime: Ctx) -> dict[str, Any]:
    """Posts the draft bill to the ledger; writes `decision` (auto_approved or approved)."""
    ctx = runtime.context
    bill = state["bill"] or {}
    key = ctx.idempotency_key("post_bill", "post_bill", f"r{state.get('revision', 0)}")
    posted = await ctx.connector(AccountingConnector).post_bill(
        BillRef(bill_id=bill["id"]), idempotency_key=key
    )
    return {
        "bill": posted.model_dump(mode="json"),
        "decision": "approved" if state.get("review") else "auto_approved",
        "records": [{"system": "accounting", "type": "bill", "id": posted.id, "action": "posted"}],
    }
