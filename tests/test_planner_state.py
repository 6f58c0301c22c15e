"""The plant's part of a run's state (``plant.state``). A planner's part read into a fresh
plant: every edit a planner can get wrong is refused with the field and what is allowed,
a count of vehicles given as a number is spread over the phase's mix, placed vehicles
work at the ramp's speed, and the part a run writes reads back as the same plant. An
exact part of another plant is refused."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from evplant.errors import EvplantError
from evplant.plant import state as plant_state
from evplant.plant.model import Plant
from evplant.scenario import load_scenario

T = 6  # 2024-07, phase 1 at work
MIX = "{SU7: 0.75, YU7: 0.25}"
BOOTHS = "paint/booths"  # two servers, a store of ten after it
OVEN = "paint/oven-inspect"  # one server, after the booths' store


def fresh_plant(extra: tuple[str, ...] = ()) -> Plant:
    sets = ["venture=null", f"plant.phases.phase1.mix={MIX}", *extra]
    sc, _ = load_scenario("beijing-etown-2023", sets)
    return Plant(
        sc.plant,
        sc.variants,
        (sc.horizon.start, sc.horizon.end),
        np.random.SeedSequence(0),
        threads=False,
    )


def phase1(**got: Any) -> dict[str, Any]:
    return {"phases": {"phase1": {"built": 10_000, **got}}}


def released(part: dict[str, Any]) -> list[float]:
    """Vehicles placed, per variant (SU7, YU7)."""
    plant = fresh_plant()
    plant_state.apply_planner(plant, part, T)
    return [float(x) for x in plant.released_by_variant]


def test_a_number_of_vehicles_takes_the_phases_mix_spread_evenly() -> None:
    # the k-th vehicle takes the variant furthest behind its share: 3 of a 3:1 mix are
    # two SU7 and a YU7 (the share's largest remainder), 8 are six and two
    assert released(phase1(entrance=3)) == [2.0, 1.0]
    assert released(phase1(entrance=8)) == [6.0, 2.0]
    assert released(phase1(entrance=1)) == [1.0, 0.0]
    # counts by variant are taken as given, each variant's added to the others'
    assert released(phase1(entrance={"SU7": 2, "YU7": 3})) == [2.0, 3.0]
    got = released(phase1(entrance=2, stations={OVEN: {"YU7": 1}}, stores={BOOTHS: 4}))
    # the store's 4: SU7, SU7, YU7, SU7; the entrance's 2: SU7, SU7; the oven's YU7
    assert got == [5.0, 2.0]


def test_the_cars_built_set_the_phases_learning() -> None:
    # not given: none built
    plant = fresh_plant()
    plant_state.apply_planner(plant, {"phases": {"phase1": {"entrance": 1}}}, T)
    assert plant.phases[0].built == 0.0 and plant.in_work(plant.phases[0]) == 1
    plant = fresh_plant()
    plant_state.apply_planner(plant, phase1(), T)
    assert plant.phases[0].built == 10_000.0
    assert plant.phases[1].built == 0.0
    # none in work: the cars built were started, not owed (the month's record said
    # -10,000 in work before)
    assert plant.in_work(plant.phases[0]) == 0
    month = plant.step(T, np.array([100, 0]))
    assert month.phases[0].in_work == month.totals.released - month.totals.produced


@pytest.mark.parametrize(
    ("part", "expect"),
    [
        ([], "plant.phases: must be a mapping of phase to its state"),
        (
            {"phase1": {}, "phase3": {}},
            "plant.phases.phase3: 'phase3' is not a phase of this plant; "
            "allowed: ['phase1', 'phase2']",
        ),
        ({"phase1": 5}, "plant.phases.phase1: must be a mapping"),
        (
            {"phase1": {"built": -1}},
            "plant.phases.phase1.built: -1; allowed: cars built so far, 0 or more",
        ),
        (
            {"phase1": {"built": True}},
            "plant.phases.phase1.built: True; allowed: cars built so far, 0 or more",
        ),
        (
            {"phase1": {"built": "many"}},
            "plant.phases.phase1.built: 'many'; allowed: cars built so far, 0 or more",
        ),
        (
            {"phase1": {"stations": [1]}},
            "plant.phases.phase1.stations: must be a mapping of station to vehicles",
        ),
        (
            {"phase1": {"stores": 3}},
            "plant.phases.phase1.stores: must be a mapping of station to vehicles",
        ),
        (
            {"phase1": {"stores": {"paint/no-such": 1}}},
            "plant.phases.phase1.stores: 'paint/no-such' is not a station of this phase's "
            "main line; allowed: its stations' names (stamping/press-line, body/underbody, "
            "body/framing, ...; see the state a run writes)",
        ),
        (
            {"phase1": {"entrance": 2.5}},
            "plant.phases.phase1.entrance: 2.5 is not a whole number; allowed: 0, 1, 2, ...",
        ),
        (
            {"phase1": {"entrance": True}},
            "plant.phases.phase1.entrance: True is not a whole number; allowed: 0, 1, 2, ...",
        ),
        (
            {"phase1": {"entrance": "4"}},
            "plant.phases.phase1.entrance: '4' is not a whole number; allowed: 0, 1, 2, ...",
        ),
        (
            {"phase1": {"entrance": -3}},
            "plant.phases.phase1.entrance: -3 vehicles; allowed: 0 or more",
        ),
        (
            {"phase1": {"entrance": {"SU7": 1, "Model-Y": 2}}},
            "plant.phases.phase1.entrance.Model-Y: 'Model-Y' is not built by this phase; "
            "allowed: ['SU7', 'YU7']",
        ),
        (
            {"phase1": {"entrance": {"SU7": 1.5}}},
            "plant.phases.phase1.entrance.SU7: 1.5 is not a whole number; allowed: 0, 1, 2, ...",
        ),
        (
            {"phase1": {"stations": {OVEN: 2}}},
            f"plant.phases.phase1.stations.{OVEN}: 2 vehicles; allowed: at most its 1 servers",
        ),
        (
            {"phase1": {"stations": {BOOTHS: {"SU7": 2, "YU7": 1}}}},
            f"plant.phases.phase1.stations.{BOOTHS}: 3 vehicles; allowed: at most its 2 servers",
        ),
        (
            {"phase1": {"stores": {BOOTHS: 11}}},
            f"plant.phases.phase1.stores.{BOOTHS}: 11 vehicles; allowed: at most its 10 places",
        ),
        (
            {"phase1": {"stores": {BOOTHS: {"YU7": 0.5}}}},
            f"plant.phases.phase1.stores.{BOOTHS}.YU7: 0.5 is not a whole number; "
            "allowed: 0, 1, 2, ...",
        ),
    ],
)
def test_an_edit_a_planner_gets_wrong_is_refused_with_its_field(part: Any, expect: str) -> None:
    plant = fresh_plant()
    with pytest.raises(EvplantError) as err:
        plant_state.apply_planner(plant, {"phases": part}, T)
    assert str(err.value) == expect


def test_what_a_planner_may_place_fits_the_line() -> None:
    # as many as the servers and the places: accepted, and all of them in work
    plant = fresh_plant()
    part = phase1(stations={BOOTHS: 2, OVEN: 1}, stores={BOOTHS: 10}, entrance=0)
    plant_state.apply_planner(plant, part, T)
    assert plant.in_work(plant.phases[0]) == 13


def test_placed_vehicles_work_at_the_ramps_speed() -> None:
    # the same car placed at the entrance of a phase that has built none and of one
    # that has built a million: its work at every station scaled by the ramp's factor
    seen = []
    for built in (0, 1_000_000):
        plant = fresh_plant()
        plant_state.apply_planner(plant, phase1(built=built, entrance=1), T)
        factor = plant.ramp(plant.phases[0]).cycle_time_factor
        month = plant.step(T, np.zeros(2, dtype=np.int64))
        assert month.totals.produced == 1
        seen.append((factor, float(plant.phases[0].engine.bin_stats(T).busy_s.sum())))
    (slow, busy_slow), (fast, busy_fast) = seen
    assert slow > 1.2 * fast
    assert busy_slow / busy_fast == pytest.approx(slow / fast, rel=1e-9)


def test_the_planners_part_a_run_writes_reads_back_as_the_same_plant() -> None:
    # no store after paint, one place after body: a station with no store has none
    stores = (
        "plant.phases.phase1.shops.paint.store_after=0",
        "plant.phases.phase1.shops.body.store_after=1",
        "plant.phases.phase1.shops.die-casting.buffers=[0]",
    )
    plant = fresh_plant(stores)
    for t in range(T + 1):
        plant.step(t, np.array([9_000, 3_000]))
    part = plant_state.planner_part(plant, T)
    got = part["phases"]["phase1"]
    run = plant.phases[0]
    assert got["built"] == run.built > 0 and got["in_work"] == plant.in_work(run) > 0
    line = run.engine.line
    main = plant_state.line_state.main_line(run.engine)
    # a store after every main-line station that has one, and none after the last
    assert set(got["stations"]) == {line.names[i] for i in main}
    assert set(got["stores"]) == {
        line.names[i] for i in main if line.buffers[i] > 0 and line.down[i] >= 0
    }
    assert OVEN not in got["stores"] and "body/biw-check" in got["stores"]
    # the feeder lines' parts and the ramp, written for the reader (not read back)
    off_main = [i for i in range(line.m) if i not in main]
    where = plant_state.line_state.wip(run.engine, T)
    assert where is not None and off_main
    assert got["feeders"]["stations"] == {line.names[i]: int(where.at_station[i]) for i in off_main}
    assert got["feeders"]["stores"] == {
        line.names[i]: int(where.after_station[i]) for i in off_main if line.buffers[i] > 0
    }
    assert "die-casting/casting-cell" not in got["feeders"]["stores"]
    assert "die-casting/trim-inspect" in got["feeders"]["stores"]
    ramp = plant.ramp(run)
    assert got["ramp"] == {
        "cycle_time_factor": ramp.cycle_time_factor,
        "repair_time_factor": ramp.repair_time_factor,
        "defect_factor": ramp.defect_factor,
    }
    held = sum(got["stations"].values()) + sum(got["stores"].values())
    assert held > 0 and held + got["entrance"] == got["in_work"]
    # read into a fresh plant at the next month: the same learning and the same cars
    again = fresh_plant(stores)
    plant_state.apply_planner(again, part, T + 1)
    for a, b in zip(again.phases, plant.phases, strict=True):
        assert a.built == b.built and again.in_work(a) == plant.in_work(b)


def test_an_exact_part_of_another_plant_is_refused() -> None:
    plant = fresh_plant()
    plant.step(T, np.array([500, 0]))
    part = plant_state.exact_part(plant)
    del part["phases"]["phase2"]
    with pytest.raises(EvplantError) as err:
        plant_state.apply_exact(fresh_plant(), part)
    assert str(err.value) == (
        "exact.plant.phases: phases ['phase1'] are not this plant's ['phase1', 'phase2']"
    )
    part = plant_state.exact_part(plant)
    part["phases"]["phase1"]["engine"] = {}
    with pytest.raises(EvplantError) as err:
        plant_state.apply_exact(fresh_plant(), part)
    assert str(err.value).startswith("exact.plant.phases.phase1: does not fit this line (")
    # a part written before scrap was counted: none scrapped
    part = plant_state.exact_part(plant)
    for got in part["phases"].values():
        del got["scrapped"]
    again = fresh_plant()
    plant_state.apply_exact(again, part)
    assert [r.scrapped for r in again.phases] == [0.0, 0.0]
    assert [r.released for r in again.phases] == [r.released for r in plant.phases]
