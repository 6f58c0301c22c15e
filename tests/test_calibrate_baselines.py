"""The naive forecasts by hand on a small invented record: a flow's monthly series from
months, bounds, quarters and a year; the last quarter, the year-earlier change and the
three-month trend; shares per quarter; levels; and NaN where the record is too young."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from evplant.calibration.baselines import known_at, monthly_series, naive_forecasts
from evplant.calibration.observations import parse_observations

RECORD = parse_observations(
    """period,metric,relation,value,unit,note
2024-01,delivered,eq,100,vehicles,
2024-02,delivered,eq,200,vehicles,
2024-03,delivered,ge,250,vehicles,
2024Q1,delivered,eq,600,vehicles,March: 600 - 300 = 300 (over its floor)
2024-04,delivered,eq,320,vehicles,
2024-05,delivered,ge,400,vehicles,
2024-06,delivered,ge,300,vehicles,
2024Q2,delivered,eq,1100,vehicles,"780 over May, June: 390 each breaks May's floor: 400, 380"
2024-07,delivered,approx,450,vehicles,
2024Q3,delivered,eq,1500,vehicles,"August, September: 525 each"
2024Q4,delivered,eq,1800,vehicles,"no month given: 600 a month"
2024,delivered,eq,5000,vehicles,the year: its own figure only (never spread)
2025-01,delivered,eq,700,vehicles,
2025-02,delivered,eq,760,vehicles,
2025-03,delivered,eq,790,vehicles,
2025-04,delivered,ge,800,vehicles,
2025Q2,delivered,eq,2500,vehicles,
2024Q1,gross_margin,eq,0.10,share,
2024Q2,gross_margin,eq,0.12,share,
2024Q3,gross_margin,eq,0.15,share,
2024Q4,gross_margin,eq,0.16,share,
2024,gross_margin,eq,0.14,share,a year: not one of the quarters
2025Q1,gross_margin,eq,0.18,share,
2024-03,backlog,approx,5000,vehicles,
2024Q4,backlog,eq,9000,vehicles,read at December
2025-02,backlog,ge,12000,vehicles,
2025-03,backlog,eq,11000,vehicles,
""",
    "record.csv",
)
TARGETS = parse_observations(
    """period,metric,relation,value,unit,note
2025Q2,delivered,eq,1,vehicles,
2025,delivered,eq,1,vehicles,
2025Q3,delivered,eq,1,vehicles,
2025Q2,gross_margin,eq,0.5,share,
2025,gross_margin,eq,0.5,share,
2025-06,backlog,eq,1,vehicles,
2025-12,backlog,eq,1,vehicles,
2024Q2,delivered,eq,1,vehicles,
2024Q2,operating_result,eq,1,CNY,
""",
    "targets.csv",
)
Q2, YEAR, Q3, GM_Q2, GM_YEAR, BACKLOG_JUNE, BACKLOG_DEC, Q2_2024, OPRES = TARGETS


def line_at(xs: list[int], ys: list[float], at: list[int]) -> float:
    """The least-squares line's values summed over ``at``, in exact fractions."""
    n = len(xs)
    xbar = Fraction(sum(xs), n)
    ybar = sum(Fraction(y) for y in ys) / n
    slope = sum((x - xbar) * (Fraction(y) - ybar) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - xbar) ** 2 for x in xs)
    return float(sum(ybar + slope * (a - xbar) for a in at))


def test_a_flows_monthly_series_by_hand() -> None:
    got = monthly_series(known_at(RECORD, "2025-03"), "delivered")
    assert got == pytest.approx({
        "2024-01": 100, "2024-02": 200, "2024-03": 300,  # the quarter's rest, over its floor
        "2024-04": 320, "2024-05": 400, "2024-06": 380,  # May held at its floor
        "2024-07": 450, "2024-08": 525, "2024-09": 525,
        "2024-10": 600, "2024-11": 600, "2024-12": 600,
        "2025-01": 700, "2025-02": 760, "2025-03": 790,
    })
    # a floor with no total covering it is the month's value; with its quarter, the rest
    assert monthly_series(known_at(RECORD, "2025-05"), "delivered")["2025-04"] == 800
    june = monthly_series(known_at(RECORD, "2025-06"), "delivered")
    assert [june[f"2025-0{m}"] for m in (4, 5, 6)] == pytest.approx([2500 / 3] * 3)
    with pytest.raises(ValueError, match="flow"):
        monthly_series(RECORD, "gross_margin")


def test_a_years_total_is_not_spread_over_months_the_record_does_not_give() -> None:
    # 2024 less its quarters leaves 1800 for Q4, but a year's residue is often only the
    # sources' disagreement (the plant's 2024 leaves 60 cars for a quarter of none)
    no_q4 = [s for s in RECORD if s.period != "2024Q4"]
    series = monthly_series(known_at(no_q4, "2025-03"), "delivered")
    assert "2024-10" not in series and series["2024-09"] == 525
    got = naive_forecasts(no_q4, "2025-02", Q2)
    assert got.last == pytest.approx(1500)  # 2024Q4 unknown: 2024Q3 is the last complete
    # the year's own figure is still the year-earlier total of a year
    assert naive_forecasts(no_q4, "2025-03", YEAR).seasonal == pytest.approx(2250 * 5000 / 600)


def test_flow_baselines_by_hand() -> None:
    got = naive_forecasts(RECORD, "2025-03", Q2)
    assert got.last == pytest.approx(2250)  # 2025Q1 from its months: 700 + 760 + 790
    assert got.seasonal == pytest.approx(2250 * 1100 / 600)  # x (2024Q2 / 2024Q1)
    # the line through Jan..Mar 2025 (month numbers 12..14) at Apr..Jun (15..17)
    assert got.trend == pytest.approx(line_at([12, 13, 14], [700, 760, 790], [15, 16, 17]))
    assert got.trend == pytest.approx(840 + 885 + 930)
    year = naive_forecasts(RECORD, "2025-03", YEAR)
    assert year.last == pytest.approx(750 * 12)  # the quarter's monthly rate, 12 months
    assert year.seasonal == pytest.approx(2250 * 5000 / 600)  # 2024's total / 2024Q1
    assert year.trend == pytest.approx(line_at([12, 13, 14], [700, 760, 790], list(range(12, 24))))


def test_the_target_and_later_statements_are_not_seen() -> None:
    known = naive_forecasts(RECORD, "2025-03", Q2)
    early = naive_forecasts([s for s in RECORD if s.last <= "2025-03"], "2025-03", Q2)
    assert known == early
    # at 2025-06 the quarter's own total is known, and its flat months make the trend
    june = naive_forecasts(RECORD, "2025-06", Q3)
    assert june.last == pytest.approx(2500)
    assert june.seasonal == pytest.approx(2500 * 1500 / 1100)
    assert june.trend == pytest.approx(2500)


def test_a_record_ending_before_the_origins_quarter_uses_its_last_complete_quarter() -> None:
    record = [s for s in RECORD if s.last <= "2025-03"]
    got = naive_forecasts(record, "2025-06", Q3)  # 2025Q2 has no month in the record
    assert got.last == pytest.approx(2250)
    assert got.seasonal == pytest.approx(2250 * 1500 / 600)
    assert got.trend == pytest.approx(line_at([12, 13, 14], [700, 760, 790], [18, 19, 20]))
    # mid-quarter: 2025Q1 lacks March at 2025-02, so 2024Q4 is the last complete one
    feb = naive_forecasts(RECORD, "2025-02", Q2)
    assert feb.last == pytest.approx(1800)
    assert feb.trend == pytest.approx(line_at([11, 12, 13], [600, 700, 760], [15, 16, 17]))


def test_no_year_earlier_figures_give_nan() -> None:
    feb = naive_forecasts(RECORD, "2025-02", Q2)
    assert math.isnan(feb.seasonal)  # 2024Q4's year-earlier quarter, 2023Q4, is not known
    young = naive_forecasts(RECORD, "2024-09", Q3)  # 2025Q3 a year earlier is known...
    assert young.last == pytest.approx(1500)
    assert math.isnan(young.seasonal)  # ... but 2023Q3, the base, is not
    assert math.isnan(naive_forecasts(RECORD, "2025-03", BACKLOG_JUNE).seasonal)


def test_too_little_record_gives_nan_everywhere() -> None:
    got = naive_forecasts(RECORD, "2024-02", Q2)  # two months, no complete quarter
    assert math.isnan(got.last) and math.isnan(got.seasonal) and math.isnan(got.trend)
    assert math.isnan(naive_forecasts(RECORD, "2023-12", GM_Q2).last)
    assert math.isnan(naive_forecasts(RECORD, "2023-12", BACKLOG_JUNE).last)
    with pytest.raises(ValueError, match="YYYY-MM"):
        naive_forecasts(RECORD, "2025Q1", Q2)


def test_share_baselines_by_hand() -> None:
    got = naive_forecasts(RECORD, "2025-03", GM_Q2)
    assert got.last == pytest.approx(0.18)
    assert got.seasonal == pytest.approx(0.18 + (0.12 - 0.10))  # the change in points
    # the last three quarters' shares at their middle months (7, 10, 13), at 16
    assert got.trend == pytest.approx(line_at([7, 10, 13], [0.15, 0.16, 0.18], [16]))
    assert got.trend == pytest.approx((0.15 + 0.16 + 0.18) / 3 + 0.005 * 6)
    year = naive_forecasts(RECORD, "2025-03", GM_YEAR)
    assert year.seasonal == pytest.approx(0.18 + (0.14 - 0.10))  # 2024's own figure
    assert year.trend == pytest.approx((0.15 + 0.16 + 0.18) / 3 + 0.005 * 7.5)  # at 17.5


def test_level_baselines_by_hand() -> None:
    got = naive_forecasts(RECORD, "2025-03", BACKLOG_JUNE)
    assert got.last == 11000
    # the last three values, at months 11, 13 (a floor) and 14, extrapolated to June (17)
    assert got.trend == pytest.approx(line_at([11, 13, 14], [9000, 12000, 11000], [17]))
    assert got.trend == pytest.approx(295500 / 21)
    dec = naive_forecasts(RECORD, "2025-03", BACKLOG_DEC)
    assert dec.seasonal == pytest.approx(11000 * 9000 / 5000)  # Dec 2024 / Mar 2024


def test_a_falling_flow_stops_at_zero_and_a_loss_does_not() -> None:
    falling = parse_observations(
        "period,metric,relation,value,unit,note\n"
        "2024-01,delivered,eq,300,vehicles,\n2024-02,delivered,eq,200,vehicles,\n"
        "2024-03,delivered,eq,100,vehicles,\n"
        "2024-01,operating_result,eq,-100,CNY,\n2024-02,operating_result,eq,-200,CNY,\n"
        "2024-03,operating_result,eq,-300,CNY,\n", "falling.csv")
    cars = naive_forecasts(falling, "2024-03", Q2_2024)
    assert cars.last == pytest.approx(600) and cars.trend == 0.0  # 0, -100, -200 -> 0
    loss = naive_forecasts(falling, "2024-03", OPRES)
    assert loss.last == pytest.approx(-600) and loss.trend == pytest.approx(-1500)
