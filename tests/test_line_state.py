"""`evplant.line.state` on a line engine alone: a state taken between feeds and put into
a fresh engine continues bit for bit, on both compiled paths; a state that does not fit
the engine is refused, naming what does not fit; the work in progress it counts adds up
to the jobs fed less those done."""

from __future__ import annotations

import re

import numpy as np
import pytest

from evplant.line import state as line_state
from evplant.line.engine import LineEngine
from evplant.line.spec import CompiledLine, LineSpec


def line(
    overtake: bool, stations: int = 3, booths: int = 2, calendar: dict | None = None
) -> CompiledLine:
    spec: dict = {
        "stations": [
            {
                "name": f"s{i}",
                "cycle_time": {"dist": "lognormal", "mean": 60.0, "cv": 0.4},
                "servers": booths if i == 1 else 1,
                "keep_sequence": not overtake,
                "failures": {"basis": "operating", "mtbf": 3600, "mttr": 300},
            }
            for i in range(stations)
        ],
        "buffers": [2] * (stations - 1),
    }
    if calendar is not None:
        spec["calendar"] = calendar
    return LineSpec.model_validate(spec).compile()


def months(n: int) -> np.ndarray:
    return np.arange(n + 1) * 30 * 86400.0


@pytest.mark.parametrize("overtake", [False, True])
def test_a_state_taken_between_feeds_continues_bit_for_bit(overtake: bool) -> None:
    ln = line(overtake)
    edges = months(4)
    whole = LineEngine(ln, 7, bin_edges=edges, chunk=64)
    first = LineEngine(ln, 7, bin_edges=edges, chunk=64)
    rel = np.sort(np.random.default_rng(0).uniform(0, 4 * 30 * 86400.0, 600))
    cut = 250
    for eng, rows in ((whole, slice(0, 600)), (first, slice(0, cut))):
        eng.feed(len(rel[rows]), release=rel[rows], until=float(rel[rows][-1]))
    taken = line_state.capture(first)
    second = LineEngine(ln, 7, bin_edges=edges, chunk=64)
    line_state.restore(second, taken)
    second.feed(600 - cut, release=rel[cut:], until=float(rel[-1]))
    a, b = whole.result(), second.result()
    assert a.jobs == b.jobs == 600
    assert a.horizon_s == b.horizon_s and a.lead_time_mean_s == b.lead_time_mean_s
    for k in range(4):
        sa, sb = whole.bin_stats(k), second.bin_stats(k)
        assert np.array_equal(sa.jobs_out, sb.jobs_out)
        assert np.array_equal(sa.busy_s, sb.busy_s)
    # what is in work after the first feed: the jobs fed less those done
    wip = line_state.wip(first, 3)
    assert wip is not None
    in_work = int(wip.at_station.sum() + wip.after_station.sum())
    assert in_work == wip.entered_first - first.jobs_done


def test_a_state_from_another_line_or_path_is_refused_naming_what_does_not_fit() -> None:
    taken = line_state.capture(LineEngine(line(False), 1, bin_edges=months(2)))
    with pytest.raises(line_state.StateMismatch, match="m: 3 stations, this line has 4"):
        line_state.restore(LineEngine(line(False, 4), 1, bin_edges=months(2)), taken)
    with pytest.raises(
        line_state.StateMismatch,
        match="^path: the state was taken on the max-plus recursion, this line runs on the "
        "staggered recursion$",
    ):
        line_state.restore(LineEngine(line(True), 1, bin_edges=months(2)), taken)
    counting = line_state.capture(LineEngine(line(False), 1, bin_edges=months(2), stats=False))
    with pytest.raises(
        line_state.StateMismatch,
        match=re.escape("stats: the state counted jobs only (stats=False)") + "$",
    ):
        line_state.restore(LineEngine(line(False), 1, bin_edges=months(2)), counting)
    with pytest.raises(line_state.StateMismatch, match="books.bins"):
        line_state.restore(LineEngine(line(False), 1, bin_edges=months(5)), taken)


def test_a_state_whose_arrays_do_not_fit_is_refused_with_their_shapes() -> None:
    taken = line_state.capture(LineEngine(line(False), 1, bin_edges=months(2)))
    # a third booth: the failure streams' keys (station, server, ttf|ttr) do not fit
    wider = LineEngine(line(False, booths=3), 1, bin_edges=months(2))
    with pytest.raises(
        line_state.StateMismatch,
        match=re.escape("draws.fail_keys: uint64[3, 2, 2] does not fit uint64[3, 3, 2]"),
    ):
        line_state.restore(wider, taken)
    # a state edited by hand: the draws' counters as floats, repair codes cut short
    fresh = LineEngine(line(False), 1, bin_edges=months(2))
    counts = dict(taken, **{"draws.counts": taken["draws.counts"].astype(np.float64)})
    shape = list(taken["draws.counts"].shape)
    with pytest.raises(
        line_state.StateMismatch,
        match=re.escape(f"draws.counts: float64{shape} does not fit int64{shape}"),
    ):
        line_state.restore(fresh, counts)
    short = dict(taken, ttr_code=taken["ttr_code"][:, :2])
    with pytest.raises(line_state.StateMismatch, match="^ttr_code: another line's repair times$"):
        line_state.restore(LineEngine(line(False), 1, bin_edges=months(2)), short)
    # the event-driven path's own arrays: another kmax there too
    ev = line_state.capture(LineEngine(line(True), 1, bin_edges=months(2)))
    with pytest.raises(line_state.StateMismatch, match=r"draws\.fail_keys"):
        line_state.restore(LineEngine(line(True, booths=3), 1, bin_edges=months(2)), ev)


SHIFTS = {"shifts": [{"start": "06:00", "end": "14:00"}], "days": ["mon", "tue", "wed"]}


def test_a_state_from_another_calendar_is_refused() -> None:
    edges = months(3)
    shifts = line(False, calendar=SHIFTS)
    taken = line_state.capture(LineEngine(shifts, 1, bin_edges=edges))
    # the same line, always working: its calendar never ends
    with pytest.raises(line_state.StateMismatch, match="calendar_end"):
        line_state.restore(LineEngine(line(False), 1, bin_edges=edges), taken)
    always = line_state.capture(LineEngine(line(False), 1, bin_edges=edges))
    with pytest.raises(
        line_state.StateMismatch,
        match="^calendar_end: the state's line always works, this one has shifts$",
    ):
        line_state.restore(LineEngine(shifts, 1, bin_edges=edges), always)
    # other shifts: grown as far as the state's, the calendars still end apart
    late = dict(SHIFTS, shifts=[{"start": "14:00", "end": "22:00"}])
    with pytest.raises(
        line_state.StateMismatch, match="^calendar_end: the working calendar does not match$"
    ):
        line_state.restore(LineEngine(line(False, calendar=late), 1, bin_edges=edges), taken)
    # the same shifts: taken after the calendar grew, put back into a fresh engine
    engine = LineEngine(shifts, 1, bin_edges=months(40))
    start = float(shifts.calendar.end)
    rel = np.linspace(0.0, 3.0 * start, 400)
    engine.feed(len(rel), release=rel, until=float(rel[-1]))
    grown = line_state.capture(engine)
    assert grown["calendar_end"] > start
    again = LineEngine(shifts, 1, bin_edges=months(40))
    line_state.restore(again, grown)
    assert again.line.calendar.end == grown["calendar_end"]


def test_placing_jobs_needs_a_finite_instant() -> None:
    engine = LineEngine(line(False), 1, bin_edges=months(2))
    with pytest.raises(ValueError, match="finite instant"):
        line_state.place(engine, np.array([1]), np.array([0]), float("inf"))
    # nothing to place: nothing happens
    line_state.place(engine, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0.0)
    assert engine.draws.next_job == 0


@pytest.mark.parametrize("overtake", [False, True])
def test_a_state_is_a_copy_the_engine_runs_on_from(overtake: bool) -> None:
    # the plant takes a state mid-run and goes on: the state must not move with it; and
    # a ramp's repair scale travels with the state
    ln = line(overtake)
    edges = months(4)
    rel = np.sort(np.random.default_rng(1).uniform(0, 4 * 30 * 86400.0, 500))
    whole = LineEngine(ln, 3, bin_edges=edges, chunk=64)
    whole.line = whole.line.with_repair_scale(1.5)
    whole.feed(500, release=rel, until=float(rel[-1]))
    going = LineEngine(ln, 3, bin_edges=edges, chunk=64)
    going.line = going.line.with_repair_scale(1.5)
    going.feed(200, release=rel[:200], until=float(rel[199]))
    taken = line_state.capture(going)
    going.feed(300, release=rel[200:], until=float(rel[-1]))  # runs on after the capture
    again = LineEngine(ln, 3, bin_edges=edges, chunk=64)  # built with the spec's repairs
    line_state.restore(again, taken)
    assert np.array_equal(again.line.ttr_code, whole.line.ttr_code)
    again.feed(300, release=rel[200:], until=float(rel[-1]))
    a, b = whole.result(), again.result()
    assert (a.jobs, a.horizon_s, a.lead_time_mean_s) == (b.jobs, b.horizon_s, b.lead_time_mean_s)
    for k in range(4):
        assert np.array_equal(whole.bin_stats(k).failed_s, again.bin_stats(k).failed_s)


def test_the_work_in_progress_at_a_bin_end_is_counted_from_the_visits() -> None:
    ln = line(False, stations=4)
    edges = np.arange(9) * 3600.0
    engine = LineEngine(ln, 2, bin_edges=np.concatenate([edges, [np.inf]]), chunk=32)
    n = 300  # all at 0: a queue before the first station, and every buffer filling
    vis = engine.feed(n, release=np.zeros(n), keep=True)
    assert vis is not None
    for k in (2, 5):
        t = edges[k + 1]  # the end of bin k
        wip = line_state.wip(engine, k)
        assert wip is not None
        on = (vis.entry < t) & (vis.departure >= t)  # entered, not yet left
        after = (vis.departure[:, :-1] < t) & (vis.entry[:, 1:] >= t)  # left, not entered
        assert wip.at_station.tolist() == on.sum(axis=0).tolist()
        assert wip.after_station.tolist() == [*after.sum(axis=0).tolist(), 0]
        assert wip.entered_first == int((vis.entry[:, 0] < t).sum())
        assert 0 < wip.at_station.sum() + wip.after_station.sum() < n


def test_jobs_placed_mid_line_start_their_work_there() -> None:
    # a planner's state: at t = 1000 one job on the last station, one on the middle one
    # and one on the first; each works 60 s a station from where it stands, and the
    # stations before it are passed in zero time, not counted as visits
    spec = LineSpec.model_validate(
        {
            "stations": [
                {"name": f"s{i}", "cycle_time": {"dist": "deterministic", "value": 60.0}}
                for i in range(3)
            ],
            "buffers": [5, 5],
        }
    )
    engine = LineEngine(spec.compile(), 0, bin_edges=np.array([0.0, np.inf]))
    line_state.place(engine, np.array([2, 1, 0]), np.zeros(3, dtype=np.int64), 1000.0)
    r = engine.result()
    assert (r.jobs, r.horizon_s) == (3, 1180.0)  # the first-placed job: 1000 + 3 x 60
    month = engine.bin_stats(0)
    assert month.jobs_in.tolist() == [1.0, 2.0, 3.0]
    assert month.jobs_out.tolist() == [1.0, 2.0, 3.0]
    assert month.busy_s.tolist() == [60.0, 120.0, 180.0]
    # twice the learning factor, twice the work
    slow = LineEngine(spec.compile(), 0, bin_edges=np.array([0.0, np.inf]))
    line_state.place(slow, np.array([2]), np.zeros(1, dtype=np.int64), 1000.0, scale=2.0)
    assert slow.result().horizon_s == 1120.0
