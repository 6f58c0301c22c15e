"""Monte Carlo throughput: replications a second with 1 worker and with 2, and the
parallel efficiency (target: 2 workers at 1.7x or more of 1 worker on 2 cores).

    python benchmarks/bench_mc.py [--replications 16] [--end 2025-12] [--repeats 2]

Each configuration is warmed up first (compiled kernels loaded in every process), so
the figures are steady-state throughput; starting a local cluster is timed separately.
Replications write their chunks as in a real run; the HTML report is left out.

Wall-clock figures need an otherwise idle machine: the load average is printed before
and after, and so is the CPU time per replication (all processes, scheduler included),
which other load does not change: equal CPU per replication with 1 and 2 workers means
2 workers on 2 free cores run at close to twice the speed.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from evplant.experiments.executors import DaskExecutor, Sequential, make_executor
from evplant.experiments.replicate import run_batch
from evplant.experiments.run import prepare, run_mc
from evplant.scenario.load import scenario_text


def scenario_file(folder: Path, end: str) -> str:
    """beijing-etown with its uncertainty set (merged here if not yet in the scenario)."""
    text, _ = scenario_text("beijing-etown")
    data: dict[str, Any] = yaml.safe_load(text)
    fragment = resources.files("evplant.scenario") / "builtin" / "_uncertainty-beijing-etown.yaml"
    if "uncertainty" not in data and fragment.is_file():
        data.update(yaml.safe_load(fragment.read_text(encoding="utf-8")))
    data = copy.deepcopy(data)
    data["horizon"] = {"start": "2024-01", "end": end}
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    # the files the scenario names relative to itself (its observed record)
    builtin = resources.files("evplant.scenario") / "builtin"
    observed = builtin / "observed"
    if observed.is_dir():
        shutil.copytree(str(observed), folder / "observed", dirs_exist_ok=True)
    # and the posterior the calibrated scenario draws its parameters from
    posterior = (data.get("posterior") or {}).get("file")
    if posterior:
        shutil.copy(str(builtin / posterior), folder / posterior)
    return str(path)


@contextlib.contextmanager
def single_threaded_plant() -> Iterator[None]:
    """Run the plant's phases one after the other (``Plant(threads=False)``), for a
    one-core baseline; results are the same either way."""
    from evplant.plant.model import Plant

    defaults = Plant.__init__.__kwdefaults__ or {}
    before = defaults.get("threads", True)
    defaults["threads"] = False
    try:
        yield
    finally:
        defaults["threads"] = before


def cpu_seconds(ex: Sequential | DaskExecutor) -> float:
    """CPU time used so far by this process and every worker process."""
    own = time.process_time()
    if isinstance(ex, DaskExecutor):
        return own + sum(ex.client.run(time.process_time).values())
    return own


@dataclass
class Figures:
    steady: float  # replications a second while replications run
    end_to_end: float  # replications a second for the whole run_mc call
    cpu: float  # CPU seconds per replication, all processes
    kpis: list[np.ndarray]


def throughput(
    ex: Sequential | DaskExecutor, scenario: str, replications: int, repeats: int, folder: Path
) -> Figures:
    """The best of ``repeats`` runs. Steady: from the first progress call (scenario read,
    draws checked) to the last chunk written; end to end: the whole call, with reading
    the scenario and summarising the chunks."""
    job, _ = prepare(scenario, seed=1)
    ex.warm_up(functools.partial(run_batch, job, [replications + 1]))
    out = Figures(0.0, 0.0, float("inf"), [])
    for _ in range(repeats):
        marks: list[float] = []
        folder_k = Path(tempfile.mkdtemp(dir=folder)) / "mc"
        c0 = cpu_seconds(ex)
        t0 = time.perf_counter()
        res = run_mc(scenario, replications, out_dir=folder_k, seed=1, report=False,
                     executor=ex, progress=lambda d, t: marks.append(time.perf_counter()))
        t1 = time.perf_counter()
        out.cpu = min(out.cpu, (cpu_seconds(ex) - c0) / replications)
        out.steady = max(out.steady, replications / (marks[-1] - marks[0]))
        out.end_to_end = max(out.end_to_end, replications / (t1 - t0))
        out.kpis.append(res.kpi_values)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--replications", type=int, default=16)
    ap.add_argument("--end", default="2025-12", help="last month of the horizon")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = scenario_file(folder, args.end)
        print(f"evplant Monte Carlo benchmark: beijing-etown 2024-01..{args.end}, "
              f"{args.replications} replications, best of {args.repeats}; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        print(f"  {'':38}{'replications/s':>16}{'CPU s per':>12}")
        print(f"  {'':38}{'steady':>8}{'total':>8}{'replication':>12}")
        rows: dict[str, Figures] = {}

        def show(name: str, f: Figures, note: str = "") -> None:
            rows[name] = f
            print(f"  {name:38}{f.steady:8.2f}{f.end_to_end:8.2f}{f.cpu:12.3f}  {note}")

        seq = make_executor(1)
        with single_threaded_plant():
            show("1 worker, 1 thread (this process)",
                 throughput(seq, scenario, args.replications, args.repeats, folder))
        show("1 worker (this process, --workers 1)",
             throughput(seq, scenario, args.replications, args.repeats, folder),
             "the plant runs its 2 phases in 2 threads")
        for w in (1, 2):
            t0 = time.perf_counter()
            with make_executor(w) if w > 1 else DaskExecutor(1) as ex:
                start = time.perf_counter() - t0
                show(f"{w} worker{'s' if w > 1 else ''} (local Dask cluster)",
                     throughput(ex, scenario, args.replications, args.repeats, folder),
                     f"cluster started in {start:.1f} s")
        base = rows["1 worker, 1 thread (this process)"]
        two = rows["2 workers (local Dask cluster)"]
        default = rows["1 worker (this process, --workers 1)"]
        same = all(
            np.array_equal(k, base.kpis[0], equal_nan=True) for f in rows.values() for k in f.kpis
        )
        print(f"  2 workers vs 1 worker, 1 thread: {two.steady / base.steady:.2f}x steady "
              f"(parallel efficiency {two.steady / base.steady / 2:.0%}), "
              f"{two.end_to_end / base.end_to_end:.2f}x in total   [target 1.7x]")
        print(f"  2 workers vs --workers 1:        {two.steady / default.steady:.2f}x steady, "
              f"{two.end_to_end / default.end_to_end:.2f}x in total")
        print(f"  results identical bit for bit in every configuration: {same}")
        print(f"  load average at the end: {os.getloadavg()[0]:.2f} (wall-clock figures need "
              "an otherwise idle machine)")


if __name__ == "__main__":
    main()
