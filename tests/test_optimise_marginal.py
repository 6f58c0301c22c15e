"""Marginal values against references: the exact Markov chain of an exponential line,
closed forms of a deterministic one, and brute-force reruns on independent streams."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.line.spec import LineSpec
from evplant.optimise.marginal import marginal_values
from evplant.optimise.objective import line_throughput
from exact_line import exact_per_hour

runner = CliRunner()


def line(cts: list[dict[str, object]], buffers: list[int],
         servers: list[int] | None = None) -> LineSpec:
    servers = servers or [1] * len(cts)
    return LineSpec.model_validate({
        "stations": [{"name": f"s{i}", "cycle_time": ct, "servers": k}
                     for i, (ct, k) in enumerate(zip(cts, servers, strict=True))],
        "buffers": buffers,
    })


def test_exponential_line_matches_the_exact_chain() -> None:
    means, b = [50.0, 60.0, 55.0], [2, 1]
    spec = line([{"dist": "exponential", "mean": m} for m in means], b)
    res = marginal_values(spec, jobs=40_000, seed=1, replications=5)
    for i in range(3):
        lo, hi = list(means), list(means)
        lo[i] -= 0.5
        hi[i] += 0.5
        exact = (exact_per_hour(lo, b) - exact_per_hour(hi, b)) / 1.0
        v = res.get("cycle_time", f"s{i}")
        assert v.per_hour == pytest.approx(exact, abs=4 * v.per_hour_se + 0.01 * exact)
    for i, name in enumerate(["s0 -> s1", "s1 -> s2"]):
        more = list(b)
        more[i] += 1
        exact = exact_per_hour(means, more) - exact_per_hour(means, b)
        v = res.get("buffer", name)
        assert v.per_hour == pytest.approx(exact, abs=4 * v.per_hour_se + 0.02 * exact)
        assert v.per_year == pytest.approx(v.per_hour * 8760)


def test_deterministic_line_has_the_closed_forms() -> None:
    # a bottleneck of 100 s: 36 an hour; a second server there leaves a (60 s): 60 an hour
    spec = line([{"dist": "deterministic", "value": 60}, {"dist": "deterministic", "value": 100}],
                [3])
    res = marginal_values(spec, jobs=5_000, seed=0, replications=2)
    assert res.throughput_per_hour == pytest.approx(36.0, rel=1e-9)
    assert res.get("server", "s1").per_hour == pytest.approx(24.0, rel=1e-9)
    assert res.get("server", "s0").per_hour == pytest.approx(0.0, abs=1e-9)
    # d(3600 / ct) / d(ct saved) = 3600 / ct**2 at the bottleneck, nothing elsewhere
    assert res.get("cycle_time", "s1").per_hour == pytest.approx(0.36, rel=1e-3)
    assert res.get("cycle_time", "s0").per_hour == pytest.approx(0.0, abs=1e-9)
    assert res.get("buffer", "s0 -> s1").per_hour == pytest.approx(0.0, abs=1e-9)
    assert [v.kind + v.name for v in res.ranking][:2] == ["servers1", "cycle_times1"]


def brute(spec: LineSpec, seeds: range, jobs: int) -> np.ndarray:
    return np.array([line_throughput(spec, jobs, 10_000 + s) for s in seeds])


def test_servers_and_places_against_brute_force_reruns() -> None:
    cts = [{"dist": "lognormal", "mean": m, "cv": 1.0} for m in (50.0, 95.0, 55.0)]
    spec = line(cts, [1, 1])
    res = marginal_values(spec, jobs=20_000, seed=2, replications=4)
    base = brute(spec, range(12), 20_000)
    for kind, name, twin in (
        ("server", "s1", line(cts, [1, 1], [1, 2, 1])),
        ("buffer", "s1 -> s2", line(cts, [1, 2])),
    ):
        other = brute(twin, range(12, 24), 20_000)  # independent streams: no pairing
        diff = other.mean() - base.mean()
        se = math.hypot(other.std(ddof=1) / math.sqrt(12), base.std(ddof=1) / math.sqrt(12))
        v = res.get(kind, name)  # type: ignore[arg-type]
        assert abs(v.per_hour - diff) < 4 * math.hypot(se, v.per_hour_se), (kind, v, diff)
        # pairing is the point: the paired error is far below the unpaired one
        assert v.per_hour_se < se


def test_same_result_whatever_the_workers() -> None:
    spec = line([{"dist": "gamma", "mean": m, "cv": 0.6} for m in (50, 55, 52)], [1, 2])
    one = marginal_values(spec, jobs=3_000, seed=4, replications=2, workers=1)
    two = marginal_values(spec, jobs=3_000, seed=4, replications=2, workers=2)
    a, b = one.to_dict(), two.to_dict()
    a.pop("evaluations_per_second"), b.pop("evaluations_per_second")
    assert a == b


@pytest.fixture()
def line_file(tmp_path: Path) -> Path:
    path = tmp_path / "line.yaml"
    path.write_text(
        "stations:\n"
        "  - {name: weld, cycle_time: {dist: exponential, mean: 50}}\n"
        "  - {name: paint, cycle_time: {dist: exponential, mean: 60}}\n"
        "buffers: [1]\n"
    )
    return path


def test_cli_json_ranks_by_output_per_money(line_file: Path) -> None:
    result = runner.invoke(app, ["optimize", "marginal", str(line_file), "--jobs", "5000",
                                 "--place-cost", "10", "--server-cost", "1000,5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {(v["kind"], v["name"]) for v in data["values"]} == {
        ("cycle_time", "weld"), ("cycle_time", "paint"), ("server", "weld"),
        ("server", "paint"), ("buffer", "weld -> paint")}
    # seconds were given no price: the ranking holds the priced values only
    per_money = {f"{v['kind']}:{v['name']}": v["per_year_per_cost"] for v in data["values"]}
    ranked = [per_money[k] for k in data["ranking"]]
    assert ranked == sorted(ranked, reverse=True) and len(ranked) == 3
    assert data["ranking"][0] == "server:paint"  # the bottleneck's server, and cheap


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replications", "1"], "--replications: must be at least 2"),
        (["--step", "0.7"], "--step: must be between 0 and 0.5"),
        (["--server-cost", "1,2,3"], "--server-cost: give one cost for all or one for each"),
        (["--place-cost", "-1"], "--place-cost: every cost must be"),
        (["--jobs", "5"], "--jobs: must be at least 100"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(line_file: Path, args: list[str],
                                            message: str) -> None:
    result = runner.invoke(app, ["optimize", "marginal", str(line_file), *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
