"""The planning page as a Dash app: its state, its callbacks, its download route and
the server it runs on.

``PageApp(source)`` holds the scenario the page was started on, its levers, the
finished runs, the job queue and the sessions; ``serve`` runs it under waitress.
Dash serves its own and plotly's JavaScript from the installed packages
(``serve_locally``), so the page needs no network.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

import dash
import flask
from dash import ALL, Input, Output, State, dcc, html, no_update

from ..errors import EvplantError
from ..scenario.load import prepare
from . import edits, layout, views, work
from .jobs import Job, Jobs
from .levers import levers_for
from .safety import Limits, bounded_int
from .sessions import Session, Sessions


class PageApp:
    """The page for one scenario (a built-in name or a file given at start)."""

    def __init__(self, source: str, out_dir: Path | None = None,
                 limits: Limits | None = None) -> None:
        self.source = source
        self.limits = limits or Limits()
        self.base = prepare(source)  # bad input fails here, before anything listens
        self.levers = levers_for(self.base)
        self.out_dir = Path(out_dir) if out_dir is not None else Path(
            tempfile.mkdtemp(prefix="evplant-serve-"))
        self.runs = work.Runs()
        self.jobs = Jobs(self.limits.workers, self.limits.jobs_per_session)
        self.sessions = Sessions(self.limits.max_sessions, self.jobs.forget)
        self._first: work.Outcome | None = None
        self.dash = self._build()

    @property
    def server(self) -> flask.Flask:
        return self.dash.server  # type: ignore[no-any-return]

    def warm(self) -> work.Outcome:
        """The base run over the short horizon, so the first page shows figures."""
        if self._first is None:
            job = Job("", "warm", "base run", lambda j: None)
            self._first = work.compare_runs(job, self.runs, self.source, [], short=True)
        return self._first

    # -- the page ------------------------------------------------------------------

    def _layout(self) -> html.Div:
        first = self.warm()
        session = self.sessions.new(first)
        name = self.base.scenario.name
        subtitle = f"{self.base.source} \u00b7 {self.base.scenario.description}".strip(" \u00b7")
        return layout.page(f"evplant: {name}", subtitle, session.id, self.levers,
                           views.headline(first))

    def _build(self) -> dash.Dash:
        app = dash.Dash(
            __name__, title=f"evplant: {self.base.scenario.name}", serve_locally=True,
            compress=True, update_title=None,  # type: ignore[arg-type]
            assets_folder=str(Path(__file__).parent / "_none"),
            include_assets_files=False,
        )
        app.index_string = layout.INDEX
        app.layout = self._layout
        server = app.server
        server.config["MAX_CONTENT_LENGTH"] = self.limits.max_request_bytes

        @server.before_request  # type: ignore[misc, untyped-decorator]
        def _cap() -> Any:
            length = flask.request.content_length
            if length is not None and length > self.limits.max_request_bytes:
                return flask.Response("request too large\n", status=413)
            return None

        @server.route("/download/<token>/<what>")  # type: ignore[misc, untyped-decorator]
        def _download(token: str, what: str) -> Any:
            hit = self.sessions.download(token)
            if hit is None or what not in work.DOWNLOADS:
                return flask.Response("no such download\n", status=404)
            session, outcome = hit
            path = work.download(outcome, self.source,
                                 self.out_dir / session.id / token, what)
            return flask.send_file(path, as_attachment=True, download_name=path.name)

        self._callbacks(app)
        return app

    def session(self, sid: Any) -> Session:
        s = self.sessions.get(sid)
        if s is None:
            raise dash.exceptions.PreventUpdate
        return s

    # -- callbacks -----------------------------------------------------------------

    def _submit_compare(self, s: Session, short: bool, replications: int) -> None:
        overrides = list(s.overrides)

        def run(job: Job) -> work.Outcome:
            out = work.compare_runs(job, self.runs, self.source, overrides, short=short,
                                    replications=replications,
                                    out_dir=self.out_dir / s.id)
            token = secrets.token_urlsafe(12)
            s.downloads = {token: out}
            s.show(outcome=out)
            return out

        label = "first two years" if short else "full horizon"
        if replications:
            label += f", {replications} replications"
        self.jobs.submit(Job(s.id, "short" if short else "full", label, run, coalesce=short))

    def _callbacks(self, app: dash.Dash) -> None:
        n = len(self.levers)

        @app.callback(
            Output({"type": "lever-error", "index": ALL}, "children"),
            Output("extra-error", "children"),
            Output("replications-error", "children"),
            Input({"type": "lever", "index": ALL}, "value"),
            Input("extra-apply", "n_clicks"),
            Input("run-full", "n_clicks"),
            Input("replications", "value"),
            State("extra", "value"),
            State("session", "data"),
            prevent_initial_call=True,
        )
        def edit(values: list[Any], _apply: Any, _full: Any, reps: Any, extra: Any,
                 sid: Any) -> tuple[list[str], str, str]:
            s = self.session(sid)
            items, origin = edits.overrides_from(self.levers, values, extra or "")
            checked = edits.check(self.source, items, origin, self.base)
            errors = ["\n".join(checked.problems.get(i, [])) for i in range(n)]
            extra_err = "\n".join(checked.problems.get(-1, []))
            try:
                replications = bounded_int(reps if reps not in (None, "") else 0,
                                           "replications", 0, self.limits.max_replications)
                rep_err = ""
            except EvplantError as exc:
                replications, rep_err = 0, str(exc)
            if not checked.ok or rep_err:
                return errors, extra_err, rep_err  # a form with a problem changes nothing
            full = dash.ctx.triggered_id == "run-full"
            if not full and items == s.overrides and dash.ctx.triggered_id != "replications":
                return errors, extra_err, rep_err
            s.overrides = items
            try:
                self._submit_compare(s, short=not full, replications=replications)
            except EvplantError as exc:
                return errors, extra_err, str(exc)
            return errors, extra_err, rep_err

        @app.callback(
            Output("mc-error", "children"),
            Input("mc-start", "n_clicks"),
            State("mc-replications", "value"),
            State("session", "data"),
            prevent_initial_call=True,
        )
        def start_mc(_n: Any, reps: Any, sid: Any) -> str:
            s = self.session(sid)
            try:
                r = bounded_int(reps, "replications", 1, self.limits.max_replications)
                overrides = list(s.overrides)

                def run(job: Job) -> Any:
                    res = work.monte_carlo(job, self.source, overrides, r, self.out_dir / s.id)
                    s.show(mc=res)
                    return res

                self.jobs.submit(Job(s.id, "mc", f"Monte Carlo, {r} replications", run))
            except EvplantError as exc:
                return str(exc)
            return ""

        @app.callback(
            Output("calib-error", "children"),
            Input("calib-start", "n_clicks"),
            State("calib-budget", "value"),
            State("session", "data"),
            prevent_initial_call=True,
        )
        def start_calibration(_n: Any, budget: Any, sid: Any) -> str:
            s = self.session(sid)
            try:
                if self.base.scenario.calibration is None:
                    raise EvplantError("this scenario has no calibration: section")
                b = bounded_int(budget, "simulations", 1, self.limits.max_calibration_budget)
                overrides = list(s.overrides)

                def run(job: Job) -> Any:
                    res = work.calibration(job, self.source, overrides, b, self.out_dir / s.id)
                    s.show(calibration=res)
                    return res

                self.jobs.submit(Job(s.id, "calibration", f"calibration, {b} simulations", run))
            except EvplantError as exc:
                return str(exc)
            return ""

        @app.callback(
            Output("cancel", "title"),
            Input("cancel", "n_clicks"),
            State("session", "data"),
            prevent_initial_call=True,
        )
        def cancel(_n: Any, sid: Any) -> str:
            k = self.jobs.cancel(self.session(sid).id)
            return f"cancelled {k}"

        @app.callback(
            Output("yaml-file", "data"),
            Input("download-yaml", "n_clicks"),
            State("session", "data"),
            prevent_initial_call=True,
        )
        def download_yaml(_n: Any, sid: Any) -> Any:
            s = self.session(sid)
            prepared = prepare(self.source, s.overrides)
            text = edits.scenario_yaml(self.source, prepared)
            name = prepared.scenario.name + ("-edited" if s.overrides else "")
            return dcc.send_string(text, f"{name}.yaml")  # type: ignore[attr-defined, no-untyped-call]

        @app.callback(
            Output("progress", "value"),
            Output("progress", "max"),
            Output("status", "children"),
            Output("cancel", "disabled"),
            Output("run-error", "children"),
            Output("shown", "data"),
            Output("cards", "children"),
            Output("differences", "children"),
            Output("bottleneck", "children"),
            Output("compare-figures", "children"),
            Output("run-figures", "children"),
            Output("download-links", "children"),
            Output("mc", "children"),
            Output("calibration", "children"),
            Input("tick", "n_intervals"),
            State("session", "data"),
            State("shown", "data"),
        )
        def tick(_n: Any, sid: Any, shown: Any) -> tuple[Any, ...]:
            s = self.session(sid)
            running, waiting, last = self.jobs.status(s.id)
            if running is not None:
                status = f"{running.label}: {running.done}/{running.total or '?'} " \
                         f"({running.seconds:.1f} s)"
                value, top = str(running.done), str(max(running.total, 1))
            else:
                status, value, top = "ready", "1", "1"
            if waiting:
                status += f"; waiting: {', '.join(j.label for j in waiting)}"
            error = ""
            if last is not None and running is None:
                if last.state == "failed":
                    error = f"{last.label} failed: {last.error}"
                elif last.state == "cancelled":
                    status = f"{last.label}: cancelled"
                elif last.state == "done":
                    # the result's number tells one finished run from the next
                    status = f"{last.label}: done in {last.seconds:.1f} s (result {s.version})"
            busy = running is None and not waiting
            if shown == s.version:
                heavy: tuple[Any, ...] = (no_update,) * 8
            else:
                heavy = self._results(s)
            return (value, top, status, busy, error, s.version, *heavy)

    def _results(self, s: Session) -> tuple[Any, ...]:
        out = s.outcome
        if out is None:
            panels: tuple[Any, ...] = (no_update,) * 6
        else:
            horizon = "first two years" if out.short else "full horizon"
            links: list[Any] = [html.Span(f"Outputs of the edited run ({horizon}): ")]
            for token in s.downloads:
                links += [html.A(what, href=f"/download/{token}/{what}", className="dl",
                                 title=desc) for what, desc in work.DOWNLOADS.items()]
            panels = (
                views.headline(out),
                views.differences(out),
                views.bottleneck(out),
                views.comparison_figures(out),
                views.run_figures(out),
                links,
            )
        mc = views.monte_carlo(s.mc) if s.mc is not None else no_update
        calib = views.calibration(s.calibration) if s.calibration is not None else no_update
        return (*panels, mc, calib)


def serve(source: str, host: str, port: int, out_dir: Path | None = None,
          on_ready: Any = None) -> None:
    """Start the page under waitress and block; ``on_ready(url)`` once it listens."""
    from waitress.server import create_server

    page = PageApp(source, out_dir)
    page.warm()
    limits = page.limits
    server = create_server(page.server, host=host, port=port, threads=8,
                           max_request_body_size=limits.max_request_bytes,
                           ident="evplant")
    url = f"http://{_url_host(host)}:{server.effective_port}/"  # type: ignore[union-attr]
    if on_ready is not None:
        on_ready(url)
    try:
        server.run()
    finally:
        page.jobs.close()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
