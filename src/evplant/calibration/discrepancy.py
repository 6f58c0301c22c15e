"""The model's structural error: how far the plant strays from the twin, by horizon.

Posterior and simulation noise say how unsure the twin is about its own parameters and
luck; they say nothing about what the model leaves out.  A forecast's honest band adds
that structural error, learnt from the twin's own rolling-origin errors on the record.

For a metric, the structural error of a period ``h`` months ahead is normal with a
standard deviation that grows like a random walk's::

    sd(h) = sqrt(sd^2 + sd_per_month^2 * h)

on the log scale (a relative error) for cars, money and weeks, and absolute (margin
points) for shares.  ``sd`` is the error already there at the origin (the fit's own
misfit, reporting differences); ``sd_per_month`` is how fast the model drifts away.

**The horizon** (:func:`horizon_months`) runs from the origin (the last month known or
fitted) to the period's *middle* month for a flow or a share, to its last month for a
level.  A flow's total over a period is the sum of its months, so its error is about
the average of its months' errors; under a random walk that average has the variance of
the walk at about the middle month (at exactly ``h0 + (k+1)(2k+1)/(6k)`` for ``k``
months after ``h0``: 1.6 for the quarter just ahead, against 2 at its middle and 3 at its
end), and a year's total would be charged twelve months' drift by its last month where
it carries about 4.5 (6.5 at its middle).  A level (backlog at a period's end) is read
at its last month.  In-sample periods have ``h = 0``.  The fit and the forecast use the
same rule.

:func:`fit_discrepancy` learns ``sd`` and ``sd_per_month`` by maximum likelihood from
scored backtest rows; :meth:`Discrepancy.widen` turns the model's ensemble of a figure
into the predictive one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat

from ..months import month_number
from .observations import METRICS, Statement
from .scores import Scored

__all__ = [
    "Discrepancy",
    "ErrorRow",
    "Term",
    "fit_discrepancy",
    "horizon_months",
    "standardised",
]

#: the standard normal's 90% quantile: a normal's P10-P90 spans 2 * Z90 sd
Z90 = 1.2815515655446004


class Term(BaseModel):
    """One metric's structural error: ``sd`` at the origin, ``sd_per_month`` of drift."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    sd: NonNegativeFloat = Field(0.0, description="error at horizon 0 (log scale; shares: "
                                                  "absolute)")
    sd_per_month: NonNegativeFloat = Field(0.0, description="sd^2 grows by this squared "
                                                            "each month ahead")


class Discrepancy(BaseModel):
    """The structural error per metric (``metrics: {delivered: {sd, sd_per_month}}``);
    a metric not listed has none."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    metrics: dict[str, Term] = Field(default_factory=dict)

    def model_post_init(self, _: object) -> None:
        unknown = sorted(set(self.metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; allowed: {', '.join(METRICS)}")

    def sd(self, metric: str, h: float) -> float:
        """The structural error's standard deviation at horizon ``h`` months (h < 0
        counts as 0); 0 for a metric not listed."""
        term = self.metrics.get(metric)
        if term is None:
            return 0.0
        return math.sqrt(term.sd**2 + term.sd_per_month**2 * max(h, 0.0))

    def widen(
        self, samples: np.ndarray, metric: str, h: float, rng: np.random.Generator
    ) -> np.ndarray:
        """The predictive ensemble: each of the model's ``samples`` times
        ``exp(N(0, sd(h)))`` (a share: plus ``N(0, sd(h))``), drawn from ``rng``.

        One standard normal is drawn per sample whatever the metric's term (none, or
        zero), so the caller's stream advances the same way for every discrepancy and
        two discrepancies widen with common random numbers.  NaN stays NaN.
        """
        x = np.asarray(samples, dtype=float)
        z = rng.standard_normal(x.shape) * self.sd(metric, h)
        if METRICS[metric].unit == "share":
            return np.asarray(x + z)
        return np.asarray(x * np.exp(z))


def horizon_months(origin: str, stmt: Statement) -> float:
    """Months from ``origin`` ('YYYY-MM', the last month known) to the statement's
    middle month (a level: its last month); 0 for a period at or before the origin."""
    end = month_number(stmt.last)
    if METRICS[stmt.metric].kind == "level":
        at = float(end)
    else:
        at = (month_number(stmt.first) + end) / 2
    return max(at - month_number(origin), 0.0)


@dataclass(frozen=True)
class ErrorRow:
    """One scored figure of a rolling-origin backtest: the record's ``y`` against the
    model's band ``p10, p50, p90`` (parameters and luck only) ``horizon_months`` ahead."""

    metric: str
    horizon_months: float
    y: float
    p10: float
    p50: float
    p90: float

    @classmethod
    def from_scored(cls, origin: str, stmt: Statement, scored: Scored) -> ErrorRow:
        """The row of a reported figure (``eq`` or ``approx``) scored at ``origin``, its
        horizon by :func:`horizon_months`; a bound has no error to learn from."""
        if stmt.relation in ("ge", "le"):
            raise ValueError(f"{stmt.label()}: a bound has no error to fit a discrepancy on")
        return cls(stmt.metric, horizon_months(origin, stmt), stmt.value, scored.p10,
                   scored.p50, scored.p90)


def standardised(row: ErrorRow) -> tuple[float, float] | None:
    """``(error, model_sd)`` of a row on its metric's scale, None where it has none.

    Log scale: ``log(y / p50)`` and ``|log(p90 / p10)| / (2 Z90)``, the sd a lognormal
    band of that width has; a share: ``y - p50`` and ``(p90 - p10) / (2 Z90)``.  A row
    of a signed metric whose figures are not all of one sign (a loss near break-even)
    has no log scale: None.

    Raises
    ------
    ValueError
        For an unknown metric, a non-finite figure, a negative horizon or a band out of
        order (``p10 <= p50 <= p90``).
    """
    if row.metric not in METRICS:
        raise ValueError(f"unknown metric {row.metric!r}; allowed: {', '.join(METRICS)}")
    figures = (row.horizon_months, row.y, row.p10, row.p50, row.p90)
    if not all(math.isfinite(v) for v in figures):
        raise ValueError(f"{row}: every figure must be finite")
    if row.horizon_months < 0:
        raise ValueError(f"{row}: the horizon must be >= 0 months")
    if not row.p10 <= row.p50 <= row.p90:
        raise ValueError(f"{row}: the band must be ordered p10 <= p50 <= p90")
    if METRICS[row.metric].unit == "share":
        return row.y - row.p50, (row.p90 - row.p10) / (2 * Z90)
    values = np.array([row.y, row.p10, row.p50, row.p90])
    if not (np.all(values > 0) or np.all(values < 0)):
        return None
    return math.log(row.y / row.p50), abs(math.log(row.p90 / row.p10)) / (2 * Z90)


def _fit_metric(r: np.ndarray, m: np.ndarray, h: np.ndarray) -> Term:
    """Maximum likelihood of r ~ N(0, m^2 + v0 + v1 h) over v0, v1 >= 0."""
    from scipy.optimize import minimize  # a forecast that only widens need not load it

    scale = float(np.mean(r**2) + np.mean(m**2)) or 1.0  # variances near 1 for the optimiser
    r2, m2 = r**2 / scale, m**2 / scale
    drift = bool(np.ptp(h) > 0)  # one horizon cannot tell the origin's error from drift

    def nll(u: np.ndarray) -> tuple[float, np.ndarray]:
        v = np.maximum(m2 + u[0] + u[1] * h, 1e-12)
        g = 0.5 * (1.0 / v - r2 / v**2)
        return float(0.5 * np.sum(np.log(v) + r2 / v)), np.array([g.sum(), (g * h).sum()])

    hm = float(np.mean(h)) or 1.0
    starts = [(0.5, 0.0), (0.0, 0.5 / hm), (0.25, 0.25 / hm)]
    bounds = [(0.0, None), (0.0, None) if drift else (0.0, 0.0)]
    # the likelihood need not be convex in the variances: the best of a few starts.
    # TNC, not L-BFGS-B: scipy's L-BFGS-B calls the threaded BLAS on two numbers and
    # took 100 times longer (0.7 s a fit) on a busy 2-core machine
    fits = [minimize(nll, np.array([a, b if drift else 0.0]), jac=True, method="TNC",
                     bounds=bounds) for a, b in starts]
    best = min(fits, key=lambda res: float(res.fun))
    v0, v1 = (max(float(u), 0.0) * scale for u in best.x)
    return Term(sd=math.sqrt(v0), sd_per_month=math.sqrt(v1))


def fit_discrepancy(errors: Sequence[ErrorRow]) -> Discrepancy:
    """The structural error per metric, by maximum likelihood on backtest errors.

    Each row's error (:func:`standardised`) is taken as normal with variance
    ``model_sd^2 + sd^2 + sd_per_month^2 * h``: the model's own band explains part of
    it, and the discrepancy the rest.  Rows are independent (rows of one origin share
    the model's error in truth, so the fit is a little too sure of itself, not biased).
    The error's mean is taken as 0: a model that is biased gets a wider band, not a
    shifted one.  Where the model's band explains the errors, the fit is 0.

    A metric with fewer than 3 usable rows gets no term (too few to tell a spread; its
    forecast keeps the model's band); with all its rows at one horizon, no drift
    (``sd_per_month = 0``).  Rows without a log scale (:func:`standardised` None) are
    left out of the fit: count them with it to say so.

    Raises
    ------
    ValueError
        For a row :func:`standardised` refuses.
    """
    by_metric: dict[str, list[tuple[float, float, float]]] = {}
    for row in errors:
        std = standardised(row)
        if std is not None:
            by_metric.setdefault(row.metric, []).append((std[0], std[1], row.horizon_months))
    terms: dict[str, Term] = {}
    for metric in sorted(by_metric):
        rows = np.array(by_metric[metric])
        if len(rows) >= 3:
            terms[metric] = _fit_metric(rows[:, 0], rows[:, 1], rows[:, 2])
    return Discrepancy(metrics=terms)
