"""The backtest's page: coverage and skill per origin, the quarterly deliveries each
origin forecast against what came, and every scored statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..report import fmt
from ..report.page import Card, Section, document, table
from .report import INK, plot

if TYPE_CHECKING:
    from .backtest import Backtest, OriginScore

BANDS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096"]


def _pct(x: float | None, signed: bool = False) -> str:
    return fmt.pct(x, 0, signed=signed)


def summary_table(scores: Sequence[OriginScore], overall: dict[str, Any]) -> str:
    rows = []
    for s in [*(o.score() for o in scores), overall]:
        rows.append([
            s["origin"], s.get("method", ""), str(s.get("fitted", "")), str(s["scored"]),
            "-" if s["mean_abs_error"] is None else f"{100 * s['mean_abs_error']:.1f}%",
            _pct(s["coverage_p10_p90"]), _pct(s["coverage_predictive"]),
            _pct(s["skill_vs_naive_last"], True), _pct(s["skill_vs_naive_seasonal"], True),
            _pct(s["skill_vs_naive_trend"], True),
        ])
    return table(
        ["origin", "how", "fitted", "scored", "mean |error|", "model band holds",
         "predictive band holds", "skill vs last quarter", "vs seasonal", "vs trend"],
        rows, numeric=(2, 3, 4, 5, 6, 7, 8, 9), total_last=True)


def deliveries_figure(scores: Sequence[OriginScore]) -> str:
    """Quarterly deliveries: the record, and each origin's P10-P90 and median."""
    data: list[dict[str, Any]] = []
    seen: dict[str, float] = {}
    for k, o in enumerate(scores):
        rows = [r for r in o.rows if r.stmt.metric == "delivered" and "Q" in r.stmt.period]
        if not rows:
            continue
        c = BANDS[k % len(BANDS)]
        x = [r.stmt.period for r in rows]
        data.append({"type": "scatter", "mode": "markers+lines", "x": x,
                     "y": [r.p50 for r in rows], "name": f"at {o.origin} (P50, P10-P90)",
                     "line": {"color": c, "width": 1},
                     "error_y": {"type": "data", "symmetric": False, "color": c,
                                 "array": [r.p90 - r.p50 for r in rows],
                                 "arrayminus": [r.p50 - r.p10 for r in rows]}})
        for r in rows:
            seen[r.stmt.period] = r.stmt.value
    if seen:
        xs = sorted(seen)
        data.append({"type": "scatter", "mode": "markers", "x": xs, "y": [seen[p] for p in xs],
                     "name": "the record", "marker": {"color": INK, "size": 10,
                                                       "symbol": "diamond"}})
    return plot(data, {"title": {"text": "Quarterly deliveries: each origin's forecast"},
                       "xaxis": {"type": "category", "categoryorder": "category ascending"},
                       "yaxis": {"title": {"text": "vehicles"}, "rangemode": "tozero"},
                       "legend": {"orientation": "h", "y": -0.2}})


def rows_table(o: OriginScore) -> str:
    def f(x: float) -> str:
        return f"{x:,.4g}" if x == x else "-"

    return table(
        ["period", "metric", "rel.", "record", "P10", "P50", "P90", "inside", "pred. P10-P90",
         "last Q", "seasonal", "trend"],
        [[r.stmt.period, r.stmt.metric, r.stmt.relation, f(r.stmt.value), f(r.p10), f(r.p50),
          f(r.p90), "yes" if r.inside else "no", f"{f(r.pred[0])} - {f(r.pred[2])}",
          f(r.naive["naive_last"]), f(r.naive["naive_seasonal"]), f(r.naive["naive_trend"])]
         for r in o.rows],
        numeric=(3, 4, 5, 6, 9, 10, 11), title=f"Forecast at {o.origin}")


def render_backtest(result: Backtest, name: str) -> str:
    overall = result.summary()
    headline = [
        Card("Origins", str(len(result.origins)),
             ", ".join(o.origin for o in result.origins)),
        Card("Model band holds", _pct(overall["coverage_p10_p90"]),
             f"of {overall['scored']} statements (80% meant)"),
        Card("Predictive band holds", _pct(overall["coverage_predictive"]),
             "structural error fitted on the other origins"),
        Card("Skill vs last quarter", _pct(overall["skill_vs_naive_last"], True),
             "1 - CRPS of the twin / error of the naive forecast"),
    ]
    disc = result.discrepancy.metrics
    disc_table = table(
        ["metric", "sd at the origin", "sd added per month ahead"],
        [[m, f"{t.sd:.3f}", f"{t.sd_per_month:.3f}"] for m, t in sorted(disc.items())],
        numeric=(1, 2), title="Structural error (log scale; shares: absolute)")
    sections = [
        Section("summary", "Coverage and skill by origin",
                "Each origin is the last month its forecast knew: the first a calibration "
                "from the priors, each later one the previous posterior with the new months "
                "assimilated. The model band carries parameter and simulation noise only; "
                "the predictive band adds the structural error fitted on the other origins' "
                "errors (out of sample). Skill compares the mean relative CRPS of the twin "
                "with the mean relative error of each naive forecast on the statements both "
                "can score: above 0 the twin is better.",
                [summary_table(result.origins, overall), disc_table]),
        Section("deliveries", "Quarterly deliveries",
                "What each origin forecast for the quarters after it, against the record.",
                [deliveries_figure(result.origins)]),
        Section("statements", "Every scored statement",
                "Per origin: the record, the model's band and median, whether it holds the "
                "record (a bound: whether the band reaches it), the predictive band, and the "
                "three naive forecasts (blank where the record cannot give one).",
                [rows_table(o) for o in result.origins]),
    ]
    return document(f"Backtest: {name}", "rolling origins by assimilation", headline,
                    sections, "evplant backtest")
