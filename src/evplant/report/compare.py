"""The page comparing two runs, A and B: mainly the plant with and without its partner.

Runs are lined up by month (a month only one run has counts as zero output in the
other), and every difference reads B - A, so a positive number means B did better on
output and cash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import data, fmt
from .data import Rows, phase_label, shop_label
from .page import Card, Section, document, figure, table
from .plot import Figure, make_subplots
from .run_page import horizon_text, produced_total, target_of
from .theme import RUN_COLOURS, TARGET, month_range, style

BN = 1e-9


def align(
    a_rows: Rows, b_rows: Rows
) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """Both runs on the union of their months; a missing month is an empty row (what
    :func:`production`, :func:`learning` and :func:`money` take)."""
    a = {str(r.get("month")): r for r in a_rows}
    b = {str(r.get("month")): r for r in b_rows}
    months = sorted(set(a) | set(b))
    return (
        months,
        [a.get(m, {"month": m}) for m in months],
        [b.get(m, {"month": m}) for m in months],
    )


def production(months: list[str], a: Rows, b: Rows, labels: tuple[str, str]) -> Figure | None:
    if not data.has(a, "produced") and not data.has(b, "produced"):
        return None
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4]
    )
    for rows, name, colour in ((a, labels[0], RUN_COLOURS[0]), (b, labels[1], RUN_COLOURS[1])):
        fig.add_scatter(
            x=months,
            y=data.series(rows, "produced"),
            name=name,
            mode="lines",
            line={"color": colour, "width": 2},
            hovertemplate="%{y:,.0f}",
            row=1,
            col=1,
        )
    diff = [
        pb - pa
        for pa, pb in zip(data.filled(a, "produced"), data.filled(b, "produced"), strict=True)
    ]
    fig.add_scatter(
        x=months,
        y=data.cumulative(diff),
        name=f"Cumulative cars, {labels[1]} \u2212 {labels[0]}",
        mode="lines",
        fill="tozeroy",
        line={"color": "#4a5568"},
        fillcolor="rgba(74,85,104,0.2)",
        hovertemplate="%{y:+,.0f} cars",
        row=2,
        col=1,
    )
    fig.update_yaxes(title_text="cars per month", tickformat=",", row=1, col=1)
    fig.update_yaxes(title_text="cumulative difference, cars", tickformat="+,", row=2, col=1)
    return style(fig, height=600)


def learning(months: list[str], a: Rows, b: Rows, labels: tuple[str, str]) -> Figure | None:
    """Learning factor per phase in both runs: where a partner's help shows first."""
    phases = [
        p
        for p in data.phases(a) + data.phases(b)
        if data.has(a, f"cycle_factor_{p}") or data.has(b, f"cycle_factor_{p}")
    ]
    phases = list(dict.fromkeys(phases))
    if not phases:
        return None
    fig = Figure()
    dashes = ("solid", "dot", "dash", "dashdot")
    for rows, name, colour in ((a, labels[0], RUN_COLOURS[0]), (b, labels[1], RUN_COLOURS[1])):
        for i, p in enumerate(phases):
            cap = data.series(rows, f"capacity_{p}")
            y = [
                v if c is not None and c > 0 else None
                for v, c in zip(data.series(rows, f"cycle_factor_{p}"), cap, strict=True)
            ]
            fig.add_scatter(
                x=months,
                y=y,
                name=f"{name}, {phase_label(p)}",
                mode="lines",
                line={"color": colour, "width": 2, "dash": dashes[i % len(dashes)]},
                hovertemplate="\u00d7%{y:.2f}",
            )
    fig.add_hline(y=1, line={"color": TARGET, "dash": "dash", "width": 1})
    style(fig, height=400)
    fig.update_yaxes(title_text="cycle-time factor (\u00d7)")
    # Learning is over within a year or two; open on that stretch, up to half a year
    # after the last phase opens or stops learning (double-click zooms out).
    busy = [
        i
        for t in fig.data
        if t.get("y") is not None
        for i, v in enumerate(t["y"])
        if v is not None and (v > 1.01 or i == 0 or t["y"][i - 1] is None)
    ]
    if busy and max(busy) + 7 < len(months):
        fig.update_xaxes(range=month_range(months[: max(busy) + 7]), dtick=None, tickformat=None)
    return fig


def money(months: list[str], a: Rows, b: Rows, labels: tuple[str, str]) -> Figure | None:
    has_cash = data.has(a, "cash") and data.has(b, "cash")
    has_rev = data.has(a, "revenue") and data.has(b, "revenue")
    if not has_cash and not has_rev:
        return None
    fig = make_subplots(rows=2 if has_cash else 1, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    r = 1
    if has_cash:
        for rows, name, colour in ((a, labels[0], RUN_COLOURS[0]), (b, labels[1], RUN_COLOURS[1])):
            fig.add_scatter(
                x=months,
                y=data.series(rows, "cash", BN),
                name=f"Cash, {name}",
                mode="lines",
                line={"color": colour, "width": 2},
                hovertemplate="CNY %{y:.1f} bn",
                row=1,
                col=1,
            )
        fig.update_yaxes(title_text="cash, CNY bn", row=1, col=1)
        r = 2
        ca, cb = data.series(a, "cash", BN), data.series(b, "cash", BN)
        diff: list[float | None] = [
            y - x if x is not None and y is not None else None for x, y in zip(ca, cb, strict=True)
        ]
        fig.add_scatter(
            x=months,
            y=diff,
            name=f"Cash difference, {labels[1]} \u2212 {labels[0]}",
            mode="lines",
            line={"color": "#1a202c", "width": 2},
            hovertemplate="CNY %{y:+.2f} bn",
            row=r,
            col=1,
        )
    if has_rev:
        rd = [
            y - x
            for x, y in zip(
                data.filled(a, "revenue", BN), data.filled(b, "revenue", BN), strict=True
            )
        ]
        fig.add_scatter(
            x=months,
            y=data.cumulative(rd),
            name=f"Cumulative revenue difference, {labels[1]} \u2212 {labels[0]}",
            mode="lines",
            line={"color": "#2f855a", "width": 2, "dash": "dot"},
            hovertemplate="CNY %{y:+.2f} bn",
            row=r,
            col=1,
        )
    fig.update_yaxes(title_text="difference, CNY bn", row=r, col=1)
    return style(fig, height=560 if has_cash else 360)


def _flat(summary: Mapping[str, Any]) -> dict[str, tuple[str, str, Any]]:
    """Summary entries as {id: (format key, label, value)}; per-year and per-shop
    dictionaries become one entry each."""
    out: dict[str, tuple[str, str, Any]] = {}
    for key, value in summary.items():
        if isinstance(value, Mapping) and any(isinstance(v, Mapping) for v in value.values()):
            out[key] = (key, fmt.label(key), dict(value))  # named things: their names
        elif isinstance(value, Mapping):
            for sub, v in value.items():
                if key == "produced_by_year":
                    name = f"Produced in {sub}"
                elif key == "capacity_by_year":
                    name = f"Capacity in {sub}"
                elif key == "bottleneck_shop_months":
                    name = f"Months with {shop_label(str(sub)).lower()} as bottleneck"
                else:
                    name = f"{fmt.label(key)}: {sub}"
                out[f"{key}/{sub}"] = (key, name, v)
        elif not isinstance(value, list | tuple):
            out[key] = (key, fmt.label(key), value)
    return out


def _value(key: str, value: Any) -> str:
    if key == "partner":
        return str(value) if value else "none"
    if key == "bottleneck_shop_months" and value is None:
        return "0"
    return fmt.auto(key, value)


def _merged(a: list[str], b: list[str]) -> list[str]:
    """A's order, with each entry only B has placed after B's entry before it, so
    related rows (the months per shop as bottleneck) stay together."""
    out = list(a)
    for i, ident in enumerate(b):
        if ident not in out:
            out.insert(out.index(b[i - 1]) + 1 if i > 0 else len(out), ident)
    return out


def summary_rows(
    a: Mapping[str, Any], b: Mapping[str, Any], labels: tuple[str, str]
) -> tuple[list[str], list[list[str]]]:
    """The differences table as (headers, rows of text): every summary figure of A and
    B and B - A (the table :func:`render_compare` shows; the planning page too)."""
    fa, fb = _flat(a), _flat(b)
    body = []
    for ident in _merged(list(fa), list(fb)):
        key, name, _ = fa.get(ident) or fb[ident]
        if key == "bottleneck_shop_months":
            # A shop missing from one run's counts was the bottleneck for 0 months.
            va, vb = (fa.get(ident) or (0, 0, 0))[2], (fb.get(ident) or (0, 0, 0))[2]
        elif ident not in fa or ident not in fb:
            # A figure only one run reports (a venture figure against a plant-only run).
            va = _value(key, fa[ident][2]) if ident in fa else "\u2013"
            vb = _value(key, fb[ident][2]) if ident in fb else "\u2013"
            body.append([name, va, vb, "\u2013"])
            continue
        else:
            va, vb = fa[ident][2], fb[ident][2]
        body.append([name, _value(key, va), _value(key, vb), fmt.auto_diff(key, va, vb)])
    return ["Figure", f"A: {labels[0]}", f"B: {labels[1]}", "B \u2212 A"], body


def summary_table(a: Mapping[str, Any], b: Mapping[str, Any], labels: tuple[str, str]) -> str:
    headers, body = summary_rows(a, b, labels)
    return table(headers, body, numeric=(1, 2, 3))


def headline(
    a_rows: Rows, a: Mapping[str, Any], b_rows: Rows, b: Mapping[str, Any], labels: tuple[str, str]
) -> list[Card]:
    pa, pb = produced_total(a_rows, a), produced_total(b_rows, b)
    cards = [
        Card(f"Produced, A: {labels[0]}", fmt.count(pa), horizon_text(a, a_rows)),
        Card(f"Produced, B: {labels[1]}", fmt.count(pb), horizon_text(b, b_rows)),
        Card(
            "Difference B \u2212 A",
            f"{fmt.signed_count(pb - pa)} cars",
            fmt.pct((pb - pa) / pa, 1, signed=True) + " on A" if pa else "",
        ),
    ]
    ma, mb = a.get("first_month_at_target_rate"), b.get("first_month_at_target_rate")
    if "first_month_at_target_rate" in a or "first_month_at_target_rate" in b:
        cards.append(
            Card(
                f"At {fmt.count(target_of(a, ()))}/yr rate, A / B",
                f"{fmt.month(ma, 'never')} / {fmt.month(mb, 'never')}",
                f"B: {fmt.month_gap(ma, mb)}",
            )
        )
    if "npv_cny" in a and "npv_cny" in b:
        cards.append(
            Card(
                "NPV difference B \u2212 A",
                fmt.auto_diff("npv_cny", a["npv_cny"], b["npv_cny"]),
                f"A {fmt.money(a['npv_cny'])}, B {fmt.money(b['npv_cny'])}",
            )
        )
    return cards


def render_compare(
    a_rows: list[dict[str, Any]],
    a_summary: dict[str, Any],
    a_label: str,
    b_rows: list[dict[str, Any]],
    b_summary: dict[str, Any],
    b_label: str,
) -> str:
    """A self-contained HTML page setting run B beside run A."""
    labels = (a_label, b_label)
    months, a, b = align(a_rows, b_rows)
    sections = []
    s = Section(
        "production",
        "Production, month by month",
        f"Cars built each month in A ({a_label}) and B ({b_label}); below, the running "
        "total of the difference. A curve that rises and then levels off means B got "
        "there sooner but both end at the same rate; one that keeps rising means B "
        "also runs faster at maturity.",
    )
    fig = production(months, a, b, labels)
    if fig is not None:
        s.parts.append(figure(fig))
        sections.append(s)
    fig = learning(months, a, b, labels)
    if fig is not None:
        sections.append(
            Section(
                "learning",
                "Learning on cycle times",
                "The Wright learning factor on cycle times per phase in both runs (1.00 = mature), "
                "shown over the ramp-up; double-click the chart for the whole horizon."
                + (
                    " An engineering partner brings experience in at the start, so the run "
                    "with one starts lower and reaches maturity sooner."
                    if a_summary.get("partner") != b_summary.get("partner")
                    else ""
                ),
                [figure(fig)],
            )
        )
    fig = money(months, a, b, labels)
    if fig is not None:
        sections.append(
            Section(
                "money",
                "Cash and revenue",
                "Cash position of both runs and, below, the differences B \u2212 A in cash and "
                "in cumulative revenue (CNY bn).",
                [figure(fig)],
            )
        )
    sections.append(
        Section(
            "summary",
            "Summary figures",
            "Every summary figure of both runs, with the difference B \u2212 A (months: how "
            "much later B is; shares: percentage points).",
            [summary_table(a_summary, b_summary, labels)],
        )
    )

    def describe(summary: Mapping[str, Any]) -> str:
        partner = summary.get("partner")
        bits = [str(summary.get("scenario") or "unnamed scenario")]
        if "partner" in summary:
            bits.append(f"partner {partner}" if partner else "no partner")
        return ", ".join(bits)

    return document(
        f"{a_label} vs {b_label}",
        f"A: {a_label} ({describe(a_summary)}) \u00b7 B: {b_label} ({describe(b_summary)})",
        headline(a_rows, a_summary, b_rows, b_summary, labels),
        sections,
        "evplant digital twin. Differences read B \u2212 A; money in CNY unless marked US$.",
    )
