"""One rule for text: no NUL characters, anywhere.

No store this suite writes to keeps a NUL in text (PostgreSQL refuses it outright), and no
name, id or message needs one. The API refuses them at the door (api/text_guard.py); the
runner refuses them in every flow input, whoever submits it (CLI, batches, schedules).
"""

from __future__ import annotations

from typing import Any

__all__ = ["nul_location"]


def nul_location(value: Any, where: str = "body") -> str | None:
    """Where in a parsed JSON value a string (or key) holds a NUL, or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = nul_location(key, f"{where} (a key)") or nul_location(item, f"{where}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = nul_location(item, f"{where}.{i}")
            if found:
                return found
    return None
