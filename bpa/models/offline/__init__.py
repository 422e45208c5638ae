"""The offline backend: a deterministic, measured baseline that needs no model server.

Extraction uses each task's offline parser (built on dateparser, price-parser, rapidfuzz,
python-stdnum and schwifty through `bpa.models.offline.text`), classification a small
scikit-learn model trained on fixture data, generation the task's Jinja2 message template.
"""

from bpa.models.offline.backend import OfflineBackend

__all__ = ["OfflineBackend"]
