"""The objective of a line design, evaluated with common random numbers.

A design is a line file (``LineSpec``) with some of its numbers changed: buffer
places, servers, cycle times. Every design is run on the same seed, and the engine's
draws are counter-based per (station, variant, job), so two designs see the same
processing times for the same job: the difference between their throughputs carries
no noise from different draws, only from the designs themselves (common random
numbers). That is what lets a search compare thousands of designs on short runs.

Throughput is measured after a warm-up (the line starts empty): jobs out of the last
station per hour between the warm-up's last departure and the run's last departure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from ..errors import EvplantError
from ..line.engine import LineEngine
from ..line.spec import CompiledLine, LineSpec
from ..seeds import as_seed_sequence, child_seed

T = TypeVar("T")
R = TypeVar("R")

#: hours in a year of clock time (a line's throughput is per clock hour)
HOURS_PER_YEAR = 8760.0


def parallel_map(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[fn(x) for x in items]``, on ``workers`` threads, in the items' order.

    The line kernel releases the GIL, so threads run designs side by side; the
    results never depend on the number of workers.
    """
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def line_throughput(spec: LineSpec, jobs: int, seed: int | np.random.SeedSequence,
                    warmup: float = 0.1) -> float:
    """Jobs per clock hour out of the last station after the warm-up.

    Parameters
    ----------
    spec : LineSpec
        The design.
    jobs : int
        Jobs to run (at least 2).
    seed : int or numpy.random.SeedSequence
        The root of every random stream; the same seed gives every design the same draws.
    warmup : float
        Share of the jobs whose departures are not counted (the line starts empty).

    Returns
    -------
    float
        Throughput, jobs per hour.
    """
    return compiled_throughput(spec.compile(), jobs, seed, warmup)


def compiled_throughput(line: CompiledLine, jobs: int, seed: int | np.random.SeedSequence,
                        warmup: float = 0.1) -> float:
    """:func:`line_throughput` of a compiled line (a plant phase's layout, say)."""
    engine = LineEngine(line, seed, stats=False, chunk=4096)
    visits = engine.feed(jobs, keep=True)
    assert visits is not None
    # parallel servers at the last station may overtake: count departures in time order
    out = np.sort(visits.departure[:, -1])
    w = min(max(int(warmup * jobs), 1), jobs - 1)
    span = float(out[-1] - out[w - 1])
    return (jobs - w) / span * 3600.0 if span > 0 else math.inf


@dataclass
class LineObjective:
    """Throughput of line designs on common random numbers, with a cache.

    Parameters
    ----------
    spec : LineSpec
        The line file: every design is this file with some numbers changed.
    jobs : int
        Jobs per evaluation.
    seed : int
        The search's seed; every design is evaluated on the same streams.
    workers : int
        Threads evaluating designs side by side.
    warmup : float
        Share of each run's jobs not counted.
    """

    spec: LineSpec
    jobs: int = 10_000
    seed: int = 0
    workers: int = 1
    warmup: float = 0.1
    evaluations: int = 0
    seconds: float = 0.0
    _cache: dict[tuple[int, ...], float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.jobs < 100:
            raise EvplantError(f"must be at least 100, got {self.jobs}", field="--jobs")
        if self.workers < 1:
            raise EvplantError(f"must be at least 1, got {self.workers}", field="--workers")
        self._root = as_seed_sequence(self.seed)

    def stream(self, replication: int) -> np.random.SeedSequence:
        """The streams of replication ``replication`` (0: the search's own)."""
        return child_seed(self._root, replication)

    def with_buffers(self, buffers: Sequence[int]) -> LineSpec:
        """The line file with these buffer capacities."""
        return self.spec.model_copy(update={"buffers": [int(b) for b in buffers]})

    def buffers(self, designs: Sequence[Sequence[int]], replication: int = 0) -> list[float]:
        """Throughput (jobs/h) of each buffer design on replication ``replication``'s
        streams; designs already evaluated come from the cache."""
        import time

        keys = [(replication, *(int(b) for b in d)) for d in designs]
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        t = time.perf_counter()
        values = parallel_map(
            lambda k: line_throughput(self.with_buffers(k[1:]), self.jobs,
                                      self.stream(k[0]), self.warmup),
            todo,
            self.workers,
        )
        self.seconds += time.perf_counter() - t
        self.evaluations += len(todo)
        self._cache.update(zip(todo, values, strict=True))
        return [self._cache[k] for k in keys]

    def specs(self, specs: Sequence[LineSpec], replication: int = 0) -> list[float]:
        """Throughput of each design (any change of the file), not cached."""
        import time

        t = time.perf_counter()
        values = parallel_map(
            lambda s: line_throughput(s, self.jobs, self.stream(replication), self.warmup),
            specs,
            self.workers,
        )
        self.seconds += time.perf_counter() - t
        self.evaluations += len(specs)
        return values

    @property
    def per_second(self) -> float:
        """Evaluations per second of wall time spent evaluating."""
        return self.evaluations / self.seconds if self.seconds > 0 else 0.0
