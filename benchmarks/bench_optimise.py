"""Optimisation figures: evaluations a second, wall time to the optimum on the
benchmark's 20-station line, and closeness to the exhaustive optimum where the exact
Markov chain can compute it.

    python benchmarks/bench_optimise.py [--quick] [--workers 2] [--plant]

1. Evaluations a second: designs of the 20-station line (lognormal cv 0.3, as in
   ``run.py``) run on common random numbers, 10,000 jobs each, with 1 and W workers.
2. ``evplant optimize buffers`` on that line with the file's own 38 places (2 a
   buffer): throughput before and after, designs run, wall time, and the time at which
   the final best design was first found.
3. Exponential lines small enough for the exact chain (``tests/exact_line.py``): the
   exact throughput of the design found over that of the exhaustive optimum, from a
   good start and from a bad one (all places in the first buffer, no TPE: the
   multi-start local search alone).
4. With ``--plant``: the default scenario's plant: levers screened on the mature
   lines, full runs a second, wall time of ``plant_marginal_values`` and of
   ``allocate_plant`` on a budget (minutes).

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
    for a in res.starts:
        print(f"  ascent from {a.name}: {a.throughput_per_hour:.3f} jobs/h (search streams)")


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
        for label, start, kw in (("TPE + starts", [0] * n, {"trials": 32}),
                                 ("bad start, no TPE", [k] + [0] * (n - 1),
                                  {"trials": 0, "starts": 0})):
            res = allocate_buffers(spec.model_copy(update={"buffers": start}), total=k,
                                   jobs=40_000, seed=1, workers=workers, **kw)
            found = exact_per_hour(means, res.buffers)
            rank = [d for _, d in ranked].index(tuple(res.buffers)) + 1
            print(f"  {len(means)} stations, {k} places ({len(ranked)} designs, exhaustive "
                  f"exact {t_exact:.1f} s), {label}: found {res.buffers} (rank {rank}), exact "
                  f"{found:.4f} of {ranked[0][0]:.4f} jobs/h = {found / ranked[0][0]:.5f}, "
                  f"{res.evaluations} designs in {res.wall_s:.1f} s")


def bench_plant(quick: bool) -> None:
    from evplant.optimise.plant import levers, plant_marginal_values, screen, study_for
    from evplant.optimise.plant_budget import allocate_plant
    from evplant.scenario.load import DEFAULT

    print(f"\nthe default plant ({DEFAULT})")
    t = time.perf_counter()
    _, study = study_for(DEFAULT, None, 0, [])
    lv = levers(study.prepared)
    kept = screen(study.prepared, lv, ())
    print(f"  screen: {len(kept)} of {len(lv)} levers kept in {time.perf_counter() - t:.1f} s "
          f"(year {study.year})")
    reps = 2 if quick else 3
    t = time.perf_counter()
    res = plant_marginal_values(DEFAULT, replications=reps)
    wall = time.perf_counter() - t
    top = res.ranking[0]
    print(f"  marginal values: {res.evaluations} full runs in {wall:.0f} s "
          f"({res.evaluations / wall:.2f} runs/s, {reps} seeds); best per yuan: {top.name} "
          f"({top.unit}), {top.per_year:,.0f} +/- {top.per_hour_se * 8760:,.0f} cars a year")
    budget = 1e8 if quick else 3e8
    t = time.perf_counter()
    alloc = allocate_plant(DEFAULT, budget, replications=2, fresh=3)
    print(f"  budget CNY {budget:,.0f}: {len(alloc.purchases)} purchases, spent "
          f"{alloc.spent:,.0f}, +{alloc.gain:,.0f} +/- {alloc.gain_se:,.0f} cars in "
          f"{alloc.year} on fresh seeds; {alloc.runs} runs in {time.perf_counter() - t:.0f} s")
    for p in alloc.purchases:
        print(f"    {p.name} (+{p.units}): +{p.gain:,.0f} cars for {p.cost:,.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--plant", action="store_true", help="also the default plant (minutes)")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    bench_rate(args.workers, args.quick)
    bench_search(args.workers, args.quick)
    bench_exact(args.workers, args.quick)
    if args.plant:
        bench_plant(args.quick)
    print(f"\nload average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
