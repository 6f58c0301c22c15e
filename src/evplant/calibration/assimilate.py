"""Sequential assimilation: a calibrated scenario takes in the record's new months.

A twin in a plant learns each month from where it stands.  The calibrated scenario's
posterior (its ``posterior:`` samples, fitted through ``posterior.fitted_through``) is
the prior knowledge; the statements that end after that month are new.  The target is
the posterior given all the record,

    p(theta | old, new) ~ p(theta | old) p(new | theta),

reached by data tempering (:mod:`.smc`): the particles start as draws from the old
posterior (a parameter the old calibration did not learn, such as one only the new
months inform, starts from its prior), are reweighted by the new statements'
likelihood raised to a power that rises to 1 as fast as their effective sample size
allows, and are rejuvenated by Metropolis moves under the full density (every
statement, old and new: a simulation of the whole record gives both).  When the new
statements are unsurprising, the first power is 1 and assimilation is one
reweighting, one move stage and the polish at ``beta = 1``; when the ESS of that one
reweighting collapses below ``SURPRISE`` of the particles, the data are too
surprising for reweighting, and it says so and tempers in as many stages as needed:
the fuller run, still from the old posterior, never from the plan.

Its outputs are a calibration's (:mod:`.outputs`): the runnable ``scenario.yaml``
with the new medians and posterior, ``posterior.parquet``, ``fit.csv``,
``calibration.json`` (with the assimilation's own record: the old fit's last month,
the new statements, the ESS of the first reweighting, the path taken) and
``report.html``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import EvplantError
from ..experiments.executors import DaskExecutor, Sequential, make_executor
from ..months import month_number
from ..seeds import child_rng
from .inference import (
    RUNS,
    STEPS,
    Density,
    Observed,
    Posterior,
    Setup,
    chains_for,
    pooled,
    prior_draws,
    sample,
    setup,
)
from .smc import ess_of, tempered

Progress = Callable[[int, int], None]
SURPRISE = 0.1  # ESS of one reweighting below this share of the particles: temper
STAGES = 10  # stages the budget is sized for: surprising data need as many as a calibration
_START = 6  # spawn key: the draws of the starting particles


def posterior_of(scenario: str | Path, overrides: Sequence[str] = ()) -> tuple[
        list[str], np.ndarray, np.ndarray, str]:
    """(paths, samples, weights, fitted_through) of a calibrated scenario's posterior."""
    from ..scenario.load import beside, prepare
    from .outputs import read_posterior

    job = prepare(scenario, overrides)
    ref = job.scenario.posterior
    if ref is None:
        raise EvplantError(
            "the scenario has no posterior: section to start from (calibrate it first with "
            "`evplant calibrate`)", file=job.source, field="posterior")
    if ref.fitted_through is None:
        raise EvplantError(
            "the posterior does not say the last month it was fitted on; add "
            "fitted_through: YYYY-MM (calibration.json's fit_months)",
            file=job.source, field="posterior.fitted_through")
    paths, values, weights = read_posterior(beside(str(scenario), ref.file))
    return paths, values, weights, ref.fitted_through


def run_assimilation(
    scenario: str | Path,
    observed: Observed = None,
    *,
    budget: int = 2000,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    progress: Progress | None = None,
    executor: Sequential | DaskExecutor | None = None,
    runs: int = RUNS,
    origin: str | None = None,
    ready: Callable[[Setup], None] | None = None,
) -> Posterior:
    """Take in the statements after the scenario's posterior's last fitted month (those
    that end before ``origin`` only, if given). ``ready(setup)`` is called once the
    record is read and checked, before any simulation: what would refuse the result
    (a forecast's vintage already written) refuses it there."""
    t0 = time.perf_counter()
    if seed < 0:
        raise EvplantError("must not be negative", field="--seed")
    paths, values, weights, through = posterior_of(scenario, overrides)
    s = setup(scenario, observed, seed=seed, overrides=overrides, origin=origin)
    fit = s.fit
    last = s.months[1]
    if month_number(last) <= month_number(through):
        raise EvplantError(
            f"the record ends at {last}, not after the posterior's last fitted month "
            f"{through}: nothing new to take in", field="--observed")
    new = np.array([month_number(st.last) > month_number(through) for st in s.statements])
    wanted = [p.path for p in fit.params]
    unknown = [p for p in paths if p not in wanted]
    if unknown:
        raise EvplantError(
            f"the posterior has {', '.join(unknown)}, which calibration.parameters does not "
            "list: a posterior can only be carried forward on the parameters it was learnt on",
            field="calibration.parameters")
    k = len(fit.seeds)
    chains = chains_for(budget, k, runs, stages=STAGES)
    if chains < 2:
        need = 2 * k * runs * (STEPS + STAGES * (STEPS - 1))
        raise EvplantError(f"{budget} simulations are too few: give at least {need}",
                           field="--budget")
    if ready is not None:
        ready(s)
    n = chains * STEPS
    owned = executor is None
    ex = executor if executor is not None else make_executor(workers, scheduler)
    try:
        density = Density(fit, ex, progress, budget, new)
        starts = []
        for r in range(runs):
            rng = child_rng(seed, _START, r)
            theta = prior_draws(fit.params, n, rng)  # parameters the old fit did not learn
            pick = rng.choice(len(values), size=n, p=weights)
            for j, path in enumerate(paths):
                theta[:, wanted.index(path)] = values[pick, j]
            starts.append(theta)
        first = density(np.concatenate(starts))
        ess_full = ess_of(tempered(first[1], first[2], 1.0) - tempered(first[1], first[2], 0.0))
        results = sample(density, starts, seed, chains, budget=budget)
        post = pooled(s, density, results, seed)
    finally:
        if owned:
            ex.close()
    surprising = ess_full < SURPRISE * runs * n
    post.method = "assimilate"
    post.diagnostics["assimilation"] = {
        "fitted_through_before": through,
        "fitted_through": last,
        "new_statements": int(new.sum()),
        "known_statements": int((~new).sum()),
        "carried_parameters": paths,
        "started_from_prior": [p for p in wanted if p not in paths],
        "ess_of_one_reweighting": float(ess_full),
        "particles": int(runs * n),
        "too_surprising_for_reweighting": bool(surprising),
        "path": ("tempered in stages (the new data were too surprising for one "
                 "reweighting)" if surprising else "one reweighting, then moves"),
    }
    post.seconds = time.perf_counter() - t0
    return post
