"""A plant's marginal values: paired on common random numbers, against brute-force
reruns on independent seeds, and as a user runs them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from evplant.cli import app
from evplant.optimise.plant import plant_marginal_values
from evplant.run import simulate
from evplant.scenario.load import prepare

runner = CliRunner()
TINY = str(Path(__file__).parent / "data" / "tiny-plant.yaml")
S1 = "plant.phases.line.shops.assembly.stations.s1.servers"


def produced(overrides: list[str], seeds: range) -> np.ndarray:
    sc = prepare(TINY, overrides).scenario
    return np.array([simulate(sc, 1000 + s, stats=False).summary.plant["produced_by_year"]
                     ["2024"] for s in seeds])


def test_server_value_against_brute_force_reruns() -> None:
    res = plant_marginal_values(TINY, year="2024", replications=3, seed=1, server_cost=2.0)
    v = res.get("server", "line/assembly/s1")
    base, more = produced([], range(6)), produced([f"{S1}=2"], range(6, 12))
    diff = more.mean() - base.mean()  # independent seeds: no pairing
    se = math.hypot(base.std(ddof=1), more.std(ddof=1)) / math.sqrt(6)
    assert abs(v.per_year - diff) < 4 * math.hypot(se, v.per_hour_se * 8760)
    # s1 (300 s) is the bottleneck: its server is worth far more than s2's (280 s)
    assert v.per_year > 10 * abs(res.get("server", "line/assembly/s2").per_year)
    assert res.ranking[0] is v and v.per_year_per_cost == v.per_year / 2.0


def test_cli_json_and_bad_arguments() -> None:
    ok = runner.invoke(app, ["optimize", "plant", TINY, "--replications", "2", "--per-shop",
                             "1", "--place-cost", "1", "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert {v["name"] for v in data["values"]} == {"line/assembly store", "line/assembly/s1"}
    assert data["cars_a_year"] > 0
    for args, message in ((["--year", "2031"], "--year: a year within the horizon"),
                          (["--replications", "1"], "--replications: must be at least 2"),
                          (["--server-cost", "-3"], "--server-cost: must be a finite")):
        bad = runner.invoke(app, ["optimize", "plant", TINY, *args])
        lines = bad.output.strip().splitlines()
        assert bad.exit_code == 2 and len(lines) == 1 and message in lines[0], bad.output
