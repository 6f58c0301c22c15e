"""Monte Carlo experiments: draws, statistics, sensitivity, chunked storage and resume,
common random numbers, the report, and the built-in uncertainty set.

Runs use a short horizon (2024-01..2024-08) and a handful of replications; the test
against a real Dask cluster is in ``test_experiments_cluster.py``.
"""

from __future__ import annotations

import copy
import io
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from rich.console import Console
from scipy import stats as st

from evplant.errors import EvplantError
from evplant.experiments import plan
from evplant.experiments import store as store_mod
from evplant.experiments.console import compare_table, progress_bar, stats_table, tornado_tables
from evplant.experiments.run import compare_mc, load_mc, prepare, run_mc
from evplant.experiments.sensitivity import default_outputs, tornado
from evplant.experiments.stats import describe, paired, percentile
from evplant.scenario import Uncertainty
from evplant.scenario.load import scenario_text, set_path, validate_scenario

BUILTIN = resources.files("evplant.scenario") / "builtin"
FRAGMENT = BUILTIN / "_uncertainty-beijing-etown.yaml"
END = "2024-08"
R = 6


def merged_data() -> dict[str, Any]:
    """beijing-etown with its venture and uncertainty sections, merged here while they
    still live in separate files (and read from the scenario once merged)."""
    text, _ = scenario_text("beijing-etown-2023")
    data = yaml.safe_load(text)
    venture = BUILTIN / "venture-beijing-etown.yaml"
    if "venture" not in data and venture.is_file():
        data.update(yaml.safe_load(venture.read_text(encoding="utf-8")))
    if "uncertainty" not in data and FRAGMENT.is_file():
        data.update(yaml.safe_load(FRAGMENT.read_text(encoding="utf-8")))
    return data


def write_scenario(path: Path, data: dict[str, Any], end: str = END) -> str:
    data = copy.deepcopy(data)
    data["horizon"] = {"start": "2024-01", "end": end}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_scenario(tmp_path_factory.mktemp("sc") / "etown.yaml", merged_data())


@pytest.fixture(scope="module")
def reference(scenario_file: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An uninterrupted sequential run, the yardstick for resumed and parallel runs."""
    return run_mc(scenario_file, R, out_dir=tmp_path_factory.mktemp("ref") / "mc", seed=7)


def chunk_ids(out: Path) -> list[int]:
    ids: list[int] = []
    for f in sorted((out / "chunks").glob("chunk-*.parquet")):
        ids += pq.read_table(f, columns=["replication"]).column(0).to_pylist()
    return ids


def assert_same_results(a: Any, b: Any) -> None:
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.kpi_values, b.kpi_values)
    assert a.paths.keys() == b.paths.keys()
    for name in a.paths:
        np.testing.assert_array_equal(a.paths[name], b.paths[name])
    for name in ("summary.json", "replications.csv"):
        assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes(), name


# -- the built-in uncertainty set ------------------------------------------------------


def test_every_declared_uncertainty_points_at_a_number_of_the_merged_scenario() -> None:
    data = merged_data()
    declared = data["uncertainty"]
    assert 6 <= len(declared) <= 14
    params = [Uncertainty.model_validate(u) for u in declared]
    locs = plan.check_params(data, params)  # raises if a path is missing or not a number
    assert len(set(locs)) == len(locs)
    for u in params:
        _, value = plan.resolve(data, u.path)
        if u.law == "triangular":
            assert u.mode == pytest.approx(value), f"{u.path}: mode should be the scenario's value"
        for end in (0.001, 0.999):  # a scenario at either end of the range is valid
            edited = copy.deepcopy(data)
            set_path(edited, u.path.split("."), float(u.ppf(np.array([end]))[0]), u.path)
            validate_scenario(edited, "merged")
    validate_scenario(data, "merged")


def test_every_declared_uncertainty_is_marked_as_an_estimate() -> None:
    text = (BUILTIN / "beijing-etown-2023.yaml").read_text(encoding="utf-8")
    section = text[text.index("\nuncertainty:") : text.index("\ncalibration:")]
    items = re.findall(r"^\s*- path:", section, flags=re.MULTILINE)
    estimates = re.findall(r"#\s*estimate:\s*\S", section)
    assert len(items) == len(yaml.safe_load(section)["uncertainty"]) == len(estimates)


# -- draws: one SeedSequence child per replication, common random numbers --------------


def test_draws_depend_on_seed_replication_and_path_only() -> None:
    a = Uncertainty(path="x.a", law="uniform", low=0.0, high=1.0)
    b = Uncertainty(path="x.b", law="normal", mean=5.0, sd=2.0)
    c = Uncertainty(path="x.c", law="triangular", low=1.0, mode=2.0, high=4.0, integer=True)
    u = np.array([[plan.uniform(3, r, p) for p in ("x.a", "x.b")] for r in range(200)])
    assert np.all((u > 0) & (u < 1))
    assert len(np.unique(u)) == u.size
    # the same path gets the same uniform whatever else is declared, in any order
    for r in range(5):
        ab = plan.draw(3, r, [a, b])
        cba = plan.draw(3, r, [c, b, a])
        assert ab == [cba[2], cba[1]]
        assert isinstance(cba[0], int)
        assert ab[0] == plan.uniform(3, r, "x.a")
    assert plan.draw(3, 0, [a]) != plan.draw(4, 0, [a])
    # replication r's child is SeedSequence(seed).spawn(...)[r]
    child = np.random.SeedSequence(3).spawn(4)[2]
    assert plan.replication_seed(3, 2).spawn_key == child.spawn_key == (2,)
    assert plan.simulation_seed(3, 2).spawn_key == (2, 0)
    # the law is honoured (inverse CDF of uniforms): a KS test on many replications
    draws = np.array([plan.draw(11, r, [b])[0] for r in range(400)])
    assert st.kstest(draws, st.norm(5.0, 2.0).cdf).pvalue > 0.001


def test_bad_uncertainty_paths_are_user_errors(tmp_path: Path) -> None:
    data = merged_data()
    for path, words in (
        ("plant.partner.experience", "no key 'experience'"),
        ("venture.finance.capex.phase9.total_cny", "no item 'phase9'"),
        ("plant.partner.name", "not a number"),
        ("plant.partner", "not a number"),
    ):
        bad = copy.deepcopy(data)
        bad["uncertainty"] = [{"path": path, "law": "uniform", "low": 0, "high": 1}]
        file = write_scenario(tmp_path / "bad.yaml", bad)
        with pytest.raises(EvplantError, match=words):
            run_mc(file, 2, out_dir=tmp_path / "out")
        assert not (tmp_path / "out").exists()


def test_draws_no_scenario_allows_fail_before_anything_runs(tmp_path: Path) -> None:
    data = merged_data()
    data["uncertainty"] = [
        {"path": "plant.partner.progress_ratio", "law": "uniform", "low": 0.9, "high": 1.3}
    ]
    file = write_scenario(tmp_path / "wide.yaml", data)
    with pytest.raises(EvplantError, match="narrow the uncertainty's range"):
        run_mc(file, 4, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_override_pins_an_uncertain_value(scenario_file: str) -> None:
    job, _ = prepare(scenario_file, 0, ["plant.partner.progress_ratio=0.8"])
    paths = [p.path for p in job.params]
    assert "plant.partner.progress_ratio" not in paths
    assert len(paths) == len(merged_data()["uncertainty"]) - 1
    job, _ = prepare(scenario_file, 0, ["uncertainty=[]"])
    assert job.params == ()


# -- statistics ------------------------------------------------------------------------


def test_statistics_match_numpy_and_scipy() -> None:
    x = np.random.default_rng(1).lognormal(3.0, 0.7, size=37)
    s = describe(x)
    assert s.n == 37 and s.reached == 1.0
    assert s.mean == pytest.approx(np.mean(x), rel=1e-14)
    assert s.sd == pytest.approx(np.std(x, ddof=1), rel=1e-14)
    lo, hi = st.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=st.sem(x))
    assert (s.ci_low, s.ci_high) == pytest.approx((lo, hi), rel=1e-12)
    assert (s.p10, s.p50, s.p90) == tuple(np.percentile(x, [10, 50, 90]))
    # one value: no interval
    one = describe(np.array([4.0]))
    assert one.mean == 4.0 and np.isnan(one.ci_low) and one.p90 == 4.0


def test_never_counts_as_later_than_any_month() -> None:
    months = np.array([20.0, 22.0, np.nan, 21.0, np.nan])
    s = describe(months)
    assert s.reached == pytest.approx(0.6)
    assert s.mean == pytest.approx(21.0)  # over those that reached it
    assert s.p10 == pytest.approx(20.4)  # sorted: 20, 21, 22, never, never
    assert s.p50 == 22.0
    assert s.p90 == np.inf
    assert percentile(np.array([np.nan, np.nan]), 50) == np.inf


def test_paired_difference_matches_a_paired_t_test() -> None:
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 100, size=30)
    a = 1000 + noise
    b = 1000 + noise + 3 + rng.normal(0, 1, size=30)  # common noise: pairing removes it
    p = paired(a, b)
    ci = st.ttest_rel(b, a).confidence_interval(0.95)
    assert (p.diff.ci_low, p.diff.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert p.diff.mean == pytest.approx(np.mean(b - a))
    assert p.unpaired_ci_half > 20 * (p.diff.ci_high - p.diff.ci_low) / 2


# -- sensitivity -----------------------------------------------------------------------


def test_tornado_ranks_the_driver_first_and_measures_its_swing() -> None:
    params = [
        Uncertainty(path="none", law="uniform", low=0.0, high=1.0),
        Uncertainty(path="weak", law="normal", mean=0.0, sd=1.0),
        Uncertainty(path="strong", law="triangular", low=0.0, mode=1.0, high=3.0),
    ]
    n = 200
    rng = np.random.default_rng(0)
    x = np.array([plan.draw(1, r, params) for r in range(n)])
    y = 5.0 * x[:, 2] - 0.3 * x[:, 1] + rng.normal(0, 0.1, n)
    t = tornado(params, x, y, "npv_cny")
    assert t.method == "regression"
    assert t.ranking() == ["strong", "weak", "none"]
    strong = t.bars[0]
    lo, hi = params[2].ppf(np.array([0.1, 0.9]))
    assert strong.swing == pytest.approx(5.0 * (hi - lo), rel=0.02)
    assert strong.y_high > strong.y_low and strong.rank_corr > 0.9
    assert t.bars[1].y_high < t.bars[1].y_low  # a negative effect points the other way
    # with fewer replications than parameters + 3: one parameter at a time
    few = tornado(params[::2], x[:4, ::2], 5.0 * x[:4, 2], "npv_cny")
    assert few.method == "one at a time" and few.ranking() == ["strong", "none"]
    assert few.bars[0].swing == pytest.approx(5.0 * (hi - lo), rel=0.5)  # crude, but unbiased
    assert default_outputs(["produced_2024", "produced_2025", "npv_cny"]) == [
        "npv_cny", "produced_2025"]
    assert default_outputs(["produced_2026", "produced_2027"]) == ["produced_2026"]


def test_tornado_finds_what_drives_npv_and_output_in_the_simulation(tmp_path: Path) -> None:
    data = merged_data()
    data["uncertainty"] = [
        {"path": "venture.contract.fee_cny_per_unit", "label": "no effect", "law": "uniform",
         "low": 0, "high": 50000},  # contract manufacturing is off: changes nothing
        {"path": "venture.finance.capex.phase1_final_payments.total_cny", "label": "capex",
         "law": "uniform", "low": 1e9, "high": 3e10},
        {"path": "plant.ramp.cycle_time.mature_units", "label": "maturity", "law": "uniform",
         "low": 10000, "high": 300000},
    ]
    file = write_scenario(tmp_path / "drivers.yaml", data)
    res = run_mc(file, 8, out_dir=tmp_path / "mc", seed=3, report=False)
    npv, made = res.tornado["npv_cny"], res.tornado["produced_2024"]
    assert npv.ranking()[0] == "capex"
    assert made.ranking()[0] == "maturity"
    swings = {b.name: b.swing for b in made.bars}
    assert swings["no effect"] < 0.1 * swings["maturity"]
    assert {b.name: b.swing for b in npv.bars}["no effect"] < 0.1 * npv.bars[0].swing


# -- the run: chunks, resume, no partial files -----------------------------------------


def test_a_run_writes_chunks_statistics_and_files(reference: Any) -> None:
    out = reference.out_dir
    assert sorted(chunk_ids(out)) == list(range(R))
    assert reference.ran == R and list(reference.ids) == list(range(R))
    names = reference.kpi_names
    for k in ("produced_2024", "delivered_2024", "month_at_target_rate", "npv_cny",
              "lowest_cash_cny", "break_even_month"):
        assert k in names and k in reference.stats
    for name in ("produced", "delivered", "cash"):
        assert reference.paths[name].shape == (R, 8)
    # KPIs agree with the monthly paths they summarise
    made = reference.paths["produced"].sum(axis=1)
    np.testing.assert_allclose(reference.kpi("produced_2024"), made)
    np.testing.assert_allclose(reference.kpi("produced_total"), made)
    handed = reference.paths["delivered"].sum(axis=1)
    assert (handed > reference.paths["delivered"][:, -1]).all()  # more than the last month
    np.testing.assert_allclose(reference.kpi("delivered_2024"), handed)
    np.testing.assert_allclose(reference.kpi("delivered_total"), handed)
    assert np.all(reference.kpi("lowest_cash_cny") <= reference.paths["cash"].min(axis=1) + 1e-3)
    assert reference.stats["npv_cny"].mean == pytest.approx(np.mean(reference.kpi("npv_cny")))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == R and summary["seed"] == 7
    assert set(summary["sensitivity"]) == {"npv_cny", "produced_2024"}
    rows = (out / "replications.csv").read_text().splitlines()
    assert len(rows) == R + 1
    again = load_mc(out)
    np.testing.assert_array_equal(again.kpi_values, reference.kpi_values)


def test_the_terminal_shows_a_progress_bar_and_the_tables(reference: Any) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160)
    with progress_bar(console) as progress:
        for done in range(3, 7):  # resumed at 3 of 6
            progress(done, 6)
    for table in (stats_table(reference), *tornado_tables(reference)):
        console.print(table)
    text = screen.getvalue()
    assert "NPV" in text and "95% CI" in text and "P90" in text
    assert "sensitivity of NPV" in text and "rough" in text  # 6 replications, 8 parameters


def test_the_report_is_one_offline_page_with_fans_and_tornados(reference: Any) -> None:
    html = (reference.out_dir / "report.html").read_text(encoding="utf-8")
    assert html.count("<script type=\"text/javascript\">") == 1  # plotly.js, once
    assert not re.search(r"<script[^>]*\bsrc\s*=", html)  # every script inline
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.DOTALL)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", markup)
    for words in ("P10", "P25", "Cash position", "Vehicles produced a month", "moves it most"):
        assert words in html, words


def test_resume_after_a_crash_finishes_without_repeating_or_losing(
    scenario_file: str, reference: Any, tmp_path: Path
) -> None:
    out = tmp_path / "mc"

    def crash_after_three(done: int, total: int) -> None:
        if done >= 3:
            raise KeyboardInterrupt  # as Ctrl-C would, between two replications

    with pytest.raises(KeyboardInterrupt):
        run_mc(scenario_file, R, out_dir=out, seed=7, progress=crash_after_three)
    assert sorted(chunk_ids(out)) == [0, 1, 2]
    assert not (out / "summary.json").exists()
    # a process killed while writing leaves only a hidden temporary file
    (out / "chunks" / ".chunk-000004-000004.parquet.abc.tmp").write_bytes(b"PAR1 half")
    with pytest.raises(EvplantError, match="--resume"):
        run_mc(scenario_file, R, out_dir=out, seed=7)
    seen: list[tuple[int, int]] = []
    res = run_mc(scenario_file, R, out_dir=out, seed=7, resume=True,
                 progress=lambda d, t: seen.append((d, t)))
    assert res.ran == R - 3 and seen[0] == (3, R) and seen[-1] == (R, R)
    assert sorted(chunk_ids(out)) == list(range(R))  # each replication exactly once
    assert not list(out.rglob("*.tmp"))
    assert_same_results(res, reference)
    # resuming a finished run runs nothing; asking for more runs only the new ones
    assert run_mc(scenario_file, R, out_dir=out, seed=7, resume=True).ran == 0
    more = run_mc(scenario_file, R + 2, out_dir=out, seed=7, resume=True, report=False)
    assert more.ran == 2 and sorted(chunk_ids(out)) == list(range(R + 2))
    np.testing.assert_array_equal(more.kpi_values[:R], reference.kpi_values)


def test_resume_refuses_a_different_run(scenario_file: str, reference: Any) -> None:
    out = reference.out_dir
    with pytest.raises(EvplantError, match="seed 7 vs 8"):
        run_mc(scenario_file, R, out_dir=out, seed=8, resume=True)
    with pytest.raises(EvplantError, match="scenario's values"):
        run_mc(scenario_file, R, out_dir=out, seed=7, resume=True,
               overrides=["venture.finance.usd_cny=7.0"])
    with pytest.raises(EvplantError, match="uncertain parameters"):
        run_mc(scenario_file, R, out_dir=out, seed=7, resume=True,
               overrides=["uncertainty.0.high=0.88"])


def test_a_failed_chunk_write_leaves_no_file(
    scenario_file: str, reference: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "mc"
    real = pq.write_table
    calls = {"n": 0}

    def flaky(table: Any, where: Any, **kw: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            Path(where).write_bytes(b"PAR1 only half a file")
            raise OSError("disk full")
        real(table, where, **kw)

    monkeypatch.setattr(store_mod.pq, "write_table", flaky)
    with pytest.raises(OSError, match="disk full"):
        run_mc(scenario_file, R, out_dir=out, seed=7)
    monkeypatch.setattr(store_mod.pq, "write_table", real)
    files = sorted(p.name for p in (out / "chunks").iterdir())
    assert files == ["chunk-000000-000000.parquet", "chunk-000001-000001.parquet"]
    for f in files:
        pq.read_table(out / "chunks" / f)  # complete and readable
    res = run_mc(scenario_file, R, out_dir=out, seed=7, resume=True, report=False)
    assert res.ran == R - 2
    np.testing.assert_array_equal(res.kpi_values, reference.kpi_values)


# -- two scenarios on common random numbers --------------------------------------------


def test_compare_pairs_replications_so_a_small_difference_is_not_noise(
    scenario_file: str, tmp_path: Path
) -> None:
    extra = 2e9  # more capex in 2024 in B; nothing else changes
    cmp = compare_mc(
        scenario_file, scenario_file, 4, out_dir=tmp_path / "cmp", seed=5,
        overrides_b=["venture.finance.capex.phase1_final_payments.total_cny=5e9"],
    )
    np.testing.assert_array_equal(cmp.a.values, cmp.b.values)  # the same draws
    np.testing.assert_array_equal(cmp.a.kpi("produced_2024"), cmp.b.kpi("produced_2024"))
    npv = cmp.paired["npv_cny"]
    assert -extra < npv.diff.mean < -0.8 * extra
    # the paired interval is far narrower than that of two independent samples
    assert npv.diff.ci_high - npv.diff.ci_low < 0.01 * npv.unpaired_ci_half
    assert npv.share_b_better == 0.0
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert saved["common_random_numbers"] is True
    assert "npv_cny" in saved["difference_b_minus_a"]
    assert (tmp_path / "cmp" / "compare.html").exists()
    screen = io.StringIO()
    Console(file=screen, width=160).print(compare_table(cmp))
    assert "NPV" in screen.getvalue() and "B higher in" in screen.getvalue()
