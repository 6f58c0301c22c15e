"""The Monte Carlo report's forecast section: both bands, the record, earlier vintages.

The model band is what the replications spread over (parameters and luck); the
predictive band adds the structural error the backtest measured (:mod:`.forecast`).
Earlier vintages of the same plant's forecast (``calibration.vintages``) are drawn as
outlines, so a reader sees how the forecast moved as the record came in.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..report.fmt import money, pct
from ..report.page import Section, figure, table
from ..report.plot import Figure
from .forecast import ForecastRow

if TYPE_CHECKING:
    from .run import McResult

MODEL = "rgba(47,133,90,0.85)"
PREDICTIVE = "rgba(47,133,90,0.25)"
VINTAGE = ["#dd6b20", "#805ad5", "#2b6cb0", "#d53f8c", "#718096"]
INK = "#1a202c"


def _pick(rows: Sequence[ForecastRow], metric: str, band: str, quarterly: bool = True
          ) -> list[ForecastRow]:
    return [r for r in rows if r.metric == metric and r.band == band
            and ("Q" in r.period) == quarterly and len(r.period) > 4]


def deliveries_chart(result: McResult, rows: Sequence[ForecastRow]) -> Figure:
    """Quarterly deliveries (a plant without a venture: output): predictive P10-P90
    (wide, pale), model P10-P90 (narrow, dark), the median, each vintage's predictive
    band, and the record."""
    fig = Figure()
    metric = "delivered" if "delivered" in result.paths else "produced"
    model = _pick(rows, metric, "model")
    pred = _pick(rows, metric, "predictive")
    x = [r.period for r in model]
    fig.add_bar(x=x, y=[r.p90 - r.p10 for r in pred], base=[r.p10 for r in pred],
                marker_color=PREDICTIVE, name="predictive P10\u2013P90 (with structural error)",
                width=0.8)
    fig.add_bar(x=x, y=[r.p90 - r.p10 for r in model], base=[r.p10 for r in model],
                marker_color=MODEL, name="model P10\u2013P90 (parameters and luck)", width=0.35)
    fig.add_scatter(x=x, y=[r.p50 for r in model], mode="markers",
                    marker=dict(color="#fff", size=7, line=dict(color=INK, width=1)),
                    name="P50")
    for k, v in enumerate(result.vintages):
        vp = [r for r in _pick(v.rows, metric, "predictive") if r.period in set(x)]
        if not vp:
            continue
        c = VINTAGE[k % len(VINTAGE)]
        fig.add_scatter(x=[r.period for r in vp], y=[r.p50 for r in vp], mode="lines+markers",
                        line=dict(color=c, width=1.5, dash="dot"),
                        name=f"{v.name} (P50, P10\u2013P90)",
                        error_y=dict(type="data", symmetric=False, color=c, thickness=1,
                                     array=[r.p90 - r.p50 for r in vp],
                                     arrayminus=[r.p50 - r.p10 for r in vp]))
    record = [s for s in result.observed if not isinstance(s, str)
              and s.metric == metric and s.period in set(x) and s.relation == "eq"]
    if record:
        fig.add_scatter(x=[s.period for s in record], y=[s.value for s in record],
                        mode="markers", marker=dict(color=INK, size=11, symbol="diamond"),
                        name="record", text=[s.note for s in record])
    fig.update_layout(
        title=f"Vehicles {metric} a quarter: model and predictive bands, earlier vintages, "
              "the record", barmode="overlay", height=420, template="plotly_white",
        yaxis_title="vehicles", margin=dict(l=60, r=20, t=50, b=40),
        legend=dict(orientation="h", y=-0.18), xaxis=dict(type="category"))
    return fig


def _fmt(metric: str, x: float) -> str:
    if not math.isfinite(x):
        return "-"
    if metric == "gross_margin":
        return pct(x)
    if metric in ("revenue",):
        return money(x)
    return f"{x:,.0f}"


def forecast_table(rows: Sequence[ForecastRow], origin: str) -> str:
    """Quarters and years after the origin: both bands of each metric."""
    ahead = [r for r in rows if len(r.period) != 7 and r.horizon_months > 0]
    keyed: dict[tuple[str, str], dict[str, ForecastRow]] = {}
    for r in ahead:
        keyed.setdefault((r.period, r.metric), {})[r.band] = r
    body: list[list[str]] = []
    for (period, metric), b in keyed.items():
        m, p = b.get("model"), b.get("predictive")
        if m is None or p is None:
            continue
        body.append([period, metric, _fmt(metric, m.p50),
                     f"{_fmt(metric, m.p10)} \u2013 {_fmt(metric, m.p90)}",
                     f"{_fmt(metric, p.p10)} \u2013 {_fmt(metric, p.p90)}",
                     f"{m.horizon_months:g}"])
    return table(["period", "metric", "P50", "model P10\u2013P90", "predictive P10\u2013P90",
                  "months ahead"], body, numeric=(2, 3, 4, 5),
                 title=f"The forecast after {origin}")


def forecast_section(result: McResult) -> Section | None:
    if result.forecast is None:
        return None
    rows = result.forecast_rows()
    spec = result.forecast
    parts: list[str] = []
    parts.append(figure(deliveries_chart(result, rows)))
    parts.append(forecast_table(rows, spec.origin))
    if spec.discrepancy is None or not spec.discrepancy.metrics:
        note = ("This scenario has no structural error (calibration.discrepancy): the "
                "predictive band equals the model band, and is too narrow to plan on; "
                "`evplant backtest` measures it.")
    else:
        terms = ", ".join(f"{m} {t.sd:.0%} + {t.sd_per_month:.0%}/\u221amonth"
                          for m, t in sorted(spec.discrepancy.metrics.items()))
        note = (f"The predictive band adds the structural error measured by the backtest "
                f"({terms}), growing with the months after {spec.origin}.")
    missing = [v.name for v in result.vintages if not v.rows]
    if missing:
        note += " Not drawn: " + "; ".join(missing) + "."
    parts.insert(0, f'<p class="caption">{html.escape(note)}</p>')
    return Section(
        "forecast", "Forecast: how sure",
        "Two bands. The model band (dark) holds 80% of the replications: the parameters' "
        "uncertainty and the simulation's luck. The predictive band (pale) also carries "
        "the model's own structural error, learnt from how far its past forecasts missed; "
        "it is the band to plan on. forecast.csv has both for every month, quarter and "
        "year.", parts)
