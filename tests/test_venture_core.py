"""The venture as the month loop drives it: conservation, effects, determinism, errors."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from evplant.errors import EvplantError
from evplant.inputs import read_yaml, validate
from evplant.venture import Venture, VentureConfig, month_label, month_number

YAML = (resources.files("evplant.scenario") / "builtin" / "beijing-etown-2023.yaml").read_text(
    encoding="utf-8"
)
BASE: dict[str, Any] = yaml.safe_load(YAML)["venture"]
VARIANTS = ["SU7", "YU7"]


def edited(**edits: Any) -> dict[str, Any]:
    """The built-in venture data with ``a__b__0__c=value`` edits (list items by index
    or by name)."""
    data = copy.deepcopy(BASE)
    for path, value in edits.items():
        keys = path.split("__")
        node: Any = data
        for key in keys[:-1]:
            if isinstance(node, list):
                node = (
                    node[int(key)] if key.isdigit() else next(x for x in node if x["name"] == key)
                )
            else:
                node = node[key]
        node[keys[-1]] = value
    return data


def config(**edits: Any) -> VentureConfig:
    return VentureConfig.model_validate(edited(**edits))


def run(
    cfg: VentureConfig,
    *,
    start: str = "2024-01",
    months: int = 24,
    seed: int = 1,
    capacity: int = 15_000,
) -> tuple[Venture, list[dict[str, float]]]:
    """Drive the venture like the month loop, with a synthetic plant: it starts what kits
    and ``capacity`` allow (shared by the plan) and finishes them a month later."""
    labels = [month_label(month_number(start) + i) for i in range(months)]
    venture = Venture(cfg, VARIANTS, labels, np.random.SeedSequence(seed))
    in_work = np.zeros(len(VARIANTS), dtype=np.int64)
    rows = []
    for t in range(months):
        plan = venture.build_plan(t)
        kits = venture.kits(t, plan)
        start_now = np.minimum(kits.count, plan)
        if start_now.sum() > capacity:
            start_now = np.floor(start_now * capacity / start_now.sum()).astype(np.int64)
        produced, in_work = in_work, start_now
        rows.append(venture.close_month(t, produced, start_now, float(capacity)))
    return venture, rows


def total(rows: list[dict[str, float]], key: str) -> float:
    return float(sum(r[key] for r in rows))


@pytest.fixture(scope="module")
def base_run() -> tuple[Venture, list[dict[str, float]]]:
    return run(config())


REQUIRED = [
    "delivered",
    "backlog",
    "wait_weeks",
    "kits_short",
    "orders",
    "cancelled",
    "stores",
    "sales_capacity",
    "share_own",
    "share_tesla",
    "share_xpeng",
    "export_orders",
    "contract_units",
    "chip_price_factor",
    "revenue",
    "cost",
    "opex",
    "capex",
    "cash",
    "cum_investment_usd",
]


def test_columns_are_floats_and_complete(base_run: tuple[Venture, list[dict[str, float]]]) -> None:
    _, rows = base_run
    for key in REQUIRED:
        assert key in rows[0], key
    assert all(isinstance(x, float) for r in rows for x in r.values())
    assert rows[0].keys() == rows[-1].keys()


def test_vehicles_produced_equal_delivered_plus_stock(base_run: Any) -> None:
    _, rows = base_run
    assert total(rows, "produced") > 100_000  # the test means something
    assert total(rows, "produced") == total(rows, "delivered") + rows[-1]["stock"]
    for v in VARIANTS:
        assert total(rows, f"produced_{v}") >= total(rows, f"delivered_{v}")


def test_orders_equal_deliveries_backlog_and_cancellations(base_run: Any) -> None:
    _, rows = base_run
    assert total(rows, "cancelled") > 0
    assert total(rows, "orders") == (
        total(rows, "delivered") + rows[-1]["backlog"] + total(rows, "cancelled")
    )
    backlog_before = 0.0
    for r in rows:  # month by month too
        assert r["orders"] == r["delivered"] + r["cancelled"] + r["backlog"] - backlog_before
        backlog_before = r["backlog"]


def test_kits_received_equal_kits_used_plus_kit_stock(base_run: Any) -> None:
    _, rows = base_run
    assert total(rows, "kits_received") > 100_000
    assert total(rows, "kits_received") == total(rows, "kits_used") + rows[-1]["kit_stock"]


def test_money_in_equals_money_out_plus_change_in_cash(base_run: Any) -> None:
    venture, rows = base_run
    opening = venture.cfg.finance.opening_cash_cny
    money_in = total(rows, "revenue")
    money_out = total(rows, "cost") + total(rows, "opex") + total(rows, "capex")
    assert money_in == pytest.approx(money_out + rows[-1]["cash"] - opening, rel=1e-12)
    cash = opening
    for r in rows:
        assert r["cash"] - cash == pytest.approx(r["revenue"] - r["cost"] - r["opex"] - r["capex"])
        cash = r["cash"]


def test_summary_keys(base_run: Any) -> None:
    venture, rows = base_run
    s = venture.summary()
    for key in (
        "npv_cny",
        "npv_usd",
        "lowest_cash_cny",
        "break_even_month",
        "cum_investment_usd",
        "budget_usd",
        "budget_used_share",
        "budget_exhausted_month",
    ):
        assert key in s
    assert s["lowest_cash_cny"] == min(r["cash"] for r in rows)
    assert s["budget_usd"] == 10e9
    assert s["cum_investment_usd"] == rows[-1]["cum_investment_usd"]


def test_same_seed_same_run_other_seed_other_run() -> None:
    cfg = config()
    _, a = run(cfg, months=12, seed=7)
    _, b = run(cfg, months=12, seed=7)
    _, c = run(cfg, months=12, seed=8)
    assert a == b
    assert [r["demand"] for r in a] != [r["demand"] for r in c]


def _frequent_chip_shortage(depth_min: float, depth_max: float, per_year: float = 6.0) -> Any:
    return config(
        supply__components__chip__shortage={
            "per_year": per_year,
            "depth_min": depth_min,
            "depth_max": depth_max,
            "duration_months": 3,
        }
    )


def test_deeper_chip_shortage_means_fewer_kits_and_cars() -> None:
    _, mild = run(_frequent_chip_shortage(0.05, 0.1))
    _, deep = run(_frequent_chip_shortage(0.6, 0.8))
    assert total(deep, "kits_received") < 0.95 * total(mild, "kits_received")
    assert total(deep, "delivered") < total(mild, "delivered")
    assert total(deep, "kits_short") > total(mild, "kits_short")
    assert max(r["chip_price_factor"] for r in deep) > max(r["chip_price_factor"] for r in mild)


def test_more_frequent_chip_shortage_means_fewer_kits() -> None:
    _, rare = run(_frequent_chip_shortage(0.5, 0.7, per_year=0.5))
    _, often = run(_frequent_chip_shortage(0.5, 0.7, per_year=8.0))
    assert total(often, "kits_received") < total(rare, "kits_received")


def test_more_stores_mean_more_sales_when_demand_is_there() -> None:
    few = config(channel__stores=20)  # 3,000 orders a month against ~13,000 buyers
    more = config(channel__stores=60)
    _, a = run(few, capacity=60_000)
    _, b = run(more, capacity=60_000)
    assert total(a, "turned_away") > 0
    assert total(b, "orders") > 2 * total(a, "orders")
    assert total(b, "delivered") > 2 * total(a, "delivered")


def test_exports_switched_on_bring_more_orders() -> None:
    on = config(
        market__exports__europe__enabled=True,
        market__exports__europe__start_month="2025-01",
        market__exports__europe__political_risk={"per_year": 0.0},
    )
    _, home = run(config())
    _, abroad = run(on)
    assert total(home, "export_orders") == 0
    assert total(abroad, "export_orders") > 1000
    assert total(abroad, "orders") > total(home, "orders")


def test_contract_manufacturing_earns_on_spare_capacity() -> None:
    on = config(contract__enabled=True, contract__start_month="2025-01")
    _, rows = run(on, capacity=60_000)  # far more capacity than demand
    _, off = run(config(), capacity=60_000)
    assert total(rows, "contract_units") > 0
    assert total(off, "contract_units") == 0
    assert total(rows, "revenue") > total(off, "revenue")


def test_builtin_venture_sells_within_a_few_hundred_thousand_a_year() -> None:
    """Ten years with a plant that never limits sales: orders come from segment size,
    choice and stores, and land in the range the venture is about."""
    _, rows = run(config(), start="2024-01", months=120, capacity=80_000)
    per_year = {
        y: sum(r["orders"] for r, m in zip(rows, range(120), strict=True) if m // 12 == y - 2024)
        for y in range(2024, 2034)
    }
    assert 50_000 < per_year[2024] < 250_000
    for y in range(2026, 2034):
        assert 100_000 < per_year[y] < 500_000, (y, per_year[y])


class _Scenario(BaseModel):
    venture: VentureConfig


@pytest.mark.parametrize(
    ("edits", "field"),
    [
        ({"supply__components__0__suppliers__0__lead_time_months": -1}, "lead_time_months"),
        ({"supply__allocation": "first_come"}, "supply.allocation"),
        ({"market__segments__sedan__buyers_per_year": -5}, "buyers_per_year"),
        ({"market__variants__SU7__launch_month": "2024-13"}, "launch_month"),
        ({"channel__orders_per_store_per_month": 0}, "orders_per_store_per_month"),
        ({"contract__spare_share": 1.5}, "contract.spare_share"),
        ({"finance__discount_rate_per_year": 2}, "discount_rate_per_year"),
        ({"finance__budget_ussd": 1}, "finance.budget_ussd"),
        ({"finance__unit_cost": {"SU7": {"cost_cny_at_reference": 1}}}, "finance.unit_cost"),
        ({"supply__components__1__suppliers__1__variants": ["SU9"]}, "variants"),
        ({"market__variants__SU7__segment": "hatchback"}, "SU7.segment"),
    ],
)
def test_bad_values_raise_a_validation_error_naming_the_field(
    edits: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        VentureConfig.model_validate(edited(**edits))
    locs = [".".join(str(p) for p in e["loc"]) for e in err.value.errors()]
    assert any(field in loc for loc in locs), locs


def test_bad_value_in_the_file_is_reported_with_its_line() -> None:
    text = YAML.replace("lead_time_months: 3 ", "lead_time_months: -3 ")
    assert text != YAML
    data, lines = read_yaml(text, "venture.yaml")
    with pytest.raises(EvplantError) as err:
        validate(_Scenario, data, "venture.yaml", lines)
    line = 1 + text.splitlines().index(
        next(x for x in text.splitlines() if "lead_time_months: -3" in x)
    )
    message = str(err.value)
    assert f"venture.yaml:{line}: venture.supply.components[0].suppliers[0].lead_time_months" in (
        message
    )


def test_variants_must_match_the_plant() -> None:
    with pytest.raises(EvplantError, match="variants"):
        Venture(config(), ["SU7"], ["2025-01"], np.random.SeedSequence(0))


def test_the_month_loop_order_is_enforced() -> None:
    venture = Venture(config(), VARIANTS, ["2025-01", "2025-02"], np.random.SeedSequence(0))
    with pytest.raises(RuntimeError):
        venture.close_month(0, np.zeros(2), np.zeros(2), 1000.0)
    kits = venture.kits(0, np.array([100, 0]))
    with pytest.raises(RuntimeError):
        venture.kits(0, np.array([100, 0]))  # one delivery of kits a month
    with pytest.raises(ValueError, match="kits_used"):
        venture.close_month(0, np.zeros(2), kits.count + 1, 1000.0)
    with pytest.raises(RuntimeError):
        venture.build_plan(1)


def test_the_summary_adds_up_the_months_wide_columns(base_run: Any) -> None:
    """The summary's totals, from each month's figures, are those of its wide columns."""
    venture, months = base_run
    rows = [m.to_dict() for m in months]
    for m, row in zip(months, rows, strict=True):
        assert m.figures() == {k: row[k] for k in m.figures()}
    summary = venture.summary()
    for key in ("produced", "delivered", "orders", "cancelled", "kits_short", "contract_units"):
        assert summary[f"{key}_total"] == total(rows, key)
    for key in ("revenue", "cost", "opex", "capex"):
        assert summary[f"{key}_total_cny"] == total(rows, key)
    assert summary["mean_wait_weeks"] == float(np.mean([r["wait_weeks"] for r in rows]))
    assert summary["final_backlog"] == rows[-1]["backlog"]


def test_forecasts_are_worked_out_afresh_each_month() -> None:
    """A month's forecasts, kept for the plan and the kits, are what the market and the
    channel say now, month after month (the kept ones go when the month closes)."""
    cfg = config()
    labels = [month_label(month_number("2024-01") + i) for i in range(8)]
    venture = Venture(cfg, VARIANTS, labels, np.random.SeedSequence(4))

    def fresh(month: int) -> np.ndarray:
        demand = venture.market.expected_demand(month, venture.channel.wait_weeks)
        stores = float(np.rint(np.interp(month, venture.month_numbers, venture.channel.stores)))
        capacity = stores * cfg.channel.orders_per_store_per_month
        if demand.sum() > capacity:
            demand = demand * capacity / demand.sum()
        return np.asarray(demand + venture.market.expected_exports(month))

    for t in range(len(labels)):
        month = int(venture.month_numbers[t])
        plan = venture.build_plan(t)
        for k in range(1, 4):
            assert np.array_equal(venture.expected_orders(month + k), fresh(month + k))
        kits = venture.kits(t, plan)
        venture.close_month(t, np.minimum(kits.count, 3000), np.minimum(kits.count, 3000), 9000.0)
