"""The connector SDK: a base class per system kind, the `@action` declaration, capabilities.

An action takes one pydantic request and returns one pydantic record. A side-effecting
action is called with an idempotency key and receives it as an explicit keyword argument
(``idempotency_key``) to pass on to the system's API when that API accepts one. The engine
keeps the idempotency ledger (bpa/effects.py): a call repeated with the same key inside a
run returns the first result without reaching the connector again. Every side-effecting
action declares how it is undone: `Undo(action, build)` (the compensating action and how its
request is built from the call; see connectors/undo.py), the compensating action's name, or
`Irreversible(reason)`.

`@action` keeps the method's signature, so a flow that holds a typed connector
(`ctx.connector(AccountingConnector)`) is type-checked against the kind's contract.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeAlias, TypeVar, cast, get_type_hints

from pydantic import BaseModel, ValidationError

from connectors.errors import ConnectorConfigError, Rejected, Unsupported
from connectors.undo import Done, Irreversible, Undo, UndoBuilder, fields_request

__all__ = [
    "ActionSpec",
    "Connector",
    "Done",
    "Irreversible",
    "Undo",
    "action",
    "capability",
    "config_problem",
    "validate_request",
]

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S")
#: An async method: `self` of type S, the parameters P, a coroutine of T.
Method: TypeAlias = Callable[Concatenate[S, P], Coroutine[Any, Any, T]]

#: Attribute an optional kind action carries: the capability it belongs to.
CAPABILITY_ATTR = "__bpa_capability__"


@dataclass(frozen=True)
class ActionSpec:
    name: str
    request: type[BaseModel]
    response: Any
    side_effect: bool
    #: The compensating action's name, or why there is none.
    undo: str | Irreversible | None
    description: str
    #: Builds the compensating action's request (`Undo.build`); None: `Connector.undo_request`.
    undo_build: UndoBuilder | None = None

    def describe(self) -> dict[str, Any]:
        undo = (
            self.undo if isinstance(self.undo, str | None) else f"irreversible: {self.undo.reason}"
        )
        return {
            "name": self.name,
            "side_effect": self.side_effect,
            "undo": undo,
            "description": self.description,
            "request_schema": self.request.model_json_schema(),
        }


def validate_request(spec: ActionSpec, request: Any) -> BaseModel:
    """Check the request against the action's model; a bad request is `Rejected`, like any
    other refusal, so callers handle one error hierarchy."""
    try:
        return spec.request.model_validate(request)
    except ValidationError as exc:
        raise Rejected(
            f"{spec.name}: invalid {spec.request.__name__}: {exc.error_count()} error(s)",
            code="invalid_request",
            errors=exc.errors(include_url=False, include_context=False),
        ) from exc


def _spec_of(
    fn: Callable[..., Any], side_effect: bool, undo: str | Irreversible | Undo | None
) -> ActionSpec:
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"action {fn.__name__} must be `async def`")
    hints = get_type_hints(fn)
    parameters = inspect.signature(fn).parameters
    params = [p for p in parameters if p != "self"]
    if not params or params[0] not in hints:
        raise TypeError(f"action {fn.__name__} must take one typed pydantic request")
    key = parameters.get("idempotency_key")
    if side_effect and (key is None or key.kind is not inspect.Parameter.KEYWORD_ONLY):
        raise TypeError(
            f"action {fn.__name__} changes data: declare it "
            f"`async def {fn.__name__}(self, request, *, idempotency_key: str)`"
        )
    if not side_effect and key is not None:
        raise TypeError(f"action {fn.__name__} takes an idempotency_key: declare side_effect=True")
    return ActionSpec(
        name=fn.__name__,
        request=hints[params[0]],
        response=hints.get("return"),
        side_effect=side_effect,
        undo=undo.action if isinstance(undo, Undo) else undo,
        description=inspect.getdoc(fn) or "",
        undo_build=undo.build if isinstance(undo, Undo) else None,
    )


def action(
    *, side_effect: bool = False, undo: str | Irreversible | Undo | None = None
) -> Callable[[Method[S, P, T]], Method[S, P, T]]:
    """Mark an async method as a connector action; the method keeps its signature.

    A read is ``async def name(self, request: Model) -> Record``. A side-effecting action is
    ``async def name(self, request: Model, *, idempotency_key: str) -> Record`` and must
    declare ``undo``: ``Undo("void_bill", build)``, an action's name, or ``Irreversible``.
    Every call's request is validated against ``Model`` first (a bad one is `Rejected`,
    code ``invalid_request``); a side-effecting call without a key is refused (code
    ``idempotency_key_missing``) before the connector sees it.
    """

    if side_effect and undo is None:
        raise TypeError("a side-effecting action must declare `undo` (an action or Irreversible)")

    def decorate(
        fn: Method[S, P, T],
    ) -> Method[S, P, T]:
        spec = _spec_of(fn, side_effect, undo)
        call_fn = cast(Callable[..., Awaitable[Any]], fn)

        if side_effect:

            @functools.wraps(fn)
            async def wrapper(self: Connector, request: Any, *, idempotency_key: str = "") -> Any:
                if not idempotency_key:
                    raise Rejected(
                        f"{spec.name} changes data and needs an idempotency_key",
                        code="idempotency_key_missing",
                    )
                checked = validate_request(spec, request)
                return await self._effect(
                    spec,
                    idempotency_key,
                    checked,
                    lambda: call_fn(self, checked, idempotency_key=idempotency_key),
                )

        else:

            @functools.wraps(fn)
            async def wrapper(self: Connector, request: Any) -> Any:
                return await call_fn(self, validate_request(spec, request))

        wrapper.__bpa_action__ = spec  # type: ignore[attr-defined]
        return cast(Method[S, P, T], wrapper)

    return decorate


def capability(
    name: str,
) -> Callable[[Method[S, P, T]], Method[S, P, T]]:
    """Mark a kind's action as optional, part of capability `name`.

    A connector that lists `name` in its ``capabilities`` implements every action of it;
    one that does not inherits this default, which raises `Unsupported`. Flows ask
    (`Connector.supports`, `RunContext.connector(..., needs=...)`) instead of finding out
    from an error.
    """

    def decorate(
        fn: Method[S, P, T],
    ) -> Method[S, P, T]:
        @functools.wraps(fn)
        async def unsupported(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise Unsupported(
                f"connector {getattr(self, 'name', type(self).__name__)!r} "
                f"does not support {name!r} ({fn.__name__})",
                capability=name,
            )

        setattr(unsupported, CAPABILITY_ATTR, name)
        return cast(Method[S, P, T], unsupported)

    return decorate


def config_problem(
    connector: str, model: type[BaseModel], exc: ValidationError, *, section: str | None = None
) -> str:
    """One line naming what is wrong with a connector's configuration and what to set.

    Fields with the same problem are named together ("host, passwd: Extra inputs are not
    permitted"); values are never shown (a configuration holds secrets). `section` names a
    part of the connector's entry that the engine reads itself (``faults``, ``resilience``).
    """
    by_message: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error.get("loc", ()))
        if section:
            loc = f"{section}.{loc}" if loc else section
        by_message.setdefault(str(error.get("msg", "invalid")), []).append(loc or "(config)")
    parts = []
    for message, fields in by_message.items():
        name = fields[0].removeprefix(f"{section}.") if section else fields[0]
        described = model.model_fields.get(name.split(".")[0])
        hint = (
            f" ({described.description})"
            if len(fields) == 1 and described is not None and described.description
            else ""
        )
        parts.append(f"{', '.join(fields)}: {message}{hint}")
    first = next(iter(by_message.values()))[0]
    if section:
        field = first.split(".")[1] if "." in first else "..."
        return (
            f"connector {connector!r}: {'; '.join(parts)}; set it in BPA_CONNECTORS, e.g. "
            f'BPA_CONNECTORS=\'{{"{connector}": {{"{section}": {{"{field}": ...}}}}}}\''
        )
    return (
        f"connector {connector!r}: {'; '.join(parts)}; `bpa connectors config {connector}` "
        f"lists its fields; set them in BPA_CONNECTORS, e.g. "
        f'BPA_CONNECTORS=\'{{"{connector}": {{"{first}": ...}}}}\''
    )


class Connector(ABC):
    """Base of every connector. Subclass a kind (`AccountingConnector`, ...), not this.

    A connector class sets ``name`` (its entry point's name), ``config_model`` (a pydantic
    model of its settings; the host validates BPA_CONNECTORS against it and reports a
    one-line error) and ``capabilities`` (the optional parts of its kind it implements).
    The host constructs it as ``cls(config)`` with the validated model; a constructor may
    also take an ``engine`` keyword to share the suite's database (see connectors/sql.py).

    An `ABC`, so a connector that leaves one of its kind's required actions unimplemented
    fails at instantiation (and in the registry) instead of at the first call.
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    #: The pydantic model a connector's config must validate against.
    config_model: ClassVar[type[BaseModel] | None] = None
    #: The optional capabilities of its kind this connector implements (see `capability`).
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: BaseModel | Mapping[str, Any] | None = None) -> None:
        self.config = self.load_config({} if config is None else config)

    @classmethod
    def load_config(cls, config: BaseModel | Mapping[str, Any]) -> Any:
        """`config` validated against ``config_model``; `ConnectorConfigError` (one line) if not."""
        model = cls.config_model
        if model is None:
            return config
        if isinstance(config, model):
            return config
        raw = config.model_dump() if isinstance(config, BaseModel) else dict(config)
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise ConnectorConfigError(
                config_problem(getattr(cls, "name", cls.__name__), model, exc)
            ) from None

    @classmethod
    def action_specs(cls) -> dict[str, ActionSpec]:
        specs: dict[str, ActionSpec] = {}
        for attr in dir(cls):
            spec = getattr(getattr(cls, attr, None), "__bpa_action__", None)
            if isinstance(spec, ActionSpec):
                specs[spec.name] = spec
        return specs

    @classmethod
    def optional_actions(cls) -> dict[str, str]:
        """Action name -> capability, for every optional action of the connector's kind."""
        found: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, member in vars(klass).items():
                name = getattr(member, CAPABILITY_ATTR, None)
                if isinstance(name, str):
                    found[attr] = name
        return found

    @classmethod
    def supports(cls, capability: str) -> bool:
        """Whether this connector implements the optional `capability` of its kind."""
        return capability in cls.capabilities

    async def _effect(
        self,
        spec: ActionSpec,
        key: str,
        request: BaseModel,
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        """How a side-effecting call is made. By default: make it. The engine's ledger has
        already answered a repeated key; the key itself reaches the action, which passes it
        on to a system that honours it. A connector whose system keeps no keys of its own
        can override this to keep them itself (`connectors.sql.SqlConnectorMixin` does, for
        our mocked systems)."""
        return await call()

    def undo_request(self, spec: ActionSpec, done: Done[Any, Any]) -> BaseModel | Irreversible:
        """The request of the action that undoes `done` (a call of `spec`'s action), or
        `Irreversible` when it cannot be undone.

        By default: the declared builder (`Undo.build`), else, for an undo declared by name,
        the undo's request filled from the call's request and result (`fields_request`).
        Override it when the request needs more than that. A request that cannot be built is
        `Rejected` (code ``undo_request_unbuildable``).
        """
        if spec.undo is None or isinstance(spec.undo, Irreversible):
            return spec.undo or Irreversible(f"{spec.name} declares no undo")
        if spec.undo_build is not None:
            return spec.undo_build(done)
        target = self.action_specs().get(spec.undo)
        if target is None:
            raise Rejected(
                f"{spec.name} is undone by {spec.undo}, which {self.name} does not have",
                code="undo_request_unbuildable",
            )
        return fields_request(target.request, done)

    async def recorded(self, action: str, idempotency_key: str) -> Any | None:
        """What the side-effecting `action` returned for `idempotency_key`, or None when it
        never succeeded with that key (or this connector cannot tell).

        Optional. The engine asks when a process died after announcing a call and before
        writing its outcome: a system that can look an effect up by its key (most payment
        and ERP APIs can) lets the audit trail be completed, and lets a step that runs again
        recognise its own earlier effect. Without it, the step's replay makes the call
        again, with the same key, and relies on the system to honour it.
        """
        return None

    async def health(self) -> dict[str, Any]:
        """Cheap liveness check; returns details, raises a ConnectorError when unhealthy."""
        return {"ok": True}

    async def aclose(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Release connections. Called once when the engine shuts down."""
