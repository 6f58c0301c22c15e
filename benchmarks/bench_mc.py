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
import tempfile
import time
from collections.abc import Iterator
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


def throughput(
    ex: Sequential | DaskExecutor, scenario: str, replications: int, repeats: int, folder: Path
) -> tuple[float, float, list[Any]]:
    """Best replications a second over ``repeats`` runs, CPU seconds per replication, and
    the runs' KPI arrays."""
    job, _ = prepare(scenario, seed=1)
    ex.warm_up(functools.partial(run_batch, job, [replications + 1]))
    best, cpu, kpis = 0.0, float("inf"), []
    for k in range(repeats):
        out = folder / f"{ex.description.split()[0]}-{type(ex).__name__}-{k}"
        c0 = cpu_seconds(ex)
        t0 = time.perf_counter()
        res = run_mc(scenario, replications, out_dir=out, seed=1, report=False, executor=ex)
        dt = time.perf_counter() - t0
        cpu = min(cpu, (cpu_seconds(ex) - c0) / replications)
        best = max(best, replications / dt)
        kpis.append(res.kpi_values)
    return best, cpu, kpis


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=16)
    ap.add_argument("--end", default="2025-12", help="last month of the horizon")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = scenario_file(folder, args.end)
        print(f"evplant Monte Carlo benchmark: beijing-etown 2024-01..{args.end}, "
              f"{args.replications} replications, best of {args.repeats}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        seq = make_executor(1)
        r1, c1, k1 = throughput(seq, scenario, args.replications, args.repeats, folder)
        print(f"  1 worker  (this process)       {r1:6.2f} replications/s   "
              f"CPU {c1:.2f} s/replication   (the plant runs its two phases in two threads)")
        with single_threaded_plant():
            r0, c0, k0 = throughput(seq, scenario, args.replications, args.repeats, folder)
        print(f"  1 worker, 1 thread             {r0:6.2f} replications/s   "
              f"CPU {c0:.2f} s/replication   (phases one after the other)")
        rates = {}
        for w in (1, 2):
            t0 = time.perf_counter()
            with make_executor(w) if w > 1 else DaskExecutor(1) as ex:
                start = time.perf_counter() - t0
                rates[w], cw, kw = throughput(
                    ex, scenario, args.replications, args.repeats, folder
                )
            same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(k1, kw, strict=True))
            print(f"  {w} worker{'s' if w > 1 else ' '} (local Dask cluster) {rates[w]:6.2f} "
                  f"replications/s   CPU {cw:.2f} s/replication   (cluster start {start:.1f} s;"
                  f" results identical: {same})")
        print(f"  speedup, 2 workers vs 1 worker, 1 thread: {rates[2] / r0:.2f}x   parallel "
              f"efficiency {rates[2] / r0 / 2:.0%}   (target 1.7x, 85%)")
        print(f"  speedup, 2 workers vs 1 worker (default): {rates[2] / r1:.2f}x")
        print(f"  speedup, 2 vs 1 cluster worker:           {rates[2] / rates[1]:.2f}x")
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(k0, k1, strict=True))
        print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
