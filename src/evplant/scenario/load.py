"""Find, read, override and validate scenarios.

A scenario is a built-in name (``evplant scenarios`` lists them) or a path to a YAML
file. ``--set path=value`` overrides any value by its dotted path before validation;
list items can be addressed by index or by their ``name`` (``plant.phases.phase2.sop``).
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import EvplantError, Problem
from ..inputs import field_path, load_text, problems_from_validation, read_yaml
from .schema import Scenario

DEFAULT = "beijing-etown"


def builtin_names() -> list[str]:
    folder = resources.files("evplant.scenario") / "builtin"
    return sorted(
        p.name[: -len(".yaml")]
        for p in folder.iterdir()
        if p.name.endswith(".yaml") and not p.name.startswith("_")
    )


def scenario_text(name_or_path: str) -> tuple[str, str]:
    """(YAML text, source name) of a built-in scenario or a file."""
    if name_or_path in builtin_names():
        res = resources.files("evplant.scenario") / "builtin" / f"{name_or_path}.yaml"
        return res.read_text(encoding="utf-8"), f"{name_or_path}.yaml (built-in)"
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        raise EvplantError(
            f"no built-in scenario or file {name_or_path!r}; built-in: {', '.join(builtin_names())}"
        )
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise EvplantError("file not found", file=str(path)) from None
    except (IsADirectoryError, UnicodeDecodeError):
        raise EvplantError("not a readable YAML text file", file=str(path)) from None


def beside(name_or_path: str, relative: str) -> Path:
    """A file named relative to a scenario: beside a scenario file, or among the
    built-in scenarios' package data for a built-in name; absolute paths as given."""
    rel = Path(relative)
    if rel.is_absolute():
        return rel
    if name_or_path in builtin_names():
        folder = resources.files("evplant.scenario") / "builtin"
        return Path(str(folder)) / rel
    return Path(name_or_path).parent / rel


def parse_set(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise EvplantError(f"--set {item!r}: expected path=value, e.g. plant.partner.enabled=false")
    path, raw = item.split("=", 1)
    keys = [k for k in path.strip().split(".") if k]
    if not keys:
        raise EvplantError(f"--set {item!r}: empty path")
    try:
        value = load_text(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return keys, value


def set_path(data: Any, keys: list[str], value: Any, label: str) -> list[str | int]:
    """Set ``value`` at ``keys`` inside nested dicts/lists; return the resolved location."""
    node = data
    loc: list[str | int] = []
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            idx = _list_index(node, key)
            if idx is None:
                names = [str(x.get("name")) for x in node if isinstance(x, dict)]
                raise EvplantError(
                    f"--set {label}: no item {key!r} in {field_path(loc)} "
                    f"(use an index 0..{len(node) - 1} or a name: {', '.join(names)})"
                )
            loc.append(idx)
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            loc.append(key)
            if last:
                node[key] = value
            else:
                if key not in node or node[key] is None:
                    node[key] = {}
                node = node[key]
        else:
            raise EvplantError(f"--set {label}: {field_path(loc)} is a value, not a section")
    return loc


def _list_index(node: list[Any], key: str) -> int | None:
    if key.lstrip("-").isdigit():
        i = int(key)
        return i if -len(node) <= i < len(node) else None
    for i, item in enumerate(node):
        if isinstance(item, dict) and str(item.get("name")) == key:
            return i
    return None


def load_scenario(
    name_or_path: str = DEFAULT, overrides: list[str] | None = None
) -> tuple[Scenario, str]:
    """Load, override and validate a scenario; return it with its source name."""
    text, source = scenario_text(name_or_path)
    data, lines = read_yaml(text, source)
    if not isinstance(data, dict):
        raise EvplantError("a scenario must be a mapping of sections", file=source, line=1)
    data = copy.deepcopy(data)
    overridden: dict[tuple[str | int, ...], str] = {}
    for item in overrides or []:
        keys, value = parse_set(item)
        loc = set_path(data, keys, value, item)
        overridden[tuple(loc)] = item
    return validate_scenario(data, source, lines, overridden), source


def validate_scenario(
    data: Any,
    source: str,
    lines: dict[tuple[str | int, ...], int] | None = None,
    overridden: dict[tuple[str | int, ...], str] | None = None,
) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation(exc, source, lines or {})
        fixed = []
        for prob, err in zip(problems, exc.errors(include_url=False), strict=True):
            loc = tuple(err["loc"])
            hit = next(
                (label for o, label in (overridden or {}).items() if loc[: len(o)] == o), None
            )
            if hit is not None:
                prob = Problem(prob.message, file=f"--set {hit}", line=None, field=prob.field)
            fixed.append(prob)
        raise EvplantError(problems=fixed) from None
