"""Observed statements about a plant: what it really did, as the record gives it.

An observations file is a CSV with one statement per row::

    period,metric,relation,value,unit,note
    2024-05,delivered,eq,8646,vehicles,company figure
    2024-06,delivered,ge,10000,vehicles,company: over 10,000
    2024Q3,revenue_cars,eq,9.5e9,CNY,EV revenue excluding VAT
    2024,gross_margin,eq,0.185,share,segment gross margin for the year

- ``period``: a month ``YYYY-MM``, a quarter ``YYYYQn`` or a year ``YYYY``;
- ``metric``: one of :data:`METRICS` (each with its unit, and how a period aggregates
  months: flows are summed, ratios are formed from their sums, levels are read at the
  period's last month);
- ``relation``: ``eq`` a reported figure, ``ge``/``le`` a bound ("over 20,000"),
  ``approx`` a press estimate;
- ``value`` a finite number, ``unit`` the metric's unit, ``note`` free text (the source;
  as the last column it may hold unquoted commas).

Real records overlap (months, their quarter and the year) and disagree by a little;
every statement is kept as it is, and the observation model (:mod:`.likelihood`)
weighs it by its relation.  Nothing is dropped: a row that cannot be read is an error
naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import EvplantError, Problem
from ..months import month_number as month_index

Relation = Literal["eq", "ge", "le", "approx"]
RELATIONS: tuple[Relation, ...] = ("eq", "ge", "le", "approx")
COLUMNS = ("period", "metric", "relation", "value", "unit", "note")


@dataclass(frozen=True)
class Metric:
    """How a metric is measured: its unit, the model's monthly columns it is built
    from and how months make a period."""

    unit: str
    kind: Literal["flow", "ratio", "level"]
    doc: str


METRICS: dict[str, Metric] = {
    "produced": Metric("vehicles", "flow", "cars completed by the plant"),
    "delivered": Metric("vehicles", "flow", "cars handed to buyers"),
    "revenue": Metric("CNY", "flow", "the reporting segment's revenue, excluding VAT"),
    "revenue_cars": Metric("CNY", "flow", "revenue from cars, excluding VAT"),
    "cogs": Metric("CNY", "flow", "cost of the cars delivered (cost of sales)"),
    "gross_margin": Metric("share", "ratio", "(revenue - cost of sales) / revenue"),
    "operating_result": Metric("CNY", "flow", "revenue - cost of sales - selling - opex"),
    "backlog": Metric("vehicles", "level", "orders taken, not yet delivered, at period end"),
    "wait_weeks": Metric("weeks", "level", "the quoted wait for a new order"),
}

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Statement:
    """One observed statement: ``metric`` over ``first..last`` (months) ``relation`` value."""

    period: str
    first: str  # 'YYYY-MM'
    last: str  # 'YYYY-MM'
    metric: str
    relation: Relation
    value: float
    unit: str
    note: str = ""
    line: int | None = None

    @property
    def months(self) -> int:
        return month_index(self.last) - month_index(self.first) + 1

    def label(self) -> str:
        sign = {"eq": "=", "ge": ">=", "le": "<=", "approx": "~"}[self.relation]
        return f"{self.period} {self.metric} {sign} {self.value:g}"


def period_months(period: str) -> tuple[str, str]:
    """('YYYY-MM' first, 'YYYY-MM' last) of a month, quarter or year; ValueError if none."""
    text = period.strip()
    if m := _MONTH.match(text):
        return text, text
    if m := _QUARTER.match(text):
        year, q = int(m.group(1)), int(m.group(2))
        return f"{year:04d}-{3 * q - 2:02d}", f"{year:04d}-{3 * q:02d}"
    if m := _YEAR.match(text):
        return f"{text}-01", f"{text}-12"
    raise ValueError("must be a month YYYY-MM, a quarter YYYYQn or a year YYYY")


@dataclass(frozen=True)
class Row:
    """One row of a record as text cells, and where it is: a file's ``line`` or, in a
    database table (whose rows have no lines), its ``key``."""

    cells: dict[str, str]
    line: int | None = None
    key: str | None = None


@dataclass(frozen=True)
class Record:
    """Statements read, and where they were read from (as shown: passwords masked)."""

    statements: tuple[Statement, ...]
    sources: tuple[str, ...]


def check_header(header: Sequence[str], source: str, line: int | None = 1) -> None:
    """Refuse a header that lacks a required column or has one the record does not know."""
    missing = [c for c in COLUMNS[:5] if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        what = []
        if missing:
            what.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            what.append(f"unknown column(s) {', '.join(unknown)}")
        raise EvplantError(
            f"{'; '.join(what)}; the columns are {','.join(COLUMNS)}", file=source, line=line
        )


def statements_of(rows: Iterable[Row], source: str) -> list[Statement]:
    """The statements of checked rows; every bad row is reported (line or key, field)."""
    problems: list[Problem] = []
    out: list[Statement] = []
    for row in rows:
        stmt = _statement(row, source, problems)
        if stmt is not None:
            out.append(stmt)
    if problems:
        raise EvplantError(problems=problems)
    if not out:
        raise EvplantError("no statements (only a header)", file=source)
    return out


def parse_observations(text: str, source: str) -> list[Statement]:
    """Statements from CSV text; every problem is reported with its line and field."""
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise EvplantError("the file is empty; expected a header " + ",".join(COLUMNS), file=source)
    header = [h.strip() for h in rows[0]]
    check_header(header, source)
    col = {name: header.index(name) for name in header}
    problems: list[Problem] = []
    good: list[Row] = []
    for k, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header) and header[-1] == "note":
            # a note is free text: commas in an unquoted note are kept as written
            row = [*row[: len(header) - 1], ",".join(row[len(header) - 1 :])]
        elif len(row) > len(header):
            problems.append(
                Problem(f"{len(row)} cells for {len(header)} columns (quote a note that "
                        "holds a comma)", source, k)
            )
            continue
        good.append(Row({name: (row[i].strip() if i < len(row) else "")
                         for name, i in col.items()}, line=k))
    try:
        out = statements_of(good, source) if good or not problems else []
    except EvplantError as exc:
        problems += exc.problems
    if problems:
        raise EvplantError(problems=sorted(problems, key=lambda p: p.line or 0))
    return out


def _statement(row: Row, source: str, problems: list[Problem]) -> Statement | None:
    cells, line = row.cells, row.line

    def bad(field: str, message: str) -> None:
        problems.append(Problem(message, source, line, field, row.key))

    n_before = len(problems)
    try:
        first, last = period_months(cells["period"])
    except ValueError as exc:
        bad("period", f"{cells['period']!r} {exc}")
        first = last = ""
    metric = cells["metric"]
    if metric not in METRICS:
        bad("metric", f"{metric!r} is not a metric; allowed: {', '.join(METRICS)}")
    relation = cells["relation"]
    if relation not in RELATIONS:
        bad("relation", f"{relation!r} must be one of {', '.join(RELATIONS)}")
    try:
        value = float(cells["value"])
        if not math.isfinite(value):
            raise ValueError
    except ValueError:
        bad("value", f"{cells['value']!r} is not a finite number")
        value = math.nan
    unit = cells["unit"]
    if metric in METRICS and unit != METRICS[metric].unit:
        bad("unit", f"{unit!r}: {metric} is measured in {METRICS[metric].unit}")
    if metric in METRICS and math.isfinite(value):
        if METRICS[metric].unit in ("vehicles", "weeks") and value < 0:
            bad("value", f"{value:g}: {metric} cannot be negative")
        if metric == "gross_margin" and not -1.0 <= value < 1.0:
            bad("value", f"{value:g}: a gross margin is a share of revenue, below 1")
    if len(problems) > n_before:
        return None
    return Statement(
        period=cells["period"],
        first=first,
        last=last,
        metric=metric,
        relation=relation,  # type: ignore[arg-type]
        value=value,
        unit=unit,
        note=cells.get("note", ""),
        line=line,
    )


def read_observations(path: str | Path) -> list[Statement]:
    """Read and check a record: a CSV file, a workbook's sheet or a database's table.

    Parameters
    ----------
    path : str or pathlib.Path
        A CSV with the columns ``period,metric,relation,value,unit,note``; a workbook
        ``FILE.xlsx`` or ``FILE.xlsx#sheet`` whose sheet has them as its first row; or a
        SQLAlchemy URL and table, ``URL#table``, whose table or view has them
        (:mod:`evplant.locations`).

    Returns
    -------
    list of Statement
        One per row, in file order (a database table's: ordered by its columns).

    Raises
    ------
    EvplantError
        For a missing file or table, or any row that cannot be read, naming its line
        (a table's row: its key) and field.
    """
    return list(read_record(path).statements)


def read_record(path: str | Path) -> Record:
    """:func:`read_observations`, with where the statements came from (as shown)."""
    from ..inputs import read_user_file
    from ..locations import locate

    loc = locate(str(path), "--observed")
    if loc.kind == "file" and loc.suffix != ".xlsx":
        text = read_user_file(loc.target, "a CSV file", encoding="utf-8-sig")
        return Record(tuple(parse_observations(text, loc.target)), (loc.shown,))
    from .record_tables import read_table

    return Record(tuple(read_table(loc)), (loc.shown,))


def one_month(text: str, field: str) -> str:
    """``text`` if it is a month ``YYYY-MM`` (not a quarter or a year); else the user's
    error, naming ``field`` (an option such as ``--origin``)."""
    try:
        first, last = period_months(text)
    except ValueError:
        first = last = ""
    if not first or first != last:
        raise EvplantError(f"{text!r} must be a month YYYY-MM", field=field)
    return first


def before(statements: Iterable[Statement], origin: str) -> list[Statement]:
    """The statements whose period ends before the month ``origin`` ('YYYY-MM')."""
    cut = month_index(origin)
    return [s for s in statements if month_index(s.last) < cut]


def after(statements: Iterable[Statement], origin: str) -> list[Statement]:
    """The statements whose period starts at or after ``origin``."""
    cut = month_index(origin)
    return [s for s in statements if month_index(s.first) >= cut]


def span(statements: Sequence[Statement]) -> tuple[str, str]:
    """The first and last month any statement covers."""
    first = min(statements, key=lambda s: month_index(s.first)).first
    last = max(statements, key=lambda s: month_index(s.last)).last
    return first, last


def to_csv(statements: Iterable[Statement]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for s in statements:
        w.writerow([s.period, s.metric, s.relation, repr(s.value), s.unit, s.note])
    return buf.getvalue()
