"""Load YAML input files into pydantic models, with line numbers in every error.

PyYAML's composer keeps the position of every node; we walk the node tree once
to map each field path to its line, so a pydantic error at
``stations.2.cycle_time.mean`` becomes ``line.yaml:9: stations[2].cycle_time.mean: ...``.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from .errors import EvplantError, Problem

M = TypeVar("M", bound=BaseModel)
Path_ = tuple[str | int, ...]


# libyaml's parser (when PyYAML was built with it) reads a scenario 15x faster than the
# pure-Python one, with the same safe constructor and the same marks
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Limits on what a YAML input may be, so that a hostile file fails fast, with a
#: message, instead of exhausting memory or the stack. A scenario is ~40 kB, ~10 levels
#: deep and ~8,000 nodes; these allow a hundred times that.
MAX_BYTES = 4 * 2**20
MAX_DEPTH = 64
MAX_NODES = 1_000_000
#: integers a scenario may hold: what a 64-bit integer holds
MAX_INT = 2**63 - 1


class Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader that keeps dates as text (scenarios write dates as ``YYYY-MM-DD`` and
    validate them themselves, with a clear message for a bad one), refuses a key given
    twice in one mapping (YAML's last-one-wins would drop a value the user wrote), and
    refuses integers beyond 64 bits."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
                seen[key] = key_node.start_mark.line + 1
            except TypeError:  # an unhashable key: the base constructor says so
                break
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} given twice (first on line {first}); give each key once",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            value = int(super().construct_yaml_int(node))
        except ValueError:  # more digits than Python converts
            value = MAX_INT + 1
        if abs(value) > MAX_INT:
            raise yaml.constructor.ConstructorError(
                None, None, f"integer beyond 64 bits (at most {MAX_INT:.3g})", node.start_mark
            )
        return value


Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class LimitError(yaml.MarkedYAMLError):
    """YAML beyond the limits on size, depth or alias expansion."""


def _check_shape(text: str) -> None:
    """Refuse, before building anything, text that is too large, nested too deep or
    whose aliases expand to too many nodes (a "billion laughs"): one pass over the
    parser's events, counting each alias as the size of what it repeats."""
    if len(text) > MAX_BYTES:
        raise LimitError(
            problem=f"the text is {len(text) / 2**20:.1f} MB; at most {MAX_BYTES // 2**20} MB"
        )
    loader = Loader(text)
    try:
        sizes: dict[str, int] = {}
        stack: list[tuple[str | None, int]] = []  # (anchor, nodes so far) per open node
        total = 0
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append((event.anchor, 1))
                if len(stack) > MAX_DEPTH:
                    raise LimitError(
                        problem=f"nested more than {MAX_DEPTH} levels deep",
                        problem_mark=event.start_mark,  # type: ignore[arg-type]
                    )
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, size = stack.pop()
            elif isinstance(event, yaml.ScalarEvent):
                anchor, size = event.anchor, 1
            elif isinstance(event, yaml.AliasEvent):
                anchor, size = None, sizes.get(event.anchor or "", 1)
            else:
                continue
            if anchor is not None:
                sizes[anchor] = size
            total += size
            if stack:
                stack[-1] = (stack[-1][0], stack[-1][1] + size)
            if total > MAX_NODES:
                raise LimitError(
                    problem=f"aliases expand to more than {MAX_NODES:,} values",
                    problem_mark=event.start_mark,  # type: ignore[arg-type]
                )
    finally:
        loader.dispose()


def load_text(text: str) -> Any:
    """Parse YAML text with the project's loader, within the limits on size, depth and
    alias expansion (``--set`` values go through here too)."""
    return _compose(text)[1]


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    _check_shape(text)
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


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
        node, data = _compose(text)
        data = independent(data)
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


def did_you_mean(word: str, names: Iterable[str]) -> str:
    """'; did you mean `delay_months`?' for the closest of ``names`` (by spelling, or
    the one name that starts with the word), or ''."""
    known = sorted(set(names))
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    starts = [n for n in known if n.startswith(word)]
    if not close and len(starts) == 1:
        close = starts
    return f"; did you mean `{close[0]}`?" if close else ""


def _members(annotation: Any) -> list[Any]:
    """The types an annotation allows: Optional, unions and Annotated unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [m for a in get_args(annotation) for m in _members(a)]
    return [annotation]


def field_names(model: type[BaseModel], loc: Sequence[str | int]) -> set[str]:
    """The fields a model allows at a location (list items by index, mapping values by
    key): what a misspelt field is matched against."""
    found: list[Any] = [model]
    for part in loc:
        nxt: list[Any] = []
        for t in (m for a in found for m in _members(a)):
            origin, args = get_origin(t), get_args(t)
            if isinstance(part, int) and origin in (list, tuple) and args:
                nxt.append(args[0])
            elif isinstance(part, str) and origin is dict and len(args) == 2:
                nxt.append(args[1])
            elif isinstance(part, str) and isinstance(t, type) and issubclass(t, BaseModel):
                field = t.model_fields.get(part)
                if field is not None:
                    nxt.append(field.annotation)
        found = nxt
    return {
        name
        for t in (m for a in found for m in _members(a))
        if isinstance(t, type) and issubclass(t, BaseModel)
        for name in t.model_fields
    }


def _describe(err: Mapping[str, Any], model: type[BaseModel] | None = None) -> str:
    msg = str(err["msg"])
    if err["type"] == "extra_forbidden":
        loc = [p for p in err["loc"] if isinstance(p, str | int)]
        hint = ""
        if model is not None and loc and isinstance(loc[-1], str):
            hint = did_you_mean(loc[-1], field_names(model, loc[:-1]))
        if hint:
            return f"unknown field{hint} (`evplant schema` lists the allowed fields)"
        return "unknown field (check the spelling; `evplant schema` lists the allowed fields)"
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "literal_error":
        return msg.replace("Input should be", "must be")
    return msg.replace("Input should be", "must be").replace("Value error, ", "")


def problems_from_validation(
    exc: ValidationError,
    source: str,
    lines: Mapping[Path_, int],
    model: type[BaseModel] | None = None,
) -> list[Problem]:
    """Turn a pydantic ValidationError into one Problem per error, with lines; with the
    ``model`` validated, an unknown field gets the closest allowed name."""
    problems = []
    for err in exc.errors(include_url=False):
        # pydantic appends the tag of a discriminated union to the location
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        clean = _strip_union_tags(loc, lines)
        problems.append(
            Problem(
                message=_describe(err, model),
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
        raise EvplantError(problems=problems_from_validation(exc, source, lines, model)) from None


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
