"""Long work from the page, watched to the end, on a plant small enough to finish fast:
differences with confidence intervals from replications, Monte Carlo and calibration.
The figures the page shows are checked against the same functions called directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from browser import chromium, need_browser, open_page, serving
from evplant.calibration.observations import Statement, to_csv
from evplant.experiments import compare_mc, run_mc
from evplant.experiments import kpis as K
from evplant.run import simulate
from evplant.scenario import load_scenario

TINY = Path(__file__).parent / "data" / "tiny-plant.yaml"


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny plant with an uncertain value for Monte Carlo and a record to learn from."""
    folder = tmp_path_factory.mktemp("tiny")
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["uncertainty"] = [{"path": "plant.phases.line.cycle_time_scale", "law": "uniform",
                            "low": 0.9, "high": 1.2}]
    data["calibration"]["observed"] = "record.csv"
    sc, _ = load_scenario(TINY, ["plant.phases.line.cycle_time_scale=1.1"])
    produced = simulate(sc, 12345).column("produced")
    rows = [Statement(f"2024Q{q + 1}", "", "", "produced", "eq",
                      float(produced[3 * q:3 * q + 3].sum()), "vehicles") for q in range(4)]
    (folder / "record.csv").write_text(to_csv(rows), encoding="utf-8")
    path = folder / "tiny-page.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def page(scenario_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    need_browser()
    out = tmp_path_factory.mktemp("serve-tiny")
    with serving(str(scenario_file), out) as url, chromium() as browser:
        yield open_page(browser, url)


def _cells(pg: Any, table: str, label: str) -> list[str]:
    row = pg.locator(f"#{table} tr", has_text=label).first
    return [c.strip() for c in row.locator("td").all_text_contents()]


def _wait_done(pg: Any, prefix: str) -> None:
    pg.wait_for_function(
        "(p) => { const s = document.querySelector('#status').textContent; "
        "return s.startsWith(p) && (s.includes('done') || s.includes('failed')); }",
        arg=prefix, timeout=300_000)
    assert "failed" not in pg.inner_text("#status"), pg.inner_text("#run-error")
    pg.wait_for_timeout(800)


def test_replications_give_paired_differences_with_intervals(page: Any,
                                                             scenario_file: Path) -> None:
    page.fill('div.lever[data-path="plant.ramp.experience_units"] input', "500")
    page.fill("#replications", "4")
    page.press("#replications", "Enter")
    _wait_done(page, "first two years, 4 replications")
    cmp = compare_mc(str(scenario_file), str(scenario_file), 4, out_dir=scenario_file.parent
                     / "cmp", overrides_b=["plant.ramp.experience_units=500"], report=False)
    k = "produced_total"
    p = cmp.paired[k]
    assert _cells(page, "paired-table", K.label(k)) == [
        K.label(k), K.fmt(k, p.mean_a), K.fmt(k, p.mean_b), K.fmt(k, p.diff.mean, diff=True),
        K.fmt_range(k, p.diff.ci_low, p.diff.ci_high, diff=True)]


def test_monte_carlo_from_the_page_is_run_mc(page: Any, scenario_file: Path) -> None:
    page.fill("#mc-replications", "6")
    page.click("#mc-start")
    _wait_done(page, "Monte Carlo, 6 replications")
    page.wait_for_selector("#mc-table")
    res = run_mc(str(scenario_file), 6, out_dir=scenario_file.parent / "mc",
                 overrides=["plant.ramp.experience_units=500"], report=False)
    k = "produced_total"
    assert _cells(page, "mc-table", K.label(k))[1] == K.fmt(k, res.stats[k].mean)
    fan = page.evaluate(
        "() => document.querySelector('#fig-mc-produced .js-plotly-plot').data.length")
    assert fan >= 3  # bands, median and mean


def test_calibration_from_the_page_finishes_and_shows_its_posterior(page: Any) -> None:
    page.fill("#calib-budget", "1100")
    page.click("#calib-start")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('calibration')",
        timeout=60_000)
    _wait_done(page, "calibration, 1100 simulations")
    page.wait_for_selector("#calib-table")
    labels = [r.split("\t")[0] for r in page.locator("#calib-table tbody tr").all_inner_texts()]
    assert len(labels) == 2
