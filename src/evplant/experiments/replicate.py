"""One batch of replications: what a worker runs.

A replication is a pure function of (the scenario's data, the run's seed, r): it draws
its parameter values (:mod:`.plan`), sets them into a copy of the scenario, validates
it, simulates it with its own seed and keeps its KPIs and monthly paths. Nothing
depends on the process, the worker or the order, so results are the same bit for bit
whatever runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from ..errors import EvplantError
from ..inputs import field_path
from ..run import simulate
from ..scenario.load import validate_scenario
from ..scenario.schema import Scenario
from ..scenario.uncertainty import Uncertainty
from . import kpis as K
from . import plan


@dataclass(frozen=True)
class McJob:
    """Everything a worker needs, sent once per worker."""

    data: dict[str, Any]  # the scenario's data after --set overrides, before draws
    source: str
    seed: int
    params: tuple[Uncertainty, ...]
    locs: tuple[tuple[str | int, ...], ...]
    venture: bool
    kpi_names: tuple[str, ...]
    path_names: tuple[str, ...]
    months: tuple[str, ...]
    posterior: plan.PosteriorDraws | None = None
    observed: tuple[Any, ...] = ()  # the record's statements, for the report
    forecast: Any = None  # a ForecastSpec: how the report and forecast.csv widen the bands
    vintages: tuple[Any, ...] = ()  # earlier forecasts (Vintage), for the report


@dataclass
class Batch:
    """Results of some replications, columns in ``McJob`` order, rows by id."""

    ids: np.ndarray  # int64 [n]
    values: np.ndarray  # float64 [n, parameters]
    kpis: np.ndarray  # float64 [n, kpis]
    paths: dict[str, np.ndarray]  # name -> float64 [n, months]


def scenario_for(job: McJob, r: int, values: Sequence[float | int] | None = None) -> Scenario:
    """The validated scenario of replication ``r`` (``values``: its draws, if known)."""
    if values is None:
        values = plan.draw(job.seed, r, job.params, job.posterior)
    data = plan.apply(job.data, job.locs, values)
    try:
        return validate_scenario(data, f"{job.source}, replication {r}")
    except EvplantError as exc:
        drawn = ", ".join(
            f"{field_path(loc)}={v:g}" for loc, v in zip(job.locs, values, strict=True)
        )
        raise EvplantError(
            f"replication {r}: the drawn values ({drawn}) make an invalid scenario: "
            + "; ".join(str(p) for p in exc.problems)
            + " (narrow the uncertainty's range)"
        ) from None


def run_batch(job: McJob, ids: Sequence[int]) -> Batch:
    """Simulate replications ``ids``; the function a worker runs."""
    n, m = len(ids), len(job.months)
    values = np.empty((n, len(job.params)))
    out = np.empty((n, len(job.kpi_names)))
    paths = {name: np.empty((n, m)) for name in job.path_names}
    for i, r in enumerate(ids):
        drawn = plan.draw(job.seed, r, job.params, job.posterior)
        values[i] = drawn
        scenario = scenario_for(job, r, drawn)
        # KPIs and paths need no station statistics: a third faster, the same numbers
        result = simulate(scenario, plan.simulation_seed(job.seed, r), stats=False)
        k = K.kpis(result, job.venture)
        out[i] = [k[name] for name in job.kpi_names]
        for name, path in K.paths(result, job.venture).items():
            if len(path) != m:
                raise RuntimeError(f"replication {r} ran {len(path)} months, expected {m}")
            paths[name][i] = path
    return Batch(np.asarray(ids, dtype=np.int64), values, out, paths)


def warm_up() -> str:
    """Import the simulation (and load its compiled kernels) in a worker: importing this
    module did it."""
    return __version__
