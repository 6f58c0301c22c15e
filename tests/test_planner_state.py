"""A planner's state of the plant, read into a fresh plant (``plant.state.apply_planner``):
every edit a planner can get wrong is refused with the field and what is allowed, and
a count of vehicles given as a number is spread over the phase's mix."""

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


def fresh_plant() -> Plant:
    sc, _ = load_scenario("beijing-etown-2023", ["venture=null", f"plant.phases.phase1.mix={MIX}"])
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
