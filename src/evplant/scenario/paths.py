"""Dotted paths into a scenario's data: the one walker behind ``--set``, uncertain
parameters and calibration.

A path is keys joined by dots (``plant.phases.phase2.sop``); a list item is addressed
by its index or by its ``name``. A *location* is the resolved path, list items as
indices (``("plant", "phases", 1, "sop")``): the form pydantic reports errors in and
the form :func:`apply` sets values at.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import EvplantError
from ..inputs import did_you_mean, field_path, independent

Loc = tuple[str | int, ...]


def split_path(path: str) -> list[str]:
    """``'plant.partner.enabled'`` -> ``['plant', 'partner', 'enabled']``."""
    return [k for k in path.strip().split(".") if k]


def _list_index(node: list[Any], key: str) -> int | None:
    if key.lstrip("-").isdigit():
        i = int(key)
        return i % len(node) if -len(node) <= i < len(node) else None
    for i, item in enumerate(node):
        if isinstance(item, dict) and str(item.get("name")) == key:
            return i
    return None


def walk(data: Any, keys: Sequence[str], *, create: bool = False) -> tuple[Loc, Any]:
    """The location of ``keys`` in ``data`` and the value there.

    ``create``: a missing or empty section on the way (and the last key) is made, as
    ``--set`` does; otherwise a missing key is an error. Errors are EvplantError with
    a message naming what is there instead.
    """
    if not keys:
        raise EvplantError("empty path")
    node = data
    loc: list[str | int] = []
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            idx = _list_index(node, key)
            if idx is None:
                names = [str(x.get("name")) for x in node if isinstance(x, dict)]
                raise EvplantError(
                    f"no item {key!r} in {field_path(loc)} (use an index 0..{len(node) - 1} "
                    f"or a name: {', '.join(names)})"
                )
            loc.append(idx)
            node = node[idx]
        elif isinstance(node, dict):
            if key not in node or (create and not last and node[key] is None):
                if not create:
                    known = ", ".join(str(k) for k in node)
                    hint = did_you_mean(key, (str(k) for k in node))
                    raise EvplantError(
                        f"no key {key!r} in {field_path(loc)} (it has: {known}){hint}"
                    )
                node[key] = None if last else {}
            loc.append(key)
            node = node[key]
        else:
            raise EvplantError(f"{field_path(loc)} is a value, not a section")
    return tuple(loc), node


def set_path(data: Any, keys: Sequence[str] | str, value: Any, label: str | None = None) -> Loc:
    """Set ``value`` at a path inside ``data`` (in place), making missing sections;
    return the location. Errors start with ``--set <label>:``."""
    parts = split_path(keys) if isinstance(keys, str) else list(keys)
    try:
        loc, _ = walk(data, parts, create=True)
    except EvplantError as exc:
        text = "; ".join(p.message for p in exc.problems)
        raise EvplantError(f"--set {label or '.'.join(parts)}: {text}") from None
    set_at(data, loc, value)
    return loc


def set_at(data: Any, loc: Loc, value: Any) -> None:
    """Set ``value`` at a resolved location (in place)."""
    node = data
    for key in loc[:-1]:
        node = node[key]
    node[loc[-1]] = value


def resolve(data: Any, path: str) -> tuple[Loc, Any]:
    """The location and current value at a dotted path that must exist (nothing is
    made); errors name the path as ``uncertainty <path>``."""
    try:
        return walk(data, split_path(path))
    except EvplantError as exc:
        text = "; ".join(p.message for p in exc.problems)
        raise EvplantError(text, field=f"uncertainty {path}".rstrip()) from None


def apply(data: Any, locs: Sequence[Loc], values: Sequence[Any]) -> Any:
    """A copy of ``data`` sharing nothing with it, with each value set at its location."""
    out = independent(data)
    for loc, value in zip(locs, values, strict=True):
        set_at(out, loc, value)
    return out
