"""The SimPy reference engine against closed forms, and the compiled engine against it.

Truths used here, none of them computed by either engine:
- schedules of deterministic lines worked out by hand (in the comments);
- the throughput of two exponential stations with a buffer, mu (B + 2) / (B + 3);
- invariants of any run: conservation, sequence, capacity, work done = work needed,
  Little's law between the reference's own WIP integral and its lead times.
Then, property-based: on random lines with identical draws, both engines must give the
same entry, end and departure times (1e-6 s) and the same station states.
"""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from evplant.errors import EvplantError
from evplant.line.calendar import WorkCalendar
from evplant.line.reference import ReferenceResult, simulate_reference
from evplant.line.sampling import LineDraws
from evplant.line.spec import CompiledLine, LineSpec
from evplant.line.visits import Visits

TIME_TOL = 1e-6  # seconds: the contract's agreement between engines
SHARE_TOL = 1e-6  # station-state fractions of T


@pytest.fixture(scope="module")
def fast() -> ModuleType:
    return pytest.importorskip(
        "evplant.line.engine", reason="the compiled engine (evplant.line.engine) is not there yet"
    )


def det(value: float) -> dict[str, Any]:
    return {"dist": "deterministic", "value": value}


def serial(
    cycle: list[float], buffers: list[int], servers: list[int] | None = None, **extra: Any
) -> LineSpec:
    servers = servers or [1] * len(cycle)
    stations = [
        {"name": f"st{i}", "cycle_time": det(c), "servers": k}
        for i, (c, k) in enumerate(zip(cycle, servers, strict=True))
    ]
    for i, failures in extra.pop("failures", {}).items():
        stations[i]["failures"] = failures
    return LineSpec(stations=stations, buffers=buffers, **extra)


def no_keys(line: CompiledLine) -> np.ndarray:
    return np.zeros((line.m, int(line.servers.max()), 2), dtype=np.uint64)


def agrees_with_fast(
    line: CompiledLine,
    p: np.ndarray,
    release: np.ndarray | None = None,
    keys: np.ndarray | None = None,
) -> None:
    """The compiled engine gives the hand-worked schedule too (when it is there)."""
    try:
        from evplant.line.engine import simulate_visits
    except ImportError:  # written in parallel: the `fast` tests say so when skipped
        return
    want = simulate_reference(line, p, release, keys).visits
    assert_same_visits(simulate_visits(line, p, release, keys), want)


# --- deterministic lines, worked out by hand -------------------------------------------


def test_three_stations_without_buffers_follow_the_hand_schedule() -> None:
    # 10 / 20 / 5 s, no buffers. Job 0 flows freely: 0-10, 10-30, 30-35. From job 1
    # on, the 20 s station paces the line: job j (j >= 1) enters station 0 at 20j - 10,
    # ends at 20j and waits 10 s for station 1 (blocked), which it holds 20j+10 to 20j+30;
    # station 2 takes it 20j+30 to 20j+35.
    n = 6
    line = serial([10, 20, 5], [0, 0]).compile()
    ref = simulate_reference(line, np.tile([10.0, 20.0, 5.0], (n, 1)))
    j = np.arange(1, n)
    expect_entry = np.zeros((n, 3))
    expect_dep = np.zeros((n, 3))
    expect_entry[0] = [0, 10, 30]
    expect_dep[0] = [10, 30, 35]
    expect_entry[1:] = np.stack([20 * j - 10, 20 * j + 10, 20 * j + 30], axis=1)
    expect_dep[1:] = np.stack([20 * j + 10, 20 * j + 30, 20 * j + 35], axis=1)
    vis = ref.visits
    assert_allclose(vis.entry, expect_entry, atol=1e-12)
    assert_allclose(vis.end, vis.entry + [10, 20, 5], atol=1e-12)
    assert_allclose(vis.departure, expect_dep, atol=1e-12)
    T = 20 * (n - 1) + 35
    assert ref.T == T
    assert_allclose(ref.busy, np.array([10, 20, 5]) * n / T)
    assert_allclose(ref.blocked, [10 * (n - 1) / T, 0, 0])
    assert_allclose(ref.busy + ref.blocked + ref.starved, 1.0)
    assert_allclose(ref.failed, 0.0)
    assert_allclose(ref.off_shift, 0.0)
    assert ref.lead_time_mean_s == pytest.approx((35 + 45 * (n - 1)) / n)
    assert ref.throughput_per_hour == pytest.approx(n / T * 3600)
    agrees_with_fast(line, np.tile([10.0, 20.0, 5.0], (n, 1)))


def test_parallel_servers_overtake_by_default() -> None:
    # As below, but station 1 lets jobs overtake: job 2 (server 0, 6-8) leaves at 8,
    # ahead of job 1 (server 1, 2-22); job 3 takes server 0 at 8 (8-13) and leaves at
    # 13; job 1 leaves at 22. Station 2 (1 s) takes them as they come: 6-7, 8-9, 13-14,
    # 22-23.
    line = serial([1, 5, 1], [3, 3], servers=[1, 2, 1]).compile()
    assert not line.in_build_order
    p = np.array([[1, 5, 1], [1, 20, 1], [1, 2, 1], [1, 5, 1]], dtype=float)
    ref = simulate_reference(line, p)
    vis = ref.visits
    assert_allclose(vis.entry[:, 1], [1, 2, 6, 8])
    assert_allclose(vis.departure[:, 1], [6, 22, 8, 13])
    assert vis.server[:, 1].tolist() == [0, 1, 0, 0]
    assert_allclose(vis.entry[:, 2], [6, 22, 8, 13])
    assert_allclose(vis.departure[:, 2], [7, 23, 9, 14])
    assert ref.blocked[1] == 0.0
    agrees_with_fast(line, p)


def test_overtaking_servers_go_to_the_one_free_longest() -> None:
    # Station 1 has two servers and lets jobs overtake. Job 0 on server 0 (1-6), job 1
    # on server 1 (2-4), so server 1 is free from 4 and server 0 from 6; job 2 (10 s at
    # station 0, 2-12) comes at 12 and takes server 1, free longest, not the lowest.
    # Job 3 (at 22) then takes server 0, freed at 6 before server 1 at 13.
    line = serial([1, 5, 1], [3, 3], servers=[1, 2, 1]).compile()
    assert line.overtakes[1]
    p = np.array([[1, 5, 1], [1, 2, 1], [10, 1, 1], [10, 1, 1]], dtype=float)
    ref = simulate_reference(line, p)
    vis = ref.visits
    assert_allclose(vis.entry[:, 1], [1, 2, 12, 22])
    assert_allclose(vis.departure[:, 1], [6, 4, 13, 23])
    assert vis.server[:, 1].tolist() == [0, 1, 1, 0]
    agrees_with_fast(line, p)


def test_parallel_servers_keep_the_sequence_and_take_the_lowest_free_server() -> None:
    # Station 0 feeds a job a second; station 1 has two servers, work 5, 20, 2, 5 s;
    # station 2 takes 1 s. Job 0 on server 0 (1-6); job 1 on server 1 (2-22); job 2 on
    # server 0 at 6, done at 8 but leaves only after job 1, at 22 (blocked by the
    # sequence). At 22 both servers are freed in the same instant, job 1's first and
    # job 2's a few zero-time steps later: job 3 must still take server 0.
    line = serial([1, 5, 1], [3, 3], servers=[1, 2, 1]).compile()
    line = dataclasses.replace(line, keep_sequence=np.ones(3, dtype=np.int64))
    assert line.in_build_order
    p = np.array([[1, 5, 1], [1, 20, 1], [1, 2, 1], [1, 5, 1]], dtype=float)
    ref = simulate_reference(line, p)
    vis = ref.visits
    assert_allclose(vis.entry[:, 1], [1, 2, 6, 22])
    assert_allclose(vis.end[:, 1], [6, 22, 8, 27])
    assert_allclose(vis.departure[:, 1], [6, 22, 22, 27])
    assert vis.server[:, 1].tolist() == [0, 1, 0, 0]
    assert_allclose(vis.departure[:, 2], [7, 23, 24, 28])
    # station 1 over [0, 28]: busy 5 + 20 + 2 + 5, blocked 14 (job 2), two servers
    assert ref.busy[1] == pytest.approx(32 / 56)
    assert ref.blocked[1] == pytest.approx(14 / 56)
    agrees_with_fast(line, p)


def test_shifts_pause_and_resume_work() -> None:
    # Windows [0, 25) and [100, inf). Station 0 (10 s): job 2 works 20-25, stops for
    # the break and does its other 5 s at 100-105. A job ending exactly at the end of
    # a window ends there (job 1 of the second case). Station 1 (4 s) follows.
    cal = WorkCalendar(np.array([0.0, 100.0]), np.array([25.0, math.inf]))
    line = serial([10, 4], [5]).compile(cal)
    ref = simulate_reference(line, np.tile([10.0, 4.0], (4, 1)))
    vis = ref.visits
    assert_allclose(vis.end[:, 0], [10, 20, 105, 115])
    assert_allclose(vis.end[:, 1], [14, 24, 109, 119])
    assert ref.T == 119
    assert_allclose(ref.off_shift, 75 / 119)
    assert_allclose(ref.busy, np.array([40, 16]) / 119)

    ends = simulate_reference(serial([12.5], []).compile(cal), np.full((3, 1), 12.5))
    assert_allclose(ends.visits.end[:, 0], [12.5, 25.0, 112.5])

    # a job released during the break waits for the next window
    late = simulate_reference(line, np.tile([10.0, 4.0], (2, 1)), np.array([0.0, 30.0]))
    assert_allclose(late.visits.entry[:, 0], [0, 30])
    assert_allclose(late.visits.end[:, 0], [10, 110])
    agrees_with_fast(line, np.tile([10.0, 4.0], (4, 1)))
    agrees_with_fast(line, np.tile([10.0, 4.0], (2, 1)), np.array([0.0, 30.0]))


def test_a_calendar_time_failure_stops_the_server_at_a_known_time() -> None:
    # TTF 25, TTR 50 in wall-clock time: down [25, 75), [100, 150), [175, 225).
    # 10 s jobs: 0-10, 10-20, 20-25 + 75-80, 80-90, 90-100 (ends as the server goes
    # down), 150-160 (entered at 100), 160-170, 170-175 + 225-230.
    fail = {"basis": "calendar", "time_to_failure": det(25), "time_to_repair": det(50)}
    line = serial([10], [], failures={0: fail}).compile()
    ref = simulate_reference(line, np.full((8, 1), 10.0), fail_keys=no_keys(line))
    vis = ref.visits
    assert_allclose(vis.entry[:, 0], [0, 10, 20, 80, 90, 100, 160, 170])
    assert_allclose(vis.end[:, 0], [10, 20, 80, 90, 100, 160, 170, 230])
    assert_allclose(vis.repair, 0.0)  # repair of operating failures only
    assert ref.T == 230
    assert ref.failed[0] == pytest.approx(150 / 230)
    assert ref.busy[0] == pytest.approx(80 / 230)
    assert ref.starved[0] == pytest.approx(0.0, abs=1e-12)
    agrees_with_fast(line, np.full((8, 1), 10.0), None, no_keys(line))


def test_operating_failures_follow_the_work_done() -> None:
    # TTF 25 s of work, TTR 7: job 2 fails 5 s in (at 25), is repaired until 32 and
    # ends at 37. Job 4 ends exactly when 25 s of work are done again (57): it
    # completes, and the server fails at the start of job 5 (repair 57-64, work 64-74).
    fail = {"basis": "operating", "time_to_failure": det(25), "time_to_repair": det(7)}
    line = serial([10], [], failures={0: fail}).compile()
    ref = simulate_reference(line, np.full((6, 1), 10.0), fail_keys=no_keys(line))
    assert_allclose(ref.visits.end[:, 0], [10, 20, 37, 47, 57, 74])
    assert_allclose(ref.visits.repair[:, 0], [0, 0, 7, 0, 0, 7])
    assert ref.failed[0] == pytest.approx(14 / 74)
    assert ref.busy[0] == pytest.approx(60 / 74)

    # repair takes working time only: in [0, 30) and [100, inf) job 2's repair runs
    # 25-30 and 100-102, its work then ends at 107
    cal = WorkCalendar(np.array([0.0, 100.0]), np.array([30.0, math.inf]))
    shifted = simulate_reference(
        line.with_calendar(cal), np.full((3, 1), 10.0), None, no_keys(line)
    )
    assert_allclose(shifted.visits.end[:, 0], [10, 20, 107])
    assert shifted.failed[0] == pytest.approx(7 / 107)
    assert shifted.off_shift[0] == pytest.approx(70 / 107)
    agrees_with_fast(line, np.full((8, 1), 10.0), None, no_keys(line))
    agrees_with_fast(line.with_calendar(cal), np.full((8, 1), 10.0), None, no_keys(line))


def test_a_short_calendar_is_extended_from_its_spec_or_refused() -> None:
    spec = serial([600, 300], [1], calendar={"shifts": [{"start": "06:00", "end": "07:00"}]})
    short = spec.compile(spec.calendar.build(horizon_s=86_400.0))  # type: ignore[union-attr]
    p = np.tile([600.0, 300.0], (30, 1))
    got = simulate_reference(short, p)
    want = simulate_reference(spec.compile(), p)  # eight weeks: long enough
    assert_allclose(got.visits.departure, want.visits.departure)
    assert got.calendar.end > short.calendar.end
    bare = short.with_calendar(WorkCalendar(short.calendar.starts, short.calendar.ends))
    bare.calendar_spec = None
    with pytest.raises(EvplantError, match="calendar"):
        simulate_reference(bare, p)


def test_bad_inputs_are_refused() -> None:
    line = serial([10, 10], [0]).compile()
    with pytest.raises(ValueError, match="p must be"):
        simulate_reference(line, np.ones((3, 1)))
    with pytest.raises(ValueError, match="not decrease"):
        simulate_reference(line, np.ones((2, 2)), np.array([5.0, 1.0]))
    failing = serial([10], [], failures={0: {"mtbf": 100, "mttr": 10}}).compile()
    with pytest.raises(ValueError, match="fail_keys"):
        simulate_reference(failing, np.ones((2, 1)))


# --- a closed form -----------------------------------------------------------------------


def exponential_pair(buffer: int, mean: float) -> CompiledLine:
    cycle = {"dist": "exponential", "mean": mean}
    return LineSpec(
        stations=[{"name": "a", "cycle_time": cycle}, {"name": "b", "cycle_time": cycle}],
        buffers=[buffer],
    ).compile()


@pytest.mark.parametrize("buffer", [0, 1, 2])
def test_two_exponential_stations_match_the_closed_form(buffer: int) -> None:
    # Two M-type stations with rate mu and B waiting places, blocking after service:
    # the Markov chain gives throughput mu (B + 2) / (B + 3).
    mean = 30.0
    exact = 3600.0 / mean * (buffer + 2) / (buffer + 3)
    line = exponential_pair(buffer, mean)
    draws = LineDraws(line, 11 + buffer)
    ref = simulate_reference(line, draws.processing(draws.variants(20_000)))
    assert ref.throughput_per_hour == pytest.approx(exact, rel=0.04)


@pytest.mark.parametrize("buffer", [0, 1, 2])
def test_two_exponential_stations_long_run_fast(fast: ModuleType, buffer: int) -> None:
    mean = 30.0
    exact = 3600.0 / mean * (buffer + 2) / (buffer + 3)
    engine = fast.LineEngine(exponential_pair(buffer, mean), seed=5 + buffer)
    engine.feed(200_000)
    assert engine.result().throughput_per_hour == pytest.approx(exact, rel=0.015)


# --- random lines: invariants, and fast vs reference -----------------------------------

means = st.floats(2.0, 40.0)
cvs = st.floats(0.05, 1.5)


def dists(scale: float = 1.0, whole: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Time distributions; ``whole``: deterministic whole seconds only (ties galore)."""
    s = scale
    # whole seconds make ties: equal end times, work ending as a window or the time to
    # failure ends
    whole_seconds = st.builds(lambda v: det(float(v) * s), st.integers(1, 30))
    if whole:
        return whole_seconds
    return st.one_of(
        st.builds(lambda m: {"dist": "exponential", "mean": m * s}, means),
        st.builds(lambda m, c: {"dist": "lognormal", "mean": m * s, "cv": c}, means, cvs),
        st.builds(lambda m, c: {"dist": "gamma", "mean": m * s, "cv": c}, means, cvs),
        whole_seconds,
        st.builds(
            lambda a, w: {"dist": "uniform", "min": a * s, "max": (a + w) * s},
            st.floats(0.5, 20),
            st.floats(0.5, 20),
        ),
        st.builds(
            lambda a, f, w: {
                "dist": "triangular",
                "min": a * s,
                "mode": (a + f * w) * s,
                "max": (a + w) * s,
            },
            st.floats(0.5, 20),
            st.floats(0, 1),
            st.floats(0.5, 20),
        ),
        st.builds(
            lambda xs: {"dist": "empirical", "samples": [x * s for x in xs]},
            st.lists(st.integers(1, 40).map(float), min_size=1, max_size=5),
        ),
    )


def failures(whole: bool) -> st.SearchStrategy[dict[str, Any] | None]:
    basis = st.sampled_from(["operating", "calendar"])
    given_dists = st.builds(
        lambda b, f, r: {"basis": b, "time_to_failure": f, "time_to_repair": r},
        basis,
        dists(4.0, whole),
        dists(1.0, whole),
    )
    if whole:
        return st.one_of(st.none(), given_dists)
    by_means = st.builds(
        lambda b, f, r: {"basis": b, "mtbf": f, "mttr": r},
        basis,
        st.floats(30, 500),
        st.floats(1, 60),
    )
    return st.one_of(st.none(), given_dists, by_means)


@st.composite
def stations(draw: st.DrawFn, index: int, variants: list[str], whole: bool) -> dict[str, Any]:
    station: dict[str, Any] = {
        "name": f"st{index}",
        "cycle_time": draw(dists(whole=whole)),
        "servers": draw(st.integers(1, 3)),
        "failures": draw(failures(whole)),
        "keep_sequence": draw(st.booleans()),
    }
    if index > 0 and draw(st.integers(0, 3)) == 0:
        station["resequence"] = True
    if len(variants) > 0 and draw(st.booleans()):
        station["variant_cycle_time"] = {variants[-1]: draw(dists(whole=whole))}
    return station


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def calendar_specs(draw: st.DrawFn) -> dict[str, Any]:
    # short shifts (minutes) so that runs of seconds-long cycles cross many of them
    start = draw(st.integers(0, 23 * 60))
    length = draw(st.integers(3, 40))
    spec: dict[str, Any] = {
        "shifts": [{"start": clock(start), "end": clock(start + length)}],
        "days": draw(
            st.lists(
                st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
                min_size=1,
                max_size=7,
                unique=True,
            )
        ),
    }
    if draw(st.booleans()):
        b = start + draw(st.integers(1, max(1, length - 2)))
        spec["breaks"] = [{"start": clock(b), "end": clock(min(b + 1, start + length))}]
    return spec


@st.composite
def window_calendars(draw: st.DrawFn) -> WorkCalendar:
    """A repeating pattern of working windows and gaps (a gap may be 0: touching windows)."""
    pattern = draw(
        st.lists(st.tuples(st.integers(5, 200), st.integers(0, 150)), min_size=1, max_size=4)
    )
    offset = float(draw(st.integers(0, 50)))
    lengths = np.array([length for length, _ in pattern], dtype=float)
    period = float(sum(length + gap for length, gap in pattern))
    first = offset + np.cumsum([0.0] + [length + gap for length, gap in pattern[:-1]])
    repeats = int(1e5 // period) + 1
    starts = (first[None, :] + period * np.arange(repeats)[:, None]).ravel()
    ends = starts + np.tile(lengths, repeats)
    if draw(st.booleans()):
        ends[-1] = math.inf
    return WorkCalendar(starts, ends)


Case = tuple[CompiledLine, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@st.composite
def cases(draw: st.DrawFn, whole: bool = False) -> Case:
    """A random line and its draws: (line, seed, variants, p, release, fail_keys)."""
    m = draw(st.integers(1, 6))
    kind = draw(st.sampled_from(["always", "spec", "windows"]))
    variant_kind = draw(st.sampled_from(["none", "sequence", "mix"]))
    variants: dict[str, Any] | None = None
    names: list[str] = []
    if variant_kind == "sequence":
        variants = {
            "sequence": draw(st.lists(st.sampled_from(["SU7", "YU7"]), min_size=1, max_size=4))
        }
        names = list(dict.fromkeys(variants["sequence"]))
    elif variant_kind == "mix":
        variants = {"mix": {"SU7": draw(st.floats(0.1, 1)), "YU7": draw(st.floats(0.1, 1))}}
        names = ["SU7", "YU7"]
    spec = LineSpec(
        stations=[draw(stations(i, names, whole)) for i in range(m)],
        buffers=draw(st.lists(st.integers(0, 3), min_size=m - 1, max_size=m - 1)),
        variants=variants,
        calendar=draw(calendar_specs()) if kind == "spec" else None,
    )
    calendar = draw(window_calendars()) if kind == "windows" else None
    line = spec.compile(calendar)
    n = draw(st.integers(1, 120))
    seed = draw(st.integers(0, 2**32))
    draws = LineDraws(line, seed)
    v = draws.variants(n)
    p = draws.processing(v)
    release = np.zeros(n)
    if draw(st.booleans()):
        gaps = draw(st.lists(st.sampled_from([1.0, 0.0, 7.5, 30.0, 120.0]), min_size=n, max_size=n))
        release = np.cumsum(gaps)
    return line, seed, v, p, release, draws.fail_keys


def check_invariants(
    line: CompiledLine, p: np.ndarray, release: np.ndarray, ref: ReferenceResult
) -> None:
    vis, cal, m = ref.visits, ref.calendar, line.m
    tol = TIME_TOL
    assert np.all(vis.end > vis.entry)
    assert np.all(vis.departure >= vis.end)
    assert np.all(vis.entry[:, 0] >= release - tol)
    assert np.all(np.diff(vis.entry[:, 0]) >= 0)
    assert np.all(vis.entry[:, 1:] >= vis.departure[:, :-1])
    for i in range(m):
        if not line.overtakes[i]:
            # the station lets jobs leave in the order they entered it (jobs that
            # entered at the same instant: in either order)
            order = np.lexsort((vis.departure[:, i], vis.entry[:, i]))
            assert np.all(np.diff(vis.departure[order, i]) >= -tol)
    # work done = work needed: working time on the server from entry to end is the
    # work plus operating repairs (plus breakdown time for calendar-time failures)
    working = cal.working_between(vis.entry, vis.end)
    needed = p + vis.repair
    calendar_fail = line.fail_basis == 2
    assert_allclose(working[:, ~calendar_fail], needed[:, ~calendar_fail], atol=tol, rtol=0)
    assert np.all(working >= needed - tol)
    for i in range(m):
        # one job at a time on each server
        for s in range(int(line.servers[i])):
            on = vis.server[:, i] == s
            entry, dep = vis.entry[on, i], vis.departure[on, i]
            order = np.argsort(entry, kind="stable")
            assert np.all(entry[order][1:] >= dep[order][:-1] - tol)
        assert np.all(vis.server[:, i] < line.servers[i])
        if i < m - 1:
            # jobs between leaving i and leaving i+1, at each moment one more leaves i
            out_i = np.sort(vis.departure[:, i])
            out_next = np.sort(vis.departure[:, i + 1])
            between = np.arange(1, len(out_i) + 1) - np.searchsorted(out_next, out_i, "right")
            assert between.max() <= line.buffers[i] + line.servers[i + 1]
    shares = ref.busy + ref.blocked + ref.starved + ref.failed + ref.off_shift
    assert_allclose(shares, 1.0, atol=1e-9)
    assert vis.departure[:, -1].max() == ref.T
    off = (ref.T - float(cal.working_before(ref.T))) / ref.T
    assert_allclose(ref.off_shift, off, atol=1e-9)
    # Little's law over [0, T]: the WIP integral against the per-job lead times
    assert ref.wip_mean == pytest.approx(
        ref.throughput_per_hour / 3600 * ref.lead_time_mean_s, rel=1e-9
    )


def describe(line: CompiledLine, release: np.ndarray) -> None:
    """Label the example, for ``--hypothesis-show-statistics``."""
    cal = line.calendar
    event(
        "calendar: "
        + ("spec" if line.calendar_spec else "always" if len(cal.starts) == 1 else "windows")
    )
    for basis, name in ((1, "operating"), (2, "calendar")):
        if np.any(line.fail_basis == basis):
            event(f"failures: {name}")
    if np.any(line.servers > 1):
        event("parallel servers")
    if np.any(line.overtakes):
        event("jobs overtake")
    if np.any(line.resequence):
        event("a resequencing store")
    if np.any(line.buffers[:-1] == 0) and line.m > 1:
        event("a zero buffer")
    if release[-1] > 0:
        event("release times")


def assert_same_visits(got: Visits, want: Visits) -> None:
    for name in ("entry", "end", "departure", "repair"):
        assert_allclose(
            getattr(got, name), getattr(want, name), atol=TIME_TOL, rtol=0, err_msg=name
        )
    # which server too: the free-longest rule at overtaking stations, the lowest free
    # one elsewhere (with failures per server, a wrong one would show in the times)
    np.testing.assert_array_equal(got.server, want.server, err_msg="server")


property_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@property_settings
@given(cases())
def test_reference_runs_keep_the_invariants(case: Case) -> None:
    line, _, _, p, release, keys = case
    check_invariants(line, p, release, simulate_reference(line, p, release, keys))


def check_fast_equals_reference(fast: ModuleType, case: Case, chunk: int) -> None:
    line, seed, variants, p, release, keys = case
    n = len(p)
    describe(line, release)
    try:
        ref = simulate_reference(line, p, release, keys)
    except EvplantError:
        # a calendar without a spec that ends too early: the fast engine must say so too
        event("the calendar ends first")
        with pytest.raises(EvplantError):
            fast.simulate_visits(line, p, release, keys)
        return
    assert_same_visits(fast.simulate_visits(line, p, release, keys), ref.visits)

    # the same draws through the chunked engine (same seed: same failure keys), with
    # its statistics
    engine = fast.LineEngine(line, seed, chunk=chunk)
    vis = engine.feed(n, release=release, variants=variants, p=p, keep=True)
    assert_same_visits(vis, ref.visits)
    result = engine.result()
    for name in ("busy", "blocked", "starved", "failed", "off_shift"):
        got = np.array([getattr(s, name) for s in result.stations])
        assert_allclose(got, getattr(ref, name), atol=SHARE_TOL, rtol=0, err_msg=name)
    assert result.jobs == n
    assert result.horizon_s == pytest.approx(ref.T, abs=TIME_TOL)
    assert result.throughput_per_hour == pytest.approx(ref.throughput_per_hour, rel=1e-9)
    assert result.lead_time_mean_s == pytest.approx(ref.lead_time_mean_s, abs=TIME_TOL)
    assert result.wip_mean == pytest.approx(ref.wip_mean, rel=1e-9, abs=1e-9)


@property_settings
@given(cases(), st.sampled_from([1, 7, 4096]))
def test_fast_engine_equals_the_reference(fast: ModuleType, case: Case, chunk: int) -> None:
    check_fast_equals_reference(fast, case, chunk)


@settings(property_settings, max_examples=40)
@given(cases(whole=True), st.sampled_from([3, 4096]))
def test_fast_engine_equals_the_reference_on_ties(fast: ModuleType, case: Case, chunk: int) -> None:
    # whole-second times everywhere: simultaneous departures, work ending exactly at
    # the end of a window, a breakdown or the time to failure; jobs that finish in the
    # same instant where they overtake leave in the order they entered
    check_fast_equals_reference(fast, case, chunk)
