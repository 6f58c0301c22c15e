"""The timeline chart: construction, trial production, production, launches and capex
of the scenario, as a Gantt chart over the run's horizon.

It reads the run summary's ``timeline`` rows (:func:`evplant.scenario.timeline.gantt`):
``task``, ``kind``, ``start`` and ``end`` (days, the end exclusive).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from .plot import Figure
from .theme import style

DAY_MS = 86_400_000
KINDS = {  # kind -> (legend name, colour), in legend order
    "construction": ("Construction", "#a0aec0"),
    "trial production": ("Trial production", "#d69e2e"),
    "production": ("Production", "#2f855a"),
    "capex": ("Capex", "#2b6cb0"),
    "launch": ("Launch", "#c53030"),
}


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def timeline(rows: Sequence[Mapping[str, Any]], horizon: str | None = None) -> Figure | None:
    """A Gantt chart of the timeline rows; ``horizon`` (``YYYY-MM..YYYY-MM``) is shaded."""
    good = []
    for r in rows:
        a, b = _day(r.get("start")), _day(r.get("end"))
        if a is not None and b is not None and str(r.get("kind")) in KINDS:
            good.append((str(r.get("task")), str(r.get("kind")), a, max(a, b)))
    if not good:
        return None
    tasks = list(dict.fromkeys(t for t, *_ in good))
    fig = Figure()
    for kind, (name, colour) in KINDS.items():
        mine = [g for g in good if g[1] == kind]
        if not mine:
            continue
        if kind == "launch":
            fig.add_scatter(
                x=[a.isoformat() for _, _, a, _ in mine],
                y=[t for t, *_ in mine],
                name=name,
                mode="markers",
                marker={"symbol": "diamond", "size": 13, "color": colour},
                hovertemplate="%{y}: %{x|%b %Y}<extra></extra>",
            )
            continue
        fig.add_bar(
            orientation="h",
            y=[t for t, *_ in mine],
            base=[a.isoformat() for _, _, a, _ in mine],
            x=[(b - a).days * DAY_MS for _, _, a, b in mine],
            customdata=[
                [a.isoformat(), (b - dt.timedelta(days=1)).isoformat()] for _, _, a, b in mine
            ],
            name=name,
            marker_color=colour,
            hovertemplate=f"{name}: %{{customdata[0]}} to %{{customdata[1]}}<extra></extra>",
        )
    style(fig, height=90 + 30 * len(tasks), time_axis=False, barmode="overlay", bargap=0.35)
    fig.update_xaxes(type="date", showline=True, linecolor="#a0aec0", ticks="outside")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=tasks)
    if horizon and ".." in horizon:
        lo, hi = horizon.split("..", 1)
        first, last = _day(f"{lo}-01"), _day(f"{hi}-01")
        if first is not None and last is not None:
            end = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            fig.update_layout(
                shapes=[
                    {
                        "type": "rect",
                        "xref": "x",
                        "yref": "paper",
                        "x0": first.isoformat(),
                        "x1": end.isoformat(),
                        "y0": 0,
                        "y1": 1,
                        "fillcolor": "#ebf8ff",
                        "opacity": 0.6,
                        "line": {"width": 0},
                        "layer": "below",
                    }
                ]
            )
    return fig
