"""Months: the one ``Month`` type of scenario files and the one way to count months.

A month is written ``'YYYY-MM'`` in files and tables and is a plain integer inside the
model: months since :data:`EPOCH` (January 2024 is 0, September 2025 is 20), so month
arithmetic is subtraction. Months before the epoch are negative.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from .errors import clip

EPOCH = "2024-01"
EPOCH_YEAR, EPOCH_MONTH = 2024, 1
#: the years a scenario's months and days may lie in: wide enough for any plan, narrow
#: enough that a horizon plus the year after it stays within Python's dates
FIRST_YEAR, LAST_YEAR = 1900, 2199
_YEAR = r"(19\d\d|2[01]\d\d)"
_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])$"
_DAY_PATTERN = rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"


def as_text(value: object) -> object:
    """YAML reads an unquoted 2024-06-01 as a date; accept it as the text it was."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _month(value: str) -> str:
    if not re.fullmatch(_PATTERN, value):
        raise ValueError(
            f"must be a month written YYYY-MM in {FIRST_YEAR}-01..{LAST_YEAR}-12, "
            f"got {clip(repr(value))}"
        )
    return value


def check_day(value: str) -> str:
    """``value`` if it is a day written ``YYYY-MM-DD`` within the years allowed (a week
    date ``2024-W08-2`` or ``20240220``, which Python would also read, is refused)."""
    ok = re.fullmatch(_DAY_PATTERN, value) is not None
    if ok:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            ok = False
    if not ok:
        raise ValueError(
            f"must be a date written YYYY-MM-DD in {FIRST_YEAR}..{LAST_YEAR}, "
            f"got {clip(repr(value))}"
        )
    return value


Month = Annotated[
    str,
    BeforeValidator(as_text),
    AfterValidator(_month),
    Field(description="'YYYY-MM'", json_schema_extra={"pattern": _PATTERN}),
]


def month_number(label: str) -> int:
    """``'2025-09'`` -> 20: months since the epoch (``'YYYY-MM-DD'`` reads its month)."""
    year, mon = str(label)[:7].split("-")
    return (int(year) - EPOCH_YEAR) * 12 + int(mon) - EPOCH_MONTH


def month_label(number: float, missing: str = "never") -> str:
    """The inverse of :func:`month_number`; a fraction rounds to the nearest month, NaN
    or an infinity (a run that never got there) gives ``missing``."""
    if number is None or not math.isfinite(number):
        return missing
    n = int(math.floor(number + 0.5)) + EPOCH_MONTH - 1
    return f"{EPOCH_YEAR + n // 12:04d}-{n % 12 + 1:02d}"


def months(start: str, end: str) -> list[str]:
    """The months ``start..end`` inclusive, as ``'YYYY-MM'``."""
    first, last = month_number(start), month_number(end)
    return [month_label(n) for n in range(first, last + 1)]


def first_day(label: str) -> dt.date:
    """The first day of a month."""
    year, mon = str(label)[:7].split("-")
    return dt.date(int(year), int(mon), 1)


#: months in the rolling mean a rate must hold (a single good month is not a rate)
HOLD_MONTHS = 3


def held_from(
    values: Sequence[float | None], level: float, window: int = HOLD_MONTHS
) -> int | None:
    """The index of the first month from which a rolling ``window``-month mean holds
    ``level``: every mean over ``window`` months running, from that month to the end,
    reaches it (a missing month counts as 0). A series shorter than the window holds it
    from its first month if its mean does. None if it never holds to the end."""
    x = [0.0 if v is None or v != v else float(v) for v in values]
    if not x:
        return None
    tol = 1e-9 * max(abs(level), 1.0)
    if len(x) < window:
        return 0 if sum(x) / len(x) >= level - tol else None
    means = [sum(x[k : k + window]) / window for k in range(len(x) - window + 1)]
    start = None
    for k in range(len(means) - 1, -1, -1):
        if means[k] < level - tol:
            break
        start = k
    return start
