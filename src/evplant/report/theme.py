"""One look for every figure: colours that mean the same thing on every chart."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from typing import Any

from .plot import Figure

FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif'

# A shop keeps its colour on every chart, so the bottleneck strip reads against the lines:
# the colour of its place in the scenario's shop order.
SHOP_PALETTE = [
    "#6b46c1",
    "#2b6cb0",
    "#0987a0",
    "#c53030",
    "#d69e2e",
    "#2f855a",
    "#805ad5",
    "#dd6b20",
    "#319795",
    "#b83280",
    "#718096",
    "#975a16",
]
PHASE_COLOURS = ["#3182ce", "#ed8936", "#38a169", "#9f7aea"]
RUN_COLOURS = ("#2b6cb0", "#dd6b20")  # run A, run B on the compare page
TARGET = "#718096"
GOOD = "#2f855a"
BAD = "#c53030"


def shop_colour(i: int) -> str:
    """The colour of the shop at place ``i`` of the shop order."""
    return SHOP_PALETTE[i % len(SHOP_PALETTE)]


def phase_colour(i: int) -> str:
    return PHASE_COLOURS[i % len(PHASE_COLOURS)]


def style(fig: Figure, *, height: int, time_axis: bool = True, **layout: Any) -> Figure:
    """House style: white, legend on top, one hover box per month on time axes."""
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 80, "r": 30, "t": 50, "b": 40},
        font={"family": FONT, "size": 13, "color": "#1a202c"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"},
        hoverlabel={"namelength": -1},
    )
    if time_axis:
        fig.update_layout(hovermode="x unified")
        # The same span on every time chart (half a month either side), so charts on
        # one page line up month for month whatever their trace types.
        months = sorted({str(v) for t in fig.data if t.get("x") is not None for v in t["x"]})
        fig.update_xaxes(
            hoverformat="%b %Y",
            showline=True,
            linecolor="#a0aec0",
            ticks="outside",
            range=month_range(months),
        )
        if len(months) > 36:
            # One tick a year: plotly picks every other year on a ten-year span.
            fig.update_xaxes(dtick="M12", tickformat="%Y")
    fig.update_yaxes(zeroline=True, zerolinecolor="#cbd5e0", separatethousands=True)
    fig.update_layout(**layout)
    # A long legend wraps into several rows above the plot; give it room so it neither
    # squeezes the plot nor runs under the mode bar.
    rows = legend_rows(fig)
    fig.update_layout(margin_t=28 + 24 * rows, height=height + 24 * (rows - 1))
    return fig


def month_range(months: list[str]) -> list[str] | None:
    """Date-axis range from mid-month before the first month to mid-month after the last."""
    ms = [m for m in months if re.fullmatch(r"\d{4}-\d{2}", m)]
    if not ms:
        return None
    first = date(int(ms[0][:4]), int(ms[0][5:]), 1) - timedelta(days=15)
    last = date(int(ms[-1][:4]), int(ms[-1][5:]), 1) + timedelta(days=45)
    return [first.isoformat(), last.replace(day=15).isoformat()]


def legend_rows(fig: Figure, width_px: float = 980.0) -> int:
    """Rows the legend needs at about a 1000-pixel-wide plot (a rough text measure)."""
    names = [str(t["name"]) for t in fig.data if t.get("name") and t.get("showlegend") is not False]
    if not names:
        return 1
    total = sum(len(n) * 7.4 + 46 for n in names)
    # The mode bar takes about 220 px of the first row at the right.
    return max(1, math.ceil((total + 220) / width_px))
