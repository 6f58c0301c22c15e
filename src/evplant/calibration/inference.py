"""Bayesian calibration of a scenario's uncertain parameters on the observed record.

The posterior of the parameters ``theta`` (the scenario's ``calibration.parameters``)
given the statements ``y`` is ``p(theta | y) ~ p(theta) p(y | theta)``, where the
likelihood integrates the model's own randomness ``omega`` (demand noise, breakdowns,
cycle times): ``p(y | theta) = E_omega[ p(y | model(theta, omega)) ]``.  We estimate
that expectation with the same ``K`` simulation seeds for every ``theta`` (common
random numbers, ``calibration.seeds``): the estimate is then a deterministic function
of ``theta``, and differences between two ``theta`` are not drowned in simulation noise.

The sampler is waste-free SMC with adaptive tempering (:mod:`.smc`): particles drawn
from the priors are carried to the posterior through densities ``p(theta)
p(y | theta)^beta``, ``beta`` rising from 0 to 1 as fast as the particles' effective
sample size allows, with random-walk Metropolis moves at each stage.  Four independent
runs (``RUNS``) advance together, so their simulations share the executor, and their
agreement is the convergence check (rank-normalised R-hat, bulk and tail ESS, from
ArviZ: :mod:`.diagnostics`).  The same machinery takes in new statements from an
earlier posterior (:mod:`.assimilate`).  Why SMC and not emcee, which this module
used before: the ensemble's walkers never agreed on the built-in plant (split R-hat
1.8-3.9 after 23 minutes), because a curved posterior over a dozen parameters needs
far more steps than a budget allows; SMC's tempering does not need the chains to
mix from the start, it reports its own evidence, and its runs are independent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EvplantError
from ..experiments import plan
from ..experiments.executors import DaskExecutor, Sequential, make_executor
from ..months import months as month_range
from ..scenario.uncertainty import Uncertainty
from ..seeds import child_rng, child_seed
from .config import CalibrationConfig
from .likelihood import (
    Compiled,
    compile_statements,
    log_likelihoods,
    model_values,
    needed_columns,
)
from .observations import Record, Statement, before, read_record, span
from .smc import Particles, RunResult, temper, tempered

Progress = Callable[[int, int], None]
# spawn keys under the calibration's seed
_SIM_SEEDS, _INIT, _SAMPLER, _PREDICT = 0, 1, 2, 3


@dataclass(frozen=True)
class FitJob:
    """What a worker needs to evaluate a batch of parameter vectors."""

    data: dict[str, Any]  # the scenario's data, horizon cut to the fitted months
    source: str
    params: tuple[Uncertainty, ...]
    locs: tuple[tuple[str | int, ...], ...]
    compiled: Compiled
    columns: tuple[str, ...]
    seeds: tuple[np.random.SeedSequence, ...]


@dataclass(frozen=True)
class StepJob:
    fit: FitJob
    thetas: np.ndarray  # [n, d] latent values
    # a seed of its own for each vector (forecasts); None: the fit's common seeds
    own_seeds: tuple[np.random.SeedSequence, ...] | None = None


@dataclass
class Evaluated:
    ids: list[int]
    loglik: np.ndarray  # [n, K]: total log-likelihood per seed (-inf: invalid scenario)
    values: np.ndarray  # [n, K, S]: each statement's model figure per seed
    invalid: list[str]  # why a vector made no valid scenario ('' if it did)


def applied(params: Sequence[Uncertainty], theta: np.ndarray) -> list[float | int]:
    """The values set into the scenario for a latent vector: integers rounded."""
    return [
        int(round(float(x))) if p.integer else float(x) for p, x in zip(params, theta, strict=True)
    ]


def evaluate(job: StepJob, ids: Sequence[int]) -> Evaluated:
    """Simulate each vector ``job.thetas[i]`` for ``i`` in ``ids`` under every seed."""
    from ..run import simulate
    from ..scenario.load import validate_scenario

    fit = job.fit
    k = 1 if job.own_seeds is not None else len(fit.seeds)
    s = len(fit.compiled.statements)
    loglik = np.full((len(ids), k), -np.inf)
    values = np.full((len(ids), k, s), np.nan)
    why: list[str] = []
    for row, i in enumerate(ids):
        data = plan.apply(fit.data, fit.locs, applied(fit.params, job.thetas[i]))
        try:
            scenario = validate_scenario(data, fit.source)
        except EvplantError as exc:
            why.append(str(exc.problems[0]))
            continue
        why.append("")
        seeds = (job.own_seeds[i],) if job.own_seeds is not None else fit.seeds
        for j, seed in enumerate(seeds):
            result = simulate(scenario, seed, threads=False, stats=False)
            monthly = {c: result.column(c).astype(float) for c in fit.columns}
            v = model_values(fit.compiled, monthly)
            values[row, j] = v
            loglik[row, j] = float(log_likelihoods(fit.compiled, v).sum())
    return Evaluated(list(ids), loglik, values, why)


@dataclass
class Posterior:
    """A finished calibration."""

    scenario: str
    source: str
    seed: int
    params: list[Uncertainty]
    locs: list[tuple[str | int, ...]]
    statements: list[Statement]
    fit_months: tuple[str, str]
    latent: np.ndarray  # [n, d] posterior samples of the latent vector
    samples: np.ndarray  # [n, d] the values set (integers rounded)
    walker: np.ndarray  # [n] the chain of the last stage, over the runs
    step: np.ndarray  # [n] the state in its chain
    log_posterior: np.ndarray  # [n]
    log_likelihood: np.ndarray  # [n]
    predictions: np.ndarray  # [n, K, S] each statement's model figure per seed
    prior_samples: np.ndarray  # [m, d] draws from the prior, for the report
    run: np.ndarray  # [n] which independent run each sample comes from
    diagnostics: dict[str, Any] = field(default_factory=dict)
    simulations: int = 0
    seconds: float = 0.0
    executor: str = ""
    method: str = "calibrate"  # the command that made it: calibrate or assimilate
    record: tuple[str, ...] = ()  # where the statements were read (passwords masked)

    @property
    def point(self) -> list[float | int]:
        """The point estimate: each parameter's posterior median (integers rounded)."""
        return applied(self.params, np.median(self.latent, axis=0))

    def predictive(self, q: Sequence[float]) -> np.ndarray:
        """Quantiles [len(q), S] of each statement's model figure over samples and seeds."""
        flat = self.predictions.reshape(-1, self.predictions.shape[-1])
        return np.asarray(np.nanquantile(flat, q, axis=0))


#: the record: a file, workbook sheet or database table (:func:`.observations.read_record`),
#: several read as one, or statements read already
Observed = str | Path | Sequence[str | Path] | Record | None


def _joined(records: Sequence[Record]) -> Record:
    return Record(tuple(s for r in records for s in r.statements),
                  tuple(src for r in records for src in r.sources))


def resolve_observed(name_or_path: str, cfg: CalibrationConfig, observed: Observed) -> Record:
    """The record a calibration reads: ``observed``, or the scenario's own files."""
    from ..scenario.load import beside

    if isinstance(observed, Record):
        return observed
    if isinstance(observed, str | Path):
        return read_record(observed)
    if observed is not None:  # several files, read as one record
        return _joined([read_record(f) for f in observed])
    if not cfg.observed_files:
        raise EvplantError(
            "no observations: give --observed FILE or calibration.observed in the scenario"
        )
    return _joined([read_record(beside(name_or_path, f)) for f in cfg.observed_files])


@dataclass(frozen=True)
class Setup:
    fit: FitJob
    cfg: CalibrationConfig
    name: str
    statements: list[Statement]
    months: tuple[str, str]
    record: Record  # as read (before --origin cut it)


def setup(
    scenario: str | Path,
    observed: Observed = None,
    *,
    seed: int = 0,
    overrides: Sequence[str] = (),
    origin: str | None = None,
) -> Setup:
    """Read the scenario and the record; place the statements; make the workers' job."""
    from ..scenario.load import prepare

    job = prepare(scenario, overrides)  # validated once, here
    base = job.scenario
    cfg = base.calibration
    if cfg is None:
        raise EvplantError(
            "the scenario has no calibration: section (what to learn, and the priors)",
            file=job.source,
        )
    record = resolve_observed(str(scenario), cfg, observed)
    statements = list(record.statements)
    if origin is not None:
        statements = before(statements, origin)
        if not statements:
            raise EvplantError(f"no observed statement ends before {origin}", field="--origin")
    try:
        locs = plan.check_params(job.data, cfg.parameters)
    except EvplantError as exc:
        raise EvplantError(
            problems=[
                type(p)(p.message, file=job.source, field=(p.field or "").replace(
                    "uncertainty", "calibration.parameters"))
                for p in exc.problems
            ]
        ) from None
    first, last = span(statements)
    start = base.horizon.start
    if first < start or last > base.horizon.end:
        raise EvplantError(
            f"the record covers {first}..{last}, beyond the scenario's horizon "
            f"{start}..{base.horizon.end}",
            field="period",
        )
    data = plan.apply(job.data, (), ())
    data.setdefault("horizon", {})
    data["horizon"] = {**data["horizon"], "start": start, "end": last}
    months = month_range(start, last)
    compiled = compile_statements(statements, months, cfg.observation_model)
    fit = FitJob(
        data=data,
        source=job.source,
        params=tuple(cfg.parameters),
        locs=tuple(locs),
        compiled=compiled,
        columns=tuple(needed_columns(statements)),
        seeds=tuple(child_seed(seed, _SIM_SEEDS, k) for k in range(cfg.seeds)),
    )
    return Setup(fit, cfg, base.name, statements, (start, last), record)


def prior_draws(params: Sequence[Uncertainty], n: int, rng: np.random.Generator) -> np.ndarray:
    u = rng.random((n, len(params)))
    u = np.clip(u, 1e-9, 1 - 1e-9)
    return np.column_stack([
        np.asarray(_ppf_latent(p, u[:, j])) for j, p in enumerate(params)
    ])


def _ppf_latent(p: Uncertainty, u: np.ndarray) -> np.ndarray:
    """The prior's inverse CDF without the integer rounding (the latent is continuous)."""
    return p.model_copy(update={"integer": False}).ppf(u)



class Density:
    """The log densities of parameter vectors, simulated on an executor.

    ``new`` marks the statements being taken in (tempered); the rest are known already
    (all of them ``False`` in a calibration from the priors, where nothing is known).
    Every evaluation is remembered, so particles that survive a stage cost nothing more
    and the posterior's samples carry their statements' figures."""

    def __init__(self, fit: FitJob, ex: Sequential | DaskExecutor, progress: Progress | None,
                 budget: int, new: np.ndarray) -> None:
        self.fit = fit
        self.ex = ex
        self.progress = progress
        self.budget = budget
        self.new = np.asarray(new, dtype=bool)
        self.done = 0
        self.memo: dict[bytes, tuple[float, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.invalid: dict[str, int] = {}

    @property
    def k(self) -> int:
        return len(self.fit.seeds)

    def log_prior(self, theta: np.ndarray) -> float:
        return float(sum(float(p.logpdf(np.array([x]))[0])
                         for p, x in zip(self.fit.params, theta, strict=True)))

    def _split(self, values: np.ndarray, valid: bool) -> tuple[np.ndarray, np.ndarray]:
        """(known, new) log-likelihoods per seed from the statements' figures [K, S]."""
        if not valid:
            return np.full(self.k, -np.inf), np.full(self.k, -np.inf)
        ll = np.stack([log_likelihoods(self.fit.compiled, v) for v in values])  # [K, S]
        ll = np.where(np.isnan(ll), -np.inf, ll)
        return ll[:, ~self.new].sum(axis=1), ll[:, self.new].sum(axis=1)

    def __call__(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        n, k, s = len(thetas), self.k, len(self.fit.compiled.statements)
        first: dict[bytes, int] = {}
        for i, th in enumerate(thetas):
            key = th.tobytes()
            if key in self.memo or key in first:
                continue
            if math.isfinite(self.log_prior(th)):
                first[key] = i
            else:  # outside the priors: no simulation
                self.memo[key] = (-np.inf, np.full(k, -np.inf), np.full(k, -np.inf),
                                  np.full((k, s), np.nan))
        todo = sorted(first.values())
        if todo:
            for res in self.ex.run(evaluate, StepJob(self.fit, thetas), [[i] for i in todo]):
                for row, i in enumerate(res.ids):
                    why = res.invalid[row]
                    if why:
                        self.invalid[why] = self.invalid.get(why, 0) + 1
                    a, b = self._split(res.values[row], not why)
                    self.memo[thetas[i].tobytes()] = (
                        self.log_prior(thetas[i]), a, b, res.values[row])
                self.done += sum(k for w in res.invalid if not w)
                if self.progress is not None:
                    self.progress(min(self.done, self.budget), self.budget)
        lp_out = np.empty(n)
        a_out = np.empty((n, k))
        b_out = np.empty((n, k))
        for i, th in enumerate(thetas):
            lp, a, b, _ = self.memo[th.tobytes()]
            lp_out[i], a_out[i], b_out[i] = lp, a, b
        return lp_out, a_out, b_out

    def values(self, theta: np.ndarray) -> np.ndarray:
        return self.memo[np.asarray(theta, dtype=float).tobytes()][3]


# states a chain keeps per stage (waste-free: P): chains of 4 left the particles
# collapsed onto their ancestors in 22 dimensions
STEPS = 8
RUNS = 4  # independent SMC runs: R-hat compares them
STAGES_PLANNED = 8  # stages the budget is sized for; what is left polishes at beta = 1
POLISH = 6  # at most this many stages at beta = 1 once every run is there


def chains_for(budget: int, seeds: int, runs: int, steps: int = STEPS,
               stages: int = STAGES_PLANNED) -> int:
    """Chains per run (M) so that the start and ``stages`` stages fit the budget."""
    per_chain = seeds * runs * (steps + stages * (steps - 1))
    return budget // per_chain


def valid_starts(density: Density, params: Sequence[Uncertainty], n: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``n`` draws from the priors that make valid scenarios (redrawing the others)."""
    pts = prior_draws(params, n, rng)
    for _ in range(50):
        lp, a, b = density(pts)
        bad = ~np.isfinite(lp + tempered(a, b, 1.0))
        if not bad.any():
            return pts
        pts[bad] = prior_draws(params, int(bad.sum()), rng)
    reasons = "; ".join(sorted(density.invalid)[:3]) or "the record is impossible"
    raise EvplantError(
        f"too few valid starting points after 50 rounds of draws from the priors ({reasons})")


def sample(
    density: Density,
    starts: list[np.ndarray],
    seed: int,
    chains: int,
    *,
    steps: int = STEPS,
    budget: int | None = None,
) -> list[RunResult]:
    """Temper each run from its start to the posterior (:func:`.smc.temper`)."""
    particles = []
    for theta in starts:
        lp, a, b = density(theta)
        particles.append(Particles(theta, lp, a, b))
    rngs = [child_rng(seed, _SAMPLER, r) for r in range(len(starts))]
    try:
        return temper(particles, density, rngs, chains=chains, steps=steps, budget=budget,
                      spent=lambda: density.done, cost_per_eval=density.k, polish=POLISH)
    except FloatingPointError:
        raise EvplantError(
            "no particle can explain the record: every simulation gives it zero likelihood "
            "(check the record's units and the priors' ranges)") from None


def pooled(
    s: Setup, density: Density, results: list[RunResult], seed: int, *, prior_n: int = 2000
) -> Posterior:
    """The runs' particles pooled into one posterior (equal weights)."""
    fit = s.fit
    latent = np.concatenate([r.particles.theta for r in results])
    chains = max(int(r.particles.chain.max()) + 1 for r in results)
    run = np.concatenate([np.full(len(r.particles.theta), i) for i, r in enumerate(results)])
    walker = np.concatenate([i * chains + r.particles.chain for i, r in enumerate(results)])
    step = np.concatenate([r.particles.draw for r in results])
    lp = np.concatenate([r.particles.log_prior for r in results])
    ll = np.concatenate([tempered(r.particles.a, r.particles.b, 1.0) for r in results])
    post = Posterior(
        scenario=s.name,
        source=fit.source,
        seed=int(seed),
        params=list(fit.params),
        locs=list(fit.locs),
        statements=list(s.statements),
        fit_months=s.months,
        latent=latent,
        samples=np.array([applied(fit.params, th) for th in latent], dtype=float),
        walker=walker,
        step=step,
        log_posterior=lp + ll,
        log_likelihood=ll,
        predictions=np.stack([density.values(th) for th in latent]),
        prior_samples=prior_draws(fit.params, prior_n, child_rng(seed, _PREDICT)),
        run=run,
        simulations=density.done,
        executor=density.ex.description,
        record=s.record.sources,
    )
    post.diagnostics = diagnostics(post, results, density.invalid)
    return post


def run_calibration(
    scenario: str | Path,
    observed: Observed = None,
    *,
    budget: int = 4000,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    origin: str | None = None,
    progress: Progress | None = None,
    executor: Sequential | DaskExecutor | None = None,
    runs: int = RUNS,
) -> Posterior:
    """Calibrate ``scenario`` on the observed statements (those that end by ``origin``
    if given) with at most ``budget`` simulations, by tempered SMC from the priors."""
    t0 = time.perf_counter()
    if seed < 0:
        raise EvplantError("must not be negative", field="--seed")
    s = setup(scenario, observed, seed=seed, overrides=overrides, origin=origin)
    fit = s.fit
    k = len(fit.seeds)
    chains = chains_for(budget, k, runs)
    if chains < 2:
        need = 2 * k * runs * (STEPS + STAGES_PLANNED * (STEPS - 1))
        raise EvplantError(
            f"{budget} simulations are too few for {runs} runs of 2 chains x {STEPS} states "
            f"over ~{STAGES_PLANNED} stages at {k} seeds: give at least {need}",
            field="--budget",
        )
    owned = executor is None
    ex = executor if executor is not None else make_executor(workers, scheduler)
    try:
        density = Density(fit, ex, progress, budget, np.ones(len(fit.compiled.statements), bool))
        starts = [valid_starts(density, fit.params, chains * STEPS, child_rng(seed, _INIT, r))
                  for r in range(runs)]
        results = sample(density, starts, seed, chains, budget=budget)
        post = pooled(s, density, results, seed)
    finally:
        if owned:
            ex.close()
    post.seconds = time.perf_counter() - t0
    return post


def diagnostics(post: Posterior, results: list[RunResult], invalid: dict[str, int]
                ) -> dict[str, Any]:
    from .diagnostics import smc_diagnostics

    out = smc_diagnostics(post.latent, post.run, results, seed=post.seed)
    out["invalid_proposals"] = dict(sorted(invalid.items()))
    return out
