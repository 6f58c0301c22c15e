"""How sure a single run is: the scenario's own forecast band behind the run's figures.

A single run is one history at the centre of the scenario's uncertain values.  Where
the scenario ships its forecast (``calibration.forecast``: the ``forecast.csv`` of an
``evplant mc`` run of it), the run's report draws that forecast's predictive P10-P90
(parameters, luck and the model's structural error) behind the run's monthly and
yearly deliveries, so a reader sees how far one run is from what may happen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import fmt
from .page import Section, figure
from .plot import Figure

if TYPE_CHECKING:
    from ..experiments.forecast import ForecastRow
    from .data import Rows

BAND = "rgba(47,133,90,0.22)"
RUN = "#2f855a"


def _band(rows: Sequence[ForecastRow], metric: str, monthly: bool) -> list[ForecastRow]:
    return [r for r in rows if r.metric == metric and r.band == "predictive"
            and (len(r.period) == 7) == monthly and ("Q" not in r.period)]


def band_section(run_rows: Rows, forecast: Sequence[ForecastRow], source: str) -> Section | None:
    """Monthly and yearly deliveries of the run over the forecast's predictive band."""
    metric = "delivered" if any("delivered" in r for r in run_rows) else "produced"
    months = _band(forecast, metric, True)
    years = _band(forecast, metric, False)
    if not months:
        return None
    run = {str(r["month"]): float(r.get(metric) or 0.0) for r in run_rows}
    fig = Figure()
    x = [r.period for r in months]
    fig.add_scatter(x=x, y=[r.p90 for r in months], line=dict(width=0), showlegend=False,
                    hoverinfo="skip")
    fig.add_scatter(x=x, y=[r.p10 for r in months], line=dict(width=0), fill="tonexty",
                    fillcolor=BAND, name="forecast: predictive P10\u2013P90")
    fig.add_scatter(x=x, y=[r.p50 for r in months], line=dict(color=RUN, width=1, dash="dot"),
                    name="forecast: P50")
    shown = [m for m in x if m in run]
    fig.add_scatter(x=shown, y=[run[m] for m in shown], line=dict(color="#1a202c", width=2),
                    name="this run")
    fig.update_layout(title=f"Vehicles {metric} a month: this run and the forecast's band",
                      height=380, template="plotly_white", yaxis_title="vehicles",
                      margin=dict(l=60, r=20, t=50, b=40), legend=dict(orientation="h", y=-0.15))
    parts = [figure(fig)]
    by_year: dict[str, float] = {}
    for m, v in run.items():
        by_year[m[:4]] = by_year.get(m[:4], 0.0) + v
    rows = [[r.period, fmt.count(by_year.get(r.period)), fmt.count(r.p10), fmt.count(r.p50),
             fmt.count(r.p90)] for r in years if r.period in by_year]
    if rows:
        from .page import table

        parts.append(table(["year", "this run", "forecast P10", "P50", "P90"], rows,
                           numeric=(1, 2, 3, 4)))
    return Section(
        "how-sure", "How sure: this run against the forecast",
        "A single run is one history of the plant at the centre of its uncertain values. "
        f"The band is the scenario's forecast ({source}): the P10\u2013P90 of `evplant mc` "
        "with the model's structural error added, the band to plan on; `evplant mc` on "
        "this scenario gives it afresh, with any edit.", parts)
