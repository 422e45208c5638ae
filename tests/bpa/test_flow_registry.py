"""The flow registry: names from entry-point metadata, each flow imported on first use, and a
broken plug-in reported rather than raised."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from pydantic import BaseModel

from bpa.flows import Flow, FlowRegistry, load_flows
from bpa.runs.runner import UnknownFlow


class _Input(BaseModel):
    n: int = 0


def _flow(name: str) -> Flow:
    return Flow(
        name=name,
        version="1.0.0",
        description=f"the {name} flow",
        build_graph=lambda: cast(Any, None),
        input_model=_Input,
        make_output=dict,
    )


@dataclass
class FakeEntryPoint:
    """Stands in for `importlib.metadata.EntryPoint`; counts its imports."""

    name: str
    value: str
    target: Any = None
    error: Exception | None = None
    loads: list[str] = field(default_factory=list)

    def load(self) -> Any:
        self.loads.append(self.name)
        if self.error is not None:
            raise self.error
        return self.target


def _entry_points() -> list[FakeEntryPoint]:
    return [
        FakeEntryPoint("alpha", "pkg.alpha:flow", _flow("alpha")),
        FakeEntryPoint("beta", "pkg.beta:flow", _flow("beta")),
        FakeEntryPoint("broken", "nowhere:flow", error=ImportError("No module named 'nowhere'")),
        FakeEntryPoint("odd", "pkg.odd:flow", target=object()),
        FakeEntryPoint("misnamed", "pkg.m:flow", _flow("other")),
    ]


def test_names_come_from_metadata_and_a_flow_is_imported_on_first_lookup() -> None:
    eps = _entry_points()
    registry = FlowRegistry(cast(Any, eps))
    assert list(registry) == ["alpha", "beta", "broken", "odd", "misnamed"]
    assert len(registry) == 5 and "beta" in registry and "gamma" not in registry
    assert all(ep.loads == [] for ep in eps)

    assert registry.flows["beta"].description == "the beta flow"
    assert registry["beta"].flow is registry.flows["beta"]
    assert [ep.name for ep in eps if ep.loads] == ["beta"]
    assert eps[1].loads == ["beta"]  # once, however often it is looked up
    with pytest.raises(KeyError):
        registry["gamma"]


def test_a_broken_plugin_is_reported_not_raised() -> None:
    registry = FlowRegistry(cast(Any, _entry_points()))
    assert registry["broken"].flow is None
    assert registry["broken"].problem == "failed to import: No module named 'nowhere'"
    assert registry["odd"].problem == "pkg.odd:flow is not a bpa.flows.Flow"
    assert registry["misnamed"].problem == "entry point 'misnamed' names flow 'other'"
    assert "broken" not in registry.flows
    assert sorted(registry.flows) == ["alpha", "beta"]  # iterating the flows imports them all
    assert len(registry.flows) == 2


def test_load_flows_imports_every_flow_now() -> None:
    eps = _entry_points()
    infos = load_flows(cast(Any, eps))
    assert all(ep.loads == [ep.name] for ep in eps)
    assert {name for name, info in infos.items() if info.flow is not None} == {"alpha", "beta"}


def test_the_installed_flows_are_listed_without_importing_them() -> None:
    registry = FlowRegistry()
    assert {"invoice_processing", "customer_service", "sales_operations"} <= set(registry)


def test_unknown_flow_is_still_importable_from_the_runner() -> None:
    """`bpa.runs.runner.UnknownFlow` (used by the API) is the registry's error."""
    from bpa import flows

    assert UnknownFlow is flows.UnknownFlow and issubclass(UnknownFlow, LookupError)
