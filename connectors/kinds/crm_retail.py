"""The retail half of the CRM contract (abstract actions)."""

from __future__ import annotations

from abc import ABC

__all__ = ["RetailCRMActions"]


class RetailCRMActions(ABC):  # noqa: B024
    """Filled in with the retail actions."""
