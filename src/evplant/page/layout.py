"""The page: the scenario's name and headline cards on top, the levers on the left,
the answer on the right (progress, differences, bottleneck, figures), then Monte Carlo,
calibration and downloads. The report's stylesheet, so both look alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

from ..report.page import CSS as REPORT_CSS
from .edits import MAX_EXTRA_LINES
from .levers import Lever
from .safety import Limits

#: the form's values and the tab's edits outlive a reload and the server's session;
#: per tab, like the session they belong to
KEEP: dict[str, Any] = {"persistence": True, "persistence_type": "session"}

CSS = REPORT_CSS + """
.grid { display: grid; grid-template-columns: 340px 1fr; gap: 20px; align-items: start; }
aside { background: #fff; border: 1px solid var(--line); border-radius: 10px;
        padding: 12px 16px; margin: 20px 0; position: sticky; top: 8px;
        max-height: calc(100vh - 16px); overflow-y: auto; }
fieldset { border: 0; border-top: 1px solid var(--line); margin: 8px 0 0; padding: 6px 0 0; }
legend { font-weight: 650; font-size: 14px; padding: 0 4px 0 0; }
.lever { margin: 4px 0 8px; }
.lever label { display: block; font-size: 13px; }
.lever input[type=text], textarea, .num-in { width: 100%; font: inherit; font-size: 13.5px;
        padding: 3px 6px; border: 1px solid #cbd5e0; border-radius: 4px; }
.hint { font-size: 11.5px; color: var(--muted); }
.error { color: var(--bad); font-size: 12.5px; white-space: pre-wrap; }
.error:empty { display: none; }
.effective { font-size: 12px; color: var(--accent); }
.effective:empty { display: none; }
.notice { font-size: 13px; color: var(--bad); }
.notice:empty { display: none; }
.card .hz { font-size: 11px; color: #a0aec0; margin-top: 2px; }
.bar { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; }
button { font: inherit; font-size: 13.5px; padding: 4px 12px; border-radius: 5px;
         border: 1px solid var(--accent); background: #fff; color: var(--accent);
         cursor: pointer; }
button.primary { background: var(--accent); color: #fff; }
button:disabled { opacity: .45; cursor: default; }
progress { width: 220px; height: 12px; }
.status { font-size: 13px; color: var(--muted); }
.row-k { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #cbd5e0;
         margin: 10px 0 4px; }
.cards.base .card { background: rgba(255,255,255,0.04); }
.cards.base .v { font-size: 17px; }
a.dl { margin-right: 14px; font-size: 13.5px; }
.small-in { width: 90px; }
h3 { font-size: 15px; margin: 12px 0 4px; }
"""

INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
{%metas%}
<title>{%title%}</title>
{%favicon%}
{%css%}
<style>""" + CSS + """</style>
</head>
<body>
{%app_entry%}
<footer>{%config%}{%scripts%}{%renderer%}</footer>
</body>
</html>
"""


def lever_control(i: int, lv: Lever) -> html.Div:
    hint = "; ".join(x for x in (lv.unit, lv.range_text) if x)
    attrs: dict[str, Any] = {"data-path": lv.path}  # what tests and tools find a lever by
    if lv.kind == "boolean":
        control: Any = dcc.Checklist(
            id={"type": "lever", "index": i}, options=[{"label": " yes", "value": "on"}],
            value=["on"] if lv.value else [], inline=True, **KEEP,
        )
    else:
        control = dcc.Input(
            id={"type": "lever", "index": i}, type="text", value=lv.text(), debounce=True,
            spellCheck="false", autoComplete="off", name=lv.path, **KEEP,
        )
    return html.Div(
        [
            html.Label(lv.label, title=f"{lv.path}: {lv.description}".rstrip(": ")),
            control,
            html.Div(hint, className="hint") if hint else None,
            html.Div(id={"type": "lever-effective", "index": i}, className="effective"),
            html.Div(id={"type": "lever-error", "index": i}, className="error"),
        ],
        className="lever",
        **attrs,
    )


def levers_panel(levers: Sequence[Lever]) -> html.Aside:
    groups: dict[str, list[html.Div]] = {}
    for i, lv in enumerate(levers):
        groups.setdefault(lv.group, []).append(lever_control(i, lv))
    return html.Aside(
        [html.Div("Change a value: the first two years rerun at once.", className="hint")]
        + [html.Fieldset([html.Legend(g), *items]) for g, items in groups.items()]
        + [
            html.Fieldset([
                html.Legend("Any field, by path"),
                dcc.Textarea(id="extra", placeholder="path=value, one a line, as --set\n"
                             "e.g. venture.contract.enabled=true", rows=3,
                             spellCheck=False, **KEEP),
                html.Div(f"at most {MAX_EXTRA_LINES} lines", className="hint"),
                html.Button("Apply", id="extra-apply"),
                html.Div(id="extra-error", className="error"),
            ]),
        ]
    )


def results_panel(limits: Limits) -> html.Div:
    return html.Div([
        html.Section([
            html.Div([
                html.Button("Run the full horizon", id="run-full", className="primary"),
                html.Label(["Replications ", dcc.Input(id="replications", type="text",
                                                       value="0", className="small-in",
                                                       debounce=True, **KEEP)]),
                html.Button("Cancel", id="cancel", disabled=True),
                html.Progress(id="progress", value="0", max="1"),
                html.Span(id="status", className="status"),
            ], className="bar"),
            html.Div(id="notice", className="notice"),
            html.Div(id="replications-error", className="error"),
            html.Div(id="run-error", className="error"),
            html.Div(f"A job runs while its tab is open: one not heard from for "
                     f"{limits.quiet_s:g} s is cancelled. Reruns and long jobs take "
                     "turns in pools of their own. The server keeps at most "
                     f"{limits.max_sessions} open tabs.", className="hint"),
        ]),
        html.Section([html.H2("Base against edited"), html.Div(id="compare-figures")]),
        html.Section([html.H2("Bottleneck"), html.Div(id="bottleneck")]),
        html.Section([html.H2("Differences"), html.Div(id="differences"),
                      html.Div(id="download-links", className="bar")], id="sec-diff"),
        html.Section([html.H2("The edited run"), html.Div(id="run-figures")]),
        html.Section([
            html.H2("Monte Carlo"),
            html.Div([html.Label(["Replications ", dcc.Input(id="mc-replications",
                                                            type="text", value="20",
                                                            className="small-in")]),
                      html.Button("Start Monte Carlo", id="mc-start")], className="bar"),
            html.Div(id="mc-error", className="error"),
            html.Div(id="mc"),
        ]),
        html.Section([
            html.H2("Calibration"),
            html.Div([html.Label(["Simulations ", dcc.Input(id="calib-budget", type="text",
                                                           value="1200",
                                                           className="small-in")]),
                      html.Button("Start calibration", id="calib-start")], className="bar"),
            html.Div(id="calib-error", className="error"),
            html.Div(id="calibration"),
        ]),
        html.Section([
            html.H2("Downloads"),
            html.Div([
                html.Button("Edited scenario (YAML)", id="download-yaml"),
                html.Span("runs with `evplant run FILE`; the outputs of each run are "
                          "linked under Differences", className="hint"),
            ], className="bar"),
            dcc.Download(id="yaml-file"),
        ]),
    ])


def page(title: str, subtitle: str, levers: Sequence[Lever], cards: Any,
         limits: Limits) -> html.Div:
    return html.Div([
        # the tab's server session (made on its first poll), and its numbered edits
        dcc.Store(id="session", storage_type="session"),
        dcc.Store(id="edit-seq", storage_type="session", data={"n": 0, "full": False}),
        dcc.Store(id="edits", storage_type="session", data={"seq": 0, "items": []}),
        dcc.Store(id="shown", data=-1),
        dcc.Interval(id="tick", interval=400),
        html.Header(html.Div([html.H1(title, id="title"), html.P(subtitle, className="sub"),
                              html.Div(cards, id="cards")], className="wrap")),
        html.Main(html.Div(html.Div([levers_panel(levers), results_panel(limits)],
                                    className="grid"), className="wrap")),
    ])
