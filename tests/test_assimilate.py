"""Sequential assimilation, rolling-origin backtests and forecast tables on a small plant:
assimilating in steps gives the posterior of all the data at once, the same seed gives
the same posterior on any number of workers, the CLI refuses what it must, and a
forecast's quarters are its months summed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from evplant.calibration.api import Calibrated, assimilate, calibrate
from evplant.calibration.backtest import backtest, default_origins
from evplant.cli import app
from evplant.scenario import load_scenario
from test_calibrate import TINY, record

BUDGET = 1200


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record(1.15, 2500.0, tmp_path_factory.mktemp("obs") / "tiny.csv")


@pytest.fixture(scope="module")
def first_half(observed: Path, tmp_path_factory: pytest.TempPathFactory) -> Calibrated:
    """The tiny plant calibrated on the record to June (its statements that end by then)."""
    out = tmp_path_factory.mktemp("cal") / "h1"
    return calibrate(TINY, observed, out_dir=out, budget=BUDGET, seed=11, origin="2024-07",
                     name="tiny-h1")


def test_the_calibrated_scenario_says_the_last_month_it_was_fitted_on(
    first_half: Calibrated
) -> None:
    sc, _ = load_scenario(str(first_half.out_dir / "scenario.yaml"))
    assert sc.posterior is not None and sc.posterior.fitted_through == "2024-06"
    table = pq.read_table(first_half.out_dir / "posterior.parquet")
    assert set(table.column("run").to_pylist()) == {0, 1, 2, 3}  # four independent runs
    summary = json.loads((first_half.out_dir / "calibration.json").read_text())
    d = summary["diagnostics"]
    assert d["runs"] == 4 and len(d["r_hat"]) == 2 and len(d["ess_tail"]) == 2
    assert d["reached_posterior"]


def test_assimilation_in_steps_equals_a_calibration_on_all_the_data_at_once(
    observed: Path, first_half: Calibrated, tmp_path: Path
) -> None:
    steps = assimilate(first_half.out_dir / "scenario.yaml", observed, out_dir=tmp_path / "a",
                       budget=1300, seed=12)
    once = calibrate(TINY, observed, out_dir=tmp_path / "c", budget=BUDGET, seed=13)
    a, c = steps.posterior, once.posterior
    assert a.diagnostics["assimilation"]["new_statements"] == 9
    assert a.diagnostics["assimilation"]["fitted_through"] == "2024-12"
    # the two posteriors agree within Monte Carlo error: their medians differ by less
    # than a third of the posterior's spread (P10-P90), parameter by parameter
    spread = np.quantile(c.samples, 0.9, axis=0) - np.quantile(c.samples, 0.1, axis=0)
    gap = np.abs(np.median(a.samples, axis=0) - np.median(c.samples, axis=0))
    assert (gap < spread / 3).all(), (gap, spread)
    # and the record's second half narrowed what the first half left open
    h1 = first_half.posterior.samples
    assert np.std(a.samples[:, 0]) < np.std(h1[:, 0])
    assert a.simulations <= 1300


def test_the_same_seed_gives_the_same_assimilation_on_one_and_two_workers(
    observed: Path, first_half: Calibrated, tmp_path: Path
) -> None:
    src = first_half.out_dir / "scenario.yaml"
    one = assimilate(src, observed, out_dir=tmp_path / "1", budget=1300, seed=5, report=False)
    two = assimilate(src, observed, out_dir=tmp_path / "2", budget=1300, seed=5, workers=2,
                     report=False)
    np.testing.assert_array_equal(one.posterior.samples, two.posterior.samples)
    assert (tmp_path / "1" / "scenario.yaml").read_text() == \
        (tmp_path / "2" / "scenario.yaml").read_text()


def test_cli_assimilate_writes_a_runnable_scenario(
    observed: Path, first_half: Calibrated, tmp_path: Path
) -> None:
    out = tmp_path / "cli"
    res = CliRunner().invoke(app, ["assimilate", str(first_half.out_dir / "scenario.yaml"),
                                   "--observed", str(observed), "--out", str(out),
                                   "--budget", "1300", "--name", "tiny-h2", "-q"])
    assert res.exit_code == 0, res.output
    assert "took in 9 statements after 2024-06" in res.output
    text = (out / "scenario.yaml").read_text()
    data = yaml.safe_load(text)
    assert data["name"] == "tiny-h2" and data["posterior"]["fitted_through"] == "2024-12"
    assert text.count("posterior:\n") == 1  # the old section replaced, not added to
    assert "(was 1.0)" in text and "(was 1.0); " not in text.split("was 1.0)")[1][:3]
    assert "A one-shop plant" in text  # the comments kept
    sc, _ = load_scenario(str(out / "scenario.yaml"))
    assert sc.name == "tiny-h2"


def refused(args: list[str], out: Path) -> str:
    res = CliRunner().invoke(app, [*args, "--out", str(out), "-q"])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert "Traceback" not in res.output
    assert not out.exists()  # nothing written
    return lines[0]


def test_cli_assimilate_refuses_a_record_that_ends_before_the_last_fitted_month(
    observed: Path, first_half: Calibrated, tmp_path: Path
) -> None:
    short = tmp_path / "short.csv"
    rows = observed.read_text().splitlines()
    keep = ("period", "2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024Q1")
    short.write_text("\n".join(r for r in rows if r.startswith(keep)) + "\n")
    msg = refused(["assimilate", str(first_half.out_dir / "scenario.yaml"), "--observed",
                   str(short)], tmp_path / "x")
    assert "ends at 2024-05, not after the posterior's last fitted month 2024-06" in msg


def test_cli_assimilate_refuses_a_bad_record_and_a_plan(
    observed: Path, first_half: Calibrated, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("period,metric,relation,value,unit,note\n2024-08,produced,eq,many,vehicles,\n")
    msg = refused(["assimilate", str(first_half.out_dir / "scenario.yaml"), "--observed",
                   str(bad)], tmp_path / "y")
    assert "bad.csv" in msg and "value" in msg
    msg = refused(["assimilate", TINY, "--observed", str(observed)], tmp_path / "z")
    assert "no posterior" in msg


def test_a_rolling_backtest_assimilates_and_scores_against_naive_forecasts(
    observed: Path, tmp_path: Path
) -> None:
    assert default_origins(TINY, observed) == ["2024-06", "2024-09"]
    bt = backtest(TINY, ["2024-06", "2024-09"], observed, out_dir=tmp_path / "bt",
                  budget=BUDGET, assimilate_budget=1300, draws=10, seed=3)
    first, second = bt.origins
    assert first.calibration.posterior.method == "calibrate"
    assert second.calibration.posterior.method == "assimilate"
    with (tmp_path / "bt" / "backtest.csv").open() as f:
        rows = list(csv.DictReader(f))
    head = ["origin", "period", "metric", "relation", "value", "p10", "p50", "p90", "inside",
            "score", "naive_last", "naive_seasonal", "naive_trend"]
    assert list(rows[0])[:13] == head
    # scored: what starts after each origin (Q3, Q4, months 7-12; then Q4, months 10-12)
    assert sum(r["origin"] == "2024-06" for r in rows) == 8
    assert sum(r["origin"] == "2024-09" for r in rows) == 4
    q4 = next(r for r in rows if r["origin"] == "2024-09" and r["period"] == "2024Q4")
    # the last quarter's level, by hand: Q3's reported total
    q3 = next(ln for ln in observed.read_text().splitlines() if ln.startswith("2024Q3,"))
    assert float(q4["naive_last"]) == pytest.approx(float(q3.split(",")[3]))
    assert q4["naive_seasonal"] == ""  # no year-earlier record for a young plant
    for r in rows:
        lo, mid, hi = float(r["p10"]), float(r["p50"]), float(r["p90"])
        assert lo <= mid <= hi
        assert (r["inside"] == "yes") == (
            hi >= float(r["value"]) if r["relation"] == "ge" else lo <= float(r["value"]) <= hi)
    summary = json.loads((tmp_path / "bt" / "backtest.json").read_text())
    assert summary["all"]["scored"] == 12 and "skill_vs_naive_last" in summary["all"]
    assert (tmp_path / "bt" / "discrepancy.yaml").exists()
    assert "Coverage and skill by origin" in (tmp_path / "bt" / "report.html").read_text()


def test_mc_writes_both_bands_for_months_quarters_and_years(
    first_half: Calibrated, tmp_path: Path
) -> None:
    from evplant.experiments import run_mc

    sc = tmp_path / "sc.yaml"
    text = (first_half.out_dir / "scenario.yaml").read_text()
    text = text.replace("calibration:\n", "calibration:\n  discrepancy:\n    metrics:\n"
                        "      produced: {sd: 0.05, sd_per_month: 0.04}\n", 1)
    sc.write_text(text)
    (tmp_path / "posterior.parquet").write_bytes(
        (first_half.out_dir / "posterior.parquet").read_bytes())
    res = run_mc(str(sc), 12, out_dir=tmp_path / "mc", seed=2)
    with (tmp_path / "mc" / "forecast.csv").open() as f:
        rows = list(csv.DictReader(f))
    got = {(r["period"], r["band"]): r for r in rows if r["metric"] == "produced"}
    produced = res.paths["produced"]
    # a quarter's band is the quantiles of each replication's summed months
    q3 = produced[:, 6:9].sum(axis=1)
    assert float(got[("2024Q3", "model")]["p50"]) == pytest.approx(np.quantile(q3, 0.5),
                                                                    rel=1e-5)
    year = produced.sum(axis=1)
    assert float(got[("2024", "model")]["p90"]) == pytest.approx(np.quantile(year, 0.9),
                                                                  rel=1e-5)
    # in sample (by June) only the origin's error widens; after it, more each month
    def width(p: str, band: str) -> float:
        return float(got[(p, band)]["p90"]) / float(got[(p, band)]["p10"])

    assert got[("2024-03", "model")]["horizon_months"] == "0"
    assert width("2024-03", "predictive") > width("2024-03", "model")
    assert width("2024-12", "predictive") / width("2024-12", "model") > \
        width("2024-08", "predictive") / width("2024-08", "model")
    assert "Forecast: how sure" in (tmp_path / "mc" / "report.html").read_text()
    # an earlier vintage named in calibration.vintages is drawn beside this forecast
    (tmp_path / "earlier.csv").write_bytes((tmp_path / "mc" / "forecast.csv").read_bytes())
    sc.write_text(text.replace("calibration:\n", "calibration:\n  vintages:\n"
                               "    - {name: the earlier vintage, forecast: earlier.csv}\n"
                               "    - {name: a lost one, forecast: missing.csv}\n", 1))
    run_mc(str(sc), 4, out_dir=tmp_path / "mc2", seed=2)
    page = (tmp_path / "mc2" / "report.html").read_text()
    assert "the earlier vintage (P50, P10" in page
    assert "Not drawn: a lost one (not drawn:" in page


def test_a_single_run_draws_its_scenario_forecast_band(
    first_half: Calibrated, tmp_path: Path
) -> None:
    """calibration.forecast: the run's report shows the forecast's predictive band behind
    the run's months, and says what a single run is."""
    from evplant.experiments import run_mc

    sc = tmp_path / "sc.yaml"
    for f in ("scenario.yaml", "posterior.parquet"):
        (tmp_path / f).write_bytes((first_half.out_dir / f).read_bytes())
    run_mc(str(tmp_path / "scenario.yaml"), 6, out_dir=tmp_path / "mc", seed=2, report=False)
    (tmp_path / "forecast.csv").write_bytes((tmp_path / "mc" / "forecast.csv").read_bytes())
    text = (tmp_path / "scenario.yaml").read_text()
    sc.write_text(text.replace("calibration:\n", "calibration:\n  forecast: forecast.csv\n", 1))
    res = CliRunner().invoke(app, ["run", str(sc), "--out", str(tmp_path / "run"), "-q"])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "run" / "report.html").read_text()
    assert "How sure: this run against the forecast" in page
    assert "A single run is one history" in page
