"""The model gateway: typed tasks (extract, classify, generate, plan) on a chosen backend."""

from __future__ import annotations

from bpa.config import Settings
from bpa.models.gateway import AuditSink, ModelBackend, ModelGateway
from bpa.models.prompts import PromptLibrary, RenderedPrompt
from bpa.models.tasks import (
    Classification,
    ClassifyTask,
    Extraction,
    ExtractTask,
    GenerateTask,
    Generation,
    OfflineClassifier,
    Planning,
    PlanTask,
    Tool,
    ToolUse,
    Usage,
)

__all__ = [
    "AuditSink",
    "Classification",
    "ClassifyTask",
    "ExtractTask",
    "Extraction",
    "GenerateTask",
    "Generation",
    "ModelBackend",
    "ModelGateway",
    "OfflineClassifier",
    "PlanTask",
    "Planning",
    "PromptLibrary",
    "RenderedPrompt",
    "Tool",
    "ToolUse",
    "Usage",
    "make_backend",
]


def make_backend(settings: Settings) -> ModelBackend:
    """The backend `BPA_MODEL_BACKEND` names."""
    if settings.model_backend == "openai":
        from bpa.models.openai_backend import OpenAIBackend

        return OpenAIBackend(settings)
    from bpa.models.offline import OfflineBackend

    return OfflineBackend(cache_dir=settings.home / "models")
