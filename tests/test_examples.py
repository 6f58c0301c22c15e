"""Every example line file runs as its header says and gives the figures it states.

The stated figures are what the fast engine gives at the stated seed; the reference
engine (SimPy, on the same draws) must give them too, so a figure cannot drift with a
bug in one engine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evplant.cli import app

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_gives_its_stated_figures(path: Path) -> None:
    text = path.read_text()
    command = re.search(r"#\s+evplant (line .+)", text)
    assert command, "each example names the command that runs it"
    args = command.group(1).split()
    expected = dict(re.findall(r"# expect (\w+): (\S+)", text))
    assert expected, "each example states what it should give"
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["throughput_per_hour"] == pytest.approx(
        float(expected["throughput_per_hour"]), abs=0.01
    )
    assert data["bottleneck"] == expected["bottleneck"]
    reference = CliRunner().invoke(app, [*args, "--engine", "reference", "--json"])
    assert reference.exit_code == 0, reference.output
    ref = json.loads(reference.stdout)
    assert (data["engine"], ref["engine"]) == ("fast", "reference")
    assert ref["throughput_per_hour"] == pytest.approx(data["throughput_per_hour"], rel=1e-9)
    assert ref["bottleneck"] == data["bottleneck"]
