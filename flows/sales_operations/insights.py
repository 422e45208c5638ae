"""Turning a model's ranking into the report's items, with the evidence taken from the data.

The model (offline scoring or an LLM) only orders the shortlist and words a headline and a
next step; ids it invents are dropped, and the evidence numbers always come from the
computed features, so a model cannot put a number in the report that the data lacks.
"""

from __future__ import annotations

from typing import Any

from flows.sales_operations.data import Dataset
from flows.sales_operations.scoring import Candidate, Kind
from flows.sales_operations.wording import headline, next_step, reason

__all__ = ["build_items", "evidence", "ranking_method"]


def ranking_method(backend: str, model: str) -> str:
    if backend == "offline":
        return (
            "the offline scoring model: the agent's smoothed win chance with the product, "
            "weighted by stage, recent activity and account history for opportunities and "
            "by neglect for risks, times a bounded size factor (an imputed list price moves "
            "a score by at most x0.8..x1.25); near-duplicates left out, accounts and "
            "products varied"
        )
    return f"{model} ({backend}), re-ranking the offline scoring model's shortlist"


def _days(n: int | None, future: str, past: str) -> str:
    if n is None:
        return "unknown"
    return future.format(n=n) if n >= 0 else past.format(n=-n)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _touch(c: Candidate) -> str:
    if c.days_idle is None:
        return "no activity or engage date recorded"
    if not c.activities:
        return f"{c.days_idle} days ago (engaged then; no activity logged since)"
    return f"{c.days_idle} days ago ({_count(c.activities, 'activity', 'activities')} logged)"


def evidence(c: Candidate) -> list[dict[str, str]]:
    """What the data says about a deal, in words a sales manager reads at a glance."""
    items = [
        {"label": "estimated value", "value": f"${c.estimated_value:,.0f} ({c.value_source})"},
        {
            "label": "win chance",
            "value": f"{c.win_chance:.0%} ({c.agent}'s record with {c.product}: "
            f"{c.agent_product_record}, smoothed towards their overall record)",
        },
        {"label": "last touch", "value": _touch(c)},
        {
            "label": "expected close",
            "value": _days(c.days_to_close, "in {n} days", "{n} days ago, still open"),
        },
        {
            "label": "account",
            "value": "none recorded on the deal"
            if c.account is None
            else f"{c.account}: {_count(c.account_wins, 'deal', 'deals')} won before",
        },
    ]
    return items


def _contact(data: Dataset, deal_account: str | None) -> dict[str, Any] | None:
    for contact in data.contacts.get(deal_account or "", []):
        if contact.email:
            return {"name": contact.name, "title": contact.title, "email": contact.email}
    return None


def build_items(
    data: Dataset,
    listed: list[tuple[Candidate, float]],
    ranked: list[Any],
    kind: Kind,
) -> tuple[list[dict[str, Any]], bool]:
    """The shortlist in the model's order (unknown ids dropped, repeats ignored); the offline
    order when the model named none of the shortlist. Returns (items, fell back)."""
    by_id = {c.id: (c, s) for c, s in listed}
    order: list[tuple[Candidate, float, str, str]] = []
    for r in ranked:
        if r.opportunity_id in by_id:
            c, s = by_id.pop(r.opportunity_id)
            order.append((c, s, r.headline, r.next_step))
    fell_back = bool(listed) and not order
    if fell_back:
        order = [(c, s, headline(c, kind), next_step(c, kind)) for c, s in listed]
    items = []
    for rank, (c, s, line, step) in enumerate(order, start=1):
        items.append(
            {
                "rank": rank,
                "kind": kind,
                "opportunity_id": c.id,
                "headline": line,
                "reason": reason(c, kind),
                "next_step": step,
                "score": s,
                "stage": c.stage,
                "product": c.product,
                "agent": c.agent,
                "account": c.account,
                "estimated_value": c.estimated_value,
                "value_imputed": c.value_imputed,
                "value_source": c.value_source,
                "win_chance": c.win_chance,
                "days_idle": c.days_idle,
                "days_to_close": c.days_to_close,
                "close_date": c.close_date,
                "contact": _contact(data, c.account_id),
                "evidence": evidence(c),
            }
        )
    return items, fell_back
