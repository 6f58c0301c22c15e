"""Contract cars through the line: the client's cars are released into a phase's line
and compete with own cars for its capacity per the contract's terms (volume, priority,
fee), so a contract costs own output when the plant is full and none when it is idle;
vehicles and money are conserved."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.run import RunResult, simulate
from evplant.scenario import load_scenario

PLAN = "beijing-etown-2023"
YEAR = ["horizon.end=2024-12"]
FULL = ["venture.market.brand_appeal=4", "venture.channel.orders_per_store_per_month=3000"]
IDLE = ["venture.channel.orders_per_store_per_month=20"]
CONTRACT = [
    "venture.contract.enabled=true",
    "venture.contract.start_month=2024-03",
    "venture.contract.max_units_per_month=3000",
    "venture.contract.spare_share=0.8",
    "venture.contract.fee_cny_per_unit=12000",
    "venture.contract.cost_cny_per_unit=8000",
]


def run(*overrides: list[str]) -> RunResult:
    sc, _ = load_scenario(PLAN, [*YEAR, *(o for group in overrides for o in group)])
    return simulate(sc, seed=5, stats=False)


def own(r: RunResult) -> float:
    return float(r.column("produced").sum())


@pytest.fixture(scope="module")
def full() -> dict[str, RunResult]:
    return {
        "none": run(FULL),
        "own": run(FULL, CONTRACT, ["venture.contract.priority=own"]),
        "contract": run(FULL, CONTRACT, ["venture.contract.priority=contract"]),
    }


def test_a_full_plant_builds_fewer_own_cars_with_a_contract_first(
    full: dict[str, RunResult],
) -> None:
    base, first = full["none"], full["contract"]
    built = float(first.column("contract_produced").sum())
    assert built > 15_000  # about 3,000 a month from March
    # the client's cars took the line's time: own output fell by most of what they used
    assert own(first) < own(base) - 0.7 * built
    # with own cars first the client only gets what own cars leave (kit-short months)
    assert own(full["own"]) > 0.95 * own(base)
    assert full["own"].column("contract_produced").sum() < 0.2 * built


def test_an_idle_plant_builds_the_same_own_cars_with_a_contract() -> None:
    base = run(IDLE)
    for priority in ("own", "contract"):
        with_client = run(IDLE, CONTRACT, [f"venture.contract.priority={priority}"])
        assert with_client.column("contract_produced").sum() > 15_000
        assert own(with_client) == pytest.approx(own(base), rel=0.01), priority
        orders = with_client.column("orders").sum()
        assert orders == pytest.approx(base.column("orders").sum(), rel=0.01)


def test_contract_vehicles_and_money_are_conserved(full: dict[str, RunResult]) -> None:
    r = full["contract"]
    released, built = r.column("contract_released"), r.column("contract_produced")
    own_in_work = r.column("in_work_SU7") + r.column("in_work_YU7")
    by_phase = np.zeros(len(released))
    months = [str(row["month"]) for row in r.monthly]
    for p in r.table("phase"):
        by_phase[months.index(p.month)] += p.in_work
    # the line holds own cars in work plus the client's started and not yet finished
    assert np.array_equal(by_phase, own_in_work + np.cumsum(released) - np.cumsum(built))
    # the phase's output is own cars plus the client's
    phase_out = sum(p.produced for p in r.table("phase"))
    assert phase_out == own(r) + built.sum()
    # the venture books exactly the cars the line completed, at the contract's terms
    assert np.array_equal(r.column("contract_units"), built)
    assert np.allclose(r.column("revenue_contract_cny"), 12_000 * built)
    assert np.allclose(r.column("cost_contract_cny"), 8_000 * built)
    # no kits for the client's cars: kits used are own cars started
    own_started = r.column("released_SU7") + r.column("released_YU7")
    assert np.array_equal(r.column("kits_used"), own_started)


def test_a_contract_outside_its_months_or_switched_off_changes_nothing() -> None:
    base = run(IDLE)
    late = run(IDLE, CONTRACT, ["venture.contract.start_month=2026-01"])
    assert late.column("contract_produced").sum() == 0
    assert np.array_equal(late.column("produced"), base.column("produced"))
    assert np.array_equal(late.column("cash"), base.column("cash"))


def test_a_contract_on_no_phase_is_refused() -> None:
    result = CliRunner().invoke(
        app, ["run", PLAN, "--quiet", "--set", "venture.contract.phase=phase9"]
    )
    assert result.exit_code == 2
    assert "venture.contract.phase: 'phase9' is not one of the phases" in result.output
