"""``evplant optimize``: the command group, a Typer sub-app mounted by ``evplant.cli``.

Thin like the rest of the CLI: parse, call ``evplant.optimise``, print. Arguments are
checked here or by the API and every bad one is one ``EvplantError`` line, exit 2.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from ..errors import EvplantError

out = Console()
err = Console(stderr=True, highlight=False, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """EvplantError as plain lines on stderr and exit code 2, as in ``evplant.cli``
    (not imported from there: ``evplant.cli`` mounts this module, so it cannot be
    imported back while it loads)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EvplantError as exc:
            for problem in exc.problems:
                err.print(f"error: {problem}", markup=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _json(data: Any) -> str:
    # json is imported here, not at the top: `evplant --help` loads this module
    import json

    return json.dumps(data, indent=2) + "\n"

app = typer.Typer(
    name="optimize",
    help="Search designs: buffer allocation, marginal values, a plant's budget, decisions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FileArg = Annotated[Path, typer.Argument(help="line file (YAML); see docs/line-files.md")]
Jobs = Annotated[int, typer.Option("--jobs", "-n", help="vehicles per evaluation")]
Seed = Annotated[int, typer.Option(help="random seed (common random numbers for all designs)")]
Workers = Annotated[int, typer.Option(help="threads evaluating designs (results do not change)")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def numbers(text: str | None, option: str) -> list[float] | None:
    """``"1,2.5,3"`` as floats, or one clear error naming the option."""
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise EvplantError(
            f"give a number or comma-separated numbers, got {text!r}", field=option
        ) from None


def _check(name: str, value: int, low: int) -> None:
    if value < low:
        raise EvplantError(f"must be at least {low}, got {value}", field=f"--{name}")


def _load(file: Path) -> Any:
    from ..inputs import load_file
    from ..line.spec import LineSpec

    return load_file(LineSpec, file)


@app.command()
@user_errors
def buffers(
    file: FileArg,
    total: Annotated[int | None, typer.Option(help="at most this many places in all")] = None,
    budget: Annotated[
        float | None, typer.Option(help="at most this much money (with --cost per place)")
    ] = None,
    cost: Annotated[
        str | None,
        typer.Option(help="cost per place: one number, or one per buffer (comma-separated)"),
    ] = None,
    jobs: Jobs = 10_000,
    seed: Seed = 0,
    workers: Workers = 1,
    trials: Annotated[int, typer.Option(help="designs the optuna (TPE) stage proposes")] = 64,
    replications: Annotated[
        int, typer.Option(help="fresh streams re-evaluating the best few designs")
    ] = 5,
    starts: Annotated[
        int, typer.Option(help="TPE's best designs the local search also starts from "
                          "(beside the file's own, an even split and an inverted bowl)")
    ] = 2,
    as_json: AsJson = False,
) -> None:
    """Allocate buffer places across a line to maximise its throughput."""
    from .buffers import allocate_buffers

    for name, value, low in (("jobs", jobs, 100), ("seed", seed, 0), ("workers", workers, 1),
                             ("trials", trials, 0), ("replications", replications, 1),
                             ("starts", starts, 0)):
        _check(name, value, low)
    costs = numbers(cost, "--cost")
    spec = _load(file)
    res = allocate_buffers(spec, total=total, budget=budget, cost=costs or 1.0, jobs=jobs,
                           seed=seed, workers=workers, trials=trials,
                           replications=replications, starts=starts)
    if as_json:
        sys.stdout.write(_json(res.to_dict()))
        return
    from rich.table import Table

    names = [s.name for s in spec.stations]
    table = Table(title=f"buffer allocation, {file.name} ({res.evaluations:,} designs run)")
    for col in ("buffer", "start", "best"):
        table.add_column(col, justify="left" if col == "buffer" else "right")
    for i, (a, b) in enumerate(zip(res.start, res.buffers, strict=True)):
        table.add_row(f"{names[i]} -> {names[i + 1]}", str(a), str(b))
    out.print(table)
    out.print("local searches: " + "; ".join(
        f"{a.name} {a.start} -> {a.reached} ({a.throughput_per_hour:.3f})" for a in res.starts))
    out.print(
        f"throughput {res.throughput_per_hour:.3f} jobs/h (+/- {res.throughput_se:.3f}, "
        f"{replications} fresh streams); start {res.start_throughput_per_hour:.3f} jobs/h; "
        f"{res.evaluations_per_second:.0f} evaluations/s; {res.wall_s:.1f} s"
    )
    out.print(f"throughputs per clock hour; places used {sum(res.buffers)}, "
              f"money spent {res.spent:g}")


@app.command()
@user_errors
def marginal(
    file: FileArg,
    jobs: Jobs = 20_000,
    seed: Seed = 0,
    replications: Annotated[
        int, typer.Option(help="independent streams (standard errors); each one paired")
    ] = 5,
    workers: Workers = 1,
    step: Annotated[float, typer.Option(help="relative change of a cycle time (+-)")] = 0.02,
    second_cost: Annotated[
        str | None, typer.Option(help="price of a second saved: one, or one per station")
    ] = None,
    server_cost: Annotated[
        str | None, typer.Option(help="price of a server: one, or one per station")
    ] = None,
    place_cost: Annotated[
        str | None, typer.Option(help="price of a buffer place: one, or one per buffer")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The jobs an hour (and a year) one more second saved, server or place is worth."""
    from .marginal import marginal_values

    for name, value, low in (("jobs", jobs, 100), ("seed", seed, 0), ("workers", workers, 1)):
        _check(name, value, low)
    prices = {k: numbers(v, f"--{k.replace('_', '-')}") for k, v in
              (("second_cost", second_cost), ("server_cost", server_cost),
               ("place_cost", place_cost))}
    spec = _load(file)
    res = marginal_values(spec, jobs=jobs, seed=seed, replications=replications,
                          workers=workers, step=step, **prices)
    if as_json:
        sys.stdout.write(_json(res.to_dict()))
        return
    from rich.table import Table

    priced = any(v.cost is not None for v in res.values)
    table = Table(title=f"marginal values, {file.name} (ranked)")
    cols = ["what", "where", "jobs/h per unit", "+/-", "jobs/year per unit"]
    if priced:
        cols += ["cost", "jobs/year per money"]
    for col in cols:
        table.add_column(col, justify="left" if col in ("what", "where") else "right")
    for v in res.ranking:
        row = [v.unit, v.name, f"{v.per_hour:.4f}", f"{v.per_hour_se:.4f}", f"{v.per_year:,.0f}"]
        if priced:
            row += [f"{v.cost:g}", f"{v.per_year_per_cost:.4g}"]
        table.add_row(*row)
    out.print(table)
    out.print(f"throughput {res.throughput_per_hour:.3f} jobs/h (+/- {res.throughput_se:.3f}); "
              f"{res.evaluations} runs, {res.evaluations_per_second:.0f} a second; "
              "per clock hour and clock year")


@app.command()
@user_errors
def scenario(
    scenario: Annotated[
        str | None, typer.Argument(help="a built-in scenario name or a YAML file")
    ] = None,
    decide: Annotated[
        list[str] | None,
        typer.Option("--decide", help="PATH=LOW..HIGH: numbers, whole numbers or months"),
    ] = None,
    objective: Annotated[
        str, typer.Option(help="npv (mean), p10_npv (10th percentile) or output_YYYY (mean)")
    ] = "npv",
    replications: Annotated[int, typer.Option(help="Monte Carlo replications a proposal")] = 8,
    budget: Annotated[int, typer.Option(help="proposals to run")] = 24,
    workers: Workers = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="address of a running Dask scheduler")
    ] = None,
    seed: Seed = 0,
    cash_floor: Annotated[
        float | None, typer.Option(help="no replication's cash below this (CNY)")
    ] = None,
    max_investment: Annotated[
        str | None,
        typer.Option(help="no replication's investment above this (US$), or 'budget': "
                     "the venture's budget_usd"),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override a value, path=value")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="write best-scenario.yaml, decisions.json, report.html"),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Choose decision values that maximise NPV, its P10 or a year's output."""
    from ..scenario.load import DEFAULT
    from .decisions import optimise_scenario

    scenario = DEFAULT if scenario is None else scenario
    res = optimise_scenario(scenario, decide or [], objective=objective,
                            replications=replications, budget=budget, workers=workers,
                            scheduler=scheduler, seed=seed, overrides=set_ or [],
                            cash_floor=cash_floor, max_investment=max_investment,
                            out_dir=out_dir)
    if as_json:
        sys.stdout.write(_json(res.to_dict()))
        return
    from rich.table import Table

    table = Table(title=f"decisions, {objective}, {replications} replications a proposal")
    paths = [p for p in (res.trials[0].values if res.trials else {})]
    for col in ("trial", *paths, objective, "best so far"):
        table.add_column(col, justify="right")
    for k, (t, best) in enumerate(zip(res.trials, res.convergence, strict=True)):
        mark = "" if t.feasible else " (" + ", ".join(
            w for w, bad in (("cash below floor", res.cash_floor is not None
                              and t.lowest_cash < res.cash_floor),
                             ("investment over cap", res.max_investment is not None
                              and t.investment > res.max_investment)) if bad) + ")"
        table.add_row(str(k + 1), *t.values.values(), f"{t.objective:,.4g}{mark}",
                      f"{best:,.4g}")
    out.print(table)
    if res.best is None:
        out.print("no proposal met the constraints")
    else:
        out.print("best: " + ", ".join(f"{p}={v}" for p, v in res.best.values.items())
                  + f" -> {objective} {res.best.objective:,.6g}")
    if res.files:
        out.print(f"wrote {', '.join(str(f) for f in res.files)}")


@app.command()
@user_errors
def plant(
    scenario: Annotated[
        str | None, typer.Argument(help="a built-in scenario name or a YAML file")
    ] = None,
    year: Annotated[
        str | None,
        typer.Option(help="the year whose output counts (default: the first full year of "
                     "every phase)"),
    ] = None,
    replications: Annotated[int, typer.Option(help="independent seeds, each paired")] = 3,
    seed: Seed = 0,
    server_cost: Annotated[
        float | None, typer.Option(help="price of a server everywhere (default: plant.costs)")
    ] = None,
    place_cost: Annotated[
        float | None,
        typer.Option(help="price of a store place everywhere (default: plant.costs)"),
    ] = None,
    place_step: Annotated[int, typer.Option(help="store places added at once")] = 10,
    screen: Annotated[
        float,
        typer.Option(help="skip levers worth under this share of the best of their kind on "
                     "the phase's mature line (0: run all)"),
    ] = 0.05,
    budget: Annotated[
        float | None,
        typer.Option(help="spend at most this much money on servers and store places "
                     "(greedy by cars per unit of money), instead of ranking"),
    ] = None,
    fresh: Annotated[
        int, typer.Option(help="fresh seeds re-running the design a --budget buys")
    ] = 5,
    shortlist: Annotated[
        int, typer.Option(help="levers a --budget step runs in full (the screen's best "
                          "per unit of money)")
    ] = 8,
    max_steps: Annotated[int, typer.Option(help="purchases a --budget makes at most")] = 50,
    lump: Annotated[
        float, typer.Option(help="a --budget buys store places in lumps costing at least "
                            "this share of it (0: --place-step at a time)")
    ] = 0.05,
    workers: Annotated[
        int, typer.Option(help="processes running the full runs (results do not change)")
    ] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="address of a running Dask scheduler")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override a value, path=value")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="write marginal.json (or allocation.json) into this folder"),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Cars a year one more server, store place or second saved buys at every station
    and store that could matter, ranked per unit of money; or spend a --budget on them."""
    from ..scenario.load import DEFAULT

    scenario = DEFAULT if scenario is None else scenario
    if out_dir is not None:
        from ..outdir import usable

        usable(out_dir)
    if budget is not None:
        from .plant_budget import allocate_plant

        alloc = allocate_plant(scenario, budget, year=year, replications=replications,
                               fresh=fresh, seed=seed, overrides=set_ or [],
                               server_cost=server_cost, place_cost=place_cost,
                               place_step=place_step, screen_share=screen,
                               shortlist=shortlist, max_steps=max_steps, lump_share=lump,
                               workers=workers, scheduler=scheduler,
                               progress=None if as_json else lambda line: err.print(line))
        data = alloc.to_dict()
        _write(out_dir, "allocation.json", data)
        if as_json:
            sys.stdout.write(_json(data))
            return
        _print_allocation(alloc, scenario)
        return
    from .plant import plant_marginal_values

    res = plant_marginal_values(scenario, year=year, replications=replications, seed=seed,
                                overrides=set_ or [], server_cost=server_cost,
                                place_cost=place_cost, place_step=place_step,
                                screen_share=screen, workers=workers, scheduler=scheduler)
    data = res.to_dict()
    data["cars_a_year"] = res.throughput_per_hour * 8760.0
    _write(out_dir, "marginal.json", data)
    if as_json:
        sys.stdout.write(_json(data))
        return
    from rich.table import Table

    priced = any(v.cost is not None for v in res.values)
    table = Table(title=f"where the next unit buys the most cars ({scenario}, {res.year})")
    cols = ["what", "where", "cars a year", "+/-"] + (["cost", "cars a year per million"]
                                                     if priced else [])
    for col in cols:
        table.add_column(col, justify="left" if col in ("what", "where") else "right")
    for v in [*res.ranking, *(v for v in res.values if v not in res.ranking)]:
        row = [v.unit, v.name, f"{v.per_year:,.1f}", f"{v.per_hour_se * 8760:,.1f}"]
        if priced:
            row += ([f"{v.cost:,.0f}", f"{(v.per_year_per_cost or 0) * 1e6:,.2f}"]
                    if v.cost is not None else ["", ""])
        table.add_row(*row)
    out.print(table)
    out.print(f"base {res.throughput_per_hour * 8760:,.0f} cars in {res.year}; "
              f"{res.evaluations} runs, paired on common random numbers; "
              f"{len(res.screened_out)} levers screened out on the mature lines")


def _write(folder: Path | None, name: str, data: dict[str, Any]) -> None:
    if folder is None:
        return
    from ..atomic import write_text
    from ..outdir import writing

    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / name, _json(data))


def _print_allocation(alloc: Any, scenario: str) -> None:
    from rich.table import Table

    table = Table(title=f"what {alloc.budget:,.0f} buys ({scenario}, {alloc.year})")
    for col in ("step", "buy", "where", "price", "cars gained", "+/-", "spent"):
        table.add_column(col, justify="left" if col in ("buy", "where") else "right")
    for i, p in enumerate(alloc.purchases):
        what = "server" if p.kind == "server" else f"{p.units} store places"
        table.add_row(str(i + 1), what, p.name, f"{p.cost:,.0f}", f"{p.gain:,.0f}",
                      f"{p.gain_se:,.0f}", f"{p.spent:,.0f}")
    out.print(table)
    if not alloc.purchases:
        out.print("nothing affordable gains cars clear of the noise")
    out.print(f"on {alloc.fresh} fresh seeds: {alloc.base_cars:,.0f} -> {alloc.cars:,.0f} cars "
              f"(+{alloc.gain:,.0f} +/- {alloc.gain_se:,.0f}); {alloc.runs} runs, "
              f"{alloc.wall_s:.0f} s")
    for item in alloc.changes:
        out.print(f"--set {item}")
