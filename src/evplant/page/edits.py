"""What the form says, as ``--set`` items, checked by the one input pipeline.

The page never edits YAML itself: a lever moved or a ``path=value`` line typed becomes
an override item exactly as ``evplant run --set`` takes it, and
``evplant.scenario.load.prepare`` reads, applies and validates them. Its
``EvplantError`` problems are shown next to the field that caused them, word for word
what the CLI prints; a form with a problem changes nothing.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import EvplantError, clip
from ..months import months as month_range
from ..scenario.load import Prepared, beside, parse_set, prepare
from .levers import Lever

#: the first months a change reruns at once; the full horizon runs on demand
SHORT_MONTHS = 24
EXTRA = "extra"  # the field name of the free ``path=value`` box
#: what one request may ask of the checker: lines in the "any field" box, characters
#: in one item, and seconds spent reading the items (their YAML) before giving up
MAX_EXTRA_LINES = 200
MAX_ITEM_CHARS = 10_000
CHECK_SECONDS = 1.0


def overrides_from(
    levers: Sequence[Lever], values: Sequence[Any], extra: str = ""
) -> tuple[list[str], dict[str, int]]:
    """The ``--set`` items the form asks for: one per lever whose value differs from
    the scenario's, then each non-empty line of ``extra`` (``#`` starts a comment).

    Returns the items and, for each, the index of the lever it came from (-1: the
    extra box), so a problem can be shown next to its field.
    """
    items: list[str] = []
    origin: dict[str, int] = {}
    for i, (lv, value) in enumerate(zip(levers, values, strict=True)):
        if lv.kind == "boolean":
            text = "true" if _checked(value) else "false"
        else:
            text = "" if value is None else str(value).strip()
        if text == lv.text():
            continue
        item = f"{lv.path}={text}"
        items.append(item)
        origin[item] = i
    for raw in (extra or "").splitlines()[: MAX_EXTRA_LINES + 1]:
        line = raw.strip()
        if line and not line.startswith("#"):
            items.append(line)
            origin.setdefault(line, -1)
    return items, origin


def _checked(value: Any) -> bool:
    """A checklist's value (a list of the ticked options) or a plain bool."""
    if isinstance(value, list | tuple):
        return bool(value)
    return bool(value)


@dataclass
class Checked:
    """The form checked: the prepared scenario, or problems by field (lever index, or -1
    for the extra box), each as the CLI prints it."""

    prepared: Prepared | None
    overrides: list[str]
    problems: dict[int, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.prepared is not None and not self.problems


def _bounded(items: Sequence[str], origin: Mapping[str, int],
             seconds: float) -> dict[int, list[str]]:
    """Problems of a request too costly to check: too many lines in the extra box, an
    item too long, or items whose YAML takes longer than ``seconds`` to read. Each item
    is read once (linear time in the request's size)."""
    extra = sum(1 for it in items if origin.get(it, -1) == -1)
    if extra > MAX_EXTRA_LINES:
        return {-1: [f"{EXTRA}: at most {MAX_EXTRA_LINES} lines, got more; "
                     "edit the scenario file and start `evplant serve FILE` instead"]}
    t0 = time.monotonic()
    for it in items:
        if len(it) > MAX_ITEM_CHARS:
            return {origin.get(it, -1): [f"--set {clip(it)}: at most {MAX_ITEM_CHARS:,} "
                                         f"characters, got {len(it):,}"]}
        with contextlib.suppress(EvplantError):  # prepare says it again, in place
            parse_set(it)
        if time.monotonic() - t0 > seconds:
            return {-1: [f"{EXTRA}: the values took more than {seconds:g} s to read; "
                         "send fewer or shorter ones"]}
    return {}


def check(source: str, items: Sequence[str], origin: Mapping[str, int],
          base: Prepared | None = None, seconds: float = CHECK_SECONDS) -> Checked:
    """Run the items through ``prepare``; attribute each problem to the item it names
    (``--set <item>``), or to the extra box when it names none (a rule across fields).

    A request past the checker's limits (:data:`MAX_EXTRA_LINES`,
    :data:`MAX_ITEM_CHARS`, ``seconds``) is refused before it is applied. With ``base``
    (the scenario as the page started it), an edit that changes a file the scenario
    names (its posterior samples, its observed record) is refused: the browser never
    names a file on the server's disk."""
    costly = _bounded(items, origin, seconds)
    if costly:
        return Checked(None, list(items), costly)
    try:
        prepared = prepare(source, items)
    except EvplantError as exc:
        problems: dict[int, list[str]] = {}
        by_label = {f"--set {clip(it)}": it for it in reversed(items)}  # the first wins
        for prob in exc.problems:
            text = str(prob)
            label = prob.file if prob.file in by_label else text.split(":", 1)[0]
            hit = by_label.get(label)
            if hit is None:  # an item whose text holds ': ' (a mapping): the slow way
                hit = next((it for it in items if f"--set {clip(it)}:" in text), None)
            where = origin.get(hit, -1) if hit is not None else -1
            problems.setdefault(where, []).append(text)
        return Checked(None, list(items), problems)
    if base is not None and _files(prepared) != _files(base):
        hit = next((it for it in items if it.startswith(FILE_FIELDS)), None)
        where = origin.get(hit, -1) if hit is not None else -1
        text = f"--set {hit}: " if hit else ""
        return Checked(None, list(items), {where: [
            f"{text}the page does not take file names (posterior.file, calibration.observed); "
            "edit the scenario file and start `evplant serve FILE` instead"]})
    return Checked(prepared, list(items))


FILE_FIELDS = ("posterior", "calibration")


def effective(levers: Sequence[Lever], prepared: Prepared) -> list[str]:
    """For each lever, the value in effect where it differs from the one written (a
    date a phase's delay moved), as the form would show it; '' where they agree."""
    from ..scenario.paths import walk as walk_path

    data = prepared.scenario.model_dump(mode="json", by_alias=True)
    out = []
    for lv in levers:
        if lv.kind not in ("text", "number", "integer"):
            out.append("")
            continue
        try:
            _, written = walk_path(prepared.data, lv.path.split("."))
            _, used = walk_path(data, lv.path.split("."))
        except EvplantError:
            out.append("")
            continue
        if isinstance(used, dict | list) or isinstance(written, dict | list):
            out.append("")  # a mapping (stores by month) is used as written
        elif isinstance(used, int | float) and isinstance(written, int | float):
            out.append(lv.text(used) if used != written else "")
        else:
            out.append(lv.text(used) if lv.text(used) != lv.text(written) else "")
    return out


def _files(prepared: Prepared) -> tuple[str | None, tuple[str, ...]]:
    """The files a scenario names: its posterior samples and its observed record."""
    sc = prepared.scenario
    return (sc.posterior.file if sc.posterior is not None else None,
            tuple(sc.calibration.observed_files) if sc.calibration is not None else ())


def short_end(prepared: Prepared, months: int = SHORT_MONTHS) -> str | None:
    """The month that ends a short run (``months`` from the start), or None when the
    scenario's horizon is no longer than that."""
    h = prepared.scenario.horizon
    span = month_range(h.start, h.end)
    return span[months - 1] if len(span) > months else None


def horizon_items(prepared: Prepared, short: bool) -> list[str]:
    """The extra ``--set`` item that makes a run short, if it needs one."""
    end = short_end(prepared) if short else None
    return [f"horizon.end={end}"] if end else []


def scenario_yaml(source: str, prepared: Prepared) -> str:
    """The edited scenario as a YAML file that ``evplant run`` (and ``mc``, ``calibrate``)
    accepts from any folder: the scenario's own text, comments kept, with only the
    edited values changed (each marked), and the files it names (posterior samples, the
    observed record) made absolute, since they were relative to the scenario the page
    started from. Where a value cannot be set in the text (a block value replaced whole),
    the edited data is written as plain YAML instead, without comments (as ``calibrate``
    does)."""
    from ..scenario.load import scenario_text
    from ..scenario.paths import walk
    from ..scenario.text import edited_text, reads_as

    data = copy.deepcopy(prepared.data)
    changes: list[tuple[tuple[str | int, ...], Any]] = []
    for loc in prepared.overridden:
        changes.append((loc, walk(data, [str(k) for k in loc])[1]))
    for section, key in (("posterior", "file"), ("calibration", "observed"),
                         ("calibration", "forecast")):
        node = data.get(section)
        if not isinstance(node, dict):
            continue
        value = node.get(key)
        # a file, or a list of them (a record kept in several files)
        if isinstance(value, str):
            path: Any = str(beside(source, value))
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            path = [str(beside(source, v)) for v in value]
        else:
            continue
        if path != value:
            node[key] = path
            changes.append(((section, key), path))
    head = f"# {prepared.source}"
    if prepared.overrides:
        head += " with " + " ".join(prepared.overrides)
    head += "\n# written by `evplant serve`; run it with `evplant run FILE`\n"
    text = scenario_text(source)[0]
    edited = edited_text(text, prepared.lines, changes,
                         lambda old: "edited on the page" + (f" (was {old})" if old else ""))
    if edited is not None and reads_as(head + edited, data):
        return head + edited
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return f"{head}# (written as data: an edited value could not be set in the text)\n{body}"
