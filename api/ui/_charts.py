"""Small charts as SVG made on the server: no charting library, no script, readable without
JavaScript and printable. Colours come from CSS classes (`series-<name>`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

__all__ = ["hbars", "stacked_columns"]

_W, _H = 560.0, 180.0
_LEFT, _BOTTOM, _TOP = 34.0, 22.0, 8.0


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def stacked_columns(
    labels: Sequence[str], series: Mapping[str, Sequence[int]], *, title: str
) -> Markup:
    """One column per label, stacked by series (drawn in the mapping's order)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0) or 1)
    plot_h = _H - _BOTTOM - _TOP
    slot = (_W - _LEFT) / max(len(labels), 1)
    bar = max(2.0, slot * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W:.0f} {_H:.0f}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    ]
    for tick in range(5):
        value = top * tick // 4
        y = _TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line class="grid" x1="{_LEFT:.0f}" x2="{_W:.0f}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{_LEFT - 4:.0f}" y="{y + 4:.1f}" text-anchor="end">{value}'
            "</text>"
        )
    every = max(1, len(labels) // 7)
    for i, label in enumerate(labels):
        x = _LEFT + slot * i + (slot - bar) / 2
        base = _TOP + plot_h
        for name, values in series.items():
            if not values[i]:
                continue
            h = plot_h * values[i] / top
            base -= h
            parts.append(
                f'<rect class="series-{escape(name)}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}"><title>{escape(label)}: {values[i]} '
                f"{escape(name)}</title></rect>"
            )
        if (len(labels) - 1 - i) % every == 0:  # the latest day always labelled
            last = i == len(labels) - 1  # kept inside the chart's right edge
            parts.append(
                f'<text class="axis" x="{x + (bar if last else bar / 2):.1f}" y="{_H - 6:.0f}" '
                f'text-anchor="{"end" if last else "middle"}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(values: Mapping[str, int], *, title: str, series: str = "bar") -> Markup:
    """One horizontal bar per entry, labelled with its count."""
    rows = list(values.items())
    row_h, label_w = 24.0, 96.0
    height = row_h * max(len(rows), 1) + 4
    top = max((v for _, v in rows), default=0) or 1
    span = _W - label_w - 40
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W:.0f} {height:.0f}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
    ]
    for i, (label, value) in enumerate(rows):
        y = 2 + i * row_h
        w = span * value / top
        parts.append(
            f'<text class="axis" x="{label_w - 6:.0f}" y="{y + 16:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="series-{escape(series)}" x="{label_w:.0f}" y="{y + 4:.1f}" '
            f'width="{w:.1f}" height="{row_h - 8:.0f}"/>'
            f'<text class="axis" x="{label_w + w + 6:.1f}" y="{y + 16:.1f}">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
