"""The naive forecasts a planner would make without the twin, from the record alone.

A backtest scores the twin against what a planner could have said at the same origin
with a spreadsheet and the statements then known (those whose last month is at or
before the origin, ``'YYYY-MM'`` the last month known):

- ``last``: the last complete quarter carries on: a flow at that quarter's monthly
  rate, a share (gross margin) at its value, a level (backlog, wait) at its last value;
- ``seasonal``: the last quarter times the change a year earlier, from the year-earlier
  quarter to the year-earlier target period (both per month, so any period length
  compares);
- ``trend``: a least-squares line through the last three known months, extrapolated.

A baseline that the record cannot support is NaN, not a guess: a young plant has no
year-earlier figures, so ``seasonal`` is NaN for most of its first two years.

**Monthly series of a flow.**  The record gives months, quarters and years, exact or as
bounds ("over 20,000").  A month's value is, in order:

1. its own ``eq`` (or ``approx``) statement (several: ``eq`` before ``approx``, then
   their mean);
2. its share of its quarter's ``eq`` total: the total minus the months already known,
   spread evenly over the months not given.  A month's own bound is honoured: a month
   whose even share would break its bound is set at the bound and the rest re-spread,
   the worst first (where the bounds and the total disagree, the bounds win).  This
   comes before the bound itself because a quarter's exact total says more about its
   months than "over 10,000" does: a record of floors and exact quarters (the plant's
   2025) would otherwise give months at their floors, quarters below the reported
   ones, and baselines biased low, which flatters the twin;
3. its own ``ge``/``le`` bound, where no quarter total covers it.

A year's total is not spread: the plant's 2024 total less its three reported quarters
leaves 60 cars (sources differing), which would make a first quarter of 20 cars a month
out of a quarter with no deliveries reported, and a year-earlier change of 1,000 times.
A month the record does not give stays unknown, and so does every baseline that needs it.

The trend is only as good as the months: where the record gives the last three months
only as one quarter's total (or as equal floors), they are even and the trend is the
last quarter's level, which is what a planner holding that record could draw.

Shares come per quarter, from quarter statements only (a ratio of sums cannot be spread
over months).  Levels are read where a statement ends.  A flow never goes below zero
in ``trend`` (nor in a spread) unless the record itself holds a negative figure of the
metric (an operating loss).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..months import month_label, month_number
from .observations import METRICS, Statement, period_months

__all__ = ["Naive", "known_at", "monthly_series", "naive_forecasts"]


@dataclass(frozen=True)
class Naive:
    """The three naive forecasts of one statement's figure (NaN where undefined)."""

    last: float
    seasonal: float
    trend: float


def known_at(record: Sequence[Statement], origin: str) -> list[Statement]:
    """The statements known at ``origin``: those whose last month is at or before it."""
    cut = _origin(origin)
    return [s for s in record if month_number(s.last) <= cut]


def _origin(origin: str) -> int:
    try:
        first, last = period_months(origin)
    except ValueError:
        first = last = ""
    if not first or first != last:
        raise ValueError(f"origin {origin!r} must be a month YYYY-MM")
    return month_number(origin)


def _span(s: Statement) -> range:
    return range(month_number(s.first), month_number(s.last) + 1)


def _is_quarter(s: Statement) -> bool:
    return s.months == 3 and month_number(s.first) % 3 == 0


def _nonnegative(stmts: Sequence[Statement]) -> bool:
    return all(s.value >= 0 for s in stmts)


def _series(stmts: Sequence[Statement]) -> dict[int, float]:
    """Month number -> value of one flow metric, by the rules of the module's doc."""
    series: dict[int, float] = {}
    singles = [s for s in stmts if s.first == s.last]
    for rel in ("eq", "approx"):
        by_month: dict[int, list[float]] = {}
        for s in singles:
            if s.relation == rel:
                by_month.setdefault(month_number(s.first), []).append(s.value)
        for m, values in by_month.items():
            series.setdefault(m, float(np.mean(values)))
    lo: dict[int, float] = {}
    hi: dict[int, float] = {}
    for s in singles:
        m = month_number(s.first)
        if s.relation == "ge":
            lo[m] = max(lo.get(m, -math.inf), s.value)
        elif s.relation == "le":
            hi[m] = min(hi.get(m, math.inf), s.value)
    floor = 0.0 if _nonnegative(stmts) else -math.inf
    totals = [s for s in stmts if s.relation == "eq" and _is_quarter(s)]
    for s in sorted(totals, key=lambda t: month_number(t.first)):
        free = [m for m in _span(s) if m not in series]
        if not free:
            continue
        rest = s.value - sum(series[m] for m in _span(s) if m in series)
        while free:
            share = max(rest / len(free), floor)
            # how far the even share lies past each free month's own bound
            over = {m: max(lo.get(m, -math.inf) - share, share - hi.get(m, math.inf))
                    for m in free}
            worst = max(free, key=lambda m: over[m])
            if over[worst] <= 0:
                for m in free:
                    series[m] = share
                break
            series[worst] = lo[worst] if lo.get(worst, -math.inf) > share else hi[worst]
            rest -= series[worst]
            free.remove(worst)
    for m in sorted(set(lo) | set(hi)):
        if m not in series:
            series[m] = lo[m] if m in lo else hi[m]
    return dict(sorted(series.items()))


def monthly_series(record: Sequence[Statement], metric: str) -> dict[str, float]:
    """The monthly series (``'YYYY-MM'`` -> value) of a flow metric the record gives.

    ``record`` is used whole: pass :func:`known_at` of it for what an origin knew.
    """
    if metric not in METRICS or METRICS[metric].kind != "flow":
        raise ValueError(f"{metric!r} is not a flow metric; a monthly series is for flows")
    stmts = [s for s in record if s.metric == metric]
    return {month_label(m): v for m, v in _series(stmts).items()}


def _exact(stmts: Sequence[Statement], first: int, last: int) -> float | None:
    """The record's own figure for exactly the months first..last (eq before approx)."""
    for rel in ("eq", "approx"):
        values = [s.value for s in stmts if s.relation == rel
                  and month_number(s.first) == first and month_number(s.last) == last]
        if values:
            return float(np.mean(values))
    return None


def _flow_total(
    stmts: Sequence[Statement], series: dict[int, float], first: int, last: int
) -> float | None:
    """A flow over first..last: the record's figure for the period, else the sum of its
    months when all are known."""
    own = _exact(stmts, first, last)
    if own is not None:
        return own
    months = range(first, last + 1)
    if all(m in series for m in months):
        return float(sum(series[m] for m in months))
    return None


def _line(x: Sequence[float], y: Sequence[float], at: np.ndarray) -> np.ndarray:
    """The least-squares line through (x, y) evaluated at ``at``."""
    slope, intercept = np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 1)
    return np.asarray(slope * at + intercept, dtype=float)


def _ratio(num: float | None, den: float | None) -> float:
    if num is None or den is None or den == 0:
        return math.nan
    return num / den


def _flow(stmts: Sequence[Statement], cut: int, target: Statement) -> Naive:
    series = _series(stmts)
    t0, t1 = month_number(target.first), month_number(target.last)
    n = t1 - t0 + 1
    last = seasonal = trend = math.nan
    if series:
        # the calendar quarters ending at or before the origin, latest first
        end = cut - (cut % 3 - 2) % 3  # month numbers: January is 0 mod 12, so a
        ends = range(end, min(series) + 1, -3)  # quarter ends at 2 mod 3
        for q1 in ends:
            total = _flow_total(stmts, series, q1 - 2, q1)
            if total is not None:
                last = total / 3 * n
                ago = _flow_total(stmts, series, t0 - 12, t1 - 12)
                base = _flow_total(stmts, series, q1 - 14, q1 - 12)
                seasonal = total * _ratio(ago, base)
                break
        months = [m for m in series if m <= cut][-3:]
        if len(months) == 3:
            path = _line(months, [series[m] for m in months], np.arange(t0, t1 + 1))
            if _nonnegative(stmts):
                path = np.maximum(path, 0.0)
            trend = float(path.sum())
    return Naive(last, seasonal, trend)


def _share(stmts: Sequence[Statement], cut: int, target: Statement) -> Naive:
    quarters = {month_number(s.last): v for s in stmts if _is_quarter(s)
                and (v := _exact(stmts, month_number(s.first), month_number(s.last))) is not None}
    ends = sorted(q for q in quarters if q <= cut)
    if not ends:
        return Naive(math.nan, math.nan, math.nan)
    q1 = ends[-1]
    last = quarters[q1]
    t0, t1 = month_number(target.first), month_number(target.last)
    ago = _exact(stmts, t0 - 12, t1 - 12)
    base = quarters.get(q1 - 12)
    # a margin changes by points, not by a factor: a ratio of margins near zero (a
    # young plant's) explodes or flips sign
    seasonal = last + (ago - base) if ago is not None and base is not None else math.nan
    trend = math.nan
    if len(ends) >= 3:
        mids = [q - 1.0 for q in ends[-3:]]  # a quarter's middle month
        trend = float(_line(mids, [quarters[q] for q in ends[-3:]],
                            np.array([(t0 + t1) / 2]))[0])
    return Naive(last, seasonal, trend)


def _level(stmts: Sequence[Statement], cut: int, target: Statement) -> Naive:
    rank = {"eq": 0, "approx": 1, "ge": 2, "le": 2}
    seen: dict[int, tuple[int, float]] = {}
    for s in stmts:
        m = month_number(s.last)
        if m not in seen or rank[s.relation] < seen[m][0]:
            seen[m] = (rank[s.relation], s.value)
    obs = {m: v for m, (_, v) in sorted(seen.items()) if m <= cut}
    if not obs:
        return Naive(math.nan, math.nan, math.nan)
    at = month_number(target.last)
    m1 = max(obs)
    last = obs[m1]
    seasonal = last * _ratio(obs.get(at - 12), obs.get(m1 - 12))
    trend = math.nan
    months = list(obs)[-3:]
    if len(months) == 3:
        trend = float(_line(months, [obs[m] for m in months], np.array([float(at)]))[0])
        if _nonnegative(stmts):
            trend = max(trend, 0.0)
    return Naive(last, seasonal, trend)


def naive_forecasts(record: Sequence[Statement], origin: str, target: Statement) -> Naive:
    """The three naive forecasts of ``target``'s figure from what was known at ``origin``.

    Parameters
    ----------
    record : sequence of Statement
        The whole record; only statements of ``target``'s metric whose last month is at
        or before ``origin`` are used (the target itself, when later, is not seen).
    origin : str
        The last month known, ``'YYYY-MM'``.
    target : Statement
        The statement to forecast: its metric and period (its value is not used).

    Returns
    -------
    Naive
        ``last``, ``seasonal`` and ``trend``, each NaN where the record cannot give it:
        no complete quarter (flows) or quarter share (shares) or value (levels) by the
        origin; no year-earlier figures (``seasonal``); fewer than three known months,
        quarters or values (``trend``).  Flows: over the target's months, summed.
        Shares: ``seasonal`` adds the year-earlier change in points; ``trend`` is the
        line through the last three quarters' shares at the target's middle month.
        Levels: at the target's last month.

    Raises
    ------
    ValueError
        For an origin that is not a month.
    """
    cut = _origin(origin)
    stmts = [s for s in known_at(record, origin) if s.metric == target.metric]
    kind = METRICS[target.metric].kind
    if kind == "flow":
        return _flow(stmts, cut, target)
    if kind == "ratio":
        return _share(stmts, cut, target)
    return _level(stmts, cut, target)
