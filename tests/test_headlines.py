"""The run report's headlines hold: the rate is held, not touched once; output above the
nameplate is explained; spend before the run is reported; the bottleneck card names its
method and a close runner-up; orders waiting are shown beside capacity."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from evplant.months import held_from
from evplant.report import explain, render_run
from evplant.report.run_page import headline


def brute_held(x: list[float], level: float, window: int = 3) -> int | None:
    """The definition, by brute force: the first k from which every window's mean to the
    end reaches the level."""
    if len(x) < window:
        return 0 if np.mean(x) >= level else None
    means = [np.mean(x[k : k + window]) for k in range(len(x) - window + 1)]
    for k in range(len(means)):
        if all(m >= level for m in means[k:]):
            return k
    return None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=30), st.integers(0, 10))
def test_held_from_is_its_definition(x: list[int], level: int) -> None:
    values = [float(v) for v in x]
    assert held_from(values, float(level)) == brute_held(values, level)


def test_one_good_month_is_not_the_rate() -> None:
    """The issue's case: one month at 25,000, then three below it, then the rate held."""
    x = [10_000, 24_000, 26_000, 21_000, 22_000, 23_000, 25_500, 26_000, 25_200, 25_100]
    assert held_from(x, 25_000) == 6
    assert held_from([*x, 10_000], 25_000) is None  # a fall at the end: not held
    assert held_from([None, 30_000.0, 30_000.0, 30_000.0], 25_000) == 1


def month(t: int) -> str:
    return f"{2024 + t // 12}-{t % 12 + 1:02d}"


def rows_and_summary(months: int = 36) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = []
    for t in range(months):
        made = 40_000.0 if t >= 12 else 1_000.0 * t
        rows.append({
            "month": month(t), "produced": made, "capacity": made + 1_000.0,
            "capacity_phase1": made + 1_000.0, "produced_phase1": made,
            "util_paint": 0.89, "util_general-assembly": 0.91, "util_stamping": 0.5,
            "bottleneck_shop": "paint" if t % 4 else "general-assembly",
            "orders": 60_000.0, "delivered": made, "cancelled": 10_000.0,
            "backlog": 100_000.0 + 1_000 * t, "wait_weeks": 40.0,
        })
    summary: dict[str, Any] = {
        "scenario": "synthetic", "horizon": f"{month(0)}..{month(months - 1)}",
        "rate_target_per_year": 300_000,
        "produced_by_year": {"2024": 66_000.0, "2025": 480_000.0, "2026": 480_000.0},
        "capacity_by_year": {"2024": 78_000.0, "2025": 492_000.0, "2026": 492_000.0},
        "first_month_at_target_rate": "2025-01",
        "first_month_capacity_at_target_rate": "2025-01",
        "bottleneck_shop": "paint", "bottleneck_station": "paint/booths",
        "bottleneck_shop_months": {"paint": 20, "general-assembly": 16},
        "phase_settings": [{
            "phase": "phase1", "nameplate_per_year": 150_000, "shifts": 2, "hours": 10.36,
            "days_per_week": 5, "from": "2024-10-01", "cycle_time_scale": 0.8434,
        }],
        "mean_wait_weeks": 47.0,
        "npv_cny": 1e10, "cum_investment_usd": 5.2e9, "budget_usd": 1e10,
        "spent_before_start_cny": 1.8e10, "capex_before_start_cny": 0.0,
    }
    return rows, summary


def test_output_above_the_nameplate_is_explained_by_its_settings() -> None:
    rows, summary = rows_and_summary()
    text = explain.nameplate_text(rows, summary)
    assert "160% of it" in text  # 480,000 against 300,000
    for bit in ("2 shifts of 10.36 h", "5 days a week", "0.8434 \u00d7", "nameplate 150,000",
                "up to 492,000 a year"):
        assert bit in text, bit
    summary["produced_by_year"] = {"2024": 66_000.0}
    assert explain.nameplate_text(rows, summary) == ""


def test_the_bottleneck_card_names_its_method_and_a_close_runner_up() -> None:
    rows, summary = rows_and_summary()
    card = explain.bottleneck_card(rows, summary)
    assert card is not None and card.value == "Paint"
    assert "Roser" in card.note and "20 of 36 months" in card.note
    # general assembly works more of its time (91% against 89%): named with both
    assert "General assembly works more of its time (91% against 89%)" in card.note
    for row in rows:
        row["util_general-assembly"] = 0.5
    summary["bottleneck_shop_months"] = {"paint": 30, "general-assembly": 6}
    far = explain.bottleneck_card(rows, summary)
    assert far is not None and "General assembly" not in far.note  # 67 points behind


def test_spend_before_the_run_and_orders_beside_capacity() -> None:
    rows, summary = rows_and_summary()
    invest = next(c for c in headline(rows, summary) if c.label == "Investment")
    assert "CNY 18.0 bn spent before the run" in invest.note
    text = explain.demand_text(rows, summary)
    assert "360,000 orders were cancelled (120,000 a year)" in text
    assert "135,000 were still waiting" in text
    # capacity 78,000 in the first year, then 41,000 a month: 1,062,000 over 3 years
    assert "354,000 a year" in text and "34% more capacity" in text
    assert "47.0 weeks" in text
    table = explain.demand_table(rows)
    assert "Short of capacity" in table and "<td>2025</td>" in table


def test_the_rate_card_says_the_mean_holds_and_the_report_shows_the_sections() -> None:
    rows, summary = rows_and_summary()
    rate = next(c for c in headline(rows, summary) if c.label.startswith("At the"))
    assert "3-month mean holds it" in rate.note
    summary["central"] = [{"path": "plant.phases.phase2.cycle_time_scale", "label": "speed",
                           "law": "triangular", "written": 1.4, "central": 1.316227766}]
    page = render_run(rows, summary, title="t")
    assert "Uncertain values at their centre" in page and "1.316" in page
    assert "Output exceeds the target" in page
