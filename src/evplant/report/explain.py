"""What a run's headline figures rest on, in the report's words: the uncertain values
set to their centre, the settings behind output above the nameplate, the bottleneck's
method and runner-up, and orders waiting beside the capacity that would serve them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from . import data, fmt
from .data import Rows, phase_label, shop_label
from .page import Card, Section, table, tables

#: a runner-up bottleneck is named when its share of the months, or of its working
#: time, is within this many percentage points of the main one's
CLOSE_POINTS = 10.0


def central_section(summary: Mapping[str, Any]) -> Section | None:
    """The uncertain values this run set to the centre of their laws (``evplant run``
    does, so a single run sits among Monte Carlo's replications)."""
    rows = summary.get("central")
    if not isinstance(rows, list) or not rows:
        return None
    body = [
        [
            str(r.get("label") or r.get("path")),
            str(r.get("path")),
            "posterior median"
            if r.get("law") == "posterior"
            else f"median of its {r.get('law')} law",
            fmt.number(r.get("written")),
            fmt.number(r.get("central")),
        ]
        for r in rows
        if isinstance(r, Mapping)
    ]
    return Section(
        "central",
        "Uncertain values at their centre",
        "The scenario lists these values as uncertain (its uncertainty: section, or its "
        "calibration's posterior). This run uses the centre of each law, the median Monte "
        "Carlo draws around, in place of the value written in the file, so that it sits "
        "among the replications of evplant mc rather than at one side of them. Pin a "
        "value with --set path=value to run it as written.",
        [tables(table(["Value", "Path", "Centre", "Written", "Used"], body, numeric=(3, 4)))],
    )


def nameplate_text(rows: Rows, summary: Mapping[str, Any]) -> str:
    """Why output or capacity runs above the target rate, from the settings that produce
    it; empty when it does not."""
    target = data.num(summary.get("rate_target_per_year")) or 0.0
    produced = summary.get("produced_by_year")
    capacity = summary.get("capacity_by_year")
    if not target or not isinstance(produced, Mapping) or not isinstance(capacity, Mapping):
        return ""
    made_by_year = [(str(y), data.num(v) or 0.0) for y, v in produced.items()]
    over = [(y, v) for y, v in made_by_year if v > target]
    if not over:
        return ""
    year, made = max(over, key=lambda yv: yv[1])
    first = min(y for y, _ in over)
    text = (
        f"Output exceeds the target of {fmt.count(target)} a year from {first} (up to "
        f"{fmt.count(made)} in {year}, {fmt.pct(made / target, 0)} of it; capacity "
        f"{fmt.count(data.num(capacity.get(year)))}). Capacity comes from the working "
        "calendars and cycle times, not from the nameplates:"
    )
    settings = summary.get("phase_settings")
    parts = []
    for p in settings if isinstance(settings, list) else []:
        if not isinstance(p, Mapping):
            continue
        top = data.peak(rows, f"capacity_{p.get('phase')}")
        parts.append(
            f"{phase_label(str(p.get('phase')))} (nameplate "
            f"{fmt.count(p.get('nameplate_per_year'))} a year) works "
            f"{fmt.count(p.get('shifts'))} shift{'s' if p.get('shifts') != 1 else ''} of "
            f"{fmt.number(p.get('hours'))} h, {fmt.count(p.get('days_per_week'))} days a week "
            f"from {fmt.month(str(p.get('from'))[:7])}, at {fmt.number(p.get('cycle_time_scale'))} "
            "\u00d7 its shops' stated cycle times"
            + (f", for up to {fmt.count(12 * top)} a year" if top else "")
        )
    return text + (" " + "; ".join(parts) + "." if parts else " see the Timeline.")


def bottleneck_card(rows: Rows, summary: Mapping[str, Any]) -> Card | None:
    """The main bottleneck, how it was found (Roser's active periods, month by month),
    and the runner-up where the two are close."""
    counts = summary.get("bottleneck_shop_months")
    if not isinstance(counts, Mapping) or not counts:
        counts = Counter(s for s in data.strings(rows, "bottleneck_shop") if s)
    shop = summary.get("bottleneck_shop")
    if not shop and counts:
        shop = max(counts, key=lambda k: data.num(counts[k]) or 0)
    if not shop:
        return None
    total = sum(data.num(v) or 0 for v in counts.values())
    n = data.num(counts.get(shop)) or 0
    note = (
        f"longest active periods (Roser's method) in {fmt.count(n)} of {fmt.count(total)} months"
        if total
        else "longest active periods (Roser's method)"
    )
    every = {*data.shops(rows), *counts, str(shop)}
    util = {s: data.mean(data.series(rows, f"util_{s}")) for s in every}
    ranked = sorted((s for s in counts if s != shop), key=lambda s: -(data.num(counts[s]) or 0))
    busier = [s for s in util if s != shop and (util[s] or 0) > (util.get(str(shop)) or 0)]
    runner = ranked[0] if ranked else None
    if busier:
        runner = max(busier, key=lambda s: util[s] or 0)
    if runner is not None and total:
        gap_months = 100 * ((n - (data.num(counts.get(runner)) or 0)) / total)
        u_main, u_run = util.get(str(shop)), util.get(runner)
        gap_util = 100 * abs((u_main or 0) - (u_run or 0)) if u_main and u_run else 100.0
        k = fmt.count(counts.get(runner, 0))
        if runner in busier and u_main and u_run:
            note += (
                f"; {shop_label(runner)} works more of its time ({fmt.pct(u_run, 0)} against "
                f"{fmt.pct(u_main, 0)}) but had the longest active periods in {k} months"
            )
        elif gap_months <= CLOSE_POINTS or gap_util <= CLOSE_POINTS / 2:
            note += f"; runner-up {shop_label(runner)} ({k} months"
            if u_main and u_run:
                note += f", working {fmt.pct(u_run, 0)} of its time against {fmt.pct(u_main, 0)}"
            note += ")"
    return Card("Main bottleneck", shop_label(str(shop)), note)


def demand_text(rows: Rows, summary: Mapping[str, Any]) -> str:
    """Orders cancelled and waiting over the horizon, beside the capacity that would have
    served them; empty for a run without orders."""
    if not data.has(rows, "cancelled") or not data.has(rows, "backlog"):
        return ""
    months = len(data.months(rows))
    years = months / 12 if months else 0.0
    cancelled = data.total(rows, "cancelled")
    backlog = data.series(rows, "backlog")
    end = next((b for b in reversed(backlog) if b is not None), None)
    capacity = data.total(rows, "capacity")
    if not years or not capacity:
        return ""
    per_year = capacity / years
    lost = cancelled / years
    text = (
        f"Over the {fmt.number(years)} years, {fmt.count(cancelled)} orders were cancelled "
        f"({fmt.count(lost)} a year) and {fmt.count(end)} were still waiting at the end. "
        f"The plant's capacity averaged {fmt.count(per_year)} a year: serving the cancelled "
        f"orders too would have needed about {fmt.count(lost)} a year more "
        f"({fmt.pct(lost / per_year, 0)} more capacity)"
    )
    if end:
        text += f", and clearing the final backlog within a year {fmt.count(end)} more"
    text += "."
    wait = data.num(summary.get("mean_wait_weeks"))
    if wait is not None and wait > 26:
        text += (
            f" A mean wait of {fmt.count(wait, 1)} weeks held for the whole horizon means "
            "demand outruns the plant throughout: check the demand settings, or whether "
            "more capacity should be planned."
        )
    return text


def demand_table(rows: Rows) -> str:
    """Year by year: orders, deliveries, cancellations, the backlog at the year's end and
    the capacity; 'short of capacity' is the year's cancelled orders and final backlog as
    a share of its capacity: what more capacity would have served them within the year."""
    if not data.has(rows, "cancelled") or not data.has(rows, "backlog"):
        return ""
    years: dict[str, dict[str, float]] = {}
    for row in rows:
        m = str(row.get("month") or "")
        if not m[:4].isdigit():
            continue
        y = years.setdefault(m[:4], {"orders": 0.0, "delivered": 0.0, "cancelled": 0.0,
                                     "capacity": 0.0, "backlog": 0.0})
        for key in ("orders", "delivered", "cancelled", "capacity"):
            y[key] += data.num(row.get(key)) or 0.0
        y["backlog"] = data.num(row.get("backlog")) or 0.0
    body = [
        [
            y,
            fmt.count(v["orders"]),
            fmt.count(v["delivered"]),
            fmt.count(v["cancelled"]),
            fmt.count(v["backlog"]),
            fmt.count(v["capacity"]),
            fmt.pct((v["cancelled"] + v["backlog"]) / v["capacity"], 0)
            if v["capacity"]
            else "\u2013",
        ]
        for y, v in sorted(years.items())
    ]
    return tables(
        table(
            ["Year", "Orders", "Delivered", "Cancelled", "Backlog at end", "Capacity",
             "Short of capacity"],
            body,
            numeric=(1, 2, 3, 4, 5, 6),
            title="Orders against capacity",
        )
    )
