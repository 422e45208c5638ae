"""How listed deals are chosen: evidence first, guesses bounded, no near-duplicates.

A review's lists (top opportunities, top risks, the stalled and past-close deals) are what
a manager acts on, so two rules hold for every one of them:

- A value the CRM does not have must not decide a deal's place. Size counts through
  `value_weight`, a bounded factor (the square root of the value against the typical won
  deal): a recorded value moves a score by at most x0.5..x2, a value imputed from a list
  price by at most x0.8..x1.25. Stage, activity, win record and account history (the
  scores' other factors) decide the rest.
- A list shows varied deals (`pick`): one deal of each near-duplicate group (same account,
  or same agent without one, same product, stage, value and value source: copies of one
  deal, or a bulk import of look-alikes), at most two per account and at most a third of
  the list per product. Places the caps leave empty are filled with the best deals they
  held back, never with a near-duplicate.

`pick` heapifies the scored deals and pops only as many as it looks at (at most
`LOOK_AHEAD` x the list's size), so choosing from n deals costs O(n), not a full sort.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Hashable, Iterable
from decimal import Decimal
from typing import TypeVar

__all__ = ["PER_ACCOUNT", "pick", "value_weight"]

T = TypeVar("T")

PER_ACCOUNT = 2
LOOK_AHEAD = 50
_RECORDED = (0.5, 2.0)
_IMPUTED = (0.8, 1.25)


def value_weight(value: Decimal | float, imputed: bool, typical: float | None) -> float:
    """A deal's size as a bounded factor around 1 (module docstring); 1 when nothing
    typical is known to compare with."""
    if not typical or typical <= 0:
        return 1.0
    low, high = _IMPUTED if imputed else _RECORDED
    return min(max(math.sqrt(max(float(value), 0.0) / typical), low), high)


def pick(
    scored: Iterable[tuple[float, str, T]],
    size: int,
    *,
    twin: Callable[[T], Hashable],
    account: Callable[[T], Hashable],
    product: Callable[[T], Hashable],
) -> list[tuple[float, T]]:
    """The `size` best of (score, id, item) triples, varied (module docstring), best first;
    ties by id. `twin` is an item's near-duplicate group, `account` and `product` its
    groups for the caps."""
    heap = [(-score, key, n, item) for n, (score, key, item) in enumerate(scored)]
    heapq.heapify(heap)
    per_product = max(1, math.ceil(size / 3))
    twins: set[Hashable] = set()
    accounts: dict[Hashable, int] = {}
    products: dict[Hashable, int] = {}
    chosen: list[tuple[float, str, int, T]] = []
    held: list[tuple[float, str, int, T]] = []
    budget = LOOK_AHEAD * size
    while heap and len(chosen) < size and budget:
        budget -= 1
        entry = heapq.heappop(heap)
        item = entry[3]
        group = twin(item)
        if group in twins:
            continue
        twins.add(group)
        a, p = account(item), product(item)
        if accounts.get(a, 0) >= PER_ACCOUNT or products.get(p, 0) >= per_product:
            if len(held) < size:
                held.append(entry)
            continue
        accounts[a] = accounts.get(a, 0) + 1
        products[p] = products.get(p, 0) + 1
        chosen.append(entry)
    chosen += held[: size - len(chosen)]
    return [(-e[0], e[3]) for e in sorted(chosen)]
