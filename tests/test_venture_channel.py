"""Channel: stores, the order book, oldest-first deliveries, waits and cancellations."""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy import stats

from evplant.months import month_number
from evplant.venture.channel import Channel, ChannelConfig, deliver
from evplant.venture.common import WEEKS_PER_MONTH, split_int

MONTHS = np.arange(36) + month_number("2024-01")
BUILTIN = resources.files("evplant.scenario") / "builtin"


def channel(n_exports: int = 1, seed: int = 0, **overrides: Any) -> Channel:
    data: dict[str, Any] = {
        "stores": {"2024-01": 10, "2025-01": 40},
        "orders_per_store_per_month": 150,
        "target_stock_weeks": 2,
        "patience": {"scale_weeks": 30, "shape": 2.0},
    }
    data.update(overrides)
    return Channel(
        ChannelConfig.model_validate(data), 2, n_exports, MONTHS, np.random.SeedSequence(seed)
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4000),
            st.integers(0, 4000),
            st.integers(0, 3000),
            st.integers(0, 3000),
            st.integers(0, 500),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(0, 2**16),
)
def test_orders_and_cars_are_conserved(months: list[tuple[int, ...]], seed: int) -> None:
    ch = channel(seed=seed)
    orders = delivered = cancelled = built = np.zeros(2, dtype=np.int64)
    for t, (d0, d1, p0, p1, e) in enumerate(months):
        out = ch.step(t, np.array([p0, p1]), np.array([d0, d1]), np.array([[e, e]]))
        orders = orders + out.orders.sum(axis=0)
        delivered = delivered + out.delivered.sum(axis=0)
        cancelled = cancelled + out.cancelled
        built = built + np.array([p0, p1])
        assert (out.orders_domestic + out.turned_away == np.array([d0, d1])).all()
        assert out.orders_domestic.sum() <= out.sales_capacity
        assert (out.backlog >= 0).all() and (out.stock >= 0).all()
        # a car sits in stock only when no order is waiting for it
        assert not ((out.stock > 0) & (out.backlog > 0)).any()
    assert (orders == delivered + ch.open_orders() + cancelled).all()
    assert (built == delivered + ch.stock).all()


def test_stores_cap_the_orders_taken() -> None:
    ch = channel()
    out = ch.step(0, np.zeros(2), np.array([3000, 1000]), np.zeros((1, 2)))
    assert out.stores == 10 and out.sales_capacity == 1500
    assert out.orders_domestic.sum() == 1500
    assert out.orders_domestic.tolist() == [1125, 375]  # shared in proportion to buyers
    assert out.turned_away.sum() == 2500
    assert channel().stores[12] == 40 and channel().stores[6] == round(10 + 30 * 6 / 12)


def test_more_stores_sell_more_when_buyers_are_there() -> None:
    def sold(stores: float) -> int:
        ch = channel(stores=stores)
        total = 0
        for t in range(12):
            out = ch.step(t, np.array([5000, 5000]), np.array([8000, 8000]), np.zeros((1, 2)))
            total += int(out.delivered.sum())
        return total

    assert sold(20) < sold(40) < sold(80)
    assert sold(200) == sold(400)  # once stores take every buyer, more stores add nothing


def test_oldest_orders_are_delivered_first() -> None:
    ch = channel(n_exports=1)
    ch.step(0, np.zeros(2), np.array([100, 0]), np.array([[0, 0]]))  # 100 domestic, age 0
    out = ch.step(1, np.array([100, 0]), np.array([50, 0]), np.array([[50, 0]]))
    older = 100 - int(out.cancelled[0])  # last month's orders still waiting
    assert out.delivered[:, 0].sum() == 100
    assert ch.backlog[:, 0, 1:].sum() == 0  # every older order was served first
    # the cars left over went to this month's orders, shared across China and abroad
    new_home, new_abroad = out.delivered[0, 0] - older, out.delivered[1, 0]
    assert new_home + new_abroad == 100 - older and abs(new_home - new_abroad) <= 1


def test_the_quoted_wait_is_the_backlog_over_the_delivery_rate() -> None:
    ch = channel(stores=1000, patience={"scale_weeks": 10_000, "shape": 1.0})
    for t in range(3):
        out = ch.step(t, np.array([1000, 0]), np.array([3000, 0]), np.zeros((1, 2)))
    # 9,000 ordered, 3,000 delivered at 1,000 a month
    assert out.backlog[0] == pytest.approx(6000, abs=10)
    assert out.wait_weeks[0] == pytest.approx(out.backlog[0] / 1000 * WEEKS_PER_MONTH)
    assert out.wait_weeks[1] == 0.0
    stuck = channel(stores=1000)
    out = stuck.step(0, np.zeros(2), np.array([10, 0]), np.zeros((1, 2)))
    assert out.wait_weeks[0] == stuck.cfg.max_wait_weeks  # orders and no cars at all


def quoted_waits(history: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 cap: float) -> tuple[np.ndarray, float]:
    """The quoted waits after the months in ``history`` ((orders, delivered, backlog)
    per variant each month), written out: a variant's delivery rate is the mean of its
    deliveries over the last three months, or over the months since its first orders
    if fewer; the plant's over the longest of those spans; wait = backlog / rate in
    weeks, 0 with nothing waiting, the cap when nothing was delivered."""
    t = len(history) - 1
    orders = np.array([h[0] for h in history])
    delivered = np.array([h[1] for h in history])
    backlog = history[-1][2]

    def wait(waiting: float, rate: float) -> float:
        if waiting <= 0:
            return 0.0
        return cap if rate <= 0 else min(cap, waiting / rate * WEEKS_PER_MONTH)

    spans = []
    for v in range(backlog.size):
        ordered = np.flatnonzero(orders[:, v] > 0)
        spans.append(min(3, t - int(ordered[0]) + 1) if ordered.size else 1)
    per_variant = np.array([
        wait(backlog[v], delivered[t - spans[v] + 1 : t + 1, v].sum() / spans[v])
        for v in range(backlog.size)
    ])
    span = max(spans)
    total = wait(backlog.sum(), delivered[t - span + 1 : t + 1].sum() / span)
    return per_variant, total


def _schedules() -> list[tuple[np.ndarray, np.ndarray]]:
    """(orders, cars built) a month per variant: one written by hand (a variant's one
    month of orders, then none for a while; the first month of orders delivered in
    part; a backlog of one; the other variant launched later), and small random ones."""
    hand_orders = np.zeros((14, 2), dtype=np.int64)
    hand_built = np.zeros((14, 2), dtype=np.int64)
    hand_orders[1, 0], hand_orders[6, 0], hand_orders[5, 1], hand_orders[9, 1] = 3, 2, 3, 4
    hand_built[1, 0], hand_built[3, 0], hand_built[7, 0] = 1, 1, 2
    hand_built[5, 1], hand_built[10, 1], hand_built[12, 1] = 1, 2, 1
    out = [(hand_orders, hand_built)]
    for seed in range(3):
        rng = np.random.default_rng(seed)
        launched = np.array([[t >= 1, t >= 5] for t in range(14)])
        orders = rng.integers(0, 3, (14, 2)) * (rng.random((14, 2)) < 0.4) * launched
        out.append((orders, rng.integers(0, 3, (14, 2)) * (rng.random((14, 2)) < 0.5)))
    return out


@pytest.mark.parametrize("schedule", range(4))
def test_the_quoted_wait_follows_its_rule_month_by_month(schedule: int) -> None:
    """Rates under one car a month, a backlog of one, a variant launched later than the
    other, nobody quitting."""
    orders, built = _schedules()[schedule]
    ch = channel(n_exports=0, patience={"scale_weeks": 1e9, "shape": 1.0}, max_wait_weeks=60)
    history: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for t in range(len(orders)):
        out = ch.step(t, built[t], orders[t], np.zeros((0, 2)))
        history.append((out.orders.sum(axis=0), out.delivered.sum(axis=0), out.backlog))
        want, total = quoted_waits(history, 60.0)
        np.testing.assert_allclose(out.wait_weeks, want, rtol=1e-12, err_msg=f"month {t}")
        assert out.wait_weeks_total == pytest.approx(total, rel=1e-12), t


def test_cancellations_grow_as_waits_grow() -> None:
    ch = channel()
    assert ch.quit_chance[0] == 0.0
    assert np.all(np.diff(ch.quit_chance[1:12]) > 0)  # Weibull shape 2: impatience grows

    def cancelled_share(production: int) -> float:
        c = channel(stores=1000, seed=3)
        ordered = cancelled = 0
        for t in range(12):
            out = c.step(t, np.array([production, 0]), np.array([2000, 0]), np.zeros((1, 2)))
            ordered += int(out.orders.sum())
            cancelled += int(out.cancelled.sum())
        return cancelled / ordered

    assert cancelled_share(500) > 2 * cancelled_share(1900) > 0


@pytest.mark.parametrize(("scale", "shape"), [(30.0, 2.0), (40.0, 2.0), (12.0, 0.7), (90.0, 3.5)])
def test_the_chance_to_quit_at_each_age_is_the_patience_laws(scale: float, shape: float) -> None:
    """An order waiting into its ``a``-th month quits with the chance that patience ends
    between ``(a - 1) w`` and ``a w`` weeks, given it lasted to ``(a - 1) w``: scipy's
    Weibull as the reference, at every age tracked."""
    law = stats.weibull_min(shape, scale=scale)
    ch = channel(patience={"scale_weeks": scale, "shape": shape})
    ages = np.arange(1, ch.quit_chance.size)
    w = WEEKS_PER_MONTH
    want = 1.0 - law.sf(ages * w) / law.sf((ages - 1) * w)
    assert ch.quit_chance[0] == 0.0  # an order taken this month has not waited yet
    np.testing.assert_allclose(ch.quit_chance[1:], want, rtol=1e-9)
    # a month-1 order quits with the chance its patience is under one month
    assert ch.quit_chance[1] == pytest.approx(law.cdf(w), rel=1e-12)


def test_the_built_in_buyers_quit_as_the_scenario_says() -> None:
    """The scenario's comment on its patience law, ``~1% quit in the first month, ~35%
    by six months of waiting``, is what the channel does with it."""
    data = yaml.safe_load((BUILTIN / "beijing-etown.yaml").read_text(encoding="utf-8"))
    patience = data["venture"]["channel"]["patience"]
    ch = channel(patience=patience)
    assert 0.005 < ch.quit_chance[1] < 0.015
    still_waiting = np.prod(1.0 - ch.quit_chance[1:7])  # survived months 1 to 6
    assert 0.30 < 1.0 - still_waiting < 0.40


def test_a_cohort_of_orders_quits_month_by_month_as_its_patience_runs_out() -> None:
    """One month's orders and no cars: the orders still waiting after ``a`` months are
    a binomial thinning of the cohort with the law's survival ``S(a w)``."""
    n, scale, shape = 100_000, 30.0, 2.0
    law = stats.weibull_min(shape, scale=scale)
    ch = channel(stores=1000, seed=4, patience={"scale_weeks": scale, "shape": shape})
    ch.step(0, np.zeros(2), np.array([n, 0]), np.zeros((1, 2)))
    cancelled = 0
    for a in range(1, 9):
        out = ch.step(a, np.zeros(2), np.zeros(2), np.zeros((1, 2)))
        cancelled += int(out.cancelled[0])
        p = law.sf(a * WEEKS_PER_MONTH)
        assert abs(int(out.backlog[0]) - n * p) < 5 * np.sqrt(n * p * (1 - p)) + 1, a
        assert int(out.backlog[0]) + cancelled == n


def test_the_cancellations_stream_is_the_seeds_child_zero() -> None:
    """The channel draws its cancellations from its seed's child 0 (``evplant.seeds``),
    so another seed cancels other orders."""
    seed = np.random.SeedSequence(9, spawn_key=(1, 2))
    ch = Channel(ChannelConfig.model_validate({
        "stores": 10, "orders_per_store_per_month": 150,
        "patience": {"scale_weeks": 30, "shape": 2.0}}), 2, 0, MONTHS, seed)
    kid = np.random.default_rng(np.random.SeedSequence(9, spawn_key=(1, 2, 0)))
    assert ch.rng.random(4).tolist() == kid.random(4).tolist()


def test_target_stock_is_weeks_of_forecast_orders() -> None:
    ch = channel(target_stock_weeks=WEEKS_PER_MONTH / 2)
    stock = ch.target_stock(np.array([1000.0, 0.0, 0.2]))
    assert stock.tolist() == [500, 0, 1] and stock.dtype == np.int64  # whole cars, up


def test_orders_older_than_the_ages_tracked_wait_in_the_last_one() -> None:
    """Patient buyers and no cars for five years: orders outlive the 48 months of age
    tracked and stay in the book, in its oldest bucket, to be served first."""
    months = 62
    ch = Channel(
        ChannelConfig.model_validate({
            "stores": 10, "orders_per_store_per_month": 150,
            "patience": {"scale_weeks": 1e9, "shape": 1.0},  # nobody quits
        }),
        2, 0, np.arange(months), np.random.SeedSequence(1),
    )
    for t in range(months - 1):
        out = ch.step(t, np.zeros(2), np.array([100 if t < 3 else 0, 0]), np.zeros((0, 2)))
        assert out.cancelled.sum() == 0 and ch.open_orders()[0] == 100 * min(t + 1, 3)
    oldest = ch.backlog.shape[2] - 1
    assert ch.backlog[0, 0, oldest] == 300  # all three months' orders, none lost
    out = ch.step(months - 1, np.array([250, 0]), np.zeros(2), np.zeros((0, 2)))
    assert out.delivered[0, 0] == 250 and ch.backlog[0, 0, oldest] == 50


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"orders_per_store_per_month": 0}, "orders_per_store_per_month"),
        ({"stores": {"2024-01": -5}}, "stores"),
        ({"stores": {"Jan 2024": 5}}, "stores"),
        ({"patience": {"scale_weeks": 0, "shape": 2}}, "scale_weeks"),
        ({"patience": {"scale_weeks": 30}}, "shape"),
        ({"target_stock_weeks": 60}, "target_stock_weeks"),
        ({"store_count": 4}, "store_count"),
    ],
)
def test_bad_channel_values_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        channel(**change)
    assert any(field in str(e["loc"]) for e in err.value.errors()), err.value.errors()


def _deliver_loop(book: np.ndarray, free: int) -> np.ndarray:
    """Delivery as first written: age by age, oldest first (the reference)."""
    delivered = np.zeros(book.shape[0], dtype=np.int64)
    for age in range(book.shape[1] - 1, -1, -1):
        if free == 0:
            break
        cohort = book[:, age]
        take = cohort.copy() if cohort.sum() <= free else split_int(free, cohort)
        book[:, age] -= take
        delivered += take
        free -= int(take.sum())
    return delivered


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 48),
    st.integers(0, 5000),
    st.sampled_from([0.0, 0.3, 0.8]),
    st.integers(0, 2**32 - 1),
)
def test_delivery_is_the_age_by_age_loop(
    markets: int, ages: int, free: int, empty: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    book = rng.integers(0, 300, (markets, ages)) * (rng.random((markets, ages)) >= empty)
    expected_book = book.copy()
    expected = _deliver_loop(expected_book, free)
    got = deliver(book, free)
    assert np.array_equal(got, expected)
    assert np.array_equal(book, expected_book)
