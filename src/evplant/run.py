"""The month loop: supply -> plant -> market -> finance, month by month.

Each layer is an object holding its own state and random streams; the loop only
passes values between them, so every layer can be tested alone and a run is a pure
function of (scenario, seed).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from .months import held_from
from .months import months as month_range
from .plant.model import PhaseRun, Plant
from .plant.spec import PhaseSpec
from .records import DictView, PlantTotals, Record, WideRows, wide
from .scenario import timeline
from .scenario.schema import Scenario
from .seeds import as_seed_sequence, child_seed
from .venture import Venture

if TYPE_CHECKING:
    from .state import RunState


class Summary(DictView):
    """A run's figures, typed; a read-only mapping with the keys of ``summary.json``.

    The plant's figures are attributes; ``venture`` holds the venture's (NPV, cash,
    break-even, totals), ``notes`` what a planner should know about the run's dates and
    orders (:mod:`evplant.scenario.timeline`), ``timeline`` the scenario's timeline as
    rows for the report's chart; ``source``/``seed``/``overrides`` say how the run was
    made, ``central`` which uncertain values it set to their law's centre (path, label,
    law, written, central: :mod:`evplant.experiments.central`) (set by the CLI; left
    out of :meth:`to_dict` while None).
    """

    def __init__(
        self,
        plant: PlantSummary,
        venture: Mapping[str, Any] | None = None,
        *,
        source: str | None = None,
        seed: int | None = None,
        overrides: list[str] | None = None,
        central: list[dict[str, Any]] | None = None,
        notes: list[str] | None = None,
        timeline: list[dict[str, str]] | None = None,
    ) -> None:
        self.plant = plant
        self.venture = dict(venture or {})
        self.notes = list(notes or [])
        self.timeline = list(timeline or [])
        self.source, self.seed, self.overrides = source, seed, overrides
        self.central = central

    def to_dict(self) -> dict[str, Any]:
        """The summary as written to ``summary.json``."""
        out: dict[str, Any] = dict(self.plant)
        out.update(self.venture)
        out["notes"], out["timeline"] = list(self.notes), list(self.timeline)
        for key in ("source", "seed", "overrides", "central"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


class PlantSummary(TypedDict):
    scenario: str
    horizon: str
    vehicles_produced: float
    produced_by_year: dict[str, float]
    capacity_by_year: dict[str, float]
    rate_target_per_year: float
    shops: list[str]
    first_month_at_target_rate: str | None
    first_month_capacity_at_target_rate: str | None
    peak_month_produced: float
    bottleneck_shop: str | None
    bottleneck_station: str | None
    bottleneck_shop_months: dict[str, int]
    partner: str | None
    in_work_at_end: float
    phase_settings: list[dict[str, Any]]


@dataclass
class RunResult:
    """A run: its records (the typed output, :mod:`evplant.records`), the wide monthly
    table built from them, and its summary."""

    scenario: str
    seed: int
    records: list[Record]
    summary: Summary
    #: the run's state at the end of each month asked for (``state_at``), by month:
    #: the documents of :mod:`evplant.state`
    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    @functools.cached_property
    def monthly(self) -> WideRows:
        """One row per month, a column per (entity, key, measure): ``monthly.csv``."""
        return wide(self.records)

    def column(self, name: str) -> np.ndarray:
        """One wide column, a value per month (NaN where a month lacks it).

        Parameters
        ----------
        name : str
            A column of ``monthly.csv``: ``produced``, ``delivered``, ``util_paint``...

        Returns
        -------
        numpy.ndarray
            One value per month of the horizon.
        """
        return np.array([row.get(name, math.nan) for row in self.monthly])

    def table(self, entity: str) -> list[Record]:
        """The records of one entity (``"station"``, ``"money"``...), month by month."""
        return [r for r in self.records if entity == r.ENTITY]


def simulate(
    scenario: Scenario,
    seed: int | np.random.SeedSequence = 0,
    *,
    progress: Callable[[int, int], None] | None = None,
    threads: bool = True,
    stats: bool = True,
    start: RunState | None = None,
    state_at: Collection[str] = (),
) -> RunResult:
    """Run the whole horizon; ``progress(done, total)`` is called after each month.

    ``start``: continue from a state (:func:`evplant.read_state`) from the month after
    it; the records then cover the months from there. ``state_at``: months at whose
    end the run's state is taken (``RunResult.states``).

    ``threads``: run the plant's phases side by side in threads (same results either
    way; off for a one-core baseline or inside an already parallel experiment).

    ``stats=False``: skip the stations' time statistics, so the rows carry no shop
    columns (utilisation, OEE, bottleneck); every other figure is the same, bit for bit,
    in a third less time (Monte Carlo).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`evplant.load_scenario`).
    seed : int or numpy.random.SeedSequence
        The root of every random stream; a run is a pure function of (scenario, seed).
    progress : callable, optional
        ``progress(done, total)``, called with months done after each month.
    threads : bool
        Run the phases side by side in threads.
    stats : bool
        Measure the stations (shop and station records, the bottleneck).
    start : RunState, optional
        A state to continue from (exactly, or from its planner's part).
    state_at : collection of str
        ``YYYY-MM`` months at whose end to take the state.

    Returns
    -------
    RunResult
        The typed records of every entity and month, their wide view and the summary.
    """
    root = as_seed_sequence(seed)
    terms = scenario.venture.contract if scenario.venture is not None else None
    line = None  # the contract's line: (phase, client, work content), and who goes first
    priority = None
    if terms is not None and terms.enabled and scenario.venture is not None:
        phase = terms.phase or scenario.plant.phases[0].name
        line = (phase, f"contract:{terms.client}", terms.cycle_time_scale)
        priority = terms.priority
    # tracked parts fitted at a station rather than in the kit a car is started with
    parts_at = (
        {c.name: c.station for c in scenario.venture.supply.components if c.station}
        if scenario.venture is not None
        else {}
    )
    plant = Plant(
        scenario.plant,
        scenario.variants,
        (scenario.horizon.start, scenario.horizon.end),
        child_seed(root, 0),
        threads=threads,
        stats=stats,
        contract=line,
        parts_at=parts_at,
    )
    months = month_range(scenario.horizon.start, scenario.horizon.end)
    venture = None
    if scenario.venture is not None:
        venture = Venture(scenario.venture, scenario.variants, months, child_seed(root, 1))
    n_var = len(scenario.variants)
    records: list[Record] = []
    seed_int = int(root.entropy) if isinstance(root.entropy, int) else 0
    first = 0
    if start is not None:
        from . import state as run_state

        first = run_state.check(start, scenario, seed_int, None)
        run_state.apply(start, plant, venture, first)
    states: dict[str, dict[str, Any]] = {}
    for t in range(first, len(months)):
        contract, reserved = 0, {}
        if line is not None and venture is not None and priority == "contract":
            # the client's volume first, own cars after
            contract = venture.contract_start(t, plant.phase_capacity(line[0], t), 0.0)
            reserved = {line[0]: contract}
        push = _push_plan(plant, t, n_var, reserved)
        if venture is not None:
            wanted = np.asarray(venture.build_plan(t), dtype=float)
            kits = venture.kits(t, np.minimum(wanted, push))
            arrivals = [np.sort(np.asarray(f, dtype=float)) for f in kits.arrival_frac]
            count = np.asarray(kits.count, dtype=np.int64)
            if line is not None and priority == "own":
                # the client's cars fill what the line could start beyond own cars
                own = float(plant.split_plan(t, count)[line[0]].sum())
                room = next(_want(plant, run, t) for run in plant.phases if run.name == line[0])
                contract = venture.contract_start(t, room, own)
            outcome = plant.step(t, count, arrivals, contract, kits.at_station)
        else:
            outcome = plant.step(t, push, None)
        records.extend(outcome.records())
        if venture is not None:
            booked = venture.close_month(
                t,
                outcome.produced,
                outcome.released,
                capacity_per_month=outcome.capacity,
                contract_built=outcome.totals.contract_produced if line is not None else None,
            )
            records.extend(booked.records())
        if months[t] in state_at:
            from . import state as run_state

            states[months[t]] = run_state.capture(scenario, seed_int, plant, venture, t)
        if progress is not None:
            progress(t + 1 - first, len(months) - first)
    started = []
    if start is not None:
        from . import state as run_state

        said = run_state.note(start)
        started = [f"continued from {start.source} (the state at the end of {start.month})"]
        started += [said] if said else []
    plant_summary = summarise(scenario, plant, [r for r in records if isinstance(r, PlantTotals)])
    summary = Summary(
        plant_summary,
        venture.summary() if venture is not None else None,
        notes=timeline.notes(scenario) + timeline.run_notes(scenario, records) + started,
        timeline=timeline.gantt(scenario),
    )
    return RunResult(scenario.name, seed_int, records, summary, states)


def _push_plan(
    plant: Plant, t: int, n_var: int, reserved: Mapping[str, int] | None = None
) -> np.ndarray:
    """What the plant could usefully start this month: its capacity, plus enough to keep
    the line's buffers and stores filled, less what is already in work and the
    ``reserved`` cars per phase (a contract's with priority)."""
    plan = np.zeros(n_var)
    for run in plant.phases:
        want = _want(plant, run, t) - (reserved or {}).get(run.name, 0)
        pv = plant.phase_variants(run)
        mix = plant.variant_share(run)
        for local, v in enumerate(pv):
            plan[v] += max(0, int(round(want * mix[local])))
    return plan


def _want(plant: Plant, run: PhaseRun, t: int) -> int:
    """Vehicles a phase could usefully start in month ``t``: its capacity and its places,
    less what is in work."""
    places = int(run.layout.line.buffers.sum() + run.layout.line.servers.sum())
    return math.ceil(1.05 * plant.capacity(run, t)) + places - plant.in_work(run)


def summarise(scenario: Scenario, plant: Plant, totals: Sequence[PlantTotals]) -> PlantSummary:
    """The plant's figures over the run, from its monthly totals."""
    produced = np.array([r.produced for r in totals])
    capacity = np.array([r.capacity for r in totals])
    months = [r.month for r in totals]
    years = sorted({m[:4] for m in months})
    by_year = {
        y: float(sum(p for p, m in zip(produced, months, strict=True) if m[:4] == y)) for y in years
    }
    cap_year = {
        y: float(sum(c for c, m in zip(capacity, months, strict=True) if m[:4] == y)) for y in years
    }
    target = scenario.plant.target_rate
    monthly_target = target / 12.0
    # at the rate from the first month from which a three-month mean holds it to the end
    at_rate, at_cap = held_from(produced.tolist(), monthly_target), held_from(
        capacity.tolist(), monthly_target
    )
    first_rate = months[at_rate] if at_rate is not None else None
    first_cap = months[at_cap] if at_cap is not None else None
    shops = Counter(r.bottleneck_shop for r in totals if r.bottleneck_shop)
    stations = Counter(r.bottleneck_station for r in totals if r.bottleneck_station)
    partner = scenario.plant.partner
    return {
        "scenario": scenario.name,
        "horizon": f"{months[0]}..{months[-1]}",
        "vehicles_produced": float(produced.sum()),
        "produced_by_year": by_year,
        "capacity_by_year": cap_year,
        "rate_target_per_year": int(target) if target.is_integer() else target,
        "shops": scenario.plant.shop_order,
        "first_month_at_target_rate": first_rate,
        "first_month_capacity_at_target_rate": first_cap,
        "peak_month_produced": float(produced.max()) if len(produced) else 0.0,
        "bottleneck_shop": shops.most_common(1)[0][0] if shops else None,
        "bottleneck_station": stations.most_common(1)[0][0] if stations else None,
        "bottleneck_shop_months": dict(shops),
        "partner": partner.name if partner is not None and partner.enabled else None,
        "in_work_at_end": float(sum(plant.in_work(p) for p in plant.phases)),
        "phase_settings": [phase_settings(p) for p in scenario.plant.phases],
    }


def phase_settings(phase: PhaseSpec) -> dict[str, Any]:
    """What a phase's capacity rests on, for the report to explain output beside the
    nameplate: the nameplate, the last shift regime and the cycle-time scale."""
    last = phase.shifts[-1]
    return {
        "phase": phase.name,
        "nameplate_per_year": phase.nameplate_per_year,
        "shifts": last.shifts,
        "hours": last.hours,
        "days_per_week": last.days_per_week,
        "from": last.start,
        "cycle_time_scale": phase.cycle_time_scale,
    }
