"""The twin connected: the record read from a workbook, SQLite and a real PostgreSQL
server (Debian's, started for these tests), forecasts appended to long tables as
vintages, and the monthly job run twice as the same command line.

The references are independent of the code under test: the CSV reader (the same
record must give the same statements, and a bad row the same message), psycopg and
pyarrow reading what was written (cell for cell), and the Monte Carlo run's own
forecast.csv."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from evplant.calibration.api import Calibrated, calibrate
from evplant.calibration.observations import Statement, read_observations, to_csv
from evplant.cli import app
from evplant.errors import EvplantError
from evplant.experiments import forecast_table as FT
from evplant.locations import locate, mask
from postgres import Cluster, cluster
from test_calibrate import TINY, record

BUDGET = 1100
COLS = ("period", "metric", "relation", "value", "unit", "note")
KEY_ORDER = "vintage, scenario, period, metric, band"


def cells(s: Statement) -> tuple[Any, ...]:
    return (s.period, s.metric, s.relation, s.value, s.unit, s.note)


@pytest.fixture(scope="module")
def pg() -> Iterator[Cluster]:
    with cluster() as c:
        yield c


@pytest.fixture(scope="module")
def csv_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny plant's record, its figures to 15 digits: what a workbook cell holds."""
    path = record(1.15, 2500.0, tmp_path_factory.mktemp("obs") / "tiny.csv")
    held = [replace(s, value=float(f"{s.value:.15g}")) for s in read_observations(path)]
    path.write_text(to_csv(held))
    return path


@pytest.fixture(scope="module")
def statements(csv_record: Path) -> list[Statement]:
    return read_observations(csv_record)


def write_sheet(path: Path, rows: Sequence[Sequence[Any]], sheet: str = "record",
                other: bool = True) -> Path:
    """A workbook as a finance team keeps it: months typed in became dates."""
    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(list(COLS))
    for r in rows:
        period = r[0]
        if isinstance(period, str) and len(period) == 7 and period[4] == "-":
            period = dt.datetime(int(period[:4]), int(period[5:]), 1)
        ws.append([period, *r[1:]])
    if other:
        book.create_sheet("notes").append(["where the figures come from"])
    book.save(path)
    return path


def write_sqlite(path: Path, table: str, rows: Sequence[Sequence[Any]]) -> str:
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE {table} (period TEXT, metric TEXT, relation TEXT, value, "
                "unit TEXT, note TEXT)")
    con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return f"sqlite:///{path}#{table}"


def pg_exec(c: Cluster, sql: str, rows: Sequence[Sequence[Any]] = ()) -> None:
    with psycopg.connect(c.dsn()) as con:
        if rows:
            con.cursor().executemany(sql, rows)
        else:
            con.execute(sql)


def pg_rows(c: Cluster, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(c.dsn()) as con:
        return list(con.execute(sql).fetchall())


# -- reading the record ----------------------------------------------------------------


def test_the_record_reads_alike_from_a_csv_a_workbook_sqlite_and_postgresql(
    pg: Cluster, statements: list[Statement], tmp_path: Path
) -> None:
    rows = [cells(s) for s in statements]
    book = write_sheet(tmp_path / "record.xlsx", rows)
    lite = write_sqlite(tmp_path / "record.db", "record", rows)
    pg_exec(pg, "CREATE TABLE mes_record (id serial PRIMARY KEY, period text, metric text, "
            "relation text, value double precision, unit text, note text)")
    pg_exec(pg, "INSERT INTO mes_record (period, metric, relation, value, unit, note) "
            "VALUES (%s, %s, %s, %s, %s, %s)", rows)
    pg_exec(pg, f"CREATE VIEW record_view AS SELECT {', '.join(COLS)} FROM mes_record")
    # the workbook in the sheet's order, as the CSV in the file's
    assert [cells(s) for s in read_observations(f"{book}#record")] == rows
    # tables have no order: they read sorted by the record's columns, every time
    for url in (lite, f"{pg.url()}#record_view"):
        assert [cells(s) for s in read_observations(url)] == sorted(rows)
    # a table with more than the record's columns is refused, as a CSV with them is
    with pytest.raises(EvplantError, match="unknown column.s. id"):
        read_observations(f"{pg.url()}#mes_record")


def test_a_workbook_names_its_sheet_and_keeps_nothing_beyond_its_columns(
    statements: list[Statement], tmp_path: Path
) -> None:
    rows = [cells(s) for s in statements]
    book = write_sheet(tmp_path / "two.xlsx", rows)
    with pytest.raises(EvplantError, match=r"2 sheets \(record, notes\); name one"):
        read_observations(book)
    with pytest.raises(EvplantError, match="no sheet 'March'"):
        read_observations(f"{book}#March")
    one = write_sheet(tmp_path / "one.xlsx", rows, other=False)
    assert [cells(s) for s in read_observations(one)] == rows
    wide = write_sheet(tmp_path / "wide.xlsx", [*rows[:2], (*rows[2], "stray")], other=False)
    with pytest.raises(EvplantError) as exc:
        read_observations(wide)
    assert str(exc.value) == (f"{wide}:4: a cell beyond the header's 6 columns (stray); "
                              "the columns are period,metric,relation,value,unit,note")


BAD = [("2024-01", "produced", "ge", "600", "vehicles", ""),
       ("2024-02", "produced", "ge", "abc", "vehicles", ""),
       ("2024Q1", "produced", "eq", "1800", "cars", "a unit the metric has not")]


def bad_record(kind: str, where: Path, pg: Cluster) -> tuple[str, str]:
    """(what --observed gets, the location its errors name) for a record with two bad
    rows, in each kind of source."""
    if kind == "csv":
        path = where / "bad.csv"
        path.write_text(",".join(COLS) + "\n" + "".join(",".join(r) + "\n" for r in BAD))
        return str(path), str(path)
    if kind == "xlsx":
        book = write_sheet(where / "bad.xlsx", BAD)
        return f"{book}#record", f"{book}#record"
    if kind == "sqlite":
        url = write_sqlite(where / "bad.db", "bad", BAD)
        return url, url
    pg_exec(pg, "CREATE TABLE IF NOT EXISTS bad (period text, metric text, relation text, "
            "value text, unit text, note text)")
    pg_exec(pg, "TRUNCATE bad")
    pg_exec(pg, "INSERT INTO bad VALUES (%s, %s, %s, %s, %s, %s)", BAD)
    shown = f"postgresql+psycopg://{pg.user}:***@127.0.0.1:{pg.port}/{pg.database}#bad"
    return f"{pg.url()}#bad", shown


def refused(args: list[str], out: Path | None = None) -> list[str]:
    res = CliRunner().invoke(app, [*args, "-q"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert all(ln.startswith("error: ") for ln in lines), res.output
    if out is not None:
        assert not out.exists()  # nothing written
    return [ln.removeprefix("error: ") for ln in lines]


@pytest.mark.parametrize("kind", ["csv", "xlsx", "sqlite", "postgresql"])
def test_bad_rows_get_the_csvs_one_line_errors_naming_the_sheet_or_table_and_row(
    kind: str, pg: Cluster, tmp_path: Path
) -> None:
    observed, shown = bad_record(kind, tmp_path, pg)
    lines = refused(["calibrate", TINY, "--observed", observed, "--out", str(tmp_path / "o")],
                    tmp_path / "o")
    where = {"csv": (":3", ":4"), "xlsx": (":3", ":4"),
             "sqlite": (" (row 2024-02 produced ge)", " (row 2024Q1 produced eq)"),
             "postgresql": (" (row 2024-02 produced ge)", " (row 2024Q1 produced eq)")}[kind]
    assert lines == [
        f"{shown}{where[0]}: value: 'abc' is not a finite number",
        f"{shown}{where[1]}: unit: 'cars': produced is measured in vehicles",
    ]
    assert pg.password not in "".join(lines)


def test_assimilate_and_backtest_refuse_the_same_bad_rows(
    pg: Cluster, first_half: Calibrated, tmp_path: Path
) -> None:
    observed, shown = bad_record("sqlite", tmp_path, pg)
    expected = [f"{shown} (row 2024-02 produced ge): value: 'abc' is not a finite number",
                f"{shown} (row 2024Q1 produced eq): unit: 'cars': produced is measured in "
                "vehicles"]
    out = tmp_path / "o"
    assert refused(["assimilate", str(first_half.out_dir / "scenario.yaml"), "--observed",
                    observed, "--out", str(out)], out) == expected
    assert refused(["backtest", TINY, "--observed", observed, "--out", str(out)],
                   out) == expected


def test_a_password_is_masked_in_every_message(pg: Cluster, tmp_path: Path) -> None:
    wrong = "Wr0ng-p%40ss"  # percent-encoded: the driver sees 'Wr0ng-p@ss'
    lines = refused(["calibrate", TINY, "--observed", f"{pg.url(wrong)}#record_view",
                     "--out", str(tmp_path / "o")], tmp_path / "o")
    assert len(lines) == 1
    assert "Wr0ng" not in lines[0] and f"{pg.user}:***@127.0.0.1" in lines[0]
    assert "password authentication failed" in lines[0]
    assert mask("postgresql://u:p%3Aw@h/db?sslmode=require&password=x1#t") == \
        "postgresql://u:***@h/db?sslmode=require&password=***#t"
    assert mask("sqlite:///r.db#t") == "sqlite:///r.db#t"
    assert locate("postgresql+psycopg://u:pw@h/db#plan.record", "--observed").table == \
        ("plan", "record")
    for text, why in [("postgresql+psycopg://u:pw@h/db", "as URL#table"),
                      ("postgresql+psycopg://u:pw@h/db#1x", "not a table name"),
                      ("forecast.txt", "a .txt is not read here")]:
        with pytest.raises(EvplantError, match=why) as exc:
            locate(text, "--forecast-to", suffixes=FT.FILES)
        assert "pw" not in str(exc.value)


# -- the monthly job and the forecast table ----------------------------------------------


@pytest.fixture(scope="module")
def first_half(statements: list[Statement], tmp_path_factory: pytest.TempPathFactory
               ) -> Calibrated:
    """The tiny plant calibrated, from a workbook, on the record to June."""
    where = tmp_path_factory.mktemp("cal")
    book = write_sheet(where / "record.xlsx", [cells(s) for s in statements])
    return calibrate(TINY, f"{book}#record", out_dir=where / "h1", budget=BUDGET, seed=11,
                     origin="2024-07", name="tiny-h1")


def test_calibrate_reads_the_workbook_and_says_so(first_half: Calibrated) -> None:
    summary = json.loads((first_half.out_dir / "calibration.json").read_text())
    assert summary["record"] == [first_half.posterior.record[0]]
    assert summary["record"][0].endswith("record.xlsx#record")
    assert summary["fit_months"] == "2024-01..2024-06"


def ends_by(s: Statement, month: str) -> bool:
    return s.last <= month


@pytest.fixture(scope="module")
def monthly(pg: Cluster, statements: list[Statement], first_half: Calibrated,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The job as cron runs it: the same command line, before and after the record's
    last quarter reaches the database (through a view of the MES's table), then once
    more with nothing new."""
    job = tmp_path_factory.mktemp("job") / "tiny"
    shutil.copytree(first_half.out_dir, job)
    pg_exec(pg, "CREATE TABLE mes_monthly (id serial PRIMARY KEY, period text, metric text, "
            "relation text, value double precision, unit text, note text, "
            "loaded_at timestamptz DEFAULT now())")
    pg_exec(pg, f"CREATE VIEW record AS SELECT {', '.join(COLS)} FROM mes_monthly")
    insert = ("INSERT INTO mes_monthly (period, metric, relation, value, unit, note) "
              "VALUES (%s, %s, %s, %s, %s, %s)")
    line = ["assimilate", str(job / "scenario.yaml"), "--observed", f"{pg.url()}#record",
            "--out", str(job), "--budget", "1300", "--forecast-to", f"{pg.url()}#forecasts",
            "--forecast-to", str(job / "forecasts.parquet"), "--forecast-replications", "16",
            "--forecast-horizon", "2025-06", "-q"]
    pg_exec(pg, insert, [cells(s) for s in statements if ends_by(s, "2024-09")])
    runs = [CliRunner().invoke(app, line)]
    assert runs[0].exit_code == 0, runs[0].output
    september = pg_rows(pg, f"SELECT * FROM forecasts ORDER BY {KEY_ORDER}")
    pg_exec(pg, insert, [cells(s) for s in statements if not ends_by(s, "2024-09")])
    runs.append(CliRunner().invoke(app, line))
    assert runs[1].exit_code == 0, runs[1].output
    both = pg_rows(pg, f"SELECT * FROM forecasts ORDER BY {KEY_ORDER}")
    runs.append(CliRunner().invoke(app, line))
    return {"job": job, "runs": runs, "september": september, "both": both, "line": line}


def test_the_monthly_job_takes_in_only_the_months_after_the_last_fitted_one(
    monthly: dict[str, Any], pg: Cluster
) -> None:
    first, second, third = monthly["runs"]
    # 3 months and Q3; then 3 months, Q4 and the year
    assert "took in 4 statements after 2024-06 (now fitted through 2024-09)" in first.output
    assert "took in 5 statements after 2024-09 (now fitted through 2024-12)" in second.output
    assert "appended vintage 2024-12 of tiny-h1 to postgresql+psycopg://planner:***@" \
        in second.output
    # nothing new: refused, and the table is as it was
    assert third.exit_code == 2 and "Traceback" not in third.output
    assert third.output.strip().splitlines() == [
        "error: --observed: the record ends at 2024-12, not after the posterior's last "
        "fitted month 2024-12: nothing new to take in"]
    assert pg_rows(pg, f"SELECT * FROM forecasts ORDER BY {KEY_ORDER}") == monthly["both"]
    summary = json.loads((monthly["job"] / "calibration.json").read_text())
    assert summary["record"] == [f"postgresql+psycopg://planner:***@127.0.0.1:{pg.port}/"
                                 "plant#record"]
    assert summary["diagnostics"]["assimilation"]["new_statements"] == 5


def test_an_earlier_vintage_is_never_changed(monthly: dict[str, Any]) -> None:
    september, both = monthly["september"], monthly["both"]
    assert {r[0] for r in september} == {"2024-09"}
    assert {r[0] for r in both} == {"2024-09", "2024-12"}
    assert [r for r in both if r[0] == "2024-09"] == september  # cell for cell, made_at too
    made = {r[0]: r[-1] for r in both}
    assert made["2024-09"] <= made["2024-12"]


def test_the_forecast_in_postgresql_is_the_parquet_beside_it_cell_for_cell(
    monthly: dict[str, Any], pg: Cluster
) -> None:
    table = pq.read_table(monthly["job"] / "forecasts.parquet")
    assert table.column_names == list(FT.COLUMNS)
    parquet = sorted(zip(*(table.column(c).to_pylist() for c in FT.COLUMNS), strict=True),
                     key=lambda r: (r[0], r[1], r[2], r[3], r[7]))
    cols = ", ".join(FT.COLUMNS)
    database = pg_rows(pg, f"SELECT {cols} FROM forecasts ORDER BY {KEY_ORDER}")
    assert len(database) == len(parquet) > 0
    for a, b in zip(database, parquet, strict=True):
        assert a == b  # text, floats (exactly), NULLs and the UTC instant alike
    assert {r[7] for r in database} == {"model", "predictive"}
    assert any(r[2] == "2025Q2" for r in database)  # the forecast's horizon
    # and what was written is the Monte Carlo run's own forecast (its CSV: 6 digits)
    csv_rows = (monthly["job"] / "forecast-2024-12" / "forecast.csv").read_text().splitlines()
    mc = {tuple(r.split(",")[:3]): [float(x) for x in r.split(",")[3:6]]
          for r in csv_rows[1:]}
    dec = [r for r in database if r[0] == "2024-12"]
    assert len(dec) == len(mc)
    for r in dec:
        want = mc[(r[2], r[3], r[7])]
        assert r[4:7] == pytest.approx(want, rel=1e-5)


def test_no_file_or_output_of_the_job_holds_the_password(
    monthly: dict[str, Any], pg: Cluster
) -> None:
    secrets = [pg.password, "s3cr3t-P%40ss", "s3cr3t"]  # as given, as in the URL, a part
    for run in monthly["runs"]:
        assert not [s for s in secrets if s in run.output]
    for f in monthly["job"].rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not [s for s in secrets if s.encode() in data], f


def test_a_second_writer_of_a_vintage_is_refused(
    monthly: dict[str, Any], pg: Cluster, tmp_path: Path
) -> None:
    before = pg_rows(pg, f"SELECT * FROM forecasts ORDER BY {KEY_ORDER}")
    out = tmp_path / "mc"
    lines = refused(["mc", str(monthly["job"] / "scenario.yaml"), "-r", "4", "--out",
                     str(out), "--forecast-to", f"{pg.url()}#forecasts"], out)
    assert lines == [f"postgresql+psycopg://planner:***@127.0.0.1:{pg.port}/plant#forecasts: "
                     "vintage 2024-12 of tiny-h1 is there already; an earlier vintage is "
                     "never rewritten (name a new one with --vintage)"]
    # the table's own unique key refuses a row of a vintage it holds
    row = before[0]
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg_exec(pg, "INSERT INTO forecasts VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [row])
    # writers racing on a new vintage: exactly one wins, in one transaction
    loc = FT.targets([f"{pg.url()}#forecasts"])
    made = FT.now()
    rows = [FT.VintageRow("race", "tiny-h1", f"2024-{m:02d}", "produced", 1.0, 2.0, 3.0,
                          "model", made) for m in range(1, 13)]
    results: list[str] = []
    gate = threading.Barrier(4)

    def write() -> None:
        gate.wait()
        try:
            FT.append_vintage(loc, rows)
            results.append("written")
        except EvplantError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("written") == 1, results
    assert all("vintage race of tiny-h1 is there already" in r for r in results
               if r != "written")
    after = pg_rows(pg, f"SELECT * FROM forecasts ORDER BY {KEY_ORDER}")
    assert [r for r in after if r[0] != "race"] == before
    assert len([r for r in after if r[0] == "race"]) == 12


def test_mc_appends_vintages_to_files_and_refuses_a_second_writer(tmp_path: Path) -> None:
    csv_t, parquet_t = tmp_path / "fc" / "forecasts.csv", tmp_path / "fc" / "forecasts.parquet"
    targets = ["--forecast-to", str(csv_t), "--forecast-to", str(parquet_t)]
    res = CliRunner().invoke(app, ["mc", TINY, "-r", "4", "--out", str(tmp_path / "m1"), "-q",
                                   *targets])
    assert res.exit_code == 0, res.output
    assert "appended vintage 2023-12 of tiny-plant" in res.output  # a plan: before the horizon
    first = (csv_t.read_bytes(), parquet_t.read_bytes())
    lines = refused(["mc", TINY, "-r", "4", "--out", str(tmp_path / "m2"), *targets],
                    tmp_path / "m2")
    assert lines == [f"{csv_t}: vintage 2023-12 of tiny-plant is there already; an earlier "
                     "vintage is never rewritten (name a new one with --vintage)"]
    assert (csv_t.read_bytes(), parquet_t.read_bytes()) == first
    res = CliRunner().invoke(app, ["mc", TINY, "-r", "4", "--out", str(tmp_path / "m3"), "-q",
                                   "--seed", "3", "--vintage", "plan-b", *targets])
    assert res.exit_code == 0, res.output
    assert csv_t.read_text().startswith(first[0].decode())  # the old rows as they were
    from_csv, from_parquet = FT.read_forecast_table(csv_t), FT.read_forecast_table(parquet_t)
    assert from_csv == from_parquet
    assert {r.vintage for r in from_csv} == {"2023-12", "plan-b"}
    # what was written is the run's forecast.csv, row for row
    mc = (tmp_path / "m3" / "forecast.csv").read_text().splitlines()[1:]
    mine = [r for r in from_csv if r.vintage == "plan-b"]
    assert len(mine) == len(mc)
    for r in mine:
        assert any(line.startswith(f"{r.period},{r.metric},{r.band},") and
                   float(line.split(",")[4]) == pytest.approx(r.p50, rel=1e-5) for line in mc)


def test_a_forecast_table_without_its_unique_key_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE forecasts (vintage TEXT, scenario TEXT, period TEXT, metric "
                "TEXT, p10 REAL, p50 REAL, p90 REAL, band TEXT, made_at TEXT)")
    con.close()
    out = tmp_path / "m"
    lines = refused(["mc", TINY, "-r", "2", "--out", str(out), "--forecast-to",
                     f"sqlite:///{db}#forecasts"], out)
    assert lines[0].startswith(f"sqlite:///{db}#forecasts: the table has no unique key on "
                               "(vintage, scenario, period, metric, band)")
    fresh = tmp_path / "fresh.db"  # refused before the run: no empty database left behind
    refused(["mc", TINY, "-r", "2", "--out", str(out), "--forecast-to",
             f"sqlite:///{fresh}#f", "--forecast-to", f"sqlite:///{db}#forecasts"], out)
    assert not fresh.exists()
    for args, why in [(["--vintage", "a b"], "--vintage: 'a b' is not a vintage name"),
                      (["--forecast-to", str(tmp_path / "f.txt")], "a .txt is not read"),
                      (["--against", TINY, "--forecast-to", str(tmp_path / "f.csv")],
                       "--forecast-to: writes one scenario's forecast")]:
        extra = [] if "--forecast-to" in args else ["--forecast-to", str(tmp_path / "f.csv")]
        lines = refused(["mc", TINY, "-r", "2", "--out", str(out), *args, *extra], out)
        assert why in lines[0], lines
    assert not (tmp_path / "f.csv").exists()


def test_assimilate_refuses_forecast_options_without_a_target(
    first_half: Calibrated, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    scen = str(first_half.out_dir / "scenario.yaml")
    assert refused(["assimilate", scen, "--forecast-horizon", "2025-06", "--out", str(out)],
                   out) == ["--forecast-horizon: needs --forecast-to (where the forecast goes)"]
    assert refused(["assimilate", scen, "--observed", str(first_half.out_dir / "x.csv"),
                    "--forecast-to", str(tmp_path / "f.csv"), "--forecast-horizon", "2024-13",
                    "--out", str(out)], out) == [
        "--forecast-horizon: '2024-13' must be a month YYYY-MM"]


def test_assimilate_refuses_a_vintage_already_written_before_any_simulation(
    first_half: Calibrated, csv_record: Path, tmp_path: Path
) -> None:
    table = tmp_path / "forecasts.csv"
    FT.append_vintage(FT.targets([str(table)]), [FT.VintageRow(
        "2024-12", "tiny-h1", "2024", "produced", 1.0, 2.0, 3.0, "model", FT.now())])
    before = table.read_bytes()
    out = tmp_path / "o"
    assert refused(["assimilate", str(first_half.out_dir / "scenario.yaml"), "--observed",
                    str(csv_record), "--forecast-to", str(table), "--out", str(out)], out) == [
        f"{table}: vintage 2024-12 of tiny-h1 is there already; an earlier vintage is never "
        "rewritten (name a new one with --vintage)"]
    assert table.read_bytes() == before


def test_nan_quantiles_are_nulls_in_every_table(tmp_path: Path) -> None:
    made = FT.now()
    rows = [FT.VintageRow("v1", "s", "2024-01", "gross_margin", None, None, None, "model",
                          made),
            FT.VintageRow("v1", "s", "2024-01", "produced", 1.5, 2.25, math.pi, "model", made)]
    places = FT.targets([str(tmp_path / "a.csv"), str(tmp_path / "a.parquet"),
                         f"sqlite:///{tmp_path / 'a.db'}#t"])
    FT.append_vintage(places, rows)
    for p in places:
        assert FT.read_forecast_table(p.shown) == rows, p.shown
