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
