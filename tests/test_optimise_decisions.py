"""Venture decisions: the search finds the exhaustive optimum of a small grid on the
same common random numbers, writes a runnable best scenario, and rejects bad input."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.experiments import run_mc
from evplant.optimise.decisions import optimise_scenario, parse_decision
from evplant.run import simulate
from evplant.scenario.load import prepare

runner = CliRunner()
TINY = str(Path(__file__).parent / "data" / "tiny-plant.yaml")
SHIFTS, BUFFER = "plant.phases.line.shifts.0.shifts", "plant.phases.line.shops.assembly.buffers.0"


def test_search_finds_the_exhaustive_optimum(tmp_path: Path) -> None:
    res = optimise_scenario(TINY, [f"{SHIFTS}=1..2", f"{BUFFER}=0..3"], objective="output_2024",
                            replications=3, budget=10, seed=1, out_dir=tmp_path / "out")
    grid = {}
    for k, (s, b) in enumerate(itertools.product([1, 2], range(4))):
        mc = run_mc(TINY, 3, seed=1, overrides=[f"{SHIFTS}={s}", f"{BUFFER}={b}"],
                    out_dir=tmp_path / f"grid-{k}", report=False)
        grid[(str(s), str(b))] = float(np.mean(mc.kpi("produced_2024")))
    best = max(grid, key=lambda k: grid[k])
    assert res.best is not None
    assert (res.best.values[SHIFTS], res.best.values[BUFFER]) == best
    assert res.best.objective == pytest.approx(grid[best], rel=1e-12)  # the same draws
    assert res.convergence == sorted(res.convergence) and res.convergence[-1] == grid[best]
    # the best scenario as written runs, with the decisions in it
    path = tmp_path / "out" / "best-scenario.yaml"
    chosen = prepare(path)
    assert chosen.data["plant"]["phases"][0]["shifts"][0]["shifts"] == int(best[0])
    assert simulate(chosen.scenario, seed=0).summary is not None
    saved = json.loads((tmp_path / "out" / "decisions.json").read_text())
    assert saved["best"]["values"] == res.best.values and len(saved["trials"]) == 10


def test_decisions_parse_months_numbers_and_whole_numbers() -> None:
    d = parse_decision("plant.phases.phase2.sop=2025-01-15..2026-06-15")
    assert d.kind == "month" and d.text(d.low) == "2025-01-15" and d.text(d.high) == "2026-06-15"
    assert parse_decision("a.b=1..3").kind == "int"
    assert parse_decision("a.b=0.5..1.5").kind == "float"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--decide: give at least one"),
        (["--decide", "a.b=1-3"], "--decide: write PATH=LOW..HIGH"),
        (["--decide", f"{SHIFTS}=3..1"], "LOW must be below HIGH"),
        (["--decide", f"{SHIFTS}=x..y"], "LOW and HIGH must be numbers or months"),
        (["--decide", f"{SHIFTS}=1..2", "--objective", "profit"], "--objective: npv, p10_npv"),
        (["--decide", f"{SHIFTS}=1..2"], "this scenario has no venture"),
        (["--decide", f"{SHIFTS}=1..2", "--objective", "output_2030"], "outside the horizon"),
        (["--decide", f"{SHIFTS}=1..2", "--objective", "output_2024", "--replications", "1"],
         "--replications: must be at least 2"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["optimize", "scenario", TINY, *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_unknown_path_is_a_clear_error() -> None:
    result = runner.invoke(app, ["optimize", "scenario", TINY, "--decide", "plant.nothing=1..2",
                                 "--objective", "output_2024"])
    assert result.exit_code == 2
    assert "nothing" in result.output and "Traceback" not in result.output


PRICE = "venture.market.variants.SU7.price_cny"


def test_investment_cap_and_the_report(tmp_path: Path) -> None:
    # eight proposals are all TPE's random start-up ones, the same with a cap or without:
    # the capped search must pick the best of those within the cap
    kw = {"objective": "output_2024", "replications": 2, "budget": 8, "seed": 1,
          "overrides": ["horizon.end=2024-10"]}
    free = optimise_scenario("beijing-etown", [f"{PRICE}=200000..300000"], **kw)
    assert free.best is not None
    cap = free.best.investment * (1 - 1e-9)  # the unconstrained best breaks it
    res = optimise_scenario("beijing-etown", [f"{PRICE}=200000..300000"], max_investment=cap,
                            out_dir=tmp_path / "out", **kw)
    assert [t.values for t in res.trials] == [t.values for t in free.trials]
    within = [t for t in free.trials if t.investment <= cap]
    assert within and res.best is not None
    assert res.best.values == max(within, key=lambda t: t.objective).values
    assert res.best.values != free.best.values
    for t in res.trials:  # feasibility is the cap, trial by trial
        assert t.feasible == (t.investment <= cap)
    # the figures are those of a Monte Carlo run of that price on the same seed
    mc = run_mc("beijing-etown", 2, seed=1, report=False, out_dir=tmp_path / "check",
                overrides=["horizon.end=2024-10", f"{PRICE}={res.best.values[PRICE]}"])
    assert res.best.investment == pytest.approx(float(np.max(mc.kpi("investment_usd"))),
                                                rel=1e-12)
    assert res.best.objective == pytest.approx(float(np.mean(mc.kpi("produced_2024"))),
                                               rel=1e-12)
    page = (tmp_path / "out" / "report.html").read_text()
    for part in ('id="best"', 'id="convergence"', 'id="tradeoff"', 'id="constraints"'):
        assert part in page
    assert page.count("<td>over the cap</td>") == sum(not t.feasible for t in res.trials)
    assert f"<td>{res.best.values[PRICE]}</td>" in page
    saved = json.loads((tmp_path / "out" / "decisions.json").read_text())
    assert saved["max_investment_usd"] == cap
    assert [t["investment_usd"] for t in saved["trials"]] == [t.investment for t in res.trials]


def test_max_investment_budget_reads_the_venture_budget() -> None:
    result = runner.invoke(app, ["optimize", "scenario", "beijing-etown", "--decide",
                                 f"{PRICE}=240000..260000", "--objective", "output_2024",
                                 "--replications", "2", "--budget", "2", "--set",
                                 "horizon.end=2024-03", "--max-investment", "budget", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    budget = prepare("beijing-etown").scenario.venture.finance.budget_usd  # type: ignore[union-attr]
    assert data["max_investment_usd"] == budget
    assert all(t["feasible"] == (t["investment_usd"] <= budget) for t in data["trials"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-investment", "lots"], "--max-investment: a number (US$) or 'budget'"),
        (["--max-investment", "-1"], "--max-investment: must be a finite number > 0"),
    ],
)
def test_bad_max_investment_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["optimize", "scenario", "beijing-etown", "--decide",
                                 f"{PRICE}=240000..260000", "--set", "horizon.end=2024-03",
                                 *args])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and message in lines[0], result.output
