"""Load YAML input files into pydantic models, with line numbers in every error.

PyYAML's composer keeps the position of every node; we walk the node tree once
to map each field path to its line, so a pydantic error at
``stations.2.cycle_time.mean`` becomes ``line.yaml:9: stations[2].cycle_time.mean: ...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import EvplantError, Problem

M = TypeVar("M", bound=BaseModel)
Path_ = tuple[str | int, ...]


# libyaml's parser (when PyYAML was built with it) reads a scenario 15x faster than the
# pure-Python one, with the same safe constructor and the same marks
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader that keeps dates as text: scenarios write dates as ``YYYY-MM-DD``
    and validate them themselves, with a clear message for a bad one."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_text(text: str) -> Any:
    """Parse YAML text with the project's loader."""
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass


def _line_map(node: yaml.Node, path: Path_, out: dict[Path_, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, str(key.value))] = key.start_mark.line + 1
            _line_map(value, (*path, str(key.value)), out)
            out[(*path, str(key.value))] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), out)


def independent(data: Any) -> Any:
    """A copy of parsed data in which no two places share a mutable object.

    YAML anchors and aliases (``shops: *phase1_shops``) load as one shared object, and
    ``copy.deepcopy`` keeps that sharing; this copy expands every alias into its own
    value, so setting a value at one path never changes another.
    """
    if isinstance(data, dict):
        return {key: independent(value) for key, value in data.items()}
    if isinstance(data, list):
        return [independent(value) for value in data]
    return data


def read_yaml(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML text; return the data (aliases expanded into independent copies) and a
    map from field path to line number."""
    try:
        node = yaml.compose(text, Loader=Loader)
        data = independent(load_text(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise EvplantError(f"not valid YAML: {problem}", file=source, line=line) from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _line_map(node, (), lines)
    return data, lines


def field_path(loc: Sequence[str | int]) -> str:
    """Render a pydantic location as ``stations[2].cycle_time.mean``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _nearest_line(loc: Sequence[str | int], lines: Mapping[Path_, int]) -> int | None:
    path: tuple[str | int, ...] = tuple(loc)
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]


def _describe(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; `evplant schema` lists the allowed fields)"
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "literal_error":
        return msg.replace("Input should be", "must be")
    return msg.replace("Input should be", "must be").replace("Value error, ", "")


def problems_from_validation(
    exc: ValidationError, source: str, lines: Mapping[Path_, int]
) -> list[Problem]:
    """Turn a pydantic ValidationError into one Problem per error, with lines."""
    problems = []
    for err in exc.errors(include_url=False):
        # pydantic appends the tag of a discriminated union to the location
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        clean = _strip_union_tags(loc, lines)
        problems.append(
            Problem(
                message=_describe(err),
                file=source,
                line=_nearest_line(clean, lines),
                field=field_path(clean),
            )
        )
    return problems


_UNION_TAGS = frozenset(
    [
        "deterministic",
        "exponential",
        "lognormal",
        "gamma",
        "triangular",
        "uniform",
        "weibull",
        "empirical",
    ]
)


def _strip_union_tags(loc: list[str | int], lines: Mapping[Path_, int]) -> list[str | int]:
    """Drop the discriminator tags (``lognormal``) that pydantic inserts into locations."""
    out: list[str | int] = []
    for k, part in enumerate(loc):
        tag = isinstance(part, str) and part in _UNION_TAGS and k < len(loc) - 1
        if tag and (*out, part) not in lines:
            continue
        out.append(part)
    return out


def validate(model: type[M], data: Any, source: str, lines: Mapping[Path_, int]) -> M:
    """Validate parsed data into ``model``; raise EvplantError listing every problem."""
    if data is None:
        raise EvplantError("the file is empty", file=source)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise EvplantError(problems=problems_from_validation(exc, source, lines)) from None


def read_user_file(path: str | Path, kind: str, encoding: str = "utf-8") -> str:
    """The text of a file the user named, or an EvplantError saying why it cannot be
    read (``kind``: what it should be, e.g. ``"a YAML file"``)."""
    path = Path(path)
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise EvplantError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise EvplantError(f"is a directory, expected {kind}", file=str(path)) from None
    except UnicodeDecodeError:
        raise EvplantError("not a UTF-8 text file", file=str(path)) from None


def load_file(model: type[M], path: str | Path) -> M:
    """Read and validate one YAML file."""
    path = Path(path)
    text = read_user_file(path, "a YAML file")
    data, lines = read_yaml(text, str(path))
    return validate(model, data, str(path), lines)
