"""BPA Suite engine: runs graph-based business flows with approvals and an audit trail."""

from bpa.config import Settings
from bpa.errors import FlowError

__all__ = ["FlowError", "Settings"]
__version__ = "0.1.0"
