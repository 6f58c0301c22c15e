"""Reading the monthly rows defensively.

Rows come straight from a run or back from Parquet/JSON, so a column may be missing in
some months (shop figures before the first car), None, NaN, or a numpy scalar. Every
figure reads through these helpers, so one odd value never breaks a whole page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from .. import records
from ..months import month_number

Rows = Sequence[dict[str, Any]]

# Columns that only a run with a venture writes; any one of them marks a venture run.
VENTURE_MARKERS = ("delivered", "backlog", "orders", "revenue", "cash", "cum_investment_usd")


def num(value: Any) -> float | None:
    """A finite float, or None for anything missing, non-numeric or not finite."""
    if type(value) is float:  # nearly every cell: the rest of the checks can wait
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | bytes | bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def months(rows: Rows) -> list[str]:
    return [str(row.get("month", "")) for row in rows]


def columns(rows: Rows) -> list[str]:
    """Every key that appears in any row, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def has(rows: Rows, key: str) -> bool:
    """True when at least one month holds a number for ``key``."""
    return any(num(row.get(key)) is not None for row in rows)


def series(rows: Rows, key: str, scale: float = 1.0) -> list[float | None]:
    """One value per month; None where the month has no number (a gap in a line)."""
    out: list[float | None] = []
    for row in rows:
        v = num(row.get(key))
        out.append(None if v is None else v * scale)
    return out


def filled(rows: Rows, key: str, scale: float = 1.0) -> list[float]:
    """One value per month with gaps read as 0: for flows such as cars or money."""
    return [v or 0.0 for v in series(rows, key, scale)]


def total(rows: Rows, key: str) -> float:
    return sum(filled(rows, key))


def mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def peak(rows: Rows, key: str) -> float | None:
    present = [v for v in series(rows, key) if v is not None]
    return max(present) if present else None


def cumulative(values: Sequence[float | None]) -> list[float]:
    out, run = [], 0.0
    for v in values:
        run += v or 0.0
        out.append(run)
    return out


def from_start(values: Sequence[float | None]) -> list[float | None]:
    """Values from the first positive one on: a phase's zeros before it opens are
    'not yet', not 'no capacity', and would draw a misleading line along the axis."""
    out: list[float | None] = []
    started = False
    for v in values:
        started = started or (v is not None and v > 0)
        out.append(v if started else None)
    return out


def strings(rows: Rows, key: str) -> list[str]:
    out = []
    for row in rows:
        v = row.get(key)
        out.append("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return out


def keys(rows: Rows, entity: str, measure: str | None = None) -> list[str]:
    """The keys of an entity of :mod:`evplant.records` (``"phase"``, ``"component"``...)
    in the run, those with a number for ``measure`` in some month when it is given."""
    cls = records.BY_ENTITY[entity]
    found = records.entities(rows).get(entity, [])
    if measure is None:
        return found
    key = cls.KEYS[0]
    return [k for k in found if has(rows, cls.column(measure, **{key: k}))]


def phases(rows: Rows) -> list[str]:
    """Plant phases that open within the run: those with some capacity."""
    column = records.PhaseMonth.column
    return [p for p in keys(rows, "phase") if (peak(rows, column("capacity", phase=p)) or 0) > 0]


def shops(rows: Rows, order: Sequence[str] = ()) -> list[str]:
    """Shops with a utilisation figure, in the scenario's shop ``order`` (the run
    summary's ``shops``); shops it does not name come after, as they appear."""
    found = keys(rows, "shop", "util")
    known = [s for s in order if s in found]
    return known + [s for s in found if s not in known]


def brands(rows: Rows) -> list[str]:
    """Brands with a market share: ``own`` (when the run has the venture's share),
    then the rivals."""
    own = ["own"] if has(rows, "share_own") else []
    return own + [b for b in keys(rows, "rival", "share") if b not in own]


def is_venture(rows: Rows) -> bool:
    return any(has(rows, key) for key in VENTURE_MARKERS)


def phase_label(name: str) -> str:
    """'phase1' -> 'Phase 1'; other names title-cased."""
    m = re.fullmatch(r"phase[_ -]?(\d+)", name, flags=re.IGNORECASE)
    if m:
        return f"Phase {m.group(1)}"
    return name.replace("_", " ").replace("-", " ").capitalize()


def shop_label(name: str) -> str:
    return name.replace("-", " ").replace("_", " ").capitalize()


def month_index(month: str) -> int | None:
    """'2025-07' -> its month number (:mod:`evplant.months`), for differences between
    months; None for anything that is not a month."""
    return month_number(month) if re.fullmatch(r"\d{4}-\d{2}", str(month)) else None
