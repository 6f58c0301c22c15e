"""`evplant run`, `compare`, `scenarios`, `show` and `schema` as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.report import fmt

runner = CliRunner()
SHORT = ["--set", "horizon.end=2024-08", "--quiet"]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "base"
    result = runner.invoke(app, ["run", "--out", str(out), *SHORT])
    assert result.exit_code == 0, result.output
    return out


def test_run_writes_tables_summary_and_report(base_run: Path) -> None:
    names = sorted(p.name for p in base_run.iterdir())
    assert names == [
        "monthly.csv", "monthly.parquet", "report.html", "state.json", "summary.json", "tables"
    ]
    long = sorted(p.name for p in (base_run / "tables").iterdir())
    assert "station.parquet" in long and "station.csv" in long and "money.parquet" in long
    table = pq.read_table(base_run / "monthly.parquet")
    months = table.column("month").to_pylist()
    assert months[0] == "2024-01" and months[-1] == "2024-08"
    for col in (
        "produced",
        "capacity",
        "delivered",
        "backlog",
        "wait_weeks",
        "kits_short",
        "revenue",
        "cost",
        "capex",
        "cash",
        "util_paint",
        "oee_general-assembly",
        "bottleneck_shop",
    ):
        assert col in table.column_names, col
    csv_header = (base_run / "monthly.csv").read_text().splitlines()[0]
    assert '"month"' in csv_header and '"produced"' in csv_header
    summary = json.loads((base_run / "summary.json").read_text())
    for key in (
        "produced_by_year",
        "npv_cny",
        "lowest_cash_cny",
        "break_even_month",
        "cum_investment_usd",
        "budget_usd",
    ):
        assert key in summary, key


def test_the_report_loads_nothing_from_the_network(base_run: Path) -> None:
    html = (base_run / "report.html").read_text()
    assert not re.search(r"<script[^>]+src=[\"']?https?://", html)
    assert not re.search(r"<link[^>]+href=[\"']?https?://", html)
    assert "plotly" in html.lower()


def test_compare_shows_the_difference_in_cars_and_money(
    base_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from evplant import cli

    other = tmp_path / "no-partner"
    done = runner.invoke(
        app, ["run", "--out", str(other), *SHORT, "--set", "plant.partner.enabled=false"]
    )
    assert done.exit_code == 0, done.output
    # a console wide enough that no figure is cut
    monkeypatch.setattr(cli, "out", Console(width=400, color_system=None))
    result = runner.invoke(app, ["compare", str(base_run), str(other)])
    assert result.exit_code == 0, result.output
    assert (other / "compare.html").exists()
    sa = json.loads((base_run / "summary.json").read_text())
    sb = json.loads((other / "summary.json").read_text())
    rows = {}
    for line in result.output.splitlines():
        cells = [c.strip() for c in re.split(r"[│|┃]", line) if c.strip()]
        if len(cells) >= 3:
            rows[cells[0]] = cells[1:]

    def number(text: str) -> float:
        """A figure as the table writes it ('CNY 1.23 bn', '52.3%', '-1,234') read back."""
        t = text.replace("\u2212", "-").replace(",", "").replace("CNY", "").replace("US$", "")
        scale = 1.0
        for suffix, factor in ((" tn", 1e12), (" bn", 1e9), (" m", 1e6), ("%", 0.01),
                               (" pts", 0.01), (" weeks", 1.0)):
            if t.endswith(suffix):
                t, scale = t[: -len(suffix)], factor
        return float(t.replace(" ", "")) * scale

    def close(text: str, value: float) -> bool:
        """Within what the format keeps: three figures of money, 0.1 point of a share,
        0.1 week, a whole car (two decimals of a ratio)."""
        if "CNY" in text or "US$" in text:
            return number(text) == pytest.approx(value, rel=5e-3, abs=1.0)
        if text.endswith(("%", "pts")):
            return number(text) == pytest.approx(value, abs=5e-4)
        return number(text) == pytest.approx(value, abs=0.5)

    # every figure of the table is the two runs' own summary figures and their difference,
    # under its label, formatted by its unit
    checked = 0
    for key, a in sa.items():
        b = sb.get(key)
        if isinstance(a, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
            continue
        label = fmt.label(key)
        assert label in rows, key
        got_a, got_b, diff = rows[label][:3]
        assert close(got_a, a) and close(got_b, b), (key, rows[label])
        assert close(diff, b - a) or number(diff) == pytest.approx(b - a, rel=5e-3), key
        checked += 1
    assert checked >= 5 and "Vehicles produced" in rows
    # the cars: the summary's total is the sum of the monthly table, and the partner
    # makes the difference the table shows
    for run, summary in ((base_run, sa), (other, sb)):
        monthly = pq.read_table(run / "monthly.parquet").column("produced").to_pylist()
        assert summary["vehicles_produced"] == pytest.approx(sum(monthly), abs=0.5)
    assert number(rows["Vehicles produced"][2]) < 0  # slower ramp without the partner
    for year, count in sa["produced_by_year"].items():
        a, b, diff = (number(c) for c in rows[f"Produced in {year}"][:3])
        assert a == pytest.approx(count, abs=0.5)
        assert b == pytest.approx(sb["produced_by_year"][year], abs=0.5)
        assert diff == pytest.approx(b - a, abs=1.0)


def test_scenarios_show_and_schema() -> None:
    listed = runner.invoke(app, ["scenarios"])
    assert listed.exit_code == 0 and "beijing-etown" in listed.output
    shown = runner.invoke(app, ["show", "beijing-etown"])
    assert shown.exit_code == 0 and "facts:" in shown.stdout
    schema = runner.invoke(app, ["schema"])
    assert schema.exit_code == 0
    assert "plant" in json.loads(schema.stdout)["properties"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--set", "plant.partner.enabeld=false"],
            ["--set plant.partner.enabeld=false", "plant.partner.enabeld", "unknown field"],
        ),
        (["--set", "plant.phases.phase1.sop=2024-13-40"], ["plant.phases[0].sop", "YYYY-MM-DD"]),
        (["--set", "plant.phases.phase9.sop=2024-01-01"], ["no item 'phase9'", "phase1, phase2"]),
        (
            ["--set", "venture.channel.orders_per_store_per_month=-5"],
            ["venture.channel.orders_per_store_per_month"],
        ),
        (["no-such-scenario"], ["no built-in scenario or file"]),
        (["--set", "horizon"], ["expected path=value"]),
        (
            ["--set", "venture.supply.components.chip.station=paint/nowhere"],
            ["venture.supply.components.chip.station", "does not have"],
        ),
        (
            ["--set", "venture.supply.components.chip.station=general-assembly/trim-1"],
            ["venture.supply.components.chip.station", "assembly join"],
        ),
        (["--set", "venture.supply.components.chip.station=trim-2"], ["station", "pattern"]),
    ],
)
def test_bad_overrides_get_clear_errors_and_no_output(
    tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--out", str(out), "--quiet", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("error: ") for ln in lines)
    for part in expected:
        assert part in result.stderr
    assert not out.exists()


def test_a_bad_scenario_file_names_file_line_and_field(tmp_path: Path) -> None:
    text = runner.invoke(app, ["show"]).stdout
    bad = text.replace("nameplate_per_year: 150000", "nameplate_per_year: lots", 1)
    bad = bad.replace("progress_ratio: 0.72", "progress_ratio: 1.5", 1)
    path = tmp_path / "mine.yaml"
    path.write_text(bad)
    line_a = bad.splitlines().index(next(ln for ln in bad.splitlines() if "lots" in ln)) + 1
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 2  # one line per problem
    assert f"{path}:{line_a}: plant.phases[0].nameplate_per_year" in result.stderr
    assert "plant.ramp.cycle_time.progress_ratio" in result.stderr
    assert not out.exists()


def test_mc_runs_resumes_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "mc"
    args = [
        "mc",
        "--replications",
        "3",
        "--out",
        str(out),
        "--quiet",
        "--set",
        "horizon.end=2024-06",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "95% CI" in first.output
    assert (out / "report.html").exists() and (out / "summary.json").exists()
    again = runner.invoke(app, [*args[:2], "5", *args[3:], "--resume"])
    assert again.exit_code == 0, again.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == 5
    assert len(list((out / "chunks").glob("chunk-*.parquet"))) >= 2  # the first 3 were kept
    bad = runner.invoke(
        app,
        [
            "mc",
            "--replications",
            "2",
            "--out",
            str(out),
            "--quiet",
            "--seed",
            "9",
            "--resume",
            "--set",
            "horizon.end=2024-06",
        ],
    )
    assert bad.exit_code == 2  # resuming a different run is refused
    assert bad.stderr.startswith("error: ")


def test_a_part_fitted_at_a_station_runs_and_conserves_cars(tmp_path: Path) -> None:
    out = tmp_path / "fitted"
    where = "venture.supply.components.battery_pack.station=battery-pack/cell-to-pack"
    result = runner.invoke(app, ["run", "--out", str(out), *SHORT, "--set", where])
    assert result.exit_code == 0, result.output
    rows = list(csv_rows(out / "monthly.csv"))
    released = sum(float(r["released"]) for r in rows)
    produced = sum(float(r["produced"]) for r in rows)
    # vehicles in work at the end, counted per variant (the phase columns count them too)
    in_work = sum(float(rows[-1][f"in_work_{v}"]) for v in ("SU7", "YU7"))
    assert produced > 0 and released == pytest.approx(produced + in_work)


def csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open() as f:
        return list(csv.DictReader(f))
