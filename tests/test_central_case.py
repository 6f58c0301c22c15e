"""One central case: a single run sets each uncertain value to the centre of its law (or
of its posterior), so it sits among Monte Carlo's replications, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.experiments.central import CLOSE, central_case, weighted_median
from evplant.experiments.run import run_mc
from evplant.run import simulate
from evplant.scenario import Uncertainty, builtin_names, prepare

LAWS = [
    {"law": "uniform", "low": -3.0, "high": 11.0},
    {"law": "triangular", "low": 4.5, "mode": 5.0, "high": 7.49},  # right-skewed
    {"law": "triangular", "low": 0.0, "mode": 0.9, "high": 1.0},  # left-skewed
    {"law": "triangular", "low": 1.0, "mode": 1.0, "high": 3.0},  # mode at the low end
    {"law": "normal", "mean": -2.5, "sd": 0.3},
    {"law": "lognormal", "mean": 6e9, "sd": 2e9},
]


@pytest.mark.parametrize("law", LAWS)
def test_a_laws_median_is_its_inverse_cdf_at_one_half(law: dict[str, float]) -> None:
    """The closed forms against scipy.stats' inverse CDF (``Uncertainty.ppf``)."""
    u = Uncertainty(path="x", **law)  # type: ignore[arg-type]
    assert u.median() == pytest.approx(float(u.ppf(np.array([0.5]))[0]), rel=1e-12)


def test_a_whole_number_laws_median_is_the_median_of_its_rounded_draws() -> None:
    u = Uncertainty(path="x", law="triangular", low=4.5, mode=5.0, high=7.49, integer=True)
    draws = u.ppf(np.random.default_rng(1).random(200_001))
    assert u.median() == float(np.median(draws)) == 6.0  # the mode, 5, is written


def test_a_weighted_median_is_the_median_of_the_samples_repeated_by_weight() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=41)
    assert weighted_median(values, np.ones(41)) == float(np.median(values))
    even = rng.normal(size=40)
    assert weighted_median(even, np.full(40, 0.025)) == pytest.approx(float(np.median(even)))
    counts = rng.integers(1, 5, size=41)
    assert weighted_median(values, counts / counts.sum()) == float(
        np.median(np.repeat(values, counts))
    )
    # a single heavy sample is the median
    w = np.ones(41)
    w[7] = 100.0
    assert weighted_median(values, w) == values[7]


def test_the_central_case_replaces_what_differs_and_keeps_what_set_pins() -> None:
    name = "beijing-etown-2023"
    case = central_case(name, prepare(name))
    got = {r.path: (r.written, r.central) for r in case.replaced}
    days = "plant.phases.phase2.shifts.0.days_per_week"
    speed = "plant.phases.phase2.cycle_time_scale"
    assert got[days] == (5.0, 6.0)  # triangular(4.5, 5, 7.49), drawn as whole days
    law = Uncertainty(path=speed, law="triangular", low=1.0, mode=1.4, high=1.5)
    assert got[speed] == (1.4, pytest.approx(float(law.ppf(np.array([0.5]))[0]), rel=1e-12))
    phase2 = case.scenario.plant.phases[1]
    assert phase2.shifts[0].days_per_week == 6
    assert phase2.cycle_time_scale == pytest.approx(got[speed][1])
    # --set pins a value: it is run as set, and not reported as replaced
    pinned = central_case(name, prepare(name, [f"{speed}=1.4"]))
    assert speed not in {r.path for r in pinned.replaced}
    assert pinned.scenario.plant.phases[1].cycle_time_scale == 1.4
    assert days in {r.path for r in pinned.replaced}


def test_calibrated_values_written_as_the_posterior_median_are_kept() -> None:
    """The calibrated scenario writes each posterior parameter as its median to four
    figures: within CLOSE of the weighted median, so it is kept as written."""
    name = "beijing-etown"
    prepared = prepare(name)
    case = central_case(name, prepared)
    assert all(r.law != "posterior" for r in case.replaced)
    assert case.scenario.plant.phases[0].cycle_time_scale == (
        prepared.scenario.plant.phases[0].cycle_time_scale
    )
    # the priors the posterior does not cover are still put at their centre
    assert {r.path for r in case.replaced} >= {
        "venture.finance.capex.phase2_plant.total_cny"}
    assert CLOSE < 0.01


def test_evplant_run_reports_the_values_it_set(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", "beijing-etown-2023", "--out", str(out), "--quiet",
              "--set", "horizon.end=2024-02",
              "--set", "plant.ramp.transfer_between_phases=0.1"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    central = {c["path"]: c for c in summary["central"]}
    assert central["plant.phases.phase2.shifts.0.days_per_week"]["written"] == 5
    assert central["plant.phases.phase2.shifts.0.days_per_week"]["central"] == 6
    assert "plant.ramp.transfer_between_phases" not in central  # pinned by --set
    report = (out / "report.html").read_text()
    assert "Uncertain values at their centre" in report
    assert "phase-2 working days a week" in report


# The built-in scenarios over their first three years (phase 1's ramp, phase 2's start,
# both phases mature) and 24 replications: ~25 s on two cores. A single run carries the
# noise of its own seed (a chip shortage or not) beside the spread of the parameters, so
# it is checked at one fixed seed; the scenario's written values put the default's
# 2026 below P10, so the test fails without the central case.
HORIZON = "horizon.end=2026-12"
REPLICATIONS = 24


# The calibrated vintages' posteriors have not converged (R-hat 1.6-1.8,
# docs/calibration.md): the medians of its parameters, one by one, are not the centre of
# the joint posterior, and their 2025 lies at about P80. Expected to fail until the
# posterior converges (issue 23); the plan's case holds.
UNCONVERGED = pytest.mark.xfail(
    reason="a non-converged posterior: its marginal medians are not its centre", strict=False)


@pytest.mark.parametrize("name", [n if n == "beijing-etown-2023" else
                                  pytest.param(n, marks=UNCONVERGED) for n in builtin_names()])
def test_the_single_run_lies_within_monte_carlos_middle_half(name: str, tmp_path: Path) -> None:
    prepared = prepare(name, [HORIZON])
    case = central_case(name, prepared)
    single = simulate(case.scenario, 0, stats=False).summary.plant["produced_by_year"]
    mc = run_mc(name, REPLICATIONS, out_dir=tmp_path / "mc", seed=0, overrides=[HORIZON],
                report=False)
    years = sorted(single)
    assert years == ["2024", "2025", "2026"]
    for year in years:
        p25, p75 = np.percentile(mc.kpi(f"produced_{year}"), [25, 75])
        assert p25 <= single[year] <= p75, (name, year, single[year], p25, p75)
    if name == "beijing-etown":
        written = simulate(prepared.scenario, 0, stats=False).summary.plant["produced_by_year"]
        assert written["2026"] < np.percentile(mc.kpi("produced_2026"), 10)
