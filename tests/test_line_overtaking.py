"""Parallel servers that let jobs overtake, against closed forms and the reference.

Truths used here, none computed by the compiled engine:
- k identical exponential servers kept busy (a saturated station) complete k / mean
  jobs a unit of time, whatever the order jobs leave in;
- the SimPy reference engine (``evplant.line.reference``), which models overtaking the
  plain way (a finished job asks for room downstream at once), on identical draws;
- the issue's line (40 s, k x 38k s lognormal cv 0.6, 40 s, buffers of 2): with
  overtaking, adding servers cannot lower the throughput; keeping the sequence does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from evplant.line.engine import LineEngine, simulate_line, simulate_visits
from evplant.line.reference import simulate_reference
from evplant.line.sampling import LineDraws
from evplant.line.spec import CompiledLine, LineSpec


def issue_line(k: int, keep: bool = False, buffers: int = 2) -> CompiledLine:
    det = {"dist": "deterministic", "value": 40}
    return LineSpec(
        stations=[
            {"name": "a", "cycle_time": det},
            {
                "name": "booths",
                "cycle_time": {"dist": "lognormal", "mean": 38.0 * k, "cv": 0.6},
                "servers": k,
                "keep_sequence": keep,
            },
            {"name": "c", "cycle_time": det},
        ],
        buffers=[buffers, buffers],
    ).compile()


@pytest.mark.parametrize("k", [2, 3, 5])
def test_k_exponential_servers_in_a_saturated_line_complete_k_over_mean(k: int) -> None:
    # a 1 s feeder keeps the station's buffer full, and nothing blocks it downstream
    mean = 60.0
    line = LineSpec(
        stations=[
            {"name": "feed", "cycle_time": {"dist": "deterministic", "value": 1.0}},
            {"name": "cells", "cycle_time": {"dist": "exponential", "mean": mean}, "servers": k},
        ],
        buffers=[4],
    ).compile()
    assert not line.in_build_order
    n = 60_000
    result = simulate_line(line, n, seed=7)
    # completions of a busy k-server station are Poisson at rate k / mean: the count
    # over the run has a relative standard deviation of 1 / sqrt(n)
    assert result.throughput_per_hour == pytest.approx(3600.0 * k / mean, rel=4 / np.sqrt(n))
    assert result.stations[1].utilisation == pytest.approx(1.0, abs=0.01)
    kept = simulate_line(dataclasses.replace(line, keep_sequence=np.ones(2, np.int64)), n, seed=7)
    # keeping the sequence idles servers behind a long job: strictly fewer
    assert kept.throughput_per_hour < 0.97 * result.throughput_per_hour


@pytest.mark.parametrize("k", [2, 3])
def test_the_issues_line_agrees_with_the_reference_and_more_booths_do_not_hurt(k: int) -> None:
    n = 3000
    fast = simulate_line(issue_line(k), n, seed=11)
    ref = simulate_line(issue_line(k), n, seed=11, engine="reference")
    assert fast.throughput_per_hour == pytest.approx(ref.throughput_per_hour, rel=1e-9)
    for a, b in zip(fast.stations, ref.stations, strict=True):
        for name in ("busy", "blocked", "starved"):
            assert getattr(a, name) == pytest.approx(getattr(b, name), abs=1e-6), name
    # the 40 s stations allow 90/h; the booths (94.7/h nominal) lose little with
    # overtaking, and keeping the sequence loses more the more booths there are
    assert 84.0 < fast.throughput_per_hour < 90.0
    kept = simulate_line(issue_line(k, keep=True), n, seed=11)
    assert kept.throughput_per_hour < fast.throughput_per_hour - 4.0


def test_more_overtaking_booths_never_cut_the_throughput_much() -> None:
    # the issue's backwards answer: with the sequence kept, 3 booths gave less than 2
    rates = [simulate_line(issue_line(k), 20_000, seed=3).throughput_per_hour for k in (1, 2, 3)]
    kept = [
        simulate_line(issue_line(k, keep=True), 20_000, seed=3).throughput_per_hour for k in (2, 3)
    ]
    assert kept[1] < kept[0]
    assert rates[2] >= rates[1] - 0.5  # sampling noise of 20,000 jobs: ~0.3/h


def resequencing_line() -> CompiledLine:
    return LineSpec(
        stations=[
            {"name": "a", "cycle_time": {"dist": "exponential", "mean": 20}},
            {
                "name": "booths",
                "cycle_time": {"dist": "lognormal", "mean": 75, "cv": 0.8},
                "servers": 4,
            },
            {
                "name": "ga",
                "cycle_time": {"dist": "deterministic", "value": 21},
                "resequence": True,
            },
        ],
        buffers=[2, 30],
    ).compile()


def test_a_resequencing_store_restores_much_of_the_build_order() -> None:
    line = resequencing_line()
    draws = LineDraws(line, 5)
    p = draws.processing(draws.variants(2000))
    ref = simulate_reference(line, p)
    got = simulate_visits(line, p)
    assert_allclose(got.departure, ref.visits.departure, atol=1e-6, rtol=0)
    plain = dataclasses.replace(line, resequence=np.zeros(3, np.int64))
    mixed = simulate_visits(plain, p)

    def out_of_order(dep: np.ndarray) -> int:
        order = np.argsort(dep[:, -1])
        return int(np.sum(np.diff(order) < 0))

    assert out_of_order(got.departure) < out_of_order(mixed.departure) / 2


def test_resequence_needs_a_buffer_before_the_station() -> None:
    with pytest.raises(ValueError, match="resequence"):
        LineSpec(
            stations=[
                {
                    "name": "a",
                    "cycle_time": {"dist": "deterministic", "value": 1},
                    "resequence": True,
                }
            ]
        )


def test_chunks_and_promises_do_not_change_an_overtaking_run() -> None:
    # the event-driven kernel stops and resumes between feeds: the same jobs fed in
    # one call, in chunks of 7, or a month at a time with a promise, give the same run
    line = issue_line(3)
    n = 500
    draws = LineDraws(line, 2)
    v = draws.variants(n)
    p = draws.processing(v)
    release = np.cumsum(np.full(n, 30.0))
    whole = LineEngine(line, 2, chunk=n).feed(n, release=release, variants=v, p=p, keep=True)
    assert whole is not None
    stepped = LineEngine(line, 2, chunk=7)
    for lo in range(0, n, 100):
        stepped.feed(
            100,
            release=release[lo : lo + 100],
            variants=v[lo : lo + 100],
            p=p[lo : lo + 100],
            until=release[min(lo + 100, n - 1)],
        )
    stepped.drain()
    one = LineEngine(line, 2, chunk=n)
    one.feed(n, release=release, variants=v, p=p)
    a, b = stepped.result(), one.result()
    assert a.jobs == b.jobs == n
    assert a.horizon_s == pytest.approx(b.horizon_s, abs=1e-9)
    assert a.lead_time_mean_s == pytest.approx(b.lead_time_mean_s, abs=1e-6)
    ref = simulate_reference(line, p, release)
    assert_allclose(whole.departure, ref.visits.departure, atol=1e-6, rtol=0)
    assert pytest.approx(b.horizon_s, abs=1e-6) == ref.T


def test_the_built_in_plants_booths_and_cells_overtake() -> None:
    import datetime as dt

    from evplant.line.engine import LineEngine
    from evplant.plant.calendar import phase_calendar
    from evplant.plant.layout import layout_phase
    from evplant.scenario.load import load_scenario

    def phase_line(name: str, overrides: list[str], k: int = 0) -> CompiledLine:
        spec: Any = load_scenario(name, overrides)[0]
        phase = spec.plant.phases[k]
        # a year the phase works in (phase 2 starts in 2025)
        year = dt.date(2024 + k, 1, 1), dt.date(2026, 1, 1)
        calendar = phase_calendar(phase, set(), *year)
        assert calendar is not None
        return layout_phase(phase, calendar).line

    def overtaking(line: CompiledLine) -> set[str]:
        return {name for name, o in zip(line.names, line.overtakes, strict=True) if o}

    # the plan and its calibration, both phases: a car leaves a booth (a casting a
    # cell) as soon as it is done, and the lines run on the staggered recursion
    for name in ("beijing-etown", "beijing-etown-2023"):
        for k in (0, 1):
            line = phase_line(name, [], k)
            assert overtaking(line) == {"paint/booths", "die-casting/casting-cell"}
            assert line.stagger is not None
            assert LineEngine(line, 0)._stagger is not None
    # keep_sequence keeps the build order: the max-plus recursion
    shops = "plant.phases.phase1.shops"
    kept = [
        f"{shops}.paint.stations.booths.keep_sequence=true",
        f"{shops}.die-casting.stations.casting-cell.keep_sequence=true",
    ]
    assert overtaking(phase_line("beijing-etown", kept)) == set()
