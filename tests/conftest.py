"""Shared fixtures: every test gets its own BPA_HOME and never reads the user's environment."""

from __future__ import annotations

import importlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bpa.config import Settings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"


def _import_the_api_package() -> None:
    """Import the real `api` package before any test module asks for it.

    pytest puts tests/ on sys.path, where the test folder tests/api would be taken for a
    namespace package named `api` and shadow the installed one. Imported once here, with
    tests/ set aside, it is the one every later `import api...` finds.
    """
    tests = str(Path(__file__).resolve().parent)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if not p.startswith(tests)]
    try:
        importlib.import_module("api.app")
    finally:
        sys.path[:] = saved


_import_the_api_package()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("BPA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BPA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    yield


#: When set (CI does), tests using the `settings` fixture run on this PostgreSQL server,
#: each in a fresh schema, instead of on SQLite.
SUITE_POSTGRES_URL = os.environ.get("BPA_TEST_SUITE_POSTGRES_URL", "")


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    if not SUITE_POSTGRES_URL:
        yield Settings(home=tmp_path / "home", fixtures_dir=FIXTURES)
        return
    from sqlalchemy import create_engine, text

    schema = f"bpa_suite_{uuid.uuid4().hex[:12]}"
    admin = create_engine(SUITE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    joiner = "&" if "?" in SUITE_POSTGRES_URL else "?"
    url = f"{SUITE_POSTGRES_URL}{joiner}options=-csearch_path%3D{schema}"
    try:
        yield Settings(home=tmp_path / "home", fixtures_dir=FIXTURES, database_url=url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# -- PostgreSQL (tests marked `postgres`) ------------------------------------------------
# Read at import: the autouse fixture in tests/conftest.py clears BPA_* variables per test.
POSTGRES_URL = os.environ.get("BPA_TEST_POSTGRES_URL", "")
REQUIRED = os.environ.get("BPA_TEST_POSTGRES_REQUIRED", "") not in ("", "0")


def _unreachable(url: str) -> str | None:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    give_up = pytest.fail if REQUIRED else pytest.skip
    if not POSTGRES_URL:
        give_up(
            "BPA_TEST_POSTGRES_URL is not set "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    problem = _unreachable(POSTGRES_URL)
    if problem:
        give_up(f"PostgreSQL at BPA_TEST_POSTGRES_URL is unreachable: {problem}")
    return POSTGRES_URL


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """A database URL whose connections all use a fresh schema of their own."""
    schema = f"bpa_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    joiner = "&" if "?" in postgres_server else "?"
    try:
        yield f"{postgres_server}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
