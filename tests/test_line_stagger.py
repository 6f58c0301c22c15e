"""The staggered recursion (``evplant.line._stagger``), the path of lines whose
parallel servers let jobs overtake, against an independent kernel and its own promise.

Truths used here, none computed by the staggered recursion:
- the event-driven kernel (``_events``), which walks instants in time order with a heap
  and shares no code with the recursion but ``_advance`` (how work follows from entry
  on one server): on identical draws both give every visit and every figure;
- causality: a job released after ``until`` cannot change the line before ``until``,
  so a month read when it ends (what the plant does) is never changed by later feeds;
- conservation: every job fed holds one token until it leaves; a drained line holds
  none.

The reference suite (``test_line_reference``, ``test_line_overtaking``,
``test_line_reference_joins``) checks the same path against SimPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from numpy.testing import assert_allclose

from evplant.errors import EvplantError
from evplant.line._named import CNT_FREE
from evplant.line.engine import LineEngine
from evplant.line.sampling import LineDraws
from evplant.line.spec import CompiledLine, LineSpec
from test_line_reference import cases, property_settings

MONTH = 30 * 86400.0


def on_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send overtaking lines to the event-driven kernel, as before the recursion."""
    monkeypatch.setattr(CompiledLine, "stagger", property(lambda self: None))


def plant_like(store: int = 6) -> CompiledLine:
    """Casting cells feeding a body line that joins them, paint booths that overtake,
    shifts and both failure bases: the built-in plant's features on five stations."""
    return LineSpec.model_validate(
        {
            "stations": [
                {
                    "name": "cells",
                    "servers": 2,
                    "cycle_time": {"dist": "lognormal", "mean": 110, "cv": 0.3},
                    "failures": {"basis": "operating", "mtbf": 20000, "mttr": 2400},
                },
                {"name": "body", "cycle_time": {"dist": "lognormal", "mean": 60, "cv": 0.1}},
                {
                    "name": "booths",
                    "servers": 3,
                    "cycle_time": {"dist": "lognormal", "mean": 170, "cv": 0.6},
                    "failures": {"basis": "calendar", "mtbf": 40000, "mttr": 2700},
                },
                {"name": "oven", "cycle_time": {"dist": "lognormal", "mean": 58, "cv": 0.1}},
                {"name": "assembly", "cycle_time": {"dist": "lognormal", "mean": 55, "cv": 0.2}},
            ],
            "buffers": [store, 2, 4, 3],
            "calendar": {
                "shifts": [{"start": "06:00", "end": "14:00"}, {"start": "14:00", "end": "22:00"}],
                "days": ["mon", "tue", "wed", "thu", "fri"],
            },
        }
    ).compile()


def releases(seed: int, months: int, per_month: int) -> list[np.ndarray]:
    """Each month's release times, spread at random over the month (their own stream)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return [t * MONTH + np.sort(rng.uniform(0, MONTH, per_month)) for t in range(months)]


def feed_by_month(
    engine: LineEngine, rel: list[np.ndarray], months: range, *, read: bool
) -> list[Any]:
    """Feed each month's jobs with the month's end as the promise; with ``read``, each
    month's figures as the plant reads them, right after."""
    seen = []
    for t in months:
        engine.feed(len(rel[t]), release=rel[t], until=(t + 1) * MONTH)
        if read:
            seen.append(engine.bin_stats(t))
    return seen


def monthly_engine(line: CompiledLine, seed: int, months: int) -> LineEngine:
    # one bin more than the months fed: the last bin takes whatever comes after it
    return LineEngine(line, seed, bin_edges=np.arange(months + 2) * MONTH, chunk=64)


def test_overtaking_lines_take_the_staggered_recursion_unless_it_cannot_run_them() -> None:
    line = plant_like()
    lag, ot = line.stagger or (None, None)
    assert ot is not None and lag is not None
    assert list(ot) == [1, 0, 1, 0, 0]
    # each station runs behind by what the overtaking stations before it add
    assert list(lag) == [0, 1, 1, 3, 3]
    assert LineEngine(line, 1)._stagger is not None
    # rework needs the event-driven kernel
    spec = line_spec_dict()
    spec["stations"][2]["on_defect"] = "scrap"
    spec["stations"][2]["first_pass_yield"] = 0.9
    assert LineSpec.model_validate(spec).compile().stagger is None
    # a place that would wait on a departure the next station has not reached: an
    # overtaking station of 4 servers feeding a station that also takes a second
    # line's parts through a store of none
    assert plant_like(store=0).stagger is not None  # the cells run one behind: fits
    deep = line_spec_dict()
    deep["stations"][0]["servers"] = 4
    deep["buffers"][0] = 0
    assert LineSpec.model_validate(deep).compile().stagger is not None
    # no overtaking at all: the max-plus recursion in build order
    keep = line_spec_dict()
    for s in keep["stations"]:
        s["keep_sequence"] = True
    assert LineSpec.model_validate(keep).compile().stagger is None


def line_spec_dict() -> dict[str, Any]:
    return {
        "stations": [
            {"name": "a", "servers": 2, "cycle_time": {"dist": "lognormal", "mean": 80, "cv": 0.4}},
            {"name": "b", "cycle_time": {"dist": "lognormal", "mean": 45, "cv": 0.2}},
            {
                "name": "c",
                "servers": 3,
                "cycle_time": {"dist": "lognormal", "mean": 120, "cv": 0.6},
            },
            {"name": "d", "cycle_time": {"dist": "lognormal", "mean": 40, "cv": 0.2}},
        ],
        "buffers": [1, 2, 0],
    }


@settings(property_settings, max_examples=60)
@given(cases())
def test_the_recursion_equals_the_event_driven_kernel_on_identical_draws(
    case: Any,
) -> None:
    line, seed, variants, p, release, keys = case
    if line.stagger is None:
        event("no overtaking station")
        return
    n = len(p)
    runs = []
    with pytest.MonkeyPatch.context() as mp:
        for force_events in (False, True):
            if force_events:
                on_events(mp)
            engine = LineEngine(line, seed, chunk=7)
            engine.draws.fail_keys = keys
            engine._start_state()
            assert (engine._stagger is None) == force_events
            try:
                vis = engine.feed(n, release=release, variants=variants, p=p, keep=True)
            except EvplantError:
                runs.append(None)
                continue
            runs.append((vis, engine.result()))
    if runs[0] is None or runs[1] is None:
        # a calendar without a spec that ends too early: both must say so
        assert runs[0] is None and runs[1] is None
        return
    (va, ra), (vb, rb) = runs
    for name in ("entry", "end", "departure", "repair"):
        assert_allclose(getattr(va, name), getattr(vb, name), atol=1e-6, rtol=0, err_msg=name)
    assert np.array_equal(va.server, vb.server)
    assert ra.jobs == rb.jobs == n
    assert ra.horizon_s == pytest.approx(rb.horizon_s, abs=1e-6)
    assert ra.lead_time_mean_s == pytest.approx(rb.lead_time_mean_s, abs=1e-6)
    for a, b in zip(ra.stations, rb.stations, strict=True):
        for name in ("busy", "blocked", "starved", "failed", "off_shift"):
            assert getattr(a, name) == pytest.approx(getattr(b, name), abs=1e-9), name


@pytest.mark.parametrize("seed", [3, 11])
def test_a_month_read_at_its_end_is_what_the_whole_run_gives_it(seed: int) -> None:
    # the plant reads month t right after feeding it: jobs fed later (released after
    # the promise) may not change it, and the event-driven kernel gives the same
    months = 5
    rel = releases(seed, months, 1400)
    engine = monthly_engine(plant_like(), seed, months)
    seen = feed_by_month(engine, rel, range(months), read=True)
    engine.drain()
    final = [engine.bin_stats(t) for t in range(months)]
    # (not failed_s: a calendar-time breakdown of an idle server is booked with the
    # server's next visit, on every path, so the end of a month may get it later)
    for t in range(months):
        for name in ("jobs_in", "jobs_out", "busy_s", "blocked_s", "done_by_variant"):
            assert np.array_equal(getattr(seen[t], name), getattr(final[t], name)), (t, name)
    # most of each month's jobs are built in it: the check is not of empty months
    assert all(s.jobs_out[-1] > 1000 for s in seen[1:])
    with pytest.MonkeyPatch.context() as mp:
        on_events(mp)
        other = monthly_engine(plant_like(), seed, months)
        assert other._stagger is None
        seen_events = feed_by_month(other, rel, range(months), read=True)
    for t in range(months):
        for name in ("jobs_in", "jobs_out", "done_by_variant"):
            assert np.array_equal(getattr(seen[t], name), getattr(seen_events[t], name)), (t, name)
        for name in ("busy_s", "blocked_s"):
            assert_allclose(getattr(seen[t], name), getattr(seen_events[t], name), rtol=1e-9)
    other.drain()
    for t in range(months):
        a, b = engine.bin_stats(t), other.bin_stats(t)
        for name in ("jobs_out", "busy_s", "blocked_s", "failed_s"):
            assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, err_msg=name)


def test_every_job_holds_one_token_until_the_recursion_has_it_leave() -> None:
    # a job takes a token as it is fed and gives it back when its departure from the
    # last station is worked out, which the recursion does off_last rows later; so
    # whatever the month, the tokens held are exactly the jobs it has not reached
    line = plant_like()
    lag, ot = line.stagger or (None, None)
    assert lag is not None and ot is not None
    off_last = int(lag[-1] + ot[-1] * (line.servers[-1] - 1))
    assert off_last == 3
    engine = monthly_engine(line, 5, 3)
    st = engine._stagger
    assert st is not None
    pool = len(st.free_tok)
    rel = releases(5, 3, 900)
    for t in range(3):
        engine.feed(900, release=rel[t], until=(t + 1) * MONTH)
        assert pool - int(st.cnt[CNT_FREE]) == off_last
        # and every job fed before the month's last hours is out, looked ahead or not
        assert engine.jobs_done >= 900 * (t + 1) - 40
    engine.drain()
    assert engine.jobs_done == 2700
    assert pool - int(st.cnt[CNT_FREE]) == off_last


def test_a_state_taken_between_months_continues_bit_for_bit() -> None:
    from evplant.line import state as line_state

    months = 4
    rel = releases(8, months, 1200)
    whole = monthly_engine(plant_like(), 8, months)
    feed_by_month(whole, rel, range(months), read=False)
    first = monthly_engine(plant_like(), 8, months)
    feed_by_month(first, rel, range(2), read=False)
    taken = line_state.capture(first)
    second = monthly_engine(plant_like(), 8, months)
    line_state.restore(second, taken)
    feed_by_month(second, rel, range(2, months), read=False)
    a, b = whole.result(), second.result()
    assert a.jobs == b.jobs == 4800
    assert a.horizon_s == b.horizon_s and a.lead_time_mean_s == b.lead_time_mean_s
    for k in range(months):
        assert np.array_equal(whole.bin_stats(k).busy_s, second.bin_stats(k).busy_s)


def test_the_look_ahead_needs_no_more_than_the_jobs_fed() -> None:
    # a line drained after every feed (keep=True) gives what one feed gives, where each
    # feed's jobs come after the line is empty (jobs fed after a drain enter after the
    # last departure)
    line = plant_like()
    draws = LineDraws(line, 4)
    v = draws.variants(300)
    p = draws.processing(v)
    gap = 10 * 86400.0
    release = np.concatenate([np.zeros(150), np.full(150, gap)])
    one = LineEngine(line, 4).feed(300, release=release, variants=v, p=p, keep=True)
    parts = LineEngine(line, 4)
    a = parts.feed(150, release=release[:150], variants=v[:150], p=p[:150], keep=True)
    b = parts.feed(150, release=release[150:], variants=v[150:], p=p[150:], keep=True)
    assert one is not None and a is not None and b is not None
    assert float(a.departure.max()) < gap  # the first half is out before the second
    assert_allclose(np.vstack([a.departure, b.departure]), one.departure, rtol=0, atol=0)


@pytest.mark.parametrize("store", [0, 3])
def test_a_main_line_source_that_joins_an_overtaking_feeder_takes_its_jobs_as_late(
    store: int,
) -> None:
    # feeder 0 -> 1 -> 2 (2 overtaking servers) joins station 3, the main line's own
    # source: 3 runs a row behind the feeder's end, so it takes job r at row r + 1
    # (found by the join suite's hypothesis search: one job, every buffer empty)
    import dataclasses

    from evplant.line.reference import simulate_reference

    spec = line_spec_dict()
    spec["stations"] = [
        {"name": f"s{i}", "cycle_time": {"dist": "exponential", "mean": 2.0}} for i in range(5)
    ]
    spec["stations"][2]["servers"] = 2
    spec["buffers"] = [0, 0, store, 0]
    line = LineSpec.model_validate(spec).compile()
    line = dataclasses.replace(
        line,
        up=np.array([-1, 0, 1, -1, 3]),
        down=np.array([1, 2, 3, 4, -1]),
        feeders=np.array([[-1], [-1], [-1], [2], [-1]]),
    )
    lag, _ = line.stagger or (None, None)
    assert lag is not None and list(lag) == [0, 0, 0, 1, 1]
    for n in (1, 2, 40):
        d = LineDraws(line, n)
        p = d.processing(d.variants(n))
        release = np.zeros(n)
        ref = simulate_reference(line, p, release, d.fail_keys)
        got = LineEngine(line, n, chunk=3).feed(
            n, release=release, variants=np.zeros(n, np.int64), p=p, keep=True
        )
        assert got is not None
        assert_allclose(got.departure, ref.visits.departure, atol=1e-9, rtol=0)
        assert np.array_equal(got.server, ref.visits.server)
