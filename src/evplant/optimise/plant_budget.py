"""Spend a budget on a plant: greedy by cars a year per unit of money.

Each step screens the current design's servers and stores on the mature lines
(``plant.screen``: relieving one bottleneck makes another station matter, so the
screen is redone every step), runs the ``shortlist`` priced levers that still fit the
money left and that the screen values most per unit of money, each paired with the
current design on the same seeds (common random numbers), and buys the one with the
most cars per unit of money, if its gain is clear of its noise (mean above twice its
standard error). It stops when nothing affordable gains. Greedy is the method of
choice here, not an exact one: each evaluation is a scenario run of seconds, and the
servers and stores of a plant are few and lumpy, so the step that buys most per yuan
is what a planner would buy first anyway; the result reports each step.

Store places are bought in lumps costing at least ``lump_share`` of the budget
(whole ``place_step``s), so that a budget is spent in tens of steps, not hundreds.
The design bought is then run again against the plant as it is on fresh seeds,
never seen by the search, so that its gain is not a lucky draw of the search's seeds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EvplantError
from .plant import Design, Lever, PlantStudy, _check, add, change, levers, screen, study_for

#: replication numbers of the fresh seeds start here (the search's are 1..R)
FRESH = 1_000


@dataclass(frozen=True)
class Purchase:
    """One step of the allocation: the lever bought, its price, the cars a year it
    gained over the design before it (mean and standard error on the search's seeds),
    and the money spent after it."""

    kind: str
    name: str
    units: int
    cost: float
    gain: float
    gain_se: float
    spent: float


@dataclass
class PlantAllocation:
    """What a budget buys: ``purchases`` in the order bought; ``changes`` the design
    (``path=value`` items, runnable with ``--set``); ``cars``/``base_cars`` the year's
    output with and without them on the fresh seeds, ``gain``/``gain_se`` their paired
    difference."""

    year: str
    budget: float
    spent: float
    purchases: list[Purchase]
    changes: list[str]
    base_cars: float
    cars: float
    gain: float
    gain_se: float
    runs: int
    wall_s: float
    fresh: int
    candidates: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "year": self.year,
            "budget": self.budget,
            "spent": self.spent,
            "purchases": [p.__dict__ for p in self.purchases],
            "changes": self.changes,
            "base_cars": self.base_cars,
            "cars": self.cars,
            "gain": self.gain,
            "gain_se": self.gain_se,
            "fresh_seeds": self.fresh,
            "runs": self.runs,
            "wall_s": self.wall_s,
            "candidates_per_step": self.candidates,
        }


def allocate_plant(
    scenario: str | Path,
    budget: float,
    *,
    year: str | None = None,
    replications: int = 3,
    fresh: int = 5,
    seed: int = 0,
    overrides: Sequence[str] = (),
    server_cost: float | None = None,
    place_cost: float | None = None,
    place_step: int = 10,
    screen_share: float = 0.05,
    max_steps: int = 50,
    shortlist: int = 8,
    lump_share: float = 0.05,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> PlantAllocation:
    """Spend at most ``budget`` on servers and store places, greedily by cars a year
    per unit of money, on common random numbers; re-run the result on fresh seeds.

    Parameters
    ----------
    scenario : str or pathlib.Path
        A built-in scenario name or a YAML file; prices from its ``plant.costs``.
    budget : float
        Money to spend at most.
    year : str, optional
        The year whose output counts (default as for ``plant_marginal_values``).
    replications : int
        Seeds each step's comparisons are paired on.
    fresh : int
        Fresh seeds the final design is compared with the plant as it is on.
    seed : int
        Root of every seed.
    overrides : sequence of str
        ``--set`` items applied first.
    server_cost, place_cost : float, optional
        Prices for every station and store, instead of the scenario's.
    place_step : int
        Store places bought at once.
    screen_share : float
        As for ``plant_marginal_values``.
    max_steps : int
        Purchases at most.
    shortlist : int
        Levers a step runs in full: those the screen values most per unit of money.
    lump_share : float
        Store places are bought in whole ``place_step``s costing at least this share
        of the budget (0: one ``place_step`` at a time).
    workers, scheduler
        Where the full runs go, as for ``run_mc``; the result does not depend on it.
    progress : callable, optional
        Called with a line after each purchase.

    Returns
    -------
    PlantAllocation
        The purchases, the design as ``--set`` items and its gain on fresh seeds.

    Raises
    ------
    EvplantError
        For a bad setting, or when nothing has a price (the scenario has no
        ``plant.costs`` and no price was given).
    """
    _check(replications, place_step, screen_share,
           (("--server-cost", server_cost), ("--place-cost", place_cost)))
    if not (budget > 0 and math.isfinite(budget)):
        raise EvplantError(f"must be a finite number > 0, got {budget}", field="--budget")
    if not 0 <= lump_share <= 1:
        raise EvplantError(f"must be in [0, 1], got {lump_share}", field="--lump")
    for name, value, low in (("fresh", fresh, 2), ("max-steps", max_steps, 1),
                             ("shortlist", shortlist, 1)):
        if value < low:
            raise EvplantError(f"must be at least {low}, got {value}", field=f"--{name}")
    t0 = time.perf_counter()
    _, study = study_for(scenario, year, seed, overrides)
    lv = [lump(x, budget * lump_share) for x in
          levers(study.prepared, place_step, server_cost, place_cost)]
    priced = {k for k, x in enumerate(lv) if x.kind != "cycle_time" and x.unit_cost}
    if not priced:
        raise EvplantError(
            "a budget needs prices: add a plant.costs section to the scenario (server, "
            "store_place) or give --server-cost and --place-cost", field="--budget")
    from ..experiments import make_executor

    study.executor = make_executor(workers, scheduler)
    try:
        design, spent, bought, sizes = _greedy(study, lv, priced, budget, replications,
                                               seed, screen_share, max_steps, shortlist,
                                               progress)
        fresh_reps = range(FRESH + 1, FRESH + 1 + fresh)
        study.run(lv, [(d, r, ()) for r in fresh_reps for d in ((), design)])
    finally:
        study.executor.close()
        study.executor = None  # a run missing from the cache would run here
    before = np.array([study.cars(lv, (), r) for r in fresh_reps])
    after = np.array([study.cars(lv, design, r) for r in fresh_reps])
    changes = [f"{named(study.prepared.data, loc)}={value}"
               for k, u in design for loc, value in change(lv[k], u)]
    return PlantAllocation(
        year=study.year, budget=float(budget), spent=spent, purchases=bought,
        changes=changes, base_cars=float(before.mean()), cars=float(after.mean()),
        gain=float((after - before).mean()), gain_se=_se(after - before), runs=study.runs,
        wall_s=time.perf_counter() - t0, fresh=fresh, candidates=sizes,
    )


def lump(lever: Lever, least: float) -> Lever:
    """A store lever bought in lumps of whole ``place_step``s costing at least
    ``least``: places are cheap next to a budget, and one step of ten places at a time
    would take hundreds of steps of full runs to spend it."""
    if lever.kind != "buffer" or lever.cost is None:
        return lever
    steps = max(1, math.ceil(least / (lever.cost * lever.unit) - 1e-9))
    return replace(lever, unit=lever.unit * steps)


def _greedy(study: PlantStudy, lv: Sequence[Lever], priced: set[int], budget: float,
            replications: int, seed: int, screen_share: float, max_steps: int,
            shortlist: int, progress: Callable[[str], None] | None,
            ) -> tuple[Design, float, list[Purchase], list[int]]:
    """The purchases, step by step: (design, money spent, purchases, levers run a step)."""
    reps = range(1, replications + 1)
    design: Design = ()
    spent = 0.0
    bought: list[Purchase] = []
    sizes: list[int] = []
    while len(bought) < max_steps:
        left = budget - spent
        kept = screen(study.prepared, lv, design, seed=seed, share=screen_share,
                      kinds=("server", "buffer"))
        fits = [k for k in kept if k in priced and (lv[k].unit_cost or 0) <= left + 1e-9]
        # the shortlist: the best per unit of money on the mature lines get full runs
        fits.sort(key=lambda k: (-kept[k] / (lv[k].unit_cost or 1.0), k))
        ks = sorted(fits[:shortlist])
        sizes.append(len(ks))
        if not ks:
            break
        study.run(lv, [(d, r, ()) for r in reps
                       for d in (design, *(add(design, k) for k in ks))])
        base = np.array([study.cars(lv, design, r) for r in reps])
        best: tuple[float, int, np.ndarray] | None = None
        for k in ks:
            gain = np.array([study.cars(lv, add(design, k), r) for r in reps]) - base
            per = gain.mean() / (lv[k].unit_cost or 1.0)
            if gain.mean() > 2 * _se(gain) and (best is None or per > best[0]):
                best = (per, k, gain)
        if best is None:
            break
        _, k, gain = best
        design = add(design, k)
        spent += lv[k].unit_cost or 0.0
        x = lv[k]
        bought.append(Purchase(x.kind, x.name, x.unit, x.unit_cost or 0.0, float(gain.mean()),
                               _se(gain), spent))
        if progress is not None:
            progress(f"bought {x.name} {'+' + str(x.unit)} for {x.unit_cost:,.0f}: "
                     f"+{gain.mean():,.0f} cars ({spent:,.0f} of {budget:,.0f} spent)")
    return design, spent, bought, sizes


def named(data: Any, loc: Sequence[str | int]) -> str:
    """A location as a ``--set`` path, list items by their ``name``
    (``plant.phases.phase1.shops.paint.stations.booths.servers``)."""
    parts, node = [], data
    for key in loc:
        node = node.get(key) if isinstance(node, dict) else node[key]
        parts.append(str(node["name"]) if isinstance(key, int) and isinstance(node, dict)
                     and "name" in node else str(key))
    return ".".join(parts)


def _se(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else 0.0

