"""Data-quality checks of the collected sales data: flag, never drop.

Each check names a problem a sales-operations analyst would raise with the CRM's owners,
with how many records have it and a few example ids to look up. The analysis keeps every
record; where a flawed value cannot be used (a negative amount, dates out of order) the
numbers leave that value out, and the issue says so.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from rapidfuzz import fuzz, process

from flows.sales_operations.data import CLOSED_STAGES, Dataset, Deal

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
    found = list(ids)
    return {
        "code": code, "severity": severity, "message": message, "count": len(found),
        "examples": sorted(found)[:EXAMPLES], **extra,
    }  # fmt: skip


def _deals(data: Dataset, test: Callable[[Deal], bool]) -> list[str]:
    return [d.id for d in data.deals if test(d)]


def _product_issues(data: Dataset) -> list[dict[str, Any]]:
    names = {p.name for p in data.products.values()}
    typed: dict[str, list[str]] = {}
    for deal in data.deals:
        if deal.product not in names:
            typed.setdefault(deal.product, []).append(deal.id)
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


def _value_issues(data: Dataset) -> list[dict[str, Any]]:
    issues = []
    missing = [d for d in data.deals if d.value is None]
    if missing:
        by_stage = dict(Counter(d.stage for d in missing))
        closed = sum(n for s, n in by_stage.items() if s in CLOSED_STAGES)
        parts = ", ".join(f"{n:,} {s}" for s, n in sorted(by_stage.items()))
        message = f"{len(missing):,} deals have no close value ({parts})"
        if closed:
            message += "; closed deals without a value are left out of won value and deal size"
        if len(missing) > closed:
            message += "; open deals are valued at their product's list price"
        issues.append(
            _issue(
                "missing_value",
                "warning" if closed else "info",
                message,
                (d.id for d in missing),
                by_stage=by_stage,
            )
        )
    negative = _deals(data, lambda d: d.value is not None and d.value < 0)
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


def _date_issues(data: Dataset, as_of: dt.date) -> list[dict[str, Any]]:
    issues = []
    checks: list[tuple[str, str, str, Callable[[Deal], bool]]] = [
        ("close_before_engage", "error",
         "deals close before they were engaged; left out of the sales-cycle length",
         lambda d: bool(d.engage_date and d.close_date and d.close_date < d.engage_date)),
        ("closed_without_close_date", "warning",
         "closed deals have no close date; missing from the monthly trend",
         lambda d: d.stage in CLOSED_STAGES and d.close_date is None),
        ("missing_engage_date", "warning",
         "engaged or closed deals have no engage date",
         lambda d: d.stage != "Prospecting" and d.engage_date is None),
        ("closed_after_as_of", "warning",
         f"closed deals have a close date after the review date {as_of.isoformat()}",
         lambda d: d.stage in CLOSED_STAGES and d.close_date is not None
         and d.close_date > as_of),
    ]  # fmt: skip
    for code, severity, text, test in checks:
        ids = _deals(data, test)
        if ids:
            issues.append(_issue(code, severity, f"{len(ids):,} {text}", ids))
    return issues


def _reference_issues(data: Dataset) -> list[dict[str, Any]]:
    issues = []
    no_account = _deals(data, lambda d: d.account_id is None)
    if no_account:
        stages = dict(Counter(d.stage for d in data.deals if d.account_id is None))
        issues.append(
            _issue(
                "missing_account",
                "warning",
                f"{len(no_account):,} deals have no account; they count in every total but no "
                "customer can be contacted about them",
                no_account,
                by_stage=stages,
            )
        )
    dangling = _deals(
        data, lambda d: d.account_id is not None and d.account_id not in data.accounts
    )
    if dangling:
        issues.append(
            _issue(
                "unknown_account",
                "warning",
                f"{len(dangling):,} deals name an account the CRM does not list",
                dangling,
            )
        )
    orphans = _deals(data, lambda d: d.agent_id not in data.agents)
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
    issues = [
        *_reference_issues(data), *_product_issues(data), *_value_issues(data),
        *_date_issues(data, as_of), *_sector_issues(data),
    ]  # fmt: skip
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(issues, key=lambda i: (order[i["severity"]], -i["count"], i["code"]))
