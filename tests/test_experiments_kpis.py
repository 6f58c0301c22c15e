"""Monte Carlo's KPIs against the months they summarise, and its replications against
the pure function each one is: tests with a truth the code does not share.

Every KPI a run reports is recomputed here from the run's own monthly rows and the
scenario's numbers (sums by year, the first month at the target rate, NPV by its
definition, the lowest cash, break-even by its rule, the parent's investment), so a
slip in how a KPI is gathered (a year that keeps only its last month, a sum dropped, a
KPI read from the wrong key) fails even when the KPI still exists and looks plausible.

A replication is a pure function of (scenario, seed, r): here it is rebuilt from the
seed tree written out (``SeedSequence(seed, spawn_key=(r, 0))``), replications of a
random model must differ, and how they are grouped into batches must not matter.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from evplant.experiments import kpis as K
from evplant.experiments.replicate import McJob, run_batch, scenario_for
from evplant.experiments.run import prepare, run_mc
from evplant.months import month_number
from evplant.run import RunResult, simulate
from evplant.scenario.schema import Scenario
from test_experiments import merged_data

TINY = Path(__file__).parent / "data" / "tiny-plant.yaml"
SEED = 11


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> McJob:
    """The built-in venture over three calendar years: long enough for the plant to
    reach its target rate and the venture to break even, so no KPI is a bare NaN."""
    data = copy.deepcopy(merged_data())
    data["horizon"] = {"start": "2024-01", "end": "2026-12"}
    path = tmp_path_factory.mktemp("kpis") / "etown.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    job, _ = prepare(path, SEED)
    return job


def replication(job: McJob, r: int) -> tuple[Scenario, RunResult]:
    """Replication ``r`` rebuilt by hand: its drawn scenario, simulated on the seed the
    documented seed tree gives it (not :func:`plan.simulation_seed`)."""
    scenario = scenario_for(job, r)
    seed = np.random.SeedSequence(job.seed, spawn_key=(r, 0))
    return scenario, simulate(scenario, seed, stats=False)


def expected_kpis(scenario: Scenario, result: RunResult) -> dict[str, float]:
    """Every KPI from its definition, on the run's monthly rows."""
    rows = result.monthly
    months = [str(row["month"]) for row in rows]
    col = {key: np.array([float(row[key]) for row in rows])
           for key in ("produced", "delivered", "cash", "cash_flow", "operating_cash_flow")}
    out: dict[str, float] = {}
    for key in ("produced", "delivered"):
        for year in sorted({m[:4] for m in months}):
            out[f"{key}_{year}"] = sum(
                v for v, m in zip(col[key], months, strict=True) if m.startswith(year))
        out[f"{key}_total"] = float(col[key].sum())
    monthly_target = scenario.plant.target_rate / 12
    # the first month from which every rolling three-month mean to the end holds the rate
    p = np.asarray(col["produced"], dtype=float)
    means = [p[k:k + 3].mean() for k in range(len(p) - 2)]
    held = [k for k in range(len(means)) if all(x >= monthly_target for x in means[k:])]
    out["month_at_target_rate"] = month_number(months[held[0]]) if held else math.nan
    assert scenario.venture is not None
    fin = scenario.venture.finance
    t = np.arange(1, len(months) + 1)
    out["npv_cny"] = float(
        np.sum(col["cash_flow"] / (1 + fin.discount_rate_per_year) ** (t / 12))
        - result.summary.venture["capex_before_start_cny"]
    )
    out["lowest_cash_cny"] = float(col["cash"].min())
    k = fin.break_even_run_months
    positive = col["operating_cash_flow"] > 0
    runs = [i for i in range(len(months) - k + 1) if positive[i : i + k].all()]
    out["break_even_month"] = month_number(months[runs[0]]) if runs else math.nan
    # what the parent put in: the spend before the run and the deepest fall below the
    # opening cash
    need = max(0.0, fin.opening_cash_cny - float(col["cash"].min()))
    out["investment_usd"] = (fin.spent_before_start_cny + need) / fin.usd_cny
    return out


def test_every_kpi_monte_carlo_reports_is_its_months_aggregate(job: McJob) -> None:
    batch = run_batch(job, [0, 1])
    for i, r in enumerate(batch.ids):
        scenario, result = replication(job, int(r))
        want = expected_kpis(scenario, result)
        assert set(job.kpi_names) == set(want)  # a new KPI needs its reference here
        got = dict(zip(job.kpi_names, batch.kpis[i], strict=True))
        for name in job.kpi_names:
            assert got[name] == pytest.approx(want[name], rel=1e-9, nan_ok=True), name
        # each year had deliveries, and the run reached both months, so a year that
        # kept one month or a month KPI read as "never" cannot pass by luck
        for name in job.kpi_names:
            if name.startswith(("produced_", "delivered_")):
                assert want[name] > 0, name
        assert not math.isnan(want["month_at_target_rate"])
        assert not math.isnan(want["break_even_month"])
        # the fan charts' paths are the same monthly columns
        for name, path in batch.paths.items():
            np.testing.assert_array_equal(path[i], result.column(name))


def test_a_year_is_the_sum_of_its_months() -> None:
    """`kpis` on hand-made rows: three years, months of unequal size, and a month
    without the deliveries column at all."""
    rows: list[dict[str, Any]] = []
    rng = np.random.default_rng(0)
    for m in range(30):
        label = f"{2024 + m // 12}-{m % 12 + 1:02d}"
        row: dict[str, Any] = {"month": label, "produced": float(rng.integers(0, 5000))}
        if m != 7:
            row["delivered"] = float(rng.integers(0, 5000))
        rows.append(row)
    produced_by_year: dict[str, float] = {}
    for row in rows:
        y = row["month"][:4]
        produced_by_year[y] = produced_by_year.get(y, 0.0) + row["produced"]
    result = RunResult("hand", 0, [], None)  # type: ignore[arg-type]
    result.__dict__["monthly"] = rows  # the wide view, set by hand
    result.summary = _Summary({"produced_by_year": produced_by_year})  # type: ignore[assignment]
    got = K.kpis(result, venture=True)
    for year in ("2024", "2025", "2026"):
        months = [r for r in rows if r["month"].startswith(year)]
        assert got[f"produced_{year}"] == sum(r["produced"] for r in months)
        assert got[f"delivered_{year}"] == sum(r.get("delivered", 0.0) for r in months)
    assert got["delivered_total"] == sum(r.get("delivered", 0.0) for r in rows)
    assert got["produced_total"] == sum(r["produced"] for r in rows)
    assert list(got)[: len(K.kpi_names([r["month"] for r in rows], True))] == K.kpi_names(
        [r["month"] for r in rows], True)


class _Summary(dict[str, Any]):
    """The two parts of a summary `kpis` reads: the plant's figures, and the rest."""

    def __init__(self, plant: dict[str, Any]) -> None:
        super().__init__()
        self.plant = plant


# -- replications: differ when random, whatever the batches ------------------------------


def test_replications_of_a_random_model_differ_whatever_the_batch_size(tmp_path: Path) -> None:
    # the tiny plant declares no uncertainty: only the simulation's own draws differ
    half_year = ["horizon.end=2024-06"]
    runs = {
        size: run_mc(str(TINY), 5, out_dir=tmp_path / f"size-{size}", seed=SEED,
                     batch_size=size, overrides=half_year, report=False)
        for size in (1, 2, 5)
    }
    made = runs[1].kpi("produced_total")
    assert len(set(made.tolist())) == len(made)  # five replications, five answers
    stat = runs[1].stats["produced_total"]
    assert stat.sd > 0 and stat.ci_high > stat.ci_low
    for size in (2, 5):
        np.testing.assert_array_equal(runs[size].kpi_values, runs[1].kpi_values)
        for name, path in runs[1].paths.items():
            np.testing.assert_array_equal(runs[size].paths[name], path)
    # and each is the plain simulation on its own child of the seed
    tiny, _ = prepare(str(TINY), SEED, half_year)
    for r in (0, 4):
        _, alone = replication(tiny, r)
        assert made[r] == alone.column("produced").sum()


def test_a_batch_is_its_replications_run_alone(job: McJob) -> None:
    whole = run_batch(job, [0, 1, 2])
    tail = run_batch(job, [1, 2])
    single = run_batch(job, [2])
    np.testing.assert_array_equal(tail.kpis, whole.kpis[1:])
    np.testing.assert_array_equal(tail.values, whole.values[1:])
    np.testing.assert_array_equal(single.kpis, whole.kpis[2:])
    np.testing.assert_array_equal(single.values, whole.values[2:])
    for name in whole.paths:
        np.testing.assert_array_equal(tail.paths[name], whole.paths[name][1:])
    # three replications, three draws of every continuous parameter and three outcomes
    for u, col in zip(job.params, whole.values.T, strict=True):
        assert u.integer or len(set(col.tolist())) == 3, u.path
    npv = whole.kpis[:, job.kpi_names.index("npv_cny")]
    assert len(set(npv.tolist())) == 3


def test_a_plant_without_a_venture_reports_its_own_kpis_and_paths_only(tmp_path: Path) -> None:
    job, _ = prepare(str(TINY), SEED, ["horizon.end=2024-06"])
    assert not job.venture
    _, result = replication(job, 0)
    got = K.kpis(result, venture=False)
    assert list(got) == K.kpi_names(job.months, False) == list(job.kpi_names)
    assert not any(name.startswith("delivered") or name.endswith("_cny") for name in got)
    # the fan charts keep the monthly columns a run has: the plant's output alone here
    assert set(K.paths(result, False)) == {p for p in K.PATHS if p in result.monthly[0]}
    assert K.path_names(False) == ["produced"]
    assert K.path_names(True) == list(K.PATHS)


def test_kpis_read_as_a_planner_reads_them() -> None:
    from evplant.months import month_label
    from evplant.report.fmt import MINUS, count, money, signed_count

    # a month KPI is a month, and its difference a number of months
    for kpi in ("month_at_target_rate", "break_even_month", "payback_month"):
        assert K.is_month(kpi)
        assert K.fmt(kpi, 20.0) == month_label(20.0) == "2025-09"
        assert K.fmt(kpi, 1.5, diff=True) == "+1.5 months"
        assert K.fmt(kpi, math.inf, diff=True) == "\u2013"
    assert not K.is_month("produced_2025") and not K.is_month("npv_cny")
    assert K.fmt("npv_cny", -2.25e10) == money(-2.25e10, "CNY") == f"{MINUS}CNY 22.5 bn"
    assert K.fmt("npv_cny", 3e9, diff=True) == money(3e9, "CNY", signed=True)
    assert K.fmt("investment_usd", 6.2e9) == money(6.2e9, "USD")
    assert K.fmt("produced_2025", 238756.0) == count(238756.0) == "238,756"
    assert K.fmt("produced_2025", 120.0, diff=True) == signed_count(120.0) == "+120"
    for value in (math.nan, math.inf):
        assert K.fmt("produced_total", value) == "\u2013"
    # a range: one unit for both ends when they share it, a dash when undefined
    assert K.fmt_range("npv_cny", 1.2e9, 3.4e9) == "CNY 1.20 \u2013 3.40 bn"
    assert K.fmt_range("npv_cny", 5e8, 3.4e9) == "CNY 500 m \u2013 CNY 3.40 bn"
    assert K.fmt_range("produced_total", 10.0, math.nan) == "\u2013"
    assert K.fmt_range("produced_total", math.nan, 10.0) == "\u2013"
    assert K.fmt("break_even_month", math.nan) == "\u2013"  # a statistic with no value
    # a range of differences signs both ends, whatever the unit
    assert K.fmt_range("npv_cny", 1.2e9, 3.4e9, diff=True) == "+CNY 1.20 \u2013 +3.40 bn"
    assert K.fmt_range("produced_total", -120.0, 300.0, diff=True) == f"{MINUS}120 \u2013 +300"
    assert K.fmt_range("break_even_month", -1.0, 2.5, diff=True) == (
        f"{MINUS}1.0 months \u2013 +2.5 months")
    assert K.fmt("investment_usd", 3e9, diff=True) == "+US$3.00 bn"
    assert K.fmt_range("break_even_month", 20.0, 22.0) == "2025-09 \u2013 2025-11"
    assert K.label("produced_2025") == "Produced 2025"
    assert K.label("delivered_2026") == "Delivered 2026"
    assert K.label("npv_cny") == "NPV" and K.label("some_new_kpi") == "Some new kpi"
    assert K.month_value("2025-09") == 20.0 and math.isnan(K.month_value(None))
