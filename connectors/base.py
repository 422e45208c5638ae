"""The connector SDK: a base class per system kind and the `@action` declaration.

An action takes one pydantic request and returns one pydantic record. A side-effecting
action requires an idempotency key (same key, same result, no second record) and declares
how it is undone: the name of the compensating action, or `Irreversible(reason)`.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, get_type_hints

from pydantic import BaseModel, ValidationError

from connectors.errors import Rejected

__all__ = ["ActionSpec", "Connector", "Irreversible", "action"]

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True)
class Irreversible:
    """Declares that an action has no compensation, and why."""

    reason: str


@dataclass(frozen=True)
class ActionSpec:
    name: str
    request: type[BaseModel]
    response: Any
    side_effect: bool
    undo: str | Irreversible | None
    description: str

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


def _validate(spec: ActionSpec, request: Any) -> BaseModel:
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


def action(
    *, side_effect: bool = False, undo: str | Irreversible | None = None
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Mark an async method as a connector action.

    Side-effecting actions must be called with a non-empty ``idempotency_key`` keyword and
    are routed through ``Connector._idempotent`` so a repeated call returns the first result.
    """

    if side_effect and undo is None:
        raise TypeError("a side-effecting action must declare `undo` (an action or Irreversible)")

    def decorate(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"action {fn.__name__} must be `async def`")
        hints = get_type_hints(fn)
        params = [p for p in inspect.signature(fn).parameters if p != "self"]
        if not params or params[0] not in hints:
            raise TypeError(f"action {fn.__name__} must take one typed pydantic request")
        request_type = hints[params[0]]
        spec = ActionSpec(
            name=fn.__name__,
            request=request_type,
            response=hints.get("return"),
            side_effect=side_effect,
            undo=undo,
            description=inspect.getdoc(fn) or "",
        )

        if side_effect:

            @functools.wraps(fn)
            async def wrapper(
                self: Connector, request: BaseModel, *, idempotency_key: str | None = None
            ) -> Any:
                if not idempotency_key:
                    raise Rejected(
                        f"{spec.name} changes data and needs an idempotency_key",
                        code="idempotency_key_missing",
                    )
                request = _validate(spec, request)
                return await self._idempotent(
                    spec, idempotency_key, request, lambda: fn(self, request)
                )

        else:

            @functools.wraps(fn)
            async def wrapper(self: Connector, request: BaseModel) -> Any:
                return await fn(self, _validate(spec, request))

        wrapper.__bpa_action__ = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate


class Connector(ABC):
    """Base of every connector. Subclass a kind (`AccountingConnector`, ...), not this.

    An `ABC`, so a connector that leaves one of its kind's actions unimplemented fails at
    instantiation (and in the registry) instead of at the first call.
    """

    name: ClassVar[str]
    kind: ClassVar[str]
    #: The pydantic model a connector's config must validate against.
    config_model: ClassVar[type[BaseModel] | None] = None

    @classmethod
    def action_specs(cls) -> dict[str, ActionSpec]:
        specs: dict[str, ActionSpec] = {}
        for attr in dir(cls):
            spec = getattr(getattr(cls, attr, None), "__bpa_action__", None)
            if isinstance(spec, ActionSpec):
                specs[spec.name] = spec
        return specs

    async def _idempotent(
        self,
        spec: ActionSpec,
        key: str,
        request: BaseModel,
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        """Run a side-effecting call at most once per key. Subclasses must persist the ledger."""
        raise NotImplementedError(f"{type(self).__name__} must implement _idempotent")

    async def recorded(self, action: str, idempotency_key: str) -> Any | None:
        """What the side-effecting `action` returned for `idempotency_key`, or None when it
        never succeeded with that key (or this connector cannot tell).

        How a step that runs again after a crash recognises its own earlier effect (the bill
        it booked is not someone else's duplicate), and how the engine completes the audit
        trail of a call whose process died before it saw the answer. Connectors that keep an
        idempotency ledger answer from it.
        """
        return None

    async def health(self) -> dict[str, Any]:
        """Cheap liveness check; returns details, raises a ConnectorError when unhealthy."""
        return {"ok": True}

    async def aclose(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Release connections. Called once when the engine shuts down."""
