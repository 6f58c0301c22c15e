"""Contract manufacturing: cars for another brand on spare capacity, for a fee."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from evplant.venture.common import month_number
from evplant.venture.contract import ContractConfig, contract_month

JUN26 = month_number("2026-06")


def contract(**overrides: Any) -> ContractConfig:
    data: dict[str, Any] = {
        "enabled": True,
        "start_month": "2026-01",
        "end_month": "2030-12",
        "max_units_per_month": 3000,
        "spare_share": 0.8,
        "fee_cny_per_unit": 12_000,
        "cost_cny_per_unit": 8_000,
    }
    data.update(overrides)
    return ContractConfig.model_validate(data)


def test_a_switched_off_contract_builds_nothing() -> None:
    out = contract_month(contract(enabled=False), JUN26, 30_000, 10_000)
    assert out.units == 0 and out.revenue_cny == 0 and out.spare_capacity == 20_000


def test_contract_cars_fill_spare_capacity_up_to_the_contract() -> None:
    assert contract_month(contract(), JUN26, 30_000, 10_000).units == 3000  # contract limit
    assert contract_month(contract(), JUN26, 11_000, 10_000).units == 800  # 80% of 1,000
    assert contract_month(contract(), JUN26, 10_000, 12_000).units == 0  # no spare capacity


def test_contract_cars_earn_the_fee_and_cost_the_conversion() -> None:
    out = contract_month(contract(), JUN26, 30_000, 10_000)
    assert out.revenue_cny == 3000 * 12_000
    assert out.cost_cny == 3000 * 8_000


def test_only_inside_the_contract_months() -> None:
    cfg = contract()
    assert contract_month(cfg, month_number("2025-12"), 30_000, 0).units == 0
    assert contract_month(cfg, month_number("2026-01"), 30_000, 0).units == 3000
    assert contract_month(cfg, month_number("2030-12"), 30_000, 0).units == 3000
    assert contract_month(cfg, month_number("2031-01"), 30_000, 0).units == 0
    open_ended = contract(start_month=None, end_month=None)
    assert contract_month(open_ended, month_number("2040-01"), 30_000, 0).units == 3000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"spare_share": 1.2}, ("spare_share",)),
        ({"max_units_per_month": -1}, ("max_units_per_month",)),
        ({"fee_cny_per_unit": -1}, ("fee_cny_per_unit",)),
        ({"start_month": "2026-13"}, ("start_month",)),
        ({"start_month": "2027-01", "end_month": "2026-01"}, ()),
        ({"client": ""}, ("client",)),
        ({"fee": 1}, ("fee",)),
    ],
)
def test_bad_contract_values_are_named(change: dict[str, Any], field: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as err:
        contract(**change)
    locs = [tuple(e["loc"]) for e in err.value.errors()]
    assert any(loc[: len(field)] == field for loc in locs), locs
