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
        default=None,
        description="Where LangGraph checkpoints live: a SQLite file path or a postgresql:// URL; "
        "default: the PostgreSQL of `database_url`, else SQLite in `home`.",
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

    # -- HTTP API (`bpa serve`) ---------------------------------------------------------------
    api_max_request_bytes: int = Field(
        default=12 * 1024 * 1024,
        gt=0,
        description="Largest request body the API accepts (uploads included); larger is a 413.",
    )
    api_max_header_bytes: int = Field(
        default=64 * 1024,
        ge=4096,
        description="Largest request head (request line and headers) `bpa serve` reads; "
        "a larger one is refused before it is buffered.",
    )
    console_secret: SecretStr | None = Field(
        default=None,
        description="Signs the web console's session cookies (/ui). Unset: a random secret "
        "kept in `home/console_secret`, shared by every API process on that home.",
    )

    # -- Workers (bpa/worker/) -----------------------------------------------------------------
    broker_url: str | None = Field(
        default=None,
        description="A Celery broker (redis://... or amqp://...): runs are dispatched to "
        "`bpa worker` processes through it. Unset: workers take runs from the database.",
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Executions of a run that crash (its process died or its lease ran out) "
        "before it fails as `crashed_repeatedly`.",
    )
    retry_backoff_s: float = Field(
        default=5.0,
        ge=0,
        description="Back-off before a crashed run's next attempt: none after the first crash, "
        "then this, 3x, 7x ...",
    )
    worker_heartbeat_s: float = Field(
        default=5.0, gt=0, description="How often a worker records that it is alive."
    )

    # -- Background execution and schedules (bpa/executor.py, bpa/scheduler.py) ------------
    executor_concurrency: int = Field(
        default=4, ge=1, le=256, description="Runs one process executes at the same time."
    )
    executor_poll_s: float = Field(
        default=1.0, gt=0, description="How often the executor looks for queued runs."
    )
    run_lease_s: float = Field(
        default=60.0,
        ge=1,
        description="A running run's lease; when its process dies, another resumes it after this.",
    )
    scheduler_interval_s: float = Field(
        default=1.0, gt=0, description="How often the scheduler looks for due schedules."
    )
    scheduler_misfire_grace_s: float = Field(
        default=60.0,
        ge=0,
        description="A firing later than this (after downtime) is a misfire: its schedule's "
        "misfire policy decides whether it still runs.",
    )

    # -- Customer service (flows/customer_service) -------------------------------------------
    refund_approval_threshold: Decimal = Field(
        default=Decimal("200"),
        ge=0,
        description="A customer-service action that refunds more than this waits for a human.",
    )
    max_message_chars: int = Field(
        default=20_000,
        gt=0,
        description="Longest customer message read; a longer one goes to a human, unread.",
    )
    follow_up_days: int = Field(
        default=3, ge=0, le=60, description="Days until a customer-service follow-up task is due."
    )
    cs_knowledge_auth_channels: list[Literal["email", "chat", "api"]] = Field(
        default_factory=list,
        description="Channels on which first name + last name + zip code in the message identify "
        "a customer (tau's retail policy allows it for chat). Off by default: anyone who knows "
        "a customer's name and zip code passes it. E.g. BPA_CS_KNOWLEDGE_AUTH_CHANNELS="
        "'[\"chat\"]'.",
    )
    cs_email_require_dmarc_pass: bool = Field(
        default=False,
        description="An e-mail identifies its sender only when the gateway's "
        "Authentication-Results report dmarc=pass (default: unless they report a failure).",
    )
    cs_thread_expiry_hours: float = Field(
        default=72,
        gt=0,
        description="How long a customer-service run waits for the customer's answer to its "
        "question; then the ticket goes to a person (`bpa scheduler` checks).",
    )
    cs_thread_max_turns: int = Field(
        default=6,
        ge=1,
        le=50,
        description="Customer messages one conversation (run) reads; the next goes to a person.",
    )

    # -- Inbound e-mail (bpa/triggers/inbox.py, `bpa inbox`; the mailbox: BPA_CONNECTORS) ------
    inbox_connector: str = Field(
        default="imap", description="The inbox connector whose mailbox `bpa inbox` reads."
    )
    inbox_invoice_flow: str = Field(
        default="invoice_processing", description="Started once per invoice attachment."
    )
    inbox_message_flow: str = Field(
        default="customer_service", description="Started by an e-mail with no invoice attached."
    )
    inbox_batch_size: int = Field(
        default=50, ge=1, le=500, description="Messages one pass reads before marking them."
    )
    inbox_max_invoices: int = Field(
        default=10,
        ge=1,
        le=100,
        description="A message with more invoice attachments is skipped (for a person).",
    )
    inbox_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="`bpa inbox watch`: seconds between passes (with IMAP IDLE, the longest "
        "wait for news before looking anyway).",
    )

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'bpa.db'}"

    def resolved_checkpoint_url(self) -> str:
        """Where checkpoints live: `checkpoint_url` if set, else next to the runs (the same
        PostgreSQL database, or a SQLite file in `home`). A SQLite file is returned as a path."""
        if self.checkpoint_url:
            return self.checkpoint_url
        database = self.resolved_database_url()
        if database.startswith("postgresql"):
            return database
        return str(self.home / "checkpoints.db")

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home
