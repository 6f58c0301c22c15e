"""The output contract: typed records, long tables, and the wide view built from them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from evplant import records as R
from evplant.report import data
from evplant.results import read_run, write_run
from evplant.run import RunResult, simulate
from evplant.scenario import load_scenario


@pytest.fixture(scope="module")
def result() -> RunResult:
    sc, _ = load_scenario("beijing-etown", ["horizon.end=2024-10"])
    return simulate(sc, 0, threads=False)


def test_every_record_is_frozen_and_declared_in_the_schema(result: RunResult) -> None:
    kinds = {type(r) for r in result.records}
    assert kinds <= set(R.ENTITIES)
    assert {R.PlantTotals, R.PhaseMonth, R.ShopMonth, R.StationMonth, R.MoneyLine} <= kinds
    rec = result.records[0]
    with pytest.raises(AttributeError):
        rec.month = "1999-01"  # type: ignore[misc]


def test_long_tables_and_the_wide_view_agree(result: RunResult, tmp_path: Path) -> None:
    write_run(tmp_path, result, "<html></html>")
    wide = pq.read_table(tmp_path / "monthly.parquet").to_pylist()
    assert [r["month"] for r in wide] == [r["month"] for r in result.monthly]
    by_month = {r["month"]: r for r in wide}
    checked = 0
    for cls in R.ENTITIES:
        path = tmp_path / "tables" / f"{cls.ENTITY}.parquet"
        if not path.exists():
            continue
        for row in pq.read_table(path).to_pylist():
            if cls.WIDE is None:
                continue
            keys = {k: row[k] for k in cls.KEYS}
            for m in cls.measures():
                got = by_month[row["month"]][cls.column(m, **keys)]
                want = row[m]
                assert got == want or (isinstance(want, float) and math.isnan(want)), (cls, m)
                checked += 1
    assert checked > 1000
    # every wide column comes from some record
    cols = {c for r in wide for c in r} - {"month"}
    named = {n for rec in result.records for n in rec.wide()}
    assert cols == named


def test_per_station_figures_add_up_to_the_shop_and_the_plant(result: RunResult) -> None:
    stations = result.table("station")
    last = result.records[-1].month
    month = [s for s in stations if s.month == last]
    assert {s.phase for s in month} == {"phase1"}  # phase 2 opens later
    assert all(0.0 <= s.busy <= 1.0 and 0.0 <= s.starved <= 1.0 for s in month)
    ga = [s for s in month if s.shop == "general-assembly"]
    plant = next(r for r in result.table("plant") if r.month == last)
    assert ga[-1].jobs_out == plant.produced


def test_produced_by_variant_is_whole_cars_and_adds_up(result: RunResult) -> None:
    produced = result.column("produced")
    by_variant = sum(result.column(f"produced_{v}") for v in ("SU7", "YU7"))
    assert np.array_equal(produced, by_variant)
    assert np.array_equal(produced, np.round(produced))


def test_a_phase_building_two_variants_keeps_every_car() -> None:
    sc, _ = load_scenario(
        "beijing-etown",
        ["horizon.end=2024-09", "venture=null", "plant.phases.phase1.mix={SU7: 2, YU7: 1}"],
    )
    res = simulate(sc, 0, threads=False)
    su7, yu7 = res.column("produced_SU7"), res.column("produced_YU7")
    assert np.array_equal(su7 + yu7, res.column("produced"))
    assert np.array_equal(su7, np.round(su7)) and yu7.sum() > 0


def test_the_venture_money_lines_are_columns(result: RunResult) -> None:
    for name in ("revenue", "cost", "cash", "delivered", "backlog", "wait_weeks", "produced"):
        assert len(result.column(name)) == len(result.monthly), name
    lines = {r.line for r in result.table("money")}
    assert {"revenue", "cash", "capex"} <= lines


def test_the_report_reads_entities_from_the_schema(result: RunResult, tmp_path: Path) -> None:
    rows = result.monthly
    assert data.phases(rows) == ["phase1"]
    assert "paint" in data.shops(rows)
    assert data.keys(rows, "component", "price_factor")
    write_run(tmp_path, result, "")
    back = read_run(tmp_path)
    assert back.records == result.records
    assert R.entities(back.rows()) == R.entities(rows)
    # a wide table without the schema's key lists reads the same keys off its columns
    plain = [dict(r) for r in rows]
    found = R.entities(plain)
    for entity in ("phase", "shop", "component", "rival", "sales"):
        assert found.get(entity) == rows.entities.get(entity), entity
