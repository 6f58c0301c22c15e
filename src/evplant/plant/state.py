"""The plant's part of a run's state: per phase, learning reached and vehicles in work.

Two layers (see :mod:`evplant.state` for the file):

- **readable** (:func:`planner_part`): per phase, the cars built so far (the learning
  curves read them, :meth:`Plant.ramp`), the vehicles in work and where they are: at
  each main-line station, in each store after a main-line station, and waiting at the
  line's entrance (released, not yet at the first station); feeder lines' parts in
  work and the ramp's factors are written for the reader and not read back;
- **exact** (:func:`exact_part`): the same counters plus each phase's line engine
  (:mod:`evplant.line.state`) and the per-variant totals behind ``in_work_<v>``.

:func:`apply_planner` puts a readable part into a fresh plant: each phase's cars built
(so its ramp stands where the state says), and its vehicles placed at their stations
and stores at the start instant (:func:`evplant.line.state.place`), of the variants the
state names or, given as a number, of the phase's mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import EvplantError
from ..line import state as line_state
from .model import PhaseRun, Plant


def planner_part(plant: Plant, t: int) -> dict[str, Any]:
    """The readable state of every phase at the end of month ``t``."""
    phases: dict[str, Any] = {}
    for run in plant.phases:
        engine = run.engine
        line = engine.line
        ramp = plant.ramp(run)
        entry: dict[str, Any] = {
            "built": float(run.built),
            "in_work": plant.in_work(run),
        }
        where = line_state.wip(engine, t)
        if where is not None:
            main = line_state.main_line(engine)
            on_main = set(main)
            stations = {line.names[i]: int(where.at_station[i]) for i in main}
            stores = {
                line.names[i]: int(where.after_station[i])
                for i in main
                if int(line.down[i]) >= 0 and int(line.buffers[i]) > 0
            }
            entry["entrance"] = plant.in_work(run) - sum(stations.values()) - sum(stores.values())
            entry["stations"] = stations
            entry["stores"] = stores
            entry["feeders"] = {
                "stations": {
                    line.names[i]: int(where.at_station[i])
                    for i in range(line.m)
                    if i not in on_main
                },
                "stores": {
                    line.names[i]: int(where.after_station[i])
                    for i in range(line.m)
                    if i not in on_main and int(line.buffers[i]) > 0
                },
            }
        entry["ramp"] = {
            "cycle_time_factor": ramp.cycle_time_factor,
            "repair_time_factor": ramp.repair_time_factor,
            "defect_factor": ramp.defect_factor,
        }
        phases[run.name] = entry
    return {"phases": phases}


def exact_part(plant: Plant) -> dict[str, Any]:
    """Everything the plant carries from a month into the next."""
    return {
        "phases": {
            run.name: {
                "built": run.built,
                "released": run.released,
                "scrapped": run.scrapped,
                "engine": line_state.capture(run.engine),
            }
            for run in plant.phases
        },
        "released_v": plant.released_by_variant.copy(),
        "built_v": plant.built_by_variant.copy(),
        "scrapped_v": plant.scrapped_by_variant.copy(),
    }


def apply_exact(plant: Plant, part: Mapping[str, Any]) -> None:
    """Put an :func:`exact_part` back into a fresh plant of the same scenario and seed."""
    phases = part["phases"]
    if sorted(phases) != sorted(run.name for run in plant.phases):
        raise EvplantError(
            f"phases {sorted(phases)} are not this plant's "
            f"{sorted(run.name for run in plant.phases)}",
            field="exact.plant.phases",
        )
    for run in plant.phases:
        got = phases[run.name]
        run.built = float(got["built"])
        run.released = int(got["released"])
        run.scrapped = float(got.get("scrapped", 0.0))
        try:
            line_state.restore(run.engine, got["engine"])
            run.repair_factor = None  # its repair times are the state's: scale them anew
        except (line_state.StateMismatch, KeyError) as exc:
            raise EvplantError(
                f"does not fit this line ({exc})", field=f"exact.plant.phases.{run.name}"
            ) from None
    np.copyto(plant.released_by_variant, np.asarray(part["released_v"], dtype=float))
    np.copyto(plant.built_by_variant, np.asarray(part["built_v"], dtype=float))
    if "scrapped_v" in part:
        np.copyto(plant.scrapped_by_variant, np.asarray(part["scrapped_v"], dtype=float))


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise EvplantError(f"{value!r} is not a whole number; allowed: 0, 1, 2, ...", field=field)
    if value < 0:
        raise EvplantError(f"{value} vehicles; allowed: 0 or more", field=field)
    return int(value)


def _at_most(
    value: Any, field: str, names: list[str], mix: np.ndarray, room: int, what: str
) -> list[int]:
    """:func:`_by_variant`, refused where there are more vehicles than ``room``."""
    got = _by_variant(value, field, names, mix)
    if len(got) > room:
        raise EvplantError(
            f"{len(got)} vehicles; allowed: at most its {room} {what}", field=field
        )
    return got


def _by_variant(value: Any, field: str, names: list[str], mix: np.ndarray) -> list[int]:
    """Local variant index per vehicle: ``value`` a count (the phase's mix) or a mapping
    of variant to count."""
    if isinstance(value, Mapping):
        out: list[int] = []
        for name, n in value.items():
            if name not in names:
                raise EvplantError(
                    f"{name!r} is not built by this phase; allowed: {names}",
                    field=f"{field}.{name}",
                )
            out += [names.index(name)] * _count(n, f"{field}.{name}")
        return out
    n = _count(value, field)
    # the k-th vehicle takes the variant furthest behind its share: the mix, evenly spread
    given = np.zeros(len(mix))
    picks = []
    for k in range(n):
        v = int(np.argmax((k + 1) * mix - given))
        given[v] += 1
        picks.append(v)
    return picks


def apply_planner(plant: Plant, part: Mapping[str, Any], t: int) -> None:
    """Put a readable part into a fresh plant that starts at month ``t``: cars built
    (learning) and vehicles in work, placed at the start instant."""
    phases = part.get("phases")
    if not isinstance(phases, Mapping):
        raise EvplantError("must be a mapping of phase to its state", field="plant.phases")
    names = [run.name for run in plant.phases]
    for name in phases:
        if name not in names:
            raise EvplantError(
                f"{name!r} is not a phase of this plant; allowed: {names}",
                field=f"plant.phases.{name}",
            )
    runs = {run.name: run for run in plant.phases}
    for name, got in phases.items():
        if not isinstance(got, Mapping):
            raise EvplantError("must be a mapping", field=f"plant.phases.{name}")
        built = got.get("built", 0)
        if isinstance(built, bool) or not isinstance(built, int | float) or built < 0:
            raise EvplantError(
                f"{built!r}; allowed: cars built so far, 0 or more",
                field=f"plant.phases.{name}.built",
            )
        runs[name].built = float(built)
    # every phase's learning first: a phase's ramp reads what the earlier phases built
    for name, got in phases.items():
        _place(plant, runs[name], got, t, f"plant.phases.{name}")


def _place(plant: Plant, run: PhaseRun, got: Mapping[str, Any], t: int, field: str) -> None:
    engine = run.engine
    line = engine.line
    main = line_state.main_line(engine)
    index = {line.names[i]: i for i in main}
    variants = [plant.variants[v] for v in plant.phase_variants(run)]
    mix = plant.variant_share(run)
    first: list[int] = []
    kinds: list[int] = []
    stations = got.get("stations") or {}
    stores = got.get("stores") or {}
    for key, table in (("stations", stations), ("stores", stores)):
        if not isinstance(table, Mapping):
            raise EvplantError("must be a mapping of station to vehicles", field=f"{field}.{key}")
        for name in table:
            if name not in index:
                some = ", ".join(list(index)[:3])
                raise EvplantError(
                    f"{name!r} is not a station of this phase's main line; allowed: its "
                    f"stations' names ({some}, ...; see the state a run writes)",
                    field=f"{field}.{key}",
                )
    # build order: the vehicle furthest down the line is the oldest, so goes first
    for i in reversed(main):
        name = line.names[i]
        here = _at_most(
            stations.get(name, 0), f"{field}.stations.{name}", variants, mix,
            int(line.servers[i]), "servers",
        )  # fmt: skip
        first += [i] * len(here)
        kinds += here
        j = int(line.up[i])
        if j >= 0:
            before = line.names[j]
            store = _at_most(
                stores.get(before, 0), f"{field}.stores.{before}", variants, mix,
                int(line.buffers[j]), "places",
            )  # fmt: skip
            first += [i] * len(store)
            kinds += store
    waiting = _by_variant(got.get("entrance", 0), f"{field}.entrance", variants, mix)
    first += [main[0]] * len(waiting)
    kinds += waiting
    # the vehicles started so far: those built and those now in work (with none in
    # work, too: the built ones were started, or in work would count them as owed)
    run.released = int(run.built) + len(first)
    if not first:
        return
    state = plant.ramp(run)
    engine.line = line.with_repair_scale(state.repair_time_factor)
    run.repair_factor = state.repair_time_factor
    at = max(float(plant.edges[t]), run.sop_s)
    line_state.place(engine, np.array(first), np.array(kinds), at, scale=state.cycle_time_factor)
    pv = plant.phase_variants(run)
    np.add.at(plant.released_by_variant, np.array(pv)[np.array(kinds)], 1.0)
