"""A run's state at a month's end, as a file: ``state.json``, to start a run from.

One JSON file, two layers:

- **the planner's part** (top level): ``month`` (the state is at the end of it; a run
  from it starts the month after, ``next_month``), ``scenario`` and its
  ``scenario_digest``, ``seed``; ``plant.phases.<phase>``: ``built`` (cars completed so
  far: where the learning curves stand), ``in_work`` and where the vehicles are
  (``stations``, ``stores`` after a station, ``entrance``), feeder lines' parts and the
  ramp's factors (written for the reader, not read back, as is ``in_work``: the
  vehicles placed are those at stations, in stores and at the entrance; a run without
  station statistics, ``stats=False``, writes no places); ``venture``: open orders by
  market, variant and age, stock, cash, cars built per variant, kits, the supply
  pipeline (:mod:`evplant.venture.state`). Readable and editable.
- **the exact part** (``exact``): every array, counter and random stream's
  ``bit_generator.state`` that the month loop carries, so a continued run gives the
  months after ``month`` bit for bit as the whole run did; arrays are stored as their
  raw bytes (zlib, base64) with dtype and shape, numbers as JSON numbers (Python writes
  a float's shortest repr, which reads back exactly).  It holds ``planner_digest``, the
  SHA-256 of the planner's part it was written with.

Reading (:func:`read_state`, :func:`check`, :func:`apply`):

- with the exact part, and the planner's part as it was written: an **exact
  continuation**. It needs the same scenario (and ``--set`` values: the
  ``scenario_digest`` must match) and the same seed; otherwise it is refused.
- without the exact part, or when the planner's part was edited (its digest differs):
  the run **starts from the planner's part**: each listed phase's ``built`` sets its
  learning, its vehicles are placed at their stations and stores (and the entrance) at
  the start instant, and the venture's orders, stock, cash, kits and supply pipeline
  are set (:func:`evplant.plant.state.apply_planner`,
  :func:`evplant.venture.state.apply_planner`). Not carried then: the vehicles'
  progress inside a station's work (each starts its whole work there), parts in work
  on feeder lines, failures under way, shortage and political-risk episodes, and the
  random streams' positions (they start from the seed). The scenario may differ from
  the one that wrote the state: that is how a planner starts a what-if from today.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EvplantError, Problem
from .months import month_label, month_number
from .plant import state as plant_state
from .plant.model import Plant
from .scenario.schema import Scenario
from .venture import Venture
from .venture import state as venture_state

FORMAT = "evplant-state"
# 2: the line engine's books count rework and scrap (more columns); a version-1 file's
# planner's part is read as it was, its exact part no longer fits and is left out
VERSION = 2
_OLDER = (1,)
STATE_JSON = "state.json"
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


def state_name(month: str) -> str:
    """The file a run writes its state at the end of ``month`` into (``--state-at``)."""
    return f"state-{month}.json"


def encode(obj: Any) -> Any:
    """Plain JSON values: arrays as dtype, shape and zlib'd base64 bytes; a non-finite
    float as ``{"float": "inf"}``; numpy scalars as numbers."""
    if isinstance(obj, np.ndarray):
        data = np.ascontiguousarray(obj)
        return {
            "array": data.dtype.str,
            "shape": list(data.shape),
            "zlib": base64.b64encode(zlib.compress(data.tobytes(), 6)).decode("ascii"),
        }
    if isinstance(obj, np.generic):
        return encode(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return {"float": repr(obj)}
    if isinstance(obj, Mapping):
        return {str(k): encode(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [encode(v) for v in obj]
    return obj


def decode(obj: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(obj, dict):
        if set(obj) == {"array", "shape", "zlib"}:
            raw = zlib.decompress(base64.b64decode(obj["zlib"]))
            return np.frombuffer(raw, dtype=np.dtype(obj["array"])).reshape(obj["shape"]).copy()
        if set(obj) == {"float"}:
            return float(obj["float"])
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    return obj


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def scenario_digest(scenario: Scenario) -> str:
    """The SHA-256 of the validated scenario (every value, defaults included)."""
    return _digest(scenario.model_dump(mode="json"))


def _planner_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("month", "scenario", "scenario_digest", "seed", "plant", "venture")
    return {k: doc.get(k) for k in keys}


def capture(
    scenario: Scenario, seed: int, plant: Plant, venture: Venture | None, t: int
) -> dict[str, Any]:
    """The state at the end of month ``t`` as the JSON document ``state.json`` holds."""
    label = plant.labels[t]
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "month": label,
        "next_month": month_label(month_number(label) + 1),
        "scenario": scenario.name,
        "scenario_digest": scenario_digest(scenario),
        "seed": int(seed),
        "plant": encode(plant_state.planner_part(plant, t)),
        "venture": encode(venture_state.planner_part(venture, t)) if venture else None,
    }
    exact = {
        "planner_digest": _digest(_planner_view(doc)),
        "plant": plant_state.exact_part(plant),
        "venture": venture_state.exact_part(venture) if venture is not None else None,
    }
    doc["exact"] = encode(exact)
    return doc


def dumps(doc: Mapping[str, Any]) -> str:
    """The document as the file's text (the exact part on one line per key)."""
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


@dataclass(frozen=True)
class RunState:
    """A state file read back (:func:`read_state`): the month it is the state at (a run
    from it starts the month after, ``next_month``), the planner's parts (``plant``,
    ``venture``) as written, and the exact part, decoded, or None where it is missing
    or the planner's part was edited since (``edited``)."""

    source: str  # the file, for errors
    month: str  # the state is at the end of this month
    scenario: str
    scenario_digest: str | None
    seed: int | None
    plant: dict[str, Any]
    venture: dict[str, Any] | None
    exact: dict[str, Any] | None  # decoded; None when absent or the planner's part was edited
    edited: bool  # an exact part was there, but the planner's part no longer matches it
    older: bool = False  # written by an earlier version, whose exact part is left out

    @property
    def next_month(self) -> str:
        """The month a run from this state starts at."""
        return month_label(month_number(self.month) + 1)

    @property
    def phases(self) -> list[str]:
        """The phases whose learning the state gives (a start of production before the
        horizon is allowed for them)."""
        phases = self.plant.get("phases")
        return sorted(phases) if isinstance(phases, Mapping) else []

    def error(self, field: str, message: str) -> EvplantError:
        """A problem with this file's ``field``, as the CLI reports it."""
        return EvplantError(message, file=self.source, field=field)


def read_state(path: str | Path) -> RunState:
    """Read a state file and check its form (not yet against a scenario: :func:`check`).

    Parameters
    ----------
    path : str or pathlib.Path
        A ``state.json`` written by ``evplant run`` (or by a planner: its readable
        part alone).

    Returns
    -------
    RunState
        The planner's part, and the exact part when it is there and matches; pass it to
        :func:`evplant.simulate` as ``start``.

    Raises
    ------
    EvplantError
        One line naming the file and the field: missing file, malformed JSON, another
        format or version, a month not written ``YYYY-MM``, a part of the wrong type.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvplantError("no such state file", file=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvplantError(f"cannot be read ({exc})", file=source) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvplantError(
            f"not valid JSON: {exc.msg}; allowed: a state file written by `evplant run`",
            file=source,
            line=exc.lineno,
        ) from None
    return read_doc(doc, source)


def read_doc(doc: Any, source: str) -> RunState:
    """:func:`read_state` of a document already parsed (``source`` names it in errors)."""
    import re

    def bad(field: str, message: str) -> EvplantError:
        return EvplantError(message, file=source, field=field)

    if not isinstance(doc, dict):
        raise bad("", "must be a JSON object written by `evplant run`")
    if doc.get("format") != FORMAT:
        raise bad("format", f"{doc.get('format')!r}; allowed: {FORMAT!r}")
    version = doc.get("version")
    if version != VERSION and version not in _OLDER:
        allowed = ", ".join(str(v) for v in (*_OLDER, VERSION))
        raise bad("version", f"{version!r}; allowed: {allowed}")
    month = doc.get("month")
    if not isinstance(month, str) or not re.fullmatch(_MONTH, month):
        raise bad("month", f"{month!r}; allowed: a month written YYYY-MM")
    plant = doc.get("plant")
    if not isinstance(plant, dict):
        raise bad("plant", 'missing or not an object; allowed: {"phases": {...}}')
    venture = doc.get("venture")
    if venture is not None and not isinstance(venture, dict):
        raise bad("venture", "not an object; allowed: the venture's state or null")
    seed = doc.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise bad("seed", f"{seed!r}; allowed: a whole number, 0 or more")
    digest = doc.get("scenario_digest")
    exact, edited = None, False
    raw = doc.get("exact") if version == VERSION else None
    if raw is not None:
        if not isinstance(raw, dict):
            raise bad("exact", "not an object; allowed: the exact part a run wrote, or none")
        if raw.get("planner_digest") == _digest(_planner_view(doc)):
            try:
                exact = decode(raw)
            except (ValueError, TypeError, KeyError, zlib.error) as exc:
                raise bad(
                    "exact",
                    f"cannot be decoded ({exc}); remove it to start from the planner's part",
                ) from None
        else:
            edited = True
    name = doc.get("scenario")
    return RunState(
        source,
        month,
        name if isinstance(name, str) else "",
        digest if isinstance(digest, str) else None,
        seed,
        plant,
        venture,
        exact,
        edited,
        older=version != VERSION,
    )


def check(state: RunState, scenario: Scenario, seed: int | None, start: str | None) -> int:
    """The month index of the scenario's horizon the run continues at, once the state
    is checked against the scenario, the seed and ``--start``.

    Raises
    ------
    EvplantError
        ``--start`` not the month after the state's; that month outside the horizon;
        an exact part made by another scenario or seed.
    """
    nxt = state.next_month
    if start is not None and start != nxt:
        raise state.error(
            "month",
            f"the state is at the end of {state.month}, so a run from it starts "
            f"{nxt}, not --start {start}; allowed: --start {nxt}",
        )
    first, last = scenario.horizon.start, scenario.horizon.end
    if not first <= nxt <= last:
        raise state.error(
            "month",
            f"{state.month}: the run would start {nxt}, outside the horizon "
            f"{first}..{last}; allowed: a state at the end of "
            f"{month_label(month_number(first) - 1)}..{month_label(month_number(last) - 1)}",
        )
    if state.exact is not None:
        if state.scenario_digest != scenario_digest(scenario):
            raise state.error(
                "scenario_digest",
                f"the exact part was made by another scenario ({state.scenario!r} with other "
                "values or --set items); allowed: the same scenario and --set items, or a "
                "state without its 'exact' part (the planner's part is then used)",
            )
        if seed is not None and state.seed is not None and seed != state.seed:
            raise state.error(
                "seed",
                f"the exact part was made with seed {state.seed}, not {seed}; "
                f"allowed: --seed {state.seed}, or a state without its 'exact' part",
            )
        if (state.venture is None) != (scenario.venture is None):
            raise state.error("venture", "the scenario and the state disagree on a venture")
    return month_number(nxt) - month_number(first)


def apply(state: RunState, plant: Plant, venture: Venture | None, t: int) -> None:
    """Put the state into a fresh plant and venture that continue at month ``t``."""
    try:
        if state.exact is not None:
            plant_state.apply_exact(plant, state.exact["plant"])
            if venture is not None:
                venture_state.apply_exact(venture, state.exact["venture"], t)
            return
        plant_state.apply_planner(plant, state.plant, t)
        if venture is not None:
            venture_state.apply_planner(venture, state.venture or {}, t)
    except EvplantError as exc:
        raise EvplantError(
            problems=[Problem(p.message, state.source, None, p.field) for p in exc.problems]
        ) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise state.error(
            "exact", f"does not fit this run ({exc!r}); remove it to start from the planner's part"
        ) from None


def note(state: RunState) -> str | None:
    """What a run started from this state should tell the planner, if anything."""
    if state.older:
        return (
            f"{state.source}: written by an earlier evplant, whose exact part does not fit "
            "this one, so the run starts from the planner's part"
        )
    if state.edited:
        return (
            f"{state.source}: the planner's part was edited, so the run starts from it, not "
            "exactly where the run that wrote it stood (see the guide: what is carried)"
        )
    if state.exact is None:
        return f"{state.source}: no exact part: the run starts from the planner's part"
    return None


def months_asked(scenario: Scenario, asked: list[str], first: int) -> list[str]:
    """The months whose end a run takes its state at: those asked for (``--state-at``,
    each within the months the run covers) and its last, sorted.

    Raises
    ------
    EvplantError
        A month not written ``YYYY-MM`` or outside the months the run covers.
    """
    import re

    lo = month_number(scenario.horizon.start) + first
    hi = month_number(scenario.horizon.end)
    out = {scenario.horizon.end}
    for month in asked:
        if not re.fullmatch(_MONTH, month) or not lo <= month_number(month) <= hi:
            raise EvplantError(
                f"{month!r}; allowed: a month written YYYY-MM in "
                f"{month_label(lo)}..{scenario.horizon.end}",
                field="--state-at",
            )
        out.add(month)
    return sorted(out)


def files(result: Any, last: str) -> dict[str, str]:
    """A run's state files by name: ``state.json`` at its end, ``state-YYYY-MM.json``
    at the other months taken (``RunResult.states``)."""
    return {
        STATE_JSON if month == last else state_name(month): dumps(doc)
        for month, doc in sorted(result.states.items())
    }
