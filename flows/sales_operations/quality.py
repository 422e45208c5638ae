"""Data-quality checks of the collected sales data: flag, never drop.

Each check names a problem a sales-operations analyst would raise with the CRM's owners,
with how many records have it and a few example ids to look up. The analysis keeps every
record; where a flawed value cannot be used (a negative amount, dates out of order) the
numbers leave that value out, and the issue says so.

The deal-level checks share one pass over the deals (`_scan`), which sorts each deal's
flaws into id lists; the issues are then written from those lists. Examples are the
smallest ids (a heap, not a sort), so the whole check is linear in the deals.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from collections.abc import Iterable
from typing import Any

from rapidfuzz import fuzz, process

from flows.sales_operations.data import CLOSED_STAGES, Dataset

__all__ = ["KNOWN_SECTORS", "check_quality"]

EXAMPLES = 5
#: Reference list of industry sectors: a sector written close to one of these but not equal
#: to it is a misspelling ("technolgy").
KNOWN_SECTORS = (
    "agriculture", "automotive", "construction", "consulting", "education", "employment",
    "energy", "entertainment", "finance", "government", "healthcare", "hospitality",
    "insurance", "legal", "logistics", "manufacturing", "marketing", "media", "medical",
    "pharmaceuticals", "real estate", "retail", "services", "software", "technology",
    "telecommunications", "transportation", "utilities",
)  # fmt: skip
_SECTOR_SCORE = 85.0


def _issue(
    code: str, severity: str, message: str, ids: Iterable[str], **extra: Any
) -> dict[str, Any]:
    found = ids if isinstance(ids, list) else list(ids)
    return {
        "code": code, "severity": severity, "message": message, "count": len(found),
        "examples": heapq.nsmallest(EXAMPLES, found), **extra,
    }  # fmt: skip


class _Scan:
    """The ids of the deals with each flaw, gathered in one pass (`_scan`)."""

    def __init__(self) -> None:
        self.flawed: dict[str, list[str]] = {}
        self.typed: dict[str, list[str]] = {}
        self.missing_by_stage: Counter[str] = Counter()
        self.no_account_by_stage: Counter[str] = Counter()

    def ids(self, code: str) -> list[str]:
        return self.flawed.get(code, [])


def _scan(data: Dataset, as_of: dt.date) -> _Scan:
    scan = _Scan()
    flawed, names = scan.flawed, {p.name for p in data.products.values()}
    accounts, agents = data.accounts, data.agents

    def flag(code: str, deal_id: str) -> None:
        flawed.setdefault(code, []).append(deal_id)

    for d in data.deals:
        stage, engaged, closing, value = d.stage, d.engage_date, d.close_date, d.value
        closed = stage in CLOSED_STAGES
        if d.product not in names:
            scan.typed.setdefault(d.product, []).append(d.id)
        if value is None:
            flag("missing_value", d.id)
            scan.missing_by_stage[stage] += 1
        elif value < 0:
            flag("negative_value", d.id)
        if engaged is not None and closing is not None and closing < engaged:
            flag("close_before_engage", d.id)
        if closed and closing is None:
            flag("closed_without_close_date", d.id)
        if stage != "Prospecting" and engaged is None:
            flag("missing_engage_date", d.id)
        if closed and closing is not None and closing > as_of:
            flag("closed_after_as_of", d.id)
        if d.account_id is None:
            flag("missing_account", d.id)
            scan.no_account_by_stage[stage] += 1
        elif d.account_id not in accounts:
            flag("unknown_account", d.id)
        if d.agent_id not in agents:
            flag("unknown_agent", d.id)
    return scan


def _product_issues(data: Dataset, typed: dict[str, list[str]]) -> list[dict[str, Any]]:
    issues = []
    for name, ids in sorted(typed.items()):
        meant = data.product_name(name)
        if meant != name:
            message = (
                f"{len(ids):,} deals name the product {name!r}, which is not on the price list; "
                f"it is {meant!r} spelt another way (counted as {meant!r} in the numbers)"
            )
            issues.append(
                _issue("product_misspelt", "warning", message, ids, value=name, suggestion=meant)
            )
        else:
            message = (
                f"{len(ids):,} deals name the product {name!r}, which is not on the price list "
                "and matches no product; they count as their own product, with no list price"
            )
            issues.append(_issue("unknown_product", "warning", message, ids, value=name))
    return issues


def _sector_issues(data: Dataset) -> list[dict[str, Any]]:
    wrong: dict[tuple[str, str], list[str]] = {}
    for account in data.accounts.values():
        sector = (account.sector or "").strip().casefold()
        if not sector or sector in KNOWN_SECTORS:
            continue
        match = process.extractOne(sector, KNOWN_SECTORS, scorer=fuzz.ratio)
        if match and match[1] >= _SECTOR_SCORE:
            wrong.setdefault((account.sector or "", match[0]), []).append(account.id)
    return [
        _issue(
            "misspelt_sector",
            "info",
            f"{len(ids)} accounts have the sector {typed!r}; probably {meant!r}",
            ids,
            value=typed,
            suggestion=meant,
        )
        for (typed, meant), ids in sorted(wrong.items())
    ]


def _value_issues(scan: _Scan) -> list[dict[str, Any]]:
    issues = []
    missing = scan.ids("missing_value")
    if missing:
        by_stage = dict(scan.missing_by_stage)
        closed = sum(n for s, n in by_stage.items() if s in CLOSED_STAGES)
        parts = ", ".join(f"{n:,} {s}" for s, n in sorted(by_stage.items()))
        message = f"{len(missing):,} deals have no close value ({parts})"
        if closed:
            message += "; closed deals without a value are left out of won value and deal size"
        if len(missing) > closed:
            message += (
                "; open deals are valued at their product's list price, marked as imputed "
                "wherever shown, and that guess weighs little in the rankings"
            )
        issues.append(
            _issue(
                "missing_value",
                "warning" if closed else "info",
                message,
                missing,
                by_stage=by_stage,
            )
        )
    negative = scan.ids("negative_value")
    if negative:
        issues.append(
            _issue(
                "negative_value",
                "error",
                f"{len(negative)} deals have a negative value; left out of every value total",
                negative,
            )
        )
    return issues


def _date_issues(scan: _Scan, as_of: dt.date) -> list[dict[str, Any]]:
    checks = [
        ("close_before_engage", "error",
         "deals close before they were engaged; left out of the sales-cycle length"),
        ("closed_without_close_date", "warning",
         "closed deals have no close date; missing from the monthly trend"),
        ("missing_engage_date", "warning", "engaged or closed deals have no engage date"),
        ("closed_after_as_of", "warning",
         f"closed deals have a close date after the review date {as_of.isoformat()}"),
    ]  # fmt: skip
    return [
        _issue(code, severity, f"{len(ids):,} {text}", ids)
        for code, severity, text in checks
        if (ids := scan.ids(code))
    ]


def _reference_issues(scan: _Scan) -> list[dict[str, Any]]:
    issues = []
    no_account = scan.ids("missing_account")
    if no_account:
        issues.append(
            _issue(
                "missing_account",
                "warning",
                f"{len(no_account):,} deals have no account; they count in every total but no "
                "customer can be contacted about them",
                no_account,
                by_stage=dict(scan.no_account_by_stage),
            )
        )
    dangling = scan.ids("unknown_account")
    if dangling:
        issues.append(
            _issue(
                "unknown_account",
                "warning",
                f"{len(dangling):,} deals name an account the CRM does not list",
                dangling,
            )
        )
    orphans = scan.ids("unknown_agent")
    if orphans:
        issues.append(
            _issue(
                "unknown_agent",
                "warning",
                f"{len(orphans):,} deals belong to an agent the CRM does not list",
                orphans,
            )
        )
    return issues


def check_quality(data: Dataset, *, as_of: dt.date) -> list[dict[str, Any]]:
    """Every problem found, most severe first; each with count, examples and its effect."""
    scan = _scan(data, as_of)
    issues = [
        *_reference_issues(scan), *_product_issues(data, scan.typed), *_value_issues(scan),
        *_date_issues(scan, as_of), *_sector_issues(data),
    ]  # fmt: skip
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(issues, key=lambda i: (order[i["severity"]], -i["count"], i["code"]))
