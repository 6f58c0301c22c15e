"""The record from where planners keep it: a workbook's sheet or a database's table.

Both hold the CSV's columns (:mod:`.observations`: ``period, metric, relation, value,
unit, note``) and are checked by the same rules, so a bad row gets the same one-line
error, naming the sheet (and its row number) or the table (and the row's key: a
table's rows have no lines).

- A workbook (``.xlsx``, read by openpyxl): the named sheet (``FILE.xlsx#sheet``), or
  its only sheet; the first non-empty row is the header. Cells are read as their
  values (a formula as its last computed value). A month typed into Excel often
  becomes a date: a date on the first of a month is read as that month.
- A database (SQLAlchemy 2): a table or view, read whole and ordered by the record's
  columns, so the same table gives the same statements in the same order. Columns
  may be text or numbers; a date column holding the first of a month reads as that
  month. A table with other columns is refused like a CSV with them: make a view
  that selects the record's columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import EvplantError, clip
from ..locations import Location, connected, database_error
from .observations import COLUMNS, Row, Statement, check_header, statements_of

_KEY = ("period", "metric", "relation")


def read_table(loc: Location) -> list[Statement]:
    """The statements of a workbook's sheet or a database's table (see the module)."""
    if loc.kind == "database":
        header, rows = _database_rows(loc)
    else:
        header, rows = _sheet_rows(loc)
    return statements_of(rows, loc.shown if loc.kind == "database" else _sheet_name(loc))


def _sheet_name(loc: Location) -> str:
    return loc.target if loc.part is None else f"{loc.target}#{loc.part}"


def cell_text(value: Any, column: str) -> str:
    """A cell as the CSV would hold it. A date in the period column stands for its
    month when it is the first of one (how Excel stores '2024-05' typed in)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        first = value.day == 1 and (
            not isinstance(value, dt.datetime) or value.time() == dt.time(0))
        if column == "period" and first:
            return f"{value.year:04d}-{value.month:02d}"
        return value.isoformat()
    if isinstance(value, float):
        if column == "period" and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | Decimal):
        return str(value)
    return str(value).strip()


def _sheet_rows(loc: Location) -> tuple[list[str], list[Row]]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    path = Path(loc.target)
    name = _sheet_name(loc)
    if not path.is_file():
        raise EvplantError("file not found" if not path.exists() else "not a file",
                           file=loc.target)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise EvplantError("not a readable Excel workbook (.xlsx)", file=loc.target) from None
    try:
        sheets = list(book.sheetnames)
        if loc.part is None and len(sheets) != 1:
            raise EvplantError(
                f"the workbook has {len(sheets)} sheets ({clip(', '.join(sheets))}); name "
                "one as FILE.xlsx#sheet", file=loc.target)
        sheet = loc.part if loc.part is not None else sheets[0]
        if sheet not in sheets:
            raise EvplantError(
                f"no sheet {sheet!r}; the workbook has {clip(', '.join(sheets))}",
                file=loc.target)
        cells = [list(r) for r in book[sheet].iter_rows(min_row=1, values_only=True)]
    finally:
        book.close()
    top = next((i for i, r in enumerate(cells) if any(_filled(c) for c in r)), None)
    if top is None:
        raise EvplantError("the sheet is empty; expected a header " + ",".join(COLUMNS),
                           file=name)
    header = [cell_text(c, "") for c in cells[top]]
    while header and not header[-1]:
        header.pop()
    check_header(header, name, top + 1)
    rows = []
    for i, raw in enumerate(cells[top + 1:], start=top + 2):
        if not any(_filled(c) for c in raw):
            continue
        beyond = [c for c in raw[len(header):] if _filled(c)]
        if beyond:
            raise EvplantError(
                f"a cell beyond the header's {len(header)} columns ({clip(str(beyond[0]))}); "
                "the columns are " + ",".join(COLUMNS), file=name, line=i)
        rows.append(Row(_cells(header, raw), line=i))
    return header, rows


def _filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _cells(header: Sequence[str], raw: Sequence[Any]) -> dict[str, str]:
    return {name: cell_text(raw[j] if j < len(raw) else None, name)
            for j, name in enumerate(header)}


def _database_rows(loc: Location) -> tuple[list[str], list[Row]]:
    import sqlalchemy as sa
    from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

    schema, table = loc.table
    with connected(loc) as engine:
        try:
            with engine.connect() as conn:
                found = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=conn)
                header = [c.name for c in found.columns]
                check_header(header, loc.shown, None)
                order = [found.c[c] for c in COLUMNS if c in header]
                fetched = conn.execute(sa.select(*found.c).order_by(*order)).all()
        except NoSuchTableError:
            raise EvplantError("no such table or view (name it as URL#table)",
                               file=loc.shown) from None
        except sa.exc.DBAPIError as exc:
            raise database_error(exc, loc, "cannot read the table") from None
        except SQLAlchemyError as exc:
            raise EvplantError(f"cannot read the table ({type(exc).__name__})",
                               file=loc.shown) from None
    return header, list(_keyed(header, fetched))


def _keyed(header: Sequence[str], fetched: Iterable[Sequence[Any]]) -> Iterable[Row]:
    for raw in fetched:
        cells = _cells(header, raw)
        key = " ".join(cells.get(c) or "''" for c in _KEY)
        yield Row(cells, key=clip(key, 60))
