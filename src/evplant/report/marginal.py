"""The run page's marginal values: where the next yuan of engineering buys the most cars.

Reads the dict ``MarginalValues.to_dict()`` writes (``marginal.json`` of a run made with
``evplant run --marginal``): one value per lever (a server at a station, a place in a
store, a second of cycle time saved), in cars a year per unit with its standard error
and, where the scenario prices it, per unit of money. The priced levers are ranked by
cars a year per million of money (a bar chart with error bars, and a table); a
second table ranks cycle time by cars a year per second saved, which has no price.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from . import fmt
from .data import num
from .page import Card, Section, figure, table, tables
from .plot import Figure
from .theme import GOOD, style

__all__ = ["marginal_cards", "marginal_section", "ranked"]

_WHAT = {"server": "one more server", "buffer": "one more store place",
         "cycle_time": "one second saved"}


def _rows(values: Any) -> list[Mapping[str, Any]]:
    return [v for v in values if isinstance(v, Mapping)] if isinstance(values, list) else []


def ranked(data: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(priced levers by cars a year per unit of money, unpriced ones by cars a year
    per unit), best first; a lever that buys nothing or loses cars comes last."""
    vals = _rows(data.get("values"))
    priced = [v for v in vals if num(v.get("per_year_per_cost")) is not None]
    unpriced = [v for v in vals if num(v.get("per_year_per_cost")) is None]
    priced.sort(key=lambda v: -(num(v.get("per_year_per_cost")) or 0.0))
    unpriced.sort(key=lambda v: (v.get("kind") != "cycle_time", -(num(v.get("per_year")) or 0.0)))
    return priced, unpriced


def _se_year(v: Mapping[str, Any]) -> float:
    se = num(v.get("per_year_se"))
    return se if se is not None else (num(v.get("per_hour_se")) or 0.0) * 8760.0


def _chart(priced: Sequence[Mapping[str, Any]]) -> Figure:
    top = list(priced[:15])
    per_m = [(num(v.get("per_year_per_cost")) or 0.0) * 1e6 for v in top]
    err = [_se_year(v) / (num(v.get("cost")) or 1.0) * 1e6 for v in top]
    labels = [f"{v.get('name')} ({_WHAT.get(str(v.get('kind')), '')})" for v in top]
    fig = Figure()
    fig.add_bar(
        y=labels,
        x=per_m,
        orientation="h",
        marker_color=GOOD,
        error_x={"type": "data", "array": err, "visible": True},
        hovertemplate="%{x:,.1f} cars a year per million<extra>%{y}</extra>",
        name="cars a year per million",
    )
    style(fig, height=140 + 30 * len(top), time_axis=False, showlegend=False)
    fig.update_xaxes(title_text="cars a year per million of money (\u00b1 one standard error)")
    fig.update_yaxes(autorange="reversed")
    return fig


def _unit_cost(v: Mapping[str, Any]) -> str:
    return fmt.money(v.get("cost")) if num(v.get("cost")) is not None else "\u2013"


def marginal_section(data: Mapping[str, Any] | None) -> Section | None:
    """The section, or None without values."""
    if not data or not _rows(data.get("values")):
        return None
    priced, unpriced = ranked(data)
    year = data.get("year")
    base = (num(data.get("throughput_per_hour")) or 0.0) * 8760.0
    dropped = data.get("screened_out") or []
    caption = (
        "The bottleneck ranking that matters: the cars a year one more server at a "
        "station, one more place in a store between shops, or one second of cycle time "
        "saved would add"
        + (f" in {year}" if year else "")
        + f" (from {fmt.count(base)} cars), each from paired runs of the scenario with and "
        "without the change on the same random numbers, with one standard error. Divided "
        "by the scenario's prices (plant.costs), they rank where the next yuan of "
        "engineering buys the most cars."
        + (f" {len(dropped)} levers worth under {fmt.pct(num(data.get('screen_share')), 0)} "
           "of the best of their kind on their phase's mature line were not run."
           if dropped else "")
    )
    s = Section("marginal", "Where the next yuan buys the most cars", caption)
    parts = []
    if priced:
        s.parts.append(figure(_chart(priced)))
        parts.append(table(
            ["Rank", "Change", "Where", "Cars a year", "\u00b1", "Price",
             "Cars a year per million"],
            [[str(i + 1), _WHAT.get(str(v.get("kind")), str(v.get("kind"))), str(v.get("name")),
              fmt.count(v.get("per_year")), fmt.count(_se_year(v)), _unit_cost(v),
              fmt.count((num(v.get("per_year_per_cost")) or 0.0) * 1e6, 1)]
             for i, v in enumerate(priced)],
            numeric=(0, 3, 4, 5, 6), title="Ranked by cars per unit of money"))
    if unpriced:
        parts.append(table(
            ["Change", "Where", "Cars a year", "\u00b1"],
            [[_WHAT.get(str(v.get("kind")), str(v.get("kind"))), str(v.get("name")),
              fmt.count(v.get("per_year"), 1), fmt.count(_se_year(v), 1)] for v in unpriced],
            numeric=(2, 3), title="Without a price (by cars a year per unit)"))
    s.parts.append(tables(*parts))
    if not priced:
        s.parts.append('<p class="caption">' + html.escape(
            "The scenario prices nothing (no plant.costs section), so the ranking is by cars "
            "alone.") + "</p>")
    return s


def marginal_cards(data: Mapping[str, Any] | None) -> list[Card]:
    """A headline card naming the lever the next unit of money buys most at."""
    if not data:
        return []
    priced, unpriced = ranked(data)
    top = priced[0] if priced else next((v for v in unpriced if v.get("kind") != "cycle_time"),
                                        None)
    if top is None or (num(top.get("per_year")) or 0.0) <= 0:
        return []
    note = (f"{fmt.count((num(top.get('per_year_per_cost')) or 0.0) * 1e6, 1)} cars a year "
            "per million" if top in priced else f"{fmt.count(top.get('per_year'))} cars a year")
    return [Card("Next yuan buys most at", str(top.get("name")),
                 f"{_WHAT.get(str(top.get('kind')), '')}: {note}")]
