"""Bayesian calibration of a scenario's uncertain parameters on the observed record.

The posterior of the parameters ``theta`` (the scenario's ``calibration.parameters``)
given the statements ``y`` is ``p(theta | y) ~ p(theta) p(y | theta)``, where the
likelihood integrates the model's own randomness ``omega`` (demand noise, breakdowns,
cycle times): ``p(y | theta) = E_omega[ p(y | model(theta, omega)) ]``.  We estimate
that expectation with the same ``K`` simulation seeds for every ``theta`` (common
random numbers, ``calibration.seeds``): the estimate is then a deterministic, smooth
function of ``theta``, which an MCMC sampler needs, and differences between two
``theta`` are not drowned in simulation noise.

The sampler is emcee's affine-invariant ensemble (Foreman-Mackey et al. 2013) with a
mix of stretch and differential-evolution moves, which need no gradient and no tuning
and cope with the
correlated, curved posteriors of a plant's calendar and speed (more working days and
a faster line explain the same output).  We chose emcee over ABC (pyabc) because the
observation model gives an explicit likelihood, and because emcee draws from one
generator we seed ourselves: the ensemble's proposals depend only on the seed, and the
log-posterior of a batch of walkers is a pure function of their positions, evaluated on
any executor.  So the same seed gives the same posterior whatever the number of workers.

The ensemble starts at the best half of twice as many draws from the priors.  Its
burn-in is tempered: the likelihood is raised to a power rising geometrically to 1
over the first third of the steps, starting where the walkers' log-posteriors differ by
a few units, so the ensemble contracts with the posterior instead of leaving most
walkers stranded where the prior put them.  The budget counts simulations: ``walkers x
seeds`` per step (proposals outside the priors cost none).  The first half of the chain
(at least the tempered steps) is burn-in; the rest is the posterior sample (equal
weights).
"""

from __future__ import annotations

import math
import time
import warnings
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
    log_mean_exp,
    model_values,
    needed_columns,
)
from .observations import Statement, before, read_observations, span

Progress = Callable[[int, int], None]
# spawn keys under the calibration's seed
_SIM_SEEDS, _INIT, _SAMPLER, _PREDICT = 0, 1, 2, 3
MIN_STEPS = 8


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
    walker: np.ndarray  # [n]
    step: np.ndarray  # [n]
    log_posterior: np.ndarray  # [n]
    log_likelihood: np.ndarray  # [n]
    predictions: np.ndarray  # [n, K, S] each statement's model figure per seed
    prior_samples: np.ndarray  # [m, d] draws from the prior, for the report
    chain: np.ndarray  # [steps, walkers, d] the whole chain, burn-in included
    diagnostics: dict[str, Any] = field(default_factory=dict)
    simulations: int = 0
    seconds: float = 0.0
    executor: str = ""

    @property
    def point(self) -> list[float | int]:
        """The point estimate: each parameter's posterior median (integers rounded)."""
        return applied(self.params, np.median(self.latent, axis=0))

    def predictive(self, q: Sequence[float]) -> np.ndarray:
        """Quantiles [len(q), S] of each statement's model figure over samples and seeds."""
        flat = self.predictions.reshape(-1, self.predictions.shape[-1])
        return np.asarray(np.nanquantile(flat, q, axis=0))


def _resolve_observed(
    name_or_path: str, cfg: CalibrationConfig, observed: str | Path | None
) -> list[Statement]:
    from ..scenario.load import beside

    if observed is not None:
        return read_observations(observed)
    if cfg.observed is None:
        raise EvplantError(
            "no observations: give --observed FILE or calibration.observed in the scenario"
        )
    return read_observations(beside(name_or_path, cfg.observed))


@dataclass(frozen=True)
class Setup:
    fit: FitJob
    cfg: CalibrationConfig
    name: str
    statements: list[Statement]
    months: tuple[str, str]


def setup(
    scenario: str | Path,
    observed: str | Path | None = None,
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
    statements = _resolve_observed(str(scenario), cfg, observed)
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
    return Setup(fit, cfg, base.name, statements, (start, last))


class _Target:
    """The log-posterior of a batch of walkers, evaluated on an executor; remembers
    every evaluation so the kept samples carry their predictions."""

    def __init__(self, fit: FitJob, ex: Sequential | DaskExecutor, progress: Progress | None,
                 budget: int) -> None:
        self.fit = fit
        self.ex = ex
        self.progress = progress
        self.budget = budget
        self.done = 0
        # every vector evaluated: (log prior, log-likelihood, statements' figures [K, S])
        self.memo: dict[bytes, tuple[float, float, np.ndarray]] = {}
        self.invalid: dict[str, int] = {}
        self.beta = 1.0  # the likelihood's power: below 1 while the burn-in is tempered

    def log_prior(self, theta: np.ndarray) -> float:
        return float(
            sum(float(p.logpdf(np.array([x]))[0]) for p, x in zip(self.fit.params, theta,
                                                                    strict=True))
        )

    def __call__(self, thetas: np.ndarray) -> np.ndarray:
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        out = np.full(len(thetas), -np.inf)
        todo: list[int] = []
        priors: dict[int, float] = {}
        for i, th in enumerate(thetas):
            key = th.tobytes()
            if key in self.memo:  # evaluated before (a rescored walker): no simulation
                prior, ll, _ = self.memo[key]
                out[i] = prior + self.beta * ll if math.isfinite(prior + ll) else -np.inf
                continue
            lp = self.log_prior(th)
            if math.isfinite(lp):
                todo.append(i)
                priors[i] = lp
            else:
                self.memo[key] = (-np.inf, -np.inf, np.full(
                    (len(self.fit.seeds), len(self.fit.compiled.statements)), np.nan))
        if todo:
            step = StepJob(self.fit, thetas)
            for res in self.ex.run(evaluate, step, [[i] for i in todo]):
                for row, i in enumerate(res.ids):
                    ll = float(log_mean_exp(res.loglik[row]))
                    prior = priors[i]
                    out[i] = prior + self.beta * ll if math.isfinite(prior + ll) else -np.inf
                    self.memo[thetas[i].tobytes()] = (prior, ll, res.values[row])
                    if res.invalid[row]:
                        self.invalid[res.invalid[row]] = self.invalid.get(res.invalid[row], 0) + 1
                # a vector that makes no valid scenario is refused before it simulates
                self.done += sum(len(self.fit.seeds) for w in res.invalid if not w)
                if self.progress is not None:
                    self.progress(min(self.done, self.budget), self.budget)
        return out  # the prior's rejections keep their -inf


def _start(
    target: _Target, walkers: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Starting walkers: the best ``walkers`` of twice as many draws from the priors
    (redrawing those that make no valid scenario), so the ensemble starts spread over
    the prior's plausible part and burn-in is short."""
    pts = prior_draws(target.fit.params, 2 * walkers, rng)
    lps = target(pts)
    for _ in range(50):
        bad = ~np.isfinite(lps)
        if np.isfinite(lps).sum() >= walkers:
            break
        pts[bad] = prior_draws(target.fit.params, int(bad.sum()), rng)
        lps[bad] = target(pts[bad])
    if np.isfinite(lps).sum() < walkers:
        reasons = "; ".join(sorted(target.invalid)[:3]) or "the record is impossible"
        raise EvplantError(
            f"too few valid starting points after 50 rounds of draws from the priors ({reasons})"
        )
    best = np.argsort(-lps, kind="stable")[:walkers]
    return pts[best], lps[best]


BETA_SPREAD = 5.0  # log-posterior units between the walkers where the tempering starts


def _tempering(
    target: _Target, p0: np.ndarray, budget: int, walkers: int, k: int
) -> np.ndarray:
    """Powers of the likelihood for the first steps of the burn-in, rising
    geometrically to 1 over about a third of the steps the budget allows.

    Walkers start spread over the prior, where the likelihood differs between them by
    hundreds of log units; at full power only the best few would ever move.  Tempering
    starts where the spread is ``BETA_SPREAD`` and lets the ensemble contract with the
    posterior as it sharpens.  Only steps at full power, after the burn-in, are kept."""
    lls = np.array([target.memo[th.tobytes()][1] for th in p0])
    spread = float(np.max(lls) - np.median(lls))
    start = min(1.0, BETA_SPREAD / spread) if spread > 0 else 1.0
    steps = max((budget - 2 * walkers * k) // (walkers * k), 1)
    ramp = max(int(0.35 * steps), 1)
    return np.geomspace(start, 1.0, ramp) if start < 1.0 else np.ones(0)


def prior_draws(params: Sequence[Uncertainty], n: int, rng: np.random.Generator) -> np.ndarray:
    u = rng.random((n, len(params)))
    u = np.clip(u, 1e-9, 1 - 1e-9)
    return np.column_stack([
        np.asarray(_ppf_latent(p, u[:, j])) for j, p in enumerate(params)
    ])


def _ppf_latent(p: Uncertainty, u: np.ndarray) -> np.ndarray:
    """The prior's inverse CDF without the integer rounding (the latent is continuous)."""
    return p.model_copy(update={"integer": False}).ppf(u)


def run_calibration(
    scenario: str | Path,
    observed: str | Path | None = None,
    *,
    budget: int = 4000,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    origin: str | None = None,
    progress: Progress | None = None,
    executor: Sequential | DaskExecutor | None = None,
) -> Posterior:
    """Calibrate ``scenario`` on the observed statements (those before ``origin`` if
    given) with at most ``budget`` simulations; see the module docstring."""
    import emcee

    t0 = time.perf_counter()
    if seed < 0:
        raise EvplantError("must not be negative", field="--seed")
    s = setup(scenario, observed, seed=seed, overrides=overrides, origin=origin)
    fit = s.fit
    d, k = len(fit.params), len(fit.seeds)
    walkers = max(16, 2 * d + 2)
    walkers += walkers % 2
    if budget < (2 + MIN_STEPS) * walkers * k:
        need = (2 + MIN_STEPS) * walkers * k
        raise EvplantError(
            f"{budget} simulations are too few for {d} parameters ({walkers} walkers x {k} "
            f"seeds a step): give at least {need}",
            field="--budget",
        )
    init_rng = child_rng(seed, _INIT)
    owned = executor is None
    ex = executor if executor is not None else make_executor(workers, scheduler)
    try:
        target = _Target(fit, ex, progress, budget)
        p0, lp0 = _start(target, walkers, init_rng)
        moves = [(emcee.moves.StretchMove(), 0.5), (emcee.moves.DEMove(), 0.4),
                 (emcee.moves.DESnookerMove(), 0.1)]
        sampler = emcee.EnsembleSampler(walkers, d, target, vectorize=True, moves=moves)
        mt = np.random.RandomState(np.random.MT19937(child_seed(seed, _SAMPLER)))
        sampler.random_state = mt.get_state()
        betas = _tempering(target, p0, budget, walkers, k)
        state = emcee.State(p0, log_prob=lp0)
        limit = 10 * max(budget // (walkers * k), 1)
        # step until the next step could pass the budget; proposals the priors rule out
        # cost no simulation, so the number of steps is known only as they run
        while sampler.iteration < limit and target.done + walkers * k <= budget:
            beta = float(betas[sampler.iteration]) if sampler.iteration < len(betas) else 1.0
            if beta != target.beta:  # rescore the walkers at the new temperature (memo)
                target.beta = beta
                state = emcee.State(state.coords, log_prob=target(state.coords))
            state = sampler.run_mcmc(state, 1)
        description = ex.description
    finally:
        if owned:
            ex.close()
    steps = sampler.iteration
    chain = sampler.get_chain()  # [steps, walkers, d]
    burn = max(steps // 2, len(betas))
    kept = chain[burn:]
    latent = kept.reshape(-1, d)
    step_idx = np.repeat(np.arange(burn, steps), walkers)
    walker_idx = np.tile(np.arange(walkers), steps - burn)
    memo = [target.memo[th.tobytes()] for th in latent]
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
        walker=walker_idx,
        step=step_idx,
        log_posterior=np.array([m[0] + m[1] for m in memo]),
        log_likelihood=np.array([m[1] for m in memo]),
        predictions=np.stack([m[2] for m in memo]),
        prior_samples=prior_draws(fit.params, 2000, child_rng(seed, _PREDICT)),
        chain=chain,
        simulations=target.done,
        executor=description,
    )
    post.diagnostics = diagnostics(chain, burn, sampler.acceptance_fraction, target.invalid)
    post.seconds = time.perf_counter() - t0
    return post


def diagnostics(
    chain: np.ndarray, burn: int, acceptance: np.ndarray, invalid: dict[str, int]
) -> dict[str, Any]:
    """Acceptance, autocorrelation time, effective sample size and split R-hat per
    parameter (walkers as chains), on the kept half of the chain."""
    import emcee

    kept = chain[burn:]
    n, w, d = kept.shape
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # a parameter no walker moved has no autocorrelation (0/0): reported as NaN
        warnings.simplefilter("ignore")
        tau = np.asarray(emcee.autocorr.integrated_time(kept, tol=0), dtype=float)
    ess = n * w / np.maximum(tau, 1.0)
    return {
        "walkers": int(w),
        "steps": int(chain.shape[0]),
        "burn_in_steps": int(burn),
        "kept_samples": int(n * w),
        "acceptance_fraction": float(np.mean(acceptance)),
        "autocorrelation_steps": [float(t) for t in tau],
        "effective_samples": [float(e) for e in ess],
        "r_hat": [float(r) for r in split_rhat(kept)],
        "chain_long_enough": bool(np.isfinite(tau).all() and n >= 10 * float(np.max(tau))),
        "invalid_proposals": dict(sorted(invalid.items())),
    }


def split_rhat(kept: np.ndarray) -> np.ndarray:
    """Gelman-Rubin's split R-hat per parameter, each walker's half-chains as chains."""
    n = kept.shape[0] // 2
    if n < 2:
        return np.full(kept.shape[2], np.nan)
    halves = np.concatenate([kept[:n], kept[n : 2 * n]], axis=1)  # [n, 2w, d]
    within = halves.var(axis=0, ddof=1).mean(axis=0)
    between = n * halves.mean(axis=0).var(axis=0, ddof=1)
    var = (n - 1) / n * within + between / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(np.where(within > 0, var / within, 1.0))
