"""``evplant optimize``: the command group, a Typer sub-app mounted by ``evplant.cli``.

Thin like the rest of the CLI: parse, call ``evplant.optimise``, print. Arguments are
checked here or by the API and every bad one is one ``EvplantError`` line, exit 2.
"""

from __future__ import annotations

import functools
import json
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

app = typer.Typer(
    name="optimize",
    help="Search designs: buffer allocation, and the marginal value of every station.",
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
    as_json: AsJson = False,
) -> None:
    """Allocate buffer places across a line to maximise its throughput."""
    from .buffers import allocate_buffers

    for name, value, low in (("jobs", jobs, 100), ("seed", seed, 0), ("workers", workers, 1),
                             ("trials", trials, 0), ("replications", replications, 1)):
        _check(name, value, low)
    costs = numbers(cost, "--cost")
    spec = _load(file)
    res = allocate_buffers(spec, total=total, budget=budget, cost=costs or 1.0, jobs=jobs,
                           seed=seed, workers=workers, trials=trials,
                           replications=replications)
    if as_json:
        sys.stdout.write(json.dumps(res.to_dict(), indent=2) + "\n")
        return
    from rich.table import Table

    names = [s.name for s in spec.stations]
    table = Table(title=f"buffer allocation, {file.name} ({res.evaluations:,} designs run)")
    for col in ("buffer", "start", "best"):
        table.add_column(col, justify="left" if col == "buffer" else "right")
    for i, (a, b) in enumerate(zip(res.start, res.buffers, strict=True)):
        table.add_row(f"{names[i]} -> {names[i + 1]}", str(a), str(b))
    out.print(table)
    out.print(
        f"throughput {res.throughput_per_hour:.3f} jobs/h (+/- {res.throughput_se:.3f}, "
        f"{replications} fresh streams); start {res.start_throughput_per_hour:.3f} jobs/h; "
        f"{res.evaluations_per_second:.0f} evaluations/s; {res.wall_s:.1f} s"
    )
    out.print(f"throughputs per clock hour; places used {sum(res.buffers)}, "
              f"money spent {res.spent:g}")
