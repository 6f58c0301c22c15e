"""Which uncertain parameter moves an output most: the tornado chart's bars.

From the Monte Carlo sample itself (no extra runs): a linear regression of the output
on all parameters together (each parameter's effect with the others held at their
means; parameters are drawn independently). A bar runs from the expected output with
the parameter at its law's P10 to the expected output with it at its P90; bars are
ordered by that swing, in the output's own units (CNY, vehicles). Spearman's rank
correlation is given beside it as a model-free check of direction and strength.

With fewer replications than parameters + 3 the regression is underdetermined; each
parameter's slope is then its sample covariance with the output over the variance of
its law (unbiased for independent draws; dividing by the law's variance rather than the
sample's keeps a parameter that happened to vary little from getting a huge slope).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..scenario.uncertainty import Uncertainty

LOW_Q, HIGH_Q = 0.1, 0.9


@dataclass(frozen=True)
class Bar:
    name: str
    path: str
    x_low: float  # the parameter at its law's P10
    x_high: float  # and at its P90
    y_low: float  # the expected output with the parameter at x_low
    y_high: float  # ... at x_high
    swing: float  # |y_high - y_low|
    rank_corr: float  # Spearman's rho between the parameter and the output


@dataclass
class Tornado:
    output: str
    base: float  # mean output over replications with a finite value
    n: int  # those replications
    method: str  # "regression" or "one at a time"
    bars: list[Bar] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "bars"},
                "bars": [asdict(b) for b in self.bars]}

    def ranking(self) -> list[str]:
        return [b.name for b in self.bars]

    @property
    def rough(self) -> bool:
        """Fewer than 10 replications per parameter: the order may be noise."""
        return self.n < 10 * max(1, len(self.bars))


def tornado(
    params: Sequence[Uncertainty], values: np.ndarray, y: np.ndarray, output: str
) -> Tornado:
    """Bars for ``output`` from draws ``values`` [n, parameters] and outputs ``y`` [n]."""
    values = np.asarray(values, dtype=float).reshape(len(y), len(params))
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y) & np.all(np.isfinite(values), axis=1)
    x, yy = values[ok], y[ok]
    n = len(yy)
    base = float(np.mean(yy)) if n else math.nan
    sd = np.std(x, axis=0) if n else np.zeros(len(params))
    active = [j for j in range(len(params)) if n >= 2 and sd[j] > 0]
    slopes = np.zeros(len(params))
    method = "regression"
    if active and n >= len(active) + 3:
        z = (x[:, active] - x[:, active].mean(axis=0)) / sd[active]
        design = np.column_stack([np.ones(n), z])
        coef, *_ = np.linalg.lstsq(design, yy, rcond=None)
        slopes[active] = coef[1:] / sd[active]
    else:
        method = "one at a time"
        for j in active:
            xc = x[:, j] - x[:, j].mean()
            cov = float(xc @ (yy - base)) / (n - 1)
            var = float(np.var(x[:, j])) if params[j].law == "posterior" else _law_variance(
                params[j]
            )
            slopes[j] = cov / var
    bars = []
    for j, u in enumerate(params):
        if u.law == "posterior":  # no law to invert: the draws' own quantiles
            lo, hi = (float(v) for v in np.quantile(x[:, j], [LOW_Q, HIGH_Q]))
        else:
            lo, hi = (float(v) for v in u.ppf(np.array([LOW_Q, HIGH_Q])))
        xbar = float(x[:, j].mean()) if n else math.nan
        y_lo = base + slopes[j] * (lo - xbar) if j in active else base
        y_hi = base + slopes[j] * (hi - xbar) if j in active else base
        rho = _spearman(x[:, j], yy) if j in active else math.nan
        bars.append(
            Bar(u.name, u.path, lo, hi, float(y_lo), float(y_hi), float(abs(y_hi - y_lo)), rho)
        )
    order = sorted(range(len(bars)), key=lambda j: (-_finite(bars[j].swing), j))
    return Tornado(output, base, n, method, [bars[j] for j in order])


def _law_variance(u: Uncertainty) -> float:
    """The variance of a parameter's law (by quadrature of its inverse CDF)."""
    q = u.ppf((np.arange(4096) + 0.5) / 4096)
    return float(np.var(q))


def _finite(v: float) -> float:
    return v if math.isfinite(v) else -1.0


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(y) == 0 or np.ptp(x) == 0:
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def default_outputs(kpi_names: Sequence[str]) -> list[str]:
    """NPV (with a venture) and the 2026 output, or the last year's if 2026 is not run."""
    out = []
    if "npv_cny" in kpi_names:
        out.append("npv_cny")
    years = [k for k in kpi_names if k.startswith("produced_") and k[9:].isdigit()]
    if "produced_2026" in years:
        out.append("produced_2026")
    elif years:
        out.append(years[-1])
    return out
