"""Structured e-invoices: read exactly from their XML, and the same PDFs from their page.

    python benchmarks/einvoice_accuracy.py [--data PATH] [--json FILE] [--show-errors N]

Reads every file of `../shared/datasets/einvoice-corpus` (ZUGFeRD 1/2, Factur-X and
XRechnung PDFs, CII and UBL XML, FatturaPA) in two ways:

1. **Structured**: the way a run reads it (`einvoice.read_document_or_einvoice`, then
   `structured_extraction`): an XML file, or the invoice XML a PDF embeds. Each field the
   flow reports is compared with a second, independent reading of the same XML
   (`benchmarks/_einvoice_truth.py`, plain lxml by element name, no `factur-x`): seller
   name and VAT id, invoice number, issue and due date, currency, line items (net amount,
   quantity, name), document allowances and charges, VAT breakdown (category, rate,
   taxable amount, VAT), subtotal (BT-109), VAT (BT-110), total (BT-112), amount due
   (BT-115), payment terms, IBAN, buyer reference and purchase order. Amounts compare as
   numbers, text after collapsing white space, IBANs without spaces. A file the reader
   refuses (schema-invalid, a FatturaPA batch, ...) is listed with the reason, not scored.
   It also counts the PDFs on which the flow raises `embedded_xml_mismatch` (page and
   XML disagree).
2. **Visible text only**: each PDF that embeds an invoice XML is read as a plain PDF (the
   attachment ignored) by the flow's text extractor (`offline.parse_invoice`, what the
   offline backend runs) with the page's word positions (`bpa.layout.pdf_words`; leave
   them out with --no-layout), and invoice number, issue date, currency, total (BT-112),
   seller name and VAT id are compared with its XML. Names compare case-folded with white
   space and trailing punctuation dropped (and once more with a trailing legal form such as
   SARL or GmbH dropped, since pages often print it and the XML's name may not); numbers
   without spaces, case-insensitively.

Nothing is tuned on these files. Without the data set the script says so and exits 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _einvoice_truth import truth  # noqa: E402

from bpa.errors import FlowError  # noqa: E402
from bpa.layout import pdf_words  # noqa: E402
from bpa.readers import read_document  # noqa: E402
from flows.invoice_processing.einvoice import (  # noqa: E402
    EInvoice,
    einvoice_issues,
    read_document_or_einvoice,
    structured_extraction,
)
from flows.invoice_processing.einvoice.embedded import embedded_invoice_xml  # noqa: E402
from flows.invoice_processing.offline import parse_invoice  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "einvoice-corpus"
STRUCTURED = (
    "vendor_name", "vendor_tax_id", "invoice_number", "invoice_date", "due_date", "currency",
    "line_items", "allowances_charges", "tax_breakdown", "subtotal", "tax", "total",
    "amount_due", "payment_terms", "iban", "buyer_reference", "po_number",
)  # fmt: skip
VISIBLE = ("invoice_number", "invoice_date", "currency", "total", "vendor_name", "vendor_tax_id")
AMOUNTS = {"subtotal", "tax", "total", "amount_due"}


def _dec(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _txt(value: Any) -> str | None:
    return " ".join(str(value).split()) or None if value is not None else None


def flow_view(fields: dict[str, Any], name: str) -> Any:
    """A field of the flow's `fields` in the truth reader's shape."""
    value = fields.get(name)
    if name in AMOUNTS:
        return _dec(value)
    if name == "line_items":
        return [(_dec(i.get("amount")), _dec(i.get("quantity")), _txt(i.get("description")))
                for i in value or []]  # fmt: skip
    if name == "allowances_charges":
        return sorted((bool(a["charge"]), _dec(a["amount"])) for a in value or [])
    if name == "tax_breakdown":
        return [(t["category"], _dec(t["rate"]), _dec(t["taxable_amount"]), _dec(t["tax_amount"]))
                for t in value or []]  # fmt: skip
    return _txt(value)


def truth_view(want: dict[str, Any], name: str) -> Any:
    value = want.get(name)
    if name == "allowances_charges":
        return sorted(value)
    if name == "line_items":
        return [(a, q, _txt(n)) for a, q, n in value]
    if name == "iban" and value:  # the flow reports IBANs compact, as its schema says
        return value.replace(" ", "").upper()
    return value


def norm_name(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip().rstrip(".,;:!- ").casefold()


#: Legal forms a name may carry on the page and not in the XML (or the other way round).
_LEGAL_FORM = re.compile(
    r"[\s,]+(?:sarl|sas|sa|eurl|gmbh|ag|a\.g\.|kg|ug|e\.k\.|ltd|limited|llc|inc|plc|b\.?v\.?"
    r"|n\.?v\.?|s\.?r\.?l\.?|s\.?p\.?a\.?|s\.?l\.?|lda|sp\. z o\.o\.)\.?$"
)


def norm_entity(value: Any) -> str:
    """`norm_name` with one trailing legal form dropped: "Au bon moulin SARL" is the same
    seller as the XML's "Au bon moulin"."""
    return _LEGAL_FORM.sub("", norm_name(value))


def norm_id(value: Any) -> str:
    return re.sub(r"\s+", "", str(value or "")).casefold()


def visible_match(name: str, got: Any, want: Any) -> bool:
    if want in (None, ""):
        return got in (None, "")
    if name == "vendor_name":
        return norm_name(got) == norm_name(want)
    if name in ("invoice_number", "vendor_tax_id"):
        return norm_id(got) == norm_id(want)
    if name == "total":
        return got is not None and Decimal(str(got)) == Decimal(str(want))
    return str(got) == str(want)


def run(data: Path, layout: bool = True) -> dict[str, Any]:
    files = sorted(p for p in data.rglob("*") if p.suffix.lower() in (".xml", ".pdf"))
    hits: Counter[str] = Counter()
    errors: dict[str, list[str]] = {f: [] for f in STRUCTURED}
    failures: list[tuple[str, str, str]] = []
    skipped: list[tuple[str, str]] = []
    scored, mismatched, pdfs_read = 0, [], 0
    visible_hits: Counter[str] = Counter()
    visible_errors: dict[str, list[str]] = {f: [] for f in VISIBLE}
    visible_docs = 0
    seconds: list[float] = []
    for path in files:
        rel = str(path.relative_to(data))
        raw = path.read_bytes()
        started = time.perf_counter()
        try:
            update = read_document_or_einvoice(raw, path.name, None)
        except FlowError as exc:
            failures.append((rel, exc.code, exc.message))
            continue
        einvoice = update.get("einvoice")
        if not einvoice:
            skipped.append((rel, "no invoice XML (an ordinary PDF)"))
            continue
        if "error" in einvoice:
            failures.append((rel, einvoice["error"]["code"], einvoice["error"]["message"]))
        else:
            invoice = EInvoice.model_validate(einvoice["invoice"])
            state: dict[str, Any] = {"text": update["text"], "einvoice": einvoice}
            state.update(structured_extraction(invoice, state))  # type: ignore[arg-type]
            seconds.append(time.perf_counter() - started)
            xml = embedded_invoice_xml(raw).data if invoice.container == "pdf" else raw  # type: ignore[union-attr]
            want = truth(xml)
            if want is None:
                skipped.append((rel, f"{invoice.syntax}: read, not scored (no second reader)"))
                continue
            scored += 1
            for name in STRUCTURED:
                got, expected = flow_view(state["fields"], name), truth_view(want, name)
                if got == expected:
                    hits[name] += 1
                else:
                    errors[name].append(f"{rel}: got {got!r}, XML says {expected!r}")
            if invoice.container == "pdf":
                pdfs_read += 1
                issues = einvoice_issues(state)  # type: ignore[arg-type]
                if any(i["code"] == "embedded_xml_mismatch" for i in issues):
                    mismatched.append(rel)
        if path.suffix.lower() != ".pdf":
            continue
        embedded = embedded_invoice_xml(raw)
        want = truth(embedded.data) if embedded else None
        if want is None:
            continue
        visible_docs += 1
        try:
            text = read_document(raw, path.name).text
        except FlowError as exc:
            text = ""
            for name in VISIBLE:
                visible_errors[name].append(f"{rel}: unreadable page ({exc.code})")
        words = pdf_words(raw) if text and layout else []
        reading = parse_invoice(text, words).value.model_dump(mode="json") if text else {}
        if want.get("vendor_name") and norm_entity(reading.get("vendor_name")) == norm_entity(
            want["vendor_name"]
        ):
            visible_hits["vendor_name_entity"] += 1
        for name in VISIBLE:
            got = reading.get(name)
            if visible_match(name, got, want.get(name)):
                visible_hits[name] += 1
            elif text:
                visible_errors[name].append(f"{rel}: got {got!r}, XML says {want.get(name)!r}")
    return {
        "files": len(files),
        "scored": scored,
        "structured": {f: hits[f] for f in STRUCTURED},
        "structured_errors": errors,
        "failures": failures,
        "skipped": skipped,
        "pdfs_read": pdfs_read,
        "embedded_xml_mismatch": mismatched,
        "visible_documents": visible_docs,
        "visible": {f: visible_hits[f] for f in VISIBLE},
        "visible_vendor_entity": visible_hits["vendor_name_entity"],
        "visible_errors": visible_errors,
        "ms_per_file": round(1000 * sum(seconds) / max(len(seconds), 1), 1),
    }


def _pct(hit: int, total: int) -> str:
    return f"{100 * hit / total:.1f} %" if total else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the corpus folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--show-errors", type=int, default=5, metavar="N", help="wrong values shown per field"
    )
    parser.add_argument(
        "--no-layout", action="store_true", help="visible text without word positions"
    )
    args = parser.parse_args()
    console = Console()
    if not args.data.is_dir():
        console.print(f"the e-invoice corpus is missing: {args.data} (see ../shared/datasets)")
        return 2
    results = run(args.data, layout=not args.no_layout)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")

    n = results["scored"]
    table = Table(title=f"1. Structured: {n} invoices read from XML (CII, UBL, PDF-embedded)")
    table.add_column("field")
    table.add_column("equal to the XML", justify="right")
    for name in STRUCTURED:
        hit = results["structured"][name]
        table.add_row(name, f"{hit}/{n}  {_pct(hit, n)}")
    console.print(table)
    console.print(f"{results['ms_per_file']} ms per structured file (read, XSD, extraction)")
    console.print(f"[bold]not read ({len(results['failures'])}):[/bold]")
    for rel, code, message in results["failures"]:
        console.print(f"  {rel}: {code}: {message[:160]}", markup=False, highlight=False)
    for rel, why in results["skipped"]:
        console.print(f"  (skipped) {rel}: {why}", markup=False, highlight=False)
    flagged = results["embedded_xml_mismatch"]
    console.print(
        f"embedded_xml_mismatch raised on {len(flagged)} of {results['pdfs_read']} PDFs read: "
        + ", ".join(flagged),
        markup=False,
        highlight=False,
    )

    m = results["visible_documents"]
    table = Table(title=f"2. Visible text only: {m} PDFs, text extractor vs their XML")
    table.add_column("field")
    table.add_column("accuracy", justify="right")
    for name in VISIBLE:
        hit = results["visible"][name]
        table.add_row(name, f"{hit}/{m}  {_pct(hit, m)}")
    hit = results["visible_vendor_entity"]
    table.add_row("vendor_name, legal form aside", f"{hit}/{m}  {_pct(hit, m)}")
    console.print(table)
    for section in ("structured_errors", "visible_errors"):
        for name, wrong in results[section].items():
            if wrong and args.show_errors:
                console.print(f"[bold]{section} {name}[/bold]: {len(wrong)} wrong")
                for line in wrong[: args.show_errors]:
                    console.print(f"  {line[:220]}", markup=False, highlight=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
