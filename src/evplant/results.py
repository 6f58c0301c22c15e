"""Run outputs: monthly tables (CSV, Parquet), summary.json, all written atomically.

A run directory is written as a whole: every file goes to a temporary name first and
is renamed into place only when all of them are complete, so an interrupted run
leaves no partial output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .atomic import atomic_path
from .errors import EvplantError

MONTHLY_CSV = "monthly.csv"
MONTHLY_PARQUET = "monthly.parquet"
SUMMARY_JSON = "summary.json"
REPORT_HTML = "report.html"


def to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """One row per month; columns in first-seen order, numbers as float64."""
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, [])
    for row in rows:
        for key, values in columns.items():
            values.append(_plain(row.get(key)))
    arrays = {}
    for key, values in columns.items():
        if all(v is None or isinstance(v, int | float) for v in values):
            arrays[key] = pa.array(
                [math.nan if v is None else float(v) for v in values], pa.float64()
            )
        else:
            arrays[key] = pa.array(["" if v is None else str(v) for v in values], pa.string())
    return pa.table(arrays)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_run(
    out: Path, rows: list[dict[str, Any]], summary: dict[str, Any], report_html: str
) -> None:
    """Write monthly.csv, monthly.parquet, summary.json and report.html into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    table = to_table(rows)
    with (
        atomic_path(out / MONTHLY_CSV) as csv_tmp,
        atomic_path(out / MONTHLY_PARQUET) as pq_tmp,
        atomic_path(out / SUMMARY_JSON) as js_tmp,
        atomic_path(out / REPORT_HTML) as html_tmp,
    ):
        pacsv.write_csv(table, csv_tmp)
        pq.write_table(table, pq_tmp)
        js_tmp.write_text(json.dumps(jsonable(summary), indent=2) + "\n", encoding="utf-8")
        html_tmp.write_text(report_html, encoding="utf-8")


def read_run(folder: Path) -> tuple[pa.Table, dict[str, Any]]:
    """Read a run directory written by ``write_run``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvplantError(
            "not a run directory (expected a folder written by `evplant run`)", file=str(folder)
        )
    table_path = folder / MONTHLY_PARQUET
    summary_path = folder / SUMMARY_JSON
    for path in (table_path, summary_path):
        if not path.exists():
            raise EvplantError(
                f"missing {path.name}; is this a folder written by `evplant run`?", file=str(folder)
            )
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvplantError(
            f"not valid JSON: {exc.msg}", file=str(summary_path), line=exc.lineno
        ) from None
    return pq.read_table(table_path), summary
