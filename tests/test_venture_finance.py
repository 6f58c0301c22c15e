"""Finance: capex profiles, learning, cash, NPV, break-even and the budget."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from evplant.venture.common import month_number
from evplant.venture.finance import CapexItem, Finance, FinanceConfig

VARIANTS = ["SU7", "YU7"]
JAN24 = month_number("2024-01")


def finance_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "usd_cny": 7.2,
        "vat_rate": 0.13,
        "discount_rate_per_year": 0.1,
        "progress_ratio": 0.88,
        "unit_cost": {
            "SU7": {"cost_cny_at_reference": 125_000, "reference_volume": 100_000},
            "YU7": {"cost_cny_at_reference": 135_000, "floor_cny": 120_000},
        },
        "selling_cost_cny_per_vehicle": 6000,
        "opex": {
            "headquarters_cny_per_month": 1e8,
            "rnd_cny_per_month": 4e8,
            "sales_org_cny_per_month": 1e8,
            "per_store_cny_per_month": 5e5,
            "growth_per_year": 0.0,
            "base_month": "2024-01",
        },
        "capex": [
            {"name": "plant", "total_cny": 1.2e9, "start_month": "2024-01", "end_month": "2024-12"}
        ],
        "budget_usd": 1e9,
        "budget_start_month": "2021-03",
        "budget_years": 10,
        "spent_before_start_cny": 3.6e9,
    }
    data.update(overrides)
    return data


def books(months: int = 24, **overrides: Any) -> Finance:
    cfg = FinanceConfig.model_validate(finance_data(**overrides))
    return Finance(cfg, VARIANTS, JAN24 + np.arange(months))


def step(f: Finance, t: int, *, sold: float = 0.0, built: float = 0.0, **kw: Any) -> dict:
    args: dict[str, Any] = {
        "produced": np.array([built, 0.0]),
        "delivered": np.array([[sold, 0.0]]),
        "price_incl_vat": np.array([226_000.0, 270_000.0]),
        "export_price_factor": np.zeros(0),
        "parts_spend_cny": 0.0,
        "contract_revenue_cny": 0.0,
        "contract_cost_cny": 0.0,
        "stores": 0,
        "capex_plant_cny": 0.0,
    }
    args.update(kw)
    return f.step(t, **args)


@pytest.mark.parametrize("profile", ["even", "front", "back", "s_curve"])
def test_capex_items_spend_their_total_over_their_months(profile: str) -> None:
    item = CapexItem(
        name="x", total_cny=1.2e9, start_month="2024-03", end_month="2024-08", profile=profile
    )
    start, spend = item.monthly()
    assert start == month_number("2024-03") and spend.size == 6
    assert spend.sum() == pytest.approx(1.2e9)
    assert (spend >= 0).all()
    if profile == "front":
        assert spend[0] > spend[-1]
    if profile == "back":
        assert spend[0] < spend[-1]
    if profile == "s_curve":
        assert spend[2] > spend[0] and spend[3] > spend[5]


def test_capex_outside_the_run_is_not_booked() -> None:
    f = books(
        months=12,
        capex=[
            {"name": "before", "total_cny": 5e8, "start_month": "2023-01", "end_month": "2023-12"},
            {
                "name": "across",
                "total_cny": 1.2e9,
                "start_month": "2023-07",
                "end_month": "2024-06",
            },
            {"name": "after", "total_cny": 5e8, "start_month": "2025-01", "end_month": "2025-12"},
        ],
    )
    assert f.capex_plan.sum() == pytest.approx(6e8)  # half of "across"
    assert f.capex_plan[6:].sum() == 0.0


def test_learning_cuts_cost_by_the_progress_ratio_per_doubling() -> None:
    f = books()
    n = np.array([50_000.0, 50_000.0])
    at_n = f.build_cost_cny(n, n)
    at_2n = f.build_cost_cny(2 * n, 2 * n)
    assert at_2n[0] / at_n[0] == pytest.approx(0.88)
    assert f.build_cost_cny(np.array([100_000.0, 0]), np.array([100_000.0, 0]))[0] == 125_000
    far = np.array([400_000.0, 400_000.0])
    assert f.build_cost_cny(far, far)[1] == 120_000  # the YU7's floor (135k * 0.88^2 below it)
    # a month's average cost lies between the first and last car's cost
    batch = f.build_cost_cny(n, n + 10_000)
    last = f.build_cost_cny(n + 10_000, n + 10_000)
    assert last[0] < batch[0] < at_n[0]


def test_cash_is_money_in_less_money_out() -> None:
    f = books(opening_cash_cny=1e9)
    r = step(
        f,
        0,
        sold=1000,
        built=1200,
        parts_spend_cny=5e7,
        contract_revenue_cny=1e6,
        contract_cost_cny=4e5,
        stores=10,
        capex_plant_cny=2e7,
    )
    assert r["revenue"] == pytest.approx(1000 * 226_000 / 1.13 + 1e6)
    assert (
        r["cost"] == pytest.approx(5e7 + r["cost_build_cny"] + 1000 * 6000 + 4e5)
        and r["cost_build_cny"] > 1200 * 125_000
    )
    assert r["opex"] == pytest.approx(6e8 + 10 * 5e5)
    assert r["capex"] == pytest.approx(1e8 + 2e7)
    assert r["cash"] - 1e9 == pytest.approx(r["revenue"] - r["cost"] - r["opex"] - r["capex"])


def test_exports_are_priced_by_their_factor_without_vat() -> None:
    f = books()
    r = step(
        f,
        0,
        delivered=np.array([[0.0, 0.0], [10.0, 0.0]]),
        export_price_factor=np.array([1.3]),
    )
    assert r["revenue"] == pytest.approx(10 * 226_000 / 1.13 * 1.3)


def test_npv_lowest_cash_and_break_even() -> None:
    f = books(months=24, capex=[], discount_rate_per_year=0.1)
    opex = 6e8
    flows = []
    for t in range(24):
        sold = 0 if t < 6 else 6000  # 6,000 cars a month from month 6 cover opex
        r = step(f, t, sold=sold)
        flows.append(r["cash_flow"])
    s = f.summary()
    expected = sum(c / 1.1 ** ((t + 1) / 12) for t, c in enumerate(flows))
    assert s["npv_cny"] == pytest.approx(expected)
    assert s["npv_usd"] == pytest.approx(expected / 7.2)
    assert s["lowest_cash_cny"] == pytest.approx(-6 * opex)
    assert s["lowest_cash_month"] == "2024-06"
    assert s["break_even_month"] == "2024-07"
    assert s["cum_investment_usd"] == pytest.approx((3.6e9 + 6 * opex) / 7.2)
    assert s["payback_month"] is not None and s["payback_month"] > "2024-07"


def test_budget_runs_out_when_the_investment_passes_it() -> None:
    f = books(months=24, capex=[], spent_before_start_cny=3.5e9)
    for t in range(24):
        r = step(f, t)  # nothing sold: 0.6B a month of opex
    s = f.summary()
    # 3.5B before the run + 0.6B a month passes US$1B (7.2B CNY) in the 7th month
    assert s["budget_exhausted_month"] == "2024-07"
    assert s["budget_used_share"] == pytest.approx(r["cum_investment_usd"] / 1e9)
    assert s["break_even_month"] is None and s["payback_month"] is None
    assert s["budget_end_month"] == "2031-02"


def test_empty_run_summary() -> None:
    s = books().summary()
    assert s["lowest_cash_cny"] is None and s["cum_investment_usd"] == pytest.approx(5e8)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"progress_ratio": 0.3}, ("progress_ratio",)),
        ({"discount_rate_per_year": -0.1}, ("discount_rate_per_year",)),
        ({"vat_rate": 1.0}, ("vat_rate",)),
        ({"usd_cny": 0}, ("usd_cny",)),
        ({"budget_years": 0}, ("budget_years",)),
        ({"budget_start_month": "2021-3"}, ("budget_start_month",)),
        (
            {
                "capex": [
                    {"name": "x", "total_cny": 1, "start_month": "2024-05", "end_month": "2024-01"}
                ]
            },
            ("capex", 0),
        ),
        (
            {
                "capex": [
                    {"name": "x", "total_cny": -1, "start_month": "2024-01", "end_month": "2024-01"}
                ]
            },
            ("capex", 0, "total_cny"),
        ),
        ({"unit_cost": {"SU7": {"cost_cny_at_reference": 0}}}, ("unit_cost", "SU7")),
        ({"opex": {"headquarters_cny_per_month": 1}}, ("opex", "rnd_cny_per_month")),
        ({"capex_plan": []}, ("capex_plan",)),
    ],
)
def test_bad_finance_values_are_named(change: dict[str, Any], field: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as err:
        FinanceConfig.model_validate(finance_data(**change))
    locs = [tuple(e["loc"]) for e in err.value.errors()]
    assert any(loc[: len(field)] == field for loc in locs), locs


def test_cogs_books_a_car_when_it_is_delivered_at_its_build_cost() -> None:
    """Cars built in month 0 at one cost and delivered over months 1-2: the cost of sales
    follows deliveries, and value is conserved (built = sold + still in stock)."""
    f = books(months=6, progress_ratio=1.0, depreciation_years=10.0, capex=[])
    parts = np.array([50_000.0, 60_000.0])
    first = step(f, 0, built=1000, parts_cost_per_vehicle_cny=parts)
    assert first["cogs"] == 0.0 and first["gross_margin"] == 0.0  # nothing sold yet
    assert first["finished_stock_value_cny"] == pytest.approx(1000 * (125_000 + 50_000))
    second = step(f, 1, sold=400, parts_cost_per_vehicle_cny=parts)
    third = step(f, 2, sold=600, parts_cost_per_vehicle_cny=parts)
    for row, n in ((second, 400), (third, 600)):
        assert row["cogs"] == pytest.approx(n * 175_000.0)
        net = 226_000.0 / 1.13
        assert row["gross_margin"] == pytest.approx((net - 175_000.0) / net)
        opex = 1e8 + 4e8 + 1e8
        assert row["operating_result"] == pytest.approx(n * (net - 175_000 - 6000) - opex)
    assert third["finished_stock_value_cny"] == pytest.approx(0.0, abs=1e-6)


def test_cogs_averages_the_cost_of_cars_built_in_different_months() -> None:
    f = books(months=4, progress_ratio=1.0, capex=[])
    step(f, 0, built=100, parts_cost_per_vehicle_cny=np.array([10_000.0, 0.0]))
    step(f, 1, built=300, parts_cost_per_vehicle_cny=np.array([30_000.0, 0.0]))
    row = step(f, 2, sold=200, parts_cost_per_vehicle_cny=np.array([0.0, 0.0]))
    # 100 at 135k and 300 at 155k: average 150k a car
    assert row["cogs"] == pytest.approx(200 * 150_000.0)
    assert row["finished_stock_value_cny"] == pytest.approx(200 * 150_000.0)


def test_depreciation_spreads_capex_in_service_over_its_life() -> None:
    f = books(months=3, capex=[], depreciable_at_start_cny=1.2e10, depreciation_years=10.0)
    row = step(f, 0)
    assert row["depreciation_cny"] == pytest.approx(1.2e10 / 120)
    assert row["cogs"] == pytest.approx(1.2e10 / 120)
    step(f, 1, capex_plant_cny=1.2e9)
    assert step(f, 2)["depreciation_cny"] == pytest.approx((1.2e10 + 1.2e9) / 120)
