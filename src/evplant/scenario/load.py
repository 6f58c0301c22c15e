"""Find, read, override and validate scenarios.

A scenario is a built-in name (``evplant scenarios`` lists them) or a path to a YAML
file. ``--set path=value`` overrides any value by its dotted path before validation;
list items can be addressed by index or by their ``name`` (``plant.phases.phase2.sop``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import EvplantError, Problem, clip
from ..inputs import LimitError, load_text, problems_from_validation, read_yaml
from .paths import Loc, apply, set_path, split_path
from .schema import Scenario

__all__ = [
    "DEFAULT",
    "Prepared",
    "builtin_names",
    "load_scenario",
    "parse_set",
    "prepare",
    "scenario_text",
    "set_path",
    "validate_scenario",
]


def _default() -> str:
    """The built-in scenario named in ``builtin/_default.yaml``: a fact of the built-in
    scenarios, kept among them."""
    res = resources.files("evplant.scenario") / "builtin" / "_default.yaml"
    name = yaml.safe_load(res.read_text(encoding="utf-8"))["default"]
    return str(name)


#: The built-in scenario a command runs when none is named.
DEFAULT = _default()


def builtin_names() -> list[str]:
    """The names of the built-in scenarios, sorted (what ``evplant scenarios`` lists).

    Returns
    -------
    list of str
        Names usable wherever a scenario is asked for.

    Examples
    --------
    >>> from evplant import builtin_names
    >>> from evplant.scenario.load import DEFAULT
    >>> DEFAULT in builtin_names()
    True
    """
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
    """``'a.b=1'`` -> (``['a', 'b']``, 1): the value read as YAML (text if it is not)."""
    if "=" not in item:
        raise EvplantError(
            f"--set {clip(item)!r}: expected path=value, e.g. plant.partner.enabled=false"
        )
    path, raw = item.split("=", 1)
    keys = split_path(path)
    if not keys:
        raise EvplantError(f"--set {clip(item)!r}: empty path")
    try:
        value = load_text(raw) if raw.strip() else ""
    except (yaml.constructor.ConstructorError, LimitError) as exc:
        # YAML that breaks a rule (a key twice, a 65-bit integer, an alias bomb) is
        # refused; anything else that is not YAML is taken as the text it is
        raise EvplantError(f"--set {clip(item)}: {exc.problem}") from None
    except yaml.YAMLError:
        value = raw
    return keys, value


@dataclass(frozen=True)
class Prepared:
    """A scenario read, overridden and validated, with what it was made from.

    ``data``: the plain data after overrides (sharing nothing with anything else);
    ``lines``: field location -> line in the file; ``overridden``: location -> the
    ``--set`` item that set it.
    """

    scenario: Scenario
    data: dict[str, Any]
    source: str
    lines: dict[Loc, int] = field(repr=False)
    overridden: dict[Loc, str]
    overrides: tuple[str, ...] = ()
    #: phases whose ramp a run's state gives (``prepare``'s ``started``)
    started: tuple[str, ...] = ()

    def with_values(self, locs: Sequence[Loc], values: Sequence[Any], label: str = "") -> Scenario:
        """The scenario with each value set at its location, validated (a fresh copy of
        the data; this one is left alone). ``label`` names the variant in errors."""
        data = apply(self.data, locs, values)
        source = f"{self.source}, {label}" if label else self.source
        return validate_scenario(data, source, self.lines, self.overridden, self.started)


def prepare(
    name_or_path: str | Path = DEFAULT,
    overrides: Sequence[str] = (),
    *,
    started: Sequence[str] = (),
) -> Prepared:
    """The one input pipeline: text -> data and line map -> overrides -> validate.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A built-in scenario name (:func:`builtin_names`) or a YAML file.
    overrides : sequence of str
        ``path=value`` items, as ``--set`` takes them: a dotted path (list items by
        index or by ``name``) and a value read as YAML.
    started : sequence of str
        Phases whose ramp a run's state gives (``evplant run --state``): they may start
        production before the horizon.

    Returns
    -------
    Prepared
        The validated scenario with its plain data, the line of every field and which
        override set what.

    Raises
    ------
    EvplantError
        One problem per line, naming the file and line (or the ``--set`` item) of each.
    """
    text, source = scenario_text(str(name_or_path))
    data, lines = read_yaml(text, source)
    if not isinstance(data, dict):
        raise EvplantError("a scenario must be a mapping of sections", file=source, line=1)
    overridden: dict[Loc, str] = {}
    for item in overrides:
        keys, value = parse_set(item)
        overridden[set_path(data, keys, value, clip(item))] = clip(item)
    scenario = validate_scenario(data, source, lines, overridden, started)
    return Prepared(scenario, data, source, lines, overridden, tuple(overrides), tuple(started))


def load_scenario(
    name_or_path: str | Path = DEFAULT, overrides: Sequence[str] | None = None
) -> tuple[Scenario, str]:
    """Load, override and validate a scenario; return it with its source name.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A built-in scenario name or a YAML file.
    overrides : sequence of str, optional
        ``path=value`` items, as ``--set`` takes them.

    Returns
    -------
    scenario : Scenario
        The validated scenario.
    source : str
        Where it came from (``<name>.yaml (built-in)`` or the file's path).

    Raises
    ------
    EvplantError
        For any problem in the file or the overrides.

    Examples
    --------
    >>> from evplant import load_scenario
    >>> from evplant.scenario.load import DEFAULT
    >>> scenario, source = load_scenario(DEFAULT, ["horizon.end=2024-06"])
    >>> scenario.horizon.end, source == f"{DEFAULT}.yaml (built-in)"
    ('2024-06', True)
    """
    prepared = prepare(name_or_path, overrides or ())
    return prepared.scenario, prepared.source


def validate_scenario(
    data: Any,
    source: str,
    lines: Mapping[Loc, int] | None = None,
    overridden: Mapping[Loc, str] | None = None,
    started: Sequence[str] = (),
) -> Scenario:
    """Validate scenario data; every problem names its file and line, or the ``--set``
    item that caused it."""
    try:
        return Scenario.model_validate(data, context={"started_phases": tuple(started)})
    except ValidationError as exc:
        problems = problems_from_validation(exc, source, lines or {}, Scenario)
        fixed = []
        for prob, err in zip(problems, exc.errors(include_url=False), strict=True):
            loc = tuple(err["loc"])
            hit = next(
                (label for o, label in (overridden or {}).items() if loc[: len(o)] == o), None
            )
            if hit is None and loc:
                # a rule on a section (a day's hours, a line's pace) broken by a value an
                # override set inside it: the override is what to look at
                inside = [lab for o, lab in (overridden or {}).items() if o[: len(loc)] == loc]
                hit = ", --set ".join(inside) if inside else None
            if hit is not None:
                prob = Problem(prob.message, file=f"--set {hit}", line=None, field=prob.field)
            fixed.append(prob)
        raise EvplantError(problems=fixed) from None
