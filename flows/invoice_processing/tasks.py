"""The model tasks of the invoice flow."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from bpa.models import ClassifyTask, ExtractTask, PromptLibrary
from bpa.models.offline.classifier import trained_from
from flows.invoice_processing.offline import parse_invoice
from flows.invoice_processing.schemas import DocumentLabel, DocumentReading, InvoiceFields

__all__ = ["DOCUMENT_LABELS", "DOCUMENT_READING", "DOCUMENT_TYPE", "INVOICE_FIELDS", "PROMPTS"]

PROMPTS = PromptLibrary.beside(__file__)
_EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "doc_types" / "examples.jsonl"

DOCUMENT_LABELS: tuple[str, ...] = get_args(DocumentLabel)


DOCUMENT_TYPE = ClassifyTask(
    name="document_type",
    labels=DOCUMENT_LABELS,
    prompts=PROMPTS,
    prompt="classify_document.j2",
    offline=trained_from(_EXAMPLES, remake="python fixtures/doc_types/generate.py"),
    description="What kind of business document this is.",
)

INVOICE_FIELDS = ExtractTask(
    name="invoice_fields",
    schema=InvoiceFields,
    prompts=PROMPTS,
    prompt="extract_fields.j2",
    offline=parse_invoice,
    description="The fields of a supplier invoice.",
    offline_inputs=("words",),  # a PDF's words with their positions (bpa.layout)
)

#: The kind and the fields in one answer: what a language model is asked, one call per
#: document. The offline backend has no such task: its trained classifier and its rule
#: extractor are two implementations, run as `DOCUMENT_TYPE` and `INVOICE_FIELDS`.
DOCUMENT_READING = ExtractTask(
    name="document_reading",
    schema=DocumentReading,
    prompts=PROMPTS,
    prompt="read_document.j2",
    description="What kind of business document this is, and its invoice fields.",
)
