"""The month loop: supply -> plant -> market -> finance, month by month.

Each layer is an object holding its own state and random streams; the loop only
passes values between them, so every layer can be tested alone and a run is a pure
function of (scenario, seed).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .line.draws import as_seed_sequence
from .plant.model import Plant

if TYPE_CHECKING:
    from .scenario.schema import Scenario

RATE_TARGET_PER_YEAR = 300_000  # facts: the plan is 300,000 vehicles a year


@dataclass
class RunResult:
    scenario: str
    seed: int
    monthly: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        return np.array([row[name] for row in self.monthly])


def simulate(
    scenario: Scenario,
    seed: int | np.random.SeedSequence = 0,
    *,
    progress: Callable[[int, int], None] | None = None,
    threads: bool = True,
    stats: bool = True,
) -> RunResult:
    """Run the whole horizon; ``progress(done, total)`` is called after each month.

    ``threads``: run the plant's phases side by side in threads (same results either
    way; off for a one-core baseline or inside an already parallel experiment).
    ``stats=False``: skip the stations' time statistics, so the rows carry no shop
    columns (utilisation, OEE, bottleneck); every other figure is the same, bit for bit,
    in a third less time (Monte Carlo)."""
    root = as_seed_sequence(seed)
    plant = Plant(
        scenario.plant,
        scenario.variants,
        (scenario.horizon.start, scenario.horizon.end),
        np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, 0)),
        threads=threads,
        stats=stats,
    )
    months = [d.strftime("%Y-%m") for d in plant.months[:-1]]
    venture = None
    if scenario.venture is not None:
        from .venture import Venture

        venture = Venture(
            scenario.venture,
            scenario.variants,
            months,
            np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, 1)),
        )
    n_var = len(scenario.variants)
    rows: list[dict[str, Any]] = []
    for t, month in enumerate(months):
        push = _push_plan(plant, t, n_var)
        if venture is not None:
            wanted = np.asarray(venture.build_plan(t), dtype=float)
            plan = np.minimum(wanted, push)
            kits = venture.kits(t, plan)
            count = np.asarray(kits.count, dtype=np.int64)
            arrivals = _arrivals_by_variant(kits, n_var)
            outcome = plant.step(t, count, arrivals)
        else:
            outcome = plant.step(t, push, None)
        capacity = sum(float(outcome.columns.get(f"capacity_{p.name}", 0.0)) for p in plant.phases)
        row: dict[str, Any] = {
            "month": month,
            "produced": float(outcome.produced.sum()),
            "capacity": capacity,
            "released": float(outcome.released.sum()),
            "started": sum(
                float(outcome.columns.get(f"started_{p.name}", 0.0)) for p in plant.phases
            ),
        }
        for v, name in enumerate(scenario.variants):
            row[f"produced_{name}"] = float(outcome.produced[v])
        row.update(outcome.columns)
        if venture is not None:
            row.update(
                venture.close_month(
                    t, outcome.produced, outcome.released, capacity_per_month=capacity
                )
            )
        rows.append(row)
        if progress is not None:
            progress(t + 1, len(months))
    result = RunResult(
        scenario.name, int(root.entropy) if isinstance(root.entropy, int) else 0, rows
    )
    result.summary = summarise(scenario, plant, result)
    if venture is not None:
        result.summary.update(venture.summary())
    return result


def _push_plan(plant: Plant, t: int, n_var: int) -> np.ndarray:
    """What the plant could usefully start this month: its capacity, plus enough to keep
    the line's buffers and stores filled, less what is already in work."""
    plan = np.zeros(n_var)
    for run in plant.phases:
        places = int(run.layout.line.buffers.sum() + run.layout.line.servers.sum())
        want = math.ceil(1.05 * plant.capacity(run, t)) + places - plant.in_work(run)
        pv = plant.phase_variants(run)
        mix = plant._variant_share(run, pv)
        for local, v in enumerate(pv):
            plan[v] += max(0, int(round(want * mix[local])))
    return plan


def _arrivals_by_variant(kits: Any, n_var: int) -> list[np.ndarray]:
    frac = getattr(kits, "arrival_frac", None)
    if frac is None:
        return [np.zeros(int(c)) for c in kits.count]
    if isinstance(frac, list | tuple):
        return [np.sort(np.asarray(f, dtype=float)) for f in frac]
    variant = np.asarray(kits.variant)
    frac = np.asarray(frac, dtype=float)
    return [np.sort(frac[variant == v]) for v in range(n_var)]


def summarise(scenario: Scenario, plant: Plant, result: RunResult) -> dict[str, Any]:
    produced = result.column("produced")
    capacity = result.column("capacity")
    months = [r["month"] for r in result.monthly]
    years = sorted({m[:4] for m in months})
    by_year = {
        y: float(sum(p for p, m in zip(produced, months, strict=True) if m[:4] == y)) for y in years
    }
    cap_year = {
        y: float(sum(c for c, m in zip(capacity, months, strict=True) if m[:4] == y)) for y in years
    }
    monthly_target = RATE_TARGET_PER_YEAR / 12.0
    first_rate = next(
        (m for p, m in zip(produced, months, strict=True) if p >= monthly_target), None
    )
    first_cap = next(
        (m for c, m in zip(capacity, months, strict=True) if c >= monthly_target), None
    )
    shops = Counter(r["bottleneck_shop"] for r in result.monthly if r.get("bottleneck_shop"))
    stations = Counter(
        r["bottleneck_station"] for r in result.monthly if r.get("bottleneck_station")
    )
    partner = scenario.plant.partner
    return {
        "scenario": scenario.name,
        "horizon": f"{months[0]}..{months[-1]}",
        "vehicles_produced": float(produced.sum()),
        "produced_by_year": by_year,
        "capacity_by_year": cap_year,
        "rate_target_per_year": RATE_TARGET_PER_YEAR,
        "first_month_at_target_rate": first_rate,
        "first_month_capacity_at_target_rate": first_cap,
        "peak_month_produced": float(produced.max()) if len(produced) else 0.0,
        "bottleneck_shop": shops.most_common(1)[0][0] if shops else None,
        "bottleneck_station": stations.most_common(1)[0][0] if stations else None,
        "bottleneck_shop_months": dict(shops),
        "partner": partner.name if partner is not None and partner.enabled else None,
        "in_work_at_end": float(sum(plant.in_work(p) for p in plant.phases)),
    }
