"""Market: segments, the choice model against rivals, launches, exports and their risks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from evplant.venture.common import month_number
from evplant.venture.market import Market, MarketConfig

VARIANTS = ["SU7", "YU7"]
JAN24 = month_number("2024-01")


def market_data() -> dict[str, Any]:
    return {
        "price_sensitivity_per_10k_cny": 0.12,
        "wait_sensitivity_per_week": 0.02,
        "demand_cv": 0.1,
        "segments": {
            "sedan": {
                "buyers_per_year": 1_200_000,
                "base_month": "2024-01",
                "growth_per_year": 0.05,
                "reference_price_cny": 240_000,
                "rivals": {
                    "tesla": {"price_cny": 231_900, "appeal": -1.6},
                    "xpeng": {"price_cny": 209_800, "appeal": -2.9},
                },
            },
            "suv": {
                "buyers_per_year": 1_500_000,
                "base_month": "2024-01",
                "reference_price_cny": 260_000,
                "rivals": {"tesla": {"price_cny": 263_500, "appeal": -0.6}},
            },
        },
        "variants": {
            "SU7": {"segment": "sedan", "price_cny": 248_600, "launch_month": "2024-04"},
            "YU7": {"segment": "suv", "price_cny": 270_000, "launch_month": "2025-07"},
        },
        "exports": [
            {
                "name": "europe",
                "enabled": True,
                "start_month": "2024-06",
                "orders_per_month": {"SU7": 1000, "YU7": 2000},
                "ramp_months": 6,
                "tariff": 0.3,
                "tariff_elasticity": 1.5,
            }
        ],
    }


def market(data: dict[str, Any] | None = None, months: int = 36, seed: int = 0) -> Market:
    cfg = MarketConfig.model_validate(data or market_data())
    return Market(cfg, VARIANTS, JAN24 + np.arange(months), np.random.SeedSequence(seed))


NO_WAIT = np.zeros(2)


def test_shares_are_a_proper_split_of_each_segment() -> None:
    m = market()
    mine, rivals = m.choice(JAN24 + 20, NO_WAIT)
    assert (mine > 0).all()
    assert (rivals >= 0).all()
    assert mine[0] + rivals[0].sum() < 1.0  # the rest of the sedan band keeps a share
    assert rivals[1, m.rivals.index("xpeng")] == 0.0  # Xpeng offers no SUV here


def test_a_variant_sells_only_from_its_launch_month() -> None:
    m = market()
    before = m.expected_demand(month_number("2025-06"), NO_WAIT)
    after = m.expected_demand(month_number("2025-07"), NO_WAIT)
    assert before[1] == 0.0 and after[1] > 1000
    assert m.expected_demand(month_number("2024-03"), NO_WAIT)[0] == 0.0


def test_a_lower_price_wins_share_and_a_cheaper_rival_takes_it() -> None:
    base = market()
    month = month_number("2025-09")
    share = base.choice(month, NO_WAIT)[0][0]

    cheaper = market_data()
    cheaper["variants"]["SU7"]["price_cny"] = 228_600
    assert market(cheaper).choice(month, NO_WAIT)[0][0] > share

    rival_cut = market_data()
    rival_cut["segments"]["sedan"]["rivals"]["tesla"]["price_cny"] = 200_000
    assert market(rival_cut).choice(month, NO_WAIT)[0][0] < share


def test_a_long_wait_costs_orders() -> None:
    m = market()
    month = month_number("2025-09")
    quick = m.expected_demand(month, np.array([2.0, 2.0]))
    slow = m.expected_demand(month, np.array([30.0, 2.0]))
    assert slow[0] < 0.7 * quick[0]
    assert slow[1] == quick[1]


def test_segments_grow_and_seasons_average_out() -> None:
    data = market_data()
    data["seasonality"] = [0.8, 0.6, 1, 1, 1, 1, 1, 1, 1, 1.1, 1.2, 1.5]
    m = market(data)
    assert m.season.mean() == pytest.approx(1.0)
    year1 = sum(m.buyers(JAN24 + k)[0] for k in range(12))
    year3 = sum(m.buyers(JAN24 + 24 + k)[0] for k in range(12))
    growth = 1.05 ** (np.arange(12) / 12)
    assert year1 == pytest.approx(100_000 * (growth * m.season).sum(), rel=1e-12)
    flat = market()  # the same year without seasons: the seasons only move sales around
    assert sum(flat.buyers(JAN24 + k)[0] for k in range(12)) == pytest.approx(year1, rel=0.01)
    assert year3 / year1 == pytest.approx(1.05**2)


def test_drawn_demand_averages_to_the_expected_demand() -> None:
    m = market(months=36)
    month = int(m.months[30])
    expected = m.expected_demand(month, NO_WAIT)
    draws = []
    for seed in range(200):
        mm = market(months=36, seed=seed)
        draws.append(mm.step(30, NO_WAIT).demand)
    assert np.mean(draws, axis=0) == pytest.approx(expected, rel=0.03)
    assert np.std(np.array(draws)[:, 0]) / expected[0] == pytest.approx(0.1, rel=0.25)


def test_exports_ramp_up_and_a_tariff_cuts_them() -> None:
    m = market()
    start = month_number("2024-06")
    assert m.expected_exports(start - 1).sum() == 0
    first, full = m.expected_exports(start), m.expected_exports(start + 5)
    assert first[0] == pytest.approx(full[0] / 6)
    assert full[0] == pytest.approx(1000 * 1.3**-1.5)
    assert full[1] == 0.0  # the YU7 is not launched yet

    off = market_data()
    off["exports"][0]["enabled"] = False
    assert market(off).expected_exports(start + 5).sum() == 0

    high = market_data()
    high["exports"][0]["tariff"] = 1.0
    assert market(high).expected_exports(start + 5)[0] < full[0]


def test_political_risk_closes_export_markets_for_a_while() -> None:
    data = market_data()
    data["exports"][0]["political_risk"] = {
        "per_year": 4,
        "depth_min": 1.0,
        "depth_max": 1.0,
        "duration_months": 2,
    }
    m = market(data, months=36)
    orders = [m.step(t, NO_WAIT).exports.sum() for t in range(36)]
    calm = market(months=36)
    calm_orders = [calm.step(t, NO_WAIT).exports.sum() for t in range(36)]
    after_start = slice(6, 36)
    assert min(orders[after_start]) == 0
    assert min(calm_orders[after_start]) > 0
    assert sum(orders) < sum(calm_orders)


def test_same_seed_same_market() -> None:
    ma, mb, mc = market(seed=4), market(seed=4), market(seed=5)
    a = [ma.step(t, NO_WAIT).demand.tolist() for t in range(24)]
    b = [mb.step(t, NO_WAIT).demand.tolist() for t in range(24)]
    c = [mc.step(t, NO_WAIT).demand.tolist() for t in range(24)]
    assert a == b and a != c


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("variants", "SU7", "segment"), "hatchback", ("variants", "SU7", "segment")),
        (("variants", "SU7", "launch_month"), "2024-4", ("variants", "SU7", "launch_month")),
        (("variants", "SU7", "price_cny"), 0, ("variants", "SU7", "price_cny")),
        (("segments", "suv", "growth_per_year"), 3, ("segments", "suv", "growth_per_year")),
        (("segments", "suv", "rivals", "tesla", "colour"), "red", ("colour",)),
        (("seasonality",), [1.0] * 11, ("seasonality",)),
        (("demand_cv",), -0.1, ("demand_cv",)),
        (("exports", 0, "orders_per_month", "SU9"), 10, ("exports", 0, "orders_per_month", "SU9")),
        (("exports", 0, "tariff"), -0.1, ("exports", 0, "tariff")),
    ],
)
def test_bad_market_values_are_named(
    path: tuple[Any, ...], value: Any, field: tuple[Any, ...]
) -> None:
    data = market_data()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationError) as err:
        MarketConfig.model_validate(data)
    locs = [tuple(e["loc"]) for e in err.value.errors()]
    assert any(loc[: len(field)] == field or loc[-len(field) :] == field for loc in locs), locs


def test_brand_appeal_adds_to_every_variants_appeal() -> None:
    """The brand's pull is one utility added to each model: the same shares as adding it
    to each variant's own appeal."""
    from evplant.scenario import load_scenario
    from evplant.venture.market import Market

    base, _ = load_scenario("beijing-etown-2023")
    assert base.venture is not None
    cfg = base.venture.market
    months = np.arange(0, 24)
    seed = np.random.SeedSequence(1)
    branded = Market(cfg.model_copy(update={"brand_appeal": 0.7}), list(cfg.variants), months,
                     seed)
    shifted = cfg.model_copy(update={"variants": {
        k: v.model_copy(update={"appeal": v.appeal + 0.7}) for k, v in cfg.variants.items()}})
    each = Market(shifted, list(cfg.variants), months, seed)
    for month in (5, 20):
        a, ra = branded.choice(month, np.zeros(2))
        b, rb = each.choice(month, np.zeros(2))
        np.testing.assert_allclose(a, b)
        np.testing.assert_allclose(ra, rb)
    plain = Market(cfg, list(cfg.variants), months, seed)
    assert (branded.choice(20, np.zeros(2))[0] > plain.choice(20, np.zeros(2))[0]).all()
