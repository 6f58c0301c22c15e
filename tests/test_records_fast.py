"""The quick views of records (names cached per kind, tables built column by column) give
what the straightforward ones gave, record for record and byte for byte."""

from __future__ import annotations

import dataclasses
import io
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evplant import records as R
from evplant.results import NonFiniteOutput, columns_table, to_table
from evplant.run import RunResult, simulate
from evplant.scenario import load_scenario


@pytest.fixture(scope="module")
def result() -> RunResult:
    sc, _ = load_scenario("beijing-etown", ["horizon.end=2024-08"])
    return simulate(sc, 0, threads=False)


def reference_wide(records: list[R.Record]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The wide view as first written: every name formatted per record."""
    rows: dict[str, dict[str, Any]] = {}
    keys: dict[str, dict[str, None]] = {}
    for rec in records:
        row = rows.setdefault(rec.month, {"month": rec.month})
        if rec.KEYS:
            keys.setdefault(rec.ENTITY, {}).setdefault(rec.key, None)
        if rec.WIDE is None:
            continue
        skip = {"month", *rec.KEYS}
        for f in dataclasses.fields(rec):
            if f.name not in skip:
                name = rec.column(f.name, **{k: str(getattr(rec, k)) for k in rec.KEYS})
                row.setdefault(name, getattr(rec, f.name))
    return list(rows.values()), {e: list(k) for e, k in keys.items()}


def reference_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """to_table as first written, value by value."""
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, [])
    for row in rows:
        for key, values in columns.items():
            v = row.get(key)
            values.append(v.item() if isinstance(v, np.generic) else v)
    arrays = {}
    for key, values in columns.items():
        if all(v is None or isinstance(v, int | float) for v in values):
            arrays[key] = pa.array([None if v is None else float(v) for v in values], pa.float64())
        else:
            arrays[key] = pa.array(["" if v is None else str(v) for v in values], pa.string())
    return pa.table(arrays)


def same_bytes(a: pa.Table, b: pa.Table) -> bool:
    outs = []
    for table in (a, b):
        csv, parquet = io.BytesIO(), io.BytesIO()
        pacsv.write_csv(table, csv)
        pq.write_table(table, parquet)
        outs.append((csv.getvalue(), parquet.getvalue()))
    return a.equals(b) and outs[0] == outs[1]


def test_the_wide_view_is_the_straightforward_one(result: RunResult) -> None:
    rows, entities = reference_wide(result.records)
    assert list(result.monthly) == rows
    assert result.monthly.entities == entities
    for rec in result.records[:400]:
        skip = {"month", *rec.KEYS}
        names = [f.name for f in dataclasses.fields(rec) if f.name not in skip]
        assert rec.measures() == names
        assert list(rec.values()) == names


def test_long_columns_are_the_long_tables(result: RunResult) -> None:
    long = R.tables(result.records)
    cols = R.columns(result.records)
    assert list(cols) == list(long)
    for entity, rows in long.items():
        assert cols[entity] == {k: [row[k] for row in rows] for k in rows[0]}
        assert same_bytes(columns_table(cols[entity], entity), reference_to_table(rows))


def test_the_wide_table_is_written_as_before(result: RunResult) -> None:
    rows = list(result.monthly)
    assert same_bytes(to_table(rows), reference_to_table(rows))


cells = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**60), 2**60),
    st.booleans(),
    st.floats(-1e6, 1e6).map(np.float64),
    st.integers(-1000, 1000).map(np.int64),
    st.text(max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["month", "a", "b", "c"]), cells), max_size=8))
def test_to_table_is_the_value_by_value_one(rows: list[dict[str, Any]]) -> None:
    assert same_bytes(to_table(rows), reference_to_table(rows))


def test_a_non_finite_number_is_named_by_its_month() -> None:
    rows: list[dict[str, Any]] = [
        {"month": "2024-01", "x": 1.0},
        {"month": "2024-02", "x": math.inf},
    ]
    with pytest.raises(NonFiniteOutput, match="t: x is inf in 2024-02"):
        to_table(rows, "t")
    with pytest.raises(NonFiniteOutput, match="t: x is nan in row 1"):
        to_table([{"x": 1.0}, {"x": math.nan}], "t")
