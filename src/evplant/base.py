"""The one base of every input model: unknown fields are errors, values are frozen, and
numbers are finite and of a size a plant or a venture can have.

``.inf`` and ``.nan`` are refused wherever a number is asked for (pydantic's
``allow_inf_nan=False``), and every number, in a field or in its lists and mappings,
lies within +-:data:`MAX_MAGNITUDE`, so that sums and products over a horizon stay
finite: 1e15 CNY is far beyond any plant's budget, and 1e15 seconds beyond any time.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

MAX_MAGNITUDE = 1e15


def check_magnitude(value: Any) -> Any:
    """``value`` if every number in it lies within +-MAX_MAGNITUDE, else a ValueError."""
    if isinstance(value, bool | BaseModel):
        return value
    if isinstance(value, int | float):
        if abs(value) > MAX_MAGNITUDE:
            raise ValueError(f"must lie within +-{MAX_MAGNITUDE:.0e}, got {value:.6g}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            try:
                check_magnitude(item)
            except ValueError as exc:
                raise ValueError(f"item {i}: {exc}") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            try:
                check_magnitude(item)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
    return value


class Model(BaseModel):
    """Base of every pydantic model a user writes (scenario, line file, sections)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )

    @field_validator("*", mode="after")
    @classmethod
    def _magnitude(cls, value: Any) -> Any:
        return check_magnitude(value)
