"""The command line helps a user who slips: `--version`, and the closest name for a
misspelt field (in --set or a scenario file, from the schema) or command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import evplant
from evplant.cli import app
from evplant.inputs import did_you_mean, field_names
from evplant.scenario.schema import Scenario

runner = CliRunner()
TINY = Path(__file__).parent / "data" / "tiny-plant.yaml"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"evplant {evplant.__version__}"


def test_the_schema_gives_the_names_at_a_location() -> None:
    assert "delay_months" in field_names(Scenario, ["plant", "phases", 1])
    assert "mature_units" in field_names(Scenario, ["plant", "ramp", "cycle_time"])
    assert "growth_per_year" in field_names(Scenario, ["venture", "market", "segments", "suv"])
    assert field_names(Scenario, ["plant", "no_such_section"]) == set()
    assert did_you_mean("delay_month", ["delay_months", "sop"]) == "; did you mean `delay_months`?"
    assert did_you_mean("growth", ["growth_per_year", "share"]) == (
        "; did you mean `growth_per_year`?")
    assert did_you_mean("zzz", ["delay_months", "sop"]) == ""


@pytest.mark.parametrize(
    ("item", "meant"),
    [
        ("plant.phases.phase2.delay_month=6", "delay_months"),
        ("venture.finance.discount_rate=0.1", "discount_rate_per_year"),
        ("plant.ramp.cycle_time.mature_unit=900", "mature_units"),
    ],
)
def test_a_misspelt_field_in_set_gets_the_closest_name(
    item: str, meant: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--out", str(out), "--quiet", "--set", item])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --set {item}: ")
    assert f"did you mean `{meant}`?" in lines[0]
    assert not out.exists()


def test_a_misspelt_field_in_a_file_gets_the_closest_name_and_its_line(tmp_path: Path) -> None:
    text = TINY.read_text().replace("nameplate_per_year: 20000", "nameplate_per_yer: 20000")
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "nameplate_per_yer" in ln)
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 2
    assert f"{path}:{line}: plant.phases[0].nameplate_per_yer: unknown field; did you mean " \
        "`nameplate_per_year`?" in result.stderr
    # and a required field the slip left missing is named too
    assert "nameplate_per_year: required field is missing" in result.stderr


def test_a_misspelt_command_gets_the_closest_name() -> None:
    result = runner.invoke(app, ["compre", "a", "b"])
    assert result.exit_code == 2
    assert "Did you mean 'compare'?" in result.output
    result = runner.invoke(app, ["optimize", "buffer"])
    assert result.exit_code == 2 and "Did you mean 'buffers'?" in result.output
