"""Kit instants counted per delivery (run-length) are the instants the straightforward
version computed unit by unit; the level order by integer arithmetic is the one a
stable sort of the keys gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from evplant.venture.common import level_order, level_positions, split_int
from evplant.venture.supply import Instants, instants_by_variant, unit_instants


def sorted_level_order(counts: np.ndarray) -> np.ndarray:
    """level_order as first written: a stable sort of every unit's key (the reference)."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    ids = np.repeat(np.arange(counts.size), counts)
    pos = np.concatenate([(np.arange(c) + 0.5) / c for c in counts if c > 0])
    return ids[np.argsort(pos, kind="stable")]


def explicit_unit_instants(
    on_hand: np.ndarray, arrived: np.ndarray, deliveries: np.ndarray, phases: np.ndarray
) -> list[np.ndarray]:
    """Every unit's instant, unit by unit (the reference)."""
    out = []
    for s in range(arrived.size):
        batches = (np.arange(deliveries[s]) + phases[s]) / deliveries[s]
        units = split_int(int(arrived[s]), np.ones(int(deliveries[s])))
        out.append(np.concatenate([np.zeros(int(on_hand[s])), np.repeat(batches, units)]))
    return out


def explicit_instants_by_variant(times: list[np.ndarray], given: np.ndarray) -> list[np.ndarray]:
    """Each supplier's earliest units dealt out in level order, then merged and sorted
    per variant, unit by unit (the reference)."""
    n_s, n_v = given.shape
    parts: list[list[np.ndarray]] = [[] for _ in range(n_v)]
    for s in range(n_s):
        used = int(given[s].sum())
        if used == 0:
            continue
        who = sorted_level_order(given[s])
        first = times[s][:used]
        for v in range(n_v):
            parts[v].append(first[who == v])
    return [np.sort(np.concatenate(ps)) if ps else np.zeros(0) for ps in parts]


counts_lists = st.lists(
    st.one_of(st.integers(0, 5), st.integers(0, 400), st.integers(0, 30_000)),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(counts_lists)
def test_level_order_is_the_stable_sort_of_the_keys(counts: list[int]) -> None:
    c = np.array(counts, dtype=np.int64)
    expected = sorted_level_order(c)
    assert np.array_equal(level_order(c), expected)
    for v, at in enumerate(level_positions(c)):
        assert np.array_equal(at, np.flatnonzero(expected == v))


def test_level_order_ties_go_to_the_lower_index() -> None:
    assert level_order(np.array([2, 2])).tolist() == [0, 1, 0, 1]
    assert level_order(np.array([3, 1])).tolist() == [0, 0, 1, 0]
    assert level_order(np.array([0, 3, 0])).tolist() == [1, 1, 1]


@st.composite
def supply_months(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """Stocks, arrivals, deliveries and phases per supplier, and what each supplier
    gives each variant (never more than it has)."""
    n_s = draw(st.integers(1, 4))
    n_v = draw(st.integers(1, 4))
    upto = draw(st.sampled_from([5, 300, 60_000]))
    on_hand = np.array(draw(st.lists(st.integers(0, upto), min_size=n_s, max_size=n_s)))
    arrived = np.array(draw(st.lists(st.integers(0, upto), min_size=n_s, max_size=n_s)))
    deliveries = np.array(draw(st.lists(st.integers(1, 70), min_size=n_s, max_size=n_s)))
    phases = np.array(
        draw(st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=n_s, max_size=n_s))
    )
    given = np.zeros((n_s, n_v), dtype=np.int64)
    for s in range(n_s):
        have = int(on_hand[s] + arrived[s])
        take = draw(st.integers(0, have))
        weights = np.array(draw(st.lists(st.integers(0, 5), min_size=n_v, max_size=n_v)))
        given[s] = split_int(take, weights) if weights.sum() else 0
    return on_hand, arrived, deliveries, phases, given


@settings(max_examples=300, deadline=None)
@given(supply_months(), st.integers(1, 4))
def test_instants_per_delivery_are_the_unit_by_unit_ones(
    case: tuple[np.ndarray, ...], usage: int
) -> None:
    on_hand, arrived, deliveries, phases, given_units = case
    times = unit_instants(on_hand, arrived, deliveries, phases)
    explicit = explicit_unit_instants(on_hand, arrived, deliveries, phases)
    for rle, units in zip(times, explicit, strict=True):
        assert np.array_equal(rle.expand(), units)
    got = instants_by_variant(times, given_units)
    expected = explicit_instants_by_variant(explicit, given_units)
    for rle, units in zip(got, expected, strict=True):
        assert np.array_equal(rle.expand(), units)
        assert np.array_equal(rle.every(usage), units[usage - 1 :: usage])


def test_every_kit_is_complete_at_its_last_unit() -> None:
    units = Instants(np.array([0.0, 0.25, 0.5]), np.array([3, 0, 4], dtype=np.int64))
    assert units.expand().tolist() == [0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5]
    assert units.every(2).tolist() == [0.0, 0.5, 0.5]
    assert units.every(1).tolist() == units.expand().tolist()
