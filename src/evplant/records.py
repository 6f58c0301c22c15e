"""The output contract of a run: frozen records per entity and month, in one place.

Each layer returns records, never wide dicts: the plant a :class:`PlantTotals`, one
:class:`VariantBuilt` per variant, :class:`PhaseMonth` per phase, :class:`ShopMonth` per
shop and :class:`StationMonth` per station; the venture a :class:`VentureTotals`,
:class:`VariantSales` per variant, :class:`ComponentMonth` per tracked component,
:class:`ExportMonth` per export market, :class:`RivalMonth` per rival brand and
:class:`MoneyLine` per line of the accounts.

Every record has ``month`` and its entity's key fields (``KEYS``) and then its measures.
Two views are built from them, here and nowhere else:

- long tables, one per entity (:func:`tables`): a column per field, a row per entity
  and month; what ``results`` writes to ``tables/<entity>.parquet`` and ``.csv``;
- the wide table (:func:`wide`), one row per month, a column per (entity, key,
  measure) named by the entity's ``WIDE`` pattern (``util_{shop}`` -> ``util_paint``):
  the familiar ``monthly.csv``. Stations have no wide columns (there are hundreds).

:func:`entities` gives the keys of each entity in a wide table, so readers such as the
report never parse column names themselves.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

Value = float | str


@dataclass(frozen=True, slots=True)
class Record:
    """One entity in one month."""

    ENTITY: ClassVar[str] = ""
    KEYS: ClassVar[tuple[str, ...]] = ()
    #: the wide column of a measure: a pattern over ``field`` and the key fields; None:
    #: the entity has no wide columns
    WIDE: ClassVar[str | None] = "{field}"
    #: patterns for measures named otherwise than ``WIDE`` says
    WIDE_FIELDS: ClassVar[Mapping[str, str]] = {}
    #: measures whose wide columns mark a key of this entity in a wide table
    ANCHORS: ClassVar[tuple[str, ...]] = ()

    month: str

    @classmethod
    def measures(cls) -> list[str]:
        return list(_measures(cls))

    @classmethod
    def column(cls, measure: str, **keys: str) -> str:
        """The wide column of ``measure`` for the entity at ``keys``."""
        pattern = cls.WIDE_FIELDS.get(measure, cls.WIDE)
        if pattern is None:
            raise ValueError(f"{cls.ENTITY} records have no wide columns")
        return pattern.format(field=measure, **keys)

    @property
    def key(self) -> str:
        """The entity's key as one text (``phase1/paint/booth`` for a station)."""
        return "/".join(str(getattr(self, k)) for k in self.KEYS)

    def keys(self) -> dict[str, str]:
        return {k: str(getattr(self, k)) for k in self.KEYS}

    def values(self) -> dict[str, Value]:
        return {m: getattr(self, m) for m in _measures(type(self))}

    def wide(self) -> dict[str, Value]:
        """This record's wide columns (none for an entity without them)."""
        if self.WIDE is None:
            return {}
        names = _wide_names(type(self), tuple(str(getattr(self, k)) for k in self.KEYS))
        measures = _measures(type(self))
        return {name: getattr(self, m) for name, m in zip(names, measures, strict=True)}


# A run has some 14,000 records of a dozen kinds, each viewed wide and long: the field
# names and column names are worked out once per kind (and key), not per record.
_MEASURES: dict[type[Record], tuple[str, ...]] = {}
_WIDE_NAMES: dict[tuple[type[Record], tuple[str, ...]], tuple[str, ...]] = {}


def _measures(cls: type[Record]) -> tuple[str, ...]:
    """The measures of a kind of record, in field order: every field but ``month`` and
    the key fields."""
    found = _MEASURES.get(cls)
    if found is None:
        skip = {"month", *cls.KEYS}
        found = _MEASURES[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in skip
        )
    return found


def _wide_names(cls: type[Record], key: tuple[str, ...]) -> tuple[str, ...]:
    """The wide column of each measure of ``cls`` for the entity at ``key``."""
    found = _WIDE_NAMES.get((cls, key))
    if found is None:
        keys = dict(zip(cls.KEYS, key, strict=True))
        found = _WIDE_NAMES[(cls, key)] = tuple(cls.column(m, **keys) for m in _measures(cls))
    return found


# -- the plant --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlantTotals(Record):
    """The whole plant in a month."""

    ENTITY: ClassVar[str] = "plant"
    produced: float  # vehicles completed by general assembly
    capacity: float  # vehicles the stations, calendar and ramp allowed
    released: float  # vehicles released to the line (kits used)
    started: float  # vehicles that entered the first station
    bottleneck_shop: str  # shop of the station with the longest active periods
    bottleneck_station: str
    # a contract client's cars on the line (not in produced, released or started)
    contract_released: float = 0.0
    contract_produced: float = 0.0


@dataclass(frozen=True, slots=True)
class VariantBuilt(Record):
    ENTITY: ClassVar[str] = "variant"
    KEYS: ClassVar[tuple[str, ...]] = ("variant",)
    WIDE: ClassVar[str | None] = "{field}_{variant}"
    ANCHORS: ClassVar[tuple[str, ...]] = ("produced",)
    variant: str
    produced: float  # completed vehicles of this variant (whole cars)
    released: float  # vehicles of this variant started this month, over all phases
    in_work: float  # released and not yet completed, at the month's end


@dataclass(frozen=True, slots=True)
class PhaseMonth(Record):
    ENTITY: ClassVar[str] = "phase"
    KEYS: ClassVar[tuple[str, ...]] = ("phase",)
    WIDE: ClassVar[str | None] = "{field}_{phase}"
    ANCHORS: ClassVar[tuple[str, ...]] = ("produced", "capacity")
    phase: str
    produced: float
    capacity: float
    working_hours: float
    shifts: float
    shift_hours: float
    cycle_factor: float  # the ramp's factor on every cycle time
    in_work: float  # released and not yet completed nor scrapped, at the month's end
    started: float
    scrapped: float = 0.0  # vehicles scrapped in the month (``Station.on_defect``)


@dataclass(frozen=True, slots=True)
class ShopMonth(Record):
    """A shop over all phases: shares of its servers' working time, and OEE parts."""

    ENTITY: ClassVar[str] = "shop"
    KEYS: ClassVar[tuple[str, ...]] = ("shop",)
    WIDE: ClassVar[str | None] = "{field}_{shop}"
    ANCHORS: ClassVar[tuple[str, ...]] = ("util",)
    shop: str
    util: float
    blocked: float
    failed: float
    starved: float
    availability: float
    performance: float
    quality: float
    oee: float


@dataclass(frozen=True, slots=True)
class StationMonth(Record):
    """A station of a phase: jobs, and shares of its servers' working time."""

    ENTITY: ClassVar[str] = "station"
    KEYS: ClassVar[tuple[str, ...]] = ("phase", "shop", "station")
    WIDE: ClassVar[str | None] = None
    phase: str
    shop: str
    station: str
    servers: float
    jobs_in: float
    jobs_out: float
    busy: float
    blocked: float
    failed: float
    starved: float
    active_period_mean_s: float  # Roser's active periods ending this month


# -- the venture ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VentureTotals(Record):
    """Supply, market and channel in a month, over all variants."""

    ENTITY: ClassVar[str] = "venture"
    plan: float
    kits_received: float
    kits_used: float
    kit_stock: float
    kits_short: float
    produced: float  # cars booked into finished stock (the plant's ``produced``)
    delivered: float
    stock: float
    demand: float
    turned_away: float
    orders: float
    orders_domestic: float
    export_orders: float
    cancelled: float
    backlog: float
    wait_weeks: float
    stores: float
    sales_capacity: float
    share_own: float
    contract_units: float
    spare_capacity: float
    capacity_per_month: float


@dataclass(frozen=True, slots=True)
class RivalMonth(Record):
    ENTITY: ClassVar[str] = "rival"
    KEYS: ClassVar[tuple[str, ...]] = ("rival",)
    WIDE: ClassVar[str | None] = "share_{rival}"
    ANCHORS: ClassVar[tuple[str, ...]] = ("share",)
    rival: str  # as in a column name: ``rival_co``
    share: float


@dataclass(frozen=True, slots=True)
class ComponentMonth(Record):
    ENTITY: ClassVar[str] = "component"
    KEYS: ClassVar[tuple[str, ...]] = ("component",)
    WIDE: ClassVar[str | None] = "{component}_{field}"
    ANCHORS: ClassVar[tuple[str, ...]] = ("price_factor",)
    component: str
    price_factor: float
    shortage: float
    received: float
    on_hand: float


@dataclass(frozen=True, slots=True)
class ExportMonth(Record):
    ENTITY: ClassVar[str] = "export"
    KEYS: ClassVar[tuple[str, ...]] = ("market",)
    WIDE: ClassVar[str | None] = "export_{field}_{market}"
    ANCHORS: ClassVar[tuple[str, ...]] = ("orders", "closed")
    market: str  # as in a column name
    orders: float
    closed: float


@dataclass(frozen=True, slots=True)
class VariantSales(Record):
    ENTITY: ClassVar[str] = "sales"
    KEYS: ClassVar[tuple[str, ...]] = ("variant",)
    WIDE: ClassVar[str | None] = "{field}_{variant}"
    WIDE_FIELDS: ClassVar[Mapping[str, str]] = {
        "price_cny": "price_{variant}_cny",
        "revenue_cny": "revenue_{variant}_cny",
        "cost_build_cny": "cost_build_{variant}_cny",
        "cogs_cny": "cogs_{variant}_cny",
    }
    ANCHORS: ClassVar[tuple[str, ...]] = ("orders", "delivered")
    variant: str
    produced: float
    orders: float
    delivered: float
    backlog: float
    wait_weeks: float
    kits_short: float
    price_cny: float
    revenue_cny: float  # its cars delivered, at their net prices
    cost_build_cny: float  # its cars built, at their learning cost (no tracked parts)
    cogs_cny: float  # its cars delivered, at the finished stock's average cost


@dataclass(frozen=True, slots=True)
class MoneyLine(Record):
    """One line of the month's accounts (``revenue``, ``cogs``, ``cash``...), in CNY
    unless its name says otherwise (``cum_investment_usd``, ``gross_margin``)."""

    ENTITY: ClassVar[str] = "money"
    KEYS: ClassVar[tuple[str, ...]] = ("line",)
    WIDE: ClassVar[str | None] = "{line}"
    line: str
    value: float


#: every entity, in the order of the wide table
ENTITIES: tuple[type[Record], ...] = (
    PlantTotals,
    VariantBuilt,
    PhaseMonth,
    ShopMonth,
    StationMonth,
    VentureTotals,
    RivalMonth,
    ComponentMonth,
    ExportMonth,
    VariantSales,
    MoneyLine,
)
BY_ENTITY: dict[str, type[Record]] = {cls.ENTITY: cls for cls in ENTITIES}


def money_lines(month: str, lines: Mapping[str, float]) -> list[MoneyLine]:
    return [MoneyLine(month, name, float(v)) for name, v in lines.items()]


# -- views -----------------------------------------------------------------------------


class DictView(Mapping[str, Any]):
    """A typed output that reads as the plain mapping :meth:`to_dict` gives."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


class WideRows(list[dict[str, Value]]):
    """The wide table, a row per month, that knows the keys of each entity."""

    entities: dict[str, list[str]]

    def __init__(self, rows: Iterable[dict[str, Value]], entities: dict[str, list[str]]):
        super().__init__(rows)
        self.entities = entities


def _same(a: Value, b: Value) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


_MISSING = object()


def wide(records: Iterable[Record]) -> WideRows:
    """One row per month: ``month`` then every wide column, in record order.

    Two records may name the same column only with the same value (the venture's
    ``produced`` is the plant's); anything else is a bug and raises.
    """
    rows: dict[str, dict[str, Value]] = {}
    keys: dict[str, dict[str, None]] = {}
    for rec in records:
        cls = type(rec)
        row = rows.get(rec.month)
        if row is None:
            row = rows[rec.month] = {"month": rec.month}
        key: tuple[str, ...] = ()
        if cls.KEYS:
            key = tuple(str(getattr(rec, k)) for k in cls.KEYS)
            keys.setdefault(cls.ENTITY, {}).setdefault("/".join(key), None)
        if cls.WIDE is None:
            continue
        for name, measure in zip(_wide_names(cls, key), _measures(cls), strict=True):
            value = getattr(rec, measure)
            there = row.get(name, _MISSING)
            if there is _MISSING:
                row[name] = value
            elif not _same(there, value):  # type: ignore[arg-type]
                raise ValueError(
                    f"{rec.month}: column {name!r} is {there!r} and, from a "
                    f"{rec.ENTITY} record, {value!r}"
                )
    return WideRows(rows.values(), {e: list(k) for e, k in keys.items()})


def tables(records: Iterable[Record]) -> dict[str, list[dict[str, Value]]]:
    """Long tables: entity -> rows of ``month``, key fields and measures."""
    out: dict[str, list[dict[str, Value]]] = {}
    for rec in records:
        row: dict[str, Value] = {"month": rec.month, **rec.keys(), **rec.values()}
        out.setdefault(rec.ENTITY, []).append(row)
    return out


def columns(records: Iterable[Record]) -> dict[str, dict[str, list[Any]]]:
    """The long tables of :func:`tables` column by column: entity -> field -> values
    (``month``, the key fields as text, the measures), entities in first-seen order;
    a field some rows lack (two kinds of record under one entity name) holds None."""
    by_entity: dict[str, list[Record]] = {}
    for rec in records:
        by_entity.setdefault(rec.ENTITY, []).append(rec)
    out: dict[str, dict[str, list[Any]]] = {}
    for entity, recs in by_entity.items():
        cls = type(recs[0])
        if any(type(r) is not cls for r in recs):
            rows = [{"month": r.month, **r.keys(), **r.values()} for r in recs]
            names = dict.fromkeys(n for row in rows for n in row)
            out[entity] = {n: [row.get(n) for row in rows] for n in names}
            continue
        cols: dict[str, list[Any]] = {"month": [r.month for r in recs]}
        for k in cls.KEYS:
            cols[k] = [str(getattr(r, k)) for r in recs]
        for m in _measures(cls):
            cols[m] = [getattr(r, m) for r in recs]
        out[entity] = cols
    return out


def from_tables(tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Record]:
    """Records back from long tables (as read from Parquet), month by month in the
    order of :data:`ENTITIES`."""
    by_month: dict[str, list[Record]] = {}
    for cls in ENTITIES:
        for row in tables.get(cls.ENTITY, ()):
            names = [f.name for f in dataclasses.fields(cls)]
            rec = cls(**{n: row[n] for n in names})
            by_month.setdefault(rec.month, []).append(rec)
    return [rec for month in sorted(by_month) for rec in by_month[month]]


def entities(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The keys of each entity in a wide table (phases, shops, components...).

    Rows built by :func:`wide` carry them; for other wide tables (an older run folder,
    a table made by hand) they are read off the column names by each entity's
    ``WIDE`` pattern: a key counts when the columns of all its ``ANCHORS`` are there,
    a key two entities claim goes to the one with more anchors (``produced_phase1``
    and ``capacity_phase1`` make a phase, not a variant), and a measure of the plant or
    venture totals (``share_own``) is nobody's key.
    """
    known = getattr(rows, "entities", None)
    if isinstance(known, dict):
        return {e: list(k) for e, k in known.items()}
    seen: dict[str, None] = {}
    for row in rows:
        for col in row:
            seen.setdefault(col, None)
    columns = set(seen)
    # a keyless entity's measure (``share_own``) is no key of another entity
    totals = {cls.column(m) for cls in ENTITIES if not cls.KEYS for m in cls.measures()}
    found: dict[str, list[str]] = {}
    claimed: dict[str, int] = {}
    for cls in sorted(ENTITIES, key=lambda c: -len(c.ANCHORS)):
        if not cls.ANCHORS or len(cls.KEYS) != 1:
            continue
        key = cls.KEYS[0]
        prefix, _, suffix = cls.column(cls.ANCHORS[0], **{key: "\0"}).partition("\0")
        out = []
        for col in seen:
            if col in totals or not (col.startswith(prefix) and col.endswith(suffix)):
                continue
            name = col[len(prefix) : len(col) - len(suffix)]
            if not name or claimed.get(name, 0) > len(cls.ANCHORS):
                continue
            if all(cls.column(a, **{key: name}) in columns for a in cls.ANCHORS):
                out.append(name)
                claimed.setdefault(name, len(cls.ANCHORS))
        found[cls.ENTITY] = out
    return {e: k for e, k in found.items() if k}
