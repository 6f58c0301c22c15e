"""Experiments: Monte Carlo over the whole venture, on one core or a Dask cluster.

A scenario's ``uncertainty:`` list names values drawn per replication
(:class:`Uncertainty`). ``run_mc`` runs R replications, each a pure function of
(scenario, seed, r), writes finished ones in Parquet chunks as they complete (so
``resume=True`` continues an interrupted run), and returns statistics (mean, 95% CI,
P10/P50/P90 of every KPI) and tornado sensitivities; ``compare_mc`` runs two scenarios
on common random numbers and reports their paired difference.

Modules: ``plan`` (seeds and draws), ``replicate`` (one batch, what a worker runs),
``kpis``, ``executors`` (in-process, local Dask cluster, remote scheduler), ``store``
(manifest and chunks), ``stats``, ``sensitivity``, ``report`` (HTML), ``console``
(progress bar, tables), ``run`` (the API below).

The API, and the ``evplant mc`` command wired to it (for ``evplant/cli.py``)::

    @app.command()
    @user_errors
    def mc(
        scenario: ScenarioArg = "beijing-etown",
        replications: Annotated[int, typer.Option("--replications", "-r", min=1)] = 100,
        workers: Annotated[int, typer.Option("--workers", "-w", min=1,
            help="worker processes; more than 1 starts a local Dask cluster")] = 1,
        scheduler: Annotated[str | None, typer.Option("--scheduler",
            help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")] = None,
        out_dir: Annotated[Path | None, typer.Option("--out",
            help="output folder (default: runs/<scenario>-mc)")] = None,
        seed: Annotated[int, typer.Option(help="random seed", min=0)] = 0,
        resume: Annotated[bool, typer.Option("--resume",
            help="continue the interrupted run in --out")] = False,
        against: Annotated[str | None, typer.Option("--against",
            help="a second scenario: report B - A on common random numbers")] = None,
        overrides: SetOption = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    ) -> None:
        \"\"\"Monte Carlo: R replications of the whole venture; statistics, fan and
        tornado charts.\"\"\"
        from .experiments import compare_mc, run_mc
        from .experiments.console import (
            compare_table, progress_bar, stats_table, tornado_tables)

        try:
            with progress_bar(err, disable=quiet) as progress:
                if against is None:
                    res = run_mc(scenario, replications, workers=workers,
                                 scheduler=scheduler, out_dir=out_dir, seed=seed,
                                 resume=resume, overrides=overrides or [],
                                 progress=progress)
                else:
                    cmp = compare_mc(scenario, against, replications, workers=workers,
                                     scheduler=scheduler,
                                     out_dir=out_dir or Path("runs") / "mc-compare",
                                     seed=seed, resume=resume,
                                     overrides_a=overrides or [],
                                     overrides_b=overrides or [], progress=progress)
        except KeyboardInterrupt:
            err.print("interrupted: finished replications are saved; "
                      "run the same command with --resume to continue")
            raise typer.Exit(130) from None
        if against is None:
            out.print(stats_table(res))
            for t in tornado_tables(res):
                out.print(t)
            out.print(f"{res.ran} replications run ({res.executor}) in "
                      f"{res.seconds:.1f} s; wrote {', '.join(str(f) for f in res.files)}")
        else:
            out.print(compare_table(cmp))
            out.print(f"wrote {', '.join(str(f) for f in cmp.files)}")

Signatures::

    run_mc(scenario="beijing-etown", replications=100, *, workers=1, scheduler=None,
           out_dir=None, seed=0, resume=False, overrides=(), progress=None,
           batch_size=None, report=True, executor=None) -> McResult
    compare_mc(scenario_a, scenario_b, replications=100, *, workers=1, scheduler=None,
               out_dir="runs/mc-compare", seed=0, resume=False, overrides_a=(),
               overrides_b=(), progress=None, report=True) -> McComparison
    load_mc(out_dir) -> McResult
    paired_difference(a: McResult, b: McResult) -> (kpi names, {kpi: Paired})
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Uncertainty": "evplant.scenario.uncertainty",
    "run_mc": "evplant.experiments.run",
    "compare_mc": "evplant.experiments.run",
    "load_mc": "evplant.experiments.run",
    "paired_difference": "evplant.experiments.run",
    "McResult": "evplant.experiments.run",
    "McComparison": "evplant.experiments.run",
    "make_executor": "evplant.experiments.executors",
}

__all__ = [
    "McComparison",
    "McResult",
    "Uncertainty",
    "compare_mc",
    "load_mc",
    "make_executor",
    "paired_difference",
    "run_mc",
]

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario.uncertainty import Uncertainty
    from .executors import make_executor
    from .run import McComparison, McResult, compare_mc, load_mc, paired_difference, run_mc


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evplant.experiments' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
