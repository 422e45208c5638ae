"""The retail half of the mocked CRM (actions, seeding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["RetailActions"]


class RetailActions:
    """Filled in with the retail actions."""

    def _retail_tables(self) -> list[Any]:
        return []

    def _seed_retail(self, seed: Path) -> None:
        return None
