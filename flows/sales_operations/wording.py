"""The offline model's words about a listed deal: its headline, next step and reason.

Each is built from the deal's features only (scoring.py's `Candidate`), so a sentence in
the report never says more than the data does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.sales_operations.scoring import Candidate, Kind

__all__ = ["headline", "next_step", "reason"]


def _plural(n: int, one: str) -> str:
    return f"{n:,} {one}{'' if n == 1 else 's'}"


def _risk_why(c: Candidate) -> list[str]:
    why = []
    if c.stalled:
        why.append(f"no activity for {c.days_idle} days")
    if c.past_close and c.days_to_close is not None:
        why.append(f"{_plural(-c.days_to_close, 'day')} past its expected close")
    if c.account is None:
        why.append("no account")
    return why


def reason(c: Candidate, kind: Kind) -> str:
    """Why a deal is on its list, in one line of the evidence that put it there."""
    record = f"{c.win_chance:.0%} win chance ({c.agent}: {c.agent_product_record} {c.product})"
    if kind == "opportunity":
        touch = (
            "no activity recorded"
            if c.days_idle is None
            else f"last touch {_plural(c.days_idle, 'day')} ago"
        )
        history = (
            f"{_plural(c.account_wins, 'earlier win')} with {c.account}"
            if c.account_wins
            else "no earlier win with the account"
        )
        parts = [f"{c.stage.lower()}, {touch}", record, history]
    else:
        parts = [", ".join(_risk_why(c)), record]
    if c.value_imputed:
        parts.append("value imputed from the list price")
    return "; ".join(parts)


def next_step(c: Candidate, kind: Kind) -> str:
    """The offline model's suggested next step for a deal."""
    if kind == "risk":
        if c.account is None:
            return "Record the customer account, then confirm the deal is still alive"
        if c.stalled:
            return "Re-engage: call the buyer and agree a date for the decision"
        return "Confirm the new expected close date with the buyer, or close the deal as lost"
    if c.stage == "Prospecting":
        return "Qualify: book a discovery call with the buyer"
    if c.days_to_close is not None and c.days_to_close <= 14:
        return "Ask for the order: confirm terms and send the order form"
    return "Book a proposal review with the decision maker"


def headline(c: Candidate, kind: Kind) -> str:
    value = f"${c.estimated_value:,.0f}" + (" list price, imputed" if c.value_imputed else "")
    who = c.account or "no account"
    if kind == "opportunity":
        return (
            f"{c.product} for {who}: {value} at a {c.win_chance:.0%} win chance ({c.stage.lower()})"
        )
    return f"{c.product} ({value}) with {who}: " + ", ".join(_risk_why(c))
