"""Optimisation figures: evaluations a second, wall time to the optimum on the
benchmark's 20-station line, and closeness to the exhaustive optimum where the exact
Markov chain can compute it.

    python benchmarks/bench_optimise.py [--quick] [--workers 2]

1. Evaluations a second: designs of the 20-station line (lognormal cv 0.3, as in
   ``run.py``) run on common random numbers, 10,000 jobs each, with 1 and W workers.
2. ``evplant optimize buffers`` on that line with the file's own 38 places (2 a
   buffer): throughput before and after, designs run, wall time, and the time at which
   the final best design was first found.
3. Exponential lines small enough for the exact chain (``tests/exact_line.py``): the
   exact throughput of the design found over that of the exhaustive optimum.

Figures are printed, never asserted; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

from evplant.line.spec import LineSpec  # noqa: E402
from evplant.optimise import LineObjective, allocate_buffers  # noqa: E402
from exact_line import exact_per_hour  # noqa: E402


def issue_line() -> LineSpec:
    stations = [{"name": f"s{i:02d}", "cycle_time": {"dist": "lognormal", "mean": 60, "cv": 0.3}}
                for i in range(20)]
    return LineSpec.model_validate({"stations": stations, "buffers": [2] * 19})


def bench_rate(workers: int, quick: bool) -> None:
    spec = issue_line()
    n = 48 if quick else 160
    rng = np.random.default_rng(0)
    designs = [list(d) for d in {tuple(rng.integers(0, 5, 19)) for _ in range(n)}]
    n = len(designs)
    LineObjective(spec, jobs=2_000).buffers(designs[:2])  # load the compiled kernels
    print("\nevaluations a second, 20 stations, 10,000 jobs a design")
    for w in sorted({1, workers}):
        obj = LineObjective(spec, jobs=10_000, workers=w)
        t = time.perf_counter()
        obj.buffers(designs)
        wall = time.perf_counter() - t
        print(f"  {w} worker(s): {n / wall:8.1f} designs/s  ({n * 10_000 * 20 / wall / 1e6:.1f}M "
              "station-visits/s)")


def bench_search(workers: int, quick: bool) -> None:
    for start in ([2] * 19, [38] + [0] * 18):
        search(start, workers, quick)


def search(start: list[int], workers: int, quick: bool) -> None:
    spec = issue_line().model_copy(update={"buffers": start})
    trials = 32 if quick else 64
    res = allocate_buffers(spec, total=38, jobs=10_000, seed=1, workers=workers, trials=trials)
    print(f"\nbuffer allocation, 20 stations, 38 places, {workers} worker(s), {trials} TPE trials")
    print(f"  start {res.start} -> {res.start_throughput_per_hour:.3f} jobs/h (fresh streams)")
    print(f"  best  {res.buffers} -> {res.throughput_per_hour:.3f} +/- {res.throughput_se:.3f} "
          "jobs/h (fresh streams)")
    print(f"  {res.evaluations} designs in {res.wall_s:.1f} s ({res.evaluations_per_second:.1f}/s "
          f"while evaluating); final best first found at {res.seconds_to_best:.1f} s")


def bench_exact(workers: int, quick: bool) -> None:
    cases = [([50.0, 60.0, 55.0, 58.0], 8), ([55.0, 60.0, 52.0, 60.0, 57.0], 8)]
    if quick:
        cases = cases[:1]
    print("\ncloseness to the exhaustive optimum (exact Markov chain, exponential lines)")
    for means, k in cases:
        n = len(means) - 1
        t = time.perf_counter()
        ranked = sorted(
            ((exact_per_hour(means, d), d) for d in itertools.product(range(k + 1), repeat=n)
             if sum(d) == k),
            reverse=True,
        )
        t_exact = time.perf_counter() - t
        spec = LineSpec.model_validate({
            "stations": [{"name": f"s{i}", "cycle_time": {"dist": "exponential", "mean": m}}
                         for i, m in enumerate(means)],
            "buffers": [0] * n,
        })
        res = allocate_buffers(spec, total=k, jobs=40_000, seed=1, workers=workers, trials=32)
        found = exact_per_hour(means, res.buffers)
        rank = [d for _, d in ranked].index(tuple(res.buffers)) + 1
        print(f"  {len(means)} stations, {k} places ({len(ranked)} designs, exhaustive exact "
              f"{t_exact:.1f} s): found {res.buffers} (rank {rank}), exact {found:.4f} of "
              f"{ranked[0][0]:.4f} jobs/h = {found / ranked[0][0]:.5f}, {res.evaluations} "
              f"designs in {res.wall_s:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    bench_rate(args.workers, args.quick)
    bench_search(args.workers, args.quick)
    bench_exact(args.workers, args.quick)
    print(f"\nload average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
