"""Prometheus metrics, read from the database at scrape time.

Runs execute in worker processes, so this process sees them only in the database: the
gauges here are right however many workers and API processes share it. Latencies of nodes,
model and connector calls are the workers' to export. One registry per app keeps apps (and
tests) independent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bpa.runs.runner import Runner
from bpa.runs.stats import VersionStats, flow_stats
from bpa.runs.tables import RunStatus
from bpa.worker.heartbeats import live_workers

__all__ = ["CONTENT_TYPE", "ApiMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreCollector(Collector):
    def __init__(self, runner: Runner, *, stats_ttl_s: float) -> None:
        self.runner = runner
        self.stats_ttl_s = stats_ttl_s
        self._stats: tuple[float, list[VersionStats]] | None = None
        self._stats_lock = threading.Lock()

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
        depth = GaugeMetricFamily("bpa_queue_depth", "Runs queued, waiting for a worker")
        depth.add_metric([], queued)
        yield depth
        yield from _worker_metrics(self.runner)
        yield from _version_metrics(self.version_stats())

    def version_stats(self) -> list[VersionStats]:
        """Automation health per flow and version, computed at most every `stats_ttl_s`: it
        reads every run and audit event (about 0.5 s at 100k runs, benchmarks/stats_scale.py),
        and moves slowly."""
        with self._stats_lock:
            now = time.monotonic()
            if self._stats is None or now - self._stats[0] >= self.stats_ttl_s:
                self._stats = (now, flow_stats(self.runner.store.engine))
            return self._stats[1]


def _worker_metrics(runner: Runner) -> Iterable[Metric]:
    """One series per live worker process (from their heartbeats), and the attempts that
    runs needed: a rising `bpa_run_crashes_total` is a worker dying under some input."""
    workers = live_workers(runner.store.engine, within_s=3 * runner.settings.worker_heartbeat_s)
    labels = ["worker", "kind"]
    alive = GaugeMetricFamily("bpa_workers", "Worker processes seen in the last heartbeats")
    alive.add_metric([], len(workers))
    yield alive
    in_flight = GaugeMetricFamily(
        "bpa_worker_in_flight", "Runs a worker executes now", labels=labels
    )
    executed = GaugeMetricFamily(
        "bpa_worker_executed", "Runs a worker executed since it started", labels=labels
    )
    for worker in workers:
        in_flight.add_metric([worker.id, worker.kind], worker.in_flight)
        executed.add_metric([worker.id, worker.kind], worker.executed)
    yield in_flight
    yield executed
    crashes = GaugeMetricFamily(
        "bpa_run_crashes_total", "Executions that died without an outcome (all runs)"
    )
    crashes.add_metric([], runner.store.count_events("run_recovered"))
    yield crashes


def _version_metrics(stats: list[VersionStats]) -> Iterable[Metric]:
    """Per flow and version: a change after a new version is how drift shows (see
    bpa/runs/stats.py for what each counts)."""
    labels = ["flow", "version"]
    runs = GaugeMetricFamily(
        "bpa_flow_version_runs", "Runs by flow, version and status", labels=[*labels, "status"]
    )
    automation = GaugeMetricFamily(
        "bpa_flow_version_automation_ratio",
        "Finished runs that succeeded without asking a human",
        labels=labels,
    )
    corrections = GaugeMetricFamily(
        "bpa_flow_version_correction_ratio",
        "Finished runs in which a human corrected the field",
        labels=[*labels, "field"],
    )
    rollbacks = GaugeMetricFamily(
        "bpa_flow_version_rollbacks", "Runs rolled back (or whose rollback failed)", labels=labels
    )
    duration = GaugeMetricFamily(
        "bpa_flow_version_duration_seconds",
        "Duration of finished runs, start to finish (waits for humans included)",
        labels=[*labels, "quantile"],
    )
    model_calls = GaugeMetricFamily(
        "bpa_flow_version_model_calls_per_run", "Model calls per started run", labels=labels
    )
    for entry in stats:
        key = [entry.flow, entry.version]
        for status, n in sorted(entry.runs.items()):
            runs.add_metric([*key, status], n)
        rollbacks.add_metric(key, entry.rollbacks)
        if entry.automation_rate is not None:
            automation.add_metric(key, entry.automation_rate)
        for field, rate in entry.correction_rates.items():
            corrections.add_metric([*key, field], rate)
        for quantile, seconds in (("0.5", entry.p50_s), ("0.95", entry.p95_s)):
            if seconds is not None:
                duration.add_metric([*key, quantile], seconds)
        if entry.model_calls_per_run is not None:
            model_calls.add_metric(key, entry.model_calls_per_run)
    yield from (runs, automation, corrections, rollbacks, duration, model_calls)


class ApiMetrics:
    def __init__(self, runner: Runner, *, stats_ttl_s: float = 30.0) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StoreCollector(runner, stats_ttl_s=stats_ttl_s))

    def render(self) -> bytes:
        """The metrics in Prometheus text format (reads the database: call off the loop)."""
        return generate_latest(self.registry)
