"""The Monte Carlo report: KPI statistics, fan charts, tornado charts; one offline page.

Built on :mod:`evplant.report.page`, so plotly.js is embedded once and nothing is
fetched over the network.
"""

from __future__ import annotations

import html
import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ..report.fmt import by_name, money, pct
from ..report.page import Card, Section, document, figure, table
from ..report.plot import Figure
from . import kpis as K
from .sensitivity import Tornado

if TYPE_CHECKING:
    from .run import McComparison, McResult

BLUE = (43, 108, 176)
GREEN = (47, 133, 90)
ORANGE = (221, 107, 32)
PATH_TITLES = {
    "produced": ("Vehicles produced a month", "vehicles", 1.0, BLUE),
    "delivered": ("Vehicles delivered a month", "vehicles", 1.0, GREEN),
    "revenue": ("Revenue a month (excl. VAT)", "CNY bn", 1e-9, BLUE),
    "cogs": ("Cost of the cars delivered a month", "CNY bn", 1e-9, ORANGE),
    "cash": ("Cash position", "CNY bn", 1e-9, ORANGE),
}
#: the record's metric shown over each monthly path's fan (the same figure, month by month)
OBSERVED_METRIC = {"produced": "produced", "delivered": "delivered", "revenue": "revenue_cars",
                   "cogs": "cogs"}
OBSERVED_SYMBOL = {"eq": "circle", "approx": "circle-open", "ge": "triangle-up",
                   "le": "triangle-down"}


def _rgba(c: tuple[int, int, int], a: float) -> str:
    return f"rgba({c[0]},{c[1]},{c[2]},{a})"


def _layout(fig: Figure, title: str, ytitle: str, height: int = 380) -> Figure:
    fig.update_layout(
        title=title, height=height, margin=dict(l=60, r=20, t=50, b=40),
        yaxis_title=ytitle, template="plotly_white", hovermode="x unified",
        legend=dict(orientation="h", y=-0.15),
    )
    return fig


def fan_chart(
    months: list[str], arr: np.ndarray, title: str, ytitle: str, scale: float,
    color: tuple[int, int, int],
) -> Figure:
    """P10-P90 and P25-P75 bands, the median and the mean of monthly paths [R, months]."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanpercentile(arr, [10, 25, 50, 75, 90], axis=0) * scale
        mean = np.nanmean(arr, axis=0) * scale
    fig = Figure()
    fig.add_scatter(x=months, y=q[4], line=dict(width=0), showlegend=False, hoverinfo="skip")
    fig.add_scatter(x=months, y=q[0], line=dict(width=0), fill="tonexty",
                    fillcolor=_rgba(color, 0.18), name="P10\u2013P90")
    fig.add_scatter(x=months, y=q[3], line=dict(width=0), showlegend=False, hoverinfo="skip")
    fig.add_scatter(x=months, y=q[1], line=dict(width=0), fill="tonexty",
                    fillcolor=_rgba(color, 0.35), name="P25\u2013P75")
    fig.add_scatter(x=months, y=q[2], line=dict(color=_rgba(color, 1), width=2), name="P50")
    fig.add_scatter(x=months, y=mean, line=dict(color="#1a202c", width=1, dash="dot"),
                    name="mean")
    return _layout(fig, title, ytitle)


def _overlay_record(fig: Figure, result: McResult, metric: str | None, scale: float) -> None:
    """The record's one-month statements of ``metric`` as markers (by relation)."""
    if metric is None:
        return
    for rel, symbol in OBSERVED_SYMBOL.items():
        pick = [s for s in _record(result)
                if s.metric == metric and s.first == s.last and s.relation == rel
                and s.first in result.months]
        if pick:
            fig.add_scatter(
                x=[s.first for s in pick], y=[s.value * scale for s in pick], mode="markers",
                marker=dict(color="#1a202c", size=9, symbol=symbol), name=f"record ({rel})",
                text=[s.note for s in pick],
            )


def _record(result: McResult) -> list[Any]:
    """The record's statements (``observed`` holds a message instead when unreadable)."""
    return [x for x in result.observed if not isinstance(x, str)]


def quarterly_chart(result: McResult) -> Figure:
    """Deliveries by quarter: P50 with P10-P90 whiskers over the replications, and the
    record's quarterly statements over them."""
    months = result.months
    quarters = sorted({f"{m[:4]}Q{(int(m[5:7]) - 1) // 3 + 1}" for m in months})
    arr = result.paths["delivered"]
    sums = np.column_stack([
        arr[:, [i for i, m in enumerate(months)
                if f"{m[:4]}Q{(int(m[5:7]) - 1) // 3 + 1}" == q]].sum(axis=1)
        for q in quarters
    ])
    q10, q50, q90 = np.percentile(sums, [10, 50, 90], axis=0)
    fig = Figure()
    fig.add_bar(x=quarters, y=q50, name="delivered (P50)", marker_color=_rgba(GREEN, 0.8),
                error_y=dict(type="data", symmetric=False, array=q90 - q50,
                             arrayminus=q50 - q10))
    for rel, symbol in OBSERVED_SYMBOL.items():
        pick = [s for s in _record(result) if s.metric == "delivered" and s.relation == rel
                and s.period in quarters]
        if pick:
            fig.add_scatter(x=[s.period for s in pick], y=[s.value for s in pick],
                            mode="markers", marker=dict(color="#1a202c", size=10, symbol=symbol),
                            name=f"record ({rel})", text=[s.note for s in pick])
    return _layout(fig, "Vehicles delivered a quarter: P50, whiskers P10\u2013P90, and the "
                   "record", "vehicles")


def annual_chart(result: McResult) -> Figure:
    """P50 bars with P10-P90 whiskers, produced and delivered by year."""
    fig = Figure()
    for word, color in (("produced", BLUE), ("delivered", GREEN)):
        names = [k for k in result.kpi_names if k.startswith(f"{word}_") and k[-4:].isdigit()]
        if not names:
            continue
        s = [result.stats[k] for k in names]
        fig.add_bar(
            x=[k[-4:] for k in names], y=[x.p50 for x in s], name=f"{word} (P50)",
            marker_color=_rgba(color, 0.8),
            error_y=dict(type="data", symmetric=False,
                         array=[x.p90 - x.p50 for x in s], arrayminus=[x.p50 - x.p10 for x in s]),
        )
    fig.update_layout(barmode="group")
    return _layout(fig, "Vehicles a year: P50, whiskers P10\u2013P90", "vehicles")


def tornado_chart(t: Tornado) -> Figure:
    money_out = t.output.endswith("_cny")
    scale = 1e-9 if money_out else 1.0
    unit = "CNY bn" if money_out else "vehicles"
    bars = t.bars
    labels = [f"{b.name} ({by_name(b.path, b.x_low)} \u2192 {by_name(b.path, b.x_high)})"
              for b in bars]
    fig = Figure()
    fig.add_bar(y=labels, x=[(b.y_low - t.base) * scale for b in bars], base=t.base * scale,
                orientation="h", name="parameter at its P10", marker_color=_rgba(BLUE, 0.85))
    fig.add_bar(y=labels, x=[(b.y_high - t.base) * scale for b in bars], base=t.base * scale,
                orientation="h", name="parameter at its P90", marker_color=_rgba(ORANGE, 0.85))
    fig.update_layout(barmode="overlay", yaxis=dict(autorange="reversed"),
                      hovermode="y unified")
    _layout(fig, f"{K.label(t.output)}: what moves it most", unit,
            height=max(260, 60 + 38 * len(bars)))
    fig.update_layout(xaxis_title=f"{K.label(t.output)}, {unit} (mean {t.base * scale:,.3g})",
                      yaxis_title="")
    return fig


def kpi_rows(result: McResult) -> list[list[str]]:
    rows = []
    for k in result.kpi_names:
        s = result.stats[k]
        ci = K.fmt_range(k, s.ci_low, s.ci_high)
        reached = pct(s.reached, 0) if K.is_month(k) else ""
        rows.append([K.label(k), K.fmt(k, s.mean), ci, K.fmt(k, s.p10), K.fmt(k, s.p50),
                     K.fmt(k, s.p90), reached])
    return rows


def _law(p: object) -> str:
    d = p.model_dump(exclude_none=True)  # type: ignore[attr-defined]
    keys = [k for k in ("low", "mode", "high", "mean", "sd") if k in d]
    return f"{d['law']}(" + ", ".join(f"{k}={by_name(d['path'], d[k])}" for k in keys) + ")"


def render_mc(result: McResult) -> str:
    sections = []
    n = result.replications
    sections.append(Section(
        "kpis", "KPIs",
        f"Over {n} replications. 95% CI: the interval for the mean (Student's t). "
        "Months: P90 reads 'never' when more than a tenth of the runs never got there; "
        "the mean and its interval are over those that did ('reached').",
        [table(["KPI", "mean", "95% CI of the mean", "P10", "P50", "P90", "reached"],
               kpi_rows(result), numeric=[1, 2, 3, 4, 5, 6])],
    ))
    fans = [figure(annual_chart(result))]
    for name, arr in result.paths.items():
        title, unit, scale, color = PATH_TITLES.get(name, (name, "", 1.0, BLUE))
        fig = fan_chart(result.months, arr, title, unit, scale, color)
        _overlay_record(fig, result, OBSERVED_METRIC.get(name), scale)
        fans.append(figure(fig))
    missing = [x for x in result.observed if isinstance(x, str)]
    if missing:
        fans.append(f"<p class=\"caption\">The record is not drawn: {html.escape(missing[0])}</p>")
    elif "delivered" in result.paths and _record(result):
        fans.append(figure(quarterly_chart(result)))
    sections.append(Section(
        "fans", "Fan charts",
        "Bands hold the middle 80% (P10\u2013P90) and 50% (P25\u2013P75) of the "
        "replications month by month; the line is the median.",
        fans,
    ))
    from .forecast_report import forecast_section

    ahead = forecast_section(result)
    if ahead is not None:
        sections.insert(1, ahead)
    if result.tornado:
        sections.append(Section(
            "sensitivity", "Sensitivity",
            "Each bar: the expected change when one parameter moves from its P10 to its P90 "
            "with the others at their means (a regression over all replications). Longest "
            "bar first; rho is Spearman's rank correlation.",
            [figure(tornado_chart(t)) for t in result.tornado.values()]
            + [_tornado_table(t) for t in result.tornado.values()],
        ))
    if result.params:
        rows = []
        for j, p in enumerate(result.params):
            if p.law == "posterior":
                lo, hi = (float(v) for v in np.quantile(result.values[:, j], [0.1, 0.9]))
            else:
                lo, hi = (float(v) for v in p.ppf(np.array([0.1, 0.9])))
            rows.append([p.name, p.path, _law(p), by_name(p.path, lo), by_name(p.path, hi),
                         by_name(p.path, float(np.mean(result.values[:, j])))])
        sections.append(Section(
            "parameters", "Uncertain parameters",
            "Each replication draws every parameter from its law, by inversion of a uniform "
            "keyed to (seed, replication, path): the same draws in any scenario run with the "
            "same seed (common random numbers).",
            [table(["parameter", "path", "law", "P10", "P90", "mean drawn"], rows,
                   numeric=[3, 4, 5])],
        ))
    return document(
        f"evplant Monte Carlo: {result.scenario}",
        f"{n} replications, seed {result.seed}, {result.months[0]}..{result.months[-1]}",
        _cards(result), sections,
        f"source {result.source}; overrides {result.overrides or 'none'}; replication r "
        f"simulates with SeedSequence({result.seed}, spawn_key=(r, 0)).",
    )


def _tornado_table(t: Tornado) -> str:
    rows = [
        [b.name, K.fmt(t.output, b.y_low), K.fmt(t.output, b.y_high), K.fmt(t.output, b.swing),
         "\u2013" if math.isnan(b.rank_corr) else f"{b.rank_corr:+.2f}"]
        for b in t.bars
    ]
    return table(["parameter", "at P10", "at P90", "swing", "rho"], rows, numeric=[1, 2, 3, 4],
                 title=f"{K.label(t.output)} ({t.method}, {t.n} replications"
                 + (", rough: fewer than 10 per parameter)" if t.rough else ")"))


def _cards(result: McResult) -> list[Card]:
    cards = [Card("Replications", f"{result.replications:,}", f"seed {result.seed}")]
    if "npv_cny" in result.stats:
        s = result.stats["npv_cny"]
        cards.append(Card("NPV, P50", money(s.p50), f"P10 {money(s.p10)}, P90 {money(s.p90)}"))
        npv = result.kpi("npv_cny")
        cards.append(Card("Chance NPV > 0", pct(float(np.mean(npv > 0)), 0)))
    s = result.stats["month_at_target_rate"]
    cards.append(Card("Target rate reached, P50", K.fmt("month_at_target_rate", s.p50),
                      f"P90 {K.fmt('month_at_target_rate', s.p90)}"))
    if "lowest_cash_cny" in result.stats:
        s = result.stats["lowest_cash_cny"]
        cards.append(Card("Lowest cash, P10", money(s.p10), f"P50 {money(s.p50)}"))
    return cards


def render_compare_mc(cmp: McComparison) -> str:
    a, b = cmp.a, cmp.b
    rows = []
    for k in cmp.kpi_names:
        p = cmp.paired[k]
        d = p.diff
        rows.append([
            K.label(k), K.fmt(k, p.mean_a), K.fmt(k, p.mean_b), K.fmt(k, d.mean, diff=True),
            K.fmt_range(k, d.ci_low, d.ci_high, diff=True),
            "\u00b1" + K.fmt(k, p.unpaired_ci_half).lstrip("+") if not K.is_month(k)
            else f"\u00b1{p.unpaired_ci_half:.1f} months",
            pct(p.share_b_better, 0),
        ])
    sections = [Section(
        "difference", "B \u2212 A",
        "Replication r of A and of B share their simulation seed and the draws of every "
        "parameter they share, so the difference is paired run by run; its interval is "
        "much narrower than that of two independent samples (the '\u00b1 unpaired' column).",
        [table(["KPI", "A mean", "B mean", "B \u2212 A", "95% CI (paired)", "\u00b1 unpaired",
                "B higher in"], rows, numeric=[1, 2, 3, 4, 5, 6])],
    )]
    if a.months == b.months:
        figs = []
        for name in a.paths:
            if name in b.paths:
                title, unit, scale, color = PATH_TITLES.get(name, (name, "", 1.0, BLUE))
                figs.append(figure(fan_chart(a.months, b.paths[name] - a.paths[name],
                                             f"{title}: B \u2212 A", unit, scale, color)))
        sections.append(Section("fans", "Paired differences by month",
                                "Bands of B \u2212 A, replication by replication.", figs))
    cards = [Card("Replications", f"{a.replications:,}", f"seed {a.seed}, paired")]
    if "npv_cny" in cmp.paired:
        d = cmp.paired["npv_cny"].diff
        ci = f"95% CI {money(d.ci_low, signed=True)} to {money(d.ci_high, signed=True)}"
        cards.append(Card("NPV, B \u2212 A", money(d.mean, signed=True), ci))
    return document(
        "evplant Monte Carlo comparison",
        f"A: {a.scenario} {a.overrides or ''}  B: {b.scenario} {b.overrides or ''}",
        cards, sections,
        f"A in {a.out_dir}, B in {b.out_dir}; common random numbers with seed {a.seed}.",
    )
