"""The plant's calendar: months of the horizon and each phase's working windows.

Time 0 is midnight at the start of the horizon's first month. A phase works from its
start of production, under the shift regime in force on each day (one 8-hour shift at
launch, two from June 2024, ...), on its working weekdays, except on holidays.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..line.calendar import DAY_S, WorkCalendar
from ..months import first_day, month_label, month_number, months
from .spec import Holiday, PhaseSpec


def month_starts(start: str, end: str) -> list[dt.date]:
    """First days of the months start..end inclusive, plus the month after end."""
    after = month_label(month_number(end) + 1)
    return [first_day(m) for m in months(start, after)]


def seconds_since(t0: dt.date, day: dt.date) -> float:
    return (day - t0).days * DAY_S


def holiday_days(holidays: list[Holiday]) -> set[dt.date]:
    days: set[dt.date] = set()
    for h in holidays:
        first = dt.date.fromisoformat(h.start)
        days.update(first + dt.timedelta(days=k) for k in range(h.days))
    return days


def phase_calendar(
    phase: PhaseSpec, holidays: set[dt.date], t0: dt.date, until: dt.date
) -> WorkCalendar | None:
    """Working windows of a phase from its SOP until ``until`` (None if it never works)."""
    sop = dt.date.fromisoformat(phase.sop)
    regimes = [(dt.date.fromisoformat(r.start), r) for r in phase.shifts]
    starts: list[float] = []
    ends: list[float] = []
    day = max(sop, t0)
    while day < until:
        regime = None
        for since, r in regimes:
            if since <= day:
                regime = r
        if regime is not None and day.weekday() < regime.days_per_week and day not in holidays:
            base = seconds_since(t0, day) + regime.first_shift_starts * 3600.0
            a, e = base, base + regime.shifts * regime.hours * 3600.0
            if starts and a <= ends[-1]:
                ends[-1] = max(ends[-1], e)  # a night shift running into the morning one
            else:
                starts.append(a)
                ends.append(e)
        day += dt.timedelta(days=1)
    if not starts:
        return None
    return WorkCalendar(np.array(starts), np.array(ends))


def shifts_on(phase: PhaseSpec, day: dt.date) -> tuple[int, float]:
    """(shifts, hours per shift) in force on a day; (0, 0) before SOP."""
    if day < dt.date.fromisoformat(phase.sop):
        return 0, 0.0
    current = (0, 0.0)
    for r in phase.shifts:
        if dt.date.fromisoformat(r.start) <= day:
            current = (r.shifts, r.hours)
    return current
