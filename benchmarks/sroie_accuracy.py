"""Accuracy of the offline invoice extractor on the SROIE scanned receipts.

    /work/venv/bin/python benchmarks/sroie_accuracy.py [--data PATH] [--limit N]
        [--json FILE] [--show-errors N] [--replay]

Each receipt's text is the OCR lines of `box/<id>.csv` (8 box coordinates, then the text,
which may itself hold commas), one per line in file order. It goes through the offline
model backend with the invoice flow's extract task (`INVOICE_FIELDS`, whose offline parser is
`flows.invoice_processing.offline.parse_invoice`), the code path a run takes with
`BPA_MODEL_BACKEND=offline`, and each field is compared with `key/<id>.json`:

- company vs vendor_name: exact match after case-folding, collapsing whitespace and
  stripping trailing punctuation on both sides. Nothing more lenient: an OCR error in
  the name ("SDN BND" for "SDN BHD") counts as wrong.
- date vs invoice_date: the key, written as on the receipt (usually DD/MM/YYYY), is read
  day-first into a calendar date (month-first only when day-first is impossible) and
  compared with the extracted date.
- total vs total: numeric equality of the amounts (the key's "RM" or "$" is dropped).

`--replay` measures learning from corrections (flows/invoice_processing/memory.py): the
receipts are grouped by vendor (the key's company); a simulated reviewer corrects the
wrong fields of each vendor's first receipt from its key, the flow's memory learns from
that correction (labels and positions, never the values), and the vendor's other receipts
are read again with the memory applied: the vendor recognised among all remembered ones
from the text, as a run would. It prints, on those repeat receipts, the corrected fields
and all fields before (extraction alone) and after (with the memory).

A receipt whose key lacks a field, or has one that cannot be read, is left out of that
field's count (the counts are printed). The data set is read from `../shared` and never
copied into the repository; without it the script says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import statistics
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bpa.models.offline import OfflineBackend  # noqa: E402
from flows.invoice_processing import memory  # noqa: E402
from flows.invoice_processing.schemas import InvoiceFields  # noqa: E402
from flows.invoice_processing.tasks import INVOICE_FIELDS  # noqa: E402

FIELDS = ("company", "date", "total")
_KEY_DATE = re.compile(r"(\d{1,4})[./ -](\d{1,2}|[A-Za-z]{3,9})[./ -]('?\d{2,4})")
_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}  # fmt: skip  # noqa: SIM905


def receipt_text(box: Path) -> str:
    """The OCR lines of one receipt, one per line, in file order."""
    lines = []
    for row in box.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = row.split(",", 8)
        if len(parts) == 9:
            lines.append(parts[8].strip())
    return "\n".join(lines)


def norm_company(value: str | None) -> str:
    return re.sub(r"\s+", " ", value or "").strip().rstrip(".,;:!- ").casefold()


def key_date(raw: str) -> dt.date | None:
    """The key's date read day-first (month-first only if day-first is impossible)."""
    raw = raw.strip()
    if re.fullmatch(r"\d{8}", raw):
        raw = f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
    m = _KEY_DATE.search(raw)
    if m is None:
        return None
    a, b, c = m.group(1), m.group(2), m.group(3).lstrip("'")
    month_word = _MONTHS.get(b[:3].casefold()) if b.isalpha() else None
    year = int(a) if len(a) == 4 else int(c)
    year = year + 2000 if year < 100 else year
    if len(a) == 4:
        orders = [(int(b), int(c))]
    elif month_word:
        orders = [(month_word, int(a))]
    else:
        orders = [(int(b), int(a)), (int(a), int(b))]
    for month, day in orders:
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def key_total(raw: str) -> Decimal | None:
    m = re.search(r"\d[\d,]*(?:\.\d+)?", raw or "")
    if m is None:
        return None
    try:
        return Decimal(m.group(0).replace(",", ""))
    except InvalidOperation:
        return None


def compare(key: dict[str, Any], got: InvoiceFields) -> dict[str, bool | None]:
    """Per field: True (right), False (wrong) or None (no usable key)."""
    out: dict[str, bool | None] = {}
    company = norm_company(key.get("company"))
    out["company"] = (company == norm_company(got.vendor_name)) if company else None
    day = key_date(key.get("date") or "")
    out["date"] = (day == got.invoice_date) if day else None
    total = key_total(key.get("total") or "")
    out["total"] = (got.total is not None and total == got.total) if total is not None else None
    return out


async def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    ids = sorted(p.stem for p in (args.data / "box").glob("*.csv"))
    if args.limit:
        ids = ids[: args.limit]
    backend, task = OfflineBackend(), INVOICE_FIELDS
    right = dict.fromkeys(FIELDS, 0)
    counted = dict.fromkeys(FIELDS, 0)
    errors: dict[str, list[str]] = {f: [] for f in FIELDS}
    times: list[float] = []
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task("receipts", total=len(ids))
        for doc_id in ids:
            key_path = args.data / "key" / f"{doc_id}.json"
            if not key_path.exists():
                progress.advance(bar)
                continue
            key = json.loads(key_path.read_text(encoding="utf-8"))
            text = receipt_text(args.data / "box" / f"{doc_id}.csv")
            started = time.perf_counter()
            extraction, _, _ = await backend.extract(task, text, {})
            times.append((time.perf_counter() - started) * 1000)
            got = extraction.value
            shown = {"company": got.vendor_name, "date": got.invoice_date, "total": got.total}
            for field, ok in compare(key, got).items():
                if ok is None:
                    continue
                counted[field] += 1
                right[field] += int(ok)
                if not ok:
                    errors[field].append(f"{doc_id}: key {key.get(field)!r} got {shown[field]!r}")
            progress.advance(bar)
    return {
        "documents": len(times),
        "fields": {
            f: {
                "right": right[f],
                "counted": counted[f],
                "accuracy": round(right[f] / counted[f], 4) if counted[f] else None,
            }
            for f in FIELDS
        },
        "ms_per_document": {
            "mean": round(statistics.fmean(times), 2) if times else None,
            "median": round(statistics.median(times), 2) if times else None,
            "max": round(max(times), 2) if times else None,
        },
        "errors": errors,
    }


#: The key's fields as the flow's fields.
_FLOW_FIELD = {"company": "vendor_name", "date": "invoice_date", "total": "total"}


def _correction(key: dict[str, Any], field: str) -> Any:
    if field == "company":
        return re.sub(r"\s+", " ", key.get("company") or "").strip() or None
    if field == "date":
        day = key_date(key.get("date") or "")
        return day.isoformat() if day else None
    total = key_total(key.get("total") or "")
    return str(total) if total is not None else None


async def replay(args: argparse.Namespace) -> dict[str, Any]:
    """Correct each vendor's first receipt, then read its others with the memory applied."""
    backend, task = OfflineBackend(), INVOICE_FIELDS
    groups: dict[str, list[tuple[str, dict[str, Any], str]]] = {}
    ids = sorted(p.stem for p in (args.data / "box").glob("*.csv"))
    for doc_id in ids[: args.limit] if args.limit else ids:
        key_path = args.data / "key" / f"{doc_id}.json"
        if key_path.exists():
            key = json.loads(key_path.read_text(encoding="utf-8"))
            text = receipt_text(args.data / "box" / f"{doc_id}.csv")
            groups.setdefault(norm_company(key.get("company")), []).append((doc_id, key, text))
    repeated = {name: docs for name, docs in groups.items() if name and len(docs) > 1}

    async def read(text: str) -> InvoiceFields:
        extraction, _, _ = await backend.extract(task, text, {})
        value: InvoiceFields = extraction.value
        return value

    memories: list[dict[str, Any]] = []
    corrected: dict[str, list[str]] = {}
    for name, docs in repeated.items():
        _, key, text = docs[0]
        got = await read(text)
        wrong = [f for f, ok in compare(key, got).items() if ok is False]
        corrections = {_FLOW_FIELD[f]: _correction(key, f) for f in wrong}
        learned_memory, learned = memory.learn(
            text,
            got.model_dump(mode="json"),
            corrections,
            {"vendor_id": name, "vendor_name": _correction(key, "company")},
        )
        corrected[name] = [f for f in wrong if _FLOW_FIELD[f] in learned]
        if learned:
            memories.append(learned_memory)
    tally = {part: {when: [0, 0] for when in ("before", "after")} for part in ("corrected", "all")}
    recognised = misrecognised = 0
    errors: list[str] = []
    for name, docs in repeated.items():
        for doc_id, key, text in docs[1:]:
            got = await read(text)
            fields = got.model_dump(mode="json")
            found = memory.recognise(text, fields, memories)
            if found is not None:
                recognised += found["vendor_id"] == name
                misrecognised += found["vendor_id"] != name
                fields, _ = memory.apply(text, fields, found)
            after = InvoiceFields.model_validate(fields)
            for when, result in (("before", compare(key, got)), ("after", compare(key, after))):
                for field, ok in result.items():
                    if ok is None:
                        continue
                    parts = ["all", "corrected"] if field in corrected[name] else ["all"]
                    for part in parts:
                        tally[part][when][0] += int(ok)
                        tally[part][when][1] += 1
                    if when == "after" and not ok and field in corrected[name]:
                        errors.append(f"{doc_id} ({name}): {field} key {key.get(field)!r}")
    return {
        "vendors": len(repeated),
        "vendors_corrected": sum(1 for fields in corrected.values() if fields),
        "corrections": sum(len(fields) for fields in corrected.values()),
        "repeat_receipts": sum(len(docs) - 1 for docs in repeated.values()),
        "recognised": recognised,
        "recognised_as_another_vendor": misrecognised,
        "fields": {
            part: {
                when: {
                    "right": right,
                    "counted": counted,
                    "accuracy": round(right / counted, 4) if counted else None,
                }
                for when, (right, counted) in whens.items()
            }
            for part, whens in tally.items()
        },
        "errors": errors,
    }


def show_replay(results: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"SROIE replay: {results['vendors']} vendors with several receipts, "
        f"{results['corrections']} corrections on {results['vendors_corrected']} first "
        f"receipts, {results['repeat_receipts']} repeat receipts"
    )
    for column in ("fields", "before", "after"):
        table.add_column(column, justify="left" if column == "fields" else "right")
    for part, whens in results["fields"].items():
        cells = [
            f"{w['right']}/{w['counted']} ({w['accuracy']:.1%})" if w["accuracy"] is not None
            else "n/a"
            for w in whens.values()
        ]  # fmt: skip
        table.add_row(f"{part} fields", *cells)
    console.print(table)
    console.print(
        f"vendor recognised from memory on {results['recognised']} repeat receipts, "
        f"as another vendor on {results['recognised_as_another_vendor']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "datasets" / "sroie")
    parser.add_argument("--limit", type=int, default=0, help="only the first N receipts")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--show-errors", type=int, default=0, metavar="N",
                        help="print up to N wrong answers per field")  # fmt: skip
    parser.add_argument("--replay", action="store_true",
                        help="learn from a reviewer's corrections, per vendor")  # fmt: skip
    args = parser.parse_args()
    console = Console()
    if not (args.data / "box").is_dir() or not (args.data / "key").is_dir():
        console.print(
            f"[red]SROIE data not found at {args.data}[/red] (expected box/ and key/ inside). "
            "It lives in ../shared/datasets/sroie beside the repository; pass --data PATH."
        )
        return 2
    if args.replay:
        replayed = asyncio.run(replay(args))
        show_replay(replayed, console)
        for line in replayed["errors"][: args.show_errors]:
            console.print(f"  {line}", markup=False, highlight=False)
        if args.json:
            args.json.write_text(json.dumps(replayed, indent=2, default=str), encoding="utf-8")
        return 0
    results = asyncio.run(run(args, console))
    table = Table(title=f"SROIE, offline backend, {results['documents']} receipts")
    for column in ("field", "right", "counted", "accuracy"):
        table.add_column(column, justify="left" if column == "field" else "right")
    for field, row in results["fields"].items():
        acc = f"{row['accuracy']:.1%}" if row["accuracy"] is not None else "n/a"
        table.add_row(field, str(row["right"]), str(row["counted"]), acc)
    console.print(table)
    ms = results["ms_per_document"]
    console.print(f"time per document: mean {ms['mean']} ms, median {ms['median']} ms, "
                  f"max {ms['max']} ms")  # fmt: skip
    if args.show_errors:
        for field, errs in results["errors"].items():
            console.print(f"[bold]{field}[/bold]: {len(errs)} wrong")
            for line in errs[: args.show_errors]:
                console.print(f"  {line}", markup=False, highlight=False)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
