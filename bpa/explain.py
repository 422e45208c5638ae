"""Pydantic validation errors as one line a person can act on.

The CLI, the scheduler and batches show these lines as they are: they name the field, say
what is wrong with it and, for an unknown field, which fields there are.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

__all__ = ["describe", "explain_input"]

_MAX_SHOWN = 3


def describe(exc: ValidationError, prefix: str = "") -> str:
    """A pydantic error as `field: what is wrong`, the problems joined by `; `."""
    errors = exc.errors(include_url=False)
    shown = "; ".join(
        f"{'.'.join(str(p) for p in (prefix, *e['loc']) if p != '') or 'value'}: "
        + e["msg"].removeprefix("Value error, ")
        for e in errors[:_MAX_SHOWN]
    )
    more = len(errors) - _MAX_SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")


def explain_input(
    exc: ValidationError, model: type[BaseModel], what: str, *, prefix: str = ""
) -> str:
    """Why `what` (a file name, "the input for flow 'x'") does not fit `model`, in one line;
    field names start with `prefix` (where the input sits in a larger request)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        reason = first["msg"].removeprefix("Invalid JSON: ")
        return f"{what} is not valid JSON ({reason}); fix the file"
    if not first["loc"] and first["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return (
            f"{what} must be a JSON object with the fields {_fields(model)}, "
            f"not {_kind(first['input'])}"
        )
    unknown = [e["loc"] for e in errors if e["type"] == "extra_forbidden"]
    if unknown:
        names = ", ".join(
            repr(".".join(str(p) for p in (prefix, *loc) if p != "")) for loc in unknown
        )
        where = _model_at(model, unknown[0][:-1])
        known = f"; valid fields: {_fields(where)}" if where is not None else ""
        plural = "s" if len(unknown) > 1 else ""
        return f"{what} has unknown field{plural} {names}{known}"
    return f"{what} does not fit: {describe(exc, prefix)}"


def _fields(model: type[BaseModel]) -> str:
    return ", ".join(model.model_fields) or "(none)"


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model that holds the field at `loc` (through nested models, optional or not)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            return None
        current = _model_of(current.model_fields[part].annotation)
    return current


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        found = [m for m in map(_model_of, get_args(annotation)) if m is not None]
        return found[0] if len(found) == 1 else None
    return None
