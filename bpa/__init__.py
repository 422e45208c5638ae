"""BPA Suite engine: runs graph-based business flows with approvals and an audit trail.

`Settings` and `FlowError` load on first use: importing a part of the engine (the CLI's
`bpa --help`, say) does not pay for the settings machinery it may not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bpa.config import Settings
    from bpa.errors import FlowError

__all__ = ["FlowError", "Settings"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from bpa.config import Settings

        return Settings
    if name == "FlowError":
        from bpa.errors import FlowError

        return FlowError
    raise AttributeError(f"module 'bpa' has no attribute {name!r}")
