"""Speed figures for evplant, each against the reference engine measured in the same run.

    python benchmarks/run.py            # everything (~1-2 minutes)
    python benchmarks/run.py --quick    # smaller samples

Prints station-visits per second for the compiled engine and the SimPy reference on
the issue's line (20 stations, buffers of 2, lognormal cv 0.3, with and without
failures), and the time of the default 10-year plant run, warm, with a short horizon
through both engines. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evplant.line.engine import Inputs, LineEngine, simulate_visits  # noqa: E402
from evplant.line.reference import simulate_reference  # noqa: E402
from evplant.line.sampling import LineDraws  # noqa: E402
from evplant.line.spec import CompiledLine, LineSpec  # noqa: E402
from lean_simpy import lean_line  # noqa: E402


def issue_line(failures: bool, overtaking: bool = False, rework: bool = False) -> CompiledLine:
    """The benchmark's line; ``overtaking``: station 10 has two servers of twice the
    cycle time that let jobs overtake; ``rework``: station 15 sends 5% of its jobs back
    to station 12 (the event-driven kernel's path)."""
    stations = []
    for i in range(20):
        mean = 120 if overtaking and i == 10 else 60
        cycle = {"dist": "lognormal", "mean": mean, "cv": 0.3}
        st: dict = {"name": f"s{i:02d}", "cycle_time": cycle}
        if overtaking and i == 10:
            st["servers"] = 2
        if rework and i == 15:
            st.update(first_pass_yield=0.95, on_defect="rework", rework_at="s12")
        if failures:
            st["failures"] = {
                "basis": "operating" if i % 2 else "calendar",
                "mtbf": 3600 * 8,
                "mttr": 600,
            }
        stations.append(st)
    return LineSpec.model_validate({"stations": stations, "buffers": [2] * 19}).compile()


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_line(quick: bool) -> None:
    n_fast = 200_000 if quick else 1_000_000
    n_ref = 2_000 if quick else 10_000
    print(
        f"\nline: 20 stations, buffers of 2, lognormal cv 0.3 ({n_fast:,} jobs fast, "
        f"{n_ref:,} reference)"
    )
    print(
        f"{'case':<30}{'fast visits/s':>16}{'reference visits/s':>20}{'ratio':>10}"
        f"{'lean SimPy visits/s':>21}{'ratio':>10}{'kernel only':>14}  path"
    )
    cases = ((False, False, False), (True, False, False), (False, True, False))
    for failures, overtaking, rework in (*cases, (True, True, False), (True, False, True)):
        line = issue_line(failures, overtaking, rework)
        LineEngine(line, 0).feed(5_000)  # compile / load the cache
        fast = best_of(
            lambda line=line: LineEngine(line, 1, chunk=4096, prefetch=True).feed(n_fast), 3
        )
        draws = LineDraws(line, 1)
        p = draws.processing(draws.variants(n_ref))
        ref = best_of(
            lambda: simulate_reference(line, p, None, draws.fail_keys, None, draws.quality_keys), 1
        )
        # the recursion alone, on pre-drawn times (no sampling; counts only)
        engine = LineEngine(line, 2, chunk=4096, stats=False)
        vk = engine.draws.variants(4096)
        jobs = Inputs(engine.draws.processing(vk), np.zeros(4096), vk, np.zeros((4096, 0)))
        reps = n_fast // 4096
        path = "max-plus"
        if line.in_build_order:
            kernel = best_of(lambda: [engine._run(jobs, engine._buf) for _ in range(reps)], 3)
        elif engine._stagger is not None:
            path = "staggered"
            kernel = best_of(
                lambda: [
                    engine._run_wave(
                        jobs, engine._buf, engine._rec, engine._stagger, np.inf, None, 0
                    )
                    for _ in range(reps)
                ],
                3,
            )
        else:
            path, kernel = "events", float("nan")
        kernel *= n_fast / (reps * 4096)
        n_lean = 5 * n_ref
        lean = best_of(lambda failures=failures: lean_line(20, n_lean, failures=failures), 1)
        # (the lean model has one server per station: its rate is the yardstick for both)
        v_fast = n_fast * 20 / fast
        v_ref = n_ref * 20 / ref
        v_lean = n_lean * 20 / lean
        label = "with failures" if failures else "no failures"
        label += ", overtaking" if overtaking else ""
        label += ", rework" if rework else ""
        print(
            f"{label:<30}{v_fast / 1e6:>14.1f}M{v_ref / 1e6:>19.3f}M{v_fast / v_ref:>9.0f}x"
            f"{v_lean / 1e6:>20.3f}M{v_fast / v_lean:>9.0f}x"
            f"{n_fast * 20 / kernel / 1e6:>13.1f}M  {path}"
        )
        if path == "staggered":
            # the same line through the event-driven kernel, which ran it before
            with mock.patch.object(type(line), "stagger", property(lambda self: None)):
                before = best_of(
                    lambda line=line: LineEngine(line, 1, chunk=4096).feed(n_fast // 4), 2
                )
            v_ev = n_fast // 4 * 20 / before
            print(
                f"{'  (event-driven kernel)':<30}{v_ev / 1e6:>14.1f}M{'':>20}{'':>10}{'':>21}"
                f"{v_ev / v_lean:>9.0f}x{'':>14}  events: staggered {v_fast / v_ev:.1f}x"
            )
    print(
        "kernel only: the compiled recursion on pre-drawn times (no sampling, counts "
        "only; nan where jobs are reworked and the event-driven kernel runs; "
        "visits count a job's stations once, not its rework passes)"
    )
    print("lean SimPy: benchmarks/lean_simpy.py, one process per station, no statistics")


def bench_plant(quick: bool) -> None:
    from evplant.run import simulate
    from evplant.scenario import load_scenario

    sc, _ = load_scenario("beijing-etown")
    simulate(sc, 0)  # warm: compile, load caches
    t = best_of(lambda: simulate(sc, 0), 1 if quick else 3)
    made = simulate(sc, 0).summary["vehicles_produced"]
    print(
        f"\nplant: beijing-etown, 2024-2033, warm: {t:.2f} s for {made:,.0f} vehicles "
        f"({made / t / 1e6:.2f}M vehicles/s)"
    )
    # a short horizon through the reference engine: replay the phase-1 line's first
    # months of inputs through SimPy and through the kernel
    from evplant.plant.model import Plant
    from evplant.run import _push_plan

    plant = Plant(
        sc.plant, sc.variants, ("2024-01", "2024-06"), np.random.SeedSequence(0), threads=False
    )
    captured: list = []
    orig = LineEngine.feed

    def capture(self, n, release=None, variants=None, **kw):
        p = self.draws.processing(np.asarray(variants), kw.get("scale", 1.0))
        captured.append((self.line, p, release, self.draws.fail_keys))
        kw["p"] = p
        return orig(self, n, release, variants, **kw)

    LineEngine.feed = capture  # type: ignore[method-assign]
    try:
        for m in range(6):
            plant.step(m, _push_plan(plant, m, len(sc.variants)), None)
    finally:
        LineEngine.feed = orig  # type: ignore[method-assign]
    line = captured[0][0]
    p = np.vstack([c[1] for c in captured])
    rel = np.concatenate([c[2] for c in captured])
    keys = captured[0][3]
    t_ref = best_of(lambda: simulate_reference(line, p, rel, keys), 1)
    t_fast = best_of(lambda: simulate_visits(line, p, rel, keys), 3)
    visits = p.size
    print(
        f"plant phase 1, Jan-Jun 2024 ({len(p):,} vehicles, {line.m} stations): reference "
        f"{t_ref:.2f} s, fast {t_fast * 1e3:.1f} ms, ratio {t_ref / t_fast:.0f}x "
        f"({visits / t_fast / 1e6:.1f}M vs {visits / t_ref / 1e6:.3f}M visits/s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["line", "plant"])
    args = ap.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    if args.only in (None, "line"):
        bench_line(args.quick)
    if args.only in (None, "plant"):
        bench_plant(args.quick)


if __name__ == "__main__":
    main()
