"""The compiled line engine against closed forms, hand schedules and invariants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose

from evplant.line.calendar import WorkCalendar
from evplant.line.engine import LineEngine, simulate_line, simulate_visits
from evplant.line.spec import CompiledLine
from helpers import det, expo, make_line, station


@pytest.mark.parametrize("buffer", [0, 1, 3])
def test_two_exponential_stations_match_closed_form(two_exponential, buffer: int) -> None:
    # Two identical exponential stations, rate mu, buffer B: throughput mu (B+2)/(B+3)
    result = simulate_line(two_exponential(buffer), 300_000, seed=11)
    expected = (buffer + 2) / (buffer + 3)
    assert result.throughput_per_hour / 3600.0 == pytest.approx(expected, rel=0.01)


def test_hand_schedule_of_a_deterministic_line_with_zero_buffers() -> None:
    line = make_line([station("a", det(10)), station("b", det(20)), station("c", det(5))], [0, 0])
    v = simulate_visits(line, np.tile([10.0, 20.0, 5.0], (4, 1)))
    # a blocks behind b: jobs leave a at 10, 30, 50, 70 (a holds the next job until b frees)
    assert_allclose(v.departure[:, 0], [10, 30, 50, 70])
    assert_allclose(v.departure[:, 1], [30, 50, 70, 90])
    assert_allclose(v.departure[:, 2], [35, 55, 75, 95])
    assert_allclose(v.entry[:, 0], [0, 10, 30, 50])


def test_single_station_with_operating_failures_loses_mttr_over_mtbf() -> None:
    line = make_line(
        [station("a", expo(60.0), failures={"basis": "operating", "mtbf": 3000, "mttr": 600})], []
    )
    result = simulate_line(line, 1_000_000, seed=3)
    # each second of work carries mttr/mtbf seconds of repair (~20k failures: 2% noise)
    assert result.throughput_per_hour == pytest.approx(3600 / (60 * 1.2), rel=0.01)
    assert result.stations[0].failed == pytest.approx(0.2 / 1.2, rel=0.04)
    assert result.stations[0].busy + result.stations[0].failed == pytest.approx(1.0, abs=1e-9)


def test_calendar_failures_take_their_share_of_the_clock() -> None:
    line = make_line(
        [station("a", det(10.0), failures={"basis": "calendar", "mtbf": 900, "mttr": 100})], []
    )
    result = simulate_line(line, 200_000, seed=5)
    assert result.stations[0].failed == pytest.approx(0.1, rel=0.03)
    assert result.throughput_per_hour == pytest.approx(0.9 * 360, rel=0.02)


def test_parallel_servers_double_a_station() -> None:
    slow = make_line([station("a", det(5)), station("b", det(20), servers=2)], [1])
    fast = make_line([station("a", det(5)), station("b", det(10))], [1])
    r_slow = simulate_line(slow, 20_000, seed=1)
    r_fast = simulate_line(fast, 20_000, seed=1)
    assert r_slow.throughput_per_hour == pytest.approx(r_fast.throughput_per_hour, rel=1e-3)


def test_shifts_stop_the_line_and_scale_output_with_working_time() -> None:
    base = make_line([station("a", expo(30)), station("b", expo(30))], [2])
    day = 86_400.0
    # one 8-hour shift a day versus two
    one = WorkCalendar(np.arange(400) * day + 6 * 3600, np.arange(400) * day + 14 * 3600)
    two = WorkCalendar(np.arange(400) * day + 6 * 3600, np.arange(400) * day + 22 * 3600)
    e1 = LineEngine(base.with_calendar(one), seed=2)
    e2 = LineEngine(base.with_calendar(two), seed=2)
    v1 = e1.feed(50_000, keep=True)
    e2.feed(50_000)
    assert v1 is not None
    # nothing ends outside a working window
    t = v1.end.ravel()
    w = np.searchsorted(one.starts, t, side="right") - 1
    assert np.all((t > one.starts[w]) & (t <= one.ends[w]))
    r1, r2 = e1.result(), e2.result()
    assert r2.throughput_per_hour == pytest.approx(2 * r1.throughput_per_hour, rel=0.03)
    assert r1.stations[0].off_shift == pytest.approx(16 / 24, abs=0.01)


@pytest.mark.parametrize("keep_sequence", [True, False])
def test_feeding_in_chunks_is_identical_to_one_feed(keep_sequence: bool) -> None:
    line = make_line(
        [
            station("a", expo(50), failures={"basis": "calendar", "mtbf": 2000, "mttr": 300}),
            station(
                "b",
                {"dist": "lognormal", "mean": 45, "cv": 0.5},
                servers=2,
                failures={"basis": "operating", "mtbf": 3000, "mttr": 200},
            ),
            station("c", {"dist": "gamma", "mean": 40, "cv": 0.4}),
        ],
        [1, 0],
    )
    if not keep_sequence:
        # station b's jobs overtake: the event-driven kernel, resumed between feeds
        assert not line.in_build_order
        one = LineEngine(line, seed=9, chunk=5000)
        one.feed(5000)
        split = LineEngine(line, seed=9, chunk=333)
        split.feed(1234)
        split.feed(5000 - 1234)
        a, b = one.result(), split.result()
        assert a.jobs == b.jobs == 5000
        assert a.horizon_s == b.horizon_s and a.lead_time_mean_s == b.lead_time_mean_s
        assert [s.busy for s in a.stations] == pytest.approx([s.busy for s in b.stations])
        return
    line = dataclasses.replace(line, keep_sequence=np.ones(3, dtype=np.int64))
    whole = LineEngine(line, seed=9, chunk=5000).feed(5000, keep=True)
    parts = LineEngine(line, seed=9, chunk=333)
    first = parts.feed(1234, keep=True)
    second = parts.feed(5000 - 1234, keep=True)
    assert whole is not None and first is not None and second is not None
    assert_allclose(np.vstack([first.departure, second.departure]), whole.departure, rtol=0, atol=0)


def test_same_seed_same_result_other_seed_other_result() -> None:
    line = make_line([station("a", expo(50)), station("b", expo(45))], [2])
    a = simulate_line(line, 5000, seed=4)
    b = simulate_line(line, 5000, seed=4)
    c = simulate_line(line, 5000, seed=5)
    assert a.to_dict() == b.to_dict()
    assert a.throughput_per_hour != c.throughput_per_hour


def test_flow_invariants_hold_on_a_busy_line() -> None:
    line = make_line(
        [station("a", expo(50)), station("b", expo(48), servers=3), station("c", expo(47))], [0, 2]
    )
    v = LineEngine(line, seed=7).feed(20_000, keep=True)
    assert v is not None
    assert np.all(v.end >= v.entry) and np.all(v.departure >= v.end)
    assert np.all(v.entry[:, 1:] >= v.departure[:, :-1])
    for i in (0, 2):  # one server: jobs leave in the order they entered
        order = np.argsort(v.entry[:, i], kind="stable")
        assert np.all(np.diff(v.departure[order, i]) >= 0)
    assert np.any(np.diff(v.departure[:, 1]) < 0)  # b's three servers let jobs overtake
    # never more jobs between leaving a and leaving b than b's places (buffer 0 + 3 servers)
    t = v.departure[:, 0]
    between = np.searchsorted(np.sort(v.departure[:, 0]), t, side="right") - np.searchsorted(
        np.sort(v.departure[:, 1]), t, side="right"
    )
    assert between.max() <= 0 + 3


def test_littles_law_against_an_independent_count_of_jobs_in_the_line() -> None:
    line = make_line([station("a", expo(50)), station("b", expo(45))], [3])
    engine = LineEngine(line, seed=8)
    v = engine.feed(50_000, keep=True)
    assert v is not None
    result = engine.result()
    # integrate the number of jobs in the line from its arrival and departure events
    times = np.concatenate([v.entry[:, 0], v.departure[:, -1]])
    steps = np.concatenate([np.ones(len(v.entry)), -np.ones(len(v.entry))])
    order = np.argsort(times, kind="stable")
    times, steps = times[order], steps[order]
    count = np.cumsum(steps)
    area = float(np.sum(count[:-1] * np.diff(times)))
    wip = area / result.horizon_s
    lam = result.throughput_per_hour / 3600.0
    assert wip == pytest.approx(lam * result.lead_time_mean_s, rel=1e-6)
    assert wip == pytest.approx(result.wip_mean, rel=1e-6)


def test_feeder_join_waits_for_its_part() -> None:
    # a feeder (station 0) makes one part per vehicle; the main line (1 -> 2) needs it at 2
    base = make_line(
        [station("f", det(30)), station("m1", det(10)), station("m2", det(10))], [5, 0]
    )
    line = CompiledLine(
        **{
            **base.__dict__,
            "up": np.array([-1, -1, 1]),
            "down": np.array([2, 2, -1]),
            "feeders": np.array([[-1], [-1], [0]]),
        }
    )
    v = simulate_visits(line, np.tile([30.0, 10.0, 10.0], (5, 1)))
    # m2 can only start job j when the feeder has delivered part j (every 30 s)
    assert_allclose(v.entry[:, 2], [30, 60, 90, 120, 150])
    assert_allclose(v.departure[:, 2], [40, 70, 100, 130, 160])
    # the feeder is never starved: it works back to back
    assert_allclose(v.entry[:, 0], [0, 30, 60, 90, 120])


def test_statistics_add_up_to_the_clock() -> None:
    line = make_line(
        [
            station("a", expo(50), failures={"basis": "calendar", "mtbf": 3000, "mttr": 300}),
            station(
                "b", expo(45), servers=2, failures={"basis": "operating", "mtbf": 2000, "mttr": 100}
            ),
        ],
        [1],
    )
    day = 86_400.0
    cal = WorkCalendar(np.arange(200) * day + 6 * 3600, np.arange(200) * day + 20 * 3600)
    engine = LineEngine(line.with_calendar(cal), seed=1)
    engine.feed(20_000)
    for s in engine.result().stations:
        total = s.busy + s.blocked + s.starved + s.failed + s.off_shift
        assert total == pytest.approx(1.0, abs=1e-9)
        assert min(s.busy, s.blocked, s.starved, s.failed) >= 0


def test_peak_memory_does_not_grow_with_the_number_of_jobs() -> None:
    import tracemalloc

    line = make_line(
        [station("a", expo(50)), station("b", expo(45)), station("c", expo(40))], [2, 2]
    )

    def peak(n: int) -> int:
        engine = LineEngine(line, seed=1, chunk=1024)
        engine.feed(2048)  # allocate the engine's own buffers first
        tracemalloc.start()
        engine.feed(n)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(20_000), peak(400_000)
    assert large < 1.5 * small + 64_000


def test_the_result_as_a_dict_carries_every_figure_the_result_has() -> None:
    # a deterministic line worked out by hand: a 60 s station, then a 50 s one, one
    # place between; 100 jobs leave the second station every 60 s from 110 s on, so
    # T = 110 + 99 * 60 = 6050 s; bins of an hour for the bottleneck timeline
    line = make_line([station("a", det(60)), station("b", det(50))], [1])
    edges = np.array([0.0, 3600.0, 7200.0])
    result = simulate_line(line, 100, bin_edges=edges, name="hand")
    d = result.to_dict()
    assert d["line"] == "hand" and d["engine"] == "fast" and d["jobs"] == 100
    assert d["horizon_s"] == pytest.approx(6050.0)
    assert d["throughput_per_hour"] == pytest.approx(100 / 6050 * 3600)
    assert d["lead_time_mean_s"] == pytest.approx(110.0)  # 60 + 50, never blocked
    assert d["wip_mean"] == pytest.approx(100 * 110.0 / 6050)
    assert d["bottleneck"] == "a" and d["oee"] == pytest.approx(result.oee)
    a, b = d["stations"]
    assert (a["name"], a["servers"], b["name"]) == ("a", 1, "b")
    # a works from 0 to 6000 s of 6050; b 50 s in every 60 s from 60 s on
    assert a["utilisation"] == pytest.approx(6000 / 6050)
    assert b["utilisation"] == pytest.approx(5000 / 6050)
    for s in (a, b):
        shares = s["utilisation"] + s["blocked"] + s["starved"] + s["failed"]
        assert shares == pytest.approx(1.0)
        assert s["off_shift"] == 0.0 and s["failed"] == 0.0 and s["blocked"] == 0.0
        assert s["oee"] == pytest.approx(s["availability"] * s["performance"] * s["quality"])
    assert a["active_period_mean_s"] == pytest.approx(6000.0)  # one period, back to back
    assert b["active_period_mean_s"] == pytest.approx(50.0)
    assert d["bottleneck_timeline"] == [
        {"from_s": 0.0, "to_s": 3600.0, "station": "a"},
        {"from_s": 3600.0, "to_s": 7200.0, "station": "a"},
    ]
