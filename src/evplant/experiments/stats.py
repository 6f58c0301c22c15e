"""Statistics of a KPI over replications: mean, 95% confidence interval, P10/P50/P90.

NaN means "never" (a month the run never reached). The percentiles count it as later
than any month (+inf), so P90 can read "never"; the mean and its interval are over the
replications that did reach it, and ``reached`` says what share that is.

The confidence interval is Student's t on the mean: ``mean +- t(0.975, n-1) * s/sqrt(n)``.
Percentiles interpolate linearly between order statistics (NumPy's default method).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as st

CONFIDENCE = 0.95
PERCENTILES = (10.0, 50.0, 90.0)


@dataclass(frozen=True)
class Stat:
    n: int  # replications
    reached: float  # share with a finite value (1.0 for a KPI that is always a number)
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    p10: float
    p50: float
    p90: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: np.ndarray, q: float) -> float:
    """Linear-interpolated percentile where NaN counts as +inf (never)."""
    x = np.sort(np.where(np.isnan(values), np.inf, np.asarray(values, dtype=float)))
    if len(x) == 0:
        return math.nan
    if np.isfinite(x[-1]):
        return float(np.percentile(x, q))
    pos = (len(x) - 1) * q / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(x) - 1)
    frac = pos - lo
    a, b = float(x[lo]), float(x[hi])
    if math.isinf(a) or math.isinf(b):
        return b if frac > 0 else a
    return a + (b - a) * frac if frac > 0 else a


def mean_ci(
    values: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float, float, float]:
    """(mean, sd, low, high) of the finite values; NaN where undefined."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(np.mean(x))
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(np.std(x, ddof=1))
    half = float(st.t.ppf(0.5 + confidence / 2.0, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def describe(values: np.ndarray, confidence: float = CONFIDENCE) -> Stat:
    x = np.asarray(values, dtype=float)
    n = len(x)
    mean, sd, lo, hi = mean_ci(x, confidence)
    p10, p50, p90 = (percentile(x, q) for q in PERCENTILES)
    reached = float(np.isfinite(x).mean()) if n else math.nan
    return Stat(n, reached, mean, sd, lo, hi, p10, p50, p90)


@dataclass(frozen=True)
class Paired:
    """B - A, replication by replication (common random numbers)."""

    n: int
    mean_a: float
    mean_b: float
    diff: Stat  # of the paired differences
    unpaired_ci_half: float  # what the interval's half-width would be without pairing
    share_b_better: float  # share of replications where B > A

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["diff"] = self.diff.to_dict()
        return out


def paired(a: np.ndarray, b: np.ndarray, confidence: float = CONFIDENCE) -> Paired:
    """Statistics of B - A over replications where both are finite."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    d = b[ok] - a[ok]
    diff = describe(d, confidence)
    na, nb = int(np.isfinite(a).sum()), int(np.isfinite(b).sum())
    if na >= 2 and nb >= 2:
        # Welch's interval for two independent samples of the same sizes
        va, vb = np.var(a[np.isfinite(a)], ddof=1) / na, np.var(b[np.isfinite(b)], ddof=1) / nb
        se = math.sqrt(va + vb)
        dof = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1)) if se > 0 else na + nb - 2
        unpaired = float(st.t.ppf(0.5 + confidence / 2.0, dof)) * se
    else:
        unpaired = math.nan
    ma = float(np.mean(a[np.isfinite(a)])) if na else math.nan
    mb = float(np.mean(b[np.isfinite(b)])) if nb else math.nan
    better = float(np.mean(d > 0)) if len(d) else math.nan
    return Paired(len(a), ma, mb, diff, unpaired, better)
