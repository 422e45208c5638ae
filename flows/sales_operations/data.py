"""The collected sales data as the analysis reads it: compact, typed, nothing dropped.

Records come from the snapshot as the connector's JSON; here they become slotted
dataclasses (a deal is ~10x smaller than its dict), so a 100,000-deal review fits easily
in memory. Values are kept exactly as the CRM has them, flaws included: judging them is
quality.py's job.

What every later step derives from a deal the same way is derived once, here, while the
deal is built (and hot in the CPU's cache), so the steps make one light pass each:

- `product_name`: the price-list name its typed product means (`Dataset.product_name`);
- `touch`: its latest sign of life: latest activity (logged or recorded), else engage date;
- `estimate`: what an open deal is worth if won: its usable value (recorded, not negative),
  else its product's list price (0 when the product is unknown); a closed deal's usable
  value (0 without one);
- `imputed`: True when `estimate` is not the CRM's value but a list price filled in for an
  open deal without one. Reports say so wherever such a value is shown, and rankings give
  it a bounded weight (ranking.py): a guess must not decide which deals a manager sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "AccountRec",
    "AgentRec",
    "ContactRec",
    "Dataset",
    "Deal",
    "ProductRec",
    "load_dataset",
    "spelling_key",
    "usable",
]

OPEN_STAGES = frozenset({"Prospecting", "Engaging"})
CLOSED_STAGES = frozenset({"Won", "Lost"})


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


_ZERO = Decimal(0)


def usable(value: Decimal | None) -> Decimal | None:
    """A recorded value the numbers can use: present and not negative."""
    return value if value is not None and value >= 0 else None


@dataclass(slots=True, frozen=True)
class Deal:
    id: str
    agent_id: str
    product: str
    account_id: str | None
    stage: str
    value: Decimal | None
    engage_date: dt.date | None
    close_date: dt.date | None
    last_activity_date: dt.date | None
    next_step: str | None
    product_name: str
    touch: dt.date | None
    estimate: Decimal
    imputed: bool

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


@dataclass(slots=True, frozen=True)
class AgentRec:
    id: str
    name: str
    manager: str | None
    regional_office: str | None


@dataclass(slots=True, frozen=True)
class ProductRec:
    id: str
    name: str
    series: str | None
    list_price: Decimal | None


@dataclass(slots=True, frozen=True)
class AccountRec:
    id: str
    name: str
    sector: str | None
    size: str | None
    region: str | None


@dataclass(slots=True, frozen=True)
class ContactRec:
    id: str
    account_id: str
    name: str
    title: str | None
    email: str | None


@dataclass
class Dataset:
    deals: list[Deal] = field(default_factory=list)
    agents: dict[str, AgentRec] = field(default_factory=dict)
    products: dict[str, ProductRec] = field(default_factory=dict)
    accounts: dict[str, AccountRec] = field(default_factory=dict)
    contacts: dict[str, list[ContactRec]] = field(default_factory=dict)
    """Contacts by account id, in id order."""
    last_activity: dict[str, dt.date] = field(default_factory=dict)
    """Latest activity date per deal, from the collected activities."""
    activity_count: dict[str, int] = field(default_factory=dict)
    _spellings: dict[str, str] = field(default_factory=dict, repr=False)
    _prices: dict[str, Decimal | None] = field(default_factory=dict, repr=False)

    def product_name(self, typed: str) -> str:
        """The price-list name a deal's product means: the typed name when it is on the list,
        else the one list name it equals ignoring case, spaces and punctuation ("GTXPro" ->
        "GTX Pro"), else the typed name as it is (an unknown product)."""
        known = self._spellings.get(typed)
        if known is None:
            by_key = {spelling_key(p.name): p.name for p in self.products.values()}
            names = {p.name for p in self.products.values()}
            known = typed if typed in names else by_key.get(spelling_key(typed), typed)
            self._spellings[typed] = known
        return known

    def list_price(self, product_name: str) -> Decimal | None:
        """The list price of a price-list name (None for an unknown product)."""
        if not self._prices:
            self._prices.update((p.name, p.list_price) for p in self.products.values())
        return self._prices.get(product_name)

    def last_touch(self, deal: Deal) -> dt.date | None:
        """The latest sign of life on a deal (derived at load: `Deal.touch`)."""
        return deal.touch


def spelling_key(name: str) -> str:
    """A name with case, spaces and punctuation removed: two spellings of one product match."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def load_dataset(rows: Any) -> Dataset:
    """Build a Dataset from `rows(entity)` -> iterable of record dicts (Snapshot.rows)."""
    data = Dataset()
    for r in rows("products"):
        data.products[r["id"]] = ProductRec(
            r["id"], r["name"], r.get("series"), _money(r.get("list_price"))
        )
    for r in rows("agents"):
        data.agents[r["id"]] = AgentRec(
            r["id"], r["name"], r.get("manager"), r.get("regional_office")
        )
    for r in rows("accounts"):
        data.accounts[r["id"]] = AccountRec(
            r["id"], r["name"], r.get("sector"), r.get("size"), r.get("region")
        )
    for r in rows("contacts"):
        data.contacts.setdefault(r["account_id"], []).append(
            ContactRec(r["id"], r["account_id"], r["name"], r.get("title"), r.get("email"))
        )
    _add_activities(data, rows("activities"))
    data.deals = [_deal(data, r) for r in rows("opportunities")]
    return data


def _deal(data: Dataset, r: dict[str, Any]) -> Deal:
    value, engaged = _money(r.get("value")), _date(r.get("engage_date"))
    recorded, logged = _date(r.get("last_activity_date")), data.last_activity.get(r["id"])
    if recorded is None or (logged is not None and logged > recorded):
        recorded = logged
    product = data.product_name(r["product"])
    estimate, imputed = usable(value), False
    if estimate is None:
        imputed = r["stage"] in OPEN_STAGES
        estimate = (data.list_price(product) if imputed else None) or _ZERO
    return Deal(
        r["id"], r["agent_id"], r["product"], r.get("account_id"), r["stage"], value, engaged,
        _date(r.get("close_date")), _date(r.get("last_activity_date")), r.get("next_step"),
        product, recorded or engaged, estimate, imputed and estimate > 0,
    )  # fmt: skip


def _add_activities(data: Dataset, activities: Iterable[dict[str, Any]]) -> None:
    latest, count = data.last_activity, data.activity_count
    for r in activities:
        deal, day = r["opportunity_id"], dt.date.fromisoformat(r["date"])
        count[deal] = count.get(deal, 0) + 1
        if deal not in latest or day > latest[deal]:
            latest[deal] = day
