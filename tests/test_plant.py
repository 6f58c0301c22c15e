"""The plant layer: conservation of vehicles, capacity from the calendar, the ramp."""

from __future__ import annotations

import numpy as np
import pytest

from evplant.line.engine import LineEngine
from evplant.run import simulate
from evplant.scenario import load_scenario

SHORT = ["horizon.end=2024-12", "venture=null"]  # the plant alone: capacity-limited


def _run(extra: list[str]) -> dict[str, np.ndarray]:
    sc, _ = load_scenario("beijing-etown-2023", [*SHORT, *extra])
    result = simulate(sc, 0)
    return {
        k: result.column(k)
        for k in result.monthly[0]
        if k not in ("month",) and not k.startswith("bottleneck")
    }


def test_every_vehicle_started_is_completed_or_in_work_month_by_month(monkeypatch) -> None:
    import datetime as dt

    kept: list = []
    original = LineEngine.feed

    def feed(self, n, release=None, variants=None, **kw):  # keep every visit for the count
        kw["keep"] = True
        visits = original(self, n, release, variants, **kw)
        kept.append((id(self), np.array(release), visits))
        return visits

    monkeypatch.setattr(LineEngine, "feed", feed)
    sc, _ = load_scenario("beijing-etown-2023", ["horizon.end=2025-03", "venture=null"])
    result = simulate(sc, 0)
    engines = sorted({k for k, _, _ in kept})
    assert len(engines) == 1  # phase 2 starts in July 2025: only phase 1 builds here
    # the vehicles' own records, one row each: release, entry to the first station,
    # departure from the last (nothing here is read from the plant's counters)
    rel = np.concatenate([r for _, r, _ in kept])
    entry = np.concatenate([v.entry[:, 0] for _, _, v in kept])
    out = np.concatenate([v.departure[:, -1] for _, _, v in kept])
    assert np.all(entry >= rel) and np.all(out > entry) and np.all(np.isfinite(out))
    t0 = dt.date(2024, 1, 1)
    start = 0.0
    for row in result.monthly:
        y, m = map(int, row["month"].split("-"))
        end = (dt.date(y + m // 12, m % 12 + 1, 1) - t0).days * 86400.0
        in_month = (rel >= start) & (rel < end)
        # the month's vehicles are released within it, so the plan's count is theirs
        assert row["released"] == int(in_month.sum())
        assert row["started"] == int(((entry >= start) & (entry < end)).sum())
        assert row["produced"] == int(((out >= start) & (out < end)).sum())
        # conservation: what was released by the month's end is completed or in work,
        # counted from the records against the plant's own running count
        assert row["in_work_phase1"] == int((rel < end).sum() - (out < end).sum())
        start = end
    # over the run: everything released was started, and the rest is still in work
    totals = {k: sum(r[k] for r in result.monthly) for k in ("released", "started", "produced")}
    assert totals["released"] == len(rel)
    assert totals["released"] - totals["produced"] == result.monthly[-1]["in_work_phase1"]
    assert totals["started"] <= totals["released"]


def test_two_shifts_build_about_twice_what_one_shift_does() -> None:
    mature = [
        "plant.ramp.experience_units=1000000",
        "plant.phases.phase2.sop=2030-01-01",
        "plant.phases.phase2.shifts.0.start=2030-01-01",
    ]
    one = _run([*mature, "plant.phases.phase1.shifts.1.shifts=1",
                "plant.phases.phase1.shifts.2.shifts=1"])  # June on, and the Q4 regime
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
