"""The one base of every input model: unknown fields are errors, values are frozen, and
numbers are finite and of a size a plant or a venture can have.

``.inf`` and ``.nan`` are refused wherever a number is asked for (pydantic's
``allow_inf_nan=False``), and every number, in a field or in its lists and mappings,
lies within +-:data:`MAX_MAGNITUDE`, so that sums and products over a horizon stay
finite: 1e15 CNY is far beyond any plant's budget, and 1e15 seconds beyond any time.

A boolean is refused where a number is meant (pydantic would read ``true`` as 1):
``hours: true`` is a slip, not one hour.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

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


_NUMBERS = (int, float)


def _numeric(annotation: Any) -> str:
    """How a field holds numbers: 'value' (a number), 'items' (a list or tuple of them),
    'values' (a mapping to them) or '' (anything else, where a boolean may be meant)."""
    def number(t: Any) -> bool:
        if typing.get_origin(t) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(t) if a is not type(None)]
            return bool(args) and all(number(a) for a in args)
        return t in _NUMBERS

    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = {_numeric(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else ""
    if number(annotation):
        return "value"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset) and args and all(
            number(a) for a in args if a is not Ellipsis):
        return "items"
    if origin is dict and len(args) == 2 and number(args[1]):
        return "values"
    return ""


_KINDS: dict[tuple[type, str], str] = {}


def refuse_boolean(kind: str, value: Any) -> None:
    """A ValueError where a number is meant and a boolean was given."""
    def check(v: Any) -> None:
        if isinstance(v, bool):
            raise ValueError(f"expected a number, got a boolean ({str(v).lower()})")

    if kind == "value":
        check(value)
    elif kind == "items" and isinstance(value, list | tuple):
        for i, item in enumerate(value):
            try:
                check(item)
            except ValueError as exc:
                raise ValueError(f"item {i}: {exc}") from None
    elif kind == "values" and isinstance(value, dict):
        for key, item in value.items():
            try:
                check(item)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None


class Model(BaseModel):
    """Base of every pydantic model a user writes (scenario, line file, sections)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool | list | tuple | dict) and info.field_name is not None:
            key = (cls, info.field_name)
            kind = _KINDS.get(key)
            if kind is None:
                kind = _KINDS[key] = _numeric(cls.model_fields[info.field_name].annotation)
            refuse_boolean(kind, value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _magnitude(cls, value: Any) -> Any:
        return check_magnitude(value)
