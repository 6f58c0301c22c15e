"""The whole loop (supply -> plant -> market -> finance) on short horizons."""

from __future__ import annotations

import numpy as np
import pytest

from evplant.run import RunResult, simulate
from evplant.scenario import load_scenario

SHORT = ["horizon.end=2025-06"]


def run(*extra: str, seed: int = 0) -> RunResult:
    sc, _ = load_scenario("beijing-etown", [*SHORT, *extra])
    return simulate(sc, seed)


@pytest.fixture(scope="module")
def base() -> RunResult:
    return run()


def test_vehicles_kits_orders_and_money_are_conserved(base: RunResult) -> None:
    c = base.column
    # vehicles produced = delivered + finished stock
    assert np.cumsum(c("produced")) == pytest.approx(np.cumsum(c("delivered")) + c("stock"))
    # what the plant reports as built is what the venture books
    assert c("produced") == pytest.approx(c("produced_phase1") + c("produced_phase2"))
    # orders = deliveries + backlog + cancellations
    assert np.cumsum(c("orders")) == pytest.approx(
        np.cumsum(c("delivered")) + c("backlog") + np.cumsum(c("cancelled"))
    )
    # kits received = kits used + kit stock; kits used = vehicles released to the line
    assert np.cumsum(c("kits_received")) == pytest.approx(
        np.cumsum(c("kits_used")) + c("kit_stock")
    )
    assert c("kits_used") == pytest.approx(c("released"))
    # money in = money out + change in cash
    assert np.diff(c("cash")) == pytest.approx(c("cash_flow")[1:])


def test_a_deeper_chip_shortage_costs_cars_and_money(base: RunResult) -> None:
    force = [
        "venture.supply.components.chip.shortage.per_year=12",
        "venture.supply.components.chip.shortage.duration_months=12",
    ]
    mild = run(
        *force,
        "venture.supply.components.chip.shortage.depth_min=0.2",
        "venture.supply.components.chip.shortage.depth_max=0.2",
    )
    deep = run(
        *force,
        "venture.supply.components.chip.shortage.depth_min=0.9",
        "venture.supply.components.chip.shortage.depth_max=0.9",
    )
    assert deep.column("produced").sum() < 0.9 * mild.column("produced").sum()
    assert deep.column("kits_short").sum() > mild.column("kits_short").sum()
    assert deep.column("cash")[-1] < mild.column("cash")[-1]


def test_more_stores_take_more_orders_when_buyers_are_there() -> None:
    # make the stores the binding limit (few orders per store), then double the stores
    few = run("venture.channel.orders_per_store_per_month=40")
    more = run(
        "venture.channel.orders_per_store_per_month=40",
        'venture.channel.stores={"2024-02": 0, "2024-03": 118, "2024-09": 254, '
        '"2025-03": 470, "2025-09": 804}',
    )
    assert more.column("orders").sum() > 1.3 * few.column("orders").sum()
    assert more.column("delivered").sum() > 1.15 * few.column("delivered").sum()
    assert more.column("sales_capacity")[6] == pytest.approx(
        2 * few.column("sales_capacity")[6], rel=0.02
    )


def test_without_the_partner_the_ramp_is_slower_in_cars_and_money(base: RunResult) -> None:
    alone = run("plant.partner.enabled=false")
    ramp = slice(2, 5)  # March to May 2024: the first months after SOP
    assert alone.column("produced")[ramp].sum() < 0.85 * base.column("produced")[ramp].sum()
    assert np.all(alone.column("cycle_factor_phase1")[2:] >= base.column("cycle_factor_phase1")[2:])
    assert alone.column("revenue")[:12].sum() < base.column("revenue")[:12].sum()


def test_the_same_seed_gives_the_same_run(base: RunResult) -> None:
    again = run()
    assert again.monthly == base.monthly
    other = run(seed=1)
    assert other.monthly != base.monthly


def test_threads_do_not_change_the_run(base: RunResult) -> None:
    sc, _ = load_scenario("beijing-etown", SHORT)
    assert simulate(sc, 0, threads=False).monthly == base.monthly
