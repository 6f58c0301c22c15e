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


def test_npv_of_a_constant_monthly_flow_is_the_annuity_closed_form() -> None:
    # nothing sold, no capex: the flow is -opex every month, paid at each month's end
    months, rate, opex = 36, 0.08, 6e8
    f = books(months=months, capex=[], discount_rate_per_year=rate)
    for t in range(months):
        step(f, t)
    v = (1.0 + rate) ** (-1.0 / 12.0)  # one month's discount factor
    annuity = v * (1.0 - v**months) / (1.0 - v)
    s = f.summary()
    assert s["npv_cny"] == pytest.approx(-opex * annuity, rel=1e-12)
    assert s["final_cash_cny"] == pytest.approx(-opex * months, rel=1e-12)
    # at a zero rate the NPV is the plain sum
    g = books(months=12, capex=[], discount_rate_per_year=0.0)
    for t in range(12):
        step(g, t)
    assert g.summary()["npv_cny"] == pytest.approx(-12 * opex, rel=1e-12)


def test_npv_of_a_growing_flow_is_the_geometric_closed_form() -> None:
    # fixed costs grow 12% a year from Jan 2024: opex_t = F q^t with q = 1.12^(1/12)
    months, rate, growth, fixed = 48, 0.1, 0.12, 6e8
    data = finance_data(capex=[], discount_rate_per_year=rate)
    data["opex"] = {**data["opex"], "growth_per_year": growth, "per_store_cny_per_month": 0}
    f = Finance(FinanceConfig.model_validate(data), VARIANTS, JAN24 + np.arange(months))
    flows = [step(f, t)["cash_flow"] for t in range(months)]
    q = (1.0 + growth) ** (1.0 / 12.0)
    v = (1.0 + rate) ** (-1.0 / 12.0)
    assert flows[12] == pytest.approx(-fixed * 1.12, rel=1e-12)  # a year later, 12% more
    expected = -fixed * v * (1.0 - (v * q) ** months) / (1.0 - v * q)
    assert f.summary()["npv_cny"] == pytest.approx(expected, rel=1e-12)


def test_a_month_of_books_from_prices_counts_and_vat_worked_by_hand() -> None:
    # progress ratio 1: no learning, every car costs its reference cost
    data = finance_data(
        vat_rate=0.13,
        progress_ratio=1.0,
        unit_cost={
            "SU7": {"cost_cny_at_reference": 50_000},
            "YU7": {"cost_cny_at_reference": 80_000},
        },
        selling_cost_cny_per_vehicle=1_000,
        opex={
            "headquarters_cny_per_month": 1_000_000,
            "rnd_cny_per_month": 2_000_000,
            "sales_org_cny_per_month": 500_000,
            "per_store_cny_per_month": 100_000,
            "base_month": "2024-01",
        },
        capex=[
            {"name": "p", "total_cny": 1_200_000, "start_month": "2024-01", "end_month": "2024-12"}
        ],
        opening_cash_cny=10_000_000,
        spent_before_start_cny=7_200_000,
        usd_cny=7.2,
        budget_usd=2_000_000,
    )
    f = Finance(FinanceConfig.model_validate(data), VARIANTS, JAN24 + np.arange(12))
    r = f.step(
        0,
        produced=np.array([120.0, 10.0]),
        # China: 100 SU7 and 5 YU7; one export market: 20 SU7 at 1.25 times the net price
        delivered=np.array([[100.0, 5.0], [20.0, 0.0]]),
        price_incl_vat=np.array([113_000.0, 226_000.0]),
        export_price_factor=np.array([1.25]),
        parts_spend_cny=500_000,
        contract_revenue_cny=50_000,
        contract_cost_cny=20_000,
        stores=3,
        capex_plant_cny=200_000,
    )
    # China: 100 x 100,000 + 5 x 200,000; export: 20 x 125,000 (no VAT)
    assert r["revenue_cars_cny"] == pytest.approx(10_000_000 + 1_000_000 + 2_500_000)
    assert r["revenue"] == pytest.approx(13_550_000)
    assert r["cost_build_cny"] == pytest.approx(120 * 50_000 + 10 * 80_000)  # 6,800,000
    assert r["cost_selling_cny"] == pytest.approx(125 * 1_000)
    assert r["cost"] == pytest.approx(500_000 + 6_800_000 + 125_000 + 20_000)
    assert r["unit_build_cost_cny"] == pytest.approx(6_800_000 / 130)
    assert r["opex"] == pytest.approx(3_500_000 + 300_000)
    assert r["capex"] == pytest.approx(100_000 + 200_000)
    # 13,550,000 - 7,445,000 - 3,800,000 = 2,305,000 operating; less 300,000 capex
    assert r["operating_cash_flow"] == pytest.approx(2_305_000)
    assert r["cash_flow"] == pytest.approx(2_005_000)
    assert r["cash"] == pytest.approx(12_005_000)
    # cash never fell below the opening: only the sunk 7.2M CNY = US$1M is invested
    assert r["cum_investment_usd"] == pytest.approx(1_000_000, abs=1e-6)
    assert r["budget_used_share"] == pytest.approx(0.5, abs=1e-12)
    assert r["revenue_contract_cny"] == 50_000 and r["cost_contract_cny"] == 20_000
    assert r["cost_parts_cny"] == 500_000
    # a bad second month: 5,000,000 opex and capex, nothing sold, cash falls to 6,705,000
    r2 = f.step(
        1,
        produced=np.zeros(2),
        delivered=np.zeros((2, 2)),
        price_incl_vat=np.array([113_000.0, 226_000.0]),
        export_price_factor=np.array([1.25]),
        parts_spend_cny=0,
        contract_revenue_cny=0,
        contract_cost_cny=0,
        stores=3,
        capex_plant_cny=1_200_000,
    )
    assert r2["cash"] == pytest.approx(12_005_000 - 3_800_000 - 100_000 - 1_200_000)
    assert r2["cash"] == pytest.approx(6_905_000)
    # the parent had to cover 10,000,000 - 6,905,000 below the opening cash
    assert r2["cum_investment_usd"] == pytest.approx((7_200_000 + 3_095_000) / 7.2)
    assert r2["unit_build_cost_cny"] == pytest.approx(65_000)  # no cars: the mean next cost


def test_a_months_learning_cost_is_the_average_over_its_cars() -> None:
    # the continuous average against the discrete mean of C(k) = C_ref (k / n_ref)^b
    f = books(progress_ratio=0.85)
    b = np.log2(0.85)
    lo, hi = 40_000, 52_000
    k = np.arange(lo + 1, hi + 1, dtype=float)
    su7 = float(np.mean(125_000 * (k / 100_000) ** b))
    yu7 = float(np.mean(135_000 * (k / 100_000) ** b))
    got = f.build_cost_cny(np.array([lo, lo], float), np.array([hi, hi], float))
    # the books integrate C over [lo, hi]: a car's cost read between k - 1 and k, which
    # is within |b| / (2 lo) of the discrete mean
    tol = abs(b) / lo
    assert got[0] == pytest.approx(su7, rel=tol)
    assert got[0] != pytest.approx(su7 * (1 + 2 * tol), rel=tol / 2)  # the tolerance is tight
    assert got[1] == pytest.approx(max(yu7, 120_000), rel=tol)
    # with no cars this month: the cost of the next car, C(lo) for lo >= 1
    nxt = f.build_cost_cny(np.array([lo, 0.0]), np.array([lo, 0.0]))
    assert nxt[0] == pytest.approx(125_000 * (lo / 100_000) ** b, rel=1e-12)
    assert nxt[1] == pytest.approx(max(135_000 * (1 / 100_000) ** b, 120_000), rel=1e-12)


SUMMARY_KEYS = {
    "npv_cny", "npv_usd", "discount_rate_per_year", "lowest_cash_cny", "lowest_cash_usd",
    "lowest_cash_month", "final_cash_cny", "break_even_month", "payback_month",
    "cum_investment_usd", "budget_usd", "budget_label", "budget_end_month", "budget_used_share",
    "budget_exhausted_month", "cum_investment_usd_at_budget_end", "capex_before_start_cny",
    "capex_after_end_cny", "spent_before_start_cny",
}  # fmt: skip


def flows_books(flows: list[float], **overrides: Any) -> tuple[Finance, dict[str, Any]]:
    """Books whose monthly operating flow is exactly ``flows`` (all costs zero but a
    contract's revenue), opening with 10 CNY, US$1 = 2 CNY, 4 CNY sunk."""
    zero = {"cost_cny_at_reference": 1.0}
    data = finance_data(
        usd_cny=2.0,
        opening_cash_cny=10.0,
        spent_before_start_cny=4.0,
        capex=[],
        unit_cost={"SU7": zero, "YU7": zero},
        selling_cost_cny_per_vehicle=0.0,
        opex={
            "headquarters_cny_per_month": 0,
            "rnd_cny_per_month": 0,
            "sales_org_cny_per_month": 0,
            "base_month": "2024-01",
        },
    )
    data.update(overrides)
    f = Finance(FinanceConfig.model_validate(data), VARIANTS, JAN24 + np.arange(len(flows)))
    for t, x in enumerate(flows):
        step(f, t, contract_revenue_cny=x)
    return f, f.summary()


def test_summary_of_hand_made_flows() -> None:
    # cash: 11, 7, 7, 7.5, 10, 12, 13, 14; the low of 7 first in month 2
    f, s = flows_books([1, -4, 0, 0.5, 2.5, 2, 1, 1], budget_start_month="2023-02")
    assert set(s) == SUMMARY_KEYS
    assert s["budget_label"] == "US$1bn"  # its amount, as no label is given
    assert s["spent_before_start_cny"] == 4.0  # sunk: reported as spent before the run
    assert s["lowest_cash_cny"] == 7.0 and s["lowest_cash_usd"] == 3.5
    assert s["lowest_cash_month"] == "2024-02"
    assert s["final_cash_cny"] == 14.0
    # three months in a row of positive operating flow first start in April (0 is not
    # positive); cash is back at its opening level, exactly, in May
    assert s["break_even_month"] == "2024-04"
    assert s["payback_month"] == "2024-05"
    # the parent covered 10 - 7 = 3 CNY below the opening, plus 4 sunk: US$3.5
    assert s["cum_investment_usd"] == 3.5 and s["budget_used_share"] == 3.5 / 1e9
    # the budget's ten years from Feb 2023 end in Jan 2033; a budget of one year ends in
    # the run's first month, whose investment was the sunk 4 CNY alone
    _, one = flows_books([1, -4, 0, 0.5], budget_start_month="2023-02", budget_years=1)
    assert one["budget_end_month"] == "2024-01"
    assert one["cum_investment_usd_at_budget_end"] == 2.0
    assert s["budget_end_month"] == "2033-01" and s["cum_investment_usd_at_budget_end"] is None
    assert s["budget_exhausted_month"] is None and s["budget_usd"] == 1e9
    assert s["discount_rate_per_year"] == 0.1


def test_break_even_in_the_last_possible_months_and_not_in_a_short_tail() -> None:
    _, s = flows_books([-1, -1, 1, 1, 1])  # the run of 3 starts at n - 3
    assert s["break_even_month"] == "2024-03"
    _, s = flows_books([-1, -1, -1, 1, 1])  # two good months at the end are not a run of 3
    assert s["break_even_month"] is None
    _, s = flows_books([0.5, 0.5, 0.5])  # a positive flow below 1 CNY still counts
    assert s["break_even_month"] == "2024-01"


def test_budget_runs_out_strictly_past_it_and_the_investment_at_its_end() -> None:
    # cash 9, 7, 4: invested (4 + 1) / 2, (4 + 3) / 2, (4 + 6) / 2 = 2.5, 3.5, 5 US$
    _, s = flows_books(
        [-1, -2, -3], budget_usd=3.5, budget_start_month="2023-03", budget_years=1
    )
    assert s["cum_investment_usd"] == 5.0
    assert s["budget_exhausted_month"] == "2024-03"  # 3.5 is not past a budget of 3.5
    assert s["budget_end_month"] == "2024-02" and s["cum_investment_usd_at_budget_end"] == 3.5
    assert s["payback_month"] is None
    # a budget ending the month after the run: not known within the run
    _, late = flows_books([-1, -2, -3], budget_start_month="2023-05", budget_years=1)
    assert late["budget_end_month"] == "2024-04"
    assert late["cum_investment_usd_at_budget_end"] is None


def test_empty_summary_is_the_sunk_spend_alone() -> None:
    f, _ = flows_books([], budget_usd=4.0)
    s = f.summary()
    assert set(s) == SUMMARY_KEYS
    assert s["cum_investment_usd"] == 2.0 and s["budget_used_share"] == 0.5
    assert s["budget_usd"] == 4.0
    for key in (
        "lowest_cash_cny", "lowest_cash_usd", "lowest_cash_month", "break_even_month",
        "payback_month", "budget_exhausted_month", "cum_investment_usd_at_budget_end",
    ):  # fmt: skip
        assert s[key] is None, key


def test_learning_carries_from_month_to_month() -> None:
    # 1,000 cars a month: month 2 costs what cars 1001..2000 cost, less than month 1
    f = books(progress_ratio=0.85)
    b = np.log2(0.85)
    r1 = step(f, 0, built=1000.0)
    r2 = step(f, 1, built=1000.0)
    scale = 125_000 * 100_000 ** (-b)
    # the first month integrates C from car 0: C(1000) / (1 + b)
    assert r1["cost_build_cny"] == pytest.approx(1000 * scale * 1000**b / (1 + b), rel=1e-12)
    month2 = scale * (2000 ** (1 + b) - 1000 ** (1 + b)) / (1 + b)
    assert r2["cost_build_cny"] == pytest.approx(month2, rel=1e-12)
    assert r2["unit_build_cost_cny"] < r1["unit_build_cost_cny"]
    assert f.built[0] == 2000.0


def test_no_payback_when_cash_never_fell_below_the_opening() -> None:
    # cash 10, 11: the lowest equals the opening; nothing to pay back
    _, s = flows_books([0, 1])
    assert s["lowest_cash_cny"] == 10.0 and s["payback_month"] is None


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


def test_capex_before_the_run_is_invested_before_month_one() -> None:
    # CNY 5bn spread over 2023-07..2024-06: half before the run, half in its first months;
    # another item runs past the run's end (2025-12)
    capex = [
        {"name": "early", "total_cny": 5e9, "start_month": "2023-07", "end_month": "2024-06"},
        {"name": "late", "total_cny": 2.4e9, "start_month": "2025-01", "end_month": "2026-12"},
    ]
    f = books(months=24, capex=capex, opening_cash_cny=1e9)
    bare = books(months=24, capex=[], opening_cash_cny=1e9)
    rows = [step(f, t, sold=100.0, built=100.0) for t in range(24)]
    plain = [step(bare, t, sold=100.0, built=100.0) for t in range(24)]
    s, s0 = f.summary(), bare.summary()
    before, after = s["capex_before_start_cny"], s["capex_after_end_cny"]
    # every CNY of every item is booked once: before the run, in a month, or after it
    assert before == pytest.approx(2.5e9) and after == pytest.approx(1.2e9)
    assert before + sum(r["capex"] for r in rows) + after == pytest.approx(7.4e9)
    # cash: opening, less what was invested before month one, plus every month's flow
    assert rows[-1]["cash"] == pytest.approx(1e9 - before + sum(r["cash_flow"] for r in rows))
    assert rows[-1]["cash"] - plain[-1]["cash"] == pytest.approx(-(5e9 + 1.2e9))
    # NPV counts the early spend in full at the run's start, the rest discounted
    disc = 1.1 ** (-(np.arange(24) + 1.0) / 12.0)
    flows = np.array([r["cash_flow"] for r in rows])
    assert s["npv_cny"] == pytest.approx(float(flows @ disc) - before)
    assert s["npv_cny"] < s0["npv_cny"] - 5e9 * 0.95
    # the parent funds it: investment against the budget includes it from month one
    assert rows[0]["cum_investment_usd"] - plain[0]["cum_investment_usd"] >= before / 7.2 - 1.0


def test_a_run_without_capex_outside_it_books_none() -> None:
    f = books(months=12)
    for t in range(12):
        step(f, t)
    s = f.summary()
    assert s["capex_before_start_cny"] == 0.0 and s["capex_after_end_cny"] == 0.0
    assert f.start_cash == 0.0
