"""The vendor master: identifiers compacted for exact lookups, names matched fuzzily.

Invoices print tax ids and IBANs with spaces, dots and lower case; the master stores them
compacted, so "de 123.456.789" finds DE123456789. Names are compared with rapidfuzz's
WRatio (case, punctuation and word order do not matter), ties broken by token_sort_ratio.
"""

from __future__ import annotations

import json
import re

from rapidfuzz import fuzz, utils
from sqlmodel import Session, select

from connectors.accounting.tables import AcctVendor
from connectors.errors import NotFound, Rejected
from connectors.schemas import Vendor, VendorMatch, VendorSearch

__all__ = [
    "NAME_SCORE_CUTOFF",
    "compact_id",
    "get_vendor_row",
    "search",
    "vendor_record",
    "vendor_row",
]

#: Name matches scoring below this are noise, not candidates.
NAME_SCORE_CUTOFF = 60.0
#: A name is never as certain as an identifier: 100 is kept for tax id / IBAN matches.
NAME_SCORE_MAX = 99.0

_SEPARATORS = re.compile(r"[\s.\-/_]+")


def compact_id(value: str | None) -> str | None:
    """A tax id, IBAN or invoice number without separators, upper case; None when empty."""
    if value is None:
        return None
    compact = _SEPARATORS.sub("", value).upper()
    return compact or None


def vendor_row(vendor: Vendor) -> AcctVendor:
    return AcctVendor(
        id=vendor.id,
        name=vendor.name,
        tax_id=vendor.tax_id.strip() if vendor.tax_id else None,
        tax_id_key=compact_id(vendor.tax_id),
        iban=compact_id(vendor.iban),
        iban_key=compact_id(vendor.iban),
        address=vendor.address,
        country=vendor.country,
        currency=vendor.currency.upper(),
        payment_terms_days=vendor.payment_terms_days,
        aliases_json=json.dumps(vendor.aliases),
        active=vendor.active,
    )


def vendor_record(row: AcctVendor) -> Vendor:
    return Vendor(
        id=row.id,
        name=row.name,
        tax_id=row.tax_id,
        iban=row.iban,
        address=row.address,
        country=row.country,
        currency=row.currency,
        payment_terms_days=row.payment_terms_days,
        aliases=json.loads(row.aliases_json),
        active=row.active,
    )


def get_vendor_row(session: Session, vendor_id: str) -> AcctVendor:
    row = session.get(AcctVendor, vendor_id)
    if row is None:
        raise NotFound(f"no vendor {vendor_id!r}", code="unknown_vendor", vendor_id=vendor_id)
    return row


def _name_score(query: str, candidate: str) -> tuple[float, float]:
    return (
        fuzz.WRatio(query, candidate, processor=utils.default_process),
        fuzz.token_sort_ratio(query, candidate, processor=utils.default_process),
    )


def search(session: Session, request: VendorSearch) -> list[VendorMatch]:
    """Identifier matches first (score 100), then name and alias matches, best first."""
    if not (request.name or request.tax_id or request.iban):
        raise Rejected("search by at least one of name, tax_id, iban", code="invalid_request")
    best: dict[str, tuple[float, float, str, AcctVendor]] = {}

    def offer(row: AcctVendor, score: float, tiebreak: float, matched_on: str) -> None:
        current = best.get(row.id)
        if current is None or (score, tiebreak) > current[:2]:
            best[row.id] = (score, tiebreak, matched_on, row)

    for column, field, value in (
        (AcctVendor.tax_id_key, "tax_id", request.tax_id),
        (AcctVendor.iban_key, "iban", request.iban),
    ):
        key = compact_id(value)
        if key:
            for row in session.exec(select(AcctVendor).where(column == key)).all():
                offer(row, 100.0, 100.0, field)

    if request.name and utils.default_process(request.name):
        for row in session.exec(select(AcctVendor)).all():
            labels = [(row.name, "name")] + [(a, "alias") for a in json.loads(row.aliases_json)]
            for label, matched_on in labels:
                score, tiebreak = _name_score(request.name, label)
                if score >= NAME_SCORE_CUTOFF:
                    offer(row, min(score, NAME_SCORE_MAX), tiebreak, matched_on)

    ranked = sorted(best.values(), key=lambda item: (-item[0], -item[1], item[3].name))
    return [
        VendorMatch(vendor=vendor_record(row), score=round(score, 1), matched_on=matched_on)  # type: ignore[arg-type]
        for score, _, matched_on, row in ranked[: request.limit]
    ]
