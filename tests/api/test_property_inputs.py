"""Property-based: whatever JSON or multipart body reaches a route that creates something,
a 4xx answer records nothing, no answer is a 5xx, and no text of a file outside the document
store ever appears in a response (issue #9).

Hypothesis builds the bodies from the shapes the routes expect, mixed with what an attacker
sends: paths and traversals where a document digest goes, NUL characters, huge and
non-finite numbers, wrong types, unknown keys.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from conftest import services, with_worker
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from toys import TOY_PEEK, toy_suite

from api import create_app
from bpa.auth import ApiKey, Role
from bpa.config import Settings
from bpa.documents import DocumentStore
from bpa.flows import FlowInfo
from bpa.runs.tables import Approval, Run, RunEvent
from bpa.schedules import Schedule
from bpa.suite import Suite

# Run ids draw from `random` inside the app; that is not the strategies' randomness.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

#: Unique text in a file outside the store: it must never come back in a response.
SECRET = f"OUTSIDE-THE-STORE-{uuid.uuid4().hex}"
_OUTSIDE: dict[str, Any] = {}


def _paths() -> st.SearchStrategy[str]:
    outside = _OUTSIDE["file"]
    return st.sampled_from(
        [
            str(outside),
            f"../../../../../../..{outside}",
            "../" * 12 + "etc/passwd",
            "/etc/passwd",
            "/etc/hostname",
            "/dev/zero",
            "/proc/self/environ",
            "..",
            "ab/../../cd",
            "%2e%2e%2fetc%2fpasswd",
            "0" * 64,
            "f" * 63 + "/",
        ]
    )


_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "nan", "inf", "-1", "1e309", "null", "{}"]),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def _document(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly well-formed references, so that most reach the store and the flow."""
    doc: dict[str, Any] = {
        "filename": draw(st.one_of(st.just("a.txt"), _text, _paths())),
        "size": draw(
            st.one_of(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(-5, 2**40))
        ),
        "media_type": draw(st.sampled_from(["text/plain", "application/pdf", "x/y", ""])),
        "sha256": draw(
            st.one_of(
                _paths(),
                st.just(_OUTSIDE["stored"]),  # a document the store holds
                st.text(alphabet="0123456789abcdef", max_size=64),
            )
        ),
    }
    if draw(st.integers(0, 3)) == 0:
        doc["stored"] = draw(st.booleans())
    return doc


def _toy_input() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries(
            {"amount": st.one_of(st.integers(-10, 10**6), _scalars)},
            optional={"ref": _text, "extra": _json},
        ),
        _json,
    )


def _doc_input() -> st.SearchStrategy[Any]:
    document = st.fixed_dictionaries({"document": _document()}, optional={"source": _text})
    return st.one_of(document, document, document, _json)


def _schedule() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries(
            {
                "flow": st.sampled_from(["toy", "toy", "toy_doc", "nope", "\x00"]),
                "cron": st.sampled_from(
                    ["* * * * *", "0 0 30 2 *", "61 * * * *", "x", "*/5 * * * *", "0 0 31 4 *"]
                ),
                "input": st.one_of(
                    st.just({"amount": 2}), _toy_input(), st.lists(_toy_input(), max_size=3)
                ),
            },
            optional={
                "timezone": st.sampled_from(
                    ["UTC", "Europe/Berlin", "Mars/Olympus", "../../etc/passwd"]
                ),
                "name": _text,
                "overlap": st.sampled_from(["skip", "allow", "sometimes"]),
            },
        ),
        _json,
    )


_BODIES: dict[str, st.SearchStrategy[Any]] = {
    "/flows/toy/runs": st.fixed_dictionaries({"input": _toy_input()}),
    "/flows/toy/runs/wait?timeout=5": st.fixed_dictionaries({"input": _toy_input()}),
    "/flows/toy_doc/runs": st.one_of(st.fixed_dictionaries({"input": _doc_input()}), _json),
    "/flows/toy_doc/runs/wait?timeout=5": st.fixed_dictionaries({"input": _doc_input()}),
    "/flows/toy_peek/runs/wait?timeout=5": st.fixed_dictionaries({"input": _doc_input()}),
    "/flows/toy/runs/stream": st.fixed_dictionaries({"input": _toy_input()}),
    "/flows/toy/batches": st.fixed_dictionaries(
        {"inputs": st.lists(_toy_input(), min_size=0, max_size=4)}
    ),
    "/flows/toy_doc/batches": st.fixed_dictionaries(
        {"inputs": st.lists(_doc_input(), min_size=1, max_size=3)}
    ),
    "/schedules": _schedule(),
    "/keys": st.one_of(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["viewer", "admin", "root", "\x00"])},
            optional={"name": _text},
        ),
        _json,
    ),
}


@asynccontextmanager
async def _suite_with_peek(settings_: Settings) -> AsyncIterator[Suite]:
    """The toy suite plus a flow that shows the start of its document."""
    async with toy_suite(settings_) as suite:
        suite.runner.flows["toy_peek"] = TOY_PEEK
        suite.flow_infos["toy_peek"] = FlowInfo("toy_peek", TOY_PEEK)
        yield suite


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    home = tmp_path_factory.mktemp("property")
    outside = home / "outside.txt"
    outside.write_text(SECRET, encoding="utf-8")
    _OUTSIDE["file"] = outside
    settings_ = Settings(home=home / "home", executor_poll_s=0.05, max_document_bytes=50_000)
    store = DocumentStore(settings_.home / "documents", max_bytes=settings_.max_document_bytes)
    _OUTSIDE["stored"] = store.put(b"INVOICE 1\nTotal 9.99\n", "stored.txt").sha256
    yield create_app(settings_, open_suite=with_worker(_suite_with_peek))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        _record, secret = services(app).keys.create(Role.admin, name="property")
        test_client.headers["Authorization"] = f"Bearer {secret}"
        yield test_client


def _records(app: FastAPI) -> dict[str, int]:
    """What only a request creates: runs (and their `run_created` events), schedules, keys
    and stored documents. Runs started earlier go on writing their own events meanwhile."""
    suite = services(app).suite
    counts = {}
    with suite.engine.connect() as conn:
        for table in (Run, Schedule, ApiKey):
            counts[table.__name__] = conn.execute(
                select(func.count()).select_from(table)  # type: ignore[arg-type]
            ).scalar_one()
        counts["run_created"] = conn.execute(
            select(func.count()).select_from(RunEvent).where(RunEvent.kind == "run_created")  # type: ignore[arg-type]
        ).scalar_one()
    store = suite.documents.root
    counts["documents"] = sum(1 for p in store.rglob("*") if p.is_file()) if store.exists() else 0
    return counts


def _check(app: FastAPI, response: Any, before: dict[str, int], seen: set[int]) -> None:
    seen.add(response.status_code)
    assert response.status_code < 500, response.text
    assert SECRET not in response.text
    assert "root:x:0:0" not in response.text
    if 400 <= response.status_code < 500:
        assert _records(app) == before, (response.status_code, response.text)


def _valid(route: str) -> dict[str, Any]:
    """A body the route accepts."""
    document = {"filename": "a.txt", "size": 1, "sha256": _OUTSIDE["stored"]}
    item = {"document": document} if route.startswith("/flows/toy_") else {"amount": 2}
    if route == "/schedules":
        return {"flow": "toy", "cron": "*/5 * * * *", "input": item}
    if route == "/keys":
        return {"role": "viewer", "name": "property"}
    return {"inputs": [item]} if route.endswith("batches") else {"input": item}


_PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("route", sorted(_BODIES))
def test_json_bodies(app: FastAPI, client: TestClient, route: str) -> None:
    seen: set[int] = set()

    @_PROPERTY
    @given(body=_BODIES[route], raw=st.booleans())
    @example(body=_valid(route), raw=False)  # one the route accepts, whatever is drawn
    def check(body: Any, raw: bool) -> None:
        before = _records(app)
        if raw:  # the body as bytes: NUL escapes and non-finite numbers as they arrive
            content = json.dumps(body, allow_nan=True).encode()
            response = client.post(
                route, content=content, headers={"content-type": "application/json"}
            )
        else:
            response = client.post(route, json=body)
        _check(app, response, before, seen)

    check()
    assert any(200 <= s < 300 for s in seen) and any(400 <= s < 500 for s in seen), seen


@pytest.mark.parametrize(
    "route",
    [
        "/flows/toy_doc/runs",
        "/flows/toy_doc/batches",
        "/flows/toy/runs",
        "/flows/toy_peek/runs/wait?timeout=5",
    ],
)
def test_multipart_bodies(app: FastAPI, client: TestClient, route: str) -> None:
    field = "files" if route.endswith("batches") else "file"
    seen: set[int] = set()

    @_PROPERTY
    @given(
        name=st.one_of(_text, _paths()),
        data=st.binary(max_size=200),
        extra=st.one_of(st.none(), _text, _json.map(json.dumps), _doc_input().map(json.dumps)),
        oversized=st.booleans(),
    )
    def check(name: str, data: bytes, extra: str | None, oversized: bool) -> None:
        before = _records(app)
        payload = data * 400 if oversized and data else data
        files = {field: (name or "x", payload, "application/octet-stream")}
        form = {"input": extra} if extra is not None else None
        response = client.post(route, files=files, data=form)
        _check(app, response, before, seen)

    check()
    assert any(400 <= s < 500 for s in seen), seen


def _decisions(conn_app: FastAPI) -> tuple[int, int]:
    suite = services(conn_app).suite
    with suite.engine.connect() as conn:
        decided = conn.execute(
            select(func.count()).select_from(Approval).where(Approval.decided_at.is_not(None))  # type: ignore[arg-type, union-attr]
        ).scalar_one()
        recorded = conn.execute(
            select(func.count()).select_from(RunEvent).where(RunEvent.kind == "decision_recorded")  # type: ignore[arg-type]
        ).scalar_one()
    return int(decided), int(recorded)


def test_resume_and_cancel_bodies(app: FastAPI, client: TestClient) -> None:
    """Answers to a waiting run's question, and cancellations: a 4xx records no decision and
    changes no run."""
    seen: set[int] = set()
    waiting: list[str] = []

    def a_waiting_run() -> str:
        if not waiting:
            run = client.post("/flows/toy/runs/wait?timeout=10", json={"input": {"amount": 150}})
            assert run.json()["status"] == "waiting", run.text
            waiting.append(run.json()["id"])
        return waiting[0]

    decision = st.one_of(
        st.fixed_dictionaries(
            {"action": st.sampled_from(["approve", "reject", "correct", "maybe", "\x00"])},
            optional={"comment": _text, "corrections": _json},
        ),
        _json,
    )

    @_PROPERTY
    @given(
        body=decision,
        timeout=st.sampled_from(["5", "0", "nan", "-1", "inf"]),
        cancel=st.booleans(),
    )
    def check(body: Any, timeout: str, cancel: bool) -> None:
        run_id = a_waiting_run()
        before = (_decisions(app), client.get(f"/runs/{run_id}").json()["status"])
        if cancel:
            response = client.post(f"/runs/{run_id}/cancel", json=body)
        else:
            response = client.post(f"/runs/{run_id}/resume?timeout={timeout}", json=body)
        seen.add(response.status_code)
        assert response.status_code < 500, response.text
        if 400 <= response.status_code < 500:
            after = (_decisions(app), client.get(f"/runs/{run_id}").json()["status"])
            assert after == before, response.text
        elif response.status_code < 300:
            waiting.clear()  # answered or cancelled: the next example needs a new one

    check()
    assert any(400 <= s < 500 for s in seen), seen
