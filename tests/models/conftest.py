"""Fixtures for the model gateway tests: a local OpenAI-compatible server and prompt templates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import FakeOpenAIServer

from bpa.config import Settings
from bpa.models import PromptLibrary


@pytest.fixture(scope="session")
def _openai_server_process() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def openai_server(_openai_server_process: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """The fake server, with an empty script and no recorded requests for each test."""
    _openai_server_process.reset()
    yield _openai_server_process
    _openai_server_process.reset()


@pytest.fixture
def openai_settings(openai_server: FakeOpenAIServer) -> Callable[..., Settings]:
    """Real settings for the openai backend, pointed at the fake server; keywords override."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "model_backend": "openai",
            "openai_base_url": openai_server.base_url,
            "openai_api_key": "test-key",
            "openai_model": "fake-model",
            "model_timeout_s": 5.0,
            "model_max_retries": 2,
            **overrides,
        }
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def prompts(tmp_path: Path) -> PromptLibrary:
    """A flow's prompt folder, made up for the tests."""
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "extract.j2").write_text(
        "You read supplier invoices for {{ company }}.\n"
        "Fill in every field of {{ schema.model_json_schema()['title'] }}; "
        "leave unknown fields null.\n"
    )
    (folder / "classify.j2").write_text(
        "Say which kind of document this is: one of {{ labels | join(', ') }}.\n"
    )
    (folder / "reply.j2").write_text(
        "Write a two-line reply to {{ customer }} about {{ topic }}.\n"
    )
    return PromptLibrary(folder)
