"""Test code: imported before `bpa worker` starts, it makes an invoice whose text holds the
word POISON take its worker process down on every attempt (like a parser bug would)."""

from __future__ import annotations

import os
from typing import Any

from flows.invoice_processing import nodes

_read_input = nodes.read_input


async def _poisoned(state: Any, runtime: Any) -> dict[str, Any]:
    if "POISON" in (state.get("text") or ""):
        os._exit(137)
    return await _read_input(state, runtime)


nodes.read_input = _poisoned  # type: ignore[assignment]
