"""A flow's graph as SVG, drawn here (no script, no CDN): nodes in layers from start to end,
the path a run took and the node it is at highlighted.

The layout is a small Sugiyama-style one, enough for flows of a few dozen nodes: edges that
close a loop (found by a depth-first walk from the start) are set aside, every node goes one
layer below its lowest predecessor, and each layer is ordered by where its predecessors sit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from markupsafe import Markup, escape

__all__ = ["FlowLayout", "draw", "lay_out"]

START, END = "__start__", "__end__"
_CHAR_W = 7.0
_NODE_H = 30.0
_LAYER_GAP = 66.0
_NODE_GAP = 22.0
_PAD = 16.0
_LOOP_OUT = 46.0

Where = Literal["waiting", "running", "failed", "done"]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    conditional: bool
    #: Closes a loop: drawn around the side, back up.
    back: bool


@dataclass(frozen=True)
class FlowLayout:
    #: Node id -> (centre x, centre y, width).
    boxes: dict[str, tuple[float, float, float]]
    kinds: dict[str, str | None]
    edges: list[Edge]
    width: float
    height: float


def _label(node: str) -> str:
    return {START: "start", END: "end"}.get(node, node)


def _back_edges(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    after: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        after[source].append(target)
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done
    back: set[tuple[str, str]] = set()
    roots = [START] if START in nodes else []
    for root in [*roots, *nodes]:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, i = stack[-1]
            if i < len(after[node]):
                stack[-1] = (node, i + 1)
                nxt = after[node][i]
                if state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                stack.pop()
    return back


def _layers(nodes: Sequence[str], forward: Sequence[tuple[str, str]]) -> dict[str, int]:
    before: dict[str, list[str]] = defaultdict(list)
    after: dict[str, list[str]] = defaultdict(list)
    for source, target in forward:
        before[target].append(source)
        after[source].append(target)
    waiting = {n: len(before[n]) for n in nodes}
    ready = [n for n in nodes if waiting[n] == 0]
    layer = dict.fromkeys(nodes, 0)
    while ready:
        node = ready.pop(0)
        for nxt in after[node]:
            layer[nxt] = max(layer[nxt], layer[node] + 1)
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                ready.append(nxt)
    if END in layer:  # the end sits alone at the bottom
        layer[END] = max(layer.values()) + (1 if len(nodes) > 1 else 0)
    return layer


def lay_out(graph: Any) -> FlowLayout:
    """Positions for a LangGraph `Graph` (`compiled.get_graph()`)."""
    nodes = list(graph.nodes)
    kinds = {n: (graph.nodes[n].metadata or {}).get("kind") for n in nodes}
    pairs = [(e.source, e.target) for e in graph.edges]
    back = _back_edges(nodes, pairs)
    layer = _layers(nodes, [p for p in pairs if p not in back])
    rows: dict[int, list[str]] = defaultdict(list)
    for node in nodes:
        rows[layer[node]].append(node)
    slot: dict[str, float] = {}
    preds: dict[str, list[str]] = defaultdict(list)
    for source, target in pairs:
        if (source, target) not in back:
            preds[target].append(source)
    for depth in sorted(rows):
        row = rows[depth]

        def centre(node: str) -> float:
            seen = [slot[p] for p in preds[node] if p in slot]
            return sum(seen) / len(seen) if seen else 0.0

        row.sort(key=centre)
        for i, node in enumerate(row):
            slot[node] = i - (len(row) - 1) / 2
    widths = {n: max(64.0, len(_label(n)) * _CHAR_W + 20) for n in nodes}
    row_widths = {
        d: sum(widths[n] for n in row) + _NODE_GAP * (len(row) - 1) for d, row in rows.items()
    }
    inner = max(row_widths.values(), default=0.0)
    width = inner + 2 * _PAD + (_LOOP_OUT if back else 0)
    boxes: dict[str, tuple[float, float, float]] = {}
    for depth, row in rows.items():
        x = _PAD + (inner - row_widths[depth]) / 2
        y = _PAD + _NODE_H / 2 + depth * _LAYER_GAP
        for node in row:
            boxes[node] = (x + widths[node] / 2, y, widths[node])
            x += widths[node] + _NODE_GAP
    height = _PAD * 2 + _NODE_H + max(rows, default=0) * _LAYER_GAP
    edges = [
        Edge(e.source, e.target, bool(e.conditional), (e.source, e.target) in back)
        for e in graph.edges
    ]
    return FlowLayout(boxes, kinds, edges, width, height)


def _taken(path: Sequence[str], edges: Iterable[Edge]) -> set[tuple[str, str]]:
    known = {(e.source, e.target) for e in edges}
    return {step for step in pairwise(path) if step in known}


def _edge_path(layout: FlowLayout, edge: Edge) -> str:
    sx, sy, sw = layout.boxes[edge.source]
    tx, ty, tw = layout.boxes[edge.target]
    half = _NODE_H / 2
    if edge.back:
        x1, x2 = sx + sw / 2, tx + tw / 2
        out = max(x1, x2) + _LOOP_OUT
        return f"M{x1:.1f},{sy:.1f} C{out:.1f},{sy:.1f} {out:.1f},{ty:.1f} {x2 + 4:.1f},{ty:.1f}"
    y1, y2 = sy + half, ty - half - 4
    bend = (y2 - y1) / 2
    return (
        f"M{sx:.1f},{y1:.1f} C{sx:.1f},{y1 + bend:.1f} {tx:.1f},{y2 - bend:.1f} {tx:.1f},{y2:.1f}"
    )


def draw(
    layout: FlowLayout,
    *,
    path: Sequence[str] = (),
    current: str | None = None,
    where: Where = "done",
    title: str = "flow graph",
) -> Markup:
    """The graph; `path` is the nodes the run went through in order (with start and end),
    `current` the node it waits at, runs or failed in (`where`)."""
    visited = set(path)
    taken = _taken(path, layout.edges)
    parts = [
        f'<svg class="flow-graph" viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" '
        f'width="{layout.width:.0f}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/>'
        "</marker></defs>",
    ]
    for edge in layout.edges:
        classes = ["edge"]
        if edge.conditional:
            classes.append("conditional")
        if (edge.source, edge.target) in taken:
            classes.append("taken")
        parts.append(
            f'<path class="{" ".join(classes)}" d="{_edge_path(layout, edge)}" '
            'marker-end="url(#arrow)"/>'
        )
    for node, (x, y, w) in layout.boxes.items():
        classes = ["node", f"kind-{layout.kinds.get(node) or 'none'}"]
        if node in visited:
            classes.append("visited")
        if node == current:
            classes.append(f"current {where}")
        if node in (START, END):
            classes.append("terminal")
        parts.append(
            f'<g class="{" ".join(classes)}" data-node="{escape(node)}">'
            f'<rect x="{x - w / 2:.1f}" y="{y - _NODE_H / 2:.1f}" width="{w:.1f}" '
            f'height="{_NODE_H:.0f}" rx="8"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{escape(_label(node))}'
            f"</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
