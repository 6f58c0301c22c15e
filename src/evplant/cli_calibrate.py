"""The calibration's commands: ``evplant calibrate``, ``assimilate`` and ``backtest``.

Registered on :data:`evplant.cli.app` (imported at the end of ``cli.py``); they share
its error handling and options.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .cli import (
    ForecastToOption,
    ScenarioArg,
    SchedulerOption,
    SetOption,
    VintageOption,
    WorkersOption,
    _named,
    app,
    err,
    out,
    print_vintage,
    user_errors,
)

if TYPE_CHECKING:
    from .calibration.api import Calibrated

ObservedOption = Annotated[
    str | None,
    typer.Option(
        "--observed", help="the record: a CSV, a workbook FILE.xlsx[#sheet] or a database "
        "URL#table (default: the scenario's calibration.observed)"
    ),
]
ThroughOption = Annotated[
    str | None,
    typer.Option("--through", help="YYYY-MM: fit only the statements that end by this month "
                 "(default: the whole record)"),
]
BudgetOption = Annotated[
    int, typer.Option("--budget", "-b", min=1, help="the most simulations to run")
]


@app.command()
@user_errors
def calibrate(
    scenario: ScenarioArg = None,
    observed: ObservedOption = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="output folder (default: runs/<name>)")
    ] = None,
    budget: BudgetOption = 4000,
    seed: Annotated[int, typer.Option(help="random seed", min=0)] = 0,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    name: Annotated[
        str | None, typer.Option(help="the calibrated scenario's name (default <name>-calibrated)")
    ] = None,
    through: ThroughOption = None,
    overrides: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Learn the scenario's calibration parameters from the observed record (Bayesian,
    MCMC); write the posterior, the fit, a calibrated scenario and a report."""
    scenario = _named(scenario)
    from .calibration.api import calibrate as run_calibrate
    from .experiments.console import progress_bar

    try:
        with progress_bar(err, disable=quiet, description="simulations") as progress:
            res = run_calibrate(
                str(scenario), observed, out_dir=out_dir, budget=budget, seed=seed,
                workers=workers, scheduler=scheduler, overrides=overrides or [], name=name,
                progress=progress, origin=_after(through),
            )
    except KeyboardInterrupt:
        err.print("interrupted: nothing was written")
        raise typer.Exit(130) from None
    _print_posterior(res)


@app.command()
@user_errors
def backtest(
    scenario: ScenarioArg = None,
    origin: Annotated[
        list[str] | None,
        typer.Option("--origin", help="YYYY-MM, the last month a forecast knows (repeatable; "
                     "default: every quarter's end from the record's second quarter)"),
    ] = None,
    observed: ObservedOption = None,
    out_dir: Annotated[Path, typer.Option("--out", help="output folder")] = Path(
        "runs/backtest"
    ),
    budget: Annotated[
        int, typer.Option("--budget", "-b", min=1, help="simulations of the first calibration")
    ] = 4000,
    assimilate_budget: Annotated[
        int | None, typer.Option(min=1, help="simulations of each assimilation "
                                 "(default: a quarter of --budget)")
    ] = None,
    draws: Annotated[
        int, typer.Option(min=2, help="posterior samples simulated for each forecast")
    ] = 40,
    seed: Annotated[int, typer.Option(help="random seed", min=0)] = 0,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    overrides: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Rolling origins: calibrate at the first, assimilate the record to each later one,
    forecast the rest; score error, band coverage and skill against naive forecasts."""
    scenario = _named(scenario)
    from .calibration.backtest import backtest as run_backtest
    from .calibration.backtest import default_origins
    from .experiments.console import progress_bar, wrapping_table
    from .report import fmt

    origins = origin or default_origins(str(scenario), observed, overrides or [])
    with progress_bar(err, disable=quiet, description="simulations") as progress:
        res = run_backtest(
            str(scenario), origins, observed, out_dir=out_dir, budget=budget,
            assimilate_budget=assimilate_budget, draws=draws, seed=seed, workers=workers,
            scheduler=scheduler, overrides=overrides or [], progress=progress,
        )
    table = wrapping_table("backtest", ("origin", "scored", "mean |error|", "model band holds",
                                        "predictive holds", "skill vs last Q", "vs seasonal",
                                        "vs trend"))

    def pct(x: float | None, signed: bool = False) -> str:
        return fmt.pct(x, 0, signed=signed)

    for s in [*(sc.score() for sc in res.origins), res.summary()]:
        table.add_row(s["origin"], str(s["scored"]),
                      "-" if s["mean_abs_error"] is None else f"{100 * s['mean_abs_error']:.1f}%",
                      pct(s["coverage_p10_p90"]), pct(s["coverage_predictive"]),
                      pct(s["skill_vs_naive_last"], True), pct(s["skill_vs_naive_seasonal"], True),
                      pct(s["skill_vs_naive_trend"], True))
    out.print(table)
    out.print(f"wrote {', '.join(str(f) for f in res.files)} and a posterior per origin")

def _after(through: str | None) -> str | None:
    """The first month not fitted, for ``--through YYYY-MM`` (None: the whole record)."""
    from .calibration.observations import one_month
    from .months import month_label, month_number

    if through is None:
        return None
    return month_label(month_number(one_month(through, "--through")) + 1)


def _print_posterior(res: Calibrated) -> None:
    from .calibration.outputs import fit_rows, parameter_rows
    from .experiments.console import wrapping_table
    from .report.fmt import by_name

    post = res.posterior
    table = wrapping_table(f"{res.name}: posterior (P10 / P50 / P90)",
                           ("parameter", "prior P50", "P10", "P50", "P90", "R-hat"))
    table.title_justify = "left"
    for row in parameter_rows(post):
        table.add_row(row["label"], *(by_name(row["path"], row[k]) for k in (
            "prior_p50", "posterior_p10", "posterior_p50", "posterior_p90")),
            f"{row['r_hat']:.3f}")
    out.print(table)
    fit = fit_rows(post)
    inside = sum(1 for r in fit if r["within_p10_p90"])
    out.print(
        f"{inside} of {len(fit)} statements within the fit's P10-P90; {post.simulations} "
        f"simulations in {post.seconds:.1f} s ({post.executor}); largest R-hat "
        f"{post.diagnostics['r_hat_max']:.3f} over {post.diagnostics['runs']} runs"
        + ("" if post.diagnostics["reached_posterior"] else
           " (the budget ran out before every run reached the posterior: give more)")
    )
    out.print(f"wrote {', '.join(str(f) for f in res.files)}")
    what = res.posterior.diagnostics.get("assimilation")
    if what is not None:
        out.print(
            f"took in {what['new_statements']} statements after {what['fitted_through_before']}"
            f" (now fitted through {what['fitted_through']}): {what['path']}; one reweighting "
            f"kept an ESS of {what['ess_of_one_reweighting']:.0f} of {what['particles']}"
        )


@app.command()
@user_errors
def assimilate(
    scenario: ScenarioArg = None,
    observed: ObservedOption = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="output folder (default: runs/<name>)")
    ] = None,
    budget: BudgetOption = 2000,
    seed: Annotated[int, typer.Option(help="random seed", min=0)] = 0,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    name: Annotated[
        str | None, typer.Option(help="the new scenario's name (default: the scenario's own)")
    ] = None,
    through: ThroughOption = None,
    overrides: SetOption = None,
    forecast_to: ForecastToOption = None,
    forecast_replications: Annotated[
        int | None, typer.Option(min=1, help="replications of the new posterior's forecast "
                                 "(with --forecast-to; default 200)")
    ] = None,
    forecast_horizon: Annotated[
        str | None, typer.Option(help="YYYY-MM: the forecast's last month (with "
                                 "--forecast-to; default: the scenario's horizon end)")
    ] = None,
    vintage: VintageOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Take the record's months after a calibrated scenario's last fitted month into its
    posterior (data tempering from the posterior it has, not from the plan); write the
    same outputs as calibrate, and with --forecast-to the new posterior's forecast."""
    scenario = _named(scenario)
    from .calibration.api import assimilate as run_assimilate
    from .errors import EvplantError
    from .experiments.console import progress_bar

    if not forecast_to:
        given = [o for o, v in (("--forecast-replications", forecast_replications),
                                ("--forecast-horizon", forecast_horizon),
                                ("--vintage", vintage)) if v is not None]
        if given:
            raise EvplantError("needs --forecast-to (where the forecast goes)", field=given[0])
    try:
        with progress_bar(err, disable=quiet, description="simulations") as progress:
            res = run_assimilate(
                str(scenario), observed, out_dir=out_dir, budget=budget, seed=seed,
                workers=workers, scheduler=scheduler, overrides=overrides or [], name=name,
                progress=progress, origin=_after(through), forecast_to=forecast_to or [],
                forecast_replications=forecast_replications or 200,
                forecast_horizon=forecast_horizon, vintage=vintage,
            )
    except KeyboardInterrupt:
        err.print("interrupted: nothing was written")
        raise typer.Exit(130) from None
    _print_posterior(res)
    if res.forecast is not None:
        fc = res.forecast
        out.print(f"forecast: {fc.replications} replications of {fc.scenario} over "
                  f"{fc.months[0]}..{fc.months[-1]} in {fc.out_dir}", soft_wrap=True)
        print_vintage(fc.vintage, fc.scenario, fc.forecast_to)
