"""The HTTP API (FastAPI). `create_app(settings)` builds it; `bpa serve` runs `create_app()`
under uvicorn, next to the worker processes that execute the runs."""

from api.app import create_app

__all__ = ["create_app"]
