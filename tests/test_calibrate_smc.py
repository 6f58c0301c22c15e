"""The tempered SMC sampler against closed forms: a Gaussian prior and likelihood, whose
posterior and evidence are known exactly (conjugacy), from the priors and by data
tempering from an earlier posterior; its choices of temperature and its determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evplant.calibration.smc import Particles, ess_of, next_beta, systematic, temper, tempered

PRIOR_SD = 5.0
NOISE = 1.0
Y1 = np.array([2.0, -1.0, 0.5])
Y2 = np.array([2.5, -1.5, 1.5])


def gauss_eval(known: np.ndarray | None, new: np.ndarray):  # type: ignore[no-untyped-def]
    """theta [n, 3] -> (log prior, a, b): ``known`` and ``new`` observed each as
    N(theta, NOISE); one 'seed' (K = 1)."""

    def ev(th: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lp = stats.norm(0, PRIOR_SD).logpdf(th).sum(axis=1)
        a = (stats.norm(th, NOISE).logpdf(known).sum(axis=1) if known is not None
             else np.zeros(len(th)))
        b = stats.norm(th, NOISE).logpdf(new).sum(axis=1)
        return lp, a[:, None], b[:, None]

    return ev


def posterior(n_obs: int, ybar: np.ndarray) -> tuple[np.ndarray, float]:
    """Mean and variance of each coordinate after ``n_obs`` observations of mean ybar."""
    var = 1.0 / (1.0 / PRIOR_SD**2 + n_obs / NOISE**2)
    return var * n_obs * ybar / NOISE**2, var


def run(starts: list[np.ndarray], ev, seed: int, chains: int = 40, steps: int = 5):  # type: ignore[no-untyped-def]
    parts = []
    for th in starts:
        lp, a, b = ev(th)
        parts.append(Particles(th, lp, a, b))
    rngs = [np.random.default_rng([seed, r]) for r in range(len(starts))]
    return temper(parts, ev, rngs, chains=chains, steps=steps, polish=2)


def test_from_the_prior_it_reaches_the_conjugate_posterior_and_its_evidence() -> None:
    rng = np.random.default_rng(0)
    starts = [rng.normal(0, PRIOR_SD, (200, 3)) for _ in range(4)]
    res = run(starts, gauss_eval(None, Y1), seed=1)
    theta = np.concatenate([r.particles.theta for r in res])
    mean, var = posterior(1, Y1)
    # the pooled particles' mean within ~4 standard errors (ESS well below N: 200 a run)
    se = np.sqrt(var / 200)
    np.testing.assert_allclose(theta.mean(axis=0), mean, atol=4 * se)
    np.testing.assert_allclose(theta.var(axis=0), var, rtol=0.35)
    # the evidence p(y1) = N(y1; 0, (PRIOR_SD^2 + NOISE^2) I)
    log_z = stats.multivariate_normal(np.zeros(3), (PRIOR_SD**2 + NOISE**2) * np.eye(3)).logpdf(Y1)
    for r in res:
        assert r.complete
        assert r.stages[0].beta < 1.0  # a sharp likelihood is tempered in, not jumped to
        assert r.log_evidence == pytest.approx(log_z, abs=1.3)  # one run: sd ~0.45
    assert np.mean([r.log_evidence for r in res]) == pytest.approx(log_z, abs=0.5)


def test_data_tempering_from_a_posterior_equals_all_the_data_at_once() -> None:
    """Start from exact draws of p(theta | y1), take in y2: the particles must follow
    p(theta | y1, y2), the posterior of both records at once."""
    rng = np.random.default_rng(3)
    mean1, var1 = posterior(1, Y1)
    starts = [rng.normal(mean1, np.sqrt(var1), (200, 3)) for _ in range(4)]
    res = run(starts, gauss_eval(Y1, Y2), seed=4)
    theta = np.concatenate([r.particles.theta for r in res])
    mean12, var12 = posterior(2, (Y1 + Y2) / 2)
    np.testing.assert_allclose(theta.mean(axis=0), mean12, atol=4 * np.sqrt(var12 / 200))
    np.testing.assert_allclose(theta.var(axis=0), var12, rtol=0.35)
    # p(y2 | y1) = N(y2; mean1, (var1 + NOISE^2) I)
    log_z = stats.multivariate_normal(mean1, (var1 + NOISE**2) * np.eye(3)).logpdf(Y2)
    assert np.mean([r.log_evidence for r in res]) == pytest.approx(log_z, abs=0.5)


def test_the_next_temperature_keeps_the_effective_sample_size_asked_for() -> None:
    rng = np.random.default_rng(5)
    th = rng.normal(0, PRIOR_SD, (500, 3))
    lp, a, b = gauss_eval(None, Y1)(th)
    p = Particles(th, lp, a, b)
    beta, logw = next_beta(p, 0.0, 250.0)
    assert 0.0 < beta < 1.0
    assert ess_of(logw) == pytest.approx(250.0, rel=1e-3)
    np.testing.assert_allclose(logw, tempered(a, b, beta) - tempered(a, b, 0.0))
    # an unsurprising record: one step to beta = 1
    flat = Particles(th, lp, a, np.zeros_like(b))
    assert next_beta(flat, 0.0, 250.0)[0] == 1.0


def test_systematic_resampling_keeps_each_weight_to_within_one_copy() -> None:
    w = np.array([0.5, 0.25, 0.125, 0.125])
    idx = systematic(w, 80, np.random.default_rng(1))
    counts = np.bincount(idx, minlength=4)
    assert (np.abs(counts - 80 * w) < 1.0 + 1e-9).all()


def test_the_same_seed_gives_the_same_particles_and_another_seed_others() -> None:
    rng = np.random.default_rng(8)
    starts = [rng.normal(0, PRIOR_SD, (60, 3)) for _ in range(2)]
    ev = gauss_eval(None, Y1)
    one = run([s.copy() for s in starts], ev, seed=2, chains=12)
    two = run([s.copy() for s in starts], ev, seed=2, chains=12)
    other = run([s.copy() for s in starts], ev, seed=3, chains=12)
    for x, y in zip(one, two, strict=True):
        np.testing.assert_array_equal(x.particles.theta, y.particles.theta)
    assert not np.array_equal(one[0].particles.theta, other[0].particles.theta)


def test_a_budget_too_small_to_temper_stops_and_says_so() -> None:
    rng = np.random.default_rng(9)
    starts = [rng.normal(0, PRIOR_SD, (40, 3))]
    ev = gauss_eval(None, Y1)
    lp, a, b = ev(starts[0])
    calls = {"n": 0}

    def counted(th: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        calls["n"] += len(th)
        return ev(th)

    [res] = temper([Particles(starts[0], lp, a, b)], counted, [np.random.default_rng(1)],
                   chains=8, steps=5, budget=64, spent=lambda: calls["n"])
    assert not res.complete
    assert calls["n"] <= 64
    assert res.stages[-1].beta == 1.0  # forced by one reweighting


def test_simulation_based_calibration_the_truths_ranks_are_uniform() -> None:
    """Talts et al. (2018): draw a truth from the prior, data from the truth, the
    posterior by SMC; the truth's rank among the posterior's draws must be uniform.
    A sampler that is overconfident piles ranks at the ends, a biased one on one side."""
    rng = np.random.default_rng(2024)
    trials, draws = 120, 19  # ranks 0..19 among 19 thinned draws: 20 bins
    ranks = []
    for t in range(trials):
        truth = rng.normal(0, PRIOR_SD, 3)
        y = truth + rng.normal(0, NOISE, 3)
        starts = [rng.normal(0, PRIOR_SD, (60, 3)) for _ in range(2)]
        res = run(starts, gauss_eval(None, y), seed=100 + t, chains=15, steps=4)
        theta = np.concatenate([r.particles.theta for r in res])[:, 0]
        pick = rng.choice(len(theta), draws, replace=False)
        ranks.append(int(np.sum(theta[pick] < truth[0])))
    counts = np.bincount(ranks, minlength=draws + 1)
    # grouped into 5 bins of 4 ranks: a chi-square test of uniformity
    grouped = counts.reshape(5, 4).sum(axis=1)
    assert stats.chisquare(grouped).pvalue > 0.001, grouped
    assert 0.3 < np.mean(ranks) / draws < 0.7
