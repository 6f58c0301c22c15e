"""The calibration's page: the record against the fitted model, priors against
posteriors, and the sampler's diagnostics. Self-contained (plotly.js embedded once);
figures are plain plotly JSON, built without plotly's figure classes."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from itertools import count
from typing import Any

import numpy as np

from ..report.fmt import by_name
from ..report.fmt import count as fmt_count
from ..report.page import PLOTLY_CONFIG, Card, Section, document, table
from .inference import Posterior
from .observations import METRICS

_ids = count()
OBSERVED = {"eq": "circle", "approx": "circle-open", "ge": "triangle-up", "le": "triangle-down"}
BLUE, GREY, INK = "#2b6cb0", "#a0aec0", "#1a202c"


def plot(data: list[dict[str, Any]], layout: dict[str, Any], height: int = 380) -> str:
    """A figure as an inline fragment relying on the page's single plotly.js."""
    fid = f"fig-cal-{next(_ids)}"
    base = {"height": height, "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
            "template": {"layout": {"font": {"family": "system-ui, sans-serif"}}},
            "paper_bgcolor": "#fff", "plot_bgcolor": "#fff"}
    spec = json.dumps({"data": data, "layout": {**base, **layout}, "config": PLOTLY_CONFIG},
                      default=_plain)
    return (f'<div class="fig"><div id="{fid}"></div><script>(function(){{var f={spec};'
            f'Plotly.newPlot("{fid}",f.data,f.layout,f.config);}})();</script></div>')


def _plain(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(type(x))


def _scale(metric: str) -> tuple[float, str]:
    unit = METRICS[metric].unit
    if unit == "CNY":
        return 1e9, "CNY bn"
    if unit == "share":
        return 0.01, "%"
    return 1.0, unit


def fit_figure(metric: str, rows: Sequence[dict[str, Any]]) -> str:
    """One metric: each statement's period, the record (marker by relation) and the
    fitted P10-P90 with its median."""
    div, unit = _scale(metric)
    x = [r["period"] for r in rows]
    mid = [r["fitted_p50"] / div for r in rows]
    data: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "markers", "name": "fitted P50 (P10-P90)", "x": x, "y": mid,
        "marker": {"color": BLUE, "size": 9, "symbol": "line-ew-open", "line": {"width": 3}},
        "error_y": {"type": "data", "symmetric": False,
                    "array": [(r["fitted_p90"] - r["fitted_p50"]) / div for r in rows],
                    "arrayminus": [(r["fitted_p50"] - r["fitted_p10"]) / div for r in rows],
                    "color": BLUE, "thickness": 2, "width": 8},
    }]
    for rel, symbol in OBSERVED.items():
        pick = [r for r in rows if r["relation"] == rel]
        if pick:
            data.append({
                "type": "scatter", "mode": "markers", "name": f"record ({rel})",
                "x": [r["period"] for r in pick], "y": [r["observed"] / div for r in pick],
                "marker": {"color": INK, "size": 10, "symbol": symbol},
                "text": [r["note"] for r in pick], "hovertemplate": "%{y}<br>%{text}",
            })
    layout = {"title": {"text": f"{metric.replace('_', ' ')}: record against the fit"},
              "yaxis": {"title": {"text": unit}, "rangemode": "tozero" if div != 0.01 else None},
              "xaxis": {"type": "category"}, "legend": {"orientation": "h", "y": -0.2}}
    return plot(data, layout)


def prior_posterior(post: Posterior) -> str:
    """Small multiples: each parameter's prior (grey) and posterior (blue) densities."""
    d = len(post.params)
    cols = 3
    rows = math.ceil(d / cols)
    data: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    layout: dict[str, Any] = {"grid": {"rows": rows, "columns": cols, "pattern": "independent"},
                              "showlegend": False, "annotations": notes}
    for j, p in enumerate(post.params):
        ax = "" if j == 0 else str(j + 1)
        for sample, colour in ((post.prior_samples[:, j], GREY), (post.samples[:, j], BLUE)):
            data.append({"type": "histogram", "x": sample, "histnorm": "probability density",
                         "marker": {"color": colour}, "opacity": 0.6, "nbinsx": 30,
                         "xaxis": f"x{ax}", "yaxis": f"y{ax}"})
        notes.append({
            "text": html.escape(p.name), "xref": f"x{ax} domain", "yref": f"y{ax} domain",
            "x": 0.5, "y": 1.12, "showarrow": False, "font": {"size": 12}})
        layout[f"yaxis{ax}"] = {"showticklabels": False}
    layout["barmode"] = "overlay"
    return plot(data, layout, height=230 * rows + 40)


def render_calibration(post: Posterior, fit: Sequence[dict[str, Any]]) -> str:
    d = post.diagnostics
    inside = sum(1 for r in fit if r["within_p10_p90"])
    headline = [
        Card("Statements within P10-P90", f"{inside} of {len(fit)}"),
        Card("Simulations", fmt_count(post.simulations),
             f"{post.seconds:.0f} s, {post.simulations / max(post.seconds, 1e-9):.1f}/s"),
        Card("Particles", fmt_count(d["particles"]),
             f"{d['runs']} independent runs, up to {d['stages']} stages"),
        Card("Largest R-hat", f"{d['r_hat_max']:.3f}",
             "the runs agree" if d["runs_agree"] else "the runs disagree: a larger budget"),
    ]
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for r in fit:
        by_metric.setdefault(r["metric"], []).append(r)
    figs = [fit_figure(m, rows) for m, rows in by_metric.items()]
    fit_table = table(
        ["period", "metric", "relation", "record", "fitted P10", "P50", "P90", "within"],
        [[r["period"], r["metric"], r["relation"], f"{r['observed']:,.4g}",
          f"{r['fitted_p10']:,.4g}", f"{r['fitted_p50']:,.4g}", f"{r['fitted_p90']:,.4g}",
          "yes" if r["within_p10_p90"] else "no"] for r in fit],
        numeric=(3, 4, 5, 6),
    )
    q = np.quantile(post.samples, (0.1, 0.5, 0.9), axis=0)
    qp = np.quantile(post.prior_samples, (0.1, 0.5, 0.9), axis=0)
    params = table(
        ["parameter", "path", "prior P10-P90", "posterior P10", "P50", "P90", "ESS bulk",
         "ESS tail", "R-hat"],
        [[p.name, p.path, f"{by_name(p.path, qp[0, j])} - {by_name(p.path, qp[2, j])}",
          by_name(p.path, q[0, j]), by_name(p.path, q[1, j]), by_name(p.path, q[2, j]),
          f"{d['effective_samples'][j]:.0f}", f"{d['ess_tail'][j]:.0f}", f"{d['r_hat'][j]:.3f}"]
         for j, p in enumerate(post.params)],
        numeric=(3, 4, 5, 6, 7, 8),
    )
    diag = table(
        ["diagnostic", "value"],
        [["method", d["method"]],
         ["independent runs x particles", f"{d['runs']} x {d['particles'] // d['runs']}"],
         ["tempering stages (per run)", ", ".join(str(r["stages"]) for r in d["per_run"])],
         ["every run reached the posterior", "yes" if d["reached_posterior"] else
          "no: the budget ran out and the last step was one reweighting"],
         ["log evidence (per run)", ", ".join(f"{z:.1f}" for z in d["log_evidence"])],
         ["last stage's acceptance", f"{d['acceptance_fraction']:.3f}"],
         ["largest rank-normalised R-hat", f"{d['r_hat_max']:.3f}"],
         ["proposals making no valid scenario", str(sum(d["invalid_proposals"].values()))],
         ["executor", post.executor]],
    )
    sections = [
        Section("fit", "The record against the fit",
                "Each statement of the record (markers by relation: dots reported figures, "
                "triangles bounds, open circles press estimates) against the model's figure "
                "over the posterior and the simulation seeds (median, P10-P90).",
                [*figs, fit_table]),
        Section("parameters", "Priors and posteriors",
                "What the record taught: each parameter's prior (grey) and posterior (blue).",
                [prior_posterior(post), params]),
        Section("diagnostics", "The sampler",
                "Waste-free SMC with adaptive tempering, in independent runs pooled into one "
                "posterior. R-hat (rank-normalised, ArviZ) compares the runs: near 1 they "
                "found the same posterior; bulk and tail ESS count what the particles are "
                "worth. The log evidences of the runs should agree within a unit or so.",
                [diag]),
    ]
    return document(
        f"Calibration: {post.scenario}",
        f"{post.source}; record {', '.join(post.record) or '-'}; fitted on "
        f"{post.fit_months[0]}..{post.fit_months[1]}, seed {post.seed}",
        headline, sections, "evplant calibrate",
    )
