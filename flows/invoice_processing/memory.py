"""What the flow learns from a reviewer's corrections, per vendor, and uses on that vendor's
next invoices.

A vendor prints its invoices from one template, so a corrected value teaches *where* the
right value stands, not what it is: the words before it on its line (or on the line above
it when it stands alone), which of the line's values it is, which of the lines so labelled
holds it, and for a date the day/month order it is written in. A stored total would be
wrong on the next invoice; "the last amount after ROUNDED TOTAL" is not. What is constant
for a vendor is kept as a value: its name as the reviewer wrote it (with the line that
prints it, to recognise the vendor again), its usual currency and its VAT id.

A rule is kept only if it finds the corrected value again on the document it was learned
from; it is applied only where its label is found (fuzzily, OCR varies), and otherwise
the extraction stands. The memory lives in the engine's cross-run store (`runtime.store`),
namespace ``("invoice_processing", "vendor_memory", <vendor id>)``, key ``profile``; it
holds labels and positions, never a document's text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langgraph.store.base import BaseStore
from rapidfuzz import fuzz

from flows.invoice_processing.extraction import Document, find_amounts, find_dates

__all__ = [
    "FORGET_FLOW",
    "FORGOTTEN",
    "LEARNABLE",
    "NAMESPACE",
    "PROFILE",
    "apply",
    "compact",
    "forget",
    "forget_fields",
    "forget_returning",
    "forgettable",
    "learn",
    "namespace",
    "recall",
    "recognise",
    "remembered",
    "save",
]

NAMESPACE = ("invoice_processing", "vendor_memory")
PROFILE = "profile"
#: The flow that forgets (`flows.invoice_processing.forget`), and its audit event.
FORGET_FLOW, FORGOTTEN = "vendor_memory_forget", "vendor_memory_forgotten"
#: Fields whose position is learned, by the kind of value they hold.
_KINDS = {
    "total": "amount",
    "subtotal": "amount",
    "tax": "amount",
    "invoice_date": "date",
    "due_date": "date",
    "invoice_number": "id",
    "po_number": "id",
    "iban": "id",
}
LEARNABLE = (*_KINDS, "vendor_name", "vendor_tax_id", "currency")
#: How alike (0-100) a label must be to the remembered one; OCR changes a letter or two.
LABEL_MATCH = 85.0
#: How alike the line that prints the vendor's name must be to be recognised.
ANCHOR_MATCH = 90.0
_RULES_PER_FIELD = 5
#: How many lines above a value its label may stand.
_REACH = 8
_HEADER_LINES = 25
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,4})\s?([./-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})(?!\d)")
_TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9/#._-]*[A-Za-z0-9])?")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_LETTERS = re.compile(r"[^\w]+|[\d_]+")
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def namespace(vendor_id: str) -> tuple[str, ...]:
    return (*NAMESPACE, _SAFE.sub("_", vendor_id))


@dataclass(frozen=True, slots=True)
class _Hit:
    """One value of a kind in the document: its line, span and how it reads."""

    line: int
    start: int
    end: int
    raw: str


def _words(text: str, keep: int = 5) -> str:
    """A label as compared: letters only, case-folded, its last `keep` words."""
    return " ".join(_LETTERS.sub(" ", text.casefold()).split()[-keep:])


def compact(value: Any) -> str:
    """An identifier without separators, upper case, for comparing."""
    return _NOT_ALNUM.sub("", str(value or "")).upper()


def _hits(doc: Document, kind: str) -> list[_Hit]:
    found: list[_Hit] = []
    for i, line in enumerate(doc.lines):
        if kind == "amount":
            found += [_Hit(i, s, e, line[s:e]) for s, e, _ in find_amounts(doc, i)]
        elif kind == "date":
            found += [_Hit(i, m.start(), m.end(), m.group(0)) for m in _NUMERIC_DATE.finditer(line)]
        else:
            found += [_Hit(i, m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(line)]
    if kind == "date":  # dates in words ("12 Jan 2018"): as the extraction reads them
        for c in find_dates(doc):
            start = doc.lines[c.line].find(c.text) if c.text else -1
            if start >= 0 and not any(h.line == c.line and h.start <= start < h.end for h in found):
                found.append(_Hit(c.line, start, start + len(c.text), c.text))
    return sorted(found, key=lambda h: (h.line, h.start))


def _read(doc: Document, kind: str, hit: _Hit, order: str | None) -> Any:
    if kind == "amount":
        return next((v for s, _, v in find_amounts(doc, hit.line) if s == hit.start), None)
    if kind == "id":
        return hit.raw
    m = _NUMERIC_DATE.fullmatch(hit.raw)
    if m is None:  # a date in words: the extraction's reading
        return next(
            (c.value for c in find_dates(doc) if c.line == hit.line and c.text == hit.raw), None
        )
    a, b, c = int(m.group(1)), int(m.group(3)), int(m.group(4))
    if order == "ymd":
        year, month, day = a, b, c
    else:
        day, month = (a, b) if order == "dmy" else (b, a)
        year = c + 2000 if c < 100 else c
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _same(kind: str, got: Any, want: Any) -> bool:
    if got is None or want in (None, ""):
        return False
    if kind == "amount":
        try:
            return Decimal(str(got)) == Decimal(str(want))
        except ArithmeticError:
            return False
    if kind == "date":
        return str(got) == str(want)
    return compact(got) == compact(want) != ""


def _after(hits: list[_Hit], line: int) -> list[_Hit]:
    """The hits from `line` on, in reading order (a label precedes its value on its line,
    or stands above it: OCR of a receipt's columns often puts the values lines later)."""
    return [h for h in hits if h.line >= line]


def _anchors(doc: Document, rule_label: str) -> list[int]:
    return [
        i for i, line in enumerate(doc.lines) if fuzz.ratio(_words(line), rule_label) >= LABEL_MATCH
    ]


def _find(doc: Document, kind: str, rule: dict[str, Any], hits: list[_Hit]) -> Any:
    """The value `rule` points at in `doc`, or None when its label is not there: the
    `offset`-th value of its kind from the `nth` line that reads like its label."""
    anchors = _anchors(doc, rule["label"])
    if not anchors:
        return None
    nth = rule["nth"]
    if nth == "last":
        line = anchors[-1]
    elif nth < len(anchors):
        line = anchors[nth]
    else:
        return None
    following = _after(hits, line)
    if rule["offset"] >= len(following):
        return None
    return _read(doc, kind, following[rule["offset"]], rule.get("order"))


def _rules_for(doc: Document, kind: str, want: Any) -> list[dict[str, Any]]:
    """Rules that find `want` again in `doc`: the nearest labels above it first."""
    hits = _hits(doc, kind)
    orders = ("dmy", "mdy", "ymd") if kind == "date" else (None,)
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for hit in hits:
        order = next((o for o in orders if _same(kind, _read(doc, kind, hit, o), want)), "no match")
        if order == "no match":
            continue
        for line in range(hit.line, max(-1, hit.line - _REACH), -1):
            label = _words(doc.lines[line])
            if len(label.replace(" ", "")) < 3 or (label, line) in seen:
                continue
            seen.add((label, line))
            anchors = _anchors(doc, label)
            if line not in anchors:
                continue
            index = anchors.index(line)
            rule = {
                "label": label,
                "nth": "last" if index == len(anchors) - 1 else index,
                "offset": _after(hits, line).index(hit),
                "order": order,
            }
            if _same(kind, _find(doc, kind, rule, hits), want):
                found.append(rule)
    found.sort(key=lambda r: r["offset"])
    return found


def _votes(
    doc: Document, kind: str, rules: list[dict[str, Any]], hits: list[_Hit]
) -> dict[str, float]:
    """The values `rules` point at, each with its weight (earlier rules weigh more)."""
    votes: dict[str, float] = {}
    for rank, rule in enumerate(rules):
        value = _find(doc, kind, rule, hits)
        if value is not None:
            said = value.isoformat() if isinstance(value, dt.date) else str(value)
            votes[said] = votes.get(said, 0.0) + 1.0 + 0.1 * (len(rules) - rank)
    return votes


def _anchor(doc: Document, name: str) -> str | None:
    """The header line that prints the vendor's name (as the reviewer wrote it)."""
    target = _words(name, keep=12)
    scored = [
        (fuzz.ratio(_words(line, keep=12), target), _words(line, keep=12))
        for line in doc.lines[:_HEADER_LINES]
    ]
    score, line = max(scored, default=(0.0, ""))
    return line if score >= 60 and line else None


def learn(
    text: str, extracted: dict[str, Any], corrected: dict[str, Any], memory: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """`memory` updated with what the reviewer's `corrected` values teach (only fields whose
    value differs from `extracted`); returns it and the fields learned."""
    doc = Document(text)
    rules = dict(memory.get("rules") or {})
    avoid = dict(memory.get("avoid") or {})
    learned: list[str] = []
    for field, want in corrected.items():
        if want in (None, "") or field not in LEARNABLE:
            continue
        kind = _KINDS.get(field)
        if kind is not None and _same(kind, extracted.get(field), want):
            continue
        if kind is None and str(extracted.get(field) or "") == str(want):
            continue
        if field == "vendor_name":
            memory = {**memory, "vendor_name": str(want), "name_corrected": True}
        elif field == "currency":
            memory = {**memory, "currency": str(want).upper(), "currency_corrected": True}
        elif field == "vendor_tax_id":
            memory = {**memory, "vendor_tax_id": compact(want)}
        else:
            found = _rules_for(doc, kind or "id", want)[:_RULES_PER_FIELD]
            if not found:
                continue
            rules[field] = found
            wrong = extracted.get(field)
            misread = _rules_for(doc, kind or "id", wrong) if wrong not in (None, "") else []
            avoid[field] = misread[:_RULES_PER_FIELD]
        learned.append(field)
    if learned:
        memory = {**memory, "fields": sorted({*(memory.get("fields") or []), *learned})}
    if memory.get("vendor_name") and not memory.get("anchor"):
        memory = {**memory, "anchor": _anchor(doc, str(memory["vendor_name"]))}
    return {**memory, "rules": rules, "avoid": avoid}, learned


def recognise(
    text: str, fields: dict[str, Any], memories: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The memory of the vendor this document comes from, by its VAT id in the text or the
    line that prints its name; None when no remembered vendor fits."""
    doc = Document(text)
    flat = compact(text)
    header = [_words(line, keep=12) for line in doc.lines[:_HEADER_LINES]]
    best: tuple[float, dict[str, Any] | None] = (0.0, None)
    for memory in memories:
        score = 0.0
        tax_id = memory.get("vendor_tax_id")
        if tax_id and len(tax_id) >= 6 and tax_id in flat:
            score = 100.0
        elif memory.get("anchor"):
            score = max((fuzz.ratio(line, memory["anchor"]) for line in header), default=0.0)
        name = fields.get("vendor_name")
        if name and memory.get("vendor_name"):
            score = max(score, fuzz.ratio(_words(name, 12), _words(memory["vendor_name"], 12)))
        if score >= ANCHOR_MATCH and score > best[0]:
            best = (score, memory)
    return best[1]


def apply(
    text: str, fields: dict[str, Any], memory: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """`fields` with what `memory` says about this vendor's invoices; returns them and the
    fields it changed."""
    doc = Document(text)
    out = dict(fields)
    for field, rules in (memory.get("rules") or {}).items():
        kind = _KINDS.get(field)
        if kind is None:
            continue
        hits = _hits(doc, kind)
        said = _votes(doc, kind, rules, hits)
        if not said:
            continue
        extracted = fields.get(field)
        avoid = (memory.get("avoid") or {}).get(field) or []
        # The extraction's mistake again, where it was made the first time (its first rule):
        misread = _votes(doc, kind, avoid[:1], hits)
        known = [v for v in said if _same(kind, v, extracted)]
        if extracted in (None, "") or (
            not known and any(_same(kind, v, extracted) for v in misread)
        ):
            out[field] = max(said, key=lambda v: said[v])
    if memory.get("name_corrected") and memory.get("vendor_name"):
        out["vendor_name"] = memory["vendor_name"]
    currency = memory.get("currency")
    if currency and (not out.get("currency") or memory.get("currency_corrected")):
        stated = str(out.get("currency") or "")
        if not stated or stated not in text.upper():
            out["currency"] = currency
    tax_id = memory.get("vendor_tax_id")
    if tax_id and compact(out.get("vendor_tax_id")) != tax_id and tax_id in compact(text):
        out["vendor_tax_id"] = tax_id
    changed = [k for k in out if str(out.get(k)) != str(fields.get(k))]
    return out, changed


def forget_fields(memory: dict[str, Any], field: str) -> dict[str, Any]:
    """`memory` without what it learned about `field`."""
    out = {
        **memory,
        "rules": {k: v for k, v in (memory.get("rules") or {}).items() if k != field},
        "avoid": {k: v for k, v in (memory.get("avoid") or {}).items() if k != field},
    }
    if field == "vendor_name":
        out.pop("name_corrected", None)
    elif field == "currency":
        out.pop("currency", None)
        out.pop("currency_corrected", None)
    elif field == "vendor_tax_id":
        out.pop("vendor_tax_id", None)
    out["fields"] = [f for f in memory.get("fields") or [] if f != field]
    return out


async def recall(store: BaseStore, vendor_id: str) -> dict[str, Any] | None:
    item = await store.aget(namespace(vendor_id), PROFILE)
    return dict(item.value) if item is not None else None


async def remembered(store: BaseStore, *, limit: int = 1000) -> list[dict[str, Any]]:
    """Every vendor's memory (at most `limit`), the most recently changed first."""
    items = await store.asearch(NAMESPACE, limit=limit)
    return [dict(item.value) for item in items if item.key == PROFILE]


async def save(store: BaseStore, memory: dict[str, Any]) -> None:
    await store.aput(namespace(str(memory["vendor_id"])), PROFILE, memory)


def forgettable(memory: dict[str, Any], field: str | None) -> list[str]:
    """What forgetting `field` (None: all of it) takes from `memory`: empty for a field it
    did not learn."""
    known = list(memory.get("fields") or [])
    if field is None:
        return known or ["(profile)"]
    return [field] if field in known else []


async def _drop(
    store: BaseStore, vendor_id: str, memory: dict[str, Any], field: str | None
) -> None:
    rest = forget_fields(memory, field) if field is not None else None
    if rest is not None and rest["fields"]:
        await save(store, rest)
    else:
        await store.adelete(namespace(vendor_id), PROFILE)


async def forget(store: BaseStore, vendor_id: str, field: str | None = None) -> list[str]:
    """Forget a vendor's memory, or one field of it; returns the fields forgotten (empty:
    nothing was remembered)."""
    gone, _before = await forget_returning(store, vendor_id, field)
    return gone


async def forget_returning(
    store: BaseStore, vendor_id: str, field: str | None = None
) -> tuple[list[str], dict[str, Any] | None]:
    """`forget`, also returning the memory as it was (None: nothing was remembered)."""
    memory = await recall(store, vendor_id)
    gone = forgettable(memory, field) if memory is not None else []
    if memory is not None and gone:
        await _drop(store, vendor_id, memory, field)
    return gone, memory
