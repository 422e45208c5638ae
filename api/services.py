"""What the app builds at start-up and its routes use, in one place (`app.state.services`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.metrics import ApiMetrics
from api.streaming import RunFollower
from bpa.auth import ApiKeyStore
from bpa.config import Settings
from bpa.dispatch import Dispatcher
from bpa.suite import Suite

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    #: Flows (to validate inputs), stores and connectors; no run executes in this process.
    #: Its stores are synchronous: routes call them off the event loop.
    suite: Suite
    #: Tells workers that runs are queued (nothing to do when they poll the database).
    dispatcher: Dispatcher
    #: Follows runs through the database (waits, streams, resumes).
    follower: RunFollower
    keys: ApiKeyStore
    metrics: ApiMetrics
    #: Mermaid graphs by flow, drawn once.
    graphs: dict[str, str] = field(default_factory=dict)
