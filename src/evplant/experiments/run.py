"""Monte Carlo over the whole venture: run R replications, keep them, summarise them.

``run_mc`` is what ``evplant mc`` calls; ``compare_mc`` runs two scenarios on common
random numbers and reports their paired difference; ``load_mc`` reads a finished run.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, atomic
from ..errors import EvplantError
from ..months import EPOCH, month_label
from ..months import months as month_range
from ..outdir import claim, writing
from ..results import jsonable
from ..scenario import load
from ..scenario.uncertainty import Uncertainty
from . import forecast_table as FT
from . import kpis as K
from .central import uncertain_parameters
from .executors import DaskExecutor, Sequential, make_executor
from .forecast import (
    FORECAST_CSV,
    ForecastRow,
    ForecastSpec,
    Vintage,
    default_origin,
    forecast_csv,
    forecast_rows,
)
from .replicate import Batch, McJob, run_batch, scenario_for
from .sensitivity import Tornado, default_outputs, tornado
from .stats import Paired, Stat, describe, paired
from .store import Manifest, Store, digest

Progress = Callable[[int, int], None]
SUMMARY_JSON = "summary.json"
REPLICATIONS_CSV = "replications.csv"
MONTHLY_PARQUET = "monthly.parquet"
REPORT_HTML = "report.html"
COMPARE_JSON = "compare.json"
COMPARE_HTML = "compare.html"


@dataclass
class McResult:
    """A finished Monte Carlo run: every replication (sorted by id) and its statistics."""

    out_dir: Path
    scenario: str
    source: str
    overrides: list[str]
    seed: int
    replications: int
    params: list[Uncertainty]
    months: list[str]
    kpi_names: list[str]
    ids: np.ndarray  # int64 [R], 0..R-1
    values: np.ndarray  # float64 [R, parameters], the drawn values
    kpi_values: np.ndarray  # float64 [R, KPIs]
    paths: dict[str, np.ndarray]  # monthly name -> float64 [R, months]
    stats: dict[str, Stat]
    tornado: dict[str, Tornado]
    ran: int = 0  # replications this call simulated (the rest were already on disk)
    seconds: float = 0.0
    executor: str = ""
    files: list[Path] = field(default_factory=list)
    observed: tuple[Any, ...] = ()  # the record's statements (calibrated scenarios)
    forecast: ForecastSpec | None = None  # how forecast.csv's predictive band is made
    vintages: tuple[Vintage, ...] = ()  # earlier forecasts of the scenario, for the report
    vintage: str | None = None  # the vintage appended to --forecast-to (None: none given)
    forecast_to: list[str] = field(default_factory=list)  # where (as shown: no password)

    def kpi(self, name: str) -> np.ndarray:
        return self.kpi_values[:, self.kpi_names.index(name)]

    def forecast_rows(self) -> list[ForecastRow]:
        """Both bands of every period and metric (:mod:`.forecast`); none without a spec."""
        if self.forecast is None:
            return []
        return forecast_rows(self.paths, self.months, self.forecast, self.seed)

    def param(self, path: str) -> np.ndarray:
        return self.values[:, [p.path for p in self.params].index(path)]

    def summary(self) -> dict[str, Any]:
        """summary.json: settings, statistics and sensitivity; no timings or worker
        counts, so the file is the same bit for bit however the run was spread."""
        return _plain({
            "scenario": self.scenario,
            "source": self.source,
            "overrides": self.overrides,
            "seed": self.seed,
            "replications": self.replications,
            "horizon": f"{self.months[0]}..{self.months[-1]}",
            "month_numbers": f"months since {EPOCH} (2025-09 is 20); null: never",
            "parameters": [p.model_dump(exclude_none=True) for p in self.params],
            "kpis": {k: self.stats[k].to_dict() for k in self.kpi_names},
            "sensitivity": {k: t.to_dict() for k, t in self.tornado.items()},
        })


def prepare(
    scenario: str | Path, seed: int = 0, overrides: Sequence[str] = ()
) -> tuple[McJob, Manifest]:
    """Read a scenario once, apply ``--set`` overrides and validate it; the job workers
    get and the manifest that identifies the run.

    An override of an uncertain value pins it: that parameter is dropped from the list.
    """
    if seed < 0:
        raise EvplantError("must not be negative", field="--seed")
    prepared = load.prepare(scenario, overrides)
    base, data, source = prepared.scenario, prepared.data, prepared.source
    params, locs, posterior = uncertain_parameters(scenario, prepared)
    observed: tuple[Any, ...] = ()
    if base.calibration is not None and base.calibration.observed_files:
        observed = _observed(str(scenario), base.calibration.observed_files)
    months = month_range(base.horizon.start, base.horizon.end)
    venture = base.venture is not None
    cal = base.calibration
    spec = ForecastSpec(
        default_origin(months, base.posterior.fitted_through if base.posterior else None),
        cal.discrepancy if cal is not None else None,
        {m: mm.scale for m, mm in cal.observation_model.metrics.items()} if cal else {},
    )
    job = McJob(
        data=data,
        source=source,
        seed=int(seed),
        params=tuple(params),
        locs=tuple(locs),
        venture=venture,
        kpi_names=tuple(K.kpi_names(months, venture)),
        path_names=tuple(K.path_names(venture)),
        months=tuple(months),
        posterior=posterior,
        observed=observed,
        forecast=spec,
        vintages=_vintages(str(scenario), cal.vintages if cal is not None else []),
    )
    manifest = Manifest(
        scenario=base.name,
        source=source,
        overrides=list(overrides),
        scenario_sha256=digest(
            data if posterior is None else {"data": data, "posterior": posterior.values.tolist()}
        ),
        seed=int(seed),
        replications=0,
        batch_size=1,
        parameters=[p.model_dump() for p in params],
        kpis=list(job.kpi_names),
        monthly=list(job.path_names),
        months=months,
        evplant=__version__,
    )
    return job, manifest


def _observed(name_or_path: str, relative: list[str]) -> tuple[Any, ...]:
    """The record's statements, to show over the fans. The record is only shown, never
    used, by a Monte Carlo run: a scenario copied away from its record still runs, and
    its report says why no record is drawn."""
    from ..calibration.observations import read_observations
    from ..scenario.load import beside

    try:
        return tuple(s for f in relative for s in read_observations(beside(name_or_path, f)))
    except EvplantError as exc:
        return (str(exc.problems[0]),)


def _vintages(name_or_path: str, refs: Sequence[Any]) -> tuple[Vintage, ...]:
    """The scenario's earlier forecasts (``calibration.vintages``), for the report; one
    that cannot be read is left out of the report, which says why."""
    from ..scenario.load import beside
    from .forecast import read_forecast

    out = []
    for ref in refs:
        path = beside(name_or_path, ref.forecast)
        try:
            rows = read_forecast(Path(path).read_text(encoding="utf-8"), str(path))
        except (OSError, EvplantError) as exc:
            out.append(Vintage(f"{ref.name} (not drawn: {exc})", ()))
            continue
        out.append(Vintage(ref.name, tuple(rows)))
    return tuple(out)


def _plain(summary: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = jsonable(summary)
    return out


def default_batch_size(replications: int) -> int:
    """Replications per task and per chunk file: 1 for small runs, up to 8 for large
    ones. It depends on R only, so the chunk files do not depend on the worker count."""
    return max(1, min(8, replications // 64))


def batches(ids: Sequence[int], size: int) -> list[list[int]]:
    """Group ids (sorted) by the batch grid ``id // size``: a resumed run writes chunks
    on the same grid as the run it continues."""
    out: dict[int, list[int]] = {}
    for r in sorted(ids):
        out.setdefault(r // size, []).append(r)
    return [out[k] for k in sorted(out)]


def run_mc(
    scenario: str | Path = load.DEFAULT,
    replications: int = 100,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    out_dir: str | Path | None = None,
    seed: int = 0,
    resume: bool = False,
    overrides: Sequence[str] = (),
    progress: Progress | None = None,
    batch_size: int | None = None,
    report: bool = True,
    executor: Sequential | DaskExecutor | None = None,
    forecast_to: Sequence[str] = (),
    vintage: str | None = None,
) -> McResult:
    """Run ``replications`` replications of the whole venture and summarise them.

    Finished batches are written to ``out_dir/chunks`` as they complete; with ``resume``
    a run continues from what is there (never repeating or losing a replication, and
    refusing a run with other settings). ``progress(done, total)`` is called once at the
    start (``done`` counts what was already on disk) and after each finished batch.
    ``executor`` (optional) reuses an executor from :func:`make_executor` across runs.
    Raises EvplantError for user errors; KeyboardInterrupt passes through (the finished
    chunks stay, ready for ``resume``).

    Parameters
    ----------
    scenario : str or pathlib.Path
        A built-in scenario name or a YAML file; its ``uncertainty:`` list is drawn.
    replications : int
        R, at least 1.
    workers, scheduler
        One process (1, None), a local Dask cluster (``workers > 1``) or a remote
        scheduler's address; the results do not depend on them.
    out_dir : str or pathlib.Path, optional
        The run folder (default ``runs/<scenario>-mc``).
    seed : int
        The run's seed; replication ``r`` is a pure function of (scenario, seed, r).
    resume : bool
        Continue the run in ``out_dir`` instead of starting afresh.
    overrides : sequence of str
        ``--set`` items; an override of an uncertain value pins it.
    forecast_to : sequence of str
        Forecast tables to append this run's forecast to, as vintage ``vintage``
        (default: the last month the posterior was fitted on):
        ``.parquet``, ``.csv`` or a database ``URL#table``
        (:mod:`evplant.experiments.forecast_table`). A vintage already there is refused
        before the run.

    Returns
    -------
    McResult
        The replications' drawn values, KPIs and monthly paths, their statistics and
        tornado sensitivities, and the files written.

    Raises
    ------
    EvplantError
        For bad input, before any file is written or any cluster started.
    """
    t0 = time.perf_counter()
    if replications < 1:
        raise EvplantError("must be at least 1", field="--replications")
    job, manifest = prepare(scenario, seed, overrides)
    places = FT.targets(forecast_to)
    if places:
        origin = job.forecast.origin if job.forecast is not None else job.months[0]
        vintage = FT.vintage_name(vintage if vintage is not None else origin)
        FT.refuse_taken(places, vintage, manifest.scenario)
    manifest.replications = int(replications)
    manifest.batch_size = int(batch_size or default_batch_size(replications))
    target = Path(out_dir) if out_dir is not None else Path("runs") / f"{manifest.scenario}-mc"
    store = Store(target)
    done = store.done_ids() if resume and store.exists() else set()
    pending = [r for r in range(replications) if r not in done]
    for r in pending:  # fail early, before any file or cluster, on draws no scenario allows
        scenario_for(job, r)
    # one run at a time into a folder; a full disk is an error that keeps what is done
    with claim(target), writing(target, resume_hint=True):
        manifest = store.open(manifest, resume)
        done = store.done_ids() if resume else set()
        pending = [r for r in range(replications) if r not in done]
        finished = len(done & set(range(replications)))
        if progress is not None:
            progress(finished, replications)
        description = "nothing to run"
        if pending:
            owned = executor is None
            ex = executor if executor is not None else make_executor(workers, scheduler)
            description = ex.description
            try:
                work = ex.run(run_batch, job, batches(pending, manifest.batch_size))
                with contextlib.closing(work) as it:
                    for batch in it:
                        store.write(batch, manifest)
                        finished += len(batch.ids)
                        if progress is not None:
                            progress(finished, replications)
            finally:
                if owned:
                    ex.close()
        data = store.read(manifest, replications)
        result = _result(target, manifest, job, data, replications)
        result.ran = len(pending)
        result.executor = description
        result.files = write_outputs(result, report=report)
    if places and vintage is not None:
        FT.append_vintage(places, FT.vintage_rows(result.forecast_rows(), vintage,
                                                  result.scenario, FT.now()))
        result.vintage, result.forecast_to = vintage, [p.shown for p in places]
    result.seconds = time.perf_counter() - t0
    return result


def _result(
    out_dir: Path, manifest: Manifest, job: McJob, data: Batch, replications: int
) -> McResult:
    kpi_names = list(manifest.kpis)
    stats = {k: describe(data.kpis[:, j]) for j, k in enumerate(kpi_names)}
    params = list(job.params) if job.params else [
        Uncertainty.model_validate(p) for p in manifest.parameters
    ]
    tornados = {
        out: tornado(params, data.values, data.kpis[:, kpi_names.index(out)], out)
        for out in default_outputs(kpi_names)
        if params
    }
    return McResult(
        out_dir=out_dir,
        scenario=manifest.scenario,
        source=manifest.source,
        overrides=list(manifest.overrides),
        seed=manifest.seed,
        replications=replications,
        params=params,
        months=list(manifest.months),
        kpi_names=kpi_names,
        ids=data.ids,
        values=data.values,
        kpi_values=data.kpis,
        paths=data.paths,
        stats=stats,
        tornado=tornados,
        observed=tuple(job.observed),
        forecast=job.forecast,
        vintages=tuple(job.vintages),
    )


def write_outputs(result: McResult, *, report: bool = True) -> list[Path]:
    """replications.csv, monthly.parquet, summary.json and report.html, written as a
    set: each to a temporary name, all renamed into place once all are complete."""
    out = result.out_dir
    files = [out / REPLICATIONS_CSV, out / MONTHLY_PARQUET, out / SUMMARY_JSON]
    forecast = None
    if result.forecast is not None:
        forecast = forecast_csv(result.forecast_rows())
        files.append(out / FORECAST_CSV)
    html = None
    if report:
        from .report import render_mc

        files.append(out / REPORT_HTML)
        html = render_mc(result)
    with contextlib.ExitStack() as stack:
        tmp = [stack.enter_context(atomic.atomic_path(f)) for f in files]
        tmp[0].write_text(replications_csv(result), encoding="utf-8")
        write_monthly(tmp[1], result)
        tmp[2].write_text(json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8")
        at = 3
        if forecast is not None:
            tmp[at].write_text(forecast, encoding="utf-8")
            at += 1
        if html is not None:
            tmp[at].write_text(html, encoding="utf-8")
    return files


def monthly_table(result: McResult) -> Any:
    """One row per replication and month: ``replication``, ``month`` and each monthly
    path (produced, and with a venture delivered, revenue, cogs, cash), so bands over
    any period (a quarter, a year) can be formed from the replications."""
    import pyarrow as pa

    n, m = len(result.ids), len(result.months)
    cols: dict[str, Any] = {
        "replication": pa.array(np.repeat(result.ids.astype(np.int64), m)),
        "month": pa.array(np.tile(np.array(result.months, dtype=object), n), pa.string()),
    }
    for name, arr in result.paths.items():
        cols[name] = pa.array(np.ascontiguousarray(arr, dtype=np.float64).ravel())
    return pa.table(cols)


def write_monthly(path: Path, result: McResult) -> None:
    import pyarrow.parquet as pq

    with atomic.atomic_path(path) as tmp:
        pq.write_table(monthly_table(result), tmp)


def replications_csv(result: McResult) -> str:
    """One row per replication: id, drawn values, KPIs (months as 'YYYY-MM')."""
    head = ["replication", *[p.path for p in result.params], *result.kpi_names]
    lines = [",".join(head)]
    for i, r in enumerate(result.ids):
        cells = [str(int(r))]
        cells += [repr(float(v)) for v in result.values[i]]
        for j, k in enumerate(result.kpi_names):
            v = float(result.kpi_values[i, j])
            if K.is_month(k):
                cells.append(month_label(v, missing=""))
            else:
                cells.append("" if math.isnan(v) else repr(v))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def load_mc(out_dir: str | Path) -> McResult:
    """Read a run folder written by :func:`run_mc` (all its replications finished)."""
    store = Store(out_dir)
    if not store.exists():
        raise EvplantError("not a Monte Carlo run folder (no manifest.json)", file=str(out_dir))
    manifest = Manifest.read(store.manifest_path)
    params = [Uncertainty.model_validate(p) for p in manifest.parameters]
    job = McJob({}, manifest.source, manifest.seed, tuple(params), (), "npv_cny" in manifest.kpis,
                tuple(manifest.kpis), tuple(manifest.monthly), tuple(manifest.months))
    data = store.read(manifest, manifest.replications)
    return _result(Path(out_dir), manifest, job, data, manifest.replications)


# -- two scenarios on common random numbers -------------------------------------------


@dataclass
class McComparison:
    """B - A replication by replication; same seed, so replication r of A and of B share
    their simulation seed and the uniforms of every parameter they share."""

    a: McResult
    b: McResult
    kpi_names: list[str]
    paired: dict[str, Paired]
    out_dir: Path
    files: list[Path] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return _plain({
            "a": {"scenario": self.a.scenario, "source": self.a.source,
                  "overrides": self.a.overrides, "folder": str(self.a.out_dir)},
            "b": {"scenario": self.b.scenario, "source": self.b.source,
                  "overrides": self.b.overrides, "folder": str(self.b.out_dir)},
            "seed": self.a.seed,
            "replications": self.a.replications,
            "common_random_numbers": True,
            "difference_b_minus_a": {k: self.paired[k].to_dict() for k in self.kpi_names},
        })


def paired_difference(a: McResult, b: McResult) -> tuple[list[str], dict[str, Paired]]:
    """KPIs both runs have, and B - A for each, paired by replication."""
    if a.seed != b.seed:
        raise EvplantError(
            f"the runs used seeds {a.seed} and {b.seed}; common random numbers need one seed"
        )
    if a.replications != b.replications or not np.array_equal(a.ids, b.ids):
        raise EvplantError(
            f"the runs have {a.replications} and {b.replications} replications; pairing needs "
            "the same ones"
        )
    names = [k for k in a.kpi_names if k in b.kpi_names]
    return names, {k: paired(a.kpi(k), b.kpi(k)) for k in names}


def compare_mc(
    scenario_a: str | Path,
    scenario_b: str | Path,
    replications: int = 100,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    out_dir: str | Path = Path("runs") / "mc-compare",
    seed: int = 0,
    resume: bool = False,
    overrides_a: Sequence[str] = (),
    overrides_b: Sequence[str] = (),
    progress: Progress | None = None,
    report: bool = True,
) -> McComparison:
    """Run A into ``out_dir/a`` and B into ``out_dir/b`` on one executor and the same
    seed, then write ``compare.json`` and ``compare.html`` with B - A per KPI."""
    out = Path(out_dir)

    def part(offset: int) -> Progress | None:
        if progress is None:
            return None
        return lambda done, total: progress(offset + done, 2 * total)

    ex = make_executor(workers, scheduler)
    try:
        a = run_mc(scenario_a, replications, out_dir=out / "a", seed=seed, resume=resume,
                   overrides=overrides_a, progress=part(0), report=report, executor=ex)
        b = run_mc(scenario_b, replications, out_dir=out / "b", seed=seed, resume=resume,
                   overrides=overrides_b, progress=part(replications), report=report,
                   executor=ex)
    finally:
        ex.close()
    names, diffs = paired_difference(a, b)
    cmp = McComparison(a, b, names, diffs, out)
    cmp.files = [out / COMPARE_JSON]
    atomic.write_text(cmp.files[0], json.dumps(cmp.summary(), indent=2) + "\n")
    if report:
        from .report import render_compare_mc

        cmp.files.append(out / COMPARE_HTML)
        atomic.write_text(cmp.files[1], render_compare_mc(cmp))
    return cmp
