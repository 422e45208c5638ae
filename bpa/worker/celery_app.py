"""Runs as Celery tasks: one message per run, delivered at least once, executed at most once.

The message carries only the run id; the run itself is in the database. Delivery is
acks-late (a message is acknowledged after its run settled, and given back if the worker
dies), so a run is never lost with a worker; a message delivered twice is harmless, since
executing a run needs its lease (bpa/runs/leases.py) and a run that is finished, waiting or
held elsewhere is left alone.

Celery has no coroutine tasks: a worker process runs Celery's thread pool, and each thread
hands its run to the process's one asyncio loop (`WorkerRuntime`), where all of the
process's runs are driven side by side.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from bpa.config import Settings

__all__ = ["QUEUE", "TASK", "attach_runtime", "make_celery", "publish", "queue_length"]

TASK = "bpa.execute_run"
QUEUE = "bpa.runs"
#: A message taken by a worker that vanished is delivered again after this (Redis); the
#: sweeper re-dispatches sooner when a run's lease expires.
_VISIBILITY_S = 600


def make_celery(settings: Settings) -> Celery:
    """The app that publishes runs (API, scheduler) and executes them (`bpa worker`)."""
    if not settings.broker_url:
        raise ValueError("BPA_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    app = Celery("bpa", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        broker_transport_options={"visibility_timeout": _VISIBILITY_S},
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
    )
    app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)(_execute_run)
    return app


def publish(app: Celery, run_id: str) -> None:
    app.send_task(TASK, args=[run_id], queue=QUEUE, retry=True)


def queue_length(app: Celery) -> int:
    """Messages waiting in the runs queue (not those a worker has taken)."""
    with app.connection_for_write() as connection:
        try:
            declared = connection.default_channel.queue_declare(queue=QUEUE, passive=True)
        except connection.channel_errors:  # no such queue yet: nothing waits
            return 0
        return int(declared.message_count)


def _execute_run(task: Any, run_id: str) -> str:
    """The task body, on one of Celery's pool threads: the process's loop does the work."""
    runtime = getattr(task.app, "bpa_runtime", None)
    if runtime is None:
        raise RuntimeError("this Celery worker has no BPA runtime; start it with `bpa worker`")
    return str(runtime.execute(run_id))


def attach_runtime(app: Celery, runtime: Any) -> None:
    """Start `runtime` when the worker starts and stop it (in-flight runs finish or stop at
    a checkpoint) when the worker shuts down."""
    app.bpa_runtime = runtime

    def _start(**_: Any) -> None:
        runtime.start()

    def _stop(**_: Any) -> None:
        runtime.stop()

    signals.worker_init.connect(_start, weak=False)
    signals.worker_shutdown.connect(_stop, weak=False)
