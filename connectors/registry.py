"""Find connectors through the ``bpa.connectors`` entry points and check them before use.

Built-in connectors register exactly like a third-party package would. A plug-in that
fails to import or breaks the SDK's rules is reported with its reasons (`ConnectorInfo`
with ``problems``) instead of raising, so one broken package cannot take the suite down.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points as installed_entry_points
from typing import Any, Protocol

from pydantic import BaseModel

from connectors.base import CAPABILITY_ATTR, ActionSpec, Connector, Irreversible

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorInfo",
    "EntryPointLike",
    "load_connectors",
    "validate_connector_class",
]

ENTRY_POINT_GROUP = "bpa.connectors"
log = logging.getLogger(__name__)


class EntryPointLike(Protocol):
    """What the registry needs of an `importlib.metadata.EntryPoint` (tests pass fakes)."""

    name: str
    value: str

    def load(self) -> Any: ...


@dataclass
class ConnectorInfo:
    """One registered connector; usable only when ``problems`` is empty."""

    name: str
    kind: str | None
    cls: type[Connector] | None
    actions: dict[str, ActionSpec] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def create(self, config: dict[str, Any] | BaseModel) -> Connector:
        """Instantiate the connector with a config its `config_model` accepts; a config it
        refuses raises `ConnectorConfigError` with a one-line message."""
        if not self.ok or self.cls is None:
            raise RuntimeError(f"connector {self.name!r} is unusable: {'; '.join(self.problems)}")
        return self.cls(self.cls.load_config(config))


def _kind_contract(cls: type[Connector]) -> dict[str, bool]:
    """Actions the connector's kind declares (abstract, or optional with a capability) ->
    whether they take an idempotency key."""
    contract: dict[str, bool] = {}
    for base in reversed(cls.__mro__[1:]):
        for name, member in vars(base).items():
            declared = getattr(member, "__isabstractmethod__", False) or hasattr(
                member, CAPABILITY_ATTR
            )
            if declared:
                params = inspect.signature(member).parameters
                contract[name] = "idempotency_key" in params
    return contract


def _capability_problems(cls: type[Connector], specs: dict[str, ActionSpec]) -> list[str]:
    """A declared capability must be implemented whole; an implemented one, declared."""
    optional = cls.optional_actions()
    known = set(optional.values())
    declared = set(getattr(cls, "capabilities", frozenset()))
    problems = [
        f"capability {name!r} is not one of its kind's ({', '.join(sorted(known)) or 'none'})"
        for name in sorted(declared - known)
    ]
    for action_name, name in sorted(optional.items()):
        implemented = action_name in specs
        if name in declared and not implemented:
            problems.append(f"declares capability {name!r} but does not implement {action_name}")
        elif implemented and name not in declared:
            problems.append(
                f"implements {action_name} of capability {name!r}: add {name!r} to `capabilities`"
            )
    return problems


def validate_connector_class(cls: Any, name: str) -> list[str]:
    """Every reason `cls` cannot be registered as connector `name`; empty when it can."""
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        return [f"{cls!r} is not a subclass of connectors.base.Connector"]
    problems: list[str] = []
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not kind:
        problems.append("no `kind`: subclass a kind such as AccountingConnector")
    declared = getattr(cls, "name", None)
    if declared != name:
        problems.append(f"`name` is {declared!r} but the entry point is called {name!r}")
    model = getattr(cls, "config_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        problems.append("no `config_model` (a pydantic model of the connector's config)")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        problems.append(f"does not implement: {missing}")

    specs = cls.action_specs()
    if not specs:
        problems.append("declares no actions (methods decorated with @action)")
    for action_name, takes_key in _kind_contract(cls).items():
        spec = specs.get(action_name)
        if spec is None:
            optional = hasattr(getattr(cls, action_name, None), CAPABILITY_ATTR)
            if action_name not in cls.__abstractmethods__ and not optional:
                problems.append(f"{action_name} is not declared with @action")
        elif spec.side_effect != takes_key:
            want = "side_effect=True" if takes_key else "no side effect"
            problems.append(f"{action_name} must be declared with {want}, as its kind says")
    problems.extend(_capability_problems(cls, specs))
    for spec in specs.values():
        problems.extend(_action_problems(spec, specs))
    return problems


def _action_problems(spec: ActionSpec, specs: dict[str, ActionSpec]) -> list[str]:
    problems: list[str] = []
    if not (isinstance(spec.request, type) and issubclass(spec.request, BaseModel)):
        problems.append(f"{spec.name}: the request is not a pydantic model")
    if not spec.side_effect:
        return problems
    if spec.undo is None:
        problems.append(f"{spec.name}: changes data but declares no undo")
    elif isinstance(spec.undo, Irreversible):
        if not spec.undo.reason.strip():
            problems.append(f"{spec.name}: Irreversible needs a reason")
    elif spec.undo not in specs:
        problems.append(f"{spec.name}: undo names {spec.undo!r}, which is not an action")
    elif not specs[spec.undo].side_effect:
        problems.append(f"{spec.name}: undo {spec.undo!r} is a read, it cannot compensate")
    return problems


def _inspect_entry_point(entry_point: EntryPointLike) -> ConnectorInfo:
    try:
        cls = entry_point.load()
    except Exception as exc:  # a broken plug-in is reported, not raised
        problem = f"cannot load {entry_point.value!r}: {type(exc).__name__}: {exc}"
        return ConnectorInfo(name=entry_point.name, kind=None, cls=None, problems=[problem])
    problems = validate_connector_class(cls, entry_point.name)
    is_connector = isinstance(cls, type) and issubclass(cls, Connector)
    return ConnectorInfo(
        name=entry_point.name,
        kind=getattr(cls, "kind", None) if is_connector else None,
        cls=cls if is_connector else None,
        actions=cls.action_specs() if is_connector else {},
        problems=problems,
    )


def load_connectors(
    entry_points: Iterable[EntryPointLike] | None = None,
) -> dict[str, ConnectorInfo]:
    """All connectors of the ``bpa.connectors`` group (or `entry_points`), checked.

    Filter on `ConnectorInfo.ok` before use; problems are also logged as warnings.
    """
    if entry_points is None:
        entry_points = installed_entry_points(group=ENTRY_POINT_GROUP)
    found: dict[str, ConnectorInfo] = {}
    for entry_point in entry_points:
        info = _inspect_entry_point(entry_point)
        if info.name in found and found[info.name].ok:
            log.warning("connector %r registered twice; keeping the first", info.name)
            continue
        found[info.name] = info
        for problem in info.problems:
            log.warning("connector %r: %s", info.name, problem)
    return found
