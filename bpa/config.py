"""One `Settings` object, read from `BPA_*` environment variables (or `.env`) and passed in."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the suite can be configured with. Defaults run offline on SQLite."""

    model_config = SettingsConfigDict(env_prefix="BPA_", env_file=".env", extra="ignore")

    home: Path = Field(
        default=Path(".bpa"),
        description="Directory for the default SQLite databases, documents and reports.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL for runs and the mocked systems; default: SQLite in `home`.",
    )
    checkpoint_url: str | None = Field(
        default=None, description="Where LangGraph checkpoints live; default: SQLite in `home`."
    )

    model_backend: Literal["offline", "openai"] = "offline"
    openai_base_url: str | None = Field(
        default=None, description="Any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama)."
    )
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    openai_structured_method: Literal["json_schema", "function_calling", "json_mode"] = (
        "json_schema"
    )
    model_timeout_s: float = 60.0
    model_max_retries: int = Field(default=2, ge=0, le=10)

    max_document_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    invoice_approval_threshold: Decimal = Field(
        default=Decimal("5000"), description="Invoices with a total above this wait for a human."
    )
    min_extraction_confidence: float = Field(default=0.75, ge=0, le=1)
    connectors: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-connector config, e.g. BPA_CONNECTORS='{\"accounting\": {...}}'. "
        "Mocked systems default to the suite's database and seed from `fixtures_dir`.",
    )
    fixtures_dir: Path = Field(
        default=Path(__file__).resolve().parent.parent / "fixtures",
        description="Seed data for the mocked systems.",
    )

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'bpa.db'}"

    def resolved_checkpoint_path(self) -> Path:
        return Path(self.checkpoint_url) if self.checkpoint_url else self.home / "checkpoints.db"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home
