"""Invoice processing: read, extract, validate, book, approve, post."""

from bpa.flows import Flow
from flows.invoice_processing.graph import build_graph
from flows.invoice_processing.output import load_input, make_output
from flows.invoice_processing.schemas import InvoiceFields
from flows.invoice_processing.state import InvoiceDecision, InvoiceInput
from flows.invoice_processing.tasks import DOCUMENT_TYPE

__all__ = ["InvoiceFields", "flow"]

flow = Flow(
    name="invoice_processing",
    version="1.0.0",
    description=(
        "Reads an invoice (PDF, text, e-mail, or an e-invoice: CII, UBL, ZUGFeRD, Factur-X, "
        "XRechnung, FatturaPA), extracts its fields, validates vendor, "
        "arithmetic, duplicates and PO, books a bill and routes it for approval."
    ),
    build_graph=build_graph,
    input_model=InvoiceInput,
    make_output=make_output,
    decision_model=InvoiceDecision,
    load_input=load_input,
    input_suffixes=(".pdf", ".txt", ".eml", ".xml", ".json"),
    connectors=("accounting",),
    # A run takes milliseconds and every side effect carries an idempotency key, so it
    # checkpoints when it stops (done, failed, or asking a human) rather than after each
    # step: a crash mid-run re-executes it and the accounting system replays, not repeats
    # (validate_invoice takes back the bill an earlier attempt booked, by its key).
    durability="exit",
    classify_tasks=(DOCUMENT_TYPE,),
)
