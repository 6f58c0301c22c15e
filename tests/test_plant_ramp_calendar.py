"""The plant's learning curves and working calendar against closed forms worked by hand:
Wright's law at its anchor and a doubling or two below it, the partner's experience
and progress ratio, and a phase's working windows over weeks, regimes and holidays."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from evplant.plant.calendar import (
    holiday_days,
    month_starts,
    phase_calendar,
    seconds_since,
    shifts_on,
)
from evplant.plant.ramp import ramp_state, wright_factor
from evplant.plant.spec import Holiday, Learning, Partner, Ramp, ShiftRegime

H = 3600.0
DAY = 86_400.0
T0 = dt.date(2024, 1, 1)  # a Monday


def test_wrights_law_at_maturity_and_a_doubling_or_two_before() -> None:
    curve = Learning(progress_ratio=0.8, mature_units=1_000)
    assert wright_factor(1_000, curve) == 1.0
    assert wright_factor(500, curve) == pytest.approx(1 / 0.8, rel=1e-12)
    assert wright_factor(250, curve) == pytest.approx(1 / 0.64, rel=1e-12)
    assert wright_factor(5_000, curve) == 1.0  # never below the mature value
    # no experience at all counts as one unit
    first = 1_000 ** -math.log2(0.8)
    assert wright_factor(0, curve) == wright_factor(1, curve) == pytest.approx(first)
    assert wright_factor(500, curve, progress_ratio=0.9) == pytest.approx(1 / 0.9)


RAMP = Ramp(
    cycle_time=Learning(progress_ratio=0.8, mature_units=1_000),
    repair_time=Learning(progress_ratio=0.7, mature_units=2_000),
    defects=Learning(progress_ratio=0.6, mature_units=4_000),
    experience_units=100,
)


def test_a_phase_stands_on_three_curves_with_its_own_experience() -> None:
    s = ramp_state(400, RAMP, None)  # 500 units: one halving of cycle time's 1,000
    assert s.cycle_time_factor == pytest.approx(1 / 0.8)
    assert s.repair_time_factor == pytest.approx(1 / 0.7**2)  # two halvings of 2,000
    assert s.defect_factor == pytest.approx(1 / 0.6**3)  # three of 4,000


def test_a_partner_brings_experience_and_its_own_cycle_time_curve() -> None:
    more = ramp_state(400, RAMP, Partner(experience_units=500))  # 1,000 units
    assert more.cycle_time_factor == 1.0
    assert more.repair_time_factor == pytest.approx(1 / 0.7)
    assert more.defect_factor == pytest.approx(1 / 0.6**2)
    # its progress ratio is the cycle time's alone
    faster = ramp_state(400, RAMP, Partner(experience_units=0, progress_ratio=0.9))
    assert faster.cycle_time_factor == pytest.approx(1 / 0.9)
    assert faster.repair_time_factor == pytest.approx(1 / 0.7**2)
    assert faster.defect_factor == pytest.approx(1 / 0.6**3)
    # switched off, it brings nothing
    off = Partner(enabled=False, experience_units=500, progress_ratio=0.9)
    assert ramp_state(400, RAMP, off) == ramp_state(400, RAMP, None)


def phase(sop: str, *regimes: dict[str, Any]) -> Any:
    """What phase_calendar reads of a phase: its start of production and regimes."""
    return SimpleNamespace(sop=sop, shifts=[ShiftRegime.model_validate(r) for r in regimes])


def regime(start: str, shifts: int, **more: float) -> dict[str, Any]:
    """A shift regime of 8-hour shifts; what else is not given takes the spec's default
    (6 days a week, the first shift at 07:00)."""
    return {"start": start, "shifts": shifts, "hours": 8, **more}


# three shifts of 8 h from 22:00 every day: each day's work runs into the next's
ROUND_THE_CLOCK = regime("2024-01-01", 3, days_per_week=7, first_shift_starts=22)


def test_a_phases_windows_follow_its_weeks_regimes_and_holidays() -> None:
    # from Wednesday 3 January: one shift of 8 h at 06:00 on weekdays, two from Monday
    # 15 January; Wednesday 10 January is a holiday; until Monday 22 January
    p = phase(
        "2024-01-03",
        regime("2024-01-01", 1, days_per_week=5, first_shift_starts=6),
        regime("2024-01-15", 2, days_per_week=5, first_shift_starts=6),
    )
    off = holiday_days([Holiday(start="2024-01-10", days=1)])
    cal = phase_calendar(p, off, T0, dt.date(2024, 1, 22))
    assert cal is not None
    one = [2, 3, 4, 7, 8, 10, 11]  # days since T0: Wed-Fri, Mon, Tue, Thu, Fri
    two = [14, 15, 16, 17, 18]  # Mon-Fri
    days = np.array(one + two, dtype=float)
    assert np.array_equal(cal.starts, days * DAY + 6 * H)
    assert np.array_equal(cal.ends, days * DAY + 6 * H + np.array([8] * 7 + [16] * 5) * H)
    assert shifts_on(p, dt.date(2024, 1, 2)) == (0, 0.0)  # before start of production
    assert shifts_on(p, dt.date(2024, 1, 3)) == (1, 8.0)  # from its first day
    assert shifts_on(p, dt.date(2024, 1, 12)) == (1, 8.0)
    assert shifts_on(p, dt.date(2024, 1, 15)) == (2, 8.0)
    # a phase whose first regime starts after its start of production works from then
    late = phase("2024-01-03", regime("2024-01-08", 1, days_per_week=5))
    assert shifts_on(late, dt.date(2024, 1, 5)) == (0, 0.0)
    first = phase_calendar(late, set(), T0, dt.date(2024, 1, 22))
    assert first is not None and first.starts[0] == 7 * DAY + 7 * H  # Monday 8, 07:00


def test_shifts_round_the_clock_are_one_window_and_a_phase_that_never_works_none() -> None:
    cal = phase_calendar(phase("2024-01-01", ROUND_THE_CLOCK), set(), T0, dt.date(2024, 1, 4))
    assert cal is not None
    assert list(cal.starts) == [22 * H] and list(cal.ends) == [2 * DAY + 22 * H + 24 * H]
    # round the clock on the 1st, then one shift at 06:00: the 2nd's shift lies inside
    # the night's window, which keeps its end
    p = phase(
        "2024-01-01",
        ROUND_THE_CLOCK,
        regime("2024-01-02", 1, days_per_week=7, first_shift_starts=6),
    )
    cal = phase_calendar(p, set(), T0, dt.date(2024, 1, 4))
    assert cal is not None
    assert list(cal.starts) == [22 * H, 2 * DAY + 6 * H]
    assert list(cal.ends) == [DAY + 22 * H, 2 * DAY + 14 * H]
    # a start of production after the calendar's end, or no working day before it
    after = phase("2024-02-01", regime("2024-01-01", 1))
    assert phase_calendar(after, set(), T0, dt.date(2024, 1, 31)) is None
    weekend = phase("2024-01-06", regime("2024-01-01", 1, days_per_week=5))
    assert phase_calendar(weekend, set(), T0, dt.date(2024, 1, 8)) is None


def test_months_holidays_and_seconds() -> None:
    assert month_starts("2024-11", "2025-01") == [
        dt.date(2024, 11, 1),
        dt.date(2024, 12, 1),
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
    ]
    assert holiday_days(
        [Holiday(start="2024-12-30", days=3), Holiday(start="2024-05-01", days=1)]
    ) == {
        dt.date(2024, 12, 30),
        dt.date(2024, 12, 31),
        dt.date(2025, 1, 1),
        dt.date(2024, 5, 1),
    }
    assert seconds_since(T0, dt.date(2024, 1, 3)) == 2 * DAY
    assert seconds_since(T0, dt.date(2023, 12, 31)) == -DAY
