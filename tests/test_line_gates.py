"""Parts fitted at a station (``CompiledLine.with_gates``): a job enters a gated station
only once its own part has come, and the jobs behind it wait too.

Truths used here, none computed by either engine: hand schedules of deterministic
lines; the rate of a line starved by its parts (the parts' own rate); and, on random
lines with identical draws and part times, the SimPy reference engine, on both
compiled paths (the max-plus recursion and the event-driven kernel), in one feed or in
many.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from evplant.line.engine import LineEngine, simulate_visits
from evplant.line.reference import simulate_reference
from evplant.line.sampling import LineDraws
from evplant.line.spec import CompiledLine, LineSpec

TIME_TOL = 1e-6


def det(value: float) -> dict[str, Any]:
    return {"dist": "deterministic", "value": value}


def line_of(
    cycle: list[float],
    servers: list[int],
    buffers: list[int],
    keep: list[bool] | None = None,
    dist: str = "deterministic",
) -> CompiledLine:
    keep = keep or [True] * len(cycle)
    stations = []
    for i, (c, k, kp) in enumerate(zip(cycle, servers, keep, strict=True)):
        ct = det(c) if dist == "deterministic" else {"dist": dist, "mean": c, "cv": 0.5}
        stations.append({"name": f"st{i}", "cycle_time": ct, "servers": k, "keep_sequence": kp})
    return LineSpec.model_validate({"stations": stations, "buffers": buffers}).compile()


def test_a_job_waits_for_its_part_and_the_station_starts_it_on_arrival() -> None:
    # st0 10 s, st1 10 s with its part at 0, 50, 55, 100: job 0 enters st1 at 10 (after
    # st0), job 1 at 50, job 2 at max(55, 60) = 60 (st1 busy with job 1), job 3 at 100
    line = line_of([10, 10], [1, 1], [5]).with_gates([1])
    p = np.full((4, 2), 10.0)
    ready = np.array([[0.0], [50.0], [55.0], [100.0]])
    for vis in (
        simulate_visits(line, p, ready=ready),
        simulate_reference(line, p, ready=ready).visits,
    ):
        assert_allclose(vis.entry[:, 1], [10, 50, 60, 100])
        assert_allclose(vis.departure[:, 1], [20, 60, 70, 110])
        # st0 is not gated: it works on; job 3 waits in the buffer, not at st0
        assert_allclose(vis.departure[:, 0], [10, 20, 30, 40])


def test_jobs_behind_a_late_part_wait_even_with_a_server_free() -> None:
    # two servers at st0 (gated): job 0's part comes at 100, job 1's at 0; job 1 waits
    # for job 0 (first in the buffer, first in) and both enter at 100
    line = line_of([10], [2], []).with_gates([0])
    p = np.full((2, 1), 10.0)
    ready = np.array([[100.0], [0.0]])
    for vis in (
        simulate_visits(line, p, ready=ready),
        simulate_reference(line, p, ready=ready).visits,
    ):
        assert_allclose(vis.entry[:, 0], [100, 100])
        assert sorted(vis.server[:, 0].tolist()) == [0, 1]


def test_a_line_starved_by_its_parts_runs_at_the_parts_rate() -> None:
    # the line could make one a minute; parts come one every 100 s: the first two
    # jobs find their parts there (they reach st1 at 60 and 120), from the third on
    # (st1 at 180, its part at 200) departures are 100 s apart and st1 starves 40%
    line = line_of([60, 60, 60], [1, 1, 1], [2, 2]).with_gates([1])
    n = 400
    engine = LineEngine(line, 0, chunk=64)
    ready = (np.arange(n) * 100.0)[:, None]
    vis = engine.feed(n, release=np.zeros(n), p=np.full((n, 3), 60.0), ready=ready, keep=True)
    assert vis is not None
    assert_allclose(np.diff(vis.departure[:, -1])[:2], [60.0, 80.0])
    assert_allclose(np.diff(vis.departure[2:, -1]), 100.0)
    st = engine.result().stations[1]
    assert st.starved == pytest.approx(0.4, abs=0.01)


def test_gates_are_refused_at_joins_and_resequencing_stores_and_bad_ready_shapes() -> None:
    spec = LineSpec.model_validate(
        {
            "stations": [
                {"name": "a", "cycle_time": det(5)},
                {"name": "b", "cycle_time": det(5), "servers": 2, "resequence": True},
            ],
            "buffers": [2],
        }
    )
    with pytest.raises(ValueError, match="no part can wait"):
        spec.compile().with_gates([1])
    with pytest.raises(ValueError, match="distinct"):
        line_of([5, 5], [1, 1], [1]).with_gates([0, 0])
    line = line_of([5, 5], [1, 1], [1]).with_gates([1])
    with pytest.raises(ValueError, match="ready must be"):
        LineEngine(line, 0).feed(3, ready=np.zeros((3, 2)))


@st.composite
def gated_cases(draw: st.DrawFn) -> tuple[CompiledLine, np.ndarray, np.ndarray, np.ndarray]:
    m = draw(st.integers(1, 4))
    servers = [draw(st.integers(1, 3)) for _ in range(m)]
    keep = [draw(st.booleans()) for _ in range(m)]
    cycle = [draw(st.sampled_from([20.0, 30.0, 45.0])) * k for k in servers]
    buffers = [draw(st.integers(0, 2)) for _ in range(m - 1)]
    line = line_of(cycle, servers, buffers, keep, dist="lognormal")
    gated = draw(st.lists(st.integers(0, m - 1), min_size=1, max_size=m, unique=True))
    line = line.with_gates(gated)
    n = draw(st.integers(1, 60))
    seed = draw(st.integers(0, 2**16))
    draws = LineDraws(line, seed)
    p = draws.processing(draws.variants(n))
    rng = np.random.default_rng(seed)
    # parts come around when the jobs would need them, some late, some early, ties
    spacing = draw(st.sampled_from([10.0, 40.0, 80.0]))
    base = np.arange(n)[:, None] * spacing + rng.integers(0, 4, size=(n, len(gated))) * 30.0
    ready = np.where(rng.random((n, len(gated))) < 0.2, -np.inf, base)
    release = np.sort(rng.integers(0, 5, size=n) * 15.0)
    return line, p, release, ready


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gated_cases())
def test_both_compiled_paths_equal_the_reference_with_parts_at_stations(
    case: tuple[CompiledLine, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    line, p, release, ready = case
    ref = simulate_reference(line, p, release, ready=ready).visits
    vis = simulate_visits(line, p, release, ready=ready)
    for name in ("entry", "end", "departure"):
        assert_allclose(getattr(vis, name), getattr(ref, name), atol=TIME_TOL, rtol=0)
    # fed in pieces (the plant's months), with a promise of the next release, the
    # line does the same
    engine = LineEngine(line, 0, chunk=7)
    n = len(p)
    cuts = [0, n // 3, n]
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        engine.feed(
            hi - lo,
            release=release[lo:hi],
            variants=np.zeros(hi - lo, np.int64),
            p=p[lo:hi],
            ready=ready[lo:hi],
            until=float(release[hi]) if hi < n else None,
        )
    engine.drain()
    res = engine.result()
    assert res.jobs == n
    assert res.horizon_s == pytest.approx(ref.departure[:, -1].max(), abs=TIME_TOL)
    lead = float(np.mean(ref.departure[:, -1] - ref.entry[:, 0]))
    assert res.lead_time_mean_s == pytest.approx(lead, abs=TIME_TOL)
