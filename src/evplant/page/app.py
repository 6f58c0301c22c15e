"""The planning page as a Dash app: its state, its callbacks, its download route and
the server it runs on.

``PageApp(source)`` holds the scenario the page was started on, its levers, the
finished runs, the job queue and the sessions; ``serve`` runs it under waitress.
Dash serves its own and plotly's JavaScript from the installed packages
(``serve_locally``), so the page needs no network.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

import dash
import flask
from dash import ALL, Input, Output, State, dcc, html, no_update

from ..errors import EvplantError
from ..scenario.load import prepare
from . import edits, layout, leftovers, requests, views, work
from .jobs import Job, Jobs
from .levers import levers_for
from .requests import edit_record
from .safety import Limits, bounded_int
from .sessions import Full, Session, Sessions

log = logging.getLogger("evplant.page")
GONE = "this tab's session is gone; it reconnects in a moment: start again then"


class PageApp:
    """The page for one scenario (a built-in name or a file given at start)."""

    def __init__(self, source: str, out_dir: Path | None = None,
                 limits: Limits | None = None, scheduler: str | None = None) -> None:
        self.source = source
        self.limits = limits or Limits()
        self.scheduler = scheduler
        self.base = prepare(source)  # bad input fails here, before anything listens
        self.levers = levers_for(self.base)
        leftovers.clear_dead_servers()
        self.temporary = out_dir is None
        self.out_dir = Path(out_dir) if out_dir is not None else leftovers.make_temporary()
        leftovers.clear_dead_locks(self.out_dir)
        self.runs = work.Runs()
        self.jobs = Jobs(self.limits.quick_workers, self.limits.long_workers,
                         self.limits.jobs_per_session)
        self.sessions = Sessions(
            self.limits.max_sessions, self.limits.quiet_s,
            lambda sid: self.jobs.cancel(
                sid, f"its tab did not poll for {self.limits.quiet_s:g} s"),
            self.jobs.forget)
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

    def close(self) -> None:
        """Stop the jobs (their folders marked) and remove the server's own leftovers."""
        self.sessions.close()
        self.jobs.close()
        if self.temporary:
            leftovers.remove_temporary(self.out_dir)

    # -- the page ------------------------------------------------------------------

    def _layout(self) -> html.Div:
        first = self.warm()
        name = self.base.scenario.name
        subtitle = f"{self.base.source} \u00b7 {self.base.scenario.description}".strip(" \u00b7")
        return layout.page(f"evplant: {name}", subtitle, self.levers,
                           views.headline(first), self.limits)

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
            if flask.request.path.endswith("/_dash-update-component"):
                problem = requests.malformed(flask.request.get_json(silent=True),
                                             app.callback_map)
                if problem:
                    return requests.refuse(problem)
            return None

        requests.install(server)

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

    # -- jobs ----------------------------------------------------------------------

    def _submit_compare(self, s: Session, short: bool, replications: int, seq: int) -> None:
        overrides = list(s.overrides)
        folder = self.out_dir / s.id

        def run(job: Job) -> work.Outcome:
            out = work.compare_runs(job, self.runs, self.source, overrides, short=short,
                                    replications=replications, out_dir=folder,
                                    scheduler=self.scheduler)
            s.show_outcome(out, seq, secrets.token_urlsafe(12))
            return out

        label = "first two years" if short else "full horizon"
        if replications:
            label += f", {replications} replications"
        job = Job(s.id, "short" if short else "full", label, run, coalesce=True,
                  long=replications > 0, seq=seq)
        if replications:
            job.folder = folder / f"paired-{job.id}"
        self.jobs.submit(job)

    def _restore(self, s: Session, kept: Any, lost: bool) -> None:
        """Re-submit the edits a tab kept (its session was re-made, or it edited while
        it had none): the tab's edits are the truth, the server's copy a cache."""
        seq, items = edit_record(kept)
        if seq <= s.seq:
            return
        with s.lock:
            if seq <= s.seq:
                return
            if not items and not lost:  # nothing to send: the base run is shown
                s.seq = seq
                return
            s.seq = seq
            origin = {it: -1 for it in items}
            checked = edits.check(self.source, items, origin, self.base)
            if not checked.ok:
                first = next(iter(checked.problems.values()))[0]
                s.notice = f"this tab's edits no longer apply here: {first}"
                return
            s.overrides = items
            try:
                self._submit_compare(s, short=True, replications=0, seq=seq)
            except EvplantError as exc:
                s.notice = str(exc)
                return
            if lost:
                s.notice = ("this tab's session was gone (the server restarted or dropped "
                            f"it); its {len(items)} edit(s) were sent again")

    # -- callbacks -----------------------------------------------------------------

    def _callbacks(self, app: dash.Dash) -> None:
        n = len(self.levers)
        # each edit of the tab gets the next number, so the server keeps the newest
        app.clientside_callback(  # type: ignore[no-untyped-call]
            """function(values, apply, full, reps, prev) {
                const t = (dash_clientside.callback_context.triggered || [])
                    .map(x => x.prop_id);
                const n = ((prev && prev.n) || 0) + 1;
                return {n: n, full: t.some(p => p.startsWith('run-full.'))};
            }""",
            Output("edit-seq", "data"),
            Input({"type": "lever", "index": ALL}, "value"),
            Input("extra-apply", "n_clicks"),
            Input("run-full", "n_clicks"),
            Input("replications", "value"),
            State("edit-seq", "data"),
            prevent_initial_call=True,
        )

        @app.callback(
            Output({"type": "lever-error", "index": ALL}, "children"),
            Output({"type": "lever-effective", "index": ALL}, "children"),
            Output("extra-error", "children"),
            Output("replications-error", "children"),
            Output("edits", "data"),
            Input("edit-seq", "data"),
            State({"type": "lever", "index": ALL}, "value"),
            State("extra", "value"),
            State("replications", "value"),
            State("session", "data"),
            prevent_initial_call=True,
        )
        def edit(asked: Any, values: list[Any], extra: Any, reps: Any,
                 sid: Any) -> tuple[Any, ...]:
            seq, full = requests.edit_number(asked)
            if len(values) != n or not isinstance(extra, str | None):
                raise requests.Malformed("the form's values do not match its fields")
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
            ok = checked.ok and not rep_err
            effective = ([f"in effect: {v}" if v else "" for v in
                          edits.effective(self.levers, checked.prepared)]
                         if checked.prepared is not None else [no_update] * n)
            kept = {"seq": seq, "items": items} if ok else no_update
            s = self.sessions.get(sid)
            if s is None:  # the tick makes a session and sends these edits
                return errors, effective, extra_err, rep_err, kept
            with s.lock:
                if seq <= s.seq:  # an older edit answered after a newer one: dropped
                    raise dash.exceptions.PreventUpdate
                s.seq = seq
                if not ok:  # a form with a problem changes nothing, and says so
                    s.refusal = next(p for p in (*errors, extra_err, rep_err) if p)
                    return errors, effective, extra_err, rep_err, no_update
                s.refusal = ""
                if not full and items == s.overrides and replications == s.replications:
                    return errors, effective, extra_err, rep_err, kept
                s.overrides, s.replications = items, replications
                try:
                    self._submit_compare(s, short=not full, replications=replications,
                                         seq=seq)
                except EvplantError as exc:
                    s.refusal = str(exc)
                    return errors, effective, extra_err, str(exc), kept
            return errors, effective, extra_err, rep_err, kept

        @app.callback(
            Output("mc-error", "children"),
            Input("mc-start", "n_clicks"),
            State("mc-replications", "value"),
            State("session", "data"),
            prevent_initial_call=True,
        )
        def start_mc(_n: Any, reps: Any, sid: Any) -> str:
            s = self.sessions.get(sid)
            if s is None:
                return GONE
            try:
                r = bounded_int(reps, "replications", 1, self.limits.max_replications)
                overrides = list(s.overrides)
                job = Job(s.id, "mc", f"Monte Carlo, {r} replications", lambda j: None,
                          long=True)
                folder = job.folder = self.out_dir / s.id / f"mc-{job.id}"

                def run(j: Job) -> Any:
                    res = work.monte_carlo(j, self.source, overrides, r, folder,
                                           self.scheduler)
                    s.show(mc=res)
                    return res

                job.work = run
                self.jobs.submit(job)
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
            s = self.sessions.get(sid)
            if s is None:
                return GONE
            try:
                if self.base.scenario.calibration is None:
                    raise EvplantError("this scenario has no calibration: section")
                b = bounded_int(budget, "simulations", 1, self.limits.max_calibration_budget)
                overrides = list(s.overrides)
                job = Job(s.id, "calibration", f"calibration, {b} simulations",
                          lambda j: None, long=True)
                folder = job.folder = self.out_dir / s.id / f"calibration-{job.id}"

                def run(j: Job) -> Any:
                    res = work.calibration(j, self.source, overrides, b, folder,
                                           self.scheduler)
                    s.show(calibration=res)
                    return res

                job.work = run
                self.jobs.submit(job)
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
            s = self.sessions.get(sid)
            k = self.jobs.cancel(s.id, "cancelled from its page") if s is not None else 0
            return f"cancelled {k}"

        @app.callback(
            Output("yaml-file", "data"),
            Input("download-yaml", "n_clicks"),
            State("session", "data"),
            prevent_initial_call=True,
        )
        def download_yaml(_n: Any, sid: Any) -> Any:
            s = self.sessions.get(sid)
            if s is None:
                raise dash.exceptions.PreventUpdate
            prepared = prepare(self.source, s.overrides)
            text = edits.scenario_yaml(self.source, prepared)
            name = prepared.scenario.name + ("-edited" if s.overrides else "")
            return dcc.send_string(text, f"{name}.yaml")  # type: ignore[attr-defined, no-untyped-call]

        @app.callback(
            Output("session", "data"),
            Output("progress", "value"),
            Output("progress", "max"),
            Output("status", "children"),
            Output("cancel", "disabled"),
            Output("run-error", "children"),
            Output("notice", "children"),
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
            State("edit-seq", "data"),
            State("edits", "data"),
        )
        def tick(_n: Any, sid: Any, shown: Any, asked: Any, kept: Any) -> tuple[Any, ...]:
            s = self.sessions.get(sid)
            if s is None:
                try:
                    s = self.sessions.new(self.warm())
                except Full:
                    status = (f"the page holds at most {self.limits.max_sessions} tabs and "
                              "all are in use: this tab waits for one to close (its edits "
                              "are kept)")
                    return (None, "0", "1", status, True, "", "", -1,
                            *(no_update,) * 8)
                self._restore(s, kept, lost=isinstance(sid, str))
            elif edit_record(kept)[0] > s.seq:
                self._restore(s, kept, lost=False)
            status, value, top, busy, error = self._status(s, asked)
            if shown == s.version:
                heavy: tuple[Any, ...] = (no_update,) * 8
            else:
                heavy = self._results(s)
            return (s.id, value, top, status, busy, error, s.notice, s.version, *heavy)

    def _status(self, s: Session, asked: Any) -> tuple[str, str, str, bool, str]:
        """(status line, progress value and maximum, whether Cancel is off, error)."""
        st = self.jobs.status(s.id)
        parts = [f"{j.label}: {j.done}/{j.total or '?'} ({j.seconds:.1f} s)"
                 for j in st.running]
        parts += [f"{j.label}: waiting behind {ahead}" for j, ahead in st.waiting]
        value, top = "1", "1"
        if st.running:
            value, top = str(st.running[0].done), str(max(st.running[0].total, 1))
        error = ""
        last = st.last
        newer = edit_record(asked, "n")[0] > s.seq
        if parts:
            status = "; ".join(parts)
        elif newer:
            status = "checking your newest edit"
        elif last is None:
            status = "ready"
        elif last.state == "failed":
            status, error = f"{last.label}: failed", f"{last.label} failed: {last.error}"
        elif last.state == "cancelled":
            status = f"{last.label}: cancelled" + (f" ({last.why})" if last.why else "")
        else:  # the result's number tells one finished run from the next
            status = f"{last.label}: done in {last.seconds:.1f} s (result {s.version})"
        if s.refusal and not newer:
            status = f"edit refused: {s.refusal.splitlines()[0]}" + (
                f"; {'; '.join(parts)}" if parts else "")
        return status, value, top, not (st.running or st.waiting), error

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
          on_ready: Any = None, scheduler: str | None = None,
          limits: Limits | None = None) -> None:
    """Start the page under waitress and block; ``on_ready(url)`` once it listens. On
    exit (Ctrl+C, SIGTERM) its jobs are cancelled and its temporary folder removed."""
    import signal

    from waitress.server import create_server

    page = PageApp(source, out_dir, limits, scheduler)
    try:
        page.warm()
        limits = page.limits
        server = create_server(page.server, host=host, port=port, threads=8,
                               max_request_body_size=limits.max_request_bytes,
                               ident="evplant")
        url = f"http://{_url_host(host)}:{server.effective_port}/"  # type: ignore[union-attr]

        def stop(_sig: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        log.info("at most %d sessions; a tab's jobs stop after %g s without a poll; "
                 "%d quick and %d long job workers; outputs in %s", limits.max_sessions,
                 limits.quiet_s, limits.quick_workers, limits.long_workers, page.out_dir)
        if on_ready is not None:
            on_ready(url)
        server.run()
    finally:
        page.close()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
