"""A line run's OEE, its parts and the line's figures against values worked out by hand
on lines whose every time is fixed: a saturated station with failures every 600 s of
work, two stations where the faster has two servers, a station that scraps, and a run
that built nothing. ``summarise`` turns the books into these figures for both engines,
so agreement between the engines cannot see a slip here; these numbers can."""

from __future__ import annotations

import numpy as np
import pytest

from evplant.line.engine import LineEngine, simulate_line
from evplant.line.spec import LineSpec


def det(value: float) -> dict[str, object]:
    return {"dist": "deterministic", "value": value}


def test_a_saturated_station_that_fails_every_600_s_of_work() -> None:
    # 95 jobs of 60 s from t = 0: 5,700 s of work, a 60 s repair after every 600 s of
    # it (9 of them: the 10th would come after the last job), so T = 5,700 + 540
    spec = LineSpec.model_validate(
        {
            "stations": [
                {
                    "name": "weld",
                    "cycle_time": det(60.0),
                    "ideal_cycle_time": 50.0,
                    "first_pass_yield": 0.95,  # defects pass: quality is the yield
                    "failures": {
                        "basis": "operating",
                        "time_to_failure": det(600.0),
                        "time_to_repair": det(60.0),
                    },
                }
            ],
            "buffers": [],
        }
    )
    r = simulate_line(spec.compile(), 95, 0)
    T = 5700.0 + 9 * 60.0
    assert r.horizon_s == pytest.approx(T)
    s = r.stations[0]
    assert s.busy == pytest.approx(5700.0 / T)
    assert s.failed == pytest.approx(540.0 / T)
    assert s.blocked == pytest.approx(0.0, abs=1e-12)
    assert s.starved == pytest.approx(0.0, abs=1e-12)
    assert s.off_shift == 0.0
    assert s.availability == pytest.approx(5700.0 / T)
    assert s.performance == pytest.approx(50.0 / 60.0)  # ideal 50 s, runs 60 s
    assert s.quality == pytest.approx(0.95)
    assert s.oee == pytest.approx(5700.0 / T * 50.0 / 60.0 * 0.95)
    # the line's OEE: good jobs at the ideal rate over the working time
    assert r.oee == pytest.approx(95 * 50.0 / T * 0.95)
    assert r.throughput_per_hour == pytest.approx(95 / T * 3600.0)
    # a job is in the line from its entry to the station (as the one before leaves):
    # the lead times add up to T, and one job is always there
    assert r.lead_time_mean_s == pytest.approx(T / 95)
    assert r.wip_mean == pytest.approx(1.0)


def test_two_stations_the_second_with_two_servers() -> None:
    # A (60 s) feeds B (two servers of 100 s: one job every 50 s), so A sets the pace:
    # job j leaves A at 60 (j + 1) and B 100 s later; T = 60 n + 100
    n = 40
    spec = LineSpec.model_validate(
        {
            "stations": [
                {"name": "a", "cycle_time": det(60.0)},
                {"name": "b", "servers": 2, "cycle_time": det(100.0)},
            ],
            "buffers": [1],
        }
    )
    r = simulate_line(spec.compile(), n, 0)
    T = 60.0 * n + 100.0
    assert r.horizon_s == pytest.approx(T)
    a, b = r.stations
    assert (a.busy, a.blocked) == (pytest.approx(60.0 * n / T), pytest.approx(0.0, abs=1e-12))
    assert a.starved == pytest.approx(100.0 / T)  # idle after its last job
    # B's shares are per server: 100 n server-seconds of 2 T
    assert b.busy == pytest.approx(100.0 * n / (2 * T))
    assert b.starved == pytest.approx(1.0 - 100.0 * n / (2 * T))
    assert b.performance == pytest.approx(100.0 * n / (2 * T))  # ideal = its own time
    assert b.availability == 1.0 and a.availability == 1.0
    # the line's ideal rate is its slowest station's, per server: A's 60 s
    assert r.oee == pytest.approx(n * 60.0 / T)
    # every job enters A as the one before leaves it: 60 s there, then 100 s at B
    assert r.lead_time_mean_s == pytest.approx(160.0)
    assert r.wip_mean == pytest.approx(160.0 * n / T)
    assert r.bottleneck == "a"


def test_a_station_that_scraps_counts_what_happened() -> None:
    spec = LineSpec.model_validate(
        {
            "stations": [
                {"name": "form", "cycle_time": det(30.0), "first_pass_yield": 0.98},
                {
                    "name": "audit",
                    "cycle_time": det(40.0),
                    "first_pass_yield": 0.8,
                    "on_defect": "scrap",
                },
            ],
            "buffers": [2],
        }
    )
    n = 2000
    engine = LineEngine(spec.compile(), 5, chunk=256)
    vis = engine.feed(n, release=np.zeros(n), keep=True)
    r = engine.result()
    audit = r.stations[1]
    assert r.jobs + r.scrapped == n
    assert audit.scrapped == r.scrapped > 0
    assert audit.jobs == n  # every job visits the audit once
    assert audit.quality == pytest.approx(1.0 - audit.scrapped / n)
    # the line's OEE counts good jobs only, so only the yield that passes scales it
    on = r.horizon_s
    assert r.oee == pytest.approx(r.jobs * 40.0 / on * 0.98)
    # lead time over every job that left, scrapped ones at their scrap
    left = np.nanmax(vis.departure, axis=1)
    assert np.isfinite(left).all()
    assert r.lead_time_mean_s == pytest.approx(np.mean(left - vis.entry[:, 0]))
    assert r.wip_mean == pytest.approx(np.sum(left - vis.entry[:, 0]) / r.horizon_s)


def test_a_run_that_built_nothing() -> None:
    spec = LineSpec.model_validate(
        {"stations": [{"name": "a", "cycle_time": det(60.0)}], "buffers": []}
    )
    r = LineEngine(spec.compile(), 0).result()
    assert (r.jobs, r.horizon_s, r.throughput_per_hour) == (0, 0.0, 0.0)
    assert (r.lead_time_mean_s, r.wip_mean, r.oee, r.bottleneck) == (0.0, 0.0, 0.0, "")
    s = r.stations[0]
    assert (s.busy, s.off_shift, s.availability, s.performance) == (0.0, 0.0, 0.0, 0.0)


def test_the_bottleneck_timeline_is_empty_where_nothing_worked() -> None:
    # two jobs of 60 s released 10 h apart, hourly bins: bins 1-9 saw no active period
    spec = LineSpec.model_validate(
        {"stations": [{"name": "a", "cycle_time": det(60.0)}], "buffers": []}
    )
    edges = np.concatenate([np.arange(13) * 3600.0, [np.inf]])
    engine = LineEngine(spec.compile(), 0, bin_edges=edges)
    engine.feed(2, release=np.array([0.0, 36_000.0]))
    r = engine.result()
    assert r.timeline == ["a", *[""] * 9, "a", "", ""]


def test_the_bottleneck_is_the_station_whose_work_is_longest() -> None:
    # A (40 s) feeds B (90 s): B works without a break and A is blocked behind it, so
    # B's active periods are the long ones, at the line's level and in every bin
    spec = LineSpec.model_validate(
        {
            "stations": [
                {"name": "a", "cycle_time": det(40.0)},
                {"name": "b", "cycle_time": det(90.0)},
            ],
            "buffers": [1],
        }
    )
    edges = np.concatenate([np.arange(4) * 1800.0, [np.inf]])
    engine = LineEngine(spec.compile(), 0, bin_edges=edges)
    engine.feed(60, release=np.zeros(60))
    r = engine.result()
    assert r.bottleneck == "b"
    assert r.timeline == ["b"] * 4
    assert r.stations[1].busy == pytest.approx(60 * 90.0 / r.horizon_s)
