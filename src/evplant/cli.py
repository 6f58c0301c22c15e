"""The ``evplant`` command line: thin. Parse, call the API, print, write.

Every user error (``EvplantError``) becomes one line per problem on stderr and exit
code 2, with no traceback and no output file.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from .errors import EvplantError
from .optimise.cli import app as optimize_app

# Imports that only one command needs live in that command, so that `evplant --help`
# loads typer and rich and little else.

app = typer.Typer(
    name="evplant",
    help="A digital twin for planning an EV plant and the venture around it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


def _version(value: bool) -> None:
    if value:
        from . import __version__

        out.print(f"evplant {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="print the version and exit"),
    ] = False,
) -> None:
    """A digital twin for planning an EV plant and the venture around it."""


def user_errors(fn: F) -> F:
    """Report EvplantError as plain lines on stderr and exit with code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EvplantError as exc:
            for problem in exc.problems:
                err.print(f"error: {problem}", markup=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


class EngineChoice(str, Enum):
    fast = "fast"
    reference = "reference"


@app.command()
@user_errors
def line(
    file: Annotated[Path, typer.Argument(help="line file (YAML); see docs/line-files.md")],
    jobs: Annotated[int, typer.Option("--jobs", "-n", help="vehicles to simulate", min=1)] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed", min=0)] = 0,
    engine: Annotated[EngineChoice, typer.Option(help="fast (compiled) or reference (SimPy)")] = (
        EngineChoice.fast
    ),
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    bin_hours: Annotated[
        float, typer.Option(help="width of the bottleneck timeline's bins, hours", min=0.01)
    ] = 8.0,
) -> None:
    """Simulate a serial line of stations and buffers and report its performance."""
    from .inputs import load_file
    from .line.engine import simulate_line
    from .line.spec import LineSpec

    spec = load_file(LineSpec, file)
    compiled = spec.compile()
    edges = _bins_for(compiled, jobs, bin_hours)
    name = spec.name if "name" in spec.model_fields_set else file.stem
    result = simulate_line(compiled, jobs, seed, engine=engine.value, bin_edges=edges, name=name)
    data = result.to_dict()
    # drop empty bins past the end of the run
    timeline: list[dict[str, Any]] = data["bottleneck_timeline"]  # type: ignore[assignment]
    data["bottleneck_timeline"] = [b for b in timeline if b["from_s"] < result.horizon_s]
    if as_json:
        import json

        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    _print_line(data)


def _bins_for(compiled: Any, jobs: int, bin_hours: float) -> Any:
    import numpy as np

    from .line.spec import nominal_rate_per_hour

    width = bin_hours * 3600.0
    rate = nominal_rate_per_hour(compiled)
    # enough bins for a slow run (a quarter of nominal speed, a 1/3 shift pattern), capped
    guess = jobs / max(rate, 1e-9) * 3600.0 * 12.0
    n = int(min(max(guess / width, 1), 20_000)) + 1
    return np.concatenate([np.arange(n) * width, [np.inf]])


def _print_line(data: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"line {data['line']} ({data['engine']} engine, {data['jobs']:,} jobs)")
    for col in ("station", "servers", "util", "blocked", "starved", "failed", "active s", "OEE"):
        table.add_column(col, justify="left" if col == "station" else "right")
    for s in data["stations"]:
        mark = " *" if s["name"] == data["bottleneck"] else ""
        table.add_row(
            s["name"] + mark,
            str(s["servers"]),
            f"{s['utilisation']:.1%}",
            f"{s['blocked']:.1%}",
            f"{s['starved']:.1%}",
            f"{s['failed']:.1%}",
            f"{s['active_period_mean_s']:.1f}",
            f"{s['oee']:.1%}",
        )
    out.print(table)
    out.print(
        f"throughput {data['throughput_per_hour']:.2f} jobs/h   lead time "
        f"{data['lead_time_mean_s']:.1f} s   WIP {data['wip_mean']:.2f}   line OEE "
        f"{data['oee']:.1%}   bottleneck (active period method): {data['bottleneck']} (*)"
    )
    out.print("shares are of working (on-shift) time")


ScenarioArg = Annotated[
    str | None,
    typer.Argument(
        help="a built-in scenario name or a YAML file (default: the built-in default, "
        "marked in `evplant scenarios`)",
        show_default=False,
    ),
]


def _named(scenario: str | None) -> str:
    """The scenario asked for, or the built-in default."""
    from .scenario.load import DEFAULT

    return DEFAULT if scenario is None else scenario
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="override a value by its dotted path, e.g. plant.partner.enabled=false"
    ),
]


@app.command()
@user_errors
def run(
    scenario: ScenarioArg = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="output folder (default: runs/<scenario>)")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="random seed (default 0, or the --state's)", min=0)
    ] = None,
    overrides: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    start: Annotated[
        str | None, typer.Option("--start", help="YYYY-MM: continue from --state at this month")
    ] = None,
    state_file: Annotated[
        Path | None, typer.Option("--state", help="a state.json to continue from")
    ] = None,
    state_at: Annotated[
        list[str] | None,
        typer.Option("--state-at", help="YYYY-MM: also write the state at this month's end"),
    ] = None,
    marginal: Annotated[
        bool,
        typer.Option(
            "--marginal",
            help="also value one more server, store place and second saved at every "
            "station that could matter (minutes: paired runs); the report ranks them",
        ),
    ] = False,
    marginal_year: Annotated[
        str | None,
        typer.Option(help="the year --marginal counts (default: the first full year of "
                     "every phase)"),
    ] = None,
    marginal_replications: Annotated[
        int, typer.Option(help="seeds --marginal pairs its runs on (at least 2)")
    ] = 3,
) -> None:
    """Simulate the plant (and its venture) month by month and write tables, a report
    and the plant's state at the end (state.json)."""
    scenario = _named(scenario)
    if marginal_year is not None and not marginal:
        raise EvplantError("needs --marginal", field="--marginal-year")
    if marginal and marginal_replications < 2:
        raise EvplantError(f"must be at least 2, got {marginal_replications}",
                           field="--marginal-replications")
    if marginal and state_file is not None:
        # the values come from runs of the scenario from its start, not from a state
        raise EvplantError("not with --state: the marginal values are runs of the "
                           "scenario from its start", field="--marginal")
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from . import state as run_state
    from .experiments.central import central_case
    from .outdir import claim
    from .report import render_run
    from .results import write_run
    from .run import simulate
    from .scenario import prepare

    begun = run_state.read_state(state_file) if state_file is not None else None
    if begun is None and start is not None:
        raise EvplantError("needs --state FILE, the state to continue from", field="--start")
    prepared = prepare(scenario, overrides or [], started=begun.phases if begun else ())
    case = central_case(scenario, prepared)  # uncertain values at their centre, as mc's
    sc, source = case.scenario, prepared.source
    if begun is not None and seed is None and begun.exact is not None:
        seed = begun.seed
    seed = 0 if seed is None else seed
    first = run_state.check(begun, sc, seed, start) if begun is not None else 0
    at = run_state.months_asked(sc, state_at or [], first)
    if marginal:
        from .optimise.plant import check_year

        check_year(sc, marginal_year, "--marginal-year")
    target = out_dir or Path("runs") / sc.name
    # the folder is checked and locked before the simulation, so a bad --out or a run
    # already writing there fails in a second, not after the run
    with claim(target), Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} {task.fields[unit]}"),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task(f"simulating {sc.name}", total=None, unit="months")

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = simulate(sc, seed, progress=progress, start=begun, state_at=at)
        summary = result.summary
        summary.source, summary.seed, summary.overrides = source, seed, list(overrides or [])
        summary.central = [r.to_dict() for r in case.replaced]
        values, extra = None, {}
        if marginal:
            import json

            from .optimise.plant import plant_marginal_values

            bar.update(task, description="marginal values", completed=0, total=None,
                       unit="runs")
            values = plant_marginal_values(
                scenario, year=marginal_year, replications=marginal_replications, seed=seed,
                overrides=[*(overrides or []), *case.as_overrides()],
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            ).to_dict()
            extra["marginal.json"] = json.dumps(values, indent=2) + "\n"
        forecast, forecast_source = _own_forecast(scenario, sc)
        html = render_run(result.monthly, summary.to_dict(), title=f"evplant: {sc.name}",
                          marginal=values, forecast=forecast, forecast_source=forecast_source)
        states = run_state.files(result, at[-1])
        write_run(target, result, html, states, extra)
    _print_summary(summary.to_dict())
    out.print(
        f"wrote {target}/monthly.csv, monthly.parquet, tables/, summary.json, report.html, "
        + ", ".join([*states, *extra])
    )


def _own_forecast(name_or_path: str, sc: Any) -> tuple[list[Any], str]:
    """The scenario's own forecast table (``calibration.forecast``), for the report's band;
    none where it has none or it cannot be read (the report then shows no band)."""
    if sc.calibration is None or sc.calibration.forecast is None:
        return [], ""
    from .experiments.forecast import read_forecast
    from .scenario.load import beside

    path = beside(name_or_path, sc.calibration.forecast)
    try:
        return read_forecast(Path(path).read_text(encoding="utf-8"), str(path)), \
            sc.calibration.forecast
    except (OSError, EvplantError) as exc:
        err.print(f"note: the scenario's forecast band is not drawn: {exc}", markup=False)
        return [], ""


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.table import Table

    from .report import fmt

    out.print(f"[bold]{summary['scenario']}[/bold], {summary['horizon']}")
    table = Table()
    table.add_column("year")
    table.add_column("produced", justify="right")
    table.add_column("capacity", justify="right")
    for year, made in summary["produced_by_year"].items():
        table.add_row(str(year), f"{made:,.0f}", f"{summary['capacity_by_year'][year]:,.0f}")
    out.print(table)
    lines = [
        f"first month at the {summary['rate_target_per_year']:,.0f} a year rate: "
        f"{summary['first_month_at_target_rate'] or 'not reached'} (capacity: "
        f"{summary['first_month_capacity_at_target_rate'] or 'not reached'})",
        f"bottleneck: {summary['bottleneck_shop']} ({summary['bottleneck_station']})",
    ]
    for key, label in (
        ("npv_cny", "NPV"),
        ("lowest_cash_cny", "lowest cash"),
        ("break_even_month", "break-even month"),
        ("cum_investment_usd", "investment"),
        ("budget_used_share", f"share of the {summary.get('budget_label', 'budget')} budget"),
        ("spent_before_start_cny", "spent before the run"),
    ):
        if key in summary:
            value = summary[key]
            if isinstance(value, float):
                value = fmt.auto(key, value)  # money with its unit, shares as %
            lines.append(f"{label}: {value if value is not None else 'never'}")
    if summary.get("central"):
        lines.append(
            f"{len(summary['central'])} uncertain values set to the centre of their laws "
            "(the report lists them; --set pins one)"
        )
    for line in lines:
        out.print(line)
    for note in summary.get("notes") or []:
        err.print(f"note: {note}", markup=False)


@app.command()
def scenarios() -> None:
    """List the built-in scenarios (the default marked)."""
    from .scenario import builtin_names, load_scenario
    from .scenario.load import DEFAULT

    for name in builtin_names():
        sc, _ = load_scenario(name)
        mark = " (default)" if name == DEFAULT else ""
        out.print(f"{name}{mark}\t{sc.description}", markup=False, highlight=False)


@app.command()
@user_errors
def show(name: ScenarioArg = None) -> None:
    """Print a scenario's YAML, to copy and edit."""
    name = _named(name)
    from .scenario import scenario_text

    text, _ = scenario_text(name)
    sys.stdout.write(text)


@app.command()
@user_errors
def schema(
    out_file: Annotated[Path | None, typer.Option("--out", help="write to a file")] = None,
    line_file: Annotated[bool, typer.Option("--line", help="the line file schema instead")] = False,
) -> None:
    """Write the JSON Schema of scenario files (or line files), for editors."""
    import json

    from . import atomic
    from .line.spec import LineSpec
    from .scenario import Scenario

    model = LineSpec if line_file else Scenario
    text = json.dumps(model.model_json_schema(by_alias=True), indent=2) + "\n"
    if out_file is None:
        sys.stdout.write(text)
    else:
        atomic.write_text(out_file, text)


@app.command()
@user_errors
def compare(
    run_a: Annotated[Path, typer.Argument(help="a folder written by `evplant run`")],
    run_b: Annotated[Path, typer.Argument(help="another one")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="HTML page (default: RUN_B/compare.html)")
    ] = None,
) -> None:
    """Show two runs side by side: cars and money, table and plots."""
    from . import atomic
    from .experiments.console import wrapping_table
    from .report import render_compare
    from .report.compare import summary_rows
    from .results import read_run

    a_run, b_run = read_run(run_a), read_run(run_b)
    sa, sb = a_run.summary, b_run.summary
    # the rows of compare.html, formatted by their unit, in a table that wraps
    headers, body = summary_rows(sa, sb, (str(run_a), str(run_b)))
    table = wrapping_table(f"{run_a} vs {run_b}", headers)
    for row in body:
        table.add_row(*row)
    out.print(table)
    html = render_compare(a_run.rows(), sa, str(run_a), b_run.rows(), sb, str(run_b))
    target = out_file or Path(run_b) / "compare.html"
    atomic.write_text(target, html)
    out.print(f"wrote {target}")


ForecastToOption = Annotated[
    list[str] | None,
    typer.Option("--forecast-to", help="append the forecast, as a new vintage, to a long "
                 "table: FILE.parquet, FILE.csv or a database URL#table (repeatable)"),
]
VintageOption = Annotated[
    str | None,
    typer.Option("--vintage", help="the vintage's name in --forecast-to (default: the last "
                 "month the posterior was fitted on)"),
]


def print_vintage(vintage: str | None, scenario: str, where: list[str]) -> None:
    if vintage is not None:
        out.print(f"appended vintage {vintage} of {scenario} to {', '.join(where)}",
                  markup=False, highlight=False, soft_wrap=True)


@app.command()
@user_errors
def mc(
    scenario: ScenarioArg = None,
    replications: Annotated[int, typer.Option("--replications", "-r", min=1)] = 100,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", "-w", min=1, help="worker processes; >1 starts a local Dask cluster"
        ),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786"),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="output folder (default: runs/<scenario>-mc)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed", min=0)] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue the interrupted run in --out")
    ] = False,
    against: Annotated[
        str | None,
        typer.Option(help="a second scenario: report B - A on common random numbers"),
    ] = None,
    overrides: SetOption = None,
    forecast_to: ForecastToOption = None,
    vintage: VintageOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Monte Carlo: R replications of the whole venture; statistics, fan and tornado charts."""
    scenario = _named(scenario)
    from .experiments import compare_mc, run_mc
    from .experiments.console import compare_table, progress_bar, stats_table, tornado_tables

    if against is not None and forecast_to:
        raise EvplantError("writes one scenario's forecast; not with --against",
                           field="--forecast-to")
    try:
        with progress_bar(err, disable=quiet) as progress:
            if against is None:
                res = run_mc(
                    scenario,
                    replications,
                    workers=workers,
                    scheduler=scheduler,
                    out_dir=out_dir,
                    seed=seed,
                    resume=resume,
                    overrides=overrides or [],
                    progress=progress,
                    forecast_to=forecast_to or [],
                    vintage=vintage,
                )
            else:
                cmp = compare_mc(
                    scenario,
                    against,
                    replications,
                    workers=workers,
                    scheduler=scheduler,
                    out_dir=out_dir or Path("runs") / "mc-compare",
                    seed=seed,
                    resume=resume,
                    overrides_a=overrides or [],
                    overrides_b=overrides or [],
                    progress=progress,
                )
    except KeyboardInterrupt:
        err.print(
            "interrupted: finished replications are saved; "
            "run the same command with --resume to continue"
        )
        raise typer.Exit(130) from None
    if against is None:
        out.print(stats_table(res))
        for t in tornado_tables(res):
            out.print(t)
        files = ", ".join(str(f) for f in res.files)
        out.print(
            f"{res.ran} replications run ({res.executor}) in {res.seconds:.1f} s; wrote {files}"
        )
        print_vintage(res.vintage, res.scenario, res.forecast_to)
    else:
        out.print(compare_table(cmp))
        out.print(f"wrote {', '.join(str(f) for f in cmp.files)}")


WorkersOption = Annotated[
    int,
    typer.Option("--workers", "-w", min=1, help="worker processes; >1 starts a local Dask cluster"),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786"),
]
@app.command()
@user_errors
def serve(
    scenario: ScenarioArg = None,
    host: Annotated[
        str, typer.Option(help="address to listen on; 127.0.0.1 keeps the page to this machine")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0: any free one)", min=0, max=65535)] = 8050,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="folder for the page's outputs (default: a new temporary one)"),
    ] = None,
    quiet_after: Annotated[
        float,
        typer.Option(help="seconds a tab may go without polling before its jobs are "
                     "cancelled and its session may be evicted", min=1.0, max=86400.0),
    ] = 90.0,
    scheduler: Annotated[
        str | None,
        typer.Option(help="a Dask scheduler's address for Monte Carlo, replications and "
                     "calibration (default: the page's own long-job worker)"),
    ] = None,
) -> None:
    """Start the interactive planning page (a local web app) and print its address."""
    import logging

    from .page import serve as run_page
    from .page.safety import Limits, is_loopback

    if not is_loopback(host):
        err.print(f"warning: listening on {host}: anyone who can reach it can run simulations")

    def ready(url: str) -> None:
        sys.stdout.write(f"evplant serve: {url} (Ctrl+C stops)\n")
        sys.stdout.flush()

    logging.basicConfig(format="evplant serve: %(message)s")
    logging.getLogger("evplant.page").setLevel(logging.INFO)
    try:
        run_page(_named(scenario), host, port, out_dir, on_ready=ready, scheduler=scheduler,
                 limits=Limits(quiet_s=quiet_after))
    except OSError as exc:
        raise EvplantError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


app.add_typer(optimize_app, name="optimize")


# the calibration's commands (calibrate, assimilate, backtest) live in their own module
from . import cli_calibrate  # noqa: E402, F401  (its commands register on `app`)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    # `python -m evplant.cli`: this module runs as __main__, and the commands registered
    # from other modules went to `evplant.cli.app`; run that one
    from evplant.cli import main as _main

    _main()
