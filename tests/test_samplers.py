"""Both samplers of every time distribution against scipy.stats.

The two engines share their samplers, so their agreement cannot see a wrong draw.
Here each family is checked against an independent reference: a ``scipy.stats``
distribution whose parameters are derived in this file from what a plant engineer
states (mean and cv, or min/mode/max), checked first to have that mean and standard
deviation. Each sampler then has to match it in mean and variance (tolerances from
the sample size: five standard errors) and pass a Kolmogorov-Smirnov test, at fixed
seeds.

- ``Dist.sample`` (NumPy generators): release intervals, and the slow path of tests;
- ``draws.draw`` (the counter-based draw with its own gamma, Weibull, triangular and
  Box-Muller normal): failures and repairs, inside the kernel;
- ``LineDraws.processing`` (``ziggurat.processing_times``: a counter-based ziggurat
  normal for lognormal times, ``draws.draw`` for the other families): processing
  times, the bulk of a run's draws.

With 40,000 draws a halved lognormal sigma or a Weibull scale off by a few percent
fails every check here by a wide margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from evplant.line.calendar import WorkCalendar
from evplant.line.distributions import Dist
from evplant.line.draws import draw, uniform01
from evplant.line.sampling import LineDraws
from evplant.line.spec import Station, build_line
from evplant.line.ziggurat import standard_normal

N = 40_000
Z = 5.0  # standard errors allowed: a false alarm about once in 3 million checks
KS_P = 1e-3
DIST = TypeAdapter(Dist)


@dataclass(frozen=True)
class Case:
    spec: dict[str, Any]
    ref: Any  # a frozen scipy.stats distribution
    mean: float  # what the spec says, worked out by hand
    std: float

    @property
    def id(self) -> str:
        return "-".join(str(v) for v in self.spec.values())


def lognormal(mean: float, cv: float) -> Case:
    # X = exp(mu + sigma Z): E X = exp(mu + sigma^2 / 2), cv^2 = exp(sigma^2) - 1
    sigma = math.sqrt(math.log(1.0 + cv * cv))
    mu = math.log(mean) - sigma * sigma / 2.0
    ref = stats.lognorm(s=sigma, scale=math.exp(mu))
    return Case({"dist": "lognormal", "mean": mean, "cv": cv}, ref, mean, cv * mean)


def gamma(mean: float, cv: float) -> Case:
    # shape k, scale theta: mean k theta, cv 1 / sqrt(k)
    k = 1.0 / (cv * cv)
    ref = stats.gamma(a=k, scale=mean / k)
    return Case({"dist": "gamma", "mean": mean, "cv": cv}, ref, mean, cv * mean)


def weibull(mean: float, shape: float) -> Case:
    # scale lam: mean lam Gamma(1 + 1/k), E X^2 = lam^2 Gamma(1 + 2/k)
    lam = mean / math.gamma(1.0 + 1.0 / shape)
    std = lam * math.sqrt(math.gamma(1.0 + 2.0 / shape) - math.gamma(1.0 + 1.0 / shape) ** 2)
    ref = stats.weibull_min(c=shape, scale=lam)
    return Case({"dist": "weibull", "mean": mean, "shape": shape}, ref, mean, std)


def triangular(a: float, c: float, b: float) -> Case:
    mean = (a + b + c) / 3.0
    std = math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18.0)
    ref = stats.triang(c=(c - a) / (b - a), loc=a, scale=b - a)
    return Case({"dist": "triangular", "min": a, "mode": c, "max": b}, ref, mean, std)


def uniform(a: float, b: float) -> Case:
    ref = stats.uniform(loc=a, scale=b - a)
    return Case({"dist": "uniform", "min": a, "max": b}, ref, (a + b) / 2, (b - a) / math.sqrt(12))


def exponential(mean: float) -> Case:
    return Case({"dist": "exponential", "mean": mean}, stats.expon(scale=mean), mean, mean)


CASES = [
    exponential(60.0),
    exponential(3600.0),
    lognormal(55.0, 0.3),
    lognormal(900.0, 1.5),
    gamma(72.0, 0.15),  # shape 44
    gamma(1800.0, 0.5),  # shape 4
    gamma(300.0, 1.0),  # shape 1: the boundary of the boost
    gamma(600.0, 2.0),  # shape 0.25: boosted by U^(1/shape)
    weibull(36000.0, 0.7),
    weibull(28800.0, 1.0),
    weibull(3000.0, 2.5),
    triangular(120.0, 140.0, 190.0),
    triangular(10.0, 10.0, 30.0),  # mode at the minimum
    triangular(10.0, 30.0, 30.0),  # mode at the maximum
    uniform(60.0, 75.0),
    uniform(0.0, 5.0),
]
IDS = [c.id for c in CASES]


def counter_draws(code: np.ndarray, table: np.ndarray, seed: int, n: int = N) -> np.ndarray:
    key = np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]
    return np.array([draw(key, j, code, table) for j in range(n)])


def numpy_draws(dist: Any, seed: int, n: int = N) -> np.ndarray:
    return np.asarray(dist.sample(np.random.default_rng(seed), n), dtype=np.float64)


def assert_matches(x: np.ndarray, case: Case) -> None:
    n = len(x)
    mean, var, _, kurt = (float(v) for v in case.ref.stats(moments="mvsk"))
    assert np.all(np.isfinite(x)) and np.all(x >= case.ref.support()[0])
    # the standard error of the mean, and of the sample variance (kurt is the excess)
    se_mean = math.sqrt(var / n)
    se_var = var * math.sqrt(2.0 / (n - 1) + kurt / n)
    assert abs(x.mean() - mean) < Z * se_mean, (x.mean(), mean)
    assert abs(x.var(ddof=1) - var) < Z * se_var, (x.var(ddof=1), var)
    ks = stats.kstest(x, case.ref.cdf)
    assert ks.pvalue > KS_P, ks


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_reference_has_the_stated_mean_and_cv(case: Case) -> None:
    # the scipy distribution is the one the spec describes (checked on scipy's own numbers)
    assert float(case.ref.mean()) == pytest.approx(case.mean, rel=1e-9)
    assert float(case.ref.std()) == pytest.approx(case.std, rel=1e-9)
    assert DIST.validate_python(case.spec).mean == pytest.approx(case.mean, rel=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_numpy_sampler_matches_scipy(case: Case) -> None:
    dist = DIST.validate_python(case.spec)
    assert_matches(numpy_draws(dist, seed=20240601), case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_counter_based_draw_matches_scipy(case: Case) -> None:
    dist = DIST.validate_python(case.spec)
    code = np.array(dist.encode(), dtype=np.float64)
    assert_matches(counter_draws(code, np.zeros(1), seed=20240602), case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_scaled_distributions_scale_every_draw(case: Case) -> None:
    dist = DIST.validate_python(case.spec)
    big = dist.scaled(2.5)
    assert big.mean == pytest.approx(2.5 * case.mean, rel=1e-12)
    # a scale family: the same stream, times the factor
    assert numpy_draws(big, 5, 1000) == pytest.approx(2.5 * numpy_draws(dist, 5, 1000), rel=1e-9)
    code, big_code = (np.array(d.encode(), dtype=np.float64) for d in (dist, big))
    got = counter_draws(big_code, np.zeros(1), 6, 1000)
    assert got == pytest.approx(2.5 * counter_draws(code, np.zeros(1), 6, 1000), rel=1e-9)


def test_deterministic_draws_are_the_value() -> None:
    dist = DIST.validate_python({"dist": "deterministic", "value": 42.5})
    assert np.all(numpy_draws(dist, 1, 100) == 42.5)
    code = np.array(dist.encode(), dtype=np.float64)
    assert np.all(counter_draws(code, np.zeros(1), 1, 100) == 42.5)
    assert dist.mean == 42.5 and dist.scaled(2.0).value == 85.0


@pytest.mark.parametrize("samples", [[5.0], [3.0, 7.0], [1.0, 2.0, 2.0, 9.0, 30.0]])
def test_empirical_resamples_with_equal_weights(samples: list[float]) -> None:
    dist = DIST.validate_python({"dist": "empirical", "samples": samples})
    assert dist.mean == pytest.approx(np.mean(samples))
    # the kernel's table holds other stations' samples first: the code points past them
    table = np.array([-1.0, -2.0, *samples, -3.0])
    code = np.array([dist.encode()[0], 2.0, float(len(samples)), 0.0])
    for x in (numpy_draws(dist, 11), counter_draws(code, table, 12), one_station_draws(dist, 13)):
        values, counts = np.unique(x, return_counts=True)
        support = np.unique(samples)
        assert np.array_equal(values, support)
        # each listed sample (a repeated one counts twice) equally likely: chi-square
        expected = np.array([samples.count(v) for v in support]) / len(samples) * len(x)
        if len(support) > 1:
            assert stats.chisquare(counts, expected).pvalue > KS_P
        else:
            assert counts[0] == len(x)


def test_counter_uniforms_are_uniform_and_uncorrelated() -> None:
    key = np.random.SeedSequence(99).generate_state(1, np.uint64)[0]
    u = np.array([uniform01(key, np.uint64(c)) for c in range(N)])
    assert np.all((u > 0.0) & (u < 1.0))
    assert stats.kstest(u, "uniform").pvalue > KS_P
    # neighbouring counters (the gamma's rejection uses them together) are independent
    r = np.corrcoef(u[:-1], u[1:])[0, 1]
    assert abs(r) < Z / math.sqrt(N)
    # draws of other keys are other numbers
    key2 = np.random.SeedSequence(100).generate_state(1, np.uint64)[0]
    v = np.array([uniform01(key2, np.uint64(c)) for c in range(1000)])
    assert abs(np.corrcoef(u[:1000], v)[0, 1]) < Z / math.sqrt(1000)


def test_counter_draw_n_is_a_pure_function_of_key_and_n() -> None:
    code = np.array(DIST.validate_python({"dist": "gamma", "mean": 10, "cv": 2.0}).encode())
    key = np.uint64(0xDEADBEEF)
    forward = [draw(key, j, code, np.zeros(1)) for j in range(200)]
    backward = [draw(key, j, code, np.zeros(1)) for j in reversed(range(200))]
    assert forward == backward[::-1]
    assert len(set(forward)) == 200


def one_station_draws(dist: Any, seed: int, n: int = N, chunks: int = 1) -> np.ndarray:
    """Processing times of one station through the engine's own drawing path."""
    line = build_line(
        [Station(name="s", cycle_time=dist)],
        [0],
        variant_names=["default"],
        variants=None,
        calendar=WorkCalendar.always(),
    )
    draws = LineDraws(line, seed)
    parts = np.array_split(np.zeros(n, dtype=np.int64), chunks)
    return np.concatenate([draws.processing(v)[:, 0] for v in parts])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_processing_times_match_scipy(case: Case) -> None:
    dist = DIST.validate_python(case.spec)
    assert_matches(one_station_draws(dist, seed=20240603), case)


def test_processing_times_do_not_depend_on_chunks() -> None:
    dist = DIST.validate_python({"dist": "lognormal", "mean": 60.0, "cv": 0.4})
    whole = one_station_draws(dist, 3, 5000)
    assert np.array_equal(whole, one_station_draws(dist, 3, 5000, chunks=7))
    assert not np.array_equal(whole, one_station_draws(dist, 4, 5000))


def test_ziggurat_normal_tails_and_layers() -> None:
    # 400,000 draws: the tail beyond the base layer's edge (|z| > 3.654, the rejection
    # path) and the wedges are exercised thousands of times
    key = np.random.SeedSequence(77).generate_state(1, np.uint64)[0]
    z = np.array([standard_normal(key, np.uint64(64 * j)) for j in range(400_000)])
    assert stats.kstest(z, "norm").pvalue > KS_P
    n = len(z)
    for q in (1.0, 2.0, 3.0, 3.6541528853610088, 4.0):
        p = 2 * stats.norm.sf(q)
        got = float(np.mean(np.abs(z) > q))
        assert abs(got - p) < Z * math.sqrt(p * (1 - p) / n), (q, got, p)
    # symmetric: the sign bit is fair
    assert abs(float(np.mean(z > 0)) - 0.5) < Z * math.sqrt(0.25 / n)


def test_a_variants_times_do_not_depend_on_the_other_variants() -> None:
    # the n-th job of a variant gets the n-th draw of its stream, however the variants
    # interleave; families differ by variant (a deterministic one: not all lognormal)
    stations = [
        Station(
            name=f"s{i}",
            cycle_time={"dist": "lognormal", "mean": 50.0 + i, "cv": 0.3},
            variant_cycle_time={"b": {"dist": "deterministic", "value": 40.0}} if i else {},
        )
        for i in range(3)
    ]
    line = build_line(
        stations,
        [1, 1, 0],
        variant_names=["a", "b"],
        variants=None,
        calendar=WorkCalendar.always(),
    )
    rng = np.random.default_rng(5)
    mixed = rng.integers(0, 2, 3000)
    times = LineDraws(line, 9).processing(mixed)
    only_a = LineDraws(line, 9).processing(np.zeros(int((mixed == 0).sum()), dtype=np.int64))
    assert np.array_equal(times[mixed == 0], only_a)
    assert np.all(times[mixed == 1][:, 1:] == 40.0)
    # station 0 has the lognormal for both variants, from two streams
    b0 = times[mixed == 1][:, 0]
    assert len(np.unique(b0)) == len(b0) and not np.isin(b0, only_a[:, 0]).any()
