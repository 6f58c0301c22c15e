"""Calibration end to end on a small plant: it recovers known parameters, is the same
whatever the number of workers, and its outputs run as scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from evplant.calibration.api import calibrate
from evplant.calibration.backtest import backtest
from evplant.calibration.inference import run_calibration
from evplant.calibration.observations import Statement, to_csv
from evplant.cli import app
from evplant.run import simulate
from evplant.scenario import load_scenario

TINY = str(Path(__file__).parent / "data" / "tiny-plant.yaml")
TRUTH_SEED = 987_654  # the record's own randomness: no calibration seed is this one


def record(scale: float, mature: float, path: Path) -> Path:
    """What the tiny plant 'really did' at known parameters, as a record file: monthly
    figures as lower bounds, quarters and the year as reported figures."""
    sc, _ = load_scenario(TINY, [f"plant.phases.line.cycle_time_scale={scale}",
                                 f"plant.ramp.cycle_time.mature_units={mature}"])
    produced = simulate(sc, TRUTH_SEED).column("produced")
    rows = [Statement(f"2024-{m + 1:02d}", "", "", "produced", "ge", float(0.95 * produced[m]),
                      "vehicles") for m in range(12)]
    for q in range(4):
        rows.append(Statement(f"2024Q{q + 1}", "", "", "produced", "eq",
                              float(produced[3 * q:3 * q + 3].sum()), "vehicles"))
    rows.append(Statement("2024", "", "", "produced", "eq", float(produced.sum()), "vehicles"))
    path.write_text(to_csv(rows))
    return path


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record(1.15, 2500.0, tmp_path_factory.mktemp("obs") / "tiny.csv")


def test_recovers_known_parameters_and_learns_from_the_record(observed: Path) -> None:
    post = run_calibration(TINY, observed, budget=1100, seed=1)
    lo, hi = np.quantile(post.samples, [0.02, 0.98], axis=0)
    assert lo[0] <= 1.15 <= hi[0]
    assert lo[1] <= 2500.0 <= hi[1]
    prior_sd = np.std(post.prior_samples, axis=0)
    assert np.std(post.samples[:, 0]) < 0.25 * prior_sd[0]  # the line's speed is pinned
    assert post.simulations <= 1100


def test_simulation_based_calibration_on_draws_from_the_prior(tmp_path: Path) -> None:
    """Truths drawn from the prior: each one's rank in its own posterior must not sit in
    the far tails (a calibration that is overconfident or biased fails this)."""
    rng = np.random.default_rng(2024)
    ranks = []
    for k in range(4):
        truth = (rng.uniform(0.7, 1.4), rng.uniform(300, 6000))
        obs = record(*truth, tmp_path / f"obs{k}.csv")
        post = run_calibration(TINY, obs, budget=1100, seed=k)
        ranks.append([float(np.mean(post.samples[:, j] < truth[j])) for j in range(2)])
    r = np.array(ranks)
    assert ((r[:, 0] > 0.01) & (r[:, 0] < 0.99)).all(), r


def test_same_seed_same_posterior_whatever_the_workers(observed: Path) -> None:
    one = run_calibration(TINY, observed, budget=1100, seed=5)
    two = run_calibration(TINY, observed, budget=1100, seed=5, workers=2)
    np.testing.assert_array_equal(one.samples, two.samples)
    np.testing.assert_array_equal(one.log_posterior, two.log_posterior)
    other = run_calibration(TINY, observed, budget=1100, seed=6)
    assert not np.array_equal(one.samples, other.samples)


def test_outputs_form_a_runnable_calibrated_scenario(observed: Path, tmp_path: Path) -> None:
    res = calibrate(TINY, observed, out_dir=tmp_path / "cal", budget=1100, seed=2,
                    name="tiny-fitted")
    names = {f.name for f in res.files}
    assert names == {"posterior.parquet", "fit.csv", "calibration.json", "scenario.yaml",
                     "report.html"}
    text = (tmp_path / "cal" / "scenario.yaml").read_text()
    assert "calibrated: posterior median" in text and "A one-shop plant" in text  # comments kept
    sc, _ = load_scenario(str(tmp_path / "cal" / "scenario.yaml"))
    assert sc.name == "tiny-fitted" and sc.posterior is not None
    point = res.posterior.point  # written to 4 significant digits
    assert sc.plant.phases[0].cycle_time_scale == pytest.approx(point[0], rel=1e-3)
    assert sc.plant.ramp.cycle_time.mature_units == pytest.approx(point[1], rel=1e-3)
    table = pq.read_table(tmp_path / "cal" / "posterior.parquet")
    assert table.num_rows == len(res.posterior.samples)
    assert sum(table.column("weight").to_pylist()) == pytest.approx(1.0)
    summary = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    assert summary["simulations"] == res.posterior.simulations <= 1100
    fit = (tmp_path / "cal" / "fit.csv").read_text().splitlines()
    assert len(fit) == 1 + 17 and fit[0].startswith("period,metric,relation,observed")


def test_mc_on_a_calibrated_scenario_draws_whole_posterior_samples(
    observed: Path, tmp_path: Path
) -> None:
    from evplant.experiments import run_mc

    calibrate(TINY, observed, out_dir=tmp_path / "cal", budget=1100, seed=3)
    res = run_mc(str(tmp_path / "cal" / "scenario.yaml"), 6, out_dir=tmp_path / "mc", seed=1)
    post = pq.read_table(tmp_path / "cal" / "posterior.parquet")
    pairs = set(zip(post.column("plant.phases.line.cycle_time_scale").to_pylist(),
                    post.column("plant.ramp.cycle_time.mature_units").to_pylist(), strict=True))
    drawn = [(res.param("plant.phases.line.cycle_time_scale")[i],
              res.param("plant.ramp.cycle_time.mature_units")[i]) for i in range(6)]
    assert all(d in pairs for d in drawn)  # jointly: each replication one whole sample
    monthly = pq.read_table(tmp_path / "mc" / "monthly.parquet").to_pydict()
    assert len(monthly["replication"]) == 6 * 12
    produced = np.array(monthly["produced"]).reshape(6, 12)
    np.testing.assert_array_equal(produced, res.paths["produced"])


def test_backtest_scores_the_forecast_after_each_origin(observed: Path, tmp_path: Path) -> None:
    bt = backtest(TINY, ["2024-06"], observed, out_dir=tmp_path / "bt", budget=1100, draws=8)
    [score] = bt.origins
    s = score.score()
    # the origin is the last month known: fitted months 1-6 and Q1, Q2; scored months
    # 7-12 and Q3, Q4 (the year straddles the origin: neither fitted nor scored)
    assert s["fitted"] == 8 and s["scored"] == 8
    lines = (tmp_path / "bt" / "backtest.csv").read_text().splitlines()
    assert len(lines) == 1 + 8
    assert (tmp_path / "bt" / "origin-2024-06" / "scenario.yaml").exists()


def test_cli_calibrate_writes_everything_and_refuses_bad_records(
    observed: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    res = runner.invoke(app, ["calibrate", TINY, "--observed", str(observed), "--out", str(out),
                              "--budget", "1100", "-q"])
    assert res.exit_code == 0, res.output
    assert "statements within the fit's P10-P90" in res.output
    assert (out / "scenario.yaml").exists()
    ran = runner.invoke(app, ["run", str(out / "scenario.yaml"), "--out", str(tmp_path / "r"),
                              "-q"])
    assert ran.exit_code == 0, ran.output

    bad = tmp_path / "bad.csv"
    bad.write_text("period,metric,relation,value,unit,note\n2024-01,sold,eq,5,vehicles,x\n")
    res = runner.invoke(app, ["calibrate", TINY, "--observed", str(bad), "--out",
                              str(tmp_path / "nothing"), "--budget", "1100", "-q"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        f"error: {bad}:2: metric: 'sold' is not a metric; allowed: produced, delivered, "
        "revenue, revenue_cars, cogs, gross_margin, operating_result, backlog, wait_weeks"
    ]
    assert not (tmp_path / "nothing").exists()
    few = runner.invoke(app, ["calibrate", TINY, "--observed", str(observed), "--budget", "10",
                              "--out", str(tmp_path / "few"), "-q"])
    assert few.exit_code == 2 and "--budget" in few.output and "give at least" in few.output
    assert not (tmp_path / "few").exists()
