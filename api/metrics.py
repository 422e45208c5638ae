"""Prometheus metrics: run counts from the database, latencies and errors from the audit trail.

Histograms and counters are fed by a runner listener, so they cover every run this process
executes, however it was started (API, schedule, recovery). Gauges are read from the
database at scrape time, so they are right across processes. One registry per app keeps
apps (and tests) independent.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bpa.errors import RunNotFound
from bpa.runs.runner import Runner
from bpa.runs.tables import RunEvent, RunStatus

__all__ = ["CONTENT_TYPE", "ApiMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_FLOW_CACHE = 4096


class _StoreCollector(Collector):
    def __init__(
        self,
        runner: Runner,
        in_flight: Callable[[], int],
        paused: Callable[[], float] | None = None,
    ) -> None:
        self.runner = runner
        self.in_flight = in_flight
        self.paused = paused

    def collect(self) -> Iterable[Metric]:
        runs = GaugeMetricFamily(
            "bpa_runs", "Runs in the database by flow and status", labels=["flow", "status"]
        )
        counts = self.runner.store.count_by_flow_status()
        flows = set(self.runner.flows) | {flow for flow, _ in counts}
        for flow in sorted(flows):
            for status in RunStatus:
                runs.add_metric([flow, status.value], counts.get((flow, status.value), 0))
        yield runs
        queued = sum(n for (_, status), n in counts.items() if status == RunStatus.queued)
        depth = GaugeMetricFamily("bpa_queue_depth", "Runs queued, waiting for an executor")
        depth.add_metric([], queued)
        yield depth
        active = GaugeMetricFamily("bpa_runs_in_flight", "Runs executing in this process now")
        active.add_metric([], self.in_flight())
        yield active
        if self.paused is not None:
            paused = CounterMetricFamily(
                "bpa_engine_paused_seconds",
                "Time run execution in this process paused for the requests it was serving",
            )
            paused.add_metric([], self.paused())
            yield paused


class ApiMetrics:
    def __init__(
        self,
        runner: Runner,
        *,
        in_flight: Callable[[], int],
        paused: Callable[[], float] | None = None,
    ) -> None:
        self.runner = runner
        self.registry = CollectorRegistry(auto_describe=True)
        self.node_seconds = Histogram(
            "bpa_node_duration_seconds",
            "Time a flow node took",
            ["flow", "node", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.model_seconds = Histogram(
            "bpa_model_call_duration_seconds",
            "Time a model call took",
            ["task", "backend", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.connector_calls = Counter(
            "bpa_connector_calls",
            "Connector action calls",
            ["connector", "action", "outcome"],
            registry=self.registry,
        )
        self.connector_errors = Counter(
            "bpa_connector_errors",
            "Connector action calls that failed, by error code",
            ["connector", "action", "code"],
            registry=self.registry,
        )
        self.runs_finished = Counter(
            "bpa_runs_finished",
            "Runs this process finished, by outcome",
            ["flow", "status"],
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(runner, in_flight, paused))
        self._flows: OrderedDict[str, str] = OrderedDict()
        runner.listeners.append(self.observe)

    def close(self) -> None:
        if self.observe in self.runner.listeners:
            self.runner.listeners.remove(self.observe)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def _flow_of(self, run_id: str) -> str:
        flow = self._flows.get(run_id)
        if flow is None:
            try:
                flow = self.runner.store.get(run_id).flow
            except RunNotFound:
                flow = "unknown"
            self._flows[run_id] = flow
            if len(self._flows) > _FLOW_CACHE:
                self._flows.popitem(last=False)
        return flow

    def observe(self, run_id: str, events: list[RunEvent]) -> None:
        """A runner listener: never raises, metrics must not break runs."""
        try:
            for event in events:
                self._observe(run_id, event)
        except Exception:  # pragma: no cover - defensive, logged by nothing on purpose
            return

    def _observe(self, run_id: str, event: RunEvent) -> None:
        payload = event.payload or {}
        seconds = (event.duration_ms or 0.0) / 1000
        if event.kind in ("node_finished", "node_failed", "interrupted") and event.node:
            outcome = {"node_finished": "ok", "node_failed": "error"}.get(event.kind, "interrupt")
            self.node_seconds.labels(self._flow_of(run_id), event.node, outcome).observe(seconds)
        elif event.kind == "model_call":
            self.model_seconds.labels(
                str(payload.get("task")),
                str(payload.get("backend")),
                "ok" if payload.get("ok") else "error",
            ).observe(seconds)
        elif event.kind == "connector_call":
            connector, action = str(payload.get("connector")), str(payload.get("action"))
            ok = bool(payload.get("ok"))
            self.connector_calls.labels(connector, action, "ok" if ok else "error").inc()
            if not ok:
                error = payload.get("error") or {}
                code = str(error.get("code", "error")) if isinstance(error, dict) else "error"
                self.connector_errors.labels(connector, action, code).inc()
        elif event.kind == "run_finished":
            self.runs_finished.labels(self._flow_of(run_id), str(payload.get("status"))).inc()
