"""Plant figures: output against capacity, the ramp, shops, bottleneck and OEE.

Each function returns None when the run lacks the columns it needs, so the page just
leaves that figure out instead of drawing an empty frame.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import data
from .data import Rows, phase_label, shop_label
from .fmt import count
from .plot import Figure, make_subplots
from .theme import BAD, GOOD, TARGET, phase_colour, shop_colour, style


def production(rows: Rows, target_per_year: float | None) -> Figure | None:
    """Stacked output by phase, capacity lines, and the target rate as a dashed line."""
    ph = data.phases(rows)
    if not ph and not data.has(rows, "produced"):
        return None
    x = data.months(rows)
    fig = Figure()
    if ph:
        for i, p in enumerate(ph):
            fig.add_bar(
                x=x,
                y=data.filled(rows, f"produced_{p}"),
                name=f"Produced, {phase_label(p)}",
                marker_color=phase_colour(i),
                hovertemplate="%{y:,.0f}",
            )
    else:
        fig.add_bar(
            x=x, y=data.series(rows, "produced"), name="Produced", hovertemplate="%{y:,.0f}"
        )
    if len(ph) > 1:
        for i, p in enumerate(ph):
            fig.add_scatter(
                x=x,
                y=data.from_start(data.series(rows, f"capacity_{p}")),
                name=f"Capacity, {phase_label(p)}",
                mode="lines",
                line={"color": phase_colour(i), "dash": "dot", "width": 2},
                hovertemplate="%{y:,.0f}",
            )
    if data.has(rows, "capacity"):
        fig.add_scatter(
            x=x,
            y=data.series(rows, "capacity"),
            name="Capacity, whole plant",
            mode="lines",
            line={"color": "#1a202c", "width": 2.5},
            hovertemplate="%{y:,.0f}",
        )
    if target_per_year:
        fig.add_hline(
            y=target_per_year / 12,
            line={"color": TARGET, "dash": "dash", "width": 1.5},
            annotation_text=f"target: {count(target_per_year)} a year",
            annotation_position="top left",
            annotation_font={"color": TARGET},
        )
    style(fig, height=460, barmode="stack", bargap=0.12, legend_traceorder="normal")
    fig.update_yaxes(title_text="vehicles per month", tickformat=",")
    return fig


def _masked(values: list[float | None], keep: list[float | None]) -> list[float | None]:
    """Values only where ``keep`` is a positive number (the phase has capacity)."""
    return [v if k is not None and k > 0 else None for v, k in zip(values, keep, strict=True)]


def ramp(rows: Rows) -> Figure | None:
    """Output as % of the mature monthly rate, and the learning factor per phase."""
    mature = data.peak(rows, "capacity")
    if not mature or not data.has(rows, "produced"):
        return None
    x = data.months(rows)
    ph = data.phases(rows)
    learning = [p for p in ph if data.has(rows, f"cycle_factor_{p}")]
    n = 2 if learning else 1
    fig = make_subplots(
        rows=n,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.09,
        row_heights=[0.6, 0.4] if n == 2 else [1.0],
    )
    fig.add_scatter(
        x=x,
        y=data.series(rows, "produced", 100.0 / mature),
        name="Whole plant",
        mode="lines",
        line={"color": "#1a202c", "width": 2.5},
        hovertemplate="%{y:.0f}%",
        row=1,
        col=1,
    )
    if len(ph) > 1:
        for i, p in enumerate(ph):
            cap = data.series(rows, f"capacity_{p}")
            top = max(v for v in cap if v is not None)
            fig.add_scatter(
                x=x,
                y=_masked(data.series(rows, f"produced_{p}", 100.0 / top), cap),
                name=phase_label(p),
                mode="lines",
                line={"color": phase_colour(i), "width": 2},
                hovertemplate="%{y:.0f}%",
                row=1,
                col=1,
            )
    fig.add_hline(y=100, line={"color": TARGET, "dash": "dash", "width": 1}, row=1, col=1)
    fig.update_yaxes(title_text="% of mature monthly rate", ticksuffix="%", row=1, col=1)
    for i, p in enumerate(ph):
        if p not in learning:
            continue
        fig.add_scatter(
            x=x,
            y=_masked(data.series(rows, f"cycle_factor_{p}"), data.series(rows, f"capacity_{p}")),
            name=f"Learning factor, {phase_label(p)}",
            mode="lines",
            line={"color": phase_colour(i), "width": 2, "dash": "dot"},
            hovertemplate="\u00d7%{y:.2f}",
            row=2,
            col=1,
        )
    if learning:
        fig.add_hline(
            y=1,
            line={"color": GOOD, "dash": "dash", "width": 1},
            annotation_text="mature (\u00d71.00)",
            annotation_position="bottom right",
            annotation_font={"color": GOOD},
            row=2,
            col=1,
        )
        fig.update_yaxes(title_text="cycle-time factor (\u00d7)", row=2, col=1)
    return style(fig, height=560 if learning else 380)


def shops(rows: Rows, order: Sequence[str] = ()) -> Figure | None:
    """Utilisation per shop over time, with the bottleneck shop as a strip below;
    ``order``: the scenario's shop order (their colours follow it)."""
    names = data.shops(rows, order)
    if not names:
        return None
    x = data.months(rows)
    bottleneck = data.strings(rows, "bottleneck_shop")
    stations = data.strings(rows, "bottleneck_station")
    ever = [s for s in names if s in bottleneck]
    ever += sorted({s for s in bottleneck if s and s not in ever})
    n = 2 if ever else 1
    # The strip needs one line per shop that was ever the bottleneck, no more.
    strip = min(0.4, 0.07 * len(ever) + 0.08)
    fig = make_subplots(
        rows=n,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        row_heights=[1 - strip, strip] if n == 2 else [1.0],
    )
    for i, s in enumerate(names):
        fig.add_scatter(
            x=x,
            y=data.series(rows, f"util_{s}", 100.0),
            name=shop_label(s),
            legendgroup=s,
            mode="lines",
            line={"color": shop_colour(i), "width": 2},
            hovertemplate="%{y:.0f}%",
            row=1,
            col=1,
        )
    fig.update_yaxes(title_text="% of time working", ticksuffix="%", row=1, col=1)
    for s in ever:
        hit = [i for i, b in enumerate(bottleneck) if b == s]
        i = names.index(s) if s in names else len(names) + ever.index(s)
        fig.add_scatter(
            x=[x[k] for k in hit],
            y=[shop_label(s)] * len(hit),
            customdata=[stations[k] or s for k in hit],
            name=f"Bottleneck: {shop_label(s)}",
            legendgroup=s,
            showlegend=False,
            mode="markers",
            marker={"symbol": "square", "size": 10, "color": shop_colour(i)},
            hovertemplate="bottleneck: %{customdata}<extra></extra>",
            row=2,
            col=1,
        )
    if ever:
        fig.update_yaxes(
            title_text="bottleneck",
            type="category",
            categoryorder="array",
            categoryarray=[shop_label(s) for s in reversed(ever)],
            showgrid=False,
            row=2,
            col=1,
        )
    return style(fig, height=560 if ever else 420)


# How a shop's time divides; these four plus 'other' make 100%.
STATES = (
    ("util", "working", "#2f855a"),
    ("blocked", "blocked (next shop full)", "#d69e2e"),
    ("starved", "starved (no work from upstream)", "#90cdf4"),
    ("failed", "down for repair", "#c53030"),
)


def time_states(rows: Rows, order: Sequence[str] = ()) -> Figure | None:
    """Where each shop's time goes, averaged over the months it ran."""
    names = [
        s for s in data.shops(rows, order) if all(data.has(rows, f"{k}_{s}") for k, *_ in STATES)
    ]
    if not names:
        return None
    avg = {k: [data.mean(data.series(rows, f"{k}_{s}")) or 0.0 for s in names] for k, *_ in STATES}
    other = [max(0.0, 1 - sum(avg[k][j] for k, *_ in STATES)) for j in range(len(names))]
    y = [shop_label(s) for s in names]
    fig = Figure()
    for key, name, colour in STATES:
        _hbar(fig, y, [v * 100 for v in avg[key]], name, colour)
    if any(v > 0.005 for v in other):
        _hbar(fig, y, [v * 100 for v in other], "other", "#cbd5e0")
    style(
        fig,
        height=120 + 42 * len(names),
        time_axis=False,
        barmode="stack",
        bargap=0.3,
        legend_traceorder="normal",
    )
    fig.update_xaxes(
        title_text="% of scheduled time (horizon average)", ticksuffix="%", range=[0, 100]
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def _hbar(fig: Figure, y: list[str], x: list[float], name: str, colour: str) -> None:
    fig.add_bar(
        y=y,
        x=x,
        name=name,
        orientation="h",
        marker_color=colour,
        text=[f"{v:.0f}%" if v >= 4 else "" for v in x],
        textposition="inside",
        insidetextanchor="middle",
        hovertemplate=f"{name}: %{{x:.1f}}%<extra>%{{y}}</extra>",
    )


def oee_breakdown(rows: Rows, order: Sequence[str] = ()) -> Figure | None:
    """OEE and the three losses per shop, stacked to 100% (horizon averages).

    The losses are taken in sequence so the bar adds up: availability loss is 1 - A,
    performance loss A(1 - P), quality loss AP(1 - Q), and what is left is OEE = APQ.
    """
    parts = ("availability", "performance", "quality")
    names = [s for s in data.shops(rows, order) if all(data.has(rows, f"{k}_{s}") for k in parts)]
    if not names:
        return None
    a, p, q = ([data.mean(data.series(rows, f"{k}_{s}")) or 0.0 for s in names] for k in parts)
    y = [shop_label(s) for s in names]
    oee = [a[j] * p[j] * q[j] for j in range(len(names))]
    fig = Figure()
    _hbar(fig, y, [v * 100 for v in oee], "OEE", GOOD)
    _hbar(
        fig,
        y,
        [a[j] * p[j] * (1 - q[j]) * 100 for j in range(len(names))],
        "quality loss",
        "#ecc94b",
    )
    _hbar(
        fig, y, [a[j] * (1 - p[j]) * 100 for j in range(len(names))], "performance loss", "#ed8936"
    )
    _hbar(fig, y, [(1 - a[j]) * 100 for j in range(len(names))], "availability loss", BAD)
    style(
        fig,
        height=120 + 42 * len(names),
        time_axis=False,
        barmode="stack",
        bargap=0.3,
        legend_traceorder="normal",
    )
    fig.update_xaxes(
        title_text="% of planned time (horizon average)", ticksuffix="%", range=[0, 100]
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def oee_over_time(rows: Rows, order: Sequence[str] = ()) -> Figure | None:
    every = data.shops(rows, order)
    names = [s for s in every if data.has(rows, f"oee_{s}")]
    if not names:
        return None
    x = data.months(rows)
    fig = Figure()
    for s in names:
        fig.add_scatter(
            x=x,
            y=data.series(rows, f"oee_{s}", 100.0),
            name=shop_label(s),
            mode="lines",
            line={"color": shop_colour(every.index(s)), "width": 2},
            hovertemplate="%{y:.0f}%",
        )
    style(fig, height=380)
    fig.update_yaxes(title_text="OEE", ticksuffix="%", rangemode="tozero")
    return fig


def first_month_at(rows: Rows, key: str, threshold: float) -> str | None:
    """The first month in which ``key`` reaches ``threshold``, or None."""
    for m, v in zip(data.months(rows), data.series(rows, key), strict=True):
        if v is not None and v >= threshold:
            return m
    return None
