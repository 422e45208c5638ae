"""The HTTP API (FastAPI). `create_app(settings)` builds it; `bpa serve` runs
`create_served_app()`."""

from api.app import create_app, create_served_app

__all__ = ["create_app", "create_served_app"]
