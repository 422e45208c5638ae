"""The offline backend: a deterministic, measured baseline that needs no model server.

Extraction calls the parser that the task's flow supplies (the document heuristics serve
one flow, so they live in it), classification a small scikit-learn model trained on fixture
data, generation the task's Jinja2 message template.
"""

from bpa.models.offline.backend import OfflineBackend

__all__ = ["OfflineBackend"]
