"""`evplant line` as a user runs it: output, JSON fields, and clear errors on bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.inputs import load_file
from evplant.line.engine import simulate_line
from evplant.line.spec import LineSpec

runner = CliRunner()
EXAMPLE = Path(__file__).parent.parent / "examples" / "two-stations.yaml"


def test_line_prints_a_table_with_the_bottleneck() -> None:
    result = runner.invoke(app, ["line", str(EXAMPLE), "--jobs", "2000", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "throughput" in result.output
    assert "bottleneck" in result.output


def test_line_json_has_the_documented_fields() -> None:
    result = runner.invoke(app, ["line", str(EXAMPLE), "--jobs", "3000", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("throughput_per_hour", "lead_time_mean_s", "wip_mean", "bottleneck", "stations"):
        assert key in data
    assert data["bottleneck"] in {"weld", "paint"}
    names = [s["name"] for s in data["stations"]]
    assert names == ["weld", "paint"]
    for s in data["stations"]:
        for key in ("utilisation", "blocked", "starved", "failed", "active_period_mean_s"):
            assert s[key] >= 0 if key != "active_period_mean_s" else s[key] > 0
    # weld (mean 60 s) limits the line to at most 60 an hour
    assert 40 < data["throughput_per_hour"] < 60


REWORK = EXAMPLE.parent / "paint-rework.yaml"
# the fields of ``evplant line --json`` (docs/line-files.md, "Output")
TOP = {
    "line", "engine", "jobs", "horizon_s", "throughput_per_hour", "lead_time_mean_s",
    "wip_mean", "bottleneck", "oee", "scrapped", "stations", "bottleneck_timeline",
}  # fmt: skip
STATION = {
    "name", "servers", "utilisation", "blocked", "starved", "failed", "off_shift",
    "active_period_mean_s", "availability", "performance", "quality", "oee", "reworked",
    "scrapped",
}  # fmt: skip


def test_line_json_is_the_whole_result_and_its_figures_hold_together(tmp_path: Path) -> None:
    # a line that reworks, scraps, fails, has two booths and works two shifts on
    # weekdays: every field is live
    path = tmp_path / "paint-rework.yaml"
    path.write_text(
        REWORK.read_text(encoding="utf-8")
        + 'calendar:\n  shifts: [{start: "06:00", end: "14:00"}, {start: "14:00", end: "22:00"}]\n'
        '  breaks: [{start: "10:00", end: "10:30"}]\n  days: [mon, tue, wed, thu, fri]\n',
        encoding="utf-8",
    )
    jobs, hours = 3000, 24.0
    result = runner.invoke(
        app, ["line", str(path), "--jobs", str(jobs), "--seed", "3", "--bin-hours", "24",
              "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == TOP
    assert (data["line"], data["engine"]) == ("paint-rework", "fast")
    # every job fed either finished or was scrapped, and the audit alone scraps
    assert data["jobs"] + data["scrapped"] == jobs
    scrapped = {s["name"]: s["scrapped"] for s in data["stations"]}
    assert data["scrapped"] == scrapped["audit"] > 0
    assert sum(scrapped.values()) == scrapped["audit"]
    reworked = {s["name"]: s["reworked"] for s in data["stations"]}
    assert reworked["booths"] > 0 and reworked["pretreat"] == reworked["audit"] == 0
    assert data["throughput_per_hour"] == pytest.approx(
        data["jobs"] / data["horizon_s"] * 3600.0, rel=1e-12
    )
    # the API's result, field by field
    line = load_file(LineSpec, path).compile()
    width = hours * 3600.0
    n = len(data["bottleneck_timeline"])
    # the same bins as far as the run goes (later ones change nothing before them)
    edges = np.concatenate([np.arange(n + 2) * width, [np.inf]])
    want = simulate_line(line, jobs, 3, bin_edges=edges, name="paint-rework")
    assert data["bottleneck"] == want.bottleneck
    for key in ("jobs", "horizon_s", "throughput_per_hour", "lead_time_mean_s", "wip_mean",
                "oee", "scrapped"):  # fmt: skip
        assert data[key] == pytest.approx(getattr(want, key), rel=1e-12), key
    assert [s["name"] for s in data["stations"]] == line.names
    for got, st in zip(data["stations"], want.stations, strict=True):
        assert set(got) == STATION
        assert got["servers"] == int(line.servers[line.names.index(st.name)])
        shares = st.share_of_working_time()
        for key in ("utilisation", "blocked", "starved", "failed"):
            assert got[key] == pytest.approx(shares[key], rel=1e-12, abs=1e-15), key
        # shares of working time add up to all of it; OEE is the product of its parts
        assert sum(got[k] for k in ("utilisation", "blocked", "starved", "failed")) == (
            pytest.approx(1.0, abs=1e-9)
        )
        assert 0.3 < got["off_shift"] < 1.0  # 16 h a day on 5 days of 7
        assert got["off_shift"] == pytest.approx(st.off_shift, rel=1e-12)
        for key in ("active_period_mean_s", "availability", "performance", "quality",
                    "reworked", "scrapped"):  # fmt: skip
            assert got[key] == pytest.approx(getattr(st, key), rel=1e-12), key
        assert got["oee"] == pytest.approx(
            got["availability"] * got["performance"] * got["quality"], rel=1e-12
        )
    # the booths' quality is what happened: the share of their visits right first time
    booths = data["stations"][1]
    assert booths["quality"] < 1.0
    # the timeline: consecutive bins of 24 h from 0, up to the end of the run
    tl = data["bottleneck_timeline"]
    assert [b["from_s"] for b in tl] == [k * width for k in range(n)]
    assert all(a["to_s"] == b["from_s"] for a, b in zip(tl, tl[1:], strict=False))
    assert tl[-1]["from_s"] < data["horizon_s"] <= tl[-1]["to_s"]
    assert {b["station"] for b in tl} <= {*line.names, ""}
    assert [b["station"] for b in tl] == want.timeline[:n]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "stations:\n  - name: a\n    cycle_time: {dist: exponential, mean: 60}\n"
            "  - name: b\n    cycle_time: {dist: normal, mean: 5}\nbuffers: [1]\n",
            [":5:", "stations[1].cycle_time", "dist"],
        ),
        (
            "stations:\n  - name: a\n    cycle_time: {dist: exponential, mean: -3}\nbuffers: []\n",
            [":3:", "stations[0].cycle_time.mean", "greater than 0"],
        ),
        (
            "stations:\n  - name: a\n    cycle_time: {dist: exponential, mean: 60}\n"
            "  - name: b\n    cycle_time: {dist: exponential, mean: 60}\nbuffers: [1, 2]\n",
            ["buffers needs 1"],
        ),
        (
            "stations:\n  - name: a\n    cycle_tme: {dist: exponential, mean: 60}\n",
            ["cycle_tme", "unknown field"],
        ),
        ("stations: [\n", ["not valid YAML"]),
        ("", ["empty"]),
    ],
)
def test_bad_line_files_get_one_clear_line_and_exit_code_2(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = runner.invoke(app, ["line", str(bad), "--jobs", "10"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("error: ") for ln in lines)
    assert str(bad) in lines[0]
    for part in expected:
        assert part in result.stderr


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["line", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "file not found" in result.stderr
