"""A plant's marginal values and budget allocation: paired on common random numbers,
against brute-force reruns and an exhaustive search, priced from the scenario, and as a
user runs them."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.optimise.plant import Lever, plant_marginal_values
from evplant.optimise.plant_budget import allocate_plant, lump
from evplant.run import simulate
from evplant.scenario.load import prepare
from evplant.seeds import child_seed

runner = CliRunner()
DATA = Path(__file__).parent / "data"
TINY = str(DATA / "tiny-plant.yaml")
TWO = str(DATA / "two-shop-plant.yaml")
S1 = "plant.phases.line.shops.assembly.stations.s1.servers"
S2 = "plant.phases.line.shops.assembly.stations.s2.servers"


def produced(path: str, overrides: list[str], seeds: list[int | np.random.SeedSequence],
             year: str) -> np.ndarray:
    sc = prepare(path, overrides).scenario
    return np.array([simulate(sc, s, stats=False).summary.plant["produced_by_year"][year]
                     for s in seeds])


def test_server_value_against_brute_force_reruns() -> None:
    res = plant_marginal_values(TINY, year="2024", replications=3, seed=1, server_cost=2.0)
    v = res.get("server", "line/assembly/s1")
    # the same seeds as the study: the paired difference, run by hand, exactly
    paired = [child_seed(1, r) for r in (1, 2, 3)]
    d = produced(TINY, [f"{S1}=2"], paired, "2024") - produced(TINY, [], paired, "2024")
    assert v.per_year == pytest.approx(d.mean(), rel=1e-12)
    # independent seeds, no pairing: the same value within the noise
    base = produced(TINY, [], list(range(1000, 1006)), "2024")
    more = produced(TINY, [f"{S1}=2"], list(range(1006, 1012)), "2024")
    se = math.hypot(base.std(ddof=1), more.std(ddof=1)) / math.sqrt(6)
    assert abs(v.per_year - (more.mean() - base.mean())) < 4 * math.hypot(se, v.per_hour_se * 8760)
    assert res.ranking[0] is v and v.per_year_per_cost == v.per_year / 2.0
    # s2 (280 s) is no bottleneck while s1 (300 s) is: screened out, and rightly so
    assert "server:line/assembly/s2" in res.screened_out
    d2 = produced(TINY, [f"{S2}=2"], paired, "2024") - produced(TINY, [], paired, "2024")
    assert abs(d2.mean()) < 0.05 * v.per_year


def test_cycle_time_and_store_values_against_reruns() -> None:
    res = plant_marginal_values(TWO, replications=3, seed=2, place_step=4)
    assert res.year == "2025"  # the first year the phase works from January
    seeds = [child_seed(2, r) for r in (1, 2, 3)]
    base = produced(TWO, ["horizon.end=2025-12"], seeds, "2025")
    store = produced(TWO, ["plant.phases.line.shops.body.store_after=6"], seeds, "2025")
    v = res.get("buffer", "line/body store")
    assert v.per_year == pytest.approx((store - base).mean() / 4, rel=1e-12)
    assert v.per_year > 4 * v.per_hour_se * 8760 > 0  # places buy cars here
    assert v.cost == 1.0  # plant.costs.store_place
    ct = "plant.phases.line.shops.body.stations.weld.cycle_time"
    fast = produced(TWO, [f"{ct}={{dist: lognormal, mean: 285, cv: 0.3}}"], seeds, "2025")
    slow = produced(TWO, [f"{ct}={{dist: lognormal, mean: 315, cv: 0.3}}"], seeds, "2025")
    w = res.get("cycle_time", "line/body/weld")
    assert w.per_year == pytest.approx((fast - slow).mean() / 30, rel=1e-12)
    # a second saved at the bottleneck: about output / cycle time (a closed form of a
    # line that keeps its pace: d(T/c)/dc = -T/c**2 a second) within a third
    assert w.per_year == pytest.approx(base.mean() / 300, rel=0.35)
    # the weld server is priced by the default, the test station by its own price
    assert res.get("server", "line/body/weld").cost == 100.0


def test_same_seed_same_values_and_another_seed_other_values() -> None:
    a = plant_marginal_values(TWO, replications=2, seed=5).to_dict()
    b = plant_marginal_values(TWO, replications=2, seed=5).to_dict()
    c = plant_marginal_values(TWO, replications=2, seed=6).to_dict()
    for d in (a, b, c):
        d.pop("evaluations_per_second")
    assert a == b and a["values"] != c["values"]


def test_budget_buys_the_exhaustive_optimum() -> None:
    res = allocate_plant(TINY, 3.0, server_cost=1.0, replications=3, fresh=4, seed=0)
    seeds = [child_seed(0, r) for r in (1, 2, 3)]
    grid = {(a, b): produced(TINY, [f"{S1}={1 + a}", f"{S2}={1 + b}"], seeds, "2024").mean()
            for a, b in itertools.product(range(4), repeat=2) if a + b <= 3}
    best = max(grid, key=lambda k: grid[k])
    bought = (sum(p.name.endswith("s1") for p in res.purchases),
              sum(p.name.endswith("s2") for p in res.purchases))
    assert bought == best and res.spent == 3.0
    assert sorted(res.changes) == [f"{S1}={1 + best[0]}", f"{S2}={1 + best[1]}"]
    # the gain on fresh seeds: the design as written, against the plant as it is
    fresh = [child_seed(0, 1000 + r) for r in (1, 2, 3, 4)]
    gain = produced(TINY, [f"{S1}={1 + best[0]}", f"{S2}={1 + best[1]}"], fresh, "2024") \
        - produced(TINY, [], fresh, "2024")
    assert res.gain == pytest.approx(gain.mean(), rel=1e-12) and res.gain > 20_000


def test_scenario_prices_are_used_and_a_budget_without_prices_refused(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["optimize", "plant", TINY, "--replications", "2", "--json",
                             "--set", "plant.costs.server=4", "--out", str(tmp_path / "o")])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    v = next(x for x in data["values"] if x["kind"] == "server")
    assert v["cost"] == 4.0 and v["per_year_per_cost"] == pytest.approx(v["per_year"] / 4)
    assert json.loads((tmp_path / "o" / "marginal.json").read_text()) == data
    bad = runner.invoke(app, ["optimize", "plant", TINY, "--budget", "10"])
    lines = bad.output.strip().splitlines()
    assert bad.exit_code == 2 and len(lines) == 1, bad.output
    assert "--budget: a budget needs prices: add a plant.costs section" in lines[0]


def test_bad_costs_in_a_scenario_name_the_line(tmp_path: Path) -> None:
    text = Path(TWO).read_text().replace("store_place: 1\n", "store_place: -1\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    line = text.splitlines().index("    store_place: -1") + 1
    result = runner.invoke(app, ["optimize", "plant", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: {path}:{line}: plant.costs.store_place: "
                                     "must be greater than 0")
    typo = tmp_path / "typo.yaml"
    typo.write_text(Path(TWO).read_text().replace("{stations: {test: 40}}",
                                                  "{stations: {tset: 40}}"))
    result = runner.invoke(app, ["optimize", "plant", str(typo)])
    assert result.exit_code == 2 and "shop 'assembly' has no station 'tset'" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--year", "2031"], "--year: a year within the horizon"),
        (["--replications", "1"], "--replications: must be at least 2"),
        (["--server-cost", "-3"], "--server-cost: must be a finite"),
        (["--place-step", "0"], "--place-step: must be at least 1"),
        (["--screen", "1.5"], "--screen: must be in [0, 1)"),
        (["--budget", "-5", "--server-cost", "1"], "--budget: must be a finite number > 0"),
        (["--budget", "5", "--server-cost", "1", "--fresh", "1"], "--fresh: must be at least 2"),
        (["--budget", "5", "--server-cost", "1", "--lump", "2"], "--lump: must be in [0, 1]"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    bad = runner.invoke(app, ["optimize", "plant", TINY, *args])
    lines = bad.output.strip().splitlines()
    assert bad.exit_code == 2 and len(lines) == 1 and message in lines[0], bad.output


def test_a_year_s_output_does_not_depend_on_the_months_after_it() -> None:
    # why the study may cut the horizon at the year's December: the plant and the
    # venture (orders, build plan, cash) run month by month and never look ahead
    def months(end: str) -> list[tuple[str, float]]:
        sc = prepare("beijing-etown", [f"horizon.end={end}"]).scenario
        rows = simulate(sc, 4, stats=False).monthly
        return [(str(r["month"]), float(r["produced"])) for r in rows]

    short, long = months("2024-05"), months("2024-09")
    assert short == long[:len(short)] and len(short) == 5


def test_the_values_do_not_depend_on_the_number_of_workers() -> None:
    one = plant_marginal_values(TWO, replications=2, seed=7).to_dict()
    two = plant_marginal_values(TWO, replications=2, seed=7, workers=2).to_dict()
    one.pop("evaluations_per_second"), two.pop("evaluations_per_second")
    assert one == two


def test_cli_budget_prints_the_design_as_set_items(tmp_path: Path) -> None:
    args = ["optimize", "plant", TINY, "--budget", "2", "--server-cost", "1",
            "--replications", "2", "--fresh", "2"]
    data = runner.invoke(app, [*args, "--json", "--out", str(tmp_path)])
    assert data.exit_code == 0, data.output
    saved = json.loads(data.stdout)
    assert json.loads((tmp_path / "allocation.json").read_text()) == saved
    assert [p["name"] for p in saved["purchases"]] == ["line/assembly/s1", "line/assembly/s2"]
    assert saved["spent"] == 2.0 and saved["gain"] > 4 * saved["gain_se"]
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    for item in saved["changes"]:
        assert f"--set {item}" in table.output
    # the design as --set items, list items by name, runnable with `evplant run`
    sets = [x for item in saved["changes"] for x in ("--set", item)]
    assert sets == ["--set", f"{S1}=2", "--set", f"{S2}=2"]


def test_store_places_are_bought_in_lumps_of_whole_steps() -> None:
    store = Lever("buffer", "p/s store", 0, ("plant",), 60, unit=10, cost=50_000.0)
    assert lump(store, 2e6).unit == 40 and lump(store, 2e6).unit_cost == 2e6
    assert lump(store, 2.1e6).unit == 50  # whole steps of ten, at least the least
    assert lump(replace(store, cost=300_000.0), 2e6).unit == 10
    assert lump(replace(store, cost=None), 2e6) == replace(store, cost=None)
    server = Lever("server", "p/s/a", 0, ("plant",), 1, cost=50_000.0)
    assert lump(server, 2e6) is server
