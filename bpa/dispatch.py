"""Telling workers that runs are ready.

The database is the record of truth: a run exists once it is recorded as `queued`, and a
worker executes it only after taking its lease there. A dispatcher only tells workers
sooner. Without a broker, workers poll the database and there is nothing to send; with
`BPA_BROKER_URL`, each run id is published to Celery (bpa/worker/celery_app.py). A publish
that fails (broker down) loses nothing: the run stays queued and the sweeper in
`bpa scheduler` dispatches it again (`redispatch`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from bpa.config import Settings

__all__ = ["DatabaseDispatch", "Dispatcher", "make_dispatcher"]

log = logging.getLogger("bpa.dispatch")


class Dispatcher(Protocol):
    #: "database" (workers poll) or "celery".
    kind: str

    def dispatch(self, run_ids: Sequence[str]) -> None:
        """Tell workers these runs are ready. Never raises: the sweeper repairs losses."""
        ...

    def pending(self) -> int | None:
        """Messages waiting in the broker, or None when that cannot be told."""
        ...

    def close(self) -> None: ...


class DatabaseDispatch:
    """No broker: workers find queued runs by polling the database."""

    kind = "database"

    def dispatch(self, run_ids: Sequence[str]) -> None:
        return None

    def pending(self) -> int | None:
        return None

    def close(self) -> None:
        return None


class CeleryDispatch:
    """Publishes one `bpa.execute_run` message per run."""

    kind = "celery"

    def __init__(self, settings: Settings) -> None:
        from bpa.worker.celery_app import make_celery

        self.app: Any = make_celery(settings)

    def dispatch(self, run_ids: Sequence[str]) -> None:
        from bpa.worker.celery_app import publish

        for run_id in run_ids:
            try:
                publish(self.app, run_id)
            except Exception as exc:  # the run stays queued; the sweeper sends it again
                log.warning("could not publish run %s (%s); the sweeper will", run_id, exc)

    def pending(self) -> int | None:
        from bpa.worker.celery_app import queue_length

        try:
            return queue_length(self.app)
        except Exception as exc:  # broker down: the sweep publishes again when it is back
            log.warning("cannot read the broker's queue length (%s)", exc)
            return None

    def close(self) -> None:
        self.app.close()


def make_dispatcher(settings: Settings) -> Dispatcher:
    if settings.broker_url:
        return CeleryDispatch(settings)
    return DatabaseDispatch()
