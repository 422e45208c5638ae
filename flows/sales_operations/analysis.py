"""Every number of the sales review, computed deterministically from the collected data.

Pure: a `Dataset` in, a JSON-able dict out; no I/O, no model. The rules (the tests compute
the same numbers independently, in SQL over the CRM's tables, from these rules):

- A deal's product is its price-list name (`Dataset.product_name`: "GTXPro" counts as
  "GTX Pro"); a name matching nothing stays as typed.
- A deal's region is its agent's regional office ("unknown" without one).
- A usable value is a recorded value that is not negative. Won value and average deal size
  use the usable values of won deals; negative values are flagged by quality.py and left out.
- Win rate = won / (won + lost); None when nothing closed.
- Estimated value of an open deal: its usable value, else its product's list price (0 when
  the product is unknown), flagged as imputed (data.py). The open pipeline is the sum over
  open deals; `totals.open_imputed_value` says how much of it is imputed.
- Sales cycle: close - engage date, in days, of won deals with both dates and close not
  before engage (dates out of order are flagged by quality.py and left out).
- Stalled: an Engaging deal whose last touch (latest activity, else engage date) is more
  than `stalled_days` days before `as_of`. Past close: an open deal whose expected close
  date is before `as_of`.
- Won by month: won deals by the month of their close date, gaps filled with zeros.
- The stalled and past-close lists show the count and value of all such deals and up to
  `LIST_LIMIT` of them, most neglected first (idle days, or days past the close date, times
  the bounded size factor of ranking.py), varied by account and product, each with a reason.

One pass over the deals: totals per (agent, product) pair, rolled up afterwards into agents,
products, regions and the team, so each deal is added once, not four times.

Money is rounded to cents, rates to 4 decimals, days to 0.1, only when written out.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flows.sales_operations.data import Dataset, Deal, usable
from flows.sales_operations.ranking import pick, value_weight

__all__ = ["STAGES", "analyse", "region_of", "value_note"]

STAGES = ("Prospecting", "Engaging", "Won", "Lost")
LIST_LIMIT = 20
_ZERO = Decimal(0)


def _money(value: Decimal) -> float:
    return float(round(value, 2))


def _rate(won: int, lost: int) -> float | None:
    return round(won / (won + lost), 4) if won + lost else None


def region_of(data: Dataset, agent_id: str) -> str:
    """An agent's regional office, the region their deals count in ("unknown" without)."""
    agent = data.agents.get(agent_id)
    return (agent.regional_office if agent else None) or "unknown"


def value_note(imputed: bool, product: str) -> str:
    """Where an estimated value comes from, in words (shown beside every such value)."""
    return f"imputed: the {product} list price (no value in the CRM)" if imputed else "recorded"


@dataclass
class _Group:
    """Running totals of one slice (an agent-product pair, then an agent, a product...)."""

    open: int = 0
    won: int = 0
    lost: int = 0
    won_value: Decimal = _ZERO
    valued_wins: int = 0
    open_value: Decimal = _ZERO
    stalled: int = 0
    stalled_value: Decimal = _ZERO
    cycles: list[int] = field(default_factory=list)

    def add(self, deal: Deal, cycle: int | None, stalled: bool) -> None:
        stage = deal.stage
        if stage == "Engaging" or stage == "Prospecting":
            self.open += 1
            self.open_value += deal.estimate
            if stalled:
                self.stalled += 1
                self.stalled_value += deal.estimate
        elif stage == "Won":
            self.won += 1
            value = usable(deal.value)
            if value is not None:
                self.won_value += value
                self.valued_wins += 1
            if cycle is not None:
                self.cycles.append(cycle)
        elif stage == "Lost":
            self.lost += 1

    def merge(self, other: _Group) -> None:
        self.open += other.open
        self.won += other.won
        self.lost += other.lost
        self.won_value += other.won_value
        self.valued_wins += other.valued_wins
        self.open_value += other.open_value
        self.stalled += other.stalled
        self.stalled_value += other.stalled_value
        self.cycles += other.cycles

    def out(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "won": self.won,
            "lost": self.lost,
            "win_rate": _rate(self.won, self.lost),
            "won_value": _money(self.won_value),
            "avg_deal_size": (
                _money(self.won_value / self.valued_wins) if self.valued_wins else None
            ),
            "open_value": _money(self.open_value),
            "stalled": self.stalled,
            "stalled_value": _money(self.stalled_value),
            "avg_cycle_days": (round(statistics.fmean(self.cycles), 1) if self.cycles else None),
        }


@dataclass
class _Stage:
    count: int = 0
    value: Decimal = _ZERO
    estimated: Decimal = _ZERO


def _cycle(deal: Deal) -> int | None:
    if deal.stage != "Won" or deal.engage_date is None or deal.close_date is None:
        return None
    days = (deal.close_date - deal.engage_date).days
    return days if days >= 0 else None


def _months(first: dt.date, last: dt.date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _reason(deal: Deal, as_of: dt.date, stalled_days: int) -> str:
    parts = []
    idle = (as_of - deal.touch).days if deal.touch is not None else None
    if deal.stage == "Engaging" and idle is not None and idle > stalled_days:
        parts.append(f"no activity for {idle} days (over {stalled_days})")
    if deal.close_date is not None and deal.close_date < as_of:
        late = (as_of - deal.close_date).days
        parts.append(f"expected to close {late} day{'s' if late != 1 else ''} ago, still open")
    if deal.imputed:
        parts.append(f"value imputed from the {deal.product_name} list price")
    return "; ".join(parts)


def _deal_row(data: Dataset, deal: Deal, as_of: dt.date, stalled_days: int) -> dict[str, Any]:
    agent = data.agents.get(deal.agent_id)
    account = data.accounts.get(deal.account_id or "")
    touch = deal.touch
    return {
        "id": deal.id,
        "stage": deal.stage,
        "product": deal.product_name,
        "agent": agent.name if agent else deal.agent_id,
        "account": account.name if account else deal.account_id,
        "estimated_value": _money(deal.estimate),
        "value_imputed": deal.imputed,
        "value_source": value_note(deal.imputed, deal.product_name),
        "last_touch": touch.isoformat() if touch else None,
        "days_idle": (as_of - touch).days if touch else None,
        "close_date": deal.close_date.isoformat() if deal.close_date else None,
        "days_past_close": (
            (as_of - deal.close_date).days if deal.close_date and deal.close_date < as_of else None
        ),
        "reason": _reason(deal, as_of, stalled_days),
    }


def _listing(
    data: Dataset,
    found: list[tuple[int, Deal]],
    *,
    as_of: dt.date,
    stalled_days: int,
    typical: float | None,
) -> dict[str, Any]:
    """All `found` (days neglected, deal) counted; the most neglected listed (docstring)."""
    listed = pick(
        ((days * value_weight(d.estimate, d.imputed, typical), d.id, d) for days, d in found),
        LIST_LIMIT,
        twin=lambda d: (d.account_id or d.agent_id, d.product_name, d.stage, d.estimate),
        account=lambda d: d.account_id or ("agent", d.agent_id),
        product=lambda d: d.product_name,
    )
    return {
        "count": len(found),
        "value": _money(sum((d.estimate for _, d in found), _ZERO)),
        "imputed": sum(d.imputed for _, d in found),
        "deals": [_deal_row(data, d, as_of, stalled_days) for _, d in listed],
    }


def analyse(data: Dataset, *, as_of: dt.date, stalled_days: int) -> dict[str, Any]:
    """The review's numbers (see the module docstring for every rule)."""
    stall_line = as_of - dt.timedelta(days=stalled_days)
    stages = {s: _Stage() for s in STAGES}
    pairs: dict[tuple[str, str], _Group] = {}
    monthly: dict[str, list[Any]] = {}
    stalled: list[tuple[int, Deal]] = []
    past_close: list[tuple[int, Deal]] = []
    imputed, imputed_value = 0, _ZERO
    for deal in data.deals:
        stage, touch, closing = deal.stage, deal.touch, deal.close_date
        is_stalled = stage == "Engaging" and touch is not None and touch < stall_line
        if is_stalled:
            stalled.append(((as_of - touch).days, deal))  # type: ignore[operator]
        if deal.imputed:
            imputed += 1
            imputed_value += deal.estimate
        if closing is not None and closing < as_of and deal.is_open:
            past_close.append(((as_of - closing).days, deal))
        slot = stages.get(stage) or stages.setdefault(stage, _Stage())
        slot.count += 1
        if deal.value is not None and deal.value >= 0:
            slot.value += deal.value
        slot.estimated += deal.estimate
        key = (deal.agent_id, deal.product_name)
        group = pairs.get(key) or pairs.setdefault(key, _Group())
        group.add(deal, _cycle(deal) if stage == "Won" else None, is_stalled)
        if stage == "Won" and closing is not None:
            month = monthly.setdefault(f"{closing.year:04d}-{closing.month:02d}", [0, _ZERO])
            month[0] += 1
            month[1] += usable(deal.value) or _ZERO

    total = _Group()
    by_agent: dict[str, _Group] = {}
    by_product: dict[str, _Group] = {}
    by_region: dict[str, _Group] = {}
    for (agent_id, product), group in pairs.items():
        for groups, name in (
            (by_agent, agent_id),
            (by_product, product),
            (by_region, region_of(data, agent_id)),
        ):
            groups.setdefault(name, _Group()).merge(group)
        total.merge(group)

    overall = total.out()
    cycles = total.cycles
    typical = overall["avg_deal_size"]
    months = (
        _months(*(dt.date.fromisoformat(f"{m}-01") for m in (min(monthly), max(monthly))))
        if monthly
        else []
    )
    return {
        "as_of": as_of.isoformat(),
        "stalled_days": stalled_days,
        "counts": {
            "opportunities": len(data.deals),
            "open": total.open,
            "open_imputed": imputed,
            "won": total.won,
            "lost": total.lost,
            "accounts": len(data.accounts),
            "agents": len(data.agents),
            "products": len(data.products),
        },
        "totals": {
            "open_pipeline_value": overall["open_value"],
            "open_imputed_value": _money(imputed_value),
            "won_value": overall["won_value"],
            "win_rate": overall["win_rate"],
            "avg_deal_size": overall["avg_deal_size"],
            "cycle_mean_days": overall["avg_cycle_days"],
            "cycle_median_days": round(float(statistics.median(cycles)), 1) if cycles else None,
            "cycle_deals": len(cycles),
        },
        "pipeline_by_stage": [
            {
                "stage": stage,
                "count": slot.count,
                "value": _money(slot.value),
                "estimated_value": _money(slot.estimated),
            }
            for stage, slot in stages.items()
        ],
        "by_agent": [
            {
                "agent_id": agent_id,
                "name": data.agents[agent_id].name if agent_id in data.agents else agent_id,
                "region": region_of(data, agent_id),
                **group.out(),
            }
            for agent_id, group in sorted(by_agent.items())
        ],
        "by_product": [
            {"product": name, "list_price": _price(data, name), **group.out()}
            for name, group in sorted(by_product.items())
        ],
        "by_region": [{"region": name, **group.out()} for name, group in sorted(by_region.items())],
        "won_by_month": [
            {
                "month": m,
                "won": monthly.get(m, [0, _ZERO])[0],
                "won_value": _money(monthly.get(m, [0, _ZERO])[1]),
            }
            for m in months
        ],
        "stalled": _listing(data, stalled, as_of=as_of, stalled_days=stalled_days, typical=typical),
        "past_close": _listing(
            data, past_close, as_of=as_of, stalled_days=stalled_days, typical=typical
        ),
    }


def _price(data: Dataset, name: str) -> float | None:
    price = data.list_price(name)
    return _money(price) if price is not None else None
