"""The everyday figures: `evplant run` on the default scenario (report included), `evplant
--help`, and Monte Carlo ten-year replications a second on 1 and 2 workers.

    python benchmarks/bench_cli.py [--runs 5] [--replications 8] [--skip-mc] [--parts]

Each command runs in a fresh process, as a user runs it, after one warm-up run (numba's
cache and the OS's file cache filled); the figures are min / median / max wall seconds
of ``--runs`` runs, with the CPU seconds of the median run. The Monte Carlo figures are
steady-state replications a second (see ``bench_mc.py``) on the scenario's own ten-year
horizon. Wall-clock figures need an otherwise idle machine: the load average is printed
before and after. Figures are printed, never asserted.

``--parts`` also times the run's parts in fresh processes (imports, the first numba call,
the simulation with its phases in threads, the report, the state and the writing), wall
and CPU seconds, the minimum of ``--runs``: what a change should be judged on when the
machine is shared (CPU seconds of the run's threads add up, so they exceed the wall
seconds where the phases overlap).
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


# One run in a fresh process, timing its parts as `evplant run` does them (cli.run).
_PARTS = """
import json, shutil, sys, tempfile, time
from pathlib import Path
marks = []
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time()))
mark("start")
from evplant import state as run_state
from evplant.report import render_run
from evplant.results import write_run
from evplant.run import simulate
from evplant.scenario import prepare
mark("imports")
sc = prepare("beijing-etown", []).scenario
mark("scenario")
from evplant.line.draws import draw
import numpy as np
draw(np.uint64(1), 0, np.array([1.0, 1.0, 0.0, 0.0]), np.zeros(1))
mark("numba loaded")
at = run_state.months_asked(sc, [], 0)  # the last month's state, as the CLI takes it
result = simulate(sc, 0, state_at=at)
mark("simulation")
html = render_run(result.monthly, result.summary.to_dict(), title="t", marginal=None)
mark("report")
states = run_state.files(result, at[-1])
mark("state")
out = Path(tempfile.mkdtemp())
write_run(out / "run", result, html, states, {})
mark("writing")
shutil.rmtree(out)
print(json.dumps([(b[0], b[1] - a[1], b[2] - a[2]) for a, b in zip(marks, marks[1:])]))
"""


def bench_parts(runs: int) -> None:
    """The run's parts in fresh processes, the minimum of ``runs`` (after a warm-up)."""
    import json

    best: dict[str, list[float]] = {}
    for k in range(runs + 1):
        got = subprocess.run(
            [sys.executable, "-c", _PARTS], check=True, capture_output=True, text=True
        )
        if k == 0:
            continue  # warm-up
        for name, wall, cpu in json.loads(got.stdout.splitlines()[-1]):
            old = best.setdefault(name, [wall, cpu])
            best[name] = [min(old[0], wall), min(old[1], cpu)]
    print(f"\n  evplant run's parts, min of {runs} fresh processes{'wall s':>12}{'CPU s':>9}")
    for name, (wall, cpu) in best.items():
        print(f"  {name:46}{wall:7.2f}{cpu:9.2f}")


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
    ap.add_argument("--parts", action="store_true", help="also time the run's parts")
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}"
    )
    bench_commands(args.runs)
    if args.parts:
        bench_parts(args.runs)
    if not args.skip_mc:
        bench_monte_carlo(args.replications)
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
