"""The page for one run: header, plant sections, venture sections when present."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..months import HOLD_MONTHS, held_from
from . import data, explain, figures, fmt, gantt
from . import venture_figures as vf
from .data import Rows, phase_label, shop_label
from .forecast_band import band_section
from .marginal import marginal_cards, marginal_section
from .page import Card, Section, document, figure, table, tables

if TYPE_CHECKING:
    from ..experiments.forecast import ForecastRow

# Summary keys the plant sections already show in their own tables.
SHOWN = {
    "scenario",
    "horizon",
    "produced_by_year",
    "capacity_by_year",
    "bottleneck_shop_months",
    "shops",
    "brands",
    "notes",
    "timeline",
    "phase_settings",
    "central",
}


def first_held(rows: Rows, key: str, level: float) -> str | None:
    """For a run written without the summary's figure: the first month from which a
    rolling three-month mean of ``key`` holds ``level`` (:func:`evplant.months.held_from`)."""
    i = held_from(data.series(rows, key), level)
    return data.months(rows)[i] if i is not None else None


def horizon_text(summary: Mapping[str, Any], rows: Rows) -> str:
    h = summary.get("horizon")
    if isinstance(h, str) and ".." in h:
        a, b = h.split("..", 1)
    else:
        ms = [m for m in data.months(rows) if m]
        a, b = (ms[0], ms[-1]) if ms else ("", "")
    return f"{fmt.month(a, '?')} \u2013 {fmt.month(b, '?')}" if a or b else "unknown horizon"


def target_of(summary: Mapping[str, Any], rows: Rows = ()) -> float:
    """The run's target rate, vehicles a year: the summary's (the scenario's), or for a
    run written without one, its highest monthly capacity at a year's pace."""
    return data.num(summary.get("rate_target_per_year")) or 12 * (data.peak(rows, "capacity") or 0)


def shop_order(summary: Mapping[str, Any]) -> list[str]:
    """The scenario's shop order, as the run summary gives it."""
    order = summary.get("shops")
    return [str(s) for s in order] if isinstance(order, list | tuple) else []


def produced_total(rows: Rows, summary: Mapping[str, Any]) -> float:
    v = data.num(summary.get("vehicles_produced"))
    return v if v is not None else data.total(rows, "produced")


def headline(rows: Rows, summary: Mapping[str, Any]) -> list[Card]:
    target = target_of(summary, rows)
    first = summary.get("first_month_at_target_rate")
    if first is None:
        first = first_held(rows, "produced", target / 12)
    cap = summary.get("first_month_capacity_at_target_rate")
    held = f"a {HOLD_MONTHS}-month mean holds it from then on"
    out = [
        Card(
            "Vehicles produced",
            fmt.count(produced_total(rows, summary)),
            horizon_text(summary, rows),
        ),
        Card(
            f"At the {fmt.count(target)}/yr rate from",
            fmt.month(first),
            f"{held}; capacity from {fmt.month(cap)}"
            if "first_month_capacity_at_target_rate" in summary
            else held,
        ),
    ]
    best = data.num(summary.get("peak_month_produced")) or data.peak(rows, "produced")
    if best is not None:
        pace = f"{fmt.count(best * 12)} a year at that pace"
        if target and best * 12 > target:
            pace += f", {fmt.pct(best * 12 / target, 0)} of the target: see Production"
        out.append(Card("Best month", fmt.count(best), pace))
    card = explain.bottleneck_card(rows, summary)
    if card is not None:
        station = summary.get("bottleneck_station") or _most_common(rows, "bottleneck_station")
        if station:
            card = Card(card.label, card.value, f"at {station}; {card.note}")
        out.append(card)
    if data.is_venture(rows) or "npv_cny" in summary:
        out += venture_cards(summary)
    return out


def venture_cards(summary: Mapping[str, Any]) -> list[Card]:
    out = []
    if "npv_cny" in summary:
        rate = data.num(summary.get("discount_rate_per_year"))
        note = f"at {fmt.pct(rate, 0)} a year" if rate is not None else ""
        out.append(Card("Net present value", fmt.money(summary["npv_cny"]), note))
    if "lowest_cash_cny" in summary:
        out.append(
            Card(
                "Lowest cash",
                fmt.money(summary["lowest_cash_cny"]),
                fmt.month(summary.get("lowest_cash_month"), ""),
            )
        )
    if "break_even_month" in summary:
        out.append(
            Card(
                "Break-even",
                fmt.month(summary["break_even_month"]),
                "operating cash flow stays positive",
            )
        )
    if "cum_investment_usd" in summary:
        budget = data.num(summary.get("budget_usd"))
        used = data.num(summary.get("cum_investment_usd"))
        note = (
            f"{fmt.pct(used / budget, 0)} of the {fmt.money(budget, 'USD')} budget"
            if budget and used is not None
            else ""
        )
        sunk = data.num(summary.get("spent_before_start_cny")) or 0.0
        sunk += data.num(summary.get("capex_before_start_cny")) or 0.0
        if sunk:
            note += ("; " if note else "") + f"incl. {fmt.money(sunk)} spent before the run"
        out.append(Card("Investment", fmt.money(summary["cum_investment_usd"], "USD"), note))
    return out


def _most_common(rows: Rows, key: str) -> str | None:
    c = Counter(s for s in data.strings(rows, key) if s)
    return c.most_common(1)[0][0] if c else None


def _add(section: Section, fig: Any) -> bool:
    if fig is None:
        return False
    section.parts.append(figure(fig))
    return True


def note(text: str) -> str:
    return f'<p class="caption">{html.escape(text)}</p>'


def plant_sections(rows: Rows, summary: Mapping[str, Any]) -> list[Section]:
    target = target_of(summary, rows)
    out: list[Section] = []
    first = summary.get("first_month_at_target_rate") or first_held(rows, "produced", target / 12)
    s = Section(
        "production",
        "Production and capacity",
        "Cars built each month, stacked by plant phase, against capacity: what the lines "
        "could build that month given the learning reached, the shifts worked and the "
        f"working days. The dashed line is the target rate of {fmt.count(target)} cars a "
        f"year ({fmt.count(target / 12)} a month); output holds it from "
        f"{fmt.month(first)} (the first month from which every {HOLD_MONTHS}-month mean "
        "reaches it). A gap between a bar and the capacity line is output lost to "
        "breakdowns, starving and blocking, or to missing parts. "
        + explain.nameplate_text(rows, summary),
    )
    if _add(s, figures.production(rows, target)):
        out.append(s)
    out += timeline_sections(summary)
    central = explain.central_section(summary)
    if central is not None:
        out.append(central)

    mature = data.peak(rows, "capacity")
    reached = []
    for p in data.phases(rows):
        top = data.peak(rows, f"capacity_{p}")
        m = figures.first_month_at(rows, f"produced_{p}", 0.9 * top) if top else None
        reached.append(
            f"{phase_label(p)} first ran at 90% of its mature rate in {fmt.month(m)}"
            if m
            else f"{phase_label(p)} has not yet run at 90% of its mature rate"
        )
    s = Section(
        "ramp",
        "Ramp-up",
        "Monthly output as a share of the mature rate, taken as the highest monthly "
        f"capacity in the horizon ({fmt.count(mature)} cars), for the whole plant and for "
        "each phase against its own highest capacity. Below, the learning factor on cycle "
        "times (Wright's law): 1.50 means every cycle takes 50% longer than at maturity; "
        "1.00 is mature. " + ("; ".join(reached) + "." if reached else ""),
    )
    if _add(s, figures.ramp(rows)):
        out.append(s)

    s = Section(
        "shops",
        "Shops and bottleneck",
        "Share of scheduled time each shop spends working. The strip below marks, month by "
        "month, the shop that held output back (hover for the station). "
        + _bottleneck_sentence(rows, summary),
    )
    order = shop_order(summary)
    if _add(s, figures.shops(rows, order)):
        states = figures.time_states(rows, order)
        if states is not None:
            s.parts.append(
                note(
                    "Where each shop's time goes, averaged over the horizon. Starved: waiting "
                    "for work from upstream; blocked: waiting for space downstream. The "
                    "bottleneck tends to lose the least time to both, and any hour it is down "
                    "for repair is an hour lost for the whole plant."
                )
            )
            s.parts.append(figure(states))
        out.append(s)

    s = Section(
        "oee",
        "OEE and losses",
        "Overall equipment effectiveness = availability \u00d7 performance \u00d7 quality, "
        "averaged over the horizon (ramp-up included). Each bar splits planned time into "
        "OEE and the three losses taken in turn: breakdowns (availability), running slower "
        "than the mature cycle (performance) and cars needing rework (quality).",
    )
    if _add(s, figures.oee_breakdown(rows, order)):
        over = figures.oee_over_time(rows, order)
        if over is not None:
            s.parts.append(note("OEE month by month: the ramp-up shows as the climb at the start."))
            s.parts.append(figure(over))
        out.append(s)

    out.append(key_figures(rows, summary))
    return out


def timeline_sections(summary: Mapping[str, Any]) -> list[Section]:
    """The scenario's timeline as a Gantt chart, with the run's notes on its dates."""
    rows = summary.get("timeline")
    fig = gantt.timeline(rows, summary.get("horizon")) if isinstance(rows, list) else None
    notes = [str(n) for n in summary.get("notes") or [] if n]
    if fig is None and not notes:
        return []
    s = Section(
        "timeline",
        "Timeline",
        "Each phase's construction, trial production and production from its start, the "
        "launch of each variant and the span of each capex item; the shaded band is the "
        "run's horizon. Capex dated before it is invested before month one; what falls "
        "after it is outside the run."
        + (" Notes on this run:" if notes else ""),
    )
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        s.parts.append(f'<ul class="caption">{items}</ul>')
    _add(s, fig)
    return [s]


def _bottleneck_sentence(rows: Rows, summary: Mapping[str, Any]) -> str:
    counts = summary.get("bottleneck_shop_months")
    if not isinstance(counts, Mapping) or not counts:
        counts = Counter(s for s in data.strings(rows, "bottleneck_shop") if s)
    if not counts:
        return ""
    ranked = sorted(counts.items(), key=lambda kv: -(data.num(kv[1]) or 0))
    months_total = sum(data.num(v) or 0 for _, v in ranked)
    shop, n = ranked[0]
    station = summary.get("bottleneck_station") or _most_common(rows, "bottleneck_station")
    text = (
        f"{shop_label(str(shop))} was the bottleneck in {fmt.count(n)} of "
        f"{fmt.count(months_total)} producing months"
    )
    text += f", most often at {station}." if station else "."
    others = [f"{shop_label(str(k))} {fmt.count(v)}" for k, v in ranked[1:]]
    return text + (f" Other months: {', '.join(others)}." if others else "")


def _year_values(summary: Mapping[str, Any], key: str, rows: Rows, col: str) -> dict[str, float]:
    v = summary.get(key)
    if isinstance(v, Mapping) and v:
        return {str(k): data.num(x) or 0.0 for k, x in v.items()}
    out: dict[str, float] = {}
    for m, x in zip(data.months(rows), data.filled(rows, col), strict=True):
        if m[:4].isdigit():
            out[m[:4]] = out.get(m[:4], 0.0) + x
    return out


def key_figures(rows: Rows, summary: Mapping[str, Any]) -> Section:
    target = target_of(summary, rows)
    produced = _year_values(summary, "produced_by_year", rows, "produced")
    capacity = _year_values(summary, "capacity_by_year", rows, "capacity")
    years = sorted(set(produced) | set(capacity))
    body = []
    for y in years:
        p, c = produced.get(y), capacity.get(y)
        body.append(
            [
                y,
                fmt.count(p),
                fmt.count(c),
                fmt.pct(p / c, 0) if p is not None and c else "\u2013",
                fmt.pct(p / target, 0) if p is not None else "\u2013",
            ]
        )
    tp, tc = sum(produced.values()), sum(capacity.values())
    body.append(
        ["Total", fmt.count(tp), fmt.count(tc), fmt.pct(tp / tc, 0) if tc else "\u2013", ""]
    )
    by_year = table(
        ["Year", "Produced", "Capacity", "Used", f"Of {fmt.count(target)}"],
        body,
        numeric=(1, 2, 3, 4),
        total_last=True,
        title="By year",
    )
    facts = [
        [fmt.label(k), fmt.auto(k, v)]
        for k, v in summary.items()
        if k not in SHOWN and not isinstance(v, Mapping | list | tuple)
    ]
    counts = summary.get("bottleneck_shop_months")
    if isinstance(counts, Mapping) and counts:
        ranked = sorted(counts.items(), key=lambda kv: -(data.num(kv[1]) or 0))
        facts.append(
            [
                "Months as bottleneck",
                ", ".join(f"{shop_label(str(k))} {fmt.count(v)}" for k, v in ranked),
            ]
        )
    parts = [by_year]
    if facts:
        parts.append(table(["Figure", "Value"], facts, numeric=(1,), title="Run summary"))
    return Section(
        "key-figures",
        "Key figures",
        "The run in numbers. Capacity is what the lines could have built; the gap to "
        "production is lost to breakdowns, starving and blocking, and missing parts. 'Used' "
        f"is production as a share of capacity; the last column compares production with "
        f"the target of {fmt.count(target)} cars a year. The run summary lists every "
        "figure the run reported.",
        [tables(*parts)],
    )


def venture_sections(rows: Rows, summary: Mapping[str, Any]) -> list[Section]:
    out: list[Section] = []
    short = data.total(rows, "kits_short")
    price = vf.price_per_car(rows)
    cost = (
        f" At the average revenue per car ({fmt.money(price)}) that is about "
        f"{fmt.money(short * price)} of sales delayed or lost."
        if price and short
        else ""
    )
    s = Section(
        "supply",
        "Supply shortfalls",
        "Kits short: cars the build plan wanted but the parts on hand did not cover. "
        f"Over the horizon {fmt.count(short)} cars were short.{cost} Below, component "
        "prices against normal: in a shortage they rise (broker prices), and so does the "
        "cost of every car built.",
    )
    if _add(s, vf.supply(rows)):
        out.append(s)

    wait = data.num(summary.get("mean_wait_weeks"))
    s = Section(
        "demand",
        "Orders, backlog and waiting time",
        "Orders taken against cars delivered, and the cancellations a long wait causes. "
        "The backlog is cars ordered but not yet delivered; the wait is how long a new "
        "order would take to deliver at the current rate"
        + (f" (horizon average {fmt.count(wait, 1)} weeks)." if wait is not None else ".")
        + (" " + explain.demand_text(rows, summary) if explain.demand_text(rows, summary) else ""),
    )
    if _add(s, vf.demand(rows)):
        orders = explain.demand_table(rows)
        if orders:
            s.parts.append(orders)
        out.append(s)

    stores = data.peak(rows, "stores")
    s = Section(
        "sales",
        "Stores and sales capacity",
        "The sales network: the cars a month the stores can sell against demand and the "
        "orders taken, and below, the stores open. Demand beyond sales capacity is turned "
        "away"
        + (" (red bars)" if any(data.filled(rows, "turned_away")) else "")
        + (f". The network peaks at {fmt.count(stores)} stores." if stores else "."),
    )
    if _add(s, vf.sales(rows)):
        out.append(s)

    s = Section(
        "market",
        "Market share",
        f"Share of the segment for {summary.get('brand') or 'the venture'} and its main "
        "rivals, month by month.",
    )
    if _add(s, vf.market(rows, summary.get("brands"))):
        out.append(s)

    budget = data.num(summary.get("budget_usd"))
    bits = []
    if "npv_cny" in summary:
        bits.append(f"NPV {fmt.money(summary['npv_cny'])}")
    if summary.get("lowest_cash_cny") is not None:
        bits.append(
            f"lowest cash {fmt.money(summary['lowest_cash_cny'])} in "
            f"{fmt.month(summary.get('lowest_cash_month'), '?')}"
        )
    if "break_even_month" in summary:
        bits.append(f"break-even {fmt.month(summary['break_even_month'])}")
    if "cum_investment_usd" in summary and budget:
        used = data.num(summary["cum_investment_usd"]) or 0.0
        bits.append(
            f"investment {fmt.money(used, 'USD')} of {fmt.money(budget, 'USD')} "
            f"({fmt.pct(used / budget, 0)})"
        )
    s = Section(
        "cash",
        "Cash and investment",
        "Monthly revenue against cost of cars sold, operating expenses and capital "
        "spending (CNY bn), the cash position they add up to, and the cumulative "
        "investment the parent must put in (the spend before the run plus the deepest the "
        "cash has fallen) against the budget in US$. "
        + (_sentence("; ".join(bits)) if bits else ""),
    )
    if _add(s, vf.cash(rows, budget)):
        out.append(s)
    return out


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def render_run(
    rows: list[dict[str, Any]],
    summary: dict[str, Any],
    *,
    title: str,
    marginal: Mapping[str, Any] | None = None,
    forecast: Sequence[ForecastRow] = (),
    forecast_source: str = "",
) -> str:
    """The complete, self-contained HTML report of one run; ``marginal``, the plant's
    marginal values (``MarginalValues.to_dict()``), adds their ranking; ``forecast``
    (the scenario's own forecast table) draws its band behind the run's deliveries."""
    scenario = summary.get("scenario") or "unnamed scenario"
    sub = [f"Scenario {scenario}", horizon_text(summary, rows)]
    if "partner" in summary:
        partner = summary.get("partner")
        sub.append(f"engineering partner: {partner}" if partner else "no engineering partner")
    sections = plant_sections(rows, summary)
    band = band_section(rows, forecast, forecast_source) if forecast else None
    if band is not None:
        sections.insert(0, band)
    ranking = marginal_section(marginal)
    if ranking is not None:  # beside the bottleneck: the ranking that acts on it
        at = next((i + 1 for i, s in enumerate(sections) if s.id == "shops"), len(sections))
        sections.insert(at, ranking)
    if data.is_venture(rows):
        sections += venture_sections(rows, summary)
    return document(
        title,
        " \u00b7 ".join(sub),
        headline(rows, summary) + marginal_cards(marginal),
        sections,
        "evplant digital twin. Money in CNY unless marked US$; one run of the simulation "
        "with one random seed, so single months carry noise"
        + (", at the centre of its uncertain values (see that section); evplant mc gives "
           "the spread." if summary.get("central") else "."),
    )
