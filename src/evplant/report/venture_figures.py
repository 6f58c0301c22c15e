"""Venture figures: supply, orders and backlog, sales network, market share, cash.

Money is CNY unless a column name ends in ``_usd``; charts show CNY in billions because
monthly flows run to billions and a planner compares them with the budget in bn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import data
from .data import Rows
from .plot import Figure, make_subplots
from .theme import BAD, GOOD, TARGET, style

BN = 1e-9


def price_per_car(rows: Rows) -> float | None:
    """Average revenue per delivered car over the horizon: the value of a lost kit."""
    delivered = data.total(rows, "delivered")
    revenue = data.total(rows, "revenue_cars_cny") or data.total(rows, "revenue")
    return revenue / delivered if delivered > 0 and revenue > 0 else None


def supply(rows: Rows) -> Figure | None:
    """Kits short each month, and the price factor of every component with one."""
    components = data.keys(rows, "component", "price_factor")
    short = data.has(rows, "kits_short")
    if not short and not components:
        return None
    x = data.months(rows)
    n = int(short) + int(bool(components))
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.09)
    r = 1
    if short:
        kits = data.filled(rows, "kits_short")
        price = price_per_car(rows)
        value = [k * price * BN if price else 0.0 for k in kits]
        fig.add_bar(
            x=x,
            y=kits,
            customdata=value,
            name="Kits short (cars not built)",
            marker_color=BAD,
            hovertemplate=(
                "%{y:,.0f} cars, \u2248 CNY %{customdata:.2f} bn of sales"
                if price
                else "%{y:,.0f} cars"
            ),
            row=r,
            col=1,
        )
        fig.update_yaxes(title_text="cars per month", tickformat=",", row=r, col=1)
        r += 1
    colours = ("#6b46c1", "#d69e2e", "#319795", "#b83280")
    for i, c in enumerate(components):
        fig.add_scatter(
            x=x,
            y=data.series(rows, f"{c}_price_factor"),
            name=f"{c.replace('_', ' ').capitalize()} price",
            mode="lines",
            line={"color": colours[i % len(colours)], "width": 2, "shape": "hv"},
            hovertemplate="\u00d7%{y:.2f}",
            row=r,
            col=1,
        )
    if components:
        fig.add_hline(y=1, line={"color": TARGET, "dash": "dash", "width": 1}, row=r, col=1)
        fig.update_yaxes(title_text="price vs normal (\u00d7)", row=r, col=1)
    return style(fig, height=260 * n + 60)


def _panel_line(fig: Figure, x: list[str], rows: Rows, key: str, r: int, **kw: Any) -> None:
    fig.add_scatter(x=x, y=data.series(rows, key), mode="lines", row=r, col=1, **kw)


def demand(rows: Rows) -> Figure | None:
    """Orders, deliveries and cancellations; the backlog; the customer's wait.

    The wait is roughly backlog / delivery rate, so on one chart the two curves sit on
    top of each other; separate panels keep both readable.
    """
    flows = [
        ("orders", "Orders", "#2b6cb0", None),
        ("export_orders", "Export orders", "#319795", "dot"),
        ("delivered", "Delivered", GOOD, None),
        ("cancelled", "Cancelled", BAD, None),
    ]
    flows = [f for f in flows if data.has(rows, f[0]) and any(data.filled(rows, f[0]))]
    panels = [
        p
        for p, ok in (
            ("flows", flows),
            ("backlog", data.has(rows, "backlog")),
            ("wait", data.has(rows, "wait_weeks")),
        )
        if ok
    ]
    if not panels:
        return None
    x = data.months(rows)
    heights = {"flows": 1.4, "backlog": 1.0, "wait": 1.0}
    fig = make_subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        row_heights=[heights[p] for p in panels],
    )
    for r, panel in enumerate(panels, start=1):
        if panel == "flows":
            for key, name, colour, dash in flows:
                _panel_line(
                    fig,
                    x,
                    rows,
                    key,
                    r,
                    name=name,
                    hovertemplate="%{y:,.0f}",
                    line={"color": colour, "width": 2, "dash": dash},
                )
            fig.update_yaxes(title_text="cars per month", tickformat=",", row=r, col=1)
        elif panel == "backlog":
            _panel_line(
                fig,
                x,
                rows,
                "backlog",
                r,
                name="Backlog (ordered, not delivered)",
                fill="tozeroy",
                line={"color": "#718096", "width": 1.5},
                fillcolor="rgba(160,174,192,0.35)",
                hovertemplate="%{y:,.0f}",
            )
            fig.update_yaxes(title_text="backlog, cars", tickformat=",", row=r, col=1)
        else:
            _panel_line(
                fig,
                x,
                rows,
                "wait_weeks",
                r,
                name="Wait for a new order",
                line={"color": "#6b46c1", "width": 2},
                hovertemplate="%{y:.1f} weeks",
            )
            fig.update_yaxes(title_text="wait, weeks", rangemode="tozero", row=r, col=1)
    return style(fig, height=200 * len(panels) + 140)


def sales(rows: Rows) -> Figure | None:
    """What the stores can sell against demand and orders; below, the stores open."""
    lines = [
        ("sales_capacity", "Sales capacity (cars a month the stores can handle)", "#2b6cb0", None),
        ("demand", "Demand", "#718096", "dash"),
        ("orders", "Orders taken", GOOD, None),
    ]
    lines = [line for line in lines if data.has(rows, line[0])]
    turned = data.has(rows, "turned_away") and any(data.filled(rows, "turned_away"))
    stores = data.has(rows, "stores")
    if not lines and not stores:
        return None
    x = data.months(rows)
    n = int(bool(lines or turned)) + int(stores)
    fig = make_subplots(
        rows=n,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        row_heights=[0.68, 0.32] if n == 2 else [1.0],
    )
    if lines or turned:
        for key, name, colour, dash in lines:
            _panel_line(
                fig,
                x,
                rows,
                key,
                1,
                name=name,
                hovertemplate="%{y:,.0f}",
                line={"color": colour, "width": 2, "dash": dash},
            )
        if turned:
            fig.add_bar(
                x=x,
                y=data.series(rows, "turned_away"),
                name="Turned away (no capacity)",
                marker_color=BAD,
                hovertemplate="%{y:,.0f}",
                row=1,
                col=1,
            )
        fig.update_yaxes(
            title_text="cars per month", tickformat=",", rangemode="tozero", row=1, col=1
        )
    if stores:
        _panel_line(
            fig,
            x,
            rows,
            "stores",
            n,
            name="Stores open",
            line={"color": "#dd6b20", "width": 2.5, "shape": "hv"},
            hovertemplate="%{y:,.0f} stores",
        )
        fig.update_yaxes(title_text="stores", rangemode="tozero", row=n, col=1)
    return style(fig, height=480 if n == 2 else 380)


def market(rows: Rows, brands: Mapping[str, Any] | None = None) -> Figure | None:
    """Share of the segment per brand; ``brands``: the run summary's names and colours
    per brand (``own`` the venture's), as the scenario gives them."""
    found = data.brands(rows)
    if not found:
        return None
    looks = brands or {}
    x = data.months(rows)
    fig = Figure()
    for b in found:
        own = b == "own"
        look = looks.get(b)
        look = look if isinstance(look, Mapping) else {}
        fallback = "Own brand" if own else b.replace("_", " ").title()
        fig.add_scatter(
            x=x,
            y=data.series(rows, f"share_{b}", 100.0),
            name=str(look.get("name") or fallback),
            mode="lines",
            line={"color": look.get("colour"), "width": 3 if own else 1.8},
            hovertemplate="%{y:.1f}%",
        )
    style(fig, height=380)
    fig.update_yaxes(title_text="share of the segment", ticksuffix="%", rangemode="tozero")
    return fig


def cash(rows: Rows, budget_usd: float | None) -> Figure | None:
    """Monthly flows, the cash position, and cumulative investment against the budget."""
    panels: list[Callable[[Figure, int], None]] = []
    flows = [k for k in ("revenue", "cost", "opex", "capex") if data.has(rows, k)]
    x = data.months(rows)

    def flows_panel(fig: Figure, r: int) -> None:
        looks = {
            "revenue": ("Revenue", GOOD, 1.0),
            "cost": ("Cost of cars", "#ed8936", -1.0),
            "opex": ("Opex", "#d69e2e", -1.0),
            "capex": ("Capex", "#6b46c1", -1.0),
        }
        for k in flows:
            name, colour, sign = looks[k]
            fig.add_bar(
                x=x,
                y=data.series(rows, k, sign * BN),
                name=name,
                marker_color=colour,
                hovertemplate="CNY %{y:.2f} bn",
                row=r,
                col=1,
            )
        if data.has(rows, "cash_flow"):
            fig.add_scatter(
                x=x,
                y=data.series(rows, "cash_flow", BN),
                name="Net cash flow",
                mode="lines",
                line={"color": "#1a202c", "width": 1.5},
                hovertemplate="CNY %{y:.2f} bn",
                row=r,
                col=1,
            )
        fig.update_yaxes(title_text="CNY bn per month", row=r, col=1)

    def cash_panel(fig: Figure, r: int) -> None:
        fig.add_scatter(
            x=x,
            y=data.series(rows, "cash", BN),
            name="Cash position",
            mode="lines",
            fill="tozeroy",
            line={"color": "#2b6cb0", "width": 2},
            fillcolor="rgba(43,108,176,0.15)",
            hovertemplate="CNY %{y:.1f} bn",
            showlegend=False,
            row=r,
            col=1,
        )
        fig.update_yaxes(title_text="cash, CNY bn", row=r, col=1)

    def invest_panel(fig: Figure, r: int) -> None:
        fig.add_scatter(
            x=x,
            y=data.series(rows, "cum_investment_usd", BN),
            name="Cumulative investment",
            mode="lines",
            line={"color": "#6b46c1", "width": 2.5},
            showlegend=False,
            hovertemplate="US$%{y:.2f} bn",
            row=r,
            col=1,
        )
        if budget_usd:
            fig.add_hline(
                y=budget_usd * BN,
                line={"color": BAD, "dash": "dash", "width": 1.5},
                annotation_text=f"budget US${budget_usd * BN:.0f} bn",
                annotation_position="bottom right",
                annotation_font={"color": BAD},
                row=r,
                col=1,
            )
        fig.update_yaxes(title_text="US$ bn", rangemode="tozero", row=r, col=1)

    if flows:
        panels.append(flows_panel)
    if data.has(rows, "cash"):
        panels.append(cash_panel)
    if data.has(rows, "cum_investment_usd"):
        panels.append(invest_panel)
    if not panels:
        return None
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.07)
    for r, panel in enumerate(panels, start=1):
        panel(fig, r)
    style(fig, height=250 * len(panels) + 80, barmode="relative", bargap=0.1)
    return fig
