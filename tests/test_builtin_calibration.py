"""The built-in forecast vintages: the plan (beijing-etown-2023) declares what the record
may teach, with marked priors; beijing-etown-2024 is the plan calibrated on 2024;
the default (beijing-etown) is that posterior with the record to September 2025
assimilated. Each is committed with its posterior, fit, diagnostics and forecast, and
the backtest beside them."""

from __future__ import annotations

import csv
import json
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from evplant.calibration.observations import read_observations
from evplant.calibration.outputs import read_posterior
from evplant.months import month_number
from evplant.scenario import load_scenario
from evplant.scenario.load import beside, builtin_names, prepare
from evplant.scenario.paths import resolve

BUILTIN = Path(str(resources.files("evplant.scenario") / "builtin"))
CAL = BUILTIN / "calibration"
VINTAGES = ("beijing-etown-2023", "beijing-etown-2024", "beijing-etown")


def test_the_three_vintages_are_built_in() -> None:
    assert set(VINTAGES) <= set(builtin_names())


def test_every_prior_is_marked_and_admits_the_plan() -> None:
    text = (BUILTIN / "beijing-etown-2023.yaml").read_text(encoding="utf-8")
    section = text[text.index("\ncalibration:"):]
    items = [ln for ln in section.splitlines() if re.match(r"^\s*- \{path:", ln)]
    sc, _ = load_scenario("beijing-etown-2023")
    assert sc.calibration is not None
    assert len(items) == len(sc.calibration.parameters) >= 20
    for line in items:  # each prior says where it comes from
        assert re.search(r"#\s*(estimate|facts|ramp-ups|observed):\s*\S", line), line
    data = prepare("beijing-etown-2023").data
    for p in sc.calibration.parameters:
        _, value = resolve(data, p.path)
        assert np.isfinite(p.logpdf(np.array([float(value)]))[0]), p.path


def test_the_record_runs_to_september_2025_and_no_further() -> None:
    sc, _ = load_scenario("beijing-etown-2023")
    assert sc.calibration is not None
    stmts = [s for f in sc.calibration.observed_files
             for s in read_observations(beside("beijing-etown-2023", f))]
    assert max(month_number(s.last) for s in stmts) == month_number("2025-09")
    assert {s.first[:4] for s in stmts} == {"2024", "2025"}


def posterior_of(name: str) -> tuple[list[str], np.ndarray]:
    sc, _ = load_scenario(name)
    assert sc.posterior is not None
    paths, values, weights = read_posterior(beside(name, sc.posterior.file))
    assert weights.sum() == pytest.approx(1.0) and len(values) >= 400
    return paths, values


@pytest.mark.parametrize(("name", "through"), [("beijing-etown-2024", "2024-12"),
                                               ("beijing-etown", "2025-09")])
def test_each_vintage_is_the_plan_fitted_through_its_month(name: str, through: str) -> None:
    sc, _ = load_scenario(name)
    plan, _ = load_scenario("beijing-etown-2023")
    assert sc.posterior is not None and plan.posterior is None
    assert sc.posterior.fitted_through == through
    assert sc.calibration is not None and plan.calibration is not None
    assert sc.calibration.parameters == plan.calibration.parameters
    assert sc.calibration.observation_model == plan.calibration.observation_model
    paths, values = posterior_of(name)
    assert paths == [p.path for p in plan.calibration.parameters]
    data = prepare(name).data
    for j, p in enumerate(plan.calibration.parameters):  # the written value is the median
        _, value = resolve(data, p.path)
        median = float(np.median(values[:, j]))
        if p.integer:
            assert value == int(round(median)), p.path
        else:
            assert float(value) == pytest.approx(median, rel=2e-3), p.path
    summary = json.loads((CAL / f"{name}.json").read_text())
    assert summary["fit_months"].endswith(through)
    d = summary["diagnostics"]
    assert d["runs"] == 4 and d["reached_posterior"]
    with (CAL / f"{name}-fit.csv").open() as f:
        fit = list(csv.DictReader(f))
    assert all(month_number(f"{r['period'][:4]}-12" if len(r["period"]) == 4 else
                            r["period"] if "-" in r["period"] else
                            f"{r['period'][:4]}-{3 * int(r['period'][-1]):02d}")
               <= month_number(through) for r in fit)


def test_the_default_took_2025_in_from_the_2024_posterior() -> None:
    summary = json.loads((CAL / "beijing-etown.json").read_text())
    what = summary["diagnostics"]["assimilation"]
    assert what["fitted_through_before"] == "2024-12" and what["fitted_through"] == "2025-09"
    assert what["new_statements"] >= 20
    # what only 2025 informs moved away from its prior; what 2024 pinned stayed close
    plan, _ = load_scenario("beijing-etown-2023")
    assert plan.calibration is not None
    paths24, v24 = posterior_of("beijing-etown-2024")
    paths25, v25 = posterior_of("beijing-etown")
    j = paths25.index("plant.phases.phase2.cycle_time_scale")
    prior = plan.calibration.parameters[j]
    assert prior.law == "uniform" and prior.low is not None and prior.high is not None
    width24 = np.subtract(*np.quantile(v24[:, j], [0.9, 0.1]))
    width25 = np.subtract(*np.quantile(v25[:, j], [0.9, 0.1]))
    assert width25 < 0.7 * width24  # the 2025 record narrowed phase 2's speed


def test_the_backtest_scores_every_quarter_end_against_naive_forecasts() -> None:
    with (CAL / "beijing-etown-backtest.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["origin"] for r in rows} == {"2024-06", "2024-09", "2024-12", "2025-03",
                                           "2025-06"}
    assert {"naive_last", "naive_seasonal", "naive_trend", "score", "inside"} <= set(rows[0])
    for r in rows:  # each scored statement starts after its origin
        first = r["period"] if "-" in r["period"] else (
            f"{r['period'][:4]}-{3 * int(r['period'][-1]) - 2:02d}" if "Q" in r["period"]
            else f"{r['period']}-01")
        assert month_number(first) > month_number(r["origin"])
    summary = json.loads((CAL / "beijing-etown-backtest.json").read_text())
    assert summary["all"]["scored"] == len(rows)


@pytest.mark.parametrize("name", VINTAGES)
def test_each_vintage_ships_its_forecast_with_both_bands(name: str) -> None:
    sc, _ = load_scenario(name)
    assert sc.calibration is not None and sc.calibration.forecast is not None
    assert sc.calibration.discrepancy is not None
    with Path(beside(name, sc.calibration.forecast)).open() as f:
        rows = list(csv.DictReader(f))
    bands = {(r["period"], r["metric"], r["band"]): r for r in rows}
    for q in ("2025Q4", "2026Q1", "2026Q4"):
        model, pred = bands[(q, "delivered", "model")], bands[(q, "delivered", "predictive")]
        # the structural error widens the band ahead of the last fitted month
        assert float(pred["p90"]) - float(pred["p10"]) > float(model["p90"]) - float(model["p10"])
    others = {v.name.split(":")[0] for v in sc.calibration.vintages}
    assert others == set(VINTAGES) - {name}
