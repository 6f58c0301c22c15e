"""Waste-free sequential Monte Carlo with adaptive tempering (Dau & Chopin 2022).

The target is a path of densities from one we can already sample to the posterior::

    pi_beta(theta) ~ prior(theta) * mean_k[ exp(a_k(theta) + beta * b_k(theta)) ]

``a_k`` is the log-likelihood of what the particles already know (none for a
calibration from the priors; the earlier record for an assimilation) and ``b_k`` that
of what is being taken in, both under simulation seed ``k`` (common random numbers,
so the mean over ``k`` is the likelihood estimate of :mod:`.inference`).  At
``beta = 0`` the particles are the start (draws from the priors, or an earlier
posterior); at ``beta = 1`` they are the posterior.

Each stage picks the next ``beta`` so that the particles' importance weights keep an
effective sample size (Kish) of ``ess_target`` x N (bisection), resamples ``M``
ancestors (systematic), and runs ``P - 1`` random-walk Metropolis steps from each
under the new density; all ``M x P`` states are the next particles ("waste-free":
no state is thrown away, so the chains need not mix in one stage).  Half the
proposals are independent draws from the Gaussian fitted to the reweighted particles
(in a dozen dimensions and more, a short random walk barely moves, and the particles
would collapse onto their few ancestors); the others are a random walk with the
particles' weighted covariance, scaled each stage towards a quarter accepted.  The
stages also estimate the log evidence ``log p(new record | start)``.

Several independent runs advance together (``runs``), each with its own generator:
their proposals are evaluated in one batch, so a parallel executor is kept busy, yet
each run's decisions depend only on its own generator and on the (deterministic)
densities, so the same seed gives the same particles whatever the batching or the
number of workers.  Independent runs are what makes R-hat meaningful here.

Why not the ``particles`` library's own ``SMC`` with ``AdaptiveTempering`` and
waste-free moves: it draws its resampling and move uniforms from NumPy's global
random state, which this project forbids (the same seed must give the same posterior
whatever else runs in the process), and it evaluates one run at a time, so four
independent runs could not share one batch of simulations.  The algorithm is the
same; this module is short and tested against closed forms (``tests/test_calibrate_smc.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .likelihood import log_mean_exp

#: thetas [n, d] -> (log prior [n], a [n, K], b [n, K]); -inf where a vector is impossible
Evaluator = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
Spent = Callable[[], int]


def tempered(a: np.ndarray, b: np.ndarray, beta: float) -> np.ndarray:
    """The tempered log-likelihood ``log mean_k exp(a_k + beta b_k)`` per particle."""
    with np.errstate(invalid="ignore"):
        x = a + beta * b if beta > 0 else a.copy()
    x = np.where(np.isnan(x), -np.inf, x)
    return log_mean_exp(x, axis=-1)


def ess_of(logw: np.ndarray) -> float:
    """Kish's effective sample size of log-weights (0 when all are -inf)."""
    top = np.max(logw)
    if not np.isfinite(top):
        return 0.0
    w = np.exp(logw - top)
    return float(w.sum() ** 2 / (w**2).sum())


@dataclass
class Particles:
    """One run's particles and what is known of each."""

    theta: np.ndarray  # [N, d]
    log_prior: np.ndarray  # [N]
    a: np.ndarray  # [N, K]
    b: np.ndarray  # [N, K]
    chain: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    draw: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def logpost(self, beta: float) -> np.ndarray:
        return np.asarray(self.log_prior + tempered(self.a, self.b, beta))


@dataclass
class Stage:
    """What one stage of one run did."""

    beta: float
    ess: float  # of the reweighted particles, before resampling
    acceptance: float  # of the stage's Metropolis steps
    scale: float  # of the proposal, relative to the particles' covariance


@dataclass
class RunResult:
    particles: Particles
    stages: list[Stage]
    log_evidence: float
    complete: bool  # whether beta reached 1 through stages (not forced by the budget)


def next_beta(p: Particles, beta: float, target_ess: float) -> tuple[float, np.ndarray]:
    """The largest ``beta' <= 1`` keeping ESS >= target (bisection), with its log-weights."""
    base = tempered(p.a, p.b, beta)

    def logw(bp: float) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            w = tempered(p.a, p.b, bp) - base
        return np.where(np.isfinite(w), w, -np.inf)

    w1 = logw(1.0)
    if ess_of(w1) >= target_ess:
        return 1.0, w1
    lo, hi = beta, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if ess_of(logw(mid)) >= target_ess:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9:
            break
    # always move forward, even when one particle carries everything
    new = max(lo, beta + 1e-9 * (1.0 - beta)) if lo <= beta else lo
    return min(new, 1.0), logw(min(new, 1.0))


def systematic(w: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling: ``m`` ancestor indices for normalised weights ``w``."""
    u = (rng.random() + np.arange(m)) / m
    c = np.cumsum(w)
    c[-1] = 1.0
    return np.asarray(np.minimum(np.searchsorted(c, u, side="right"), len(w) - 1))


def weighted_cov(theta: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The weighted covariance of the particles, with a floor on its diagonal so a
    parameter the particles agree on still moves."""
    mean = w @ theta
    x = theta - mean
    cov = (x * w[:, None]).T @ x
    d = theta.shape[1]
    span = np.maximum(np.abs(mean), 1.0)
    floor = (1e-6 * span) ** 2
    return np.asarray(cov + np.diag(np.maximum(floor - np.diag(cov), 0.0)) + 1e-12 * np.eye(d))


@dataclass
class _Live:
    p: Particles
    rng: np.random.Generator
    beta: float = 0.0
    scale: float = 1.0
    log_z: float = 0.0
    stages: list[Stage] = field(default_factory=list)
    done: bool = False
    complete: bool = True


def temper(
    starts: list[Particles],
    evaluate: Evaluator,
    rngs: list[np.random.Generator],
    *,
    chains: int,
    steps: int,
    ess_target: float = 0.5,
    budget: int | None = None,
    spent: Spent | None = None,
    cost_per_eval: int = 1,
    max_stages: int = 200,
    polish: int = 0,
) -> list[RunResult]:
    """Temper each run from ``beta = 0`` (its start) to 1; see the module docstring.

    ``chains`` (M) ancestors each run ``steps`` (P) states a stage, so each run keeps
    ``M x P`` particles.  ``budget`` (with ``spent``, the evaluations made so far, in
    the units of ``cost_per_eval`` per vector) stops the tempering when the next stage
    could pass it: the remaining way to ``beta = 1`` is then one importance
    reweighting, and the run is marked incomplete.  Up to ``polish`` more stages at
    ``beta = 1`` follow while the budget allows (more moves: the runs forget their
    paths, and R-hat between them falls)."""
    if steps < 2 or chains < 1:
        raise ValueError("need at least 1 chain and 2 steps a chain")
    d = starts[0].theta.shape[1]
    live = [_Live(p, rng, scale=2.38 / math.sqrt(d)) for p, rng in zip(starts, rngs, strict=True)]
    n = chains * steps
    stage_cost = len(live) * chains * (steps - 1) * cost_per_eval
    extra = 0
    for _ in range(max_stages):
        active = [r for r in live if not r.done]
        affordable = budget is None or spent is None or spent() + stage_cost <= budget
        if not active and extra < polish and affordable:
            extra += 1
            active = live  # one more stage at beta = 1 for every run
        if not active:
            break
        moves: list[tuple[_Live, np.ndarray, np.ndarray, np.ndarray, float]] = []
        for r in active:
            over = not affordable and r.beta < 1.0
            if over:
                beta, logw = 1.0, tempered(r.p.a, r.p.b, 1.0) - tempered(r.p.a, r.p.b, r.beta)
                logw = np.where(np.isfinite(logw), logw, -np.inf)
                r.complete = False
            else:
                beta, logw = next_beta(r.p, r.beta, ess_target * len(r.p.theta))
            top = float(np.max(logw))
            if not math.isfinite(top):
                raise FloatingPointError("every particle has zero likelihood")
            w = np.exp(logw - top)
            r.log_z += top + math.log(float(w.mean()))
            w /= w.sum()
            ess = float(1.0 / (w**2).sum())
            cov = weighted_cov(r.p.theta, w)
            mean = w @ r.p.theta
            anc = systematic(w, chains if not over else n, r.rng)
            r.beta = beta
            if over:  # no budget for moves: resample to equal weights and stop
                r.p = _take(r.p, anc, np.arange(n) % chains, np.arange(n) // chains)
                r.stages.append(Stage(beta, ess, math.nan, r.scale))
                r.done = True
                continue
            moves.append((r, anc, mean, cov, ess))
        if moves:
            _move(moves, evaluate, chains, steps)
        for r, *_ in moves:
            r.done = r.beta >= 1.0
    return [RunResult(r.p, r.stages, r.log_z, r.complete) for r in live]


def _take(p: Particles, idx: np.ndarray, chain: np.ndarray, draw: np.ndarray) -> Particles:
    return Particles(p.theta[idx].copy(), p.log_prior[idx].copy(), p.a[idx].copy(),
                     p.b[idx].copy(), chain, draw)


def _move(
    moves: list[tuple[_Live, np.ndarray, np.ndarray, np.ndarray, float]],
    evaluate: Evaluator,
    chains: int,
    steps: int,
) -> None:
    """Waste-free: from each run's ancestors, ``steps - 1`` Metropolis steps, every
    state kept; the proposals of all runs are evaluated together, step by step.

    Each step is, with probability ``INDEPENDENT``, an independent proposal from the
    Gaussian fitted to the reweighted particles (it jumps across the posterior at once
    when the posterior is near that Gaussian: short chains still give new, nearly
    independent states), and otherwise a random walk with the particles' covariance
    (which explores where the Gaussian is a poor fit)."""
    states = []
    for r, anc, mean, cov, _ in moves:
        cur = _take(r.p, anc, np.arange(chains), np.zeros(chains, dtype=np.int64))
        try:
            chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            chol = np.diag(np.sqrt(np.maximum(np.diag(cov), 1e-300)))
        states.append(_Chains(r, cur, chol, mean, [cur]))
    for step in range(1, steps):
        props, coins = [], []
        for c in states:
            m = len(c.cur.theta)
            coin = c.r.rng.random(m) < INDEPENDENT
            z = c.r.rng.standard_normal(c.cur.theta.shape)
            jump = c.mean + INDEPENDENT_SCALE * z @ c.chol.T
            walk = c.cur.theta + c.r.scale * z @ c.chol.T
            props.append(np.where(coin[:, None], jump, walk))
            coins.append(coin)
        lp, a, b = evaluate(np.concatenate(props))
        at = 0
        for j, c in enumerate(states):
            m = len(c.cur.theta)
            sl = slice(at, at + m)
            at += m
            new = Particles(props[j], lp[sl], a[sl], b[sl])
            u = c.r.rng.random(m)
            with np.errstate(invalid="ignore"):
                ratio = new.logpost(c.r.beta) - c.cur.logpost(c.r.beta)
                # the independent proposal's densities: q(current) / q(proposed)
                ratio = ratio + np.where(coins[j], c.logq(c.cur.theta) - c.logq(new.theta), 0.0)
            ok = np.log(u) < np.where(np.isnan(ratio), -np.inf, ratio)
            c.tried_walk += int((~coins[j]).sum())
            c.walked += int((ok & ~coins[j]).sum())
            c.accepted += int(ok.sum())
            c.cur = Particles(
                np.where(ok[:, None], new.theta, c.cur.theta),
                np.where(ok, new.log_prior, c.cur.log_prior),
                np.where(ok[:, None], new.a, c.cur.a),
                np.where(ok[:, None], new.b, c.cur.b),
                np.arange(m),
                np.full(m, step),
            )
            c.kept.append(c.cur)
    for j, c in enumerate(states):
        total = len(c.kept[0].theta) * (steps - 1)
        acc = c.accepted / total if total else 0.0
        c.r.p = Particles(
            np.concatenate([k.theta for k in c.kept]),
            np.concatenate([k.log_prior for k in c.kept]),
            np.concatenate([k.a for k in c.kept]),
            np.concatenate([k.b for k in c.kept]),
            np.concatenate([np.arange(len(k.theta)) for k in c.kept]),
            np.concatenate([np.full(len(k.theta), s) for s, k in enumerate(c.kept)]),
        )
        c.r.stages.append(Stage(c.r.beta, moves[j][4], acc, c.r.scale))
        # the random walk's scale towards a quarter accepted, its optimum
        if c.tried_walk:
            c.r.scale *= math.exp(1.5 * (c.walked / c.tried_walk - 0.25))


INDEPENDENT = 0.5  # share of independent (Gaussian) proposals among the moves
INDEPENDENT_SCALE = 1.2  # their spread against the particles': a little wider, for the tails


@dataclass
class _Chains:
    """One run's chains during a stage of moves."""

    r: _Live
    cur: Particles
    chol: np.ndarray
    mean: np.ndarray
    kept: list[Particles]
    accepted: int = 0
    walked: int = 0
    tried_walk: int = 0
    inv: np.ndarray | None = None

    def logq(self, theta: np.ndarray) -> np.ndarray:
        """The independent proposal's log density (up to a constant) at ``theta``."""
        if self.inv is None:  # a small triangular inverse, once (no threaded BLAS call)
            self.inv = np.linalg.inv(self.chol)
        z = (theta - self.mean) @ self.inv.T
        return np.asarray(-0.5 * np.sum(z**2, axis=1) / INDEPENDENT_SCALE**2)
