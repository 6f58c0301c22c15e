"""The plain-Python maximum flow finds the very flow scipy's Dinic finds, edge for edge,
so supply's assignment of units (and every run) is what it was with scipy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from evplant.venture.flow import Network, max_flow
from evplant.venture.supply import assign_units


def scipy_assign(stock: np.ndarray, fits: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Supply's assignment as it was written with scipy (the slow reference)."""
    n_s, n_v = fits.shape
    if demand.sum() == 0:
        return np.zeros((n_s, n_v), dtype=np.int64)
    if n_s == 1:
        return demand[None, :].astype(np.int64)
    src, sink = 0, n_s + n_v + 1
    big = int(stock.sum() + demand.sum() + 1)
    edges: list[tuple[int, int, int]] = []
    for s in range(n_s):
        edges.append((src, 1 + s, int(stock[s])))
        edges += [(1 + s, 1 + n_s + v, big) for v in range(n_v) if fits[s, v] and demand[v] > 0]
    edges += [(1 + n_s + v, sink, int(demand[v])) for v in range(n_v)]
    rows, cols, caps = (list(x) for x in zip(*edges, strict=True))
    graph = csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)), shape=(sink + 1, sink + 1))
    result = maximum_flow(graph, src, sink)
    assert result.flow_value == int(demand.sum())
    flow = result.flow.toarray()
    return np.asarray(np.maximum(flow[1 : 1 + n_s, 1 + n_s : 1 + n_s + n_v], 0).astype(np.int64))


@st.composite
def supply_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stocks, fits and a demand the stocks can meet (Gale's condition holds by
    construction: the demand is a flow drawn first)."""
    n_s = draw(st.integers(1, 5))
    n_v = draw(st.integers(1, 5))
    fits = np.array(draw(st.lists(st.booleans(), min_size=n_s * n_v, max_size=n_s * n_v)))
    fits = fits.reshape(n_s, n_v)
    fits[:, 0] |= ~fits.any(axis=1)  # every supplier fits something
    upto = draw(st.sampled_from([3, 50, 100_000]))
    units = np.array(draw(st.lists(st.integers(0, upto), min_size=n_s * n_v, max_size=n_s * n_v)))
    units = units.reshape(n_s, n_v) * fits
    spare = np.array(draw(st.lists(st.integers(0, upto), min_size=n_s, max_size=n_s)))
    return units.sum(axis=1) + spare, fits, units.sum(axis=0)


@settings(max_examples=400, deadline=None)
@given(supply_cases())
def test_assign_units_is_scipys(case: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    stock, fits, demand = case
    mine = assign_units(stock, fits, demand)
    assert mine.dtype == np.int64
    assert np.array_equal(mine, scipy_assign(stock, fits, demand))


@st.composite
def networks(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, int]], int, int]:
    n = draw(st.integers(2, 8))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            min_size=1,
            max_size=3 * n,
            unique=True,
        )
    )
    caps = draw(st.lists(st.integers(1, 20), min_size=len(pairs), max_size=len(pairs)))
    source, sink = draw(
        st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    )
    return n, [(u, w, c) for (u, w), c in zip(pairs, caps, strict=True)], source, sink


@settings(max_examples=400, deadline=None)
@given(networks())
def test_max_flow_is_scipys_on_any_network(
    case: tuple[int, list[tuple[int, int, int]], int, int],
) -> None:
    n, edges, source, sink = case
    rows, cols, caps = (list(x) for x in zip(*edges, strict=True))
    graph = csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)), shape=(n, n))
    expected = maximum_flow(graph, source, sink)
    net = Network(n, edges)
    assert max_flow(net, source, sink) == expected.flow_value
    flows = expected.flow.toarray()
    for u in range(n):
        for w in range(n):
            assert net.edge_flow(u, w) == flows[u, w], (u, w)
