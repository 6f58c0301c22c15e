"""Forecasts back out: each vintage of a forecast appended to one long table.

``evplant mc --forecast-to`` and ``evplant assimilate --forecast-to`` write the forecast
(:mod:`.forecast`: every period, metric and band) where the people who read it look: a
Parquet or CSV file, or a database table (``URL#table``, :mod:`evplant.locations`).
The table is long, one row per vintage, scenario, period, metric and band::

    vintage, scenario, period, metric, p10, p50, p90, band, made_at

``vintage`` names the forecast (by default the last month its posterior was fitted on:
the ``2025-03`` vintage knows the record through March 2025); ``band`` is ``model`` or
``predictive``; ``made_at`` is when it was written (UTC). A missing quantile (a gross
margin with no revenue) is NULL.

The rules that make the table a history: a new vintage is appended whole in one
transaction (a file: rewritten by an atomic rename under a lock, every earlier row as
it was); an earlier vintage is never changed; and a second writer of the same vintage
and scenario is refused, with a one-line error, before its run starts and again at
the write. A database table made here has the unique key (vintage, scenario, period,
metric, band), so two writers racing cannot both succeed; an existing table without
that key is refused rather than trusted.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from ..errors import EvplantError, clip
from ..locations import Location, connected, database_error, locate, missing_sqlite
from .forecast import ForecastRow

COLUMNS = ("vintage", "scenario", "period", "metric", "p10", "p50", "p90", "band", "made_at")
KEY = ("vintage", "scenario", "period", "metric", "band")
FILES = (".parquet", ".csv")
_VINTAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class VintageRow:
    """One row of the long table."""

    vintage: str
    scenario: str
    period: str
    metric: str
    p10: float | None
    p50: float | None
    p90: float | None
    band: str
    made_at: dt.datetime  # UTC, whole seconds


def vintage_name(name: str, option: str = "--vintage") -> str:
    """A vintage's name, checked: letters, digits, '.', '_' and '-', at most 64."""
    if not _VINTAGE.match(name):
        raise EvplantError(
            f"{clip(name)!r} is not a vintage name (letters, digits, . _ -; at most 64)",
            field=option)
    return name


def targets(texts: Sequence[str], option: str = "--forecast-to") -> list[Location]:
    """Where to write, checked before any work: .parquet, .csv or URL#table."""
    out = [locate(t, option, suffixes=FILES) for t in texts]
    shown = [loc.shown for loc in out]
    if len(set(shown)) < len(shown):
        raise EvplantError("the same target is given twice", field=option)
    return out


def now() -> dt.datetime:
    """The write's time: UTC, whole seconds (every database and file keeps them alike)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def vintage_rows(rows: Sequence[ForecastRow], vintage: str, scenario: str,
                 made_at: dt.datetime) -> list[VintageRow]:
    return [VintageRow(vintage, scenario, r.period, r.metric, _cell(r.p10), _cell(r.p50),
                       _cell(r.p90), r.band, made_at) for r in rows]


def _cell(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def refuse_taken(places: Sequence[Location], vintage: str, scenario: str) -> None:
    """Refuse, before a run, a vintage some target holds already (and a target that
    cannot be read or written: a wrong password fails here, not after the run)."""
    for loc in places:
        if missing_sqlite(loc):
            continue  # made at the write, not before the run
        if loc.kind == "database":
            with connected(loc) as engine:
                try:
                    with engine.connect() as conn:
                        table = _existing(conn, loc)
                        if table is not None:
                            _refuse(conn, table, loc, vintage, scenario)
                except Exception as exc:
                    raise _as_user_error(exc, loc) from None
        else:
            _refuse_in(_read_file(loc), loc, vintage, scenario)


def append_vintage(places: Sequence[Location], rows: Sequence[VintageRow]) -> None:
    """Append one vintage's rows to every target (databases first: they may refuse)."""
    if not rows:
        raise EvplantError("the forecast has no rows to write")
    if len({(r.vintage, r.scenario) for r in rows}) != 1:
        raise ValueError("rows of one vintage of one scenario at a time")
    for loc in sorted(places, key=lambda p: p.kind != "database"):
        if loc.kind == "database":
            _append_database(loc, rows)
        else:
            _append_file(loc, rows)


def read_forecast_table(text: str | Path) -> list[VintageRow]:
    """Every row of a forecast table (file or ``URL#table``), in key order."""
    loc = locate(str(text), "forecast table", suffixes=FILES)
    if loc.kind == "database":
        import sqlalchemy as sa

        with connected(loc) as engine:
            try:
                with engine.connect() as conn:
                    table = _existing(conn, loc)
                    if table is None:
                        raise EvplantError("no such table", file=loc.shown)
                    got = conn.execute(sa.select(*(table.c[c] for c in COLUMNS))).all()
            except Exception as exc:
                raise _as_user_error(exc, loc) from None
        rows = [_row(tuple(r)) for r in got]
    else:
        if not Path(loc.target).exists():
            raise EvplantError("file not found", file=loc.shown)
        rows = _read_file(loc)
    return sorted(rows, key=_order)


def _order(r: VintageRow) -> tuple[str, ...]:
    return (r.vintage, r.scenario, r.period, r.metric, r.band)


def _row(cells: Sequence[Any]) -> VintageRow:
    v, s, period, metric, p10, p50, p90, band, made = cells
    return VintageRow(str(v), str(s), str(period), str(metric), _num(p10), _num(p50),
                      _num(p90), str(band), _utc(made))


def _num(x: Any) -> float | None:
    if x is None or x == "":
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _utc(x: Any) -> dt.datetime:
    when = x if isinstance(x, dt.datetime) else dt.datetime.fromisoformat(str(x))
    # SQLite keeps no zone: what this module wrote there is UTC
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _refused(loc: Location, vintage: str, scenario: str) -> EvplantError:
    return EvplantError(
        f"vintage {vintage} of {scenario} is there already; an earlier vintage is never "
        "rewritten (name a new one with --vintage)", file=loc.shown)


def _refuse_in(rows: Sequence[VintageRow], loc: Location, vintage: str, scenario: str) -> None:
    if any(r.vintage == vintage and r.scenario == scenario for r in rows):
        raise _refused(loc, vintage, scenario)


# -- files -----------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer of a file at a time: an advisory lock on ``.<name>.lock`` beside it."""
    import fcntl

    lock = path.parent / f".{path.name}.lock"
    with open(lock, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _append_file(loc: Location, rows: Sequence[VintageRow]) -> None:
    from .. import atomic

    path = Path(loc.target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        old = _read_file(loc)
        _refuse_in(old, loc, rows[0].vintage, rows[0].scenario)
        every = [*old, *rows]
        if loc.suffix == ".csv":
            atomic.write_text(path, _csv(every))
        else:
            import pyarrow.parquet as pq

            with atomic.atomic_path(path) as tmp:
                pq.write_table(_arrow(every), tmp)


def _read_file(loc: Location) -> list[VintageRow]:
    path = Path(loc.target)
    if not path.exists():
        return []
    if loc.suffix == ".csv":
        reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8")))
        lines = list(reader)
        if not lines or tuple(lines[0]) != COLUMNS:
            raise EvplantError(f"not a forecast table (its header must be "
                               f"{','.join(COLUMNS)})", file=loc.shown, line=1)
        try:
            return [_row(cells) for cells in lines[1:] if cells]
        except ValueError:
            raise EvplantError("not a forecast table (a row that does not read)",
                               file=loc.shown) from None
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own types for a broken file
        raise EvplantError(f"not a readable Parquet file ({clip(str(exc))})",
                           file=loc.shown) from None
    if tuple(table.column_names) != COLUMNS:
        raise EvplantError(f"not a forecast table (its columns must be {','.join(COLUMNS)})",
                           file=loc.shown)
    return [_row(cells) for cells in zip(*(table.column(c).to_pylist() for c in COLUMNS),
                                         strict=True)]


def _csv(rows: Sequence[VintageRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        cells = list(astuple(r))
        cells[4:7] = ["" if x is None else repr(x) for x in cells[4:7]]
        cells[8] = r.made_at.isoformat().replace("+00:00", "Z")
        w.writerow(cells)
    return buf.getvalue()


def _arrow(rows: Sequence[VintageRow]) -> Any:
    import pyarrow as pa

    cols = list(zip(*(astuple(r) for r in rows), strict=True))
    schema = pa.schema([*(pa.field(c, pa.string(), nullable=False) for c in COLUMNS[:4]),
                        *(pa.field(c, pa.float64()) for c in ("p10", "p50", "p90")),
                        pa.field("band", pa.string(), nullable=False),
                        pa.field("made_at", pa.timestamp("ms", tz="UTC"), nullable=False)])
    return pa.table([pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)],
                    schema=schema)


# -- databases -------------------------------------------------------------------------


def _table(loc: Location) -> Any:
    import sqlalchemy as sa

    schema, name = loc.table
    return sa.Table(
        name, sa.MetaData(),
        sa.Column("vintage", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("p10", sa.Double()),
        sa.Column("p50", sa.Double()),
        sa.Column("p90", sa.Double()),
        sa.Column("band", sa.String(16), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(*KEY, name=f"{name}_vintage_key"),
        schema=schema,
    )


def _existing(conn: Any, loc: Location) -> Any:
    """The table as it is in the database (None if there is none), checked to be a
    forecast table with the unique key that keeps a vintage from being written twice."""
    import sqlalchemy as sa

    schema, name = loc.table
    insp = sa.inspect(conn)
    if not insp.has_table(name, schema=schema):
        return None
    table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
    missing = [c for c in COLUMNS if c not in table.c]
    if missing:
        raise EvplantError(f"not a forecast table: it lacks {', '.join(missing)}",
                           file=loc.shown)
    keys = [set(u["column_names"]) for u in insp.get_unique_constraints(name, schema=schema)]
    keys += [set(i["column_names"]) for i in insp.get_indexes(name, schema=schema)
             if i.get("unique")]
    pk = insp.get_pk_constraint(name, schema=schema).get("constrained_columns") or []
    keys.append(set(pk))
    if set(KEY) not in keys:
        raise EvplantError(
            f"the table has no unique key on ({', '.join(KEY)}), which keeps a vintage from "
            "being written twice; add it (ALTER TABLE ... ADD UNIQUE (...))", file=loc.shown)
    return table


def _refuse(conn: Any, table: Any, loc: Location, vintage: str, scenario: str) -> None:
    import sqlalchemy as sa

    taken = conn.execute(sa.select(table.c.vintage).where(
        table.c.vintage == vintage, table.c.scenario == scenario).limit(1)).first()
    if taken is not None:
        raise _refused(loc, vintage, scenario)


def _append_database(loc: Location, rows: Sequence[VintageRow]) -> None:
    import sqlalchemy as sa

    first = rows[0]
    with connected(loc, create=True) as engine:
        try:
            with engine.begin() as conn:  # one transaction: the whole vintage or nothing
                table = _existing(conn, loc)
                if table is None:
                    table = _table(loc)
                    table.create(conn, checkfirst=True)
                _refuse(conn, table, loc, first.vintage, first.scenario)
                conn.execute(sa.insert(table), [
                    dict(zip(COLUMNS, astuple(r), strict=True)) for r in rows])
        except sa.exc.IntegrityError:  # a second writer got there between check and insert
            raise _refused(loc, first.vintage, first.scenario) from None
        except Exception as exc:
            raise _as_user_error(exc, loc) from None


def _as_user_error(exc: Exception, loc: Location) -> Exception:
    import sqlalchemy as sa

    if isinstance(exc, EvplantError):
        return exc
    if isinstance(exc, sa.exc.DBAPIError):
        return database_error(exc, loc, "cannot write the forecast table")
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return EvplantError(f"cannot use the forecast table ({type(exc).__name__})",
                            file=loc.shown)
    return exc
