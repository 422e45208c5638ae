"""What version of a flow a run executes, and whether a run can carry on under another one.

A version is a short hash of what decides a run's behaviour and the engine can see: the
compiled graph's nodes (with their kind) and edges, the state keys, the files of the flow's
`prompts/` and `templates/` folders (beside the module that defines `build_graph`), the
flow's declared version and the package that installed it. It changes when any of them
does; it says nothing of a node's Python code while the package version stays the same.

A waiting run can resume on another version when LangGraph's checkpoint still means the
same thing there: the node it waits at exists, every node and edge reachable from that node
is unchanged (the steps it has yet to take), and no state key it holds was removed. What
ran before the question, prompt wording and node kinds may differ.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpa.flows import GROUP, Flow

if TYPE_CHECKING:
    from langgraph.graph import StateGraph

__all__ = ["FlowVersion", "resume_problem", "version_of"]

#: Hex digits of the hash that names a version.
ID_CHARS = 12
#: How the manifest below is written; a change to it changes every version id, on purpose.
MANIFEST_FORMAT = 1
#: Folders beside a flow's graph module whose files are part of its version.
ASSET_DIRS = ("prompts", "templates")
#: The target of a router that does not declare its targets: it may go to any node.
ANY_NODE = "*"


@dataclass(frozen=True)
class FlowVersion:
    """One version of a flow: its id and the manifest the id hashes."""

    flow: str
    id: str
    #: `{"format", "declared", "package", "nodes": {name: kind}, "edges": [[source, target, how]],
    #: "state": [keys], "assets": {path: sha256}}`
    manifest: dict[str, Any]

    @property
    def package(self) -> str | None:
        package: str | None = self.manifest.get("package")
        return package

    @property
    def nodes(self) -> list[str]:
        return sorted(self.manifest.get("nodes", {}))


def version_of(flow: Flow) -> FlowVersion:
    """The flow's version as the installed code has it. Builds the graph and reads the asset
    files: callers keep the result (`bpa.runs.versions.FlowVersions`)."""
    builder = flow.build_graph()
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "declared": flow.version,
        "package": _package_of(flow),
        "nodes": {
            name: str((spec.metadata or {}).get("kind") or "")
            for name, spec in sorted(builder.nodes.items())
        },
        "edges": _edges_of(builder),
        "state": sorted(str(key) for key in builder.channels),
        "assets": _assets_of(flow),
    }
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return FlowVersion(flow.name, hashlib.sha256(body.encode()).hexdigest()[:ID_CHARS], manifest)


def _edges_of(builder: StateGraph[Any, Any, Any, Any]) -> list[list[str]]:
    """`[source, target, how]`, sorted: how is "" (a plain edge), "join" (waits for several
    sources), "branch" (a router's possible target; `*` when it does not say which),
    "command" (a node's declared `Command(goto=...)` destinations) or "error" (its error
    handler). Read from the builder, as the graph was declared: LangGraph's drawing leaves
    some edges out (e.g. one to END beside others)."""
    edges: set[tuple[str, str, str]] = {(s, t, "") for s, t in builder.edges}
    for starts, end in builder.waiting_edges:
        edges |= {(start, end, "join") for start in starts}
    for source, branches in builder.branches.items():
        for branch in branches.values():
            routes = list(branch.ends.values()) if branch.ends else [ANY_NODE]
            edges |= {(source, str(target), "branch") for target in routes}
    for name, spec in builder.nodes.items():
        ends = spec.ends or ()
        goto = ends.values() if isinstance(ends, dict) else ends
        edges |= {(name, str(target), "command") for target in goto}
        handler = getattr(spec, "error_handler_node", None)
        if handler:
            edges.add((name, str(handler), "error"))
    return [list(edge) for edge in sorted(edges)]


def _package_of(flow: Flow) -> str | None:
    """`name version` of the distribution whose entry point registers the flow (None for a
    flow that no installed package registers, e.g. one a test builds)."""
    for ep in entry_points(group=GROUP, name=flow.name):
        dist = ep.dist
        if dist is not None:
            return f"{dist.name} {dist.version}"
    return None


def _assets_of(flow: Flow) -> dict[str, str]:
    try:
        home = Path(inspect.getfile(flow.build_graph)).resolve().parent
    except (TypeError, OSError):  # a built-in or a callable object: no folder to read
        return {}
    assets: dict[str, str] = {}
    for folder in ASSET_DIRS:
        root = home / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                assets[path.relative_to(home).as_posix()] = digest
    return assets


def _reachable(manifest: Mapping[str, Any], start: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The nodes reachable from `start` (itself included) and the edges leaving them."""
    out: dict[str, set[str]] = {}
    for source, target, _how in manifest.get("edges", []):
        if target == ANY_NODE:
            out.setdefault(source, set()).update(manifest.get("nodes", {}))
        else:
            out.setdefault(source, set()).add(target)
    seen, todo = {start}, [start]
    while todo:
        for target in out.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    edges = {(s, t) for s, t, _how in manifest.get("edges", []) if s in seen}
    return seen, edges


def _listed(items: Iterable[Any]) -> str:
    return ", ".join(str(item) for item in sorted(items))


def resume_problem(
    recorded: Mapping[str, Any] | None, current: FlowVersion, node: str | None
) -> str | None:
    """Why a run that waits at `node` under the version `recorded` describes cannot resume on
    `current`, or None when it can. Without a record (runs from before versions were
    recorded) only the node's existence can be checked; without a node, the graphs must match."""
    nodes = set(current.manifest.get("nodes", {}))
    if node is not None and node not in nodes:
        return f"node {node!r} no longer exists (the flow's nodes: {_listed(nodes)})"
    if recorded is None:
        return None
    if node is None:
        same = recorded.get("edges") == current.manifest.get("edges")
        return None if same else "its graph changed, and the node the run waits at is unknown"
    old_nodes, old_edges = _reachable(recorded, node)
    new_nodes, new_edges = _reachable(current.manifest, node)
    changes: list[str] = []
    if old_nodes != new_nodes:
        if added := new_nodes - old_nodes:
            changes.append(f"steps added after it: {_listed(added)}")
        if removed := old_nodes - new_nodes:
            changes.append(f"steps removed after it: {_listed(removed)}")
    elif old_edges != new_edges:
        moved = [f"{s} -> {t} removed" for s, t in old_edges - new_edges]
        moved += [f"{s} -> {t} added" for s, t in new_edges - old_edges]
        changes.append("the edges after it changed: " + _listed(moved))
    if dropped := set(recorded.get("state", [])) - set(current.manifest.get("state", [])):
        changes.append(f"state keys removed: {_listed(dropped)}")
    return "; ".join(changes) or None
