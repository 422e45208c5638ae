"""Opportunities and risks among the open deals: features, and the offline scoring model.

Features of each open deal come from the same data and rules as the analysis: its
estimated value and whether it is imputed (a list price standing in for a missing value),
the chance its agent wins this product (their record, smoothed towards the agent's and the
team's record so a short record does not decide), the days since its last touch, the days
to (or past) its expected close, and the account's earlier wins.

The offline model (the `identify_insights` node's baseline; an LLM re-ranks the same
shortlist when BPA_MODEL_BACKEND=openai) scores on that evidence, in points:

- opportunity (open, with an account, not stalled, not past its close date):
  ``100 x win chance x stage weight (Engaging 1.0, Prospecting 0.4)
  x recency (1 when touched today, down to 0.5 at the stall line; 0.5 when never touched)
  x (1 + 0.1 x earlier wins with the account, at most 5) x size``
  — where an agent's push this week most likely moves a deal;
- risk (stalled, past its expected close date, or with no account to follow up with):
  ``100 x win chance x (1 + idle days beyond the stall line / 90 (at most 1)
  + days past close / 90 (at most 1) + 0.5 without an account) x size``
  — what slips away if nobody acts, heavier the longer it is neglected.

Size is ranking.py's bounded `value_weight` against the typical won deal, so a list price
filled in for a missing value moves a score by at most x0.8..x1.25; the shortlists are
chosen with ranking.py's `pick` (no near-duplicates, varied accounts and products). Every
listed deal carries a one-line `reason` (wording.py). Ties are broken by deal id, so the ranking is
reproducible.

One pass over the deals gathers the win records (per agent-product pair, rolled up to
agents and the team) and the open deals; a second scores the open deals from a few numbers
each, and only the deals picked for the shortlists get their full features (`Candidate`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from flows.sales_operations.analysis import value_note
from flows.sales_operations.data import Dataset, Deal, usable
from flows.sales_operations.ranking import pick, value_weight
from flows.sales_operations.wording import headline, next_step

__all__ = ["Candidate", "Kind", "Shortlists", "offline_rank", "score", "shortlists"]

#: Pseudo-count of the smoothing: an agent's record on a product counts like this many deals
#: of their overall record, which counts like this many deals of the team's.
PRIOR = 10.0
STAGE_WEIGHT = {"Engaging": 1.0, "Prospecting": 0.4}
UNTOUCHED = 0.5
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
    account_id: str | None
    estimated_value: float
    value_source: str
    value_imputed: bool
    value_weight: float
    win_chance: float
    agent_product_record: str
    days_idle: int | None
    days_to_close: int | None
    close_date: str | None
    account_wins: int
    activities: int
    stalled: bool
    past_close: bool

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class _Records:
    """Won and closed deals per agent-product pair, for the win-chance smoothing."""

    def __init__(self) -> None:
        self.won: Counter[tuple[str, str]] = Counter()
        self.closed: Counter[tuple[str, str]] = Counter()
        self.team = 0.5
        self.agents: dict[str, float] = {}

    def roll_up(self) -> None:
        """Each agent's record and the team's, summed from the pairs once."""
        won: Counter[str] = Counter()
        closed: Counter[str] = Counter()
        for (agent, _product), n in self.closed.items():
            closed[agent] += n
            won[agent] += self.won[(agent, _product)]
        self.team = _smooth(sum(won.values()), sum(closed.values()), 0.5)
        self.agents = {a: _smooth(won[a], n, self.team) for a, n in closed.items()}

    def chance(self, pair: tuple[str, str]) -> float:
        """The pair's record smoothed towards the agent's, smoothed towards the team's."""
        prior = self.agents.get(pair[0], self.team)
        return _smooth(self.won[pair], self.closed[pair], prior)


def _smooth(won: int, closed: int, prior: float) -> float:
    return (won + PRIOR * prior) / (closed + PRIOR)


class _Context:
    """What scoring an open deal needs besides the deal: records, the review date, sizes."""

    def __init__(self, data: Dataset, as_of: dt.date, stalled_days: int) -> None:
        self.data, self.as_of, self.stalled_days = data, as_of, stalled_days
        self.stall_line = as_of - dt.timedelta(days=stalled_days)
        self.record, self.account_wins = _Records(), Counter[str]()
        self.typical: float | None = None
        self.open_deals: list[Deal] = []
        won_value, valued = Decimal(0), 0
        for deal in data.deals:
            stage = deal.stage
            if stage == "Engaging" or stage == "Prospecting":
                self.open_deals.append(deal)
                continue
            if stage != "Won" and stage != "Lost":
                continue
            pair = (deal.agent_id, deal.product_name)
            self.record.closed[pair] += 1
            if stage == "Won":
                self.record.won[pair] += 1
                if deal.account_id:
                    self.account_wins[deal.account_id] += 1
                value = usable(deal.value)
                if value is not None:
                    won_value += value
                    valued += 1
        self.record.roll_up()
        self.typical = float(won_value / valued) if valued else None
        self._chances: dict[tuple[str, str], float] = {}
        self._weights: dict[tuple[Decimal, bool], float] = {}

    def chance(self, deal: Deal) -> float:
        """The deal's win chance, rounded as its candidate shows it (once per pair)."""
        pair = (deal.agent_id, deal.product_name)
        found = self._chances.get(pair)
        if found is None:
            found = self._chances[pair] = round(self.record.chance(pair), 4)
        return found

    def weight(self, deal: Deal) -> float:
        """The deal's size factor, rounded as its candidate shows it (once per value)."""
        key = (deal.estimate, deal.imputed)
        found = self._weights.get(key)
        if found is None:
            found = self._weights[key] = round(value_weight(*key, self.typical), 4)
        return found

    def candidate(self, deal: Deal) -> Candidate:
        data, as_of, record = self.data, self.as_of, self.record
        pair = (deal.agent_id, deal.product_name)
        touch, closing = deal.touch, deal.close_date
        agent = data.agents.get(deal.agent_id)
        account = data.accounts.get(deal.account_id or "")
        return Candidate(
            id=deal.id,
            stage=deal.stage,
            product=deal.product_name,
            agent=agent.name if agent else deal.agent_id,
            account=account.name if account else deal.account_id,
            account_id=deal.account_id,
            estimated_value=float(round(deal.estimate, 2)),
            value_source=value_note(deal.imputed, deal.product_name),
            value_imputed=deal.imputed,
            value_weight=self.weight(deal),
            win_chance=self.chance(deal),
            agent_product_record=f"{record.won[pair]} won of {record.closed[pair]} closed",
            days_idle=(as_of - touch).days if touch else None,
            days_to_close=(closing - as_of).days if closing else None,
            close_date=closing.isoformat() if closing else None,
            account_wins=self.account_wins[deal.account_id] if deal.account_id else 0,
            activities=data.activity_count.get(deal.id, 0),
            stalled=deal.stage == "Engaging" and touch is not None and touch < self.stall_line,
            past_close=closing is not None and closing < as_of,
        )

    def points(self, deal: Deal) -> tuple[float, float]:
        """The deal's (opportunity, risk) scores, as `score` gives them for its candidate,
        without building the candidate."""
        touch, closing, aid = deal.touch, deal.close_date, deal.account_id
        evidence = _Evidence(
            stage=deal.stage,
            win_chance=self.chance(deal),
            value_weight=self.weight(deal),
            days_idle=(self.as_of - touch).days if touch else None,
            days_to_close=(closing - self.as_of).days if closing else None,
            account_wins=self.account_wins[aid] if aid else 0,
            stalled=deal.stage == "Engaging" and touch is not None and touch < self.stall_line,
            past_close=closing is not None and closing < self.as_of,
            no_account=aid is None,
        )
        days = self.stalled_days
        return _points(evidence, "opportunity", days), _points(evidence, "risk", days)


class _Evidence(NamedTuple):
    stage: str
    win_chance: float
    value_weight: float
    days_idle: int | None
    days_to_close: int | None
    account_wins: int
    stalled: bool
    past_close: bool
    no_account: bool


def _points(e: _Evidence, kind: Kind, stalled_days: int) -> float:
    at_risk = e.stalled or e.past_close or e.no_account
    base = 100 * e.win_chance * e.value_weight
    if kind == "opportunity":
        if at_risk:
            return 0.0
        if e.days_idle is None:
            recency = UNTOUCHED
        else:
            recency = 1.0 - (1.0 - UNTOUCHED) * min(max(e.days_idle, 0) / stalled_days, 1.0)
        history = 1 + 0.1 * min(e.account_wins, 5)
        return round(base * STAGE_WEIGHT.get(e.stage, 0.4) * recency * history, 2)
    if not at_risk:
        return 0.0
    severity = 1.0
    if e.stalled and e.days_idle is not None:
        severity += min(max(e.days_idle - stalled_days, 0) / 90, 1.0)
    if e.past_close and e.days_to_close is not None:
        severity += min(-e.days_to_close / 90, 1.0)
    if e.no_account:
        severity += 0.5
    return round(base * severity, 2)


def score(c: Candidate, kind: Kind, *, stalled_days: int) -> float:
    """The offline model's score (module docstring); 0 when the deal is not of this kind."""
    evidence = _Evidence(
        c.stage, c.win_chance, c.value_weight, c.days_idle, c.days_to_close, c.account_wins,
        c.stalled, c.past_close, c.account is None,
    )  # fmt: skip
    return _points(evidence, kind, stalled_days)


def _twin(d: Deal) -> Hashable:
    return (d.account_id or ("agent", d.agent_id), d.product_name, d.stage, d.estimate)


def _account(d: Deal) -> Hashable:
    return d.account_id or ("agent", d.agent_id)


def _product(d: Deal) -> Hashable:
    return d.product_name


@dataclass
class Shortlists:
    """The open deals' best opportunities and risks, each (features, score), best first."""

    opportunity: list[tuple[Candidate, float]]
    risk: list[tuple[Candidate, float]]
    open_deals: int


def shortlists(data: Dataset, *, as_of: dt.date, stalled_days: int, size: int) -> Shortlists:
    """Score every open deal as an opportunity and as a risk, then pick (ranking.py) the
    `size` best of each kind, varied; features are built for those only."""
    ctx = _Context(data, as_of, stalled_days)
    opportunities: list[tuple[float, str, Deal]] = []
    risks: list[tuple[float, str, Deal]] = []
    for deal in ctx.open_deals:
        as_opportunity, as_risk = ctx.points(deal)
        if as_opportunity > 0:
            opportunities.append((as_opportunity, deal.id, deal))
        if as_risk > 0:
            risks.append((as_risk, deal.id, deal))

    def chosen(scored: list[tuple[float, str, Deal]]) -> list[tuple[Candidate, float]]:
        picked = pick(scored, size, twin=_twin, account=_account, product=_product)
        return [(ctx.candidate(d), s) for s, d in picked]

    return Shortlists(chosen(opportunities), chosen(risks), len(ctx.open_deals))


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
