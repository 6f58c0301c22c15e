"""The everyday figures: `evplant run` on the default scenario (report included), `evplant
--help`, and Monte Carlo ten-year replications a second on 1 and 2 workers.

    python benchmarks/bench_cli.py [--runs 5] [--replications 8] [--skip-mc]

Each command runs in a fresh process, as a user runs it, after one warm-up run (numba's
cache and the OS's file cache filled); the figures are min / median / max wall seconds
of ``--runs`` runs, with the CPU seconds of the median run. The Monte Carlo figures are
steady-state replications a second (see ``bench_mc.py``) on the scenario's own ten-year
horizon. Wall-clock figures need an otherwise idle machine: the load average is printed
before and after. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVPLANT = str(Path(sys.executable).with_name("evplant"))


def timed(cmd: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system, children) seconds of each run of ``cmd``."""
    subprocess.run(cmd, check=True, capture_output=True)  # warm-up
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def show(label: str, walls: list[float], cpus: list[float], target: str) -> None:
    med = statistics.median(walls)
    cpu = cpus[walls.index(sorted(walls)[len(walls) // 2])]
    print(
        f"  {label:28}{min(walls):7.2f}{med:8.2f}{max(walls):8.2f}{cpu:9.2f}   target {target}"
    )


def bench_commands(runs: int) -> None:
    print(f"  {'':28}{'min':>7}{'median':>8}{'max':>8}{'CPU s':>9}   (wall seconds)")
    with tempfile.TemporaryDirectory() as tmp:
        walls, cpus = timed([EVPLANT, "run", "--out", tmp, "-q"], runs)
        show("evplant run (beijing-etown)", walls, cpus, "<= 3 s")
    walls, cpus = timed([EVPLANT, "--help"], runs)
    show("evplant --help", walls, cpus, "< 0.3 s")


def bench_monte_carlo(replications: int) -> None:
    sys.path.insert(0, str(HERE))
    from bench_mc import scenario_file, throughput
    from evplant.experiments.executors import make_executor
    from evplant.scenario import load_scenario

    end = load_scenario("beijing-etown")[0].horizon.end
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = scenario_file(folder, end)
        print(f"\n  Monte Carlo, beijing-etown 2024-01..{end}, {replications} replications")
        for w in (1, 2):
            with make_executor(w) as ex:
                f = throughput(ex, scenario, replications, 1, folder)
            print(
                f"  {w} worker{'s' if w > 1 else ' '} {f.steady:6.2f} replications/s steady, "
                f"{f.end_to_end:5.2f} end to end, {f.cpu:5.2f} CPU s per replication"
                + ("   target >= 1/s" if w > 1 else "")
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--replications", type=int, default=8)
    ap.add_argument("--skip-mc", action="store_true")
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}"
    )
    bench_commands(args.runs)
    if not args.skip_mc:
        bench_monte_carlo(args.replications)
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
