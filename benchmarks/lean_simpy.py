"""A lean SimPy model of a serial line: the baseline an expert would write for speed.

One process per station, ``simpy.Store`` buffers (a full store blocks the station
after service, so the room behind a station is its buffer plus the next server, as
in ``docs/line-semantics.md``), processing times drawn in bulk with NumPy, no
per-event logging: it measures throughput and mean lead time only. Operating-time
failures count work since the last repair; calendar-time failures are precomputed
down intervals that the work skips. It shares nothing with ``evplant.line``; it is
the yardstick the compiled engine is measured against in ``benchmarks/run.py``.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy


def lean_line(
    m: int,
    n: int,
    *,
    mean: float = 60.0,
    cv: float = 0.3,
    buffer: int = 2,
    failures: bool = False,
    mtbf: float = 8 * 3600.0,
    mttr: float = 600.0,
    seed: int = 0,
) -> tuple[float, float]:
    """Run ``n`` jobs through ``m`` lognormal stations; return (jobs/hour, mean lead s).

    With ``failures``, odd stations fail on operating time and even ones on calendar
    time (exponential ``mtbf``/``mttr``), as the benchmark's line does.
    """
    rng = np.random.default_rng(seed)
    sigma = math.sqrt(math.log(1.0 + cv * cv))
    mu = math.log(mean) - 0.5 * sigma * sigma
    work = rng.lognormal(mu, sigma, size=(m, n))
    env = simpy.Environment()
    stores = [simpy.Store(env, capacity=buffer) for _ in range(m - 1)]
    started = np.zeros(n)
    done = [0, 0.0, 0.0]  # jobs, sum of lead times, last departure

    def downs(i: int) -> tuple[np.ndarray, np.ndarray]:
        # calendar-time breakdowns over a horizon that the run will not pass
        k = int(4 * n * mean / mtbf) + 16
        up = rng.exponential(mtbf, k)
        rep = rng.exponential(mttr, k)
        start = np.cumsum(up + np.concatenate([[0.0], rep[:-1]]))
        return start, start + rep

    def station(i: int) -> Generator[simpy.Event, Any, None]:
        w = work[i]
        operating = failures and i % 2 == 1
        calendar = failures and i % 2 == 0
        left = rng.exponential(mtbf) if operating else math.inf
        lo, hi = downs(i) if calendar else (np.array([math.inf]), np.array([math.inf]))
        d = 0
        inbox = stores[i - 1] if i > 0 else None
        outbox = stores[i] if i < m - 1 else None
        for j in range(n):
            if inbox is not None:
                job = yield inbox.get()
            else:
                job = j
                started[j] = env.now
            x = w[j]
            if operating:
                while x > left:
                    yield env.timeout(left + rng.exponential(mttr))
                    x -= left
                    left = rng.exponential(mtbf)
                left -= x
                yield env.timeout(x)
            elif calendar:
                t = env.now
                while True:
                    while hi[d] <= t:
                        d += 1
                    if lo[d] <= t:
                        t = hi[d]
                        continue
                    if t + x <= lo[d]:
                        t += x
                        break
                    x -= lo[d] - t
                    t = hi[d]
                yield env.timeout(t - env.now)
            else:
                yield env.timeout(x)
            if outbox is not None:
                yield outbox.put(job)
            else:
                done[0] += 1
                done[1] += env.now - started[job]
                done[2] = env.now

    for i in range(m):
        env.process(station(i))
    env.run()
    return done[0] / done[2] * 3600.0, done[1] / done[0]
