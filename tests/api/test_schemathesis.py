"""Property-based requests from the OpenAPI document: no 5xx, and every response (status,
content type, body) is one the document declares.

Bounded (a few examples per operation) so it stays fast; an admin key lets requests reach
every route's real logic instead of stopping at authentication.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from conftest import with_worker
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import HypothesisDeprecationWarning, Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from toys import toy_suite

from api import create_app
from bpa.auth import ApiKeyStore, Role
from bpa.config import Settings
from bpa.db import create_schema, open_engine

AUTH: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("schemathesis") / "home"
    config = Settings(home=home, max_document_bytes=50_000, executor_poll_s=0.05)
    config.ensure_home()
    engine = open_engine(config)
    create_schema(engine)
    AUTH["Authorization"] = f"Bearer {ApiKeyStore(engine).create(Role.admin, 'fuzz')[1]}"
    engine.dispose()
    app = create_app(config, open_suite=with_worker(toy_suite))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    shutdown_lifespans()


def _variants(operation: Any) -> list[tuple[str, Any]]:
    """Schema-valid and schema-invalid requests; for flow routes also against a real flow,
    so request bodies reach the flow's own input validation."""
    variants = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        variants.append((mode.value, operation.as_strategy(generation_mode=mode)))
    if "{flow}" in operation.path:
        for flow in ("toy", "toy_doc"):
            strategy = operation.as_strategy(path_parameters={"flow": flow})
            variants.append((f"flow={flow}", strategy))
    return variants


@pytest.mark.filterwarnings(
    f"ignore::{HypothesisDeprecationWarning.__module__}.HypothesisDeprecationWarning"
)
def test_api_keeps_its_contract(api_schema: Any) -> None:
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for variant, strategy in _variants(operation):

            @given(case=strategy)
            @settings(
                max_examples=6,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                case.call_and_validate(
                    headers=AUTH,
                    checks=[
                        not_a_server_error,
                        response_schema_conformance,
                        content_type_conformance,
                        status_code_conformance,
                    ],
                    timeout=20,
                )

            try:
                check()
            except Unsatisfiable:  # nothing to make invalid: no parameters, no body
                continue
            except Exception as exc:  # collect every failure, then report them all
                failures.append(f"{operation.label} ({variant}): {exc}")
    assert not failures, "\n\n".join(failures)
