"""What the form says, as ``--set`` items, checked by the one input pipeline.

The page never edits YAML itself: a lever moved or a ``path=value`` line typed becomes
an override item exactly as ``evplant run --set`` takes it, and
``evplant.scenario.load.prepare`` reads, applies and validates them. Its
``EvplantError`` problems are shown next to the field that caused them, word for word
what the CLI prints; a form with a problem changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import EvplantError, clip
from ..months import months as month_range
from ..scenario.load import Prepared, beside, prepare
from .levers import Lever

#: the first months a change reruns at once; the full horizon runs on demand
SHORT_MONTHS = 24
EXTRA = "extra"  # the field name of the free ``path=value`` box


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
    for raw in (extra or "").splitlines():
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


def check(source: str, items: Sequence[str], origin: Mapping[str, int],
          base: Prepared | None = None) -> Checked:
    """Run the items through ``prepare``; attribute each problem to the item it names
    (``--set <item>``), or to the extra box when it names none (a rule across fields).

    With ``base`` (the scenario as the page started it), an edit that changes a file the
    scenario names (its posterior samples, its observed record) is refused: the browser
    never names a file on the server's disk."""
    try:
        prepared = prepare(source, items)
    except EvplantError as exc:
        problems: dict[int, list[str]] = {}
        for prob in exc.problems:
            text = str(prob)
            hit = next((it for it in items if f"--set {clip(it)}:" in text or
                        prob.file == f"--set {clip(it)}"), None)
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
    accepts from any folder: the data after the overrides, with the files it names
    (posterior samples, the observed record) made absolute, since they were relative to
    the scenario the page started from."""
    data = copy.deepcopy(prepared.data)
    posterior = data.get("posterior")
    if isinstance(posterior, dict) and isinstance(posterior.get("file"), str):
        posterior["file"] = str(beside(source, posterior["file"]))
    calib = data.get("calibration")
    if isinstance(calib, dict) and isinstance(calib.get("observed"), str):
        calib["observed"] = str(beside(source, calib["observed"]))
    head = f"# {prepared.source}"
    if prepared.overrides:
        head += " with " + " ".join(prepared.overrides)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return f"{head}\n# written by `evplant serve`; run it with `evplant run FILE`\n{body}"
