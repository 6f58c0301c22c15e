"""A plant's marginal values: the cars a year one more server, store place or second
saved buys, at every station and store that could matter.

A lever is one unit of change at one place of a scenario's plant: a server at a
station, ``place_step`` places in the store after a shop, or the station's mean cycle
time (a central difference of +-``step``). Every lever of every phase is screened first
on the phase's mature line (its shops laid out as the plant lays them out, always
working, no ramp): a paired difference on the line engine, 20,000 jobs in a few tens of
milliseconds. Levers whose value there is below ``screen`` times the largest of their
kind in the phase are dropped: on the mature line they buy next to nothing while the
others are there, and a full run costs seconds. The rest are valued by full scenario
runs, each paired with the base on the same seed (common random numbers: the same
draws of every cycle time, failure and of the venture), on ``replications``
independent seeds for standard errors. Only the year that counts is simulated: the
horizon ends with it (the simulation is causal, so that year's output is the same).

Divided by a price (``plant.costs`` in the scenario, or one given), the values rank
where the next unit of money buys the most cars; ``optimise.plant_budget`` spends a
budget on them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import EvplantError
from ..seeds import child_seed
from .marginal import Kind, MarginalValue, MarginalValues

if TYPE_CHECKING:
    from ..scenario.load import Prepared
    from ..scenario.schema import Scenario

Loc = tuple[str | int, ...]
#: a plant design: (lever index, units added), sorted, no zeros
Design = tuple[tuple[int, int], ...]
#: one full run: the design, the replication, cycle-time factors (lever index, factor)
Key = tuple[Design, int, tuple[tuple[int, float], ...]]


@dataclass(frozen=True)
class Lever:
    """One unit of change at one place of the plant.

    ``name`` is ``phase/shop/station`` (servers, cycle time) or ``phase/shop store``;
    ``loc`` the location in the scenario's data it changes; ``base`` the value there;
    ``unit`` how much one unit adds (servers: 1; store: ``place_step`` places);
    ``mean_s`` the mature mean cycle time in seconds (cycle-time levers); ``cost`` the
    price of one unit (a server; a place, times ``unit`` for a store step).
    """

    kind: Kind
    name: str
    phase: int
    loc: Loc
    base: Any
    unit: int = 1
    mean_s: float = 0.0
    cost: float | None = None

    @property
    def unit_cost(self) -> float | None:
        """The price of one unit of this lever (a server, ``unit`` store places)."""
        return None if self.cost is None else self.cost * (self.unit if self.kind == "buffer"
                                                           else 1)


def levers(prepared: Prepared, place_step: int = 10, server_cost: float | None = None,
           place_cost: float | None = None) -> list[Lever]:
    """Every lever of the plant: a server and the cycle time of every station, and the
    store after every shop whose last station feeds another (the last shop's store
    holds nothing). Prices: as given, else from the scenario's ``plant.costs``."""
    sc = prepared.scenario
    costs = sc.plant.costs
    out: list[Lever] = []
    for p, phase in enumerate(sc.plant.phases):
        mains = [s.name for s in phase.shops if s.joins is None]
        for s, shop in enumerate(phase.shops):
            where = f"{phase.name}/{shop.name}"
            at: Loc = ("plant", "phases", p, "shops", s)
            for i, st in enumerate(shop.stations):
                price = server_cost if server_cost is not None else (
                    costs.server_cost(shop.name, st.name) if costs else None)
                out.append(Lever("server", f"{where}/{st.name}", p, (*at, "stations", i,
                                 "servers"), st.servers, cost=price))
                out.append(Lever("cycle_time", f"{where}/{st.name}", p,
                                 (*at, "stations", i), st,
                                 mean_s=st.cycle_time.mean * phase.cycle_time_scale))
            if shop.joins is not None or shop.name != mains[-1]:
                price = place_cost if place_cost is not None else (
                    costs.place_cost(shop.name) if costs else None)
                out.append(Lever("buffer", f"{where} store", p, (*at, "store_after"),
                                 shop.store_after, unit=place_step, cost=price))
    return out


def change(lever: Lever, units: float) -> list[tuple[Loc, Any]]:
    """(location, value) pairs of ``units`` of ``lever``: whole units added for servers
    and stores; for a cycle time, ``units`` is the factor on every one of its times."""
    if lever.kind == "cycle_time":
        st = lever.base
        out: list[tuple[Loc, Any]] = [
            ((*lever.loc, "cycle_time"), st.cycle_time.scaled(units).model_dump(mode="json"))]
        if st.variant_cycle_time:
            out.append(((*lever.loc, "variant_cycle_time"),
                        {v: d.scaled(units).model_dump(mode="json")
                         for v, d in st.variant_cycle_time.items()}))
        return out
    return [(lever.loc, int(lever.base) + int(units) * lever.unit)]


@dataclass
class PlantStudy:
    """Full scenario runs of plant designs, paired on common random numbers, cached.

    ``year``: the year whose output counts; the runs end with it. ``seed``: the root of
    the replications' seeds (replication ``r`` runs on ``child_seed(seed, r)``, the
    same for every design).
    """

    prepared: Prepared
    year: str
    seed: int = 0
    executor: Any = None
    runs: int = 0
    seconds: float = 0.0
    _cache: dict[Key, float] = field(default_factory=dict, repr=False)

    def scenario(self, lv: Sequence[Lever], design: Design,
                 scale: tuple[tuple[int, float], ...] = ()) -> Scenario:
        pairs = [c for k, u in design for c in change(lv[k], u)]
        pairs += [c for k, f in scale for c in change(lv[k], f)]
        label = ", ".join(f"{lv[k].name} +{u}" for k, u in design)
        return self.prepared.with_values([p[0] for p in pairs], [p[1] for p in pairs], label)

    def run(self, lv: Sequence[Lever], keys: Sequence[Key],
            progress: Callable[[int, int], None] | None = None) -> None:
        """Run every (design, replication, scale) not yet run, on the executor (each
        run is a pure function of its scenario and seed, so where it runs changes
        nothing); ``progress`` gets (done, in all)."""
        from ..experiments import make_executor

        todo = [k for k in dict.fromkeys(keys) if k not in self._cache]
        if not todo:
            return
        tasks = [(self.scenario(lv, d, sc), child_seed(self.seed, r), self.year)
                 for d, r, sc in todo]
        ex = self.executor if self.executor is not None else make_executor(1)
        t = time.perf_counter()
        done = 0
        for pairs in ex.run(_cars, tasks, [[i] for i in range(len(tasks))]):
            for i, v in pairs:
                self._cache[todo[i]] = v
                done += 1
            if progress is not None:
                progress(done, len(todo))
        self.seconds += time.perf_counter() - t
        self.runs += len(todo)

    def cars(self, lv: Sequence[Lever], design: Design, replication: int,
             scale: tuple[tuple[int, float], ...] = ()) -> float:
        """Cars produced in the year by the design on replication ``replication``."""
        key = (design, replication, scale)
        self.run(lv, [key])
        return self._cache[key]


def _cars(tasks: Sequence[tuple[Scenario, np.random.SeedSequence, str]],
          batch: Sequence[int]) -> list[tuple[int, float]]:
    """Cars in the year of each task of ``batch``: (index, cars); runs on a worker."""
    from ..run import simulate

    out = []
    for i in batch:
        sc, seed, year = tasks[i]
        res = simulate(sc, seed, stats=False)
        out.append((i, float(res.summary.plant["produced_by_year"].get(year, 0.0))))
    return out


def add(design: Design, k: int, units: int = 1) -> Design:
    """The design with ``units`` more of lever ``k``."""
    d = dict(design)
    d[k] = d.get(k, 0) + units
    return tuple(sorted((i, u) for i, u in d.items() if u))


def screen(prepared: Prepared, lv: Sequence[Lever], design: Design, *, jobs: int = 20_000,
           seed: int = 0, share: float = 0.05, step: float = 0.02,
           kinds: Sequence[Kind] = ("server", "cycle_time", "buffer")) -> dict[int, float]:
    """The levers worth a full run: value on the phase's mature line (jobs an hour per
    unit, paired on one seed) at least ``share`` of the largest of its kind there.
    Only levers of ``kinds`` are screened (and can be kept).

    Returns lever index -> its mature-line value, for the levers kept.
    """
    from ..line.calendar import WorkCalendar
    from ..plant.layout import layout_phase
    from .objective import compiled_throughput

    study = PlantStudy(prepared, "", seed)

    def rate(extra: Design, scale: tuple[tuple[int, float], ...], phase: int) -> float:
        spec = study.scenario(lv, tuple(sorted({**dict(design), **dict(extra)}.items())),
                              scale).plant.phases[phase]
        line = layout_phase(spec, WorkCalendar.always()).line
        return compiled_throughput(line, jobs, child_seed(seed, 7 + phase))

    values: dict[int, float] = {}
    for p in sorted({x.phase for x in lv}):
        base = rate((), (), p)
        for k, x in enumerate(lv):
            if x.phase != p or x.kind not in kinds:
                continue
            if x.kind == "cycle_time":
                fast, slow = rate((), ((k, 1 - step),), p), rate((), ((k, 1 + step),), p)
                values[k] = (fast - slow) / (2 * step * x.mean_s)
            else:
                values[k] = rate(((k, dict(design).get(k, 0) + 1),), (), p) - base
    kept: dict[int, float] = {}
    for p in sorted({x.phase for x in lv}):
        for kind in kinds:
            ks = [k for k, x in enumerate(lv) if x.phase == p and x.kind == kind]
            top = max((values[k] for k in ks), default=0.0)
            kept.update({k: values[k] for k in ks if top > 0 and values[k] >= share * top})
    return kept


def default_year(prepared: Prepared) -> str:
    """The first calendar year in which every phase produces from January (the last
    year of the horizon if there is none): a year at full strength, not a ramp."""
    sc = prepared.scenario
    first, last = int(str(sc.horizon.start)[:4]), int(str(sc.horizon.end)[:4])
    year = max(int(p.sop[:4]) + (p.sop[5:] > "01-01") for p in sc.plant.phases)
    return str(min(max(year, first), last))


def check_year(sc: Scenario, year: str | None, option: str = "--year") -> None:
    """Refuse a year outside the scenario's horizon."""
    first, last = str(sc.horizon.start)[:4], str(sc.horizon.end)[:4]
    if year is not None and not (year.isdigit() and first <= year <= last):
        raise EvplantError(f"a year within the horizon {first}..{last}, got {year!r}",
                           field=option)


def study_for(scenario: str | Path, year: str | None, seed: int,
              overrides: Sequence[str]) -> tuple[Prepared, PlantStudy]:
    """The scenario prepared, and a study of its ``year`` (checked against the
    horizon) whose runs end with that year."""
    from ..scenario.load import prepare

    base = prepare(scenario, overrides)
    check_year(base.scenario, year)
    year = year or default_year(base)
    try:  # the year's output does not depend on the months after it
        short = prepare(scenario, [*overrides, f"horizon.end={year}-12"])
    except EvplantError:  # a scenario that needs its whole horizon (a later phase's dates)
        short = base
    return base, PlantStudy(short, year, seed)


def _check(replications: int, place_step: int, screen_share: float,
           prices: Sequence[tuple[str, float | None]]) -> None:
    if replications < 2:
        raise EvplantError(f"must be at least 2, got {replications}", field="--replications")
    if place_step < 1:
        raise EvplantError(f"must be at least 1, got {place_step}", field="--place-step")
    if not 0 <= screen_share < 1:
        raise EvplantError(f"must be in [0, 1), got {screen_share}", field="--screen")
    for name, price in prices:
        if price is not None and not (price > 0 and math.isfinite(price)):
            raise EvplantError(f"must be a finite number > 0, got {price}", field=name)


def plant_marginal_values(
    scenario: str | Path,
    *,
    year: str | None = None,
    replications: int = 3,
    seed: int = 0,
    overrides: Sequence[str] = (),
    server_cost: float | None = None,
    place_cost: float | None = None,
    place_step: int = 10,
    screen_share: float = 0.05,
    step: float = 0.05,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MarginalValues:
    """Cars a year one more server, ``place_step`` store places, or a second of cycle
    time saved buys at every station and store the mature-line screen keeps.

    Parameters
    ----------
    scenario : str or pathlib.Path
        A built-in scenario name or a YAML file.
    year : str, optional
        The year whose output counts (default: the first year every phase produces
        from January).
    replications : int
        Independent seeds, each pairing the base with every lever.
    seed : int
        Root of the replications' seeds.
    overrides : sequence of str
        ``--set`` items applied first.
    server_cost, place_cost : float, optional
        Price of a server and of a store place for every station and store, instead of
        the scenario's ``plant.costs``.
    place_step : int
        Store places added at once (a place's value is the difference over this).
    screen_share : float
        Levers worth less than this share of the largest of their kind on the phase's
        mature line are not run (0: run every lever).
    step : float
        Relative change of a cycle time in the central difference.
    workers, scheduler
        Where the full runs go, as for ``run_mc``; the values do not depend on it.
    progress : callable, optional
        Called with (runs done, runs in all).

    Returns
    -------
    MarginalValues
        One value per lever kept; ``per_year`` is cars a year per unit (per server,
        per store place, per second saved), ``per_hour`` the same over 8,760 hours;
        ``screened_out`` names the levers the screen dropped; ``year`` the year.

    Raises
    ------
    EvplantError
        For a bad setting or scenario.
    """
    _check(replications, place_step, screen_share,
           (("--server-cost", server_cost), ("--place-cost", place_cost)))
    if not 0 < step < 0.5:
        raise EvplantError(f"must be between 0 and 0.5, got {step}", field="--step")
    from ..experiments import make_executor

    t0 = time.perf_counter()
    _, study = study_for(scenario, year, seed, overrides)
    lv = levers(study.prepared, place_step, server_cost, place_cost)
    kept = screen(study.prepared, lv, (), seed=seed, share=screen_share)
    chosen = sorted(kept)
    reps = range(1, replications + 1)

    def keys(k: int, r: int) -> list[Key]:
        if lv[k].kind == "cycle_time":
            return [((), r, ((k, 1 - step),)), ((), r, ((k, 1 + step),))]
        return [(((k, 1),), r, ())]

    study.executor = make_executor(workers, scheduler)
    try:
        study.run(lv, [((), r, ()) for r in reps]
                  + [x for r in reps for k in chosen for x in keys(k, r)], progress)
    finally:
        study.executor.close()
        study.executor = None  # a run missing from the cache would run here
    rows = np.empty((replications, len(chosen)))
    base_cars = np.array([study.cars(lv, (), r) for r in reps])
    for r in reps:
        for j, k in enumerate(chosen):
            x = lv[k]
            if x.kind == "cycle_time":
                fast, slow = (study.cars(lv, (), r, sc) for _, _, sc in keys(k, r))
                rows[r - 1, j] = (fast - slow) / (2 * step * x.mean_s)
            else:
                rows[r - 1, j] = (study.cars(lv, ((k, 1),), r) - base_cars[r - 1]) / x.unit
    values = [MarginalValue(lv[k].kind, lv[k].name, float(rows[:, j].mean()) / 8760.0,
                            _se(rows[:, j]) / 8760.0, lv[k].cost)
              for j, k in enumerate(chosen)]
    return MarginalValues(
        throughput_per_hour=float(base_cars.mean()) / 8760.0,
        throughput_se=_se(base_cars) / 8760.0,
        values=values,
        evaluations=study.runs,
        evaluations_per_second=study.runs / max(time.perf_counter() - t0, 1e-9),
        year=study.year,
        screened_out=[f"{x.kind}:{x.name}" for k, x in enumerate(lv) if k not in kept],
        screen_share=screen_share,
    )


def _se(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / math.sqrt(len(x)))
