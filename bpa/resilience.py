"""How the engine calls a connector: retries with back-off, a rate limit, a circuit breaker.

Every connector has one, with the defaults below; its ``resilience`` entry in BPA_CONNECTORS
changes them, e.g. ``BPA_CONNECTORS='{"accounting": {"resilience": {"attempts": 6}}}'``, and
``"resilience": false`` turns it off (the flows' own node retries remain).
Every action call a run makes goes through the connector's `ConnectorGuard` (from
`bpa.runs.context.AuditedConnector`, which writes the attempts into the call's audit event):

- Retries (tenacity) of the errors that say a later try may work, `Transient` ones: 5xx-like
  failures, timeouts, 429s. A refusal (`Rejected`, `Conflict`, `NotFound`, `AuthError`) is
  an answer and never tried again, nor is an unexpected exception. The wait grows
  exponentially with full jitter; after a 429 it is at least the `Retry-After` the system
  asked for. A side-effecting call is made again as it was, with its idempotency key, so a
  try whose reply was lost is answered by the system from that key instead of acting twice.
  A 429 asking for more than `max_retry_after_s` is not waited out in the worker: the call
  is `Unavailable` until then.
- A rate limit (aiolimiter): at most `rate_limit` tries per `rate_period_s`; a try waits
  for its turn.
- A circuit breaker (purgatory): after `breaker_threshold` failed tries in a row (a
  `Transient` error other than a 429, or an unexpected exception), the connector is not
  called for `breaker_reset_s`; calls fail at once with `Unavailable` and its `retry_at`,
  and their runs wait (status ``waiting``, reason ``connector_unavailable``) until the
  executor queues them again. Then the next try is let through: success closes the
  breaker, failure opens it again.

The state is per process: each worker has its own breaker (and rate limit) per connector.
A run that waited in one worker may be taken up by another whose breaker is closed, which
then probes the system for it; one whose breaker is open sends it back to wait at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from connectors.base import config_problem
from connectors.errors import (
    ConnectorConfigError,
    ConnectorError,
    RateLimited,
    TimedOut,
    Transient,
    Unavailable,
)

__all__ = ["CallReport", "ConnectorGuard", "GuardStats", "ResilienceConfig", "load_guard"]

log = logging.getLogger("bpa.resilience")

T = TypeVar("T")


class ResilienceConfig(BaseModel):
    """The ``resilience`` entry of a connector's configuration."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(default=4, ge=1, le=20, description="Tries per call, the first included")
    backoff_initial_s: float = Field(
        default=0.1, ge=0, description="Longest wait before the first retry (full jitter)"
    )
    backoff_max_s: float = Field(default=5.0, ge=0, description="Longest wait between tries")
    max_retry_after_s: float = Field(
        default=10.0,
        ge=0,
        description="A 429 asking for a longer pause makes the run wait, not the worker",
    )
    attempt_timeout_s: float | None = Field(
        default=None, gt=0, description="A try without an answer by then is a timeout"
    )
    rate_limit: float | None = Field(
        default=None, gt=0, description="Most tries per rate_period_s (default: no limit)"
    )
    rate_period_s: float = Field(default=1.0, gt=0)
    breaker_threshold: int = Field(
        default=5, ge=1, description="Failed tries in a row that open the circuit breaker"
    )
    breaker_reset_s: float = Field(
        default=30.0, gt=0, description="How long an open breaker refuses calls"
    )


@dataclass
class CallReport:
    """What happened to one call: tries made, the errors that were retried, whether one of
    its tries opened the breaker (until `open_until`)."""

    attempts: int = 0
    retried: list[str] = field(default_factory=list)
    tripped: bool = False
    open_until: dt.datetime | None = None

    def audit(self) -> dict[str, Any]:
        """The fields a call's audit event gets."""
        return {"attempts": self.attempts, **({"retried": self.retried} if self.retried else {})}


@dataclass
class GuardStats:
    """Counts over the guard's life, in this process."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    trips: int = 0
    #: Calls refused at once because the breaker was open.
    refused: int = 0


def _breaks_circuit(exc: BaseException) -> bool:
    """Whether a failed try counts towards opening the breaker: the system is in trouble.
    A 429 does not (it is up, and said when to come back), nor does a refusal (an answer),
    nor a cancellation (ours, not the system's)."""
    if isinstance(exc, RateLimited):
        return False
    if isinstance(exc, Transient):
        return True
    return isinstance(exc, Exception) and not isinstance(exc, ConnectorError)


def _at(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


class ConnectorGuard:
    """Retries, rate limit and circuit breaker of one connector in this process."""

    def __init__(self, connector: str, config: ResilienceConfig | None = None) -> None:
        self.connector = connector
        self.config = config or ResilienceConfig()
        self.stats = GuardStats()
        self._limiter = (
            AsyncLimiter(self.config.rate_limit, self.config.rate_period_s)
            if self.config.rate_limit
            else None
        )
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=self.config.breaker_threshold,
            default_ttl=self.config.breaker_reset_s,
            exclude=[(BaseException, lambda exc: not _breaks_circuit(exc))],
        )
        self._backoff = wait_random_exponential(
            multiplier=self.config.backoff_initial_s, max=self.config.backoff_max_s
        )
        self._breaker: AsyncCircuitBreaker | None = None
        #: When the breaker last opened (purgatory's `opened_at`), so a trip is told once.
        self._opened_at: float | None = None

    async def call(self, call: Callable[[], Awaitable[T]], report: CallReport | None = None) -> T:
        """`call()` under the guard. Raises its last error when retries do not help, and
        `Unavailable` while the breaker is open (or a 429 asks for a long pause)."""
        report = report if report is not None else CallReport()
        self.stats.calls += 1
        try:
            try:  # most calls succeed at once: no retry machinery for them
                return await self._attempt(call, report)
            except Exception as exc:
                if not self._retryable(exc):
                    raise
                failed: Exception | None = exc
            retrying = AsyncRetrying(
                stop=stop_after_attempt(self.config.attempts),
                wait=self._wait,
                retry=retry_if_exception(self._retryable),
                before_sleep=lambda state: self._note_retry(state, report),
                reraise=True,
            )

            async def again() -> T:
                """The attempt made above, as the retrying's first (it waits and counts from
                there); then new attempts."""
                nonlocal failed
                if failed is not None:
                    first, failed = failed, None
                    raise first
                return await self._attempt(call, report)

            return await retrying(again)
        except RateLimited as exc:
            if exc.retry_after is None or exc.retry_after <= self.config.max_retry_after_s:
                raise
            raise Unavailable(
                f"{self.connector} asked for a pause of {exc.retry_after:g} s",
                connector=self.connector,
                retry_at=_at(time.time() + exc.retry_after),
                cause=exc.code,
            ) from exc

    def is_open(self) -> bool:
        """Whether the breaker refuses calls right now (without asking it for one)."""
        return self._opened_at is not None and time.time() < self._opened_at + (
            self.config.breaker_reset_s
        )

    # -- internals --------------------------------------------------------------------------
    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after <= self.config.max_retry_after_s
        return isinstance(exc, Transient)

    def _wait(self, state: RetryCallState) -> float:
        backoff = self._backoff(state)
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            # At least what the system asked for, spread a little so that the callers it
            # asked do not all come back at the same instant.
            return exc.retry_after + random.uniform(0, self.config.backoff_initial_s)
        return float(backoff)

    def _note_retry(self, state: RetryCallState, report: CallReport) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        report.retried.append(exc.code if isinstance(exc, ConnectorError) else type(exc).__name__)
        self.stats.retries += 1

    def _slot(self) -> AbstractAsyncContextManager[Any]:
        return self._limiter if self._limiter is not None else nullcontext()

    async def _attempt(self, call: Callable[[], Awaitable[T]], report: CallReport) -> T:
        async with self._slot():
            if self._breaker is None:
                self._breaker = await self._breakers.get_breaker(self.connector)
            breaker = self._breaker
            try:
                async with breaker:
                    report.attempts += 1
                    self.stats.attempts += 1
                    return await self._timed(call)
            except OpenedState as opened:
                self.stats.refused += 1
                raise Unavailable(
                    f"{self.connector} is unavailable: its circuit breaker opened after "
                    f"{self.config.breaker_threshold} failed tries in a row",
                    connector=self.connector,
                    retry_at=_at(opened.opened_at + self.config.breaker_reset_s),
                ) from None
            except BaseException:
                self._note_trip(breaker.context.state, breaker.context.opened_at, report)
                raise

    async def _timed(self, call: Callable[[], Awaitable[T]]) -> T:
        timeout = self.config.attempt_timeout_s
        if timeout is None:
            return await call()
        try:
            async with asyncio.timeout(timeout):
                return await call()
        except TimeoutError:
            raise TimedOut(f"{self.connector}: no answer in {timeout:g} s") from None

    def _note_trip(self, state: str, opened_at: float | None, report: CallReport) -> None:
        if state != "opened" or opened_at is None or opened_at == self._opened_at:
            return
        self._opened_at = opened_at
        self.stats.trips += 1
        report.tripped = True
        report.open_until = _at(opened_at + self.config.breaker_reset_s)
        log.warning(
            "circuit breaker of %s opened after %d failed tries in a row; calls wait until %s",
            self.connector,
            self.config.breaker_threshold,
            report.open_until.isoformat(timespec="seconds"),
        )


def load_guard(connector: str, raw: ResilienceConfig | Mapping[str, Any]) -> ConnectorGuard:
    """The guard of `connector` for its ``resilience`` entry; `ConnectorConfigError` with a
    one-line message when the entry does not fit."""
    if isinstance(raw, ResilienceConfig):
        return ConnectorGuard(connector, raw)
    try:
        config = ResilienceConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConnectorConfigError(
            config_problem(connector, ResilienceConfig, exc, section="resilience")
        ) from None
    return ConnectorGuard(connector, config)
