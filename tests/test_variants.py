"""Variants: their own cycle times in a scenario, and output, kits, revenue and cost
counted per variant from the vehicles actually built (conserved per variant)."""

from __future__ import annotations

import numpy as np
import pytest

from evplant.run import RunResult, simulate
from evplant.scenario import load_scenario

PLAN = "beijing-etown-2023"
BOTH = "{SU7: 0.5, YU7: 0.5}"
FINAL_TEST = "plant.phases.phase1.shops.general-assembly.stations.final-test"


def run(overrides: list[str], seed: int = 4) -> RunResult:
    sc, _ = load_scenario(PLAN, overrides)
    return simulate(sc, seed=seed, stats=False)


def test_a_scenario_takes_a_variants_own_cycle_time() -> None:
    # phase 1 builds both models from its start, pushed 50/50 (no venture); the YU7
    # takes four times as long at final test, the line's bottleneck then
    plant = ["horizon.end=2024-09", "venture=null", f"plant.phases.phase1.mix={BOTH}"]
    slow = f"{FINAL_TEST}.variant_cycle_time={{YU7: {{dist: deterministic, value: 280}}}}"
    sc, _ = load_scenario(PLAN, [*plant, slow])
    station = next(
        st
        for shop in sc.plant.phases[0].shops
        for st in shop.stations
        if st.name == "final-test"
    )
    assert set(station.variant_cycle_time) == {"YU7"}
    base, slowed = run(plant), run([*plant, slow])
    assert slowed.column("produced").sum() < 0.8 * base.column("produced").sum()
    assert slowed.column("capacity").sum() < base.column("capacity").sum()
    for r in (base, slowed):
        by_variant = r.column("produced_SU7") + r.column("produced_YU7")
        assert np.array_equal(by_variant, r.column("produced"))


def test_output_is_counted_from_the_cars_built_not_split_by_the_mix() -> None:
    # phase 1 could build both, but nobody orders a YU7 before its launch (2025-07)
    r = run(["horizon.end=2024-08", f"plant.phases.phase1.mix={BOTH}"])
    assert r.column("produced").sum() > 1000
    assert r.column("produced_YU7").sum() == 0 and r.column("released_YU7").sum() == 0
    assert np.array_equal(r.column("produced_SU7"), r.column("produced"))
    assert r.column("revenue_YU7_cny").sum() == 0 and r.column("cost_build_YU7_cny").sum() == 0


@pytest.fixture(scope="module")
def shared() -> RunResult:
    """Phase 2 builds both models, so the SU7 comes from two lines."""
    return run(["horizon.end=2025-12", f"plant.phases.phase2.mix={BOTH}"])


def test_a_variant_built_by_two_phases_is_released_once(shared: RunResult) -> None:
    variants = ("SU7", "YU7")
    released = sum(shared.column(f"released_{v}") for v in variants)
    # every kit the venture handed over is one vehicle started on exactly one line
    assert np.array_equal(released, shared.column("kits_used"))
    assert np.array_equal(released, shared.column("released"))
    phases = [r for r in shared.table("phase")]
    for v in variants:  # vehicles conserved per variant: started = built + in work
        started = np.cumsum(shared.column(f"released_{v}"))
        built = np.cumsum(shared.column(f"produced_{v}"))
        assert np.array_equal(started - built, shared.column(f"in_work_{v}"))
    in_work = sum(shared.column(f"in_work_{v}") for v in variants)
    by_phase = np.zeros(len(in_work))
    months = [str(row["month"]) for row in shared.monthly]
    for r in phases:
        by_phase[months.index(r.month)] += r.in_work
    assert np.array_equal(in_work, by_phase)
    # both lines built SU7 once phase 2 ran, in proportion to what each could build
    assert shared.column("produced_phase2")[-1] > 0
    su7_late = shared.column("produced_SU7")[-6:].sum()
    assert su7_late > shared.column("produced_phase1")[-6:].sum()


def test_money_is_counted_per_variant_from_the_cars(shared: RunResult) -> None:
    variants = ("SU7", "YU7")
    sc, _ = load_scenario(PLAN)
    vat = sc.venture.finance.vat_rate  # type: ignore[union-attr]
    for name, line in (
        ("revenue_{v}_cny", "revenue_cars_cny"),
        ("cost_build_{v}_cny", "cost_build_cny"),
        ("cogs_{v}_cny", "cogs_cars_cny"),
    ):
        total = sum(shared.column(name.format(v=v)) for v in variants)
        assert np.allclose(total, shared.column(line), rtol=1e-12, atol=1e-3), line
    for v in variants:  # no exports: China's deliveries at the price net of VAT
        net = shared.column(f"price_{v}_cny") / (1.0 + vat)
        expected = shared.column(f"delivered_{v}") * net
        assert np.allclose(shared.column(f"revenue_{v}_cny"), expected, rtol=1e-12, atol=1e-3)
        built = shared.column(f"produced_{v}")
        cost = shared.column(f"cost_build_{v}_cny")
        assert ((cost > 0) == (built > 0)).all()
