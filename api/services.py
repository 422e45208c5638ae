"""What the app builds at start-up and its routes use, in one place (`app.state.services`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.execution import EngineHost
from api.intake import RunIntake
from api.metrics import ApiMetrics
from api.streaming import RunWatch
from bpa.auth import ApiKeyStore
from bpa.config import Settings
from bpa.suite import Suite

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    #: Synchronous parts (stores, flows, documents) are used from the HTTP loop directly;
    #: async engine work goes through `engine.call`.
    suite: Suite
    engine: EngineHost
    watch: RunWatch
    keys: ApiKeyStore
    metrics: ApiMetrics
    #: Records the runs the API starts (group commit).
    intake: RunIntake
    #: Mermaid graphs by flow, drawn once.
    graphs: dict[str, str] = field(default_factory=dict)
