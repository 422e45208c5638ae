"""The sales half of the mocked CRM (actions, seeding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["SalesActions"]


class SalesActions:
    """Filled in with the sales actions."""

    def _sales_tables(self) -> list[Any]:
        return []

    def _seed_sales(self, seed: Path) -> None:
        return None
