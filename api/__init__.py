"""The HTTP API (FastAPI). `create_app(settings)` builds it; `bpa serve` runs it."""

from api.app import create_app

__all__ = ["create_app"]
