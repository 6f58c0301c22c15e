"""The page of a decision search (``report.html`` beside ``best-scenario.yaml``): the
best decisions, the objective's convergence, the trade-off between expected NPV and its
10th percentile, and the status of the constraints, trial by trial.

Built with the run report's page helpers (``evplant.report.page``), so it looks like
every other evplant page and opens offline.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..report import fmt
from ..report.page import Card, Section, document, figure, table, tables
from ..report.plot import Figure
from ..report.theme import BAD, GOOD, TARGET, style

if TYPE_CHECKING:
    from .decisions import DecisionResult, DecisionTrial

__all__ = ["render_decisions"]


def _value(objective: str, x: float) -> str:
    if not math.isfinite(x):
        return "\u2013"
    return fmt.money(x) if "npv" in objective else fmt.count(x)


def _status(res: DecisionResult, t: DecisionTrial) -> tuple[str, str]:
    cash = ("\u2013" if res.cash_floor is None else
            ("met" if t.lowest_cash >= res.cash_floor else "below the floor"))
    invest = ("\u2013" if res.max_investment is None else
              ("met" if t.investment <= res.max_investment else "over the cap"))
    return cash, invest


def _convergence(res: DecisionResult) -> Figure:
    x = list(range(1, len(res.trials) + 1))
    fig = Figure()
    for ok, name, colour in ((True, "feasible proposal", GOOD), (False, "infeasible", BAD)):
        pts = [(i, t.objective) for i, t in zip(x, res.trials, strict=True)
               if t.feasible == ok and math.isfinite(t.objective)]
        if pts:
            fig.add_scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers",
                            name=name, marker_color=colour, marker_size=8)
    best = [(i, v) for i, v in zip(x, res.convergence, strict=True) if math.isfinite(v)]
    fig.add_scatter(x=[p[0] for p in best], y=[p[1] for p in best], mode="lines",
                    line_shape="hv", name="best feasible so far", line_color=TARGET)
    style(fig, height=360, time_axis=False)
    fig.update_xaxes(title_text="proposal")
    fig.update_yaxes(title_text=res.objective)
    return fig


def _tradeoff(res: DecisionResult) -> Figure | None:
    pts = [t for t in res.trials if math.isfinite(t.npv_mean) and math.isfinite(t.npv_p10)]
    if not pts:
        return None
    front = res.tradeoff
    fig = Figure()
    for ok, name, colour in ((True, "feasible", "#90cdf4"), (False, "infeasible", BAD)):
        sel = [t for t in pts if t.feasible == ok]
        if sel:
            fig.add_scatter(
                x=[t.npv_mean / 1e9 for t in sel], y=[t.npv_p10 / 1e9 for t in sel],
                mode="markers", name=name, marker_color=colour, marker_size=8,
                text=[", ".join(f"{p}={v}" for p, v in t.values.items()) for t in sel],
                hovertemplate="%{text}<br>mean %{x:.2f} bn, P10 %{y:.2f} bn<extra></extra>")
    if front:
        fig.add_scatter(x=[t.npv_mean / 1e9 for t in front], y=[t.npv_p10 / 1e9 for t in front],
                        mode="lines+markers", name="no proposal better on both",
                        marker_color=GOOD, marker_size=10, line_color=GOOD)
    style(fig, height=420, time_axis=False)
    fig.update_xaxes(title_text="expected NPV, CNY bn")
    fig.update_yaxes(title_text="10th percentile of NPV, CNY bn")
    return fig


def render_decisions(res: DecisionResult) -> str:
    """The whole page of a decision search, self-contained."""
    feasible = sum(t.feasible for t in res.trials)
    cards = [Card("Proposals", fmt.count(len(res.trials)),
                  f"{fmt.count(feasible)} feasible, {res.replications} replications each")]
    if res.best is not None:
        at = next(i for i, t in enumerate(res.trials) if t is res.best) + 1
        cards.append(Card(f"Best {res.objective}", _value(res.objective, res.best.objective),
                          f"proposal {at} of {len(res.trials)}; its decisions below"))
    else:
        cards.append(Card("Best", "none", "no proposal met the constraints"))
    if res.cash_floor is not None:
        cards.append(Card("Cash floor", fmt.money(res.cash_floor), "every replication"))
    if res.max_investment is not None:
        cards.append(Card("Investment cap", fmt.money(res.max_investment, "USD"),
                          "every replication"))
    sections = []
    paths = list(res.trials[0].values) if res.trials else []
    if res.best is not None:
        b = res.best
        cash, invest = _status(res, b)
        rows = [[p, v] for p, v in b.values.items()] + [
            [res.objective, _value(res.objective, b.objective)],
            ["NPV, mean", _value("npv", b.npv_mean)],
            ["NPV, 10th percentile", _value("npv", b.npv_p10)],
            ["Lowest cash (any replication)", _value("npv", b.lowest_cash)],
            ["Investment (largest)", fmt.money(b.investment, "USD")
             if math.isfinite(b.investment) else "\u2013"],
            ["Cash floor", cash], ["Investment cap", invest]]
        sections.append(Section(
            "best", "Best decisions",
            "The proposal with the best objective among those meeting every constraint, "
            "over Monte Carlo replications on common random numbers (every proposal met "
            "the same draws). best-scenario.yaml beside this page is the scenario with "
            "these values, runnable as it is.",
            [table(["Decision or figure", "Value"], rows, numeric=(1,))]))
    sections.append(Section(
        "convergence", "Convergence",
        "The objective of each proposal in the order optuna's TPE sampler made them, and "
        "the best feasible one so far: a flat line at the end says more proposals would "
        "likely not find much better.", [figure(_convergence(res))]))
    fig = _tradeoff(res)
    if fig is not None:
        sections.append(Section(
            "tradeoff", "Expected NPV against its 10th percentile",
            "Each proposal's mean NPV and the NPV it beats in nine replications of ten. "
            "The green line joins the proposals no other beats on both: moving along it "
            "trades expected value for protection against bad luck.", [figure(fig)]))
    body = []
    mean = res.objective != "npv"  # else the objective is the mean NPV: not twice
    for i, t in enumerate(res.trials):
        cash, invest = _status(res, t)
        body.append([str(i + 1), *t.values.values(), _value(res.objective, t.objective),
                     *([_value("npv", t.npv_mean)] if mean else []), _value("npv", t.npv_p10),
                     _value("npv", t.lowest_cash),
                     fmt.money(t.investment, "USD") if math.isfinite(t.investment) else "\u2013",
                     cash, invest])
    # a zero-width space after each dot lets a long path wrap in its column's head
    heads = ["Proposal", *(p.replace(".", ".\u200b") for p in paths), res.objective,
             *(["NPV mean"] if mean else []), "NPV P10", "Lowest cash", "Investment",
             "Cash floor", "Investment cap"]
    n = len(paths)
    sections.append(Section(
        "constraints", "Proposals and constraints",
        "Every proposal with its figures and whether it met the cash floor (no "
        "replication's cash below it) and the investment cap (no replication's "
        "investment, the spend before the run plus the deepest the cash fell, above it).",
        [tables(table(heads, body, numeric=tuple(range(n + 1, n + 5 + mean))))]))
    return document(
        f"evplant: decisions, {res.objective}",
        f"{len(paths)} decisions, {len(res.trials)} proposals, {res.seconds:.0f} s",
        cards, sections,
        "evplant digital twin. Money in CNY unless marked US$; each proposal is a Monte "
        "Carlo run on the same seed.")
