"""A scenario's dates tied together: construction, trial production, start of
production, launches and capex, against each other and against the horizon.

- :func:`delay`: a phase's ``delay_months`` moves its timeline (its construction, trial
  production, start of production and shift regimes, the capex items that name it, and
  the launch of the variants it is the first to build); applied to the scenario's data
  before validation, so every layer reads the moved dates;
- :func:`problems`: the dates refused, each at its field (construction that ends before
  it starts, production before construction ends, a launch before its start of
  production, phase capex starting after production, production before the horizon);
- :func:`notes`: what a run says about its dates (a moved phase, spend booked outside
  the run, phases or launches beyond it);
- :func:`run_notes`: orders that piled up against phases that could not build them;
- :func:`gantt`: the timeline as rows for the report's chart.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..months import month_label, month_number

if TYPE_CHECKING:
    from ..records import Record
    from .schema import Scenario

Problem = tuple[tuple[str | int, ...], str, object]


# --- moving a phase ---------------------------------------------------------------------


def _shift_month(value: Any, months: int) -> Any:
    """``'2025-07'`` moved by ``months``; anything else as it was (validation reports it)."""
    text = value.isoformat()[:7] if isinstance(value, dt.date) else value
    if not isinstance(text, str) or len(text) != 7:
        return value
    try:
        return month_label(month_number(text) + months)
    except ValueError:
        return value


def _shift_day(value: Any, months: int) -> Any:
    """``'2025-07-01'`` moved by ``months`` (the day kept, or the month's last)."""
    text = value.isoformat() if isinstance(value, dt.date) else value
    if not isinstance(text, str):
        return value
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return value
    label = month_label(month_number(day.isoformat()) + months)
    year, mon = int(label[:4]), int(label[5:])
    return dt.date(year, mon, min(day.day, calendar.monthrange(year, mon)[1])).isoformat()


def _items(node: Any, key: str) -> list[Any]:
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, list) else []


def _window(node: Any, months: int) -> None:
    if isinstance(node, dict):
        for key in ("start", "end"):
            if key in node:
                node[key] = _shift_month(node[key], months)


def delay(data: Any) -> Any:
    """Scenario data with every phase's ``delay_months`` applied (a new copy; the data
    given is not changed). A variant's launch moves with the phase that builds it first
    (by the start of production as written)."""
    phases = _items(data.get("plant") if isinstance(data, dict) else None, "phases")
    moves = {}
    for ph in phases:
        d = ph.get("delay_months") if isinstance(ph, dict) else None
        if isinstance(d, int) and not isinstance(d, bool) and d != 0:
            moves[str(ph.get("name"))] = d
    if not moves:
        return data
    data = copy.deepcopy(data)
    phases = _items(data["plant"], "phases")
    first: dict[str, tuple[str, str]] = {}  # variant -> (start of production, phase)
    for ph in phases:
        if not isinstance(ph, dict):
            continue
        sop = str(ph.get("sop"))
        for v in ph.get("mix") or {}:
            if v not in first or sop < first[v][0]:
                first[str(v)] = (sop, str(ph.get("name")))
        d = moves.get(str(ph.get("name")), 0)
        if not d:
            continue
        ph["sop"] = _shift_day(ph.get("sop"), d)
        _window(ph.get("construction"), d)
        _window(ph.get("trial_production"), d)
        for regime in _items(ph, "shifts"):
            if isinstance(regime, dict) and "start" in regime:
                regime["start"] = _shift_day(regime["start"], d)
    venture = data.get("venture")
    if not isinstance(venture, dict):
        return data
    for item in _items(venture.get("finance"), "capex"):
        d = moves.get(str(item.get("phase"))) if isinstance(item, dict) else None
        if d:
            for key in ("start_month", "end_month"):
                if key in item:
                    item[key] = _shift_month(item[key], d)
    market = venture.get("market")
    variants = market.get("variants") if isinstance(market, dict) else None
    for v, vm in (variants or {}).items() if isinstance(variants, dict) else ():
        d = moves.get(first.get(str(v), ("", ""))[1])
        if d and isinstance(vm, dict) and "launch_month" in vm:
            vm["launch_month"] = _shift_month(vm["launch_month"], d)
    return data


# --- what is refused --------------------------------------------------------------------


def _first_builders(sc: Scenario) -> dict[str, tuple[str, str]]:
    """Variant -> (its first start of production, the phase)."""
    out: dict[str, tuple[str, str]] = {}
    for ph in sc.plant.phases:
        for v in ph.mix:
            if v not in out or ph.sop < out[v][0]:
                out[v] = (ph.sop, ph.name)
    return out


def problems(sc: Scenario, started: Sequence[str] = ()) -> list[Problem]:
    """The scenario's dates that contradict each other or the horizon: (location,
    message, value) per problem. ``started``: phases whose ramp a run's state gives
    (:mod:`evplant.state`), which may start production before the horizon."""
    out: list[Problem] = []
    start = sc.horizon.start
    for i, ph in enumerate(sc.plant.phases):
        at: tuple[str | int, ...] = ("plant", "phases", i)
        c = ph.construction
        if c.end < c.start:
            out.append(
                ((*at, "construction", "end"), f"must not be before its start ({c.start})", c.end)
            )
        if ph.sop[:7] <= c.end:
            after = month_label(month_number(c.end) + 1)
            out.append(
                (
                    (*at, "sop"),
                    f"{ph.sop} is not after construction ends ({c.end}); allowed: from {after}-01",
                    ph.sop,
                )
            )
        t = ph.trial_production
        if t is not None:
            if t.end < t.start:
                out.append(
                    (
                        (*at, "trial_production", "end"),
                        f"must not be before its start ({t.start})",
                        t.end,
                    )
                )
            if t.start < c.start:
                out.append(
                    (
                        (*at, "trial_production", "start"),
                        f"{t.start} is before construction starts; allowed: from {c.start}",
                        t.start,
                    )
                )
            if t.end > ph.sop[:7]:
                out.append(
                    (
                        (*at, "trial_production", "end"),
                        f"{t.end} is after start of production ({ph.sop}); allowed: by "
                        f"{ph.sop[:7]}",
                        t.end,
                    )
                )
        if ph.sop[:7] < start and ph.name not in started:
            out.append(
                (
                    (*at, "sop"),
                    f"{ph.sop} is before the horizon's start ({start}); allowed: from "
                    f"{start}-01, or a run from a state that gives the phase's ramp (--state)",
                    ph.sop,
                )
            )
    if sc.venture is None:
        return out
    first = _first_builders(sc)
    for v, vm in sc.venture.market.variants.items():
        if v in first and vm.launch_month < first[v][0][:7]:
            sop, phase = first[v]
            out.append(
                (
                    ("venture", "market", "variants", v, "launch_month"),
                    f"{vm.launch_month} is before {v}'s first start of production ({sop}, "
                    f"{phase}); allowed: from {sop[:7]} (plant.phases.{phase}.delay_months "
                    "moves a phase and its launches together)",
                    vm.launch_month,
                )
            )
    sops = {ph.name: ph.sop for ph in sc.plant.phases}
    for k, item in enumerate(sc.venture.finance.capex):
        if item.phase is None:
            continue
        at = ("venture", "finance", "capex", k)
        if item.phase not in sops:
            out.append(
                (
                    (*at, "phase"),
                    f"{item.phase!r} is not a phase of the plant ({', '.join(sops)})",
                    item.phase,
                )
            )
        elif item.start_month > sops[item.phase][:7]:
            sop = sops[item.phase]
            out.append(
                (
                    (*at, "start_month"),
                    f"{item.start_month} is after {item.phase}'s start of production ({sop}); "
                    f"allowed: by {sop[:7]}",
                    item.start_month,
                )
            )
    return out


# --- what a run says about its dates ------------------------------------------------------


def _bn(cny: float) -> str:
    return f"CNY {cny / 1e9:,.2f} bn"


def notes(sc: Scenario) -> list[str]:
    """Plain sentences on the scenario's dates: moved phases, spend and events that fall
    outside the horizon (booked before month one, or beyond the run)."""
    out: list[str] = []
    start, end = sc.horizon.start, sc.horizon.end
    first = _first_builders(sc)
    for ph in sc.plant.phases:
        if ph.delay_months:
            moved = ["construction", "shift regimes"]
            if ph.trial_production is not None:
                moved.insert(1, "trial production")
            if sc.venture is not None:
                items = [c.name for c in sc.venture.finance.capex if c.phase == ph.name]
                if items:
                    moved.append(f"capex ({', '.join(items)})")
                launches = [
                    v for v in sc.venture.market.variants if first.get(v, ("", ""))[1] == ph.name
                ]
                if launches:
                    moved.append(f"the launch of {', '.join(launches)}")
            out.append(
                f"{ph.name} moved {ph.delay_months:+d} months: start of production {ph.sop}, "
                f"with its {', '.join(moved[:-1])} and {moved[-1]}"
            )
        if ph.sop[:7] > end:
            out.append(
                f"{ph.name} starts production on {ph.sop}, after the horizon ends ({end}): it "
                "builds nothing in this run"
            )
    if sc.venture is None:
        return out
    for v, vm in sc.venture.market.variants.items():
        if vm.launch_month > end:
            out.append(f"{v} launches in {vm.launch_month}, after the horizon ends: no sales")
    s, e = month_number(start), month_number(end)
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for item in sc.venture.finance.capex:
        first_month, spend = item.monthly()
        at = first_month + np.arange(spend.size)
        lo, hi = float(spend[at < s].sum()), float(spend[at > e].sum())
        if lo > 0:
            before[item.name] = lo
        if hi > 0:
            after[item.name] = hi
    if before:
        out.append(
            f"capex dated before the horizon's start ({start}) is invested before month one, "
            f"in cash and NPV: {_bn(sum(before.values()))} ({', '.join(before)})"
        )
    if after:
        out.append(
            f"capex dated after the horizon's end ({end}) falls outside the run: "
            f"{_bn(sum(after.values()))} ({', '.join(after)})"
        )
    return out


def run_notes(sc: Scenario, records: Sequence[Record]) -> list[str]:
    """Orders that piled up against phases that could not build them: per variant, the
    months it had a backlog while no phase building it had any capacity, and the months
    its quoted wait stood at the channel's cap."""
    from ..records import PhaseMonth, VariantSales

    if sc.venture is None:
        return []
    capacity: dict[tuple[str, str], float] = {}
    for r in records:
        if isinstance(r, PhaseMonth):
            capacity[(r.month, r.phase)] = r.capacity
    builders = {v: [ph.name for ph in sc.plant.phases if v in ph.mix] for v in sc.variants}
    first = _first_builders(sc)
    cap = sc.venture.channel.max_wait_weeks
    idle: dict[str, list[tuple[str, float]]] = {}
    capped: dict[str, list[str]] = {}
    for r in records:
        if not isinstance(r, VariantSales):
            continue
        can = sum(capacity.get((r.month, p), 0.0) for p in builders.get(r.variant, []))
        if r.backlog > 0 and can <= 0:
            idle.setdefault(r.variant, []).append((r.month, r.backlog))
        if r.wait_weeks >= cap - 1e-9:
            capped.setdefault(r.variant, []).append(r.month)
    out = []
    for v, months in idle.items():
        last, backlog = months[-1]
        where = f" ({first[v][1]} starts production {first[v][0]})" if v in first else ""
        out.append(
            f"{v}: orders piled up for {len(months)} months with no phase able to build them"
            f"{where}: a backlog of {backlog:,.0f} by {last}"
        )
    for v, at_cap in capped.items():
        out.append(
            f"{v}: the quoted wait stood at its cap of {cap:g} weeks in {len(at_cap)} months "
            f"(from {at_cap[0]}): demand the plant cannot meet"
        )
    return out


# --- the chart -----------------------------------------------------------------------------


def gantt(sc: Scenario) -> list[dict[str, str]]:
    """The timeline as rows: ``task`` (the chart's row), ``kind`` (construction, trial
    production, production, launch, capex), ``start`` and ``end`` (``YYYY-MM-DD``, the
    end exclusive; a launch's end is its start)."""

    def first_day(month: str) -> str:
        return f"{month}-01"

    def after(month: str) -> str:
        return f"{month_label(month_number(month) + 1)}-01"

    rows: list[dict[str, str]] = []
    end = after(sc.horizon.end)
    for ph in sc.plant.phases:
        c = ph.construction
        rows.append(
            {
                "task": ph.name,
                "kind": "construction",
                "start": first_day(c.start),
                "end": after(c.end),
            }
        )
        t = ph.trial_production
        if t is not None:
            rows.append(
                {
                    "task": ph.name,
                    "kind": "trial production",
                    "start": first_day(t.start),
                    "end": after(t.end),
                }
            )
        rows.append(
            {"task": ph.name, "kind": "production", "start": ph.sop, "end": max(end, ph.sop)}
        )
    if sc.venture is None:
        return rows
    for v, vm in sc.venture.market.variants.items():
        day = first_day(vm.launch_month)
        rows.append({"task": f"{v} launch", "kind": "launch", "start": day, "end": day})
    for item in sc.venture.finance.capex:
        rows.append(
            {
                "task": f"capex: {item.name}",
                "kind": "capex",
                "start": first_day(item.start_month),
                "end": after(item.end_month),
            }
        )
    return rows
