"""Each way a careless or hostile scenario once crashed, stalled or fooled `evplant run`
(issue 13) is refused with one line naming the file or the --set item, exit 2, and
nothing written; the loader's limits fail fast; copies share nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.errors import EvplantError, Problem
from evplant.inputs import MAX_DEPTH, MAX_NODES, load_text, read_yaml
from evplant.scenario import prepare

runner = CliRunner()
SHORT = ["--set", "horizon.end=2024-03", "--quiet"]
TINY = Path(__file__).parent / "data" / "tiny-plant.yaml"


def refused(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "out"
    # the short horizon first: an item of the test's own may set the horizon
    result = runner.invoke(app, ["run", *SHORT, *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("error: ") for ln in lines), result.stderr
    assert not out.exists()
    return result.stderr


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("horizon.end=9999-12", "horizon.end: must be a month written YYYY-MM in 1900-01..2199-12"),
        ("horizon.start=1900-01", "at most 600 (50 years)"),
        ("venture.market.seasonality.9=.inf", "seasonality[9]: must be a finite number"),
        ("plant.phases.phase1.mix.SU7=.inf", "mix.SU7: must be a finite number"),
        ("plant.phases.phase1.mix={SU7: 1e-300, YU7: 1e300}", "must lie within +-1e+15"),
        ("plant.phases.phase1.shops.body.stations.0.ideal_cycle_time=.inf", "finite number"),
        ("venture.finance.usd_cny=1e-300", "usd_cny: must be greater than or equal to 0.01"),
        ("venture.finance.opex.rnd_cny_per_month=1e308", "must lie within +-1e+15"),
        ("plant.phases.phase1.shifts.0={start: 2024-02-20, shifts: 3, hours: 12}", "a day has 24"),
        ("variants=[SU7, YU7, SU7]", "variants: each variant is named once"),
        ("plant.phases.phase1.sop=2024-W08-2", "must be a date written YYYY-MM-DD"),
        ("plant.phases.phase1.sop='20240220'", "must be a date written YYYY-MM-DD"),
        ("plant.phases.phase1.construction.start=0000-01", "must be a month written YYYY-MM"),
        ("plant.phases.phase1.nameplate_per_year=.inf", "finite number"),
        ("venture.market.exports.europe.orders_per_month.SU7=.inf", "finite number"),
        ("venture.market.exports.europe.tariff_elasticity=.inf", "finite number"),
        (
            "plant.phases.phase1.shops.body.stations.0.failures.mttr=9223372036854775807",
            "must lie within +-1e+15",
        ),
        (
            "plant.phases.phase1.shops.body.stations.0.failures.mttr=1e9",
            "at most 2.592e+06 (30 days)",
        ),
        ("plant.phases.phase1.shops.body.stations.0.failures.mtbf=0.001", "at least 1"),
        ("plant.phases.phase1.shops.paint.buffers=[100000000000000000000, 10]", "beyond 64 bits"),
        ("plant.phases.phase1.mix={SU7: 1, SU7: 2}", "key 'SU7' given twice"),
        ("plant.phases.phase1.cycle_time_scale=1e-9", "vehicles an hour; at most 3,600"),
        ("plant.ramp.cycle_time.mature_units=1e15", "days to come out; at most 180"),
    ],
)
def test_each_reproducer_of_the_issue_is_refused_naming_its_set_item(
    tmp_path: Path, item: str, expected: str
) -> None:
    stderr = refused(tmp_path, "--set", item)
    assert stderr.startswith("error: --set ") and f"--set {item}" in stderr
    assert expected in stderr


def test_a_newline_in_a_set_path_stays_on_one_line(tmp_path: Path) -> None:
    stderr = refused(tmp_path, "--set", "plant.phases.phase1\n.sop=2024-03-01")
    assert "phase1\\n" in stderr and len(stderr.strip().splitlines()) == 1
    assert str(Problem("a\nb\x00c", file="f\r")) == "f\\r: a\\nb\\x00c"


def test_a_huge_repair_time_in_a_file_names_the_file_line_and_field(tmp_path: Path) -> None:
    text = TINY.read_text().replace(
        "{name: s1, cycle_time: {dist: lognormal, mean: 300, cv: 0.2}}",
        "{name: s1, cycle_time: {dist: lognormal, mean: 300, cv: 0.2},\n"
        "               failures: {mtbf: 3600, mttr: 9000000000000}}",
    )
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    stderr = refused(tmp_path, str(path))
    line = text.splitlines().index(next(ln for ln in text.splitlines() if "mttr" in ln)) + 1
    assert f"{path}:{line}: plant.phases[0].shops[0].stations[0].failures" in stderr
    assert "mean time to repair is 9e+12 s; at most" in stderr


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    with pytest.raises(EvplantError) as err:
        read_yaml("a: 1\nb:\n  c: 1\n  c: 2\n", "f.yaml")
    assert str(err.value) == (
        "f.yaml:4: not valid YAML: key 'c' given twice (first on line 3); give each key once"
    )
    # a merge key is not a duplicate: the keys written beside it override it, as YAML says
    data, _ = read_yaml("base: &b {x: 1, y: 2}\nmine: {<<: *b, y: 3}\n", "f.yaml")
    assert data["mine"] == {"x": 1, "y": 3}


def test_the_loader_fails_fast_on_depth_aliases_size_and_long_integers() -> None:
    cases = {
        "deep": ("x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested more than"),
        "laughs": (
            "a: &a ["
            + ", ".join(["x"] * 10)
            + "]\n"
            + "".join(
                f"a{k}: &a{k} [{', '.join([f'*a{k - 1}' if k > 1 else '*a'] * 10)}]\n"
                for k in range(1, 8)
            ),
            f"aliases expand to more than {MAX_NODES:,}",
        ),
        "large": ("x: '" + "y" * (5 * 2**20) + "'", "at most 4 MB"),
        "digits": ("x: " + "9" * 5000, "integer beyond 64 bits"),
    }
    for name, (text, expected) in cases.items():
        t0 = time.perf_counter()
        with pytest.raises(EvplantError) as err:
            read_yaml(text, "f.yaml")
        assert expected in str(err.value), name
        assert time.perf_counter() - t0 < 2.0, name  # fails fast, before building anything
    # within the limits, nesting and aliases load as before
    assert load_text("a: &a [1, 2]\nb: *a\n") == {"a": [1, 2], "b": [1, 2]}


def test_set_on_phase_2s_shops_leaves_phase_1s_alone() -> None:
    # the built-in scenario shares one shop list between its phases with a YAML anchor
    prepared = prepare("beijing-etown", ["plant.phases.phase2.shops.paint.store_after=7"])
    p1, p2 = prepared.scenario.plant.phases
    assert next(s for s in p2.shops if s.name == "paint").store_after == 7
    assert next(s for s in p1.shops if s.name == "paint").store_after == 120
    assert (
        prepared.data["plant"]["phases"][0]["shops"]
        is not prepared.data["plant"]["phases"][1]["shops"]
    )


def test_dates_in_the_documented_range_are_accepted() -> None:
    prepared = prepare(TINY, ["plant.phases.line.sop=2024-02-29", "horizon.end=2073-12"])
    assert prepared.scenario.horizon.end == "2073-12"  # 600 months, the longest horizon
    with pytest.raises(EvplantError, match="must be a date written"):
        prepare(TINY, ["plant.phases.line.sop=2023-02-29"])


def test_outputs_hold_no_nan_and_months_without_a_record_are_empty(tmp_path: Path) -> None:
    import math

    import pyarrow.parquet as pq

    from evplant.results import NonFiniteOutput, finite_json, to_table

    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "--out", str(out), *SHORT])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out / "monthly.parquet")
    # January 2024 is before the start of production: the shops have no record yet
    jan = {k: v[0] for k, v in table.to_pydict().items()}
    assert jan["month"] == "2024-01" and jan["util_paint"] is None
    for name in table.column_names:
        for v in table.column(name).to_pylist():
            assert not (isinstance(v, float) and not math.isfinite(v)), name
    header, first = (out / "monthly.csv").read_text().splitlines()[:2]
    cells = dict(zip(header.split(","), first.split(","), strict=True))
    assert cells['"util_paint"'] == ""
    assert "NaN" not in (out / "summary.json").read_text()
    # a NaN reaching a writer is a bug, stopped there, never written as nan or null
    with pytest.raises(NonFiniteOutput, match="cash is nan in 2024-02"):
        to_table([{"month": "2024-01", "cash": 1.0}, {"month": "2024-02", "cash": math.nan}])
    with pytest.raises(NonFiniteOutput, match=r"summary.npv is -inf"):
        finite_json({"npv": -math.inf})


def test_a_long_value_is_echoed_clipped_in_its_one_line_message(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evplant.cli import app

    out = tmp_path / "out"
    long = "x" * 5000
    for item in (f"horizon.end={long}", long):
        result = CliRunner().invoke(app, ["run", "--out", str(out), "--set", item])
        assert result.exit_code == 2
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and len(lines[0]) < 300, lines
        assert "..." in lines[0]
        assert not out.exists()
