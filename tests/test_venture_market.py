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


# -- the model written out: closed forms the code does not share ----------------------


def moving_data() -> dict[str, Any]:
    """The test market with every trend switched on and a base month a year and a half
    before the horizon, so that years counted from the wrong month show."""
    data = market_data()
    sedan = data["segments"]["sedan"]
    sedan.update(base_month="2022-07", price_change_per_year=-0.04)
    sedan["rivals"]["tesla"]["price_change_per_year"] = -0.08
    sedan["rivals"]["xpeng"]["price_change_per_year"] = 0.03
    data["segments"]["suv"].update(base_month="2023-03", growth_per_year=0.2)
    data["variants"]["SU7"]["price_change_per_year"] = -0.06
    data["variants"]["YU7"]["price_change_per_year"] = 0.02
    return data


def test_prices_move_from_launch_and_from_the_base_month() -> None:
    m = market(moving_data())
    launch = month_number("2024-04")
    assert m.price_cny(launch)[0] == 248_600  # no trend before the first month on sale
    assert m.price_cny(launch - 3)[0] == 248_600
    assert m.price_cny(launch + 30)[0] == pytest.approx(248_600 * 0.94**2.5, rel=1e-12)
    yu7 = month_number("2025-07")
    assert m.price_cny(yu7 - 1)[1] == m.price_cny(yu7)[1] == 270_000
    assert m.price_cny(yu7 + 18)[1] == pytest.approx(270_000 * 1.02**1.5, rel=1e-12)


def test_the_choice_is_the_logit_written_out() -> None:
    data = moving_data()
    m = market(data)
    beta = 0.12 / 10_000
    wait = np.array([6.0, 11.0])
    for label in ("2024-09", "2026-02"):
        month = month_number(label)
        mine, rivals = m.choice(month, wait)
        for g, (name, seg) in enumerate(data["segments"].items()):
            years = (month - month_number(seg["base_month"])) / 12
            ref = seg["reference_price_cny"] * (1 + seg.get("price_change_per_year", 0)) ** years
            utility: dict[str, float] = {}
            for v, vm in data["variants"].items():
                if vm["segment"] == name and month >= month_number(vm["launch_month"]):
                    on_sale = (month - month_number(vm["launch_month"])) / 12
                    price = vm["price_cny"] * (1 + vm.get("price_change_per_year", 0)) ** on_sale
                    utility[v] = (vm.get("appeal", 0.0) - beta * (price - ref)
                                  - 0.02 * wait[VARIANTS.index(v)])
            for r, offer in seg["rivals"].items():
                price = offer["price_cny"] * (1 + offer.get("price_change_per_year", 0)) ** years
                utility[r] = offer["appeal"] - beta * (price - ref)
            denominator = 1.0 + sum(np.exp(u) for u in utility.values())  # the rest: e^0
            for v in VARIANTS:
                if v in utility:
                    assert mine[VARIANTS.index(v)] == pytest.approx(
                        np.exp(utility[v]) / denominator, rel=1e-12), (label, v)
                elif data["variants"][v]["segment"] == name:
                    assert mine[VARIANTS.index(v)] == 0.0
            for r in m.rivals:
                want = np.exp(utility[r]) / denominator if r in utility else 0.0
                assert rivals[g, m.rivals.index(r)] == pytest.approx(want, rel=1e-12), (label, r)


def test_softmax_is_scipys_even_where_exp_would_overflow() -> None:
    from scipy.special import softmax as scipy_softmax

    from evplant.venture.market import softmax

    for x in ([0.3, -1.2, 0.0], [400.0, 399.0, 0.0], [-800.0, -801.5, -799.0]):
        np.testing.assert_allclose(softmax(np.array(x)), scipy_softmax(np.array(x)),
                                   rtol=1e-14)


def test_buyers_grow_from_the_base_month_and_follow_the_seasons_given() -> None:
    data = moving_data()
    season = [0.8, 0.6, 1, 1, 1, 1, 1, 1, 1, 1.1, 1.2, 1.5]
    data["seasonality"] = season
    m = market(data)
    mean = sum(season) / 12
    for label in ("2024-02", "2025-10", "2026-12"):
        month = month_number(label)
        factor = season[int(label[5:]) - 1] / mean
        suv_years = (month - month_number("2023-03")) / 12
        assert m.buyers(month)[1] == pytest.approx(
            1_500_000 / 12 * 1.2**suv_years * factor, rel=1e-12)
        sedan_years = (month - month_number("2022-07")) / 12
        assert m.buyers(month)[0] == pytest.approx(
            1_200_000 / 12 * 1.05**sedan_years * factor, rel=1e-12)


def test_a_segment_without_rivals_is_the_venture_against_the_rest() -> None:
    data = market_data()
    data["segments"]["suv"]["rivals"] = {}
    m = market(data)
    month = month_number("2025-09")
    mine, rivals = m.choice(month, NO_WAIT)
    u = -0.12 / 10_000 * (270_000 - 260_000)
    assert mine[1] == pytest.approx(np.exp(u) / (1 + np.exp(u)), rel=1e-12)
    assert (rivals[1] == 0).all()


def test_exports_ramp_grow_and_lose_what_political_risk_closes() -> None:
    data = market_data()
    europe = data["exports"][0]
    europe.update(growth_per_year=0.1, orders_per_month={"SU7": 1000})  # none for the YU7
    data["exports"].append({**europe, "name": "gulf", "start_month": "2025-01",
                            "orders_per_month": {"SU7": 300, "YU7": 100}, "tariff": 0.0})
    m = market(data)
    start = month_number("2024-06")
    tariff = 1.3**-1.5
    for after in (0, 3, 5, 11, 30):
        month = start + after
        europe_su7 = 1000 * min(1.0, (after + 1) / 6) * 1.1 ** (after / 12) * tariff
        gulf = month_number("2025-01")
        gulf_on = month >= gulf
        ramp = min(1.0, (month - gulf + 1) / 6) if gulf_on else 0.0
        gulf_su7 = 300 * ramp * 1.1 ** ((month - gulf) / 12) if gulf_on else 0.0
        launched_yu7 = month >= month_number("2025-07")
        gulf_yu7 = 100 * ramp * 1.1 ** ((month - gulf) / 12) if gulf_on and launched_yu7 else 0.0
        got = m.expected_exports(month)
        assert got[0] == pytest.approx(europe_su7 + gulf_su7, rel=1e-12), after
        assert got[1] == pytest.approx(gulf_yu7, rel=1e-12), after
    # what political risk has closed today is lost, market by market
    month = start + 30
    europe_now = m.expected_exports(month)[0] - 300 * 1.1 ** ((month - gulf) / 12)
    m.closed[:] = [0.25, 0.5]
    got = m.expected_exports(month)
    assert got[0] == pytest.approx(0.75 * europe_now + 0.5 * 300 * 1.1 ** ((month - gulf) / 12))


def test_a_months_draws_round_the_expected_figures() -> None:
    """Without demand noise the month's buyers and export orders are the expected ones
    rounded down or up, and the shares it reports are the choice's, weighted by buyers."""
    data = moving_data()
    data["demand_cv"] = 0.0
    data["exports"][0]["political_risk"] = {"per_year": 6, "depth_min": 0.3, "depth_max": 0.6,
                                            "duration_months": 3}
    m = market(data, months=36, seed=2)
    wait = np.array([3.0, 9.0])
    closed_any = False
    for t in range(36):
        month = int(m.months[t])
        out = m.step(t, wait)
        demand = m.expected_demand(month, wait)
        assert (np.floor(demand) <= out.demand).all() and (out.demand <= np.ceil(demand)).all()
        assert out.demand.dtype == out.exports.dtype == np.int64  # whole orders
        exports = m.expected_exports(month)  # with this month's closures
        assert (np.floor(exports) <= out.exports[0]).all()
        assert (out.exports[0] <= np.ceil(exports)).all()
        closed_any |= bool(out.export_closed[0] > 0)
        buyers = m.buyers(month)
        mine, rivals = m.choice(month, wait)
        assert out.share_own == pytest.approx(
            (buyers[m.segment_of] * mine).sum() / buyers.sum(), rel=1e-12)
        for i, r in enumerate(m.rivals):
            assert out.share_rivals[r] == pytest.approx(buyers @ rivals[:, i] / buyers.sum(),
                                                        rel=1e-12)
    assert closed_any


def test_the_demand_shock_has_mean_one_and_the_stated_cv_per_variant() -> None:
    """The lognormal shock's mean is 1 and its cv ``demand_cv``, drawn apart for each
    variant: the ratio of drawn to expected demand over many months."""
    data = market_data()
    data["demand_cv"] = 0.8
    data["segments"]["sedan"]["growth_per_year"] = 0.0
    data["variants"]["YU7"]["launch_month"] = "2024-01"
    n = 4000
    m = market(data, months=n, seed=7)
    ratio = np.empty((n, 2))
    for t in range(n):
        out = m.step(t, NO_WAIT)
        expected = m.expected_demand(int(m.months[t]), NO_WAIT)
        ratio[t] = out.demand / np.where(expected > 0, expected, np.nan)
    ratio = ratio[3:]  # from the SU7's launch
    assert ratio.mean(axis=0) == pytest.approx([1.0, 1.0], abs=4 * 0.8 / np.sqrt(len(ratio)))
    assert ratio.std(axis=0) == pytest.approx([0.8, 0.8], rel=0.12)
    assert abs(np.corrcoef(ratio[:, 0], ratio[:, 1])[0, 1]) < 0.1


def test_the_streams_are_the_seeds_children_at_fixed_keys() -> None:
    """The buyers' stream is the market seed's child 0, export market k's risk stream its
    child (1, k) (``evplant.seeds``): another seed, other draws, in every stream."""
    seed = np.random.SeedSequence(5, spawn_key=(3,))
    m = Market(MarketConfig.model_validate(market_data()), VARIANTS, JAN24 + np.arange(12), seed)
    kid = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(3, 0)))
    assert m.rng.random(4).tolist() == kid.random(4).tolist()
    risk = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(3, 1, 0)))
    assert m.rng_risk[0].random(4).tolist() == risk.random(4).tolist()
