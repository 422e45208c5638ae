"""Prometheus metrics, read from the database at scrape time.

Runs execute in worker processes, so this process sees them only in the database: the
gauges here are right however many workers and API processes share it. Latencies of nodes,
model and connector calls are the workers' to export. One registry per app keeps apps (and
tests) independent.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bpa.runs.runner import Runner
from bpa.runs.tables import RunStatus
from bpa.worker.heartbeats import live_workers

__all__ = ["CONTENT_TYPE", "ApiMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreCollector(Collector):
    def __init__(self, runner: Runner) -> None:
        self.runner = runner

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


class ApiMetrics:
    def __init__(self, runner: Runner) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StoreCollector(runner))

    def render(self) -> bytes:
        """The metrics in Prometheus text format (reads the database: call off the loop)."""
        return generate_latest(self.registry)
