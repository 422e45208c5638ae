"""Opportunities and risks among the open deals: features, and the offline scoring model.

Features of each open deal come from the same data and rules as the analysis: its
estimated value, the chance its agent wins this product (their record, smoothed towards the
agent's and the team's record so a short record does not decide), the days since its last
touch, the days to (or past) its expected close, and the account's earlier wins.

The offline model (the `identify_insights` node's baseline; an LLM re-ranks the same
shortlist when BPA_MODEL_BACKEND=openai) scores:

- opportunity (open, with an account, not stalled, not past its close date):
  ``estimated value x win chance x stage weight (Engaging 1.0, Prospecting 0.4)
  x (1 + 0.1 x earlier wins with the account, at most 5)``
  — the expected revenue an agent's push this week can move;
- risk (stalled, past its expected close date, or with no account to follow up with):
  ``estimated value x win chance x (1 + idle days beyond the stall line / 90 (at most 1)
  + days past close / 90 (at most 1) + 0.5 without an account)``
  — the expected revenue that slips away if nobody acts, heavier the longer it is neglected.

Ties are broken by deal id, so the ranking is reproducible.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from flows.sales_operations.analysis import estimated_value
from flows.sales_operations.data import Dataset, Deal

__all__ = ["Candidate", "candidates", "offline_rank", "score", "shortlist"]

#: Pseudo-count of the smoothing: an agent's record on a product counts like this many deals
#: of their overall record, which counts like this many deals of the team's.
PRIOR = 10.0
STAGE_WEIGHT = {"Engaging": 1.0, "Prospecting": 0.4}
Kind = Literal["opportunity", "risk"]
_KINDS: tuple[tuple[Kind, str], ...] = (("opportunity", "opportunities"), ("risk", "risks"))


@dataclass(frozen=True, slots=True)
class Candidate:
    """The features of one open deal (JSON-able through `as_dict`)."""

    id: str
    stage: str
    product: str
    agent: str
    account: str | None
    estimated_value: float
    value_source: str
    win_chance: float
    agent_product_record: str
    days_idle: int | None
    days_to_close: int | None
    account_wins: int
    activities: int
    stalled: bool
    past_close: bool

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class _Record:
    """Won/closed counts for the win-chance smoothing."""

    def __init__(self) -> None:
        self.won: Counter[Any] = Counter()
        self.closed: Counter[Any] = Counter()

    def add(self, key: Any, won: bool) -> None:
        self.closed[key] += 1
        self.won[key] += won

    def chance(self, key: Any, prior: float) -> float:
        return (self.won[key] + PRIOR * prior) / (self.closed[key] + PRIOR)


def _records(data: Dataset) -> tuple[_Record, Counter[str]]:
    record, account_wins = _Record(), Counter[str]()
    for deal in data.deals:
        if deal.stage not in ("Won", "Lost"):
            continue
        won = deal.stage == "Won"
        product = data.product_name(deal.product)
        for key in ("all", ("agent", deal.agent_id), ("pair", deal.agent_id, product)):
            record.add(key, won)
        if won and deal.account_id:
            account_wins[deal.account_id] += 1
    return record, account_wins


def candidates(data: Dataset, *, as_of: dt.date, stalled_days: int) -> list[Candidate]:
    """Features of every open deal."""
    record, account_wins = _records(data)
    team = record.chance("all", 0.5)
    stall_line = as_of - dt.timedelta(days=stalled_days)
    found = []
    for deal in data.deals:
        if not deal.is_open:
            continue
        product = data.product_name(deal.product)
        agent_chance = record.chance(("agent", deal.agent_id), team)
        pair = ("pair", deal.agent_id, product)
        touch = data.last_touch(deal)
        agent = data.agents.get(deal.agent_id)
        account = data.accounts.get(deal.account_id or "")
        found.append(
            Candidate(
                id=deal.id,
                stage=deal.stage,
                product=product,
                agent=agent.name if agent else deal.agent_id,
                account=account.name if account else deal.account_id,
                estimated_value=float(round(estimated_value(data, deal), 2)),
                value_source=_value_source(deal),
                win_chance=round(record.chance(pair, agent_chance), 4),
                agent_product_record=f"{record.won[pair]} won of {record.closed[pair]} closed",
                days_idle=(as_of - touch).days if touch else None,
                days_to_close=(deal.close_date - as_of).days if deal.close_date else None,
                account_wins=account_wins[deal.account_id] if deal.account_id else 0,
                activities=data.activity_count.get(deal.id, 0),
                stalled=deal.stage == "Engaging" and touch is not None and touch < stall_line,
                past_close=deal.close_date is not None and deal.close_date < as_of,
            )
        )
    return found


def _value_source(deal: Deal) -> str:
    return "recorded value" if deal.value is not None and deal.value >= 0 else "list price"


def score(c: Candidate, kind: Kind, *, stalled_days: int) -> float:
    """The offline model's score (module docstring); 0 when the deal is not of this kind."""
    expected = Decimal(str(c.estimated_value)) * Decimal(str(c.win_chance))
    at_risk = c.stalled or c.past_close or c.account is None
    if kind == "opportunity":
        if at_risk:
            return 0.0
        weight = STAGE_WEIGHT.get(c.stage, 0.4) * (1 + 0.1 * min(c.account_wins, 5))
        return round(float(expected) * weight, 2)
    if not at_risk:
        return 0.0
    severity = 1.0
    if c.stalled and c.days_idle is not None:
        severity += min(max(c.days_idle - stalled_days, 0) / 90, 1.0)
    if c.past_close and c.days_to_close is not None:
        severity += min(-c.days_to_close / 90, 1.0)
    if c.account is None:
        severity += 0.5
    return round(float(expected) * severity, 2)


def shortlist(
    found: list[Candidate], kind: Kind, *, stalled_days: int, size: int
) -> list[tuple[Candidate, float]]:
    """The `size` best-scoring candidates of a kind, best first (ties by id)."""
    scored = [(c, score(c, kind, stalled_days=stalled_days)) for c in found]
    ranked = sorted((p for p in scored if p[1] > 0), key=lambda p: (-p[1], p[0].id))
    return ranked[:size]


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
    value = f"${c.estimated_value:,.0f}"
    who = c.account or "no account"
    if kind == "opportunity":
        return (
            f"{c.product} for {who}: {value} at a {c.win_chance:.0%} win chance ({c.stage.lower()})"
        )
    why = []
    if c.stalled:
        why.append(f"no activity for {c.days_idle} days")
    if c.past_close and c.days_to_close is not None:
        late = -c.days_to_close
        why.append(f"{late} day{'s' if late != 1 else ''} past its expected close")
    if c.account is None:
        why.append("no account")
    return f"{c.product} ({value}) with {who}: " + ", ".join(why)


def offline_rank(text: str) -> dict[str, Any]:
    """The offline model over a shortlist document (see tasks.py): rank by `score`."""
    doc = json.loads(text)
    stalled_days = int(doc["stalled_days"])
    out: dict[str, Any] = {}
    for kind, key in _KINDS:
        items = [Candidate(**c) for c in doc[key]]
        scored = sorted(
            ((c, score(c, kind, stalled_days=stalled_days)) for c in items),
            key=lambda p: (-p[1], p[0].id),
        )
        out[key] = [
            {"opportunity_id": c.id, "headline": headline(c, kind), "next_step": next_step(c, kind)}
            for c, s in scored
            if s > 0
        ]
    return out
