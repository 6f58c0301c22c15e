"""Proper scores against closed forms and their definitions: the CRPS of a normal
(Gneiting & Raftery 2007), the O(n^2) energy form, the censored CRPS of a uniform, the
interval score by hand, and a statement's band, error and scale-free score."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from evplant.calibration.observations import Statement, period_months
from evplant.calibration.scores import (
    crps_bound,
    crps_samples,
    interval_score,
    score_statement,
)


def normal_crps(mu: float, s: float, y: float) -> float:
    """Gneiting & Raftery (2007), eq. 5: the CRPS of N(mu, s^2) at y."""
    z = (y - mu) / s
    return s * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi))


def crps_by_definition(x: np.ndarray, y: float) -> float:
    x = x[~np.isnan(x)]
    return float(np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :])))


def stmt(period: str, metric: str, relation: str, value: float, unit: str = "vehicles"):  # noqa: ANN201
    first, last = period_months(period)
    return Statement(period, first, last, metric, relation, value, unit)  # type: ignore[arg-type]


@pytest.mark.parametrize("y", [100.0, 103.0, 91.0, 130.0])
def test_crps_of_a_large_ensemble_is_the_normals_closed_form(y: float) -> None:
    mu, s = 100.0, 5.0
    # a random ensemble: its CRPS is an average of n terms, error about s / sqrt(n)
    rng = np.random.default_rng(11)
    x = rng.normal(mu, s, 200_000)
    assert crps_samples(x, y) == pytest.approx(normal_crps(mu, s, y), abs=5 * s / math.sqrt(x.size))
    # the normal's quantiles at (i - 1/2)/n: the empirical law converges as 1/n
    q = mu + s * stats.norm.ppf((np.arange(20_000) + 0.5) / 20_000)
    assert crps_samples(q, y) == pytest.approx(normal_crps(mu, s, y), rel=1e-4)


def test_crps_is_its_definition_on_small_ensembles_with_nans() -> None:
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 7, 40):
        x = rng.lognormal(3.0, 1.0, n)
        x[rng.random(n) < 0.2] = np.nan
        if np.all(np.isnan(x)):
            continue
        for y in (0.0, float(np.nanmedian(x)), 50.0, -3.0):
            assert crps_samples(x, y) == pytest.approx(crps_by_definition(x, y), rel=1e-12)
    ties = np.array([2.0, 2.0, 5.0, 5.0, 5.0, np.nan])
    assert crps_samples(ties, 4.0) == pytest.approx(crps_by_definition(ties, 4.0), rel=1e-12)


def test_a_point_ensemble_scores_its_absolute_error() -> None:
    assert crps_samples(np.full(9, 7.5), 10.0) == pytest.approx(2.5)
    assert crps_samples(np.array([3.0]), -1.0) == 4.0
    assert math.isnan(crps_samples(np.array([np.nan, np.nan]), 1.0))


def test_crps_is_proper_an_ensemble_from_the_truths_law_beats_a_narrow_one() -> None:
    rng = np.random.default_rng(2)
    truths = rng.normal(0.0, 1.0, 400)
    honest = rng.normal(0.0, 1.0, 2000)
    narrow = honest * 0.3
    wide = honest * 3.0
    mean = {name: np.mean([crps_samples(e, y) for y in truths])
            for name, e in (("honest", honest), ("narrow", narrow), ("wide", wide))}
    assert mean["honest"] < mean["narrow"] and mean["honest"] < mean["wide"]


@pytest.mark.parametrize("b", [0.0, 0.25, 0.5, 0.9, 1.0, 1.7])
def test_censored_crps_of_a_uniform_ensemble_is_its_closed_form(b: float) -> None:
    n = 20_000
    u = (np.arange(n) + 0.5) / n  # the uniform law on [0, 1]: F(x) = x
    ge = 1 / 3 + (b - 1) if b > 1 else b**3 / 3  # integral of F^2 below b
    le = (1 - b) ** 3 / 3 if b < 1 else 0.0  # integral of (1 - F)^2 above b
    assert crps_bound(u, b, "ge") == pytest.approx(ge, abs=1e-4)
    assert crps_bound(u, b, "le") == pytest.approx(le, abs=1e-4)


def test_censored_crps_by_hand_and_zero_past_the_bound() -> None:
    x = np.array([3.0, 0.0, 2.0, 1.0, np.nan])
    # F = 1/4 on [0,1), 2/4 on [1,2), 3/4 on [2, 2.5)
    assert crps_bound(x, 2.5, "ge") == pytest.approx(1 / 16 + 4 / 16 + 9 / 16 * 0.5)
    assert crps_bound(x, 0.0, "ge") == 0.0  # the whole ensemble is at or over the floor
    assert crps_bound(x, -5.0, "ge") == 0.0
    assert crps_bound(x, 3.0, "le") == 0.0  # ... at or under the ceiling
    # mirror: 1 - F = 3/4 on [0.5, 1), 2/4 on [1, 2), 1/4 on [2, 3)
    assert crps_bound(x, 0.5, "le") == pytest.approx(9 / 16 * 0.5 + 4 / 16 + 1 / 16)
    with pytest.raises(ValueError, match="'ge' or 'le'"):
        crps_bound(x, 1.0, "eq")


def test_censored_crps_is_the_part_of_the_crps_the_bound_decides() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(10.0, 2.0, 300)
    # a floor above the whole ensemble decides all of it: the CRPS at the floor itself
    top = float(x.max()) + 1.0
    assert crps_bound(x, top, "ge") == pytest.approx(crps_by_definition(x, top), rel=1e-10)
    bottom = float(x.min()) - 1.0
    assert crps_bound(x, bottom, "le") == pytest.approx(crps_by_definition(x, bottom), rel=1e-10)
    # any truth past the bound scores at least as much as the bound does
    for b in (6.0, 9.0, 10.0, 12.0):
        for y in (b, b + 0.5, b + 3.0):
            assert crps_bound(x, b, "ge") <= crps_by_definition(x, y) + 1e-12
        for y in (b, b - 0.5, b - 3.0):
            assert crps_bound(x, b, "le") <= crps_by_definition(x, y) + 1e-12


def test_interval_score_by_hand() -> None:
    assert interval_score(10.0, 20.0, 15.0) == 10.0
    assert interval_score(10.0, 20.0, 10.0) == 10.0
    assert interval_score(10.0, 20.0, 5.0) == 10.0 + 2 / 0.2 * 5  # 60
    assert interval_score(10.0, 20.0, 22.0) == pytest.approx(10.0 + 10.0 * 2)
    assert interval_score(10.0, 20.0, 22.0, alpha=0.5) == pytest.approx(10.0 + 4.0 * 2)
    with pytest.raises(ValueError, match="alpha"):
        interval_score(1.0, 2.0, 1.5, alpha=0.0)


def test_a_statement_is_scored_by_its_relation() -> None:
    x = np.arange(1.0, 101.0)  # numpy's quantiles: 10.9, 50.5, 90.1
    fig = score_statement(stmt("2025-01", "delivered", "eq", 50.0), x)
    assert (fig.p10, fig.p50, fig.p90) == pytest.approx((10.9, 50.5, 90.1))
    assert fig.inside and fig.rel_error == pytest.approx(0.01)
    assert fig.crps == pytest.approx(crps_by_definition(x, 50.0))
    assert fig.score == pytest.approx(fig.crps / 50.0)
    out = score_statement(stmt("2025-01", "delivered", "approx", 95.0), x)
    assert not out.inside and out.rel_error == pytest.approx(-44.5 / 95)

    floor = score_statement(stmt("2025Q1", "delivered", "ge", 80.0), x)
    assert floor.inside and floor.rel_error is None  # the band reaches the floor
    assert floor.crps == pytest.approx(crps_bound(x, 80.0, "ge"))
    assert floor.score == pytest.approx(floor.crps / 80.0)
    assert not score_statement(stmt("2025Q1", "delivered", "ge", 95.0), x).inside
    assert score_statement(stmt("2025Q1", "delivered", "le", 20.0), x).inside
    assert not score_statement(stmt("2025Q1", "delivered", "le", 5.0), x).inside


def test_a_share_keeps_its_absolute_score_and_money_is_scale_free() -> None:
    rng = np.random.default_rng(4)
    m = rng.normal(0.2, 0.02, 500)
    s = score_statement(stmt("2025Q1", "gross_margin", "eq", 0.18, "share"), m)
    assert s.score == s.crps == pytest.approx(crps_by_definition(m, 0.18))
    assert s.rel_error == pytest.approx((s.p50 - 0.18) / 0.18)
    # the same relative forecast of a figure 1e6 times larger scores the same
    small = score_statement(stmt("2025Q1", "revenue", "eq", 1.8, "CNY"), m * 10)
    large = score_statement(stmt("2025Q1", "revenue", "eq", 1.8e6, "CNY"), m * 1e7)
    assert small.score == pytest.approx(large.score, rel=1e-9)


def test_an_ensemble_of_no_numbers_scores_nan_and_outside() -> None:
    s = score_statement(stmt("2025-02", "delivered", "eq", 10.0), np.full(4, np.nan))
    assert not s.inside and math.isnan(s.p50) and math.isnan(s.score)
