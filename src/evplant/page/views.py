"""Results as page components, built from the report's own pieces: the run page's
headline cards and figures, the comparison's figures and differences table, the Monte
Carlo statistics and fan charts, the calibration's posterior table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from ..report import compare, figures, run_page
from ..report import venture_figures as vf
from ..report.data import is_venture, num, shop_label
from ..report.page import PLOTLY_CONFIG, Card
from ..report.plot import Figure
from .work import Outcome

LABELS = ("base", "edited")


def cards(items: Sequence[Card], cls: str = "cards", horizon: str = "") -> html.Div:
    """Cards; with ``horizon``, each says the months its figure covers."""
    return html.Div(
        [
            html.Div(
                [html.Div(c.label, className="k"), html.Div(c.value, className="v"),
                 html.Div(c.note, className="n") if c.note else None,
                 html.Div(horizon, className="hz") if horizon else None],
                className="card",
            )
            for c in items
        ],
        className=cls,
    )


def headline(outcome: Outcome) -> html.Div:
    """The run page's cards of the edited run, and below them the base run's."""
    edit, base = outcome.edit, outcome.base
    horizon = "first two years" if outcome.short else "full horizon"

    def over(run: Any) -> str:  # every figure says the months it covers
        return f"over {run.summary.to_dict().get('horizon', '')} ({horizon})"

    if not outcome.overrides:
        return html.Div([
            html.Div(f"Base, {horizon} (no change yet)", className="row-k"),
            cards(run_page.headline(base.monthly, base.summary.to_dict()),
                  horizon=over(base)),
        ])
    return html.Div([
        html.Div(f"Edited, {horizon}: {' '.join(outcome.overrides)}", className="row-k"),
        cards(run_page.headline(edit.monthly, edit.summary.to_dict()), horizon=over(edit)),
        html.Div("Base", className="row-k"),
        cards(run_page.headline(base.monthly, base.summary.to_dict()), "cards base",
              horizon=over(base)),
    ])


def graph(fig: Figure | None, ident: str) -> dcc.Graph | None:
    if fig is None:
        return None
    config: Any = PLOTLY_CONFIG
    return dcc.Graph(id=ident, figure=fig.to_dict(), config=config,
                     className="fig")


def table(headers: Sequence[str], body: Sequence[Sequence[str]], ident: str,
          numeric: Sequence[int] = ()) -> html.Table:
    num = set(numeric)
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h, className="num" if i in num else None)
                                for i, h in enumerate(headers)])),
            html.Tbody([
                html.Tr([html.Td(v, className="num" if i in num else None)
                         for i, v in enumerate(row)])
                for row in body
            ]),
        ],
        id=ident,
    )


def differences(outcome: Outcome) -> html.Div:
    """Every summary figure of both runs and B - A (the comparison page's table); with
    replications, the paired differences of the KPIs and their 95% intervals first."""
    parts: list[Any] = []
    if outcome.paired is not None:
        parts.append(html.H3(
            f"Differences over {outcome.replications} replications (common random numbers)"))
        parts.append(paired_table(outcome.paired))
    headers, body = compare.summary_rows(
        outcome.base.summary.to_dict(), outcome.edit.summary.to_dict(), LABELS
    )
    moved = [row for row in body if row[1] != row[2]]  # as shown: what a planner sees move
    parts.append(html.H3(f"What changed, one run each (seed 0): {len(moved)} of {len(body)} "
                         "figures"))
    parts.append(table(headers, moved, "moved-table", numeric=(1, 2, 3)))
    parts.append(html.Details([html.Summary("Every figure of both runs"),
                               table(headers, body, "diff-table", numeric=(1, 2, 3))]))
    return html.Div(parts)


def paired_table(cmp: Any) -> html.Table:
    from ..experiments import kpis as K

    body = []
    for k in cmp.kpi_names:
        p = cmp.paired[k]
        body.append([K.label(k), K.fmt(k, p.mean_a), K.fmt(k, p.mean_b),
                     K.fmt(k, p.diff.mean, diff=True),
                     K.fmt_range(k, p.diff.ci_low, p.diff.ci_high, diff=True)])
    return table(["KPI", "base, mean", "edited, mean", "edited \u2212 base", "95% CI"], body,
                 "paired-table", numeric=(1, 2, 3, 4))


def bottleneck(outcome: Outcome) -> html.Div:
    """Where output is held back, in both runs: the main shop and station and the
    months each shop was the bottleneck (Roser's active-period method)."""
    def line(label: str, s: Mapping[str, Any]) -> html.P:
        shop, station = s.get("bottleneck_shop"), s.get("bottleneck_station")
        counts = s.get("bottleneck_shop_months") or {}
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        rest = ", ".join(f"{shop_label(str(k))} {v}" for k, v in ranked)
        text = (f"{shop_label(str(shop))} ({station})" if shop else "none measured")
        return html.P([html.B(f"{label}: "), text, f"; months as bottleneck: {rest}" if rest
                       else ""])

    return html.Div([line("Base", outcome.base.summary.to_dict()),
                     line("Edited", outcome.edit.summary.to_dict())], id="bottleneck-text")


def comparison_figures(outcome: Outcome) -> list[Any]:
    """The comparison page's figures: output, learning and money, base against edited."""
    months, a, b = compare.align(outcome.base.monthly, outcome.edit.monthly)
    out = [
        graph(compare.production(months, a, b, LABELS), "fig-compare-production"),
        graph(compare.money(months, a, b, LABELS), "fig-compare-money"),
        graph(compare.learning(months, a, b, LABELS), "fig-compare-learning"),
    ]
    return [g for g in out if g is not None]


def run_figures(outcome: Outcome) -> list[Any]:
    """The run page's figures of the edited run."""
    rows = outcome.edit.monthly
    summary = outcome.edit.summary.to_dict()
    figs = [
        ("Production and capacity", figures.production(rows, run_page.target_of(summary)),
         "fig-production"),
        ("Ramp-up", figures.ramp(rows), "fig-ramp"),
        ("Shops and bottleneck", figures.shops(rows), "fig-shops"),
        ("OEE and losses", figures.oee_breakdown(rows), "fig-oee"),
    ]
    if is_venture(rows):
        budget = num(summary.get("budget_usd"))
        figs += [
            ("Supply shortfalls", vf.supply(rows), "fig-supply"),
            ("Orders, backlog and waiting time", vf.demand(rows), "fig-demand"),
            ("Stores and sales capacity", vf.sales(rows), "fig-sales"),
            ("Cash and investment", vf.cash(rows, budget), "fig-cash"),
        ]
    return [html.Div([html.H3(title), graph(fig, ident)]) for title, fig, ident in figs
            if fig is not None]


def monte_carlo(result: Any) -> html.Div:
    """Statistics of every KPI and fan charts of the monthly paths."""
    from ..experiments.report import PATH_TITLES, fan_chart, kpi_rows

    parts: list[Any] = [
        html.P(f"{result.replications} replications of {result.scenario} in "
               f"{result.seconds:.1f} s; folder {result.out_dir.name}"),
        table(["KPI", "mean", "95% CI of the mean", "P10", "P50", "P90", "reached"],
              kpi_rows(result), "mc-table", numeric=(1, 2, 3, 4, 5, 6)),
    ]
    for name in ("produced", "cash"):
        if name in result.paths and name in PATH_TITLES:
            title, ytitle, scale, colour = PATH_TITLES[name]
            parts.append(graph(fan_chart(result.months, result.paths[name], title, ytitle,
                                         scale, colour), f"fig-mc-{name}"))
    return html.Div(parts)


def calibration(result: Any) -> html.Div:
    """The posterior of each calibrated parameter and how well the fit meets the record."""
    from ..calibration.outputs import fit_rows, parameter_rows

    post = result.posterior
    body = [[r["label"], f"{r['prior_p50']:.4g}", f"{r['posterior_p10']:.4g}",
             f"{r['posterior_p50']:.4g}", f"{r['posterior_p90']:.4g}", f"{r['r_hat']:.2f}"]
            for r in parameter_rows(post)]
    fit = fit_rows(post)
    inside = sum(1 for r in fit if r["within_p10_p90"])
    return html.Div([
        html.P(f"{post.simulations} simulations in {post.seconds:.1f} s; {inside} of "
               f"{len(fit)} statements of the record within the fit's P10-P90; calibrated "
               f"scenario {result.name}"),
        table(["parameter", "prior P50", "P10", "P50", "P90", "R-hat"], body, "calib-table",
              numeric=(1, 2, 3, 4, 5)),
    ])
