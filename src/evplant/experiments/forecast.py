"""A Monte Carlo run's forecast as a long table: every period, metric and band.

Two bands, and the report says which is which:

- ``model``: the replications' own spread: what the parameters' uncertainty (priors, or
  the calibration's posterior) and the simulation's randomness give;
- ``predictive``: the same widened by the model's structural error (the scenario's
  ``calibration.discrepancy``, fitted by ``evplant backtest`` on the twin's own
  rolling-origin errors), which grows with the months since the last month the
  posterior was fitted on (:func:`evplant.calibration.discrepancy.horizon_months`).
  This is the band to plan on; without a discrepancy it equals the model band. A
  metric the discrepancy does not list borrows its kin's (:data:`KIN`).

Periods are each month of the horizon (``YYYY-MM``), each whole quarter (``YYYYQn``)
and each whole year (``YYYY``).  Metrics: ``produced`` and, with a venture,
``delivered``, ``revenue`` (times the observation model's scale for ``revenue``, so
it reads as the record reports it) and ``gross_margin`` (from the period's summed
revenue and cost of sales, per replication).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..calibration.discrepancy import Discrepancy, horizon_months
from ..calibration.observations import METRICS, Statement, period_months
from ..months import month_label, month_number
from ..seeds import child_rng

BANDS = ("model", "predictive")
#: a metric the backtest could not score borrows the structural error of its nearest kin:
#: production follows deliveries, and the segment's revenue its cars' revenue
KIN = {"produced": "delivered", "revenue": "revenue_cars"}
QUANTILES = (0.1, 0.5, 0.9)
FORECAST_CSV = "forecast.csv"
_WIDEN = 9  # spawn key under the run's seed: the structural error's draws
COLUMNS = ("period", "metric", "band", "p10", "p50", "p90", "horizon_months")


@dataclass(frozen=True)
class ForecastSpec:
    """What turns the replications into predictive bands."""

    origin: str  # the last month the posterior knows (or the month before the horizon)
    discrepancy: Discrepancy | None = None
    scales: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ForecastRow:
    """One row of ``forecast.csv``: a period's P10, P50 and P90 of one metric in one
    band (``model`` or ``predictive``), ``horizon_months`` after the last fitted month."""

    period: str
    metric: str
    band: str
    p10: float
    p50: float
    p90: float
    horizon_months: float


@dataclass(frozen=True)
class Vintage:
    """An earlier forecast of the same plant (say, before a quarter's record came in),
    drawn beside this one in the report."""

    name: str
    rows: tuple[ForecastRow, ...]


def periods(months: Sequence[str]) -> list[str]:
    """Each month, then each whole quarter and each whole year the months cover."""
    have = set(months)
    out = list(months)
    years = sorted({m[:4] for m in months})
    for y in years:
        for q in range(1, 5):
            first, last = period_months(f"{y}Q{q}")
            if first in have and last in have:
                out.append(f"{y}Q{q}")
    for y in years:
        if f"{y}-01" in have and f"{y}-12" in have:
            out.append(y)
    return out


def _figures(paths: dict[str, np.ndarray], metric: str, a: int, b: int,
             scales: dict[str, float]) -> np.ndarray:
    """Each replication's figure of ``metric`` over months ``a..b-1``."""
    if metric == "gross_margin":
        rev = paths["revenue"][:, a:b].sum(axis=1)
        cogs = paths["cogs"][:, a:b].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.where(rev > 0, (rev - cogs) / rev, np.nan))
    return np.asarray(paths[metric][:, a:b].sum(axis=1) * scales.get(metric, 1.0))


def forecast_rows(
    paths: dict[str, np.ndarray], months: Sequence[str], spec: ForecastSpec, seed: int
) -> list[ForecastRow]:
    """Both bands of every period and metric (see the module docstring)."""
    metrics: list[str] = [m for m in ("produced", "delivered", "revenue") if m in paths]
    if "revenue" in paths and "cogs" in paths:
        metrics.append("gross_margin")
    start = month_number(months[0])
    disc = spec.discrepancy or Discrepancy()
    rng = child_rng(seed, _WIDEN)
    rows: list[ForecastRow] = []
    for period in periods(months):
        first, last = period_months(period)
        a, b = month_number(first) - start, month_number(last) - start + 1
        for metric in metrics:
            x = _figures(paths, metric, a, b, spec.scales)
            stmt = Statement(period, first, last, metric, "eq", 0.0, METRICS[metric].unit)
            h = horizon_months(spec.origin, stmt)
            own = metric if metric in disc.metrics or metric not in KIN else KIN[metric]
            wide = disc.widen(x, own, h, rng)
            for band, values in (("model", x), ("predictive", wide)):
                if np.isfinite(values).any():
                    q = np.nanquantile(values, QUANTILES)
                else:
                    q = np.full(3, np.nan)
                rows.append(ForecastRow(period, metric, band, float(q[0]), float(q[1]),
                                        float(q[2]), h))
    return rows


def default_origin(months: Sequence[str], fitted_through: str | None) -> str:
    """The posterior's last fitted month, or the month before the horizon (a plan)."""
    if fitted_through is not None:
        return fitted_through
    return month_label(month_number(months[0]) - 1)


def forecast_csv(rows: Sequence[ForecastRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([r.period, r.metric, r.band, *(_num(x) for x in (r.p10, r.p50, r.p90)),
                    f"{r.horizon_months:g}"])
    return buf.getvalue()


def _num(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.6g}"


def read_forecast(text: str, source: str) -> list[ForecastRow]:
    """Rows of a forecast.csv (another run's, or a vintage shipped with a scenario)."""
    from ..errors import EvplantError

    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS[:6] if c not in (reader.fieldnames or [])]
    if missing:
        raise EvplantError(f"not a forecast table: missing column(s) {', '.join(missing)}",
                           file=source)
    out = []
    for n, row in enumerate(reader, start=2):
        try:
            lo, mid, hi = (float(row[k]) if row[k] else math.nan for k in ("p10", "p50", "p90"))
            out.append(ForecastRow(row["period"], row["metric"], row["band"], lo, mid, hi,
                                   float(row.get("horizon_months") or 0.0)))
        except ValueError:
            raise EvplantError("p10, p50 and p90 must be numbers", file=source, line=n,
                               field="p10") from None
    return out
