"""What the page's jobs do, through the project's own functions: ``simulate`` for the
base and edited runs, ``compare_mc`` for differences with confidence intervals,
``run_mc`` for Monte Carlo, ``calibrate`` for calibration, ``write_run`` for downloads.
"""

from __future__ import annotations

import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..experiments.central import central_case
from ..results import REPORT_HTML, write_run
from ..run import RunResult, simulate
from ..scenario.load import prepare
from .edits import horizon_items
from .jobs import Job

SEED = 0  # the seed `evplant run` uses by default, so a download reruns to the same figures


@dataclass
class Outcome:
    """An edited run beside its base run, over one horizon."""

    short: bool
    overrides: list[str]
    base: RunResult
    edit: RunResult
    seconds: float
    paired: Any = None  # McComparison when replications were asked for
    replications: int = 0


class Runs:
    """Finished runs by (scenario, overrides, seed): a run is a pure function of them,
    so the base run and a revisited edit are simulated once. Least recently used go
    first past ``size``."""

    def __init__(self, size: int = 12) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._runs: OrderedDict[tuple[str, tuple[str, ...], int], RunResult] = OrderedDict()

    def get(self, source: str, items: Sequence[str], job: Job | None = None,
            offset: int = 0, total: int = 0) -> RunResult:
        key = (source, tuple(items), SEED)
        with self._lock:
            hit = self._runs.get(key)
            if hit is not None:
                self._runs.move_to_end(key)
                return hit
        prepared = prepare(source, items)

        def progress(done: int, months: int) -> None:
            if job is not None:
                job.progress(offset + done, total or months)

        # the central case, as `evplant run` runs it, so a download reruns to these figures
        scenario = central_case(source, prepared).scenario
        result = simulate(scenario, SEED, progress=progress)
        with self._lock:
            self._runs[key] = result
            while len(self._runs) > self.size:
                self._runs.popitem(last=False)
        return result

    def cached(self, source: str, items: Sequence[str]) -> bool:
        with self._lock:
            return (source, tuple(items), SEED) in self._runs


def compare_runs(
    job: Job, runs: Runs, source: str, overrides: Sequence[str], *, short: bool,
    replications: int = 0, out_dir: Path | None = None, scheduler: str | None = None,
) -> Outcome:
    """The base and the edited scenario over the short or the full horizon, and with
    ``replications`` the paired differences of their KPIs on common random numbers."""
    t0 = time.perf_counter()
    prepared = prepare(source, overrides)
    horizon = horizon_items(prepared, short)
    base_items = horizon_items(prepare(source), short)
    months = len(_months(prepared, short))
    steps = [(base_items, not runs.cached(source, base_items)),
             ([*overrides, *horizon], not runs.cached(source, [*overrides, *horizon]))]
    total = sum(months for _, todo in steps if todo) + 2 * replications
    done = 0
    results = []
    for items, todo in steps:
        results.append(runs.get(source, items, job, done, max(total, 1)))
        done += months if todo else 0
    paired = None
    if replications > 0:
        from ..experiments import compare_mc

        def progress(d: int, t: int) -> None:
            job.progress(done + d, max(total, 1))

        paired = compare_mc(
            source, source, replications, out_dir=(out_dir or Path(".")) / f"paired-{job.id}",
            seed=SEED, overrides_a=base_items, overrides_b=[*overrides, *horizon],
            progress=progress, report=False, scheduler=scheduler,
        )
    return Outcome(short, list(overrides), results[0], results[1],
                   time.perf_counter() - t0, paired, replications)


def _months(prepared: Any, short: bool) -> list[str]:
    from ..months import months as month_range
    from .edits import SHORT_MONTHS

    h = prepared.scenario.horizon
    span = month_range(h.start, h.end)
    return span[:SHORT_MONTHS] if short else span


def monte_carlo(job: Job, source: str, overrides: Sequence[str], replications: int,
                out_dir: Path, scheduler: str | None = None) -> Any:
    """``run_mc`` on the edited scenario into ``out_dir``, one replication a batch, so
    that a cancel stops it after the replication under way."""
    from ..experiments import run_mc

    return run_mc(source, replications, out_dir=out_dir, seed=SEED,
                  overrides=list(overrides), progress=job.progress, batch_size=1,
                  scheduler=scheduler)


def calibration(job: Job, source: str, overrides: Sequence[str], budget: int,
                out_dir: Path, scheduler: str | None = None) -> Any:
    """``calibrate`` on the edited scenario into ``out_dir``."""
    from ..calibration.api import calibrate

    return calibrate(source, out_dir=out_dir, budget=budget, seed=SEED,
                     overrides=list(overrides), progress=job.progress, scheduler=scheduler)


DOWNLOADS = {
    "csv.zip": "the run's tables as CSV (monthly.csv, tables/*.csv, summary.json)",
    "parquet.zip": "the run's tables as Parquet (monthly.parquet, tables/*.parquet, summary.json)",
    "report.html": "the run's HTML report",
}


def download(outcome: Outcome, source: str, folder: Path, what: str) -> Path:
    """Write the edited run into ``folder`` with ``write_run`` (once) and return the
    file asked for: a zip of its CSV or Parquet tables, or its report."""
    from ..report import render_run

    if what not in DOWNLOADS:
        raise KeyError(what)
    if not (folder / REPORT_HTML).exists():
        result = outcome.edit
        summary = result.summary
        summary.source, summary.seed, summary.overrides = source, SEED, list(outcome.overrides)
        html = render_run(result.monthly, summary.to_dict(), title=f"evplant: {result.scenario}")
        write_run(folder, result, html)
    if what == REPORT_HTML:
        return folder / REPORT_HTML
    suffix = ".csv" if what == "csv.zip" else ".parquet"
    target = folder / f"{outcome.edit.scenario}-{what.replace('.zip', '')}.zip"
    if not target.exists():
        from ..atomic import atomic_path

        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(folder.rglob(f"*{suffix}")):
                z.write(path, path.relative_to(folder).as_posix())
            z.write(folder / "summary.json", "summary.json")
    return target
