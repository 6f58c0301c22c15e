"""Run outputs: long tables per entity and the wide monthly table (CSV, Parquet),
summary.json and the report, all written atomically.

``tables/<entity>.parquet`` (and ``.csv``) holds one row per entity and month, a column
per field of that entity's record (:mod:`evplant.records`): ``tables/station.parquet``
has ``month, phase, shop, station, servers, jobs_in, ...``. ``monthly.csv`` is the wide
view of the same records, one row per month.

A run directory is written as a whole: every file goes to a temporary name first and
is renamed into place only when all of them are complete, so an interrupted run
leaves no partial output.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import NoneType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import records
from .atomic import atomic_path
from .errors import EvplantError
from .outdir import writing
from .run import RunResult

MONTHLY_CSV = "monthly.csv"
MONTHLY_PARQUET = "monthly.parquet"
SUMMARY_JSON = "summary.json"
REPORT_HTML = "report.html"
TABLES = "tables"


class NonFiniteOutput(AssertionError):
    """A NaN or an infinity reached a writer: a bug in the model, never the user's input
    (inputs are finite and bounded, :mod:`evplant.base`)."""


def to_table(rows: list[dict[str, Any]], name: str = "table") -> pa.Table:
    """Rows as a table: columns in first-seen order, numbers as float64, the rest text.

    A row without a column (a shop's utilisation in a month before production) holds
    null there: an empty cell in CSV, a null in Parquet, never NaN. A NaN or an infinity
    in a row raises :class:`NonFiniteOutput`.
    """
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {key: [row.get(key) for row in rows] for key in names}
    return columns_table(columns, name, lambda k: rows[k].get("month", f"row {k}"))


def columns_table(
    columns: dict[str, list[Any]], name: str = "table", where: Callable[[int], Any] | None = None
) -> pa.Table:
    """Columns of equal length as a table, as :func:`to_table` makes rows one (None is
    null); ``where(k)`` names row ``k`` in an error (default: its ``month``)."""
    if where is None:
        months = columns.get("month")
        where = (lambda k: months[k]) if months is not None else (lambda k: f"row {k}")
    arrays = {}
    for key, values in columns.items():
        kinds = set(map(type, values))
        if any(issubclass(k, np.generic) for k in kinds):
            values = [_plain(v) for v in values]
            kinds = set(map(type, values))
        if all(k is NoneType or issubclass(k, int | float) for k in kinds):
            arrays[key] = _numbers(values, NoneType in kinds, f"{name}: {key}", where)
        else:
            arrays[key] = pa.array(["" if v is None else str(v) for v in values], pa.string())
    return pa.table(arrays)


def _numbers(values: list[Any], gaps: bool, what: str, where: Callable[[int], Any]) -> pa.Array:
    """A column of numbers as float64, None as null; raises at a NaN or an infinity."""
    if gaps:
        missing = np.array([v is None for v in values])
        numbers = np.array([0.0 if v is None else float(v) for v in values], dtype=np.float64)
    else:
        missing = None
        numbers = np.array([float(v) for v in values], dtype=np.float64)
    bad = ~np.isfinite(numbers)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise NonFiniteOutput(f"{what} is {numbers[k]} in {where(k)}")
    return pa.array(numbers, pa.float64(), mask=missing)


def finite_json(obj: Any, where: str = "summary") -> Any:
    """:func:`jsonable`, raising :class:`NonFiniteOutput` at a NaN or an infinity
    instead of writing null for it."""
    if isinstance(obj, dict):
        return {str(k): finite_json(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [finite_json(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    obj = _plain(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        raise NonFiniteOutput(f"{where} is {obj}")
    return obj


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
    out: Path,
    result: RunResult,
    report_html: str,
    states: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> None:
    """Write a run into ``out``: ``monthly.csv``/``.parquet`` (the wide view),
    ``tables/<entity>.parquet``/``.csv`` (the long tables, one per entity of
    :mod:`evplant.records`), ``summary.json``, ``report.html`` and the ``states`` given
    (file name to text: ``state.json``, :mod:`evplant.state`), all or nothing.

    Parameters
    ----------
    out : pathlib.Path
        The run folder; created if missing, files in it replaced.
    result : RunResult
        What :func:`evplant.simulate` returned.
    report_html : str
        The report page, e.g. from ``evplant.report.render_run``.
    states : mapping of str to str, optional
        State files to write beside them, by file name.
    extra : mapping of str to str, optional
        More text files of the run (name -> content, e.g. ``marginal.json``), written
        with the rest, all or nothing.

    Raises
    ------
    EvplantError
        If the disk is full or the folder cannot be written (nothing is left behind).
    NonFiniteOutput
        If a NaN or an infinity reached the tables or the summary (a bug).
    """
    out = Path(out)
    wide = to_table(list(result.monthly), MONTHLY_CSV)
    long = {
        entity: columns_table(columns, f"{TABLES}/{entity}")
        for entity, columns in records.columns(result.records).items()
    }
    summary = json.dumps(finite_json(result.summary.to_dict()), indent=2) + "\n"
    made = [p for p in (out, out / TABLES) if not p.exists()]
    try:
        with writing(out), contextlib.ExitStack() as stack:

            def tmp(name: str | Path) -> Path:
                return stack.enter_context(atomic_path(out / name))

            pacsv.write_csv(wide, tmp(MONTHLY_CSV))
            pq.write_table(wide, tmp(MONTHLY_PARQUET))
            for entity, table in long.items():
                pq.write_table(table, tmp(Path(TABLES) / f"{entity}.parquet"))
                pacsv.write_csv(table, tmp(Path(TABLES) / f"{entity}.csv"))
            tmp(SUMMARY_JSON).write_text(summary, encoding="utf-8")
            tmp(REPORT_HTML).write_text(report_html, encoding="utf-8")
            for name, text in {**(states or {}), **(extra or {})}.items():
                tmp(name).write_text(text, encoding="utf-8")
    except BaseException:
        # the temporary files are gone; so go the folders this write made
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


@dataclass(frozen=True)
class RunFolder:
    """A run read back: the wide table, the records (from the long tables; empty for a
    folder written before they existed) and the summary."""

    monthly: pa.Table
    records: list[records.Record]
    summary: dict[str, Any]

    def rows(self) -> list[dict[str, Any]]:
        """The wide rows, knowing the keys of each entity when the records are there."""
        if self.records:
            return records.wide(self.records)
        rows: list[dict[str, Any]] = self.monthly.to_pylist()
        return rows


def read_run(folder: Path) -> RunFolder:
    """Read a run directory written by ``write_run``.

    Parameters
    ----------
    folder : pathlib.Path
        A folder written by ``write_run`` or ``evplant run``.

    Returns
    -------
    RunFolder
        The wide table (``monthly``), the records read back from the long tables and
        the summary.

    Raises
    ------
    EvplantError
        If the folder is missing, lacks ``monthly.parquet`` or ``summary.json``, or its
        summary is not valid JSON.
    """
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
    long = {
        path.stem: pq.read_table(path).to_pylist()
        for path in sorted((folder / TABLES).glob("*.parquet"))
    }
    return RunFolder(pq.read_table(table_path), records.from_tables(long), summary)
