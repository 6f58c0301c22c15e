"""Supply: orders, lead times, shortages, the allocation rule and kit release instants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from evplant.months import month_number
from evplant.venture.episodes import Episodes, EpisodeState, step_episodes
from evplant.venture.supply import Supply, SupplyConfig, allocate_kits

VARIANTS = ["SU7", "YU7"]
MONTHS = np.arange(24) + month_number("2024-01")


def supply_cfg(**overrides: Any) -> SupplyConfig:
    """Chips from one supplier (lead 1), packs from two: one fits only the SU7."""
    data: dict[str, Any] = {
        "allocation": "margin_first",
        "components": [
            {
                "name": "chip",
                "price_cny": 8000,
                "price_rise_at_full_depth": 1.0,
                "safety_stock_weeks": 2,
                "suppliers": [
                    {"name": "tier1", "capacity_per_month": 20000, "lead_time_months": 1}
                ],
            },
            {
                "name": "battery_pack",
                "price_cny": 45000,
                "suppliers": [
                    {"name": "catl", "capacity_per_month": 20000, "share": 0.7},
                    {
                        "name": "findreams",
                        "capacity_per_month": 5000,
                        "share": 0.3,
                        "variants": ["SU7"],
                    },
                ],
            },
        ],
    }
    data.update(overrides)
    return SupplyConfig.model_validate(data)


def drive(
    cfg: SupplyConfig, plan: np.ndarray, months: int = 24, seed: int = 3, use: int = 10**9
) -> tuple[Supply, list[np.ndarray], list[np.ndarray]]:
    """A steady plan each month; the line uses up to ``use`` kits of each variant a month.
    Returns the supply, kits received and kits used by month."""
    s = Supply(cfg, VARIANTS, MONTHS[:months], np.random.SeedSequence(seed))
    received, used = [], []
    for t in range(months):
        kits, _ = s.receive(t, plan, np.tile(plan, (s.horizon, 1)), np.array([2.0, 1.0]))
        received.append(kits.received)
        used.append(np.minimum(kits.count, use))
        s.consume(used[-1])
        s.note_capacity(float(plan.sum()))
    return s, received, used


def test_margin_first_serves_the_higher_margin_variant_first() -> None:
    rows, bounds = np.array([[1.0, 1.0]]), np.array([100.0])
    x = allocate_kits(np.array([80, 80]), rows, bounds, np.array([1.0, 2.0]), "margin_first")
    assert x.tolist() == [20, 80]


def test_pro_rata_gives_every_variant_the_same_share() -> None:
    rows, bounds = np.array([[1.0, 1.0]]), np.array([40.0])
    x = allocate_kits(np.array([60, 20]), rows, bounds, np.array([1.0, 2.0]), "pro_rata")
    assert x.tolist() == [30, 10]
    # enough parts: everyone gets the full need whatever the rule
    for rule in ("pro_rata", "margin_first"):
        got = allocate_kits(np.array([60, 20]), rows, np.array([500.0]), np.ones(2), rule)
        assert got.tolist() == [60, 20]


def test_parts_only_go_to_the_variants_they_fit() -> None:
    cfg = supply_cfg()
    s = Supply(cfg, VARIANTS, MONTHS, np.random.SeedSequence(0))
    s.state.on_hand = [np.array([1000]), np.array([10, 100])]  # catl 10, findreams 100 (SU7)
    s.parts[1].capacity[:] = 0
    s.parts[0].capacity[:] = 0
    kits, _ = s.receive(0, np.array([0, 50]), np.zeros((1, 2)), np.array([1.0, 2.0]))
    assert kits.count.tolist() == [0, 10]  # FinDreams packs do not fit the YU7
    s.consume(np.array([0, 10]))
    s.state.on_hand = [np.array([1000]), np.array([10, 100])]
    kits, _ = s.receive(1, np.array([50, 50]), np.zeros((1, 2)), np.array([1.0, 2.0]))
    assert kits.count.tolist() == [50, 10]  # YU7 first (margin) takes CATL; SU7 takes FinDreams


def test_kits_received_equal_kits_used_plus_kit_stock() -> None:
    for use in (0, 5000, 12000):
        s, received, used = drive(supply_cfg(), np.array([9000, 6000]), use=use)
        assert sum(r.sum() for r in received) > 10_000
        assert (sum(received) == sum(used) + s.state.kit_stock).all()


def test_release_instants_are_sorted_fractions_and_held_kits_come_at_zero() -> None:
    s = Supply(supply_cfg(), VARIANTS, MONTHS, np.random.SeedSequence(5))
    plan = np.array([8000, 4000])
    for t in range(4):
        kits, _ = s.receive(t, plan, np.tile(plan, (1, 1)), np.ones(2))
        for v in range(2):
            frac = kits.arrival_frac[v]
            assert frac.size == kits.count[v]
            assert np.all(np.diff(frac) >= 0)
            assert frac.size == 0 or (frac[0] >= 0 and frac[-1] < 1)
        s.consume(kits.count // 2)  # half the kits wait for next month
    held = s.state.kit_stock.copy()
    kits, _ = s.receive(4, plan, np.tile(plan, (1, 1)), np.ones(2))
    for v in range(2):
        assert np.all(kits.arrival_frac[v][: held[v]] == 0.0)


def test_lead_time_delays_the_first_kits() -> None:
    cfg = supply_cfg()
    plan = np.array([1000, 1000])
    _, received, _ = drive(cfg, plan, months=4)
    assert received[0].sum() == 0  # chips ordered in month 0 arrive in month 1
    assert received[1].sum() > 0


def _with_chip_shortage(per_year: float, depth: tuple[float, float]) -> SupplyConfig:
    cfg = supply_cfg()
    data = cfg.model_dump()
    data["components"][0]["shortage"] = {
        "per_year": per_year,
        "depth_min": depth[0],
        "depth_max": depth[1],
        "duration_months": 3,
    }
    return SupplyConfig.model_validate(data)


def test_deeper_or_more_frequent_shortage_means_fewer_kits() -> None:
    plan = np.array([12000, 6000])  # chips: 20,000 a month for 18,000 kits
    kits = {}
    for label, per_year, depth in [
        ("none", 0.0, (0.0, 0.0)),
        ("mild", 4.0, (0.1, 0.2)),
        ("deep", 4.0, (0.5, 0.7)),
        ("often", 10.0, (0.5, 0.7)),
    ]:
        _, received, _ = drive(_with_chip_shortage(per_year, depth), plan)
        kits[label] = sum(r.sum() for r in received)
    assert kits["none"] >= kits["mild"] > kits["deep"] > kits["often"]
    assert kits["deep"] < 0.9 * kits["none"]


def test_chip_price_rises_during_a_shortage() -> None:
    s = Supply(_with_chip_shortage(12.0, (0.5, 0.5)), VARIANTS, MONTHS, np.random.SeedSequence(1))
    plan = np.array([1000, 1000])
    factors = []
    for t in range(12):
        kits, month = s.receive(t, plan, np.tile(plan, (1, 1)), np.ones(2))
        s.consume(kits.count)
        factors.append(month.price_factor["chip"])
        assert month.price_factor["battery_pack"] == 1.0
    assert max(factors) >= 1.5  # 1 + 1.0 * depth 0.5
    assert min(factors) >= 1.0


def test_orders_follow_the_plant_not_an_endless_order_book() -> None:
    """A plan far above what the plant builds does not pile up parts or kits."""
    s = Supply(supply_cfg(), VARIANTS, MONTHS, np.random.SeedSequence(2))
    plan = np.array([200_000, 100_000])  # a huge order book
    expected = np.array([[6000, 3000]])  # next month's expected orders
    for t in range(18):
        kits, _ = s.receive(t, plan, expected, np.ones(2))
        used = np.minimum(kits.count, np.array([3000, 2000]))
        s.consume(used)
        s.note_capacity(5000.0)
    assert s.state.kit_stock.sum() < 15_000
    assert sum(int(x.sum()) for x in s.state.on_hand) < 30_000


def test_same_seed_same_supply() -> None:
    cfg = _with_chip_shortage(4.0, (0.2, 0.6))
    _, a, _ = drive(cfg, np.array([12000, 6000]), seed=11)
    _, b, _ = drive(cfg, np.array([12000, 6000]), seed=11)
    _, c, _ = drive(cfg, np.array([12000, 6000]), seed=12)
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
    assert any((x != y).any() for x, y in zip(a, c, strict=True))


def test_episodes_start_at_the_stated_rate_with_depths_in_range() -> None:
    cfg = Episodes(per_year=3.0, depth_min=0.2, depth_max=0.4, duration_months=1)
    rng = np.random.default_rng(0)
    state, starts, depths = EpisodeState(), 0, []
    for _ in range(12 * 400):
        state, depth, started = step_episodes(cfg, state, rng)
        starts += started
        if started:
            depths.append(depth)  # one-month episodes never overlap
        else:
            assert depth == 0.0
    assert starts / 400 == pytest.approx(12 * -np.expm1(-3.0 / 12), rel=0.1)
    assert 0.2 <= min(depths) < 0.22 and 0.38 < max(depths) <= 0.4


def test_episodes_last_the_stated_time_on_average() -> None:
    cfg = Episodes(per_year=0.3, depth_min=1.0, depth_max=1.0, duration_months=5)
    rng = np.random.default_rng(1)
    state, runs, length = EpisodeState(), [], 0
    for _ in range(12 * 3000):
        state, depth, _ = step_episodes(cfg, state, rng)
        if depth > 0:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    assert np.mean(runs) == pytest.approx(5.0, rel=0.1)  # overlaps are rare at 0.3 a year
    assert min(runs) >= 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"allocation": "first_come"}, "allocation"),
        ({"components": []}, "components"),
        ({"max_capacity_growth_per_month": -0.1}, "max_capacity_growth_per_month"),
        ({"componets": []}, "componets"),
    ],
)
def test_bad_supply_values_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        supply_cfg(**change)
    assert any(field in str(e["loc"]) for e in err.value.errors())


@pytest.mark.parametrize(
    ("component", "supplier", "field"),
    [
        ({}, {"capacity_per_month": -1}, "capacity_per_month"),
        ({}, {"lead_time_months": 30}, "lead_time_months"),
        ({}, {"capacity_per_month": {"2024-1": 100}}, "capacity_per_month"),
        ({"safety_stock_weeks": -1}, {}, "safety_stock_weeks"),
        ({"shortage": {"depth_min": 0.5, "depth_max": 0.2}}, {}, "shortage"),
        ({"shortage": {"per_year": 2, "depth": 0.5}}, {}, "depth"),
        ({"name": "chip set"}, {}, "name"),
    ],
)
def test_bad_component_values_are_named(
    component: dict[str, Any], supplier: dict[str, Any], field: str
) -> None:
    data = supply_cfg().model_dump()
    data["components"][0].update(component)
    data["components"][0]["suppliers"][0].update(supplier)
    with pytest.raises(ValidationError) as err:
        SupplyConfig.model_validate(data)
    assert any(field in str(e["loc"]) for e in err.value.errors()), err.value.errors()


def test_a_part_fitted_at_a_station_leaves_the_kit_and_keeps_its_instants() -> None:
    # the same seed, chips in the kit or fitted at a station: the same kits, and a kit's
    # instant (its last part) is the later of its other parts and its chip set, rank by
    # rank; fitted at a station, the chips' instants come apart from the kit's
    plan = np.array([8000, 4000])
    # chips without safety stock, in two deliveries a month: often a kit's last part
    data = supply_cfg().model_dump()
    data["components"][0]["safety_stock_weeks"] = 0
    data["components"][0]["suppliers"][0]["deliveries_per_month"] = 2
    in_kit = Supply(SupplyConfig.model_validate(data), VARIANTS, MONTHS, np.random.SeedSequence(9))
    data["components"][0]["station"] = "general-assembly/trim-2"
    cfg = SupplyConfig.model_validate(data)
    fitted = Supply(cfg, VARIANTS, MONTHS, np.random.SeedSequence(9))
    earlier = False
    for t in range(4):
        a, _ = in_kit.receive(t, plan, np.tile(plan, (1, 1)), np.ones(2))
        b, _ = fitted.receive(t, plan, np.tile(plan, (1, 1)), np.ones(2))
        earlier |= bool((np.concatenate(b.arrival_frac) < np.concatenate(a.arrival_frac)).any())
        assert np.array_equal(a.count, b.count)
        assert set(b.at_station) == {"chip"} and a.at_station == {}
        for v in range(2):
            chips = b.at_station["chip"][v]
            assert chips.size == b.count[v] and np.all(np.diff(chips) >= 0)
            assert np.array_equal(a.arrival_frac[v], np.maximum(b.arrival_frac[v], chips))
        # some kits are held over: their chips are there at the month's start
        in_kit.consume(a.count // 2)
        fitted.consume(b.count // 2)
    assert earlier  # cars start before their chips come


def test_a_station_is_given_as_shop_and_station() -> None:
    data = supply_cfg().model_dump()
    data["components"][0]["station"] = "trim-2"
    with pytest.raises(ValueError, match="station"):
        SupplyConfig.model_validate(data)


def test_a_supplier_naming_a_variant_twice_is_refused_in_one_line(tmp_path: Path) -> None:
    # found by the fuzzer: [SU7, SU7] was accepted, and the second name silently dropped
    from evplant.errors import EvplantError
    from evplant.scenario.load import prepare

    data = prepare("beijing-etown").data
    supplier = data["venture"]["supply"]["components"][1]["suppliers"][1]
    supplier["variants"] = [*supplier["variants"], supplier["variants"][0]]
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(EvplantError) as caught:
        prepare(path, [])
    (problem,) = caught.value.problems
    text = str(problem)
    assert "\n" not in text and text.startswith(str(path))
    assert "suppliers" in text and "variants must be distinct" in text
