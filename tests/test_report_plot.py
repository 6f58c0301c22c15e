"""The plain-dict figures give what plotly.graph_objects gives, call for call."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots as go_subplots

from evplant.report import plot


def plain(fig: Any) -> Any:
    """A figure as JSON data, numpy's typed arrays decoded to lists (NaN as null, as
    plotly writes a NaN in a list)."""
    from plotly.io.json import to_json_plotly

    def decode(o: Any) -> Any:
        if isinstance(o, dict):
            if "bdata" in o and "dtype" in o:
                import base64

                values = np.frombuffer(base64.b64decode(o["bdata"]), dtype=o["dtype"])
                return [None if v != v else v for v in values.tolist()]
            return {k: decode(v) for k, v in o.items()}
        if isinstance(o, list):
            return [decode(v) for v in o]
        return o

    d = fig.to_dict()
    return decode(json.loads(to_json_plotly(d)))


def build_simple(fig: Any) -> None:
    fig.add_bar(x=["2024-01", "2024-02"], y=[1, 2], name="a", marker_color="#123456")
    fig.add_scatter(
        x=["2024-01", "2024-02"],
        y=np.array([1.5, np.nan]),
        mode="lines",
        line={"color": None, "width": 2, "dash": None},
        name="b",
    )
    fig.add_hline(
        y=2,
        line={"color": "#718096", "dash": "dash"},
        annotation_text="target",
        annotation_position="top left",
        annotation_font={"color": "#718096"},
    )
    fig.update_layout(title="T", yaxis_title="", legend={"orientation": "h"}, margin_t=40)
    fig.update_layout(yaxis={"autorange": "reversed"}, xaxis_title="months")
    fig.update_xaxes(range=["2024-01-01", "2024-03-01"], dtick="M12", tickformat="%Y")
    fig.update_xaxes(dtick=None, tickformat=None)
    fig.update_yaxes(title_text="cars", ticksuffix="%")


def build_grid(new: Callable[..., Any]) -> Any:
    fig = new(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07, row_heights=[1.4, 1, 1])
    x = ["2024-01", "2024-02", "2024-03"]
    fig.add_scatter(x=x, y=[1, 2, 3], name="r1", row=1, col=1)
    fig.add_bar(
        x=x,
        y=[3, 2, 1],
        name="r2",
        customdata=[0.1, 0.2, 0.3],
        error_y={"type": "data", "array": [1, 1, 1]},
        row=2,
        col=1,
    )
    fig.add_hline(y=1, line={"width": 1}, annotation_text="one", row=2, col=1)
    fig.add_hline(y=5, annotation_text="low", annotation_position="bottom right", row=1, col=1)
    fig.add_hline(y=9, row=3, col=1)  # row 3 has no traces: no line, as in plotly
    fig.update_yaxes(title_text="second", tickformat=",", row=2, col=1)
    fig.update_yaxes(zeroline=True)
    fig.update_xaxes(showline=True)
    fig.update_layout(template="plotly_white", height=500, barmode="relative", margin_t=52)
    return fig


@pytest.mark.parametrize(
    ("rows", "spacing", "heights"),
    [(1, None, None), (2, 0.09, [0.6, 0.4]), (2, 0.07, [0.79, 0.21]), (4, 0.05, None)],
)
def test_subplot_layout_matches_plotly(
    rows: int, spacing: float | None, heights: list[float] | None
) -> None:
    kw: dict[str, Any] = {"shared_xaxes": True, "vertical_spacing": spacing, "row_heights": heights}
    mine = plot.make_subplots(rows=rows, cols=1, **kw)
    theirs = go_subplots(rows=rows, cols=1, **kw)
    assert plain(mine)["layout"] == plain(theirs)["layout"]


def test_calls_match_plotly() -> None:
    mine, theirs = plot.Figure(), go.Figure()
    build_simple(mine)
    build_simple(theirs)
    assert plain(mine) == plain(theirs)


def test_subplot_calls_match_plotly() -> None:
    assert plain(build_grid(plot.make_subplots)) == plain(build_grid(go_subplots))


def test_default_template_is_plotlys() -> None:
    assert plain(plot.Figure())["layout"]["template"] == plain(go.Figure())["layout"]["template"]
