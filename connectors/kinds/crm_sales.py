"""The sales half of the CRM contract (abstract actions)."""

from __future__ import annotations

from abc import ABC

__all__ = ["SalesCRMActions"]


class SalesCRMActions(ABC):  # noqa: B024
    """Filled in with the sales actions."""
