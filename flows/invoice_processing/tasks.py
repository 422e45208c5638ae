"""The model tasks of the invoice flow."""

from __future__ import annotations

from pathlib import Path

from bpa.models import ClassifyTask, ExtractTask, PromptLibrary
from bpa.models.offline.classifier import TextClassifier
from flows.invoice_processing.offline import parse_invoice
from flows.invoice_processing.schemas import InvoiceFields

__all__ = ["DOCUMENT_LABELS", "DOCUMENT_TYPE", "INVOICE_FIELDS", "PROMPTS"]

PROMPTS = PromptLibrary.beside(__file__)
_EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "doc_types" / "examples.jsonl"

DOCUMENT_LABELS = (
    "invoice",
    "credit_note",
    "receipt",
    "purchase_order",
    "quote",
    "letter",
    "other",
)


def _document_classifier(cache_dir: Path | None) -> TextClassifier:
    if not _EXAMPLES.exists():
        raise FileNotFoundError(
            f"training data for the offline document classifier is missing: {_EXAMPLES}; "
            "run `python fixtures/doc_types/generate.py`"
        )
    return TextClassifier.cached(_EXAMPLES, cache_dir)


DOCUMENT_TYPE = ClassifyTask(
    name="document_type",
    labels=DOCUMENT_LABELS,
    prompts=PROMPTS,
    prompt="classify_document.j2",
    offline=_document_classifier,
    description="What kind of business document this is.",
)

INVOICE_FIELDS = ExtractTask(
    name="invoice_fields",
    schema=InvoiceFields,
    prompts=PROMPTS,
    prompt="extract_fields.j2",
    offline=parse_invoice,
    description="The fields of a supplier invoice.",
)
