"""What every part of the venture shares: months, schedules, random streams, integer splits.

Months are ``'YYYY-MM'`` strings in the scenario and plain integers inside the model
(:mod:`evplant.months`), so month arithmetic is subtraction.  Schedules (stores by
month, supplier capacity by month) are a few points joined by straight lines and held
flat before the first and after the last point: a scenario states what it knows and
the model does not invent a trend beyond it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import numpy as np
from pydantic import Field, NonNegativeFloat, StringConstraints, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from ..base import Model
from ..months import Month, month_label, month_number
from ..seeds import child_rng

__all__ = [
    "WEEKS_PER_MONTH",
    "Month",
    "Name",
    "Schedule",
    "VentureModel",
    "child_rng",
    "invalid",
    "level_order",
    "level_positions",
    "month_label",
    "month_number",
    "schedule_at",
    "split_int",
    "stochastic_round",
]

#: Average weeks in a month (365.25 days / 7 / 12): waits are quoted in weeks, the model
#: steps in months.
WEEKS_PER_MONTH = 365.25 / 7.0 / 12.0

#: A name that becomes part of a column name (``share_<rival>``, ``chip_price_factor``).
Name = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=40),
    Field(description="letters, digits and _; starts with a letter"),
]
#: A value by month, e.g. ``{"2024-03": 59, "2025-09": 402}``, straight lines between.
Schedule = Annotated[dict[Month, NonNegativeFloat], Field(min_length=1)]


#: Base of every venture config model: the project's one input base model.
VentureModel = Model


def invalid(model: str, problems: list[tuple[tuple[str | int, ...], str, object]]) -> None:
    """Raise a ValidationError whose errors point at the offending fields.

    A ``model_validator`` that raises ValueError reports the whole model; cross-checks
    (a variant named in one section but not in another) raise this instead, so the
    loader can name the exact field and its line.  ``problems``: (location, message,
    offending value), the location relative to the model being validated.
    """
    if not problems:
        return
    raise ValidationError.from_exception_data(
        model,
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", "{message}", {"message": message}),
                loc=loc,
                input=value,
            )
            for loc, message, value in problems
        ],
    )


def schedule_at(schedule: Mapping[str, float] | float, months: np.ndarray | int) -> np.ndarray:
    """Values of a schedule (or a constant) at month numbers, linear between points."""
    at = np.asarray(months, dtype=np.float64)
    if not isinstance(schedule, Mapping):
        return np.full(at.shape, float(schedule))
    points = sorted((month_number(m), float(v)) for m, v in schedule.items())
    xs = np.array([p[0] for p in points], dtype=np.float64)
    ys = np.array([p[1] for p in points], dtype=np.float64)
    return np.interp(at, xs, ys)


def split_int(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` units in proportion to ``weights`` (largest remainder, ints).

    Never gives an entry more than ``ceil`` of its share, and never more than its weight
    when ``total <= weights.sum()`` and the weights are integers (used to ration orders).
    """
    w = np.asarray(weights, dtype=np.float64)
    out = np.zeros(w.shape, dtype=np.int64)
    s = w.sum()
    if total <= 0 or s <= 0:
        return out
    exact = total * w / s
    out = np.floor(exact).astype(np.int64)
    left = int(total - out.sum())
    if left > 0:
        # the largest remainders get one more; ties go to the earlier entry (stable sort)
        order = np.argsort(-(exact - out), kind="stable")
        out[order[:left]] += 1
    return np.asarray(out)


def level_order(counts: np.ndarray) -> np.ndarray:
    """Indices ``0..n-1`` repeated ``counts[i]`` times and evenly mixed (a level schedule).

    ``level_order([3, 1]) -> [0, 0, 1, 0]``: each index is spread across the sequence
    in proportion to its count, as a heijunka board would mix variants or kits.
    """
    counts = np.asarray(counts, dtype=np.int64)
    out = np.zeros(int(counts.sum()), dtype=np.int64)
    for i, at in enumerate(level_positions(counts)):
        out[at] = i
    return out


#: counts up to this are placed by integer arithmetic (see level_positions)
_EXACT_COUNTS = 2**24


def level_positions(counts: np.ndarray) -> list[np.ndarray]:
    """Where each index's units stand in :func:`level_order`: one increasing array of
    positions per index, ``counts[i]`` long.

    The ``j``-th unit of index ``v`` has the key ``(j + 1/2) / counts[v]``; the order is
    by key, ties to the lower index.  So it stands after its own ``j`` units and, of
    index ``w``, the ``i`` with ``(2i + 1) counts[v] <= (2j + 1) counts[w]`` (``<`` for
    ``w > v``): a floor division per unit, no sort.  Keys as floats order the same way
    while two different keys are more than an ulp apart, which holds for counts below
    ``2**24``; beyond that the keys are sorted as floats.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size and counts.max() >= _EXACT_COUNTS:
        return _sorted_positions(counts)
    out = []
    for v, c_v in enumerate(counts.tolist()):
        odd = 2 * np.arange(c_v, dtype=np.int64) + 1  # 2j + 1
        at = np.arange(c_v, dtype=np.int64)
        for w, c_w in enumerate(counts.tolist()):
            if w == v or c_w == 0:
                continue
            # how many i of w have 2i + 1 <= bound: (bound + 1) // 2
            bound = (odd * c_w) // c_v if w < v else (odd * c_w - 1) // c_v
            at += (bound + 1) // 2
        out.append(at)
    return out


def _sorted_positions(counts: np.ndarray) -> list[np.ndarray]:
    """:func:`level_positions` by sorting the keys (a stable sort: ties to the lower
    index), for counts too large for the integer rule."""
    if counts.sum() == 0:
        return [np.zeros(0, dtype=np.int64) for _ in counts]
    keys = np.concatenate([(np.arange(c) + 0.5) / c for c in counts if c > 0])
    rank = np.empty(keys.size, dtype=np.int64)
    rank[np.argsort(keys, kind="stable")] = np.arange(keys.size)
    ends = np.cumsum(counts)
    return [rank[e - c : e] for c, e in zip(counts.tolist(), ends.tolist(), strict=True)]


def stochastic_round(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Round each ``x >= 0`` down or up at random so that the mean is ``x`` (ints).

    Takes its uniforms from the caller so that every month draws the same number of
    random values whatever the means: scenarios stay coupled draw for draw.
    """
    return np.asarray(np.floor(np.maximum(x, 0.0) + u).astype(np.int64))
