"""The observation model against closed forms: aggregation over periods, normal errors
for reported figures, censored bounds, and conflicting sources."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special, stats

from evplant.calibration.likelihood import (
    Errors,
    MetricModel,
    ObservationModel,
    compile_statements,
    log_likelihoods,
    log_mean_exp,
    model_values,
)
from evplant.calibration.observations import parse_observations
from evplant.errors import EvplantError

HEAD = "period,metric,relation,value,unit,note\n"
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
MODEL = ObservationModel(errors=Errors(eq=0.02, approx=0.2, bound=0.05, eq_share=0.01))


def stmts(*rows: str):  # noqa: ANN201
    return parse_observations(HEAD + "\n".join(rows) + "\n", "obs.csv")


def monthly() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    revenue = rng.uniform(1e9, 2e9, 12)
    return {
        "delivered": rng.integers(1000, 5000, 12).astype(float),
        "produced": rng.integers(1000, 5000, 12).astype(float),
        "revenue": revenue,
        "revenue_cars_cny": revenue * 0.97,
        "cogs": revenue * rng.uniform(0.7, 0.9, 12),
        "backlog": rng.integers(0, 9000, 12).astype(float),
        "wait_weeks": rng.uniform(0, 30, 12),
        "operating_result": rng.normal(-1e8, 1e8, 12),
    }


def test_periods_aggregate_as_their_metric_says() -> None:
    m = monthly()
    s = stmts("2024-03,delivered,eq,1,vehicles,", "2024Q2,delivered,eq,1,vehicles,",
              "2024,produced,eq,1,vehicles,", "2024Q3,gross_margin,eq,0.2,share,",
              "2024Q2,backlog,eq,1,vehicles,", "2024-06,wait_weeks,approx,1,weeks,",
              "2024Q4,revenue_cars,eq,1,CNY,")
    c = compile_statements(s, MONTHS, MODEL)
    v = model_values(c, m)
    q3 = slice(6, 9)
    assert v[0] == m["delivered"][2]
    assert v[1] == m["delivered"][3:6].sum()  # a flow is summed over its months
    assert v[2] == m["produced"].sum()
    gross = (m["revenue"][q3].sum() - m["cogs"][q3].sum()) / m["revenue"][q3].sum()
    assert v[3] == pytest.approx(gross)  # a ratio of the period's sums, not a mean of ratios
    assert v[4] == m["backlog"][5]  # a level at the period's last month
    assert v[5] == m["wait_weeks"][5]
    assert v[6] == pytest.approx(m["revenue_cars_cny"][9:].sum())


def test_reported_figures_are_normal_around_the_model_and_bounds_are_censored() -> None:
    s = stmts("2024Q2,delivered,eq,27307,vehicles,", "2024-10,delivered,ge,20000,vehicles,",
              "2024-10,delivered,le,30000,vehicles,", "2024-04,backlog,approx,88000,vehicles,",
              "2024,gross_margin,eq,0.185,share,")
    c = compile_statements(s, MONTHS, MODEL)
    x = np.array([26000.0, 19000.0, 31000.0, 70000.0, 0.17])
    got = log_likelihoods(c, x)
    assert got[0] == pytest.approx(stats.norm(26000, 0.02 * 27307).logpdf(27307))
    assert got[1] == pytest.approx(stats.norm.logcdf((19000 - 20000) / (0.05 * 20000)))
    assert got[2] == pytest.approx(stats.norm.logcdf((30000 - 31000) / (0.05 * 30000)))
    assert got[3] == pytest.approx(stats.norm(70000, 0.2 * 88000).logpdf(88000))
    assert got[4] == pytest.approx(stats.norm(0.17, 0.01).logpdf(0.185))  # absolute for shares
    # a bound is flat once the model is well past it, and harsh well short of it
    far = log_likelihoods(c, np.array([27307.0, 40000.0, 10000.0, 88000.0, 0.185]))
    assert far[1] == pytest.approx(0.0, abs=1e-12) and far[2] == pytest.approx(0.0, abs=1e-12)
    short = log_likelihoods(c, np.array([27307.0, 10000.0, 60000.0, 88000.0, 0.185]))
    assert short[1] < -50 and short[2] < -50  # ten sds short: log Phi(-10)


def test_conflicting_sources_pull_the_fit_to_their_precision_weighted_mean() -> None:
    """Two reports of one quarter (69,697 and 69,757 as in the record): the model figure
    that best explains both is their mean weighted by 1/sd^2 (a closed form)."""
    s = stmts("2024Q4,delivered,eq,69697,vehicles,", "2024Q4,delivered,eq,69757,vehicles,")
    c = compile_statements(s, MONTHS, MODEL)
    best = optimize.minimize_scalar(
        lambda x: -log_likelihoods(c, np.array([x, x])).sum(), bounds=(60000, 80000),
        method="bounded", options={"xatol": 1e-6},
    ).x
    w = 1.0 / c.sd**2
    assert best == pytest.approx(float((w * c.value).sum() / w.sum()), abs=1e-3)


def test_a_metric_scale_compares_a_wider_segment() -> None:
    model = ObservationModel(metrics={"revenue": MetricModel(scale=1.03)})
    c = compile_statements(stmts("2024,revenue,eq,1,CNY,"), MONTHS, model)
    m = monthly()
    assert model_values(c, m)[0] == pytest.approx(1.03 * m["revenue"].sum())


def test_statements_outside_the_run_are_refused() -> None:
    with pytest.raises(EvplantError, match="outside the scenario's horizon"):
        compile_statements(stmts("2025-01,delivered,eq,1,vehicles,"), MONTHS, MODEL)


def test_unknown_metric_in_the_observation_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        ObservationModel(metrics={"sold": MetricModel()})


def test_log_mean_exp_matches_scipy() -> None:
    x = np.array([[-1000.0, -1001.0, -1002.5], [-np.inf, -3.0, -4.0], [-np.inf] * 3])
    got = log_mean_exp(x, axis=1)
    assert got[:2] == pytest.approx(special.logsumexp(x[:2], axis=1) - np.log(3))
    assert got[2] == -np.inf


@pytest.mark.parametrize(
    "law",
    [
        {"law": "uniform", "low": 2.0, "high": 5.0},
        {"law": "triangular", "low": 0.6, "mode": 0.7, "high": 0.85},
        {"law": "triangular", "low": 0.0, "mode": 0.0, "high": 3.0},
        {"law": "triangular", "low": 0.0, "mode": 3.0, "high": 3.0},
        {"law": "normal", "mean": -1.0, "sd": 0.4},
        {"law": "lognormal", "mean": 3000.0, "sd": 1500.0},
    ],
)
def test_prior_densities_match_scipy(law: dict[str, float]) -> None:
    from evplant.scenario.uncertainty import Uncertainty

    u = Uncertainty(path="x", **law)  # type: ignore[arg-type]
    lo, hi = float(u.ppf(np.array([1e-6]))[0]), float(u.ppf(np.array([1 - 1e-6]))[0])
    x = np.concatenate([np.linspace(lo, hi, 41), [lo - 1.0, hi + 1.0]])
    if u.law == "uniform":
        ref = stats.uniform(2.0, 3.0).logpdf(x)
    elif u.law == "triangular":
        a, m, b = law["low"], law["mode"], law["high"]
        ref = stats.triang((m - a) / (b - a), loc=a, scale=b - a).logpdf(x)
    elif u.law == "normal":
        ref = stats.norm(-1.0, 0.4).logpdf(x)
    else:
        s2 = np.log1p(0.5**2)
        ref = stats.lognorm(np.sqrt(s2), scale=3000.0 * np.exp(-s2 / 2)).logpdf(x)
    got = u.logpdf(x)
    finite = np.isfinite(ref)
    np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-10, atol=1e-12)
    assert (got[~finite] == -np.inf).all()
