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
  the product is unknown). The open pipeline is the sum over open deals.
- Sales cycle: close - engage date, in days, of won deals with both dates and close not
  before engage (dates out of order are flagged by quality.py and left out).
- Stalled: an Engaging deal whose last touch (latest activity, else engage date) is more
  than `stalled_days` days before `as_of`. Past close: an open deal whose expected close
  date is before `as_of`.
- Won by month: won deals by the month of their close date, gaps filled with zeros.

Money is rounded to cents, rates to 4 decimals, days to 0.1, only when written out.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flows.sales_operations.data import Dataset, Deal

__all__ = ["STAGES", "analyse", "estimated_value", "region_of"]

STAGES = ("Prospecting", "Engaging", "Won", "Lost")
LIST_LIMIT = 20
_ZERO = Decimal(0)


def _money(value: Decimal) -> float:
    return float(round(value, 2))


def _rate(won: int, lost: int) -> float | None:
    return round(won / (won + lost), 4) if won + lost else None


def usable(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value >= 0 else None


def estimated_value(data: Dataset, deal: Deal) -> Decimal:
    """What an open deal is worth if won: its usable value, else its product's list price."""
    value = usable(deal.value)
    if value is not None:
        return value
    if deal.is_open:
        return data.list_price(data.product_name(deal.product)) or _ZERO
    return _ZERO


def region_of(data: Dataset, agent_id: str) -> str:
    """An agent's regional office, the region their deals count in ("unknown" without)."""
    agent = data.agents.get(agent_id)
    return (agent.regional_office if agent else None) or "unknown"


@dataclass
class _Group:
    """Running totals of one slice (an agent, a product, a region)."""

    open: int = 0
    won: int = 0
    lost: int = 0
    won_value: Decimal = _ZERO
    valued_wins: int = 0
    open_value: Decimal = _ZERO
    stalled: int = 0
    stalled_value: Decimal = _ZERO
    cycles: list[int] = field(default_factory=list)

    def add(self, deal: Deal, estimate: Decimal, cycle: int | None, stalled: bool) -> None:
        if deal.is_open:
            self.open += 1
            self.open_value += estimate
            if stalled:
                self.stalled += 1
                self.stalled_value += estimate
        elif deal.stage == "Won":
            self.won += 1
            value = usable(deal.value)
            if value is not None:
                self.won_value += value
                self.valued_wins += 1
            if cycle is not None:
                self.cycles.append(cycle)
        elif deal.stage == "Lost":
            self.lost += 1

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


def _deal_row(data: Dataset, deal: Deal, estimate: Decimal, as_of: dt.date) -> dict[str, Any]:
    agent = data.agents.get(deal.agent_id)
    account = data.accounts.get(deal.account_id or "")
    touch = data.last_touch(deal)
    return {
        "id": deal.id,
        "stage": deal.stage,
        "product": data.product_name(deal.product),
        "agent": agent.name if agent else deal.agent_id,
        "account": account.name if account else deal.account_id,
        "estimated_value": _money(estimate),
        "last_touch": touch.isoformat() if touch else None,
        "days_idle": (as_of - touch).days if touch else None,
        "close_date": deal.close_date.isoformat() if deal.close_date else None,
        "days_past_close": (
            (as_of - deal.close_date).days if deal.close_date and deal.close_date < as_of else None
        ),
    }


def _listing(
    data: Dataset,
    found: list[tuple[Deal, Decimal]],
    as_of: dt.date,
    key: Callable[[tuple[Deal, Decimal]], Any],
) -> dict[str, Any]:
    ranked = sorted(found, key=key)
    return {
        "count": len(found),
        "value": _money(sum((e for _, e in found), _ZERO)),
        "deals": [_deal_row(data, d, e, as_of) for d, e in ranked[:LIST_LIMIT]],
    }


def analyse(data: Dataset, *, as_of: dt.date, stalled_days: int) -> dict[str, Any]:
    """The review's numbers (see the module docstring for every rule)."""
    stall_line = as_of - dt.timedelta(days=stalled_days)
    total = _Group()
    stages = {s: _Stage() for s in STAGES}
    by_agent: dict[str, _Group] = {}
    by_product: dict[str, _Group] = {}
    by_region: dict[str, _Group] = {}
    monthly: dict[str, list[Any]] = {}
    stalled: list[tuple[Deal, Decimal]] = []
    past_close: list[tuple[Deal, Decimal]] = []
    for deal in data.deals:
        estimate = estimated_value(data, deal)
        cycle = _cycle(deal)
        touch = data.last_touch(deal) if deal.stage == "Engaging" else None
        is_stalled = touch is not None and touch < stall_line
        if is_stalled:
            stalled.append((deal, estimate))
        if deal.is_open and deal.close_date is not None and deal.close_date < as_of:
            past_close.append((deal, estimate))
        slot = stages.setdefault(deal.stage, _Stage())
        slot.count += 1
        slot.value += usable(deal.value) or _ZERO
        slot.estimated += estimate
        for groups, key in (
            (by_agent, deal.agent_id),
            (by_product, data.product_name(deal.product)),
            (by_region, region_of(data, deal.agent_id)),
        ):
            groups.setdefault(key, _Group()).add(deal, estimate, cycle, is_stalled)
        total.add(deal, estimate, cycle, is_stalled)
        if deal.stage == "Won" and deal.close_date is not None:
            key = f"{deal.close_date.year:04d}-{deal.close_date.month:02d}"
            month = monthly.setdefault(key, [0, _ZERO])
            month[0] += 1
            month[1] += usable(deal.value) or _ZERO

    overall = total.out()
    cycles = total.cycles
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
            "won": total.won,
            "lost": total.lost,
            "accounts": len(data.accounts),
            "agents": len(data.agents),
            "products": len(data.products),
        },
        "totals": {
            "open_pipeline_value": overall["open_value"],
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
        "stalled": _listing(data, stalled, as_of, lambda p: (-p[1], p[0].id)),
        "past_close": _listing(data, past_close, as_of, lambda p: (-p[1], p[0].id)),
    }


def _price(data: Dataset, name: str) -> float | None:
    price = data.list_price(name)
    return _money(price) if price is not None else None
