"""Plotly figures as plain dicts: the part of ``plotly.graph_objects`` the reports use.

``plotly.graph_objects`` validates every property as it is set and deep-copies the
template into every figure; for a run page that cost about 1.5 s, more than half the
simulation. The figures here are plain dicts handed to plotly.js as JSON, with the same
calls (``add_scatter``, ``add_bar``, ``add_hline``, ``update_layout``, ``update_xaxes``,
``update_yaxes``, ``make_subplots``) and the same output as plotly's own, property for
property: magic underscores (``marker_color``), ``None`` to unset, a string ``title`` as
``{"text": ...}``, shared x axes of stacked subplots, and axis-spanning lines with their
annotations (``tests/test_report_plot.py`` checks them against plotly).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

# Properties whose names hold an underscore; every other underscore nests.
_UNDERSCORED = frozenset({"error_x", "error_y", "error_z"})
_AXIS = re.compile(r"([xy])axis(\d*)$")

# hline annotation placement by position: xanchor, yanchor, x (in domain units)
_HLINE_ANNOTATION = {
    frozenset({"top", "left"}): ("left", "bottom", 0),
    frozenset({"top", "right"}): ("right", "bottom", 1),
    frozenset({"top"}): ("center", "bottom", 0.5),
    frozenset({"bottom", "left"}): ("left", "top", 0),
    frozenset({"bottom", "right"}): ("right", "top", 1),
    frozenset({"bottom"}): ("center", "top", 0.5),
    frozenset({"left"}): ("right", "middle", 0),
    frozenset({"right"}): ("left", "middle", 1),
}


@lru_cache(maxsize=8)
def _template_json(name: str) -> str:
    """A built-in plotly template, read once per process from plotly's package data."""
    path = resources.files("plotly") / "package_data" / "templates" / f"{name}.json"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    import plotly.io as pio  # pragma: no cover - a plotly without the JSON files

    return json.dumps(pio.templates[name].to_plotly_json())  # pragma: no cover


def template(name: str) -> dict[str, Any]:
    return json.loads(_template_json(name))  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """numpy arrays and scalars as lists and numbers; everything else as it is."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def _nest(props: dict[str, Any]) -> dict[str, Any]:
    """``{"marker_color": c}`` as ``{"marker": {"color": c}}`` (plotly's magic underscores)."""
    out: dict[str, Any] = {}
    for key, value in props.items():
        path = [key] if key in _UNDERSCORED or "_" not in key else key.split("_")
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        leaf = path[-1]
        if isinstance(value, dict) and isinstance(node.get(leaf), dict):
            node[leaf].update(value)
        else:
            node[leaf] = value
    return out


def _merge(target: dict[str, Any], updates: dict[str, Any]) -> None:
    """Merge ``updates`` into ``target`` as plotly's ``update`` does: dicts merge, None unsets."""
    for key, value in updates.items():
        if value is None:
            target.pop(key, None)
        elif key == "title" and isinstance(value, str):
            target[key] = {"text": value}
        elif isinstance(value, dict):
            node = target.get(key)
            if not isinstance(node, dict):
                node = target[key] = {}
            _merge(node, _nest(value))
        else:
            target[key] = _plain(value)


class Figure:
    """A plotly figure held as plain dicts (``data``: traces, ``layout``)."""

    def __init__(self) -> None:
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {}
        # (xaxis ref, yaxis ref) of each row of a one-column subplot grid
        self._grid: list[tuple[str, str]] | None = None

    def _cell(self, row: int | None, col: int | None) -> tuple[str, str] | None:
        if row is None and col is None:
            return None
        if self._grid is None:
            raise ValueError("row and col need a figure made by make_subplots")
        if col not in (None, 1) or row is None:
            raise ValueError("only one-column grids are supported")
        return self._grid[row - 1]

    def add_trace(
        self, kind: str, row: int | None = None, col: int | None = None, **props: Any
    ) -> Figure:
        trace: dict[str, Any] = {"type": kind}
        _merge(trace, _nest(props))
        cell = self._cell(row, col)
        if cell is not None:
            trace["xaxis"], trace["yaxis"] = cell
        self.data.append(trace)
        return self

    def add_scatter(self, row: int | None = None, col: int | None = None, **props: Any) -> Figure:
        return self.add_trace("scatter", row, col, **props)

    def add_bar(self, row: int | None = None, col: int | None = None, **props: Any) -> Figure:
        return self.add_trace("bar", row, col, **props)

    def add_hline(
        self,
        y: float,
        row: int | None = None,
        col: int | None = None,
        *,
        annotation_position: str | None = None,
        **props: Any,
    ) -> Figure:
        """A horizontal line across the plot at ``y``, as plotly's ``add_hline``: on one
        subplot (``row``, ``col``) or on a figure without subplots; ``annotation_*``
        properties label it. Like plotly, a subplot without traces gets no line."""
        cell = self._cell(row, col) if self._grid is not None else None
        if cell is None and self._grid is not None:
            raise ValueError("add_hline on a subplot grid needs row and col")
        xref, yref = cell or ("x", "y")
        if cell is not None and not any(
            t.get("xaxis") == xref and t.get("yaxis") == yref for t in self.data
        ):
            return self
        label = {k[11:]: v for k, v in props.items() if k.startswith("annotation_")}
        shape_props = {k: v for k, v in props.items() if not k.startswith("annotation_")}
        shape: dict[str, Any] = {}
        _merge(shape, _nest(shape_props))
        shape.update(type="line", x0=0, x1=1, xref=f"{xref} domain", y0=y, y1=y, yref=yref)
        self.layout.setdefault("shapes", []).append(shape)
        if label or annotation_position is not None:
            where = frozenset((annotation_position or "top right").split(" "))
            xanchor, yanchor, x = _HLINE_ANNOTATION[where]
            note: dict[str, Any] = {}
            _merge(note, _nest(label))
            for key, value in (("xanchor", xanchor), ("yanchor", yanchor), ("x", x), ("y", y)):
                note.setdefault(key, value)
            note.update(showarrow=False, xref=f"{xref} domain", yref=yref)
            self.layout.setdefault("annotations", []).append(note)
        return self

    def update_layout(self, props: dict[str, Any] | None = None, **more: Any) -> Figure:
        _merge(self.layout, _nest({**(props or {}), **more}))
        return self

    def _axes(self, letter: str, row: int | None, col: int | None) -> list[str]:
        cell = self._cell(row, col)
        if cell is not None:
            ref = cell[0 if letter == "x" else 1]
            return [f"{letter}axis{ref[1:]}"]
        names = [k for k in self.layout if (m := _AXIS.match(k)) and m.group(1) == letter]
        return names or [f"{letter}axis"]

    def update_xaxes(self, row: int | None = None, col: int | None = None, **props: Any) -> Figure:
        for name in self._axes("x", row, col):
            _merge(self.layout.setdefault(name, {}), _nest(props))
        return self

    def update_yaxes(self, row: int | None = None, col: int | None = None, **props: Any) -> Figure:
        for name in self._axes("y", row, col):
            _merge(self.layout.setdefault(name, {}), _nest(props))
        return self

    def to_dict(self) -> dict[str, Any]:
        """The figure for plotly.js: traces and layout, with the template written out
        (plotly's default, ``plotly``, where none was chosen)."""
        layout = dict(self.layout)
        chosen = layout.get("template", "plotly")
        layout["template"] = template(chosen) if isinstance(chosen, str) else chosen
        return {"data": self.data, "layout": layout}


def make_subplots(
    rows: int = 1,
    cols: int = 1,
    *,
    shared_xaxes: bool = False,
    vertical_spacing: float | None = None,
    row_heights: list[float] | None = None,
) -> Figure:
    """A one-column grid of subplots, laid out as plotly's ``make_subplots`` lays it out
    (first row at the top; with ``shared_xaxes`` every x axis matches the bottom one,
    whose tick labels are the only ones shown)."""
    if cols != 1:
        raise ValueError("only one-column grids are supported")
    spacing = 0.3 / rows if vertical_spacing is None else vertical_spacing
    free = 1.0 - spacing * (rows - 1)
    if row_heights is None:
        heights = [free / rows] * rows
    else:
        if len(row_heights) != rows:
            raise ValueError(f"row_heights needs {rows} numbers")
        total = float(sum(row_heights))
        heights = [free * (h / total) for h in row_heights][::-1]  # bottom row first
    fig = Figure()
    fig._grid = []
    for r in range(rows):
        k = rows - 1 - r  # rows below this one
        start = sum(heights[:k]) + k * spacing
        end = start + heights[-1 - r]
        start = 0.0 if -0.01 < start < 0.0 else 1.0 if 1.0 < start < 1.01 else start
        end = 0.0 if -0.01 < end < 0.0 else 1.0 if 1.0 < end < 1.01 else end
        n = "" if r == 0 else str(r + 1)
        fig.layout[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": [0.0, 1.0]}
        fig.layout[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": [start, end]}
        fig._grid.append((f"x{n}", f"y{n}"))
    if shared_xaxes and rows > 1:
        bottom = fig._grid[-1][0]
        for x, _ in fig._grid[:-1]:
            fig.layout[f"xaxis{x[1:]}"].update(matches=bottom, showticklabels=False)
    return fig
