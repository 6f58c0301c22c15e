"""Working calendars: the windows in which a line works.

A calendar is a sorted array of disjoint working windows ``[start, end)`` in seconds
from time 0 (a Monday, 00:00). Outside them the line stands still. The kernel needs
``W(t)``, the working time before ``t``, and its inverse; both come from the prefix
sums kept here. The last window may end at ``inf`` (a line that always works).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._numba import inline

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S


@dataclass(frozen=True)
class WorkCalendar:
    """Working windows plus the prefix sums the kernel needs."""

    starts: np.ndarray
    ends: np.ndarray
    cum: np.ndarray = field(init=False)  # working time before window w starts

    def __post_init__(self) -> None:
        starts = np.ascontiguousarray(self.starts, dtype=np.float64)
        ends = np.ascontiguousarray(self.ends, dtype=np.float64)
        if starts.shape != ends.shape or starts.ndim != 1 or len(starts) == 0:
            raise ValueError("a calendar needs at least one window")
        if np.any(ends <= starts) or np.any(starts[1:] < ends[:-1]):
            raise ValueError("calendar windows must be sorted, disjoint and non-empty")
        cum = np.zeros(len(starts))
        np.cumsum((ends - starts)[:-1], out=cum[1:])
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "ends", ends)
        object.__setattr__(self, "cum", cum)

    @classmethod
    def always(cls) -> WorkCalendar:
        return cls(np.array([0.0]), np.array([math.inf]))

    @property
    def end(self) -> float:
        """The time up to which the calendar is known."""
        return float(self.ends[-1])

    def working_before(self, t: np.ndarray | float) -> np.ndarray:
        """W(t): working time in [0, t), vectorised."""
        t = np.asarray(t, dtype=np.float64)
        w = np.searchsorted(self.starts, t, side="right") - 1
        wc = np.clip(w, 0, None)
        inside = np.minimum(t, self.ends[wc]) - self.starts[wc]
        return np.where(w < 0, 0.0, self.cum[wc] + np.maximum(inside, 0.0))

    def working_between(self, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        return self.working_before(b) - self.working_before(a)


def weekly(
    windows_of_day: list[tuple[float, float]],
    days: list[int],
    horizon_s: float,
) -> WorkCalendar:
    """Repeat daily windows (seconds after midnight) on the given weekdays (0=Mon)."""
    day_w = sorted(windows_of_day)
    starts: list[float] = []
    ends: list[float] = []
    n_days = int(math.ceil(horizon_s / DAY_S)) + 1
    for d in range(n_days):
        if d % 7 not in days:
            continue
        for a, e in day_w:
            s, t = d * DAY_S + a, d * DAY_S + e
            if starts and s <= ends[-1]:  # a window running into the next (night shift)
                ends[-1] = max(ends[-1], t)
            else:
                starts.append(s)
                ends.append(t)
    if not starts:
        raise ValueError("the calendar has no working time")
    return WorkCalendar(np.array(starts), np.array(ends))


# The compiled helpers below take a ``hint``: per caller (station) the index of the
# window last used. Times at one station mostly move forward, so the search is a step
# or two; np.searchsorted inside a hot numba loop measured ~20 ns a call here.


@inline
def _window(t: float, starts: np.ndarray, hint: np.ndarray, i: int) -> int:
    """Index of the last window starting at or before t (0 if none), moving hint[i]."""
    h = hint[i]
    n = len(starts)
    while h + 1 < n and starts[h + 1] <= t:
        h += 1
    while h > 0 and starts[h] > t:
        h -= 1
    hint[i] = h
    return h


@inline
def working_before(
    t: float, starts: np.ndarray, ends: np.ndarray, cum: np.ndarray, hint: np.ndarray, i: int
) -> float:
    """W(t): working time before t."""
    h = _window(t, starts, hint, i)
    if t <= starts[h]:
        return cum[h]
    return cum[h] + min(t, ends[h]) - starts[h]


@inline
def consume(
    t: float,
    x: float,
    starts: np.ndarray,
    ends: np.ndarray,
    cum: np.ndarray,
    hint: np.ndarray,
    i: int,
) -> float:
    """The earliest time by which ``x`` seconds of working time have passed since ``t``.

    Returns ``inf`` when the calendar ends first (the caller extends it and retries).
    """
    if x <= 0.0:
        return t
    h = _window(t, starts, hint, i)
    # work that overruns a window by a few ulps of the clock is rounding, not work left
    # for the next window (the reference engine applies the same rule)
    tol = 8.0 * 2.220446049250313e-16 * max(abs(t), abs(x), 1.0)
    if starts[h] <= t < ends[h]:
        if t + x <= ends[h] + tol:
            return min(t + x, ends[h])  # the common case: the work fits in this window
        target = cum[h] + (t - starts[h]) + x
    elif t < starts[h]:
        target = cum[h] + x
    else:
        target = cum[h] + (ends[h] - starts[h]) + x
    n = len(starts)
    v = h
    tol = 8.0 * 2.220446049250313e-16 * max(target, 1.0)
    while v < n and cum[v] + (ends[v] - starts[v]) < target - tol:
        v += 1
    if v == n:
        return math.inf
    return min(starts[v] + (target - cum[v]), ends[v])
