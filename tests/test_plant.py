"""The plant layer: conservation of vehicles, capacity from the calendar, the ramp."""

from __future__ import annotations

import numpy as np
import pytest

from evplant.line.engine import LineEngine
from evplant.run import simulate
from evplant.scenario import load_scenario

SHORT = ["horizon.end=2024-12", "venture=null"]  # the plant alone: capacity-limited


def _run(extra: list[str]) -> dict[str, np.ndarray]:
    sc, _ = load_scenario("beijing-etown", [*SHORT, *extra])
    result = simulate(sc, 0)
    return {
        k: result.column(k)
        for k in result.monthly[0]
        if k not in ("month",) and not k.startswith("bottleneck")
    }


def test_every_vehicle_started_is_completed_or_in_work_month_by_month(monkeypatch) -> None:
    kept: list = []
    original = LineEngine.feed

    def feed(self, n, release=None, variants=None, **kw):  # keep every visit for the count
        kw["keep"] = True
        visits = original(self, n, release, variants, **kw)
        kept.append((id(self), release, visits))
        return visits

    monkeypatch.setattr(LineEngine, "feed", feed)
    sc, _ = load_scenario("beijing-etown", ["horizon.end=2025-03", "venture=null"])
    result = simulate(sc, 0)
    engines = sorted({k for k, _, _ in kept})
    entry = {e: np.concatenate([v.entry[:, 0] for k, _, v in kept if k == e]) for e in engines}
    out = {e: np.concatenate([v.departure[:, -1] for k, _, v in kept if k == e]) for e in engines}
    rel = {e: np.concatenate([r for k, r, _ in kept if k == e]) for e in engines}
    started = np.cumsum(result.column("started"))
    produced = np.cumsum(result.column("produced"))
    import datetime as dt

    t0 = dt.date(2024, 1, 1)
    for t, row in enumerate(result.monthly):
        y, m = map(int, row["month"].split("-"))
        end = (dt.date(y + m // 12, m % 12 + 1, 1) - t0).days * 86400.0
        entered = sum(int((entry[e] < end).sum()) for e in engines)
        left = sum(int((out[e] < end).sum()) for e in engines)
        released = sum(int((rel[e] < end).sum()) for e in engines)
        waiting = sum(int(((rel[e] < end) & (entry[e] >= end)).sum()) for e in engines)
        # the monthly table's counts agree with a direct count of the vehicles
        assert started[t] == entered
        assert produced[t] == left
        # conservation: released = completed + in the line + waiting for station 0
        assert released == left + (entered - left) + waiting
        assert entered - left >= 0


def test_two_shifts_build_about_twice_what_one_shift_does() -> None:
    mature = [
        "plant.ramp.experience_units=1000000",
        "plant.phases.phase2.sop=2030-01-01",
        "plant.phases.phase2.shifts.0.start=2030-01-01",
    ]
    one = _run([*mature, "plant.phases.phase1.shifts.1.shifts=1"])
    two = _run(mature)
    # July to December: phase 1 on one shift versus two, both at the mature rate
    ratio = two["produced"][6:].sum() / one["produced"][6:].sum()
    assert ratio == pytest.approx(2.0, rel=0.05)
    cap_ratio = two["capacity"][6:].sum() / one["capacity"][6:].sum()
    assert cap_ratio == pytest.approx(2.0, rel=0.01)


def test_capacity_is_derived_from_stations_and_calendar() -> None:
    res = _run(["plant.ramp.experience_units=1000000"])
    hours = res["working_hours_phase1"]
    # the slowest station net of failures sets the rate: paint booths, 2 x 142 s,
    # calendar failures 12 h / 45 min
    rate = 2 / 142 / (1 + 2700 / 43200) * 3600
    assert res["capacity_phase1"][6:] == pytest.approx(rate * hours[6:], rel=1e-6)
    assert np.all(res["produced"] <= res["capacity"] * 1.05 + 50)


def test_without_the_partner_the_ramp_is_slower() -> None:
    with_partner = _run([])
    without = _run(["plant.partner.enabled=false"])
    assert without["produced"][:6].sum() < 0.8 * with_partner["produced"][:6].sum()
    assert np.all(without["cycle_factor_phase1"][2:] >= with_partner["cycle_factor_phase1"][2:])


def test_nothing_is_built_before_start_of_production() -> None:
    res = _run([])
    assert res["produced"][0] == 0  # January 2024, before the SOP of 20 February
    assert res["produced_phase2"].sum() == 0  # phase 2 starts in July 2025
