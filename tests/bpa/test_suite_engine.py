"""The suite owns its database: the mocked systems share its engine unless configured with a
database of their own."""

from __future__ import annotations

from pathlib import Path

from bpa.config import Settings
from bpa.suite import Suite

MOCKED = ("accounting", "crm", "ticketing", "mail")


async def test_mocked_systems_share_the_suite_engine(settings: Settings) -> None:
    async with Suite.open(settings) as suite:
        for name in MOCKED:
            assert suite.connectors[name].engine is suite.engine, name  # type: ignore[attr-defined]


async def test_a_system_with_its_own_database_builds_its_own_engine(
    settings: Settings, tmp_path: Path
) -> None:
    own = {"database_url": f"sqlite:///{tmp_path / 'accounting.db'}"}
    settings = settings.model_copy(update={"connectors": {"accounting": own}})
    async with Suite.open(settings) as suite:
        accounting = suite.connectors["accounting"].engine  # type: ignore[attr-defined]
        assert accounting is not suite.engine
        assert accounting.url.database == str(tmp_path / "accounting.db")
        assert suite.connectors["crm"].engine is suite.engine  # type: ignore[attr-defined]
