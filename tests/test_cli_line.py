"""`evplant line` as a user runs it: output, JSON fields, and clear errors on bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evplant.cli import app

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
