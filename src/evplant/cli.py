"""The ``evplant`` command line: thin. Parse, call the API, print, write.

Every user error (``EvplantError``) becomes one line per problem on stderr and exit
code 2, with no traceback and no output file.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from .errors import EvplantError

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


@app.callback()
def _root() -> None:
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
    data["bottleneck_timeline"] = [
        b for b in data["bottleneck_timeline"] if b["from_s"] < result.horizon_s  # type: ignore[union-attr,index]
    ]
    if as_json:
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
    table = Table(title=f"line {data['line']} ({data['engine']} engine, {data['jobs']:,} jobs)")
    for col in ("station", "servers", "util", "blocked", "starved", "failed", "active s", "OEE"):
        table.add_column(col, justify="left" if col == "station" else "right")
    for s in data["stations"]:
        mark = " *" if s["name"] == data["bottleneck"] else ""
        table.add_row(
            s["name"] + mark, str(s["servers"]), f"{s['utilisation']:.1%}", f"{s['blocked']:.1%}",
            f"{s['starved']:.1%}", f"{s['failed']:.1%}", f"{s['active_period_mean_s']:.1f}",
            f"{s['oee']:.1%}",
        )
    out.print(table)
    out.print(
        f"throughput {data['throughput_per_hour']:.2f} jobs/h   lead time "
        f"{data['lead_time_mean_s']:.1f} s   WIP {data['wip_mean']:.2f}   line OEE "
        f"{data['oee']:.1%}   bottleneck (active period method): {data['bottleneck']} (*)"
    )
    out.print("shares are of working (on-shift) time")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
