"""The connector kinds a new connector can implement, and each kind's action contract.

Kinds are read from the installed `connectors.kinds` package (every module in it), so a kind
added there is offered by `bpa new connector --kind` without a change here. A kind's
contract becomes the skeleton's method stubs: each action's signature, with the import of
every type it names.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
import pkgutil
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import connectors.kinds
import connectors.schemas
from connectors.base import CAPABILITY_ATTR, Connector, Irreversible

__all__ = ["ActionStub", "KindContract", "installed_kinds", "kind_contract"]


@dataclass(frozen=True)
class ActionStub:
    """One action of a kind, as a skeleton declares it."""

    name: str
    request: str
    response: str
    side_effect: bool
    #: The Python source of the `undo=` argument (side-effecting actions only).
    undo: str
    doc: str


@dataclass(frozen=True)
class KindContract:
    kind: str
    cls: type[Connector]
    actions: list[ActionStub]
    #: module -> names the stubs' annotations need.
    imports: dict[str, list[str]] = field(default_factory=dict)
    #: The kind's conformance suite in `connectors.testing`, if it has one.
    suite: str | None = None
    #: Class variables of that suite that default to None (what only the user knows) -> the
    #: comment that says what they are.
    suite_settings: dict[str, str] = field(default_factory=dict)


def installed_kinds() -> dict[str, type[Connector]]:
    """Kind name (e.g. ``crm``) -> its base class, for every kind in `connectors.kinds`."""
    found: dict[str, type[Connector]] = {}
    for module_info in pkgutil.iter_modules(connectors.kinds.__path__):
        module = importlib.import_module(f"connectors.kinds.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Connector)
                and value.__module__ == module.__name__
                and isinstance(vars(value).get("kind"), str)
            ):
                found[value.kind] = value
    return dict(sorted(found.items()))


def kind_contract(kind: str, reference: dict[str, Any] | None = None) -> KindContract:
    """The required (abstract) actions of `kind`, ready to render as stubs.

    `reference` (action name -> `ActionSpec`, e.g. from an installed connector of the same
    kind) supplies each stub's undo and description; without it, side-effecting actions are
    declared `Irreversible` with a reason that says to fill it in.
    """
    cls = installed_kinds()[kind]
    imports: dict[str, set[str]] = {}
    stubs: list[ActionStub] = []
    declared = _declared(cls)
    for name in declared:
        member = getattr(cls, name)
        hints = typing.get_type_hints(member)
        parameters = [p for p in inspect.signature(member).parameters if p != "self"]
        side_effect = "idempotency_key" in parameters
        spec = (reference or {}).get(name)
        stubs.append(
            ActionStub(
                name=name,
                request=_annotation(hints[parameters[0]], imports),
                response=_annotation(hints.get("return", Any), imports),
                side_effect=side_effect,
                undo=_undo_source(spec, declared) if side_effect else "",
                doc=_first_line(getattr(spec, "description", "")) or f"{name}: say what it does.",
            )
        )
    suite, settings = _suite_of(cls)
    return KindContract(
        kind=kind,
        cls=cls,
        actions=stubs,
        imports={module: sorted(names) for module, names in sorted(imports.items())},
        suite=suite,
        suite_settings=settings,
    )


def _declared(cls: type[Connector]) -> list[str]:
    """The kind's required actions, in the order the kind declares them (reads first)."""
    order = [name for klass in reversed(cls.__mro__) for name in vars(klass)]
    required = {
        name for name in cls.__abstractmethods__ if not hasattr(getattr(cls, name), CAPABILITY_ATTR)
    }
    return sorted(required, key=order.index)


def _annotation(tp: Any, imports: dict[str, set[str]]) -> str:
    """`tp` as source code, recording the imports it needs."""
    if tp is type(None):
        return "None"
    if tp is Any:
        imports.setdefault("typing", set()).add("Any")
        return "Any"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_annotation(arg, imports) for arg in args)
    if origin is typing.Literal:
        imports.setdefault("typing", set()).add("Literal")
        return f"Literal[{', '.join(_literal(arg) for arg in args)}]"
    if origin is not None:
        inner = ", ".join(_annotation(arg, imports) for arg in args)
        return f"{_annotation(origin, imports)}[{inner}]"
    if isinstance(tp, type):
        if tp.__module__ != "builtins":
            shared = getattr(connectors.schemas, tp.__name__, None) is tp
            module = "connectors.schemas" if shared else tp.__module__
            imports.setdefault(module, set()).add(tp.__name__)
        return tp.__name__
    return repr(tp)


def _undo_source(spec: Any, actions: list[str]) -> str:
    """The reference's undo, when it is one the stub has too (an action of the kind)."""
    undo = getattr(spec, "undo", None)
    if isinstance(undo, str) and undo in actions:
        return _literal(undo)
    reason = undo.reason if isinstance(undo, Irreversible) else "say how it is undone, or why not"
    return f"Irreversible({_literal(reason)})"


def _literal(value: Any) -> str:
    """`value` as Python source, strings in double quotes (as ruff format writes them)."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _first_line(text: str) -> str:
    return text.strip().split("\n\n")[0].replace("\n", " ").strip()


def _suite_of(cls: type[Connector]) -> tuple[str | None, dict[str, str]]:
    """The conformance suite `connectors.testing` has for the kind (named after its class,
    e.g. ``TicketingConnectorTests``), and the class variables it leaves to the user (those
    that default to None) with their ``#:`` comments."""
    try:
        import connectors.testing
    except ImportError:  # the suite needs pytest, a development dependency
        return None, {}
    name = f"{cls.__name__}Tests"
    suite = getattr(connectors.testing, name, None)
    if not isinstance(suite, type):
        return None, {}
    settings: dict[str, str] = {}
    for klass in reversed(suite.__mro__):
        if not klass.__module__.startswith("connectors.testing"):
            continue
        comments = _comments(klass)
        for attr in vars(klass).get("__annotations__", {}):
            if vars(klass).get(attr, ...) is None:
                settings[attr] = comments.get(attr, f"see {name}")
    return name, settings


def _comments(klass: type) -> dict[str, str]:
    """Class variable -> the ``#:`` comment above it in `klass`'s source."""
    try:
        lines = inspect.getsource(klass).splitlines()
    except (OSError, TypeError):
        return {}
    found: dict[str, str] = {}
    for above, line in itertools.pairwise(lines):
        comment = re.match(r"\s*#:\s*(.*)", above)
        variable = re.match(r"\s*(\w+)\s*:", line)
        if comment and variable:
            found[variable.group(1)] = comment.group(1)
    return found
