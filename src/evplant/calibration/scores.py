"""Proper scores of a forecast ensemble against one observed statement.

A forecast of a statement is an ensemble of model figures (one per posterior draw and
simulation); the record gives one value and its relation (:mod:`.observations`):

- :func:`crps_samples`, the continuous ranked probability score of an ensemble against a
  reported figure, ``E|X - y| - E|X - X'| / 2`` (Gneiting & Raftery 2007, eq. 21): the
  integral of ``(F(x) - 1[x >= y])^2`` over x, in the figure's own unit, zero only for
  an ensemble that is exactly right.  It rewards a band both for being near the truth
  and for being narrow, and cannot be gamed by widening or narrowing it;
- :func:`crps_bound`, the same score against a bound ("over 20,000"): the part of the
  integral the bound decides, see its docstring;
- :func:`interval_score`, the score of a central band alone;
- :func:`score_statement`, a statement's quantiles, whether it lies in the band, the
  median's error and its CRPS made scale-free (divided by ``|value|``) so that
  deliveries, revenue and months of different size pool into one mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .observations import METRICS, Statement

__all__ = ["Scored", "crps_bound", "crps_samples", "interval_score", "score_statement"]


def _finite_sorted(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=float).ravel()
    return np.sort(x[~np.isnan(x)])


def crps_samples(samples: np.ndarray, y: float) -> float:
    """The CRPS of an ensemble at the observed value ``y`` (NaN samples ignored).

    ``E|X - y| - 0.5 E|X - X'|`` with X, X' drawn independently from the ensemble's
    empirical distribution, equal to the integral of ``(F_n(x) - 1[x >= y])^2``.
    ``E|X - X'|`` is computed from the sorted ensemble as
    ``2 / n^2 * sum_i (2i - n - 1) x_(i)``, so the cost is O(n log n), not O(n^2).

    Returns NaN when no sample is a number; an ensemble of one value ``x`` scores
    ``|x - y|`` (the absolute error: the CRPS generalises it).
    """
    x = _finite_sorted(samples)
    n = x.size
    if n == 0 or not math.isfinite(y):
        return math.nan
    spread = float(np.dot(2.0 * np.arange(1, n + 1) - n - 1, x)) * 2.0 / (n * n)
    return float(np.mean(np.abs(x - y))) - 0.5 * spread


def crps_bound(samples: np.ndarray, bound: float, relation: str) -> float:
    """The CRPS of an ensemble against a censored observation, a bound on the truth.

    A statement "the truth is >= ``bound``" (``relation='ge'``) fixes the observation's
    step function ``1[x >= y]`` only below the bound, where it is 0; above the bound it
    is unknown and is left out.  The score is the part of the CRPS integral that is
    known::

        ge:  integral over x < bound of F(x)^2
        le:  integral over x > bound of (1 - F(x))^2

    with ``F`` the ensemble's empirical distribution.  It is the censored CRPS: zero
    when the whole ensemble lies past the bound (the forecast agrees with everything
    the record says), and for any truth ``y`` past the bound it is at most
    ``crps_samples(samples, y)``, so a bound is never scored harder than the exact
    figure would be.  In the figure's unit, as :func:`crps_samples`; NaN for an
    ensemble of no numbers.
    """
    if relation == "le":
        return crps_bound(-np.asarray(samples, dtype=float), -bound, "ge")
    if relation != "ge":
        raise ValueError(f"relation must be 'ge' or 'le', got {relation!r}")
    x = _finite_sorted(samples)
    n = x.size
    if n == 0 or not math.isfinite(bound):
        return math.nan
    # F = k/n on [x_(k), x_(k+1)); only the part of each step below the bound counts
    ends = np.minimum(np.append(x[1:], np.inf), bound)
    widths = np.clip(ends - x, 0.0, None)
    heights = (np.arange(1, n + 1) / n) ** 2
    return float(np.dot(heights, widths))


def interval_score(lo: float, hi: float, y: float, alpha: float = 0.2) -> float:
    """The interval score of a central ``1 - alpha`` band ``[lo, hi]`` at ``y``.

    ``(hi - lo) + 2/alpha (lo - y) [y < lo] + 2/alpha (y - hi) [y > hi]`` (Gneiting &
    Raftery 2007, eq. 43): the band's width plus a penalty for a miss, proper for the
    ``alpha/2`` and ``1 - alpha/2`` quantiles (the default: P10-P90).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    score = hi - lo
    if y < lo:
        score += 2.0 / alpha * (lo - y)
    elif y > hi:
        score += 2.0 / alpha * (y - hi)
    return float(score)


@dataclass(frozen=True)
class Scored:
    """A forecast ensemble scored against one statement.

    ``inside``: ``eq``/``approx``: ``p10 <= value <= p90``; ``ge``: ``p90 >= value``
    (the band reaches the bound); ``le``: ``p10 <= value``.  ``rel_error``:
    ``(p50 - value) / |value|`` for a figure (shares too: a margin 10% short), NaN for
    a figure of 0, None for a bound (a median above a floor is not an error).
    ``crps``: :func:`crps_samples`, or :func:`crps_bound` for a bound, in the metric's
    unit.  ``score``: ``crps / |value|`` so that metrics of any size pool (a figure of
    0 is divided by 1); for a share (gross margin) the absolute ``crps``, already on a
    common scale (a relative CRPS of a margin near zero would explode).
    """

    p10: float
    p50: float
    p90: float
    inside: bool
    rel_error: float | None
    crps: float
    score: float


def score_statement(stmt: Statement, samples: np.ndarray) -> Scored:
    """Score the forecast ``samples`` of ``stmt``'s figure (NaN samples ignored).

    An ensemble of no numbers gives NaN quantiles and score and ``inside=False``.
    """
    x = np.asarray(samples, dtype=float).ravel()
    y = stmt.value
    if np.all(np.isnan(x)):
        lo = mid = hi = math.nan
    else:
        lo, mid, hi = (float(q) for q in np.nanquantile(x, [0.1, 0.5, 0.9]))
    bound = stmt.relation in ("ge", "le")
    if stmt.relation == "ge":
        inside = hi >= y
    elif stmt.relation == "le":
        inside = lo <= y
    else:
        inside = lo <= y <= hi
    share = METRICS[stmt.metric].unit == "share"
    scale = 1.0 if share or y == 0 else abs(y)
    crps = crps_bound(x, y, stmt.relation) if bound else crps_samples(x, y)
    rel_error = None if bound else (mid - y) / abs(y) if y != 0 else math.nan
    return Scored(lo, mid, hi, bool(inside), rel_error, crps, crps / scale)
