"""Fault injection: any connector, put behind errors, timeouts, 429s, latency and lost replies.

Turned on per connector by configuration, for resilience tests and benchmarks::

    BPA_CONNECTORS='{"accounting": {"faults": {"error_rate": 0.05, "timeout_rate": 0.05,
        "rate_limited_rate": 0.05, "crash_after_effect_rate": 0.05, "latency_ms": [1, 5],
        "seed": 1}}}'

Each call draws at most one fault. `error`, `timeout` and `rate_limited` fail before the
system is reached (nothing happened). `crash_after_effect` is the hard case for idempotency:
the action runs, its effect commits in the system, and then the reply is lost (`TimedOut`).
A caller that tries again must use the same idempotency key, and the system must answer
that key with its first result instead of acting twice (our mocked systems do, see
connectors/sql.py).

The connector keeps its class (the engine looks connectors up by kind), so `inject_faults`
wraps the action methods of the one instance it is given.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.base import ActionSpec, Connector, config_problem
from connectors.errors import ConnectorConfigError, RateLimited, TimedOut, Transient

__all__ = ["FaultInjector", "FaultKind", "FaultPlan", "inject_faults", "load_fault_plan"]

log = logging.getLogger(__name__)

T = TypeVar("T")
FaultKind = Literal["error", "timeout", "rate_limited", "crash_after_effect"]
_Share = Annotated[float, Field(ge=0, le=1)]
_Millis = Annotated[float, Field(ge=0)]


class FaultPlan(BaseModel):
    """What to inject into one connector's calls (the ``faults`` entry of its configuration)."""

    model_config = ConfigDict(extra="forbid")

    error_rate: _Share = Field(
        default=0.0, description="Share of calls refused with a 5xx-like Transient error"
    )
    timeout_rate: _Share = Field(
        default=0.0, description="Share of calls that hang for timeout_ms, then time out"
    )
    rate_limited_rate: _Share = Field(
        default=0.0, description="Share of calls refused with a 429 carrying retry_after_s"
    )
    crash_after_effect_rate: _Share = Field(
        default=0.0, description="Share of calls that take effect, then lose their reply"
    )
    latency_ms: tuple[_Millis, _Millis] = Field(
        default=(0.0, 0.0), description="Added to every call, uniformly between [low, high]"
    )
    timeout_ms: _Millis = Field(default=200.0, description="How long a timed-out call hangs")
    retry_after_s: float = Field(
        default=0.5, ge=0, description="The Retry-After an injected 429 asks for"
    )
    actions: list[str] | None = Field(
        default=None, description="Only these actions get faults (default: all)"
    )
    max_faults: int | None = Field(
        default=None, ge=0, description="Stop after dealing this many (an outage that ends)"
    )
    seed: int | None = Field(default=None, description="Seed of the draws, for repeatable runs")

    @model_validator(mode="after")
    def _consistent(self) -> FaultPlan:
        if sum(self.rates().values()) > 1:
            raise ValueError("the four *_rate fields add up to more than 1")
        low, high = self.latency_ms
        if low > high:
            raise ValueError("latency_ms is [low, high]: low is above high")
        return self

    def rates(self) -> dict[FaultKind, float]:
        return {
            "error": self.error_rate,
            "timeout": self.timeout_rate,
            "rate_limited": self.rate_limited_rate,
            "crash_after_effect": self.crash_after_effect_rate,
        }


def load_fault_plan(connector: str, raw: FaultPlan | Mapping[str, Any]) -> FaultPlan:
    """`raw` validated; `ConnectorConfigError` with a one-line message when it does not fit."""
    if isinstance(raw, FaultPlan):
        return raw
    try:
        return FaultPlan.model_validate(raw)
    except ValidationError as exc:
        raise ConnectorConfigError(
            config_problem(connector, FaultPlan, exc, section="faults")
        ) from None


class FaultInjector:
    """Draws a fault (or none) for each call of one connector and acts it out.

    With a `seed`, the same sequence of calls meets the same faults. `injected` counts the
    faults dealt, by kind, and `calls` the calls seen.
    """

    def __init__(self, connector: str, plan: FaultPlan) -> None:
        self.connector = connector
        self.plan = plan
        self._random = random.Random(plan.seed)
        self._rates = plan.rates()
        self.calls = 0
        self.injected: Counter[FaultKind] = Counter()

    def draw(self) -> FaultKind | None:
        self.calls += 1
        limit = self.plan.max_faults
        if limit is not None and sum(self.injected.values()) >= limit:
            return None
        point, edge = self._random.random(), 0.0
        for kind, rate in self._rates.items():
            edge += rate
            if point < edge:
                self.injected[kind] += 1
                return kind
        return None

    def _latency(self) -> float:
        low, high = self.plan.latency_ms
        return self._random.uniform(low, high) / 1000 if high else 0.0

    async def call(self, spec: ActionSpec, call: Callable[[], Awaitable[T]]) -> T:
        """`call()` with the fault drawn for it (drawn before the first await, so the order
        of the draws is the order of the calls)."""
        fault, delay = self.draw(), self._latency()
        if delay:
            await asyncio.sleep(delay)
        where = f"{self.connector}.{spec.name}"
        if fault is not None:
            log.debug("injecting %s into %s", fault, where)
        if fault == "error":
            raise Transient(f"{where}: injected fault: service unavailable (503)")
        if fault == "timeout":
            await asyncio.sleep(self.plan.timeout_ms / 1000)
            raise TimedOut(f"{where}: injected fault: no answer in {self.plan.timeout_ms:g} ms")
        if fault == "rate_limited":
            raise RateLimited(
                f"{where}: injected fault: too many requests (429)",
                retry_after=self.plan.retry_after_s,
            )
        result = await call()
        if fault == "crash_after_effect":
            raise TimedOut(f"{where}: injected fault: the call took effect, its reply was lost")
        return result

    def wrap(self, spec: ActionSpec, method: Callable[..., Awaitable[Any]]) -> Any:
        @functools.wraps(method)
        async def faulty(*args: Any, **kwargs: Any) -> Any:
            return await self.call(spec, lambda: method(*args, **kwargs))

        return faulty


def inject_faults(connector: Connector, plan: FaultPlan | Mapping[str, Any]) -> FaultInjector:
    """Put `connector` (this instance) behind the faults of `plan`; returns the injector,
    whose counts say what was dealt. An unknown action in ``actions`` is a
    `ConnectorConfigError`."""
    plan = load_fault_plan(connector.name, plan)
    specs = connector.action_specs()
    unknown = sorted(set(plan.actions or ()) - set(specs))
    if unknown:
        raise ConnectorConfigError(
            f"connector {connector.name!r}: faults.actions: no action "
            f"{', '.join(map(repr, unknown))}; its actions: {', '.join(sorted(specs))}"
        )
    injector = FaultInjector(connector.name, plan)
    for name, spec in specs.items():
        if plan.actions is None or name in plan.actions:
            setattr(connector, name, injector.wrap(spec, getattr(connector, name)))
    return injector
