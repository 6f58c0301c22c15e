"""The page's levers: which scenario values it offers as form controls, and what the
scenario schema says about each (type, allowed range, description, unit).

The choice of levers is the page's (the ones planners move first: start of production
and shifts per phase, the partner, the ramp, shortages, stores, prices, the budget);
everything about a lever's value comes from the schema (``Scenario.model_json_schema()``),
walked along the same dotted paths as ``--set``, and from the scenario's own data (which
phases, shift regimes, components and variants exist). A scenario without a section
simply has no levers for it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import EvplantError
from ..scenario.load import Prepared
from ..scenario.paths import split_path, walk
from ..scenario.schema import Scenario

# Unit words from the project's naming rule: units are in names.
_UNIT_SUFFIXES = (
    ("_cny_per_month", "CNY a month"),
    ("_cny_per_unit", "CNY a car"),
    ("_cny_per_vehicle", "CNY a car"),
    ("_per_month", "a month"),
    ("_per_year", "a year"),
    ("_cny", "CNY"),
    ("_usd", "US$"),
    ("_months", "months"),
    ("_weeks", "weeks"),
    ("_units", "cars"),
    ("_s", "s"),
    ("_h", "h"),
)
_UNIT_NAMES = {"sop": "date YYYY-MM-DD", "delay_months": "months", "shifts": "shifts a day",
               "hours": "h a shift",
               "days_per_week": "days a week", "per_year": "episodes a year",
               "depth_min": "share lost, 0..1", "depth_max": "share lost, 0..1"}


GE, LE = "\u2265", "\u2264"


@dataclass(frozen=True)
class Lever:
    """One form control: a dotted path, its label and group, and what the schema allows."""

    path: str
    label: str
    group: str
    kind: str  # "number", "integer", "boolean", "text" (dates, mappings: read as YAML)
    value: Any
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    description: str = ""

    @property
    def range_text(self) -> str:
        """'0 < x < 1', '>= 0', '1..3' as the schema bounds the value; '' when unbounded."""
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            if not self.exclusive_min and not self.exclusive_max:
                return f"{_num(lo)}..{_num(hi)}"
            a = "<" if self.exclusive_min else LE
            b = "<" if self.exclusive_max else LE
            return f"{_num(lo)} {a} x {b} {_num(hi)}"
        if lo is not None:
            return f"{'>' if self.exclusive_min else GE} {_num(lo)}"
        if hi is not None:
            return f"{'<' if self.exclusive_max else LE} {_num(hi)}"
        return ""

    def text(self, value: Any = None) -> str:
        """A value as the form shows it (and as ``--set`` would read it back)."""
        v = self.value if value is None else value
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        if isinstance(v, dict | list):
            return json.dumps(v, separators=(", ", ": "))
        return "" if v is None else str(v)


def _num(x: float) -> str:
    return f"{x:g}" if abs(x) < 1e6 else f"{x:,.0f}"


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return Scenario.model_json_schema()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and pick the non-null branch of an optional (``anyOf`` with null)."""
    defs = _schema()["$defs"]
    for _ in range(16):
        if "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items()
                                                              if k != "$ref"}}
            continue
        branches = [b for b in node.get("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1 and "type" not in node:
            node = {**branches[0], **{k: v for k, v in node.items() if k != "anyOf"}}
            continue
        return node
    return node  # pragma: no cover - the schema has no deeper chains


def field_schema(path: str) -> dict[str, Any]:
    """The JSON Schema of the scenario value at a dotted ``--set`` path.

    List items (by index or ``name``) take the list's item schema and mapping entries
    (a variant, a month) the mapping's value schema.

    Raises
    ------
    EvplantError
        When the schema has no such field.
    """
    node = _resolve(_schema())
    for key in split_path(path):
        if node.get("type") == "array" and "items" in node:
            node = _resolve(node["items"])
        elif key in node.get("properties", {}):
            node = _resolve(node["properties"][key])
        elif isinstance(node.get("additionalProperties"), dict):
            node = _resolve(node["additionalProperties"])
        elif node.get("patternProperties"):
            node = _resolve(next(iter(node["patternProperties"].values())))
        else:
            raise EvplantError(f"the scenario schema has no field {path!r}")
    return node


def unit_of(path: str) -> str:
    """The unit a value is in, from its name (the project's rule: units are in names)."""
    name = split_path(path)[-1]
    if name in _UNIT_NAMES:
        return _UNIT_NAMES[name]
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return ""


def lever(path: str, label: str, group: str, value: Any) -> Lever:
    """A lever at ``path`` with what the schema says about it."""
    node = field_schema(path)
    kind = {"number": "number", "integer": "integer", "boolean": "boolean"}.get(
        str(node.get("type")), "text"
    )
    lo = node.get("minimum", node.get("exclusiveMinimum"))
    hi = node.get("maximum", node.get("exclusiveMaximum"))
    return Lever(
        path=path,
        label=label,
        group=group,
        kind=kind,
        value=value,
        unit=unit_of(path),
        minimum=float(lo) if isinstance(lo, int | float) else None,
        maximum=float(hi) if isinstance(hi, int | float) else None,
        exclusive_min="exclusiveMinimum" in node,
        exclusive_max="exclusiveMaximum" in node,
        description=str(node.get("description", "")),
    )


def _candidates(data: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(path, label, group) of the main levers that this scenario's data has."""
    plant = data.get("plant") or {}
    for phase in plant.get("phases") or []:
        name = str(phase.get("name"))
        group = f"Phase {name}"
        yield f"plant.phases.{name}.sop", "Start of production", group
        # where the schema has it: moves the phase and its launches together
        yield f"plant.phases.{name}.delay_months", "Delay, phase and launches", group
        for i, regime in enumerate(phase.get("shifts") or []):
            when = regime.get("start", i) if isinstance(regime, dict) else i
            yield f"plant.phases.{name}.shifts.{i}.shifts", f"Shifts from {when}", group
            yield f"plant.phases.{name}.shifts.{i}.hours", f"Hours a shift from {when}", group
    if isinstance(plant.get("partner"), dict):
        yield "plant.partner.enabled", "Partner on the ramp", "Partner"
        yield "plant.partner.experience_units", "Partner's experience", "Partner"
        yield "plant.partner.progress_ratio", "Progress ratio with the partner", "Partner"
    if isinstance(plant.get("ramp"), dict):
        yield "plant.ramp.cycle_time.progress_ratio", "Cycle-time progress ratio", "Ramp"
        yield "plant.ramp.cycle_time.mature_units", "Cars to mature cycle times", "Ramp"
        yield "plant.ramp.experience_units", "Own experience at SOP", "Ramp"
    venture = data.get("venture") or {}
    for comp in (venture.get("supply") or {}).get("components") or []:
        name = str(comp.get("name"))
        group = f"Shortage of {name}"
        base = f"venture.supply.components.{name}.shortage"
        yield f"{base}.per_year", "Frequency", group
        yield f"{base}.depth_max", "Deepest cut", group
        yield f"{base}.duration_months", "Mean length", group
    channel = venture.get("channel") or {}
    if channel:
        yield "venture.channel.stores", "Stores by month", "Stores"
        yield "venture.channel.orders_per_store_per_month", "Orders a store takes", "Stores"
    for variant in ((venture.get("market") or {}).get("variants") or {}):
        yield f"venture.market.variants.{variant}.price_cny", f"{variant} price", "Prices"
    if (venture.get("finance") or {}).get("budget_usd") is not None:
        yield "venture.finance.budget_usd", "Investment budget", "Budget"


def levers_for(prepared: Prepared) -> list[Lever]:
    """The levers for a scenario, each with its value in the scenario as given.

    A lever whose value is missing from the data (an optional field left to its default)
    starts from the schema's default, if it has one; otherwise it is left out, as is a
    lever the schema has no field for.
    """
    out = []
    for path, label, group in _candidates(prepared.data):
        try:
            schema = field_schema(path)
        except EvplantError:
            continue  # a field this version of the schema does not have
        try:
            _, value = walk(prepared.data, split_path(path))
        except EvplantError:
            value = schema.get("default")
            if value is None:
                continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        out.append(lever(path, label, group, value))
    return out
