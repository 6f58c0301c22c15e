"""The structural error term: its growth with the horizon, the predictive ensemble it
widens, maximum-likelihood recovery of known terms (within the Fisher information's
standard errors), zero where the model's own band explains the errors, and P10-P90
coverage of about 80% on a plant whose errors are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from evplant.calibration.discrepancy import (
    Z90,
    Discrepancy,
    ErrorRow,
    fit_discrepancy,
    horizon_months,
    standardised,
)
from evplant.calibration.observations import Statement, period_months
from evplant.calibration.scores import score_statement


def stmt(period: str, metric: str) -> Statement:
    first, last = period_months(period)
    return Statement(period, first, last, metric, "eq", 1.0, "vehicles")


def band(metric: str, h: float, y: float, p50: float, m: float) -> ErrorRow:
    """A row whose model band is normal with sd ``m`` (log scale; a share: absolute)."""
    if metric == "gross_margin":
        return ErrorRow(metric, h, y, p50 - Z90 * m, p50, p50 + Z90 * m)
    return ErrorRow(metric, h, y, p50 * math.exp(-Z90 * m), p50, p50 * math.exp(Z90 * m))


def plant(seed: int, n: int, sd: float, sd_pm: float, metric: str = "delivered",
          m_range: tuple[float, float] = (0.02, 0.05)):  # noqa: ANN201
    """Backtest rows of a plant whose structural error is known: the truth strays from
    the model's median by N(0, m^2 + sd^2 + sd_pm^2 h), m the model's own spread."""
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 13, n).astype(float)
    m = rng.uniform(*m_range, n)
    r = rng.normal(0.0, np.sqrt(m**2 + sd**2 + sd_pm**2 * h))
    if metric == "gross_margin":
        p50 = rng.uniform(0.1, 0.3, n)
        y = p50 + r
    else:
        p50 = rng.uniform(1e4, 5e4, n)
        y = p50 * np.exp(r)
    rows = [band(metric, h[i], y[i], p50[i], m[i]) for i in range(n)]
    return rows, m, h


def standard_errors(m: np.ndarray, h: np.ndarray, v0: float, v1: float) -> np.ndarray:
    """Standard errors of (sd^2, sd_per_month^2) from the Fisher information."""
    v = m**2 + v0 + v1 * h
    info = 0.5 * np.array([[np.sum(1 / v**2), np.sum(h / v**2)],
                           [np.sum(h / v**2), np.sum(h * h / v**2)]])
    return np.sqrt(np.diag(np.linalg.inv(info)))


def test_the_error_grows_like_a_random_walk() -> None:
    d = Discrepancy.model_validate(
        {"metrics": {"delivered": {"sd": 0.1, "sd_per_month": 0.02}, "gross_margin": {"sd": 0.01}}})
    assert d.sd("delivered", 0) == pytest.approx(0.1)
    assert d.sd("delivered", 4) == pytest.approx(math.sqrt(0.01 + 0.0004 * 4))
    assert d.sd("delivered", -3) == pytest.approx(0.1)  # in-sample: no drift
    assert d.sd("gross_margin", 12) == pytest.approx(0.01)
    assert d.sd("revenue", 12) == 0.0  # not listed: none
    assert Discrepancy.model_validate(d.model_dump()) == d


def test_the_terms_are_checked() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        Discrepancy.model_validate({"metrics": {"delivered": {"sd": -0.1}}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        Discrepancy.model_validate({"metrics": {"delivered": {"sd": 0.1, "drift": 1}}})
    with pytest.raises(ValueError, match="unknown metric.*sold"):
        Discrepancy.model_validate({"metrics": {"sold": {"sd": 0.1}}})
    d = Discrepancy()
    with pytest.raises(ValidationError, match="frozen"):
        d.metrics = {}  # type: ignore[misc]


def test_horizon_runs_to_a_periods_middle_month_a_levels_last() -> None:
    assert horizon_months("2025-06", stmt("2025-07", "delivered")) == 1
    assert horizon_months("2025-06", stmt("2025Q3", "delivered")) == 2
    assert horizon_months("2025-06", stmt("2025Q4", "gross_margin")) == 5
    assert horizon_months("2025-06", stmt("2026", "revenue")) == 12.5
    assert horizon_months("2025-06", stmt("2025Q3", "backlog")) == 3
    assert horizon_months("2025-06", stmt("2025Q1", "delivered")) == 0  # in-sample
    assert horizon_months("2025-06", stmt("2025", "delivered")) == 0.5


def test_widen_draws_the_predictive_law_from_the_callers_stream() -> None:
    d = Discrepancy.model_validate({"metrics": {"delivered": {"sd": 0.1, "sd_per_month": 0.05},
                                                "gross_margin": {"sd": 0.02}}})
    n = 100_000
    x = np.full(n, 2000.0)
    w = d.widen(x, "delivered", 3.0, np.random.default_rng(1))
    sd = d.sd("delivered", 3.0)
    # a lognormal around the model's figure: its log's sd, within 4 standard errors
    assert np.std(np.log(w / x)) == pytest.approx(sd, abs=4 * sd / math.sqrt(2 * n))
    assert np.median(w) == pytest.approx(2000.0, rel=4 * 1.2533 * sd / math.sqrt(n))
    share = d.widen(np.full(n, 0.2), "gross_margin", 6.0, np.random.default_rng(1))
    assert np.std(share - 0.2) == pytest.approx(0.02, abs=4 * 0.02 / math.sqrt(2 * n))
    # same stream, same draws; a metric with no term is left as it is
    assert np.array_equal(w, d.widen(x, "delivered", 3.0, np.random.default_rng(1)))
    rng = np.random.default_rng(2)
    assert np.array_equal(d.widen(x[:5], "revenue", 3.0, rng), x[:5])
    nan = d.widen(np.array([np.nan, 1.0]), "delivered", 0.0, np.random.default_rng(3))
    assert math.isnan(nan[0]) and nan[1] > 0


def test_two_discrepancies_widen_with_common_random_numbers() -> None:
    one = Discrepancy.model_validate({"metrics": {"delivered": {"sd": 0.1}}})
    two = Discrepancy.model_validate({"metrics": {"delivered": {"sd": 0.2}}})
    none = Discrepancy()
    x = np.linspace(100.0, 200.0, 50)
    a = one.widen(x, "delivered", 1.0, np.random.default_rng(9))
    b = two.widen(x, "delivered", 1.0, np.random.default_rng(9))
    assert np.allclose(np.log(b / x), 2 * np.log(a / x))
    # the stream advances by one draw per sample even with no term
    rng = np.random.default_rng(9)
    none.widen(x, "delivered", 1.0, rng)
    after = np.random.default_rng(9)
    after.standard_normal(x.size)
    assert rng.random() == after.random()


def test_maximum_likelihood_recovers_a_known_structural_error() -> None:
    sd, sd_pm = 0.06, 0.03
    rows, m, h = plant(0, 400, sd, sd_pm)
    fit = fit_discrepancy(rows).metrics["delivered"]
    se = standard_errors(m, h, sd**2, sd_pm**2)  # about 0.0008 and 0.00017 here
    assert abs(fit.sd**2 - sd**2) < 3 * se[0]
    assert abs(fit.sd_per_month**2 - sd_pm**2) < 3 * se[1]
    # over 10 plants the mean estimate is unbiased within 3 standard errors of a mean
    fits = [fit_discrepancy(plant(s, 400, sd, sd_pm)[0]).metrics["delivered"]
            for s in range(1, 11)]
    v0 = np.mean([f.sd**2 for f in fits])
    v1 = np.mean([f.sd_per_month**2 for f in fits])
    assert abs(v0 - sd**2) < 3 * se[0] / math.sqrt(10)
    assert abs(v1 - sd_pm**2) < 3 * se[1] / math.sqrt(10)


def test_a_share_is_fitted_in_margin_points() -> None:
    sd, sd_pm = 0.02, 0.006
    rows, m, h = plant(4, 300, sd, sd_pm, "gross_margin", (0.005, 0.015))
    fit = fit_discrepancy(rows).metrics["gross_margin"]
    se = standard_errors(m, h, sd**2, sd_pm**2)
    assert abs(fit.sd**2 - sd**2) < 3 * se[0]
    assert abs(fit.sd_per_month**2 - sd_pm**2) < 3 * se[1]


def test_errors_the_models_band_explains_need_no_discrepancy() -> None:
    # every error 0.8 model sds: the likelihood falls as any variance is added
    rng = np.random.default_rng(6)
    rows = []
    for i in range(60):
        m, p50 = rng.uniform(0.02, 0.08), rng.uniform(1e3, 1e4)
        rows.append(band("delivered", float(i % 12), p50 * math.exp((-1) ** i * 0.8 * m), p50, m))
    fit = fit_discrepancy(rows).metrics["delivered"]
    assert fit.sd == 0.0 and fit.sd_per_month == 0.0
    # errors drawn from the model's own band: an extra variance within noise of zero
    rows2, m2, h2 = plant(7, 400, 0.0, 0.0)
    fit2 = fit_discrepancy(rows2).metrics["delivered"]
    se = standard_errors(m2, h2, 0.0, 0.0)
    assert fit2.sd**2 < 3 * se[0] and fit2.sd_per_month**2 < 3 * se[1]


def test_widened_bands_cover_80_percent_of_a_known_plants_truth() -> None:
    sd, sd_pm, m = 0.05, 0.03, 0.03
    train, _, _ = plant(10, 400, sd, sd_pm, m_range=(m, m))
    d = fit_discrepancy(train)
    rng = np.random.default_rng(11)
    inside: dict[str, list[bool]] = {"model": [], "widened": []}
    horizons = []
    for _ in range(1000):
        h = float(rng.integers(0, 13))
        p50 = rng.uniform(1e4, 5e4)
        model = p50 * np.exp(rng.normal(0.0, m, 400))  # the model's own ensemble
        truth = p50 * math.exp(rng.normal(0.0, math.sqrt(m**2 + sd**2 + sd_pm**2 * h)))
        for name, ens in (("model", model), ("widened", d.widen(model, "delivered", h, rng))):
            lo, hi = np.quantile(ens, [0.1, 0.9])
            inside[name].append(bool(lo <= truth <= hi))
        horizons.append(h)
    near = np.array(horizons) <= 4
    wide = np.array(inside["widened"])
    # 1000 truths: a binomial sd of 1.3 points; near and far (about 380 each): 2 points
    assert np.mean(wide) == pytest.approx(0.8, abs=0.04)
    assert np.mean(wide[near]) == pytest.approx(0.8, abs=0.07)
    assert np.mean(wide[np.array(horizons) >= 9]) == pytest.approx(0.8, abs=0.07)
    assert np.mean(inside["model"]) < 0.5  # the model's own band is far too narrow


def test_rows_are_checked_and_thin_metrics_get_nothing() -> None:
    few = [band("revenue", 3.0, 1.1e9, 1e9, 0.05), band("revenue", 6.0, 0.9e9, 1e9, 0.05)]
    assert fit_discrepancy(few).metrics == {}
    one_horizon = [band("produced", 3.0, 1e4 * math.exp(e), 1e4, 0.01) for e in (0.2, -0.2, 0.1)]
    fit = fit_discrepancy(one_horizon).metrics["produced"]
    assert fit.sd_per_month == 0.0
    # the MLE of a single variance is the mean square less the model's own
    assert fit.sd**2 == pytest.approx((0.04 + 0.04 + 0.01) / 3 - 0.01**2, rel=1e-4)
    loss = ErrorRow("operating_result", 3.0, -110.0, -120.0, -100.0, -80.0)
    assert standardised(loss) == pytest.approx((math.log(1.1), math.log(1.5) / (2 * Z90)))
    assert standardised(ErrorRow("operating_result", 3.0, 5.0, -10.0, 1.0, 8.0)) is None
    for bad, words in [(ErrorRow("sold", 1.0, 1.0, 1.0, 1.0, 1.0), "unknown metric"),
                       (ErrorRow("delivered", 1.0, math.nan, 1.0, 1.0, 1.0), "finite"),
                       (ErrorRow("delivered", -1.0, 1.0, 1.0, 1.0, 1.0), "horizon"),
                       (ErrorRow("delivered", 1.0, 1.0, 2.0, 1.0, 3.0), "ordered")]:
        with pytest.raises(ValueError, match=words):
            fit_discrepancy([bad])


def test_a_scored_figure_makes_a_row_and_a_bound_does_not() -> None:
    first, last = period_months("2025Q3")
    figure = Statement("2025Q3", first, last, "delivered", "eq", 100.0, "vehicles")
    scored = score_statement(figure, np.arange(1.0, 101.0))
    row = ErrorRow.from_scored("2025-06", figure, scored)
    assert row == ErrorRow("delivered", 2.0, 100.0, scored.p10, scored.p50, scored.p90)
    floor = Statement("2025Q3", first, last, "delivered", "ge", 100.0, "vehicles")
    with pytest.raises(ValueError, match="bound"):
        ErrorRow.from_scored("2025-06", floor, score_statement(floor, np.arange(1.0, 101.0)))
