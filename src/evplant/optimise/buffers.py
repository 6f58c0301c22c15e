"""Buffer allocation: where K places (or a budget) buy the most throughput.

The buffer allocation problem is NP-hard in general, and its objective here is a
simulation. The search has three stages, all on common random numbers
(``LineObjective``):

1. **Global**: optuna's TPE sampler proposes a share of the places (of the money)
   per buffer; a share vector decodes to a maximal feasible design (no place can be
   added without breaking a constraint), since throughput never falls when a buffer
   grows. Trials are asked and told in batches of fixed size, so the sequence of
   designs depends on the seed and not on the number of workers.
2. **Local, from several starts**: steepest ascent over the neighbourhood "move one
   place from buffer i to buffer j" and "add one place", until no neighbour is better
   (the degraded-ceiling and neighbourhood searches of the literature reduce to this
   on small problems; with common random numbers it terminates). It starts from the
   file's own design, an even split, the "inverted bowl" (more places in the middle
   buffers, the shape the literature finds optimal for balanced lines: Hillier & So
   1991; Conway et al. 1988) and TPE's best few, so that one bad start does not leave
   the search at its local optimum. An ascent that reaches a design another ascent
   has already left follows that one's path (the same common random numbers), so it
   stops there.
3. **Re-evaluation**: the best few designs, every ascent's end and the file's own
   design are run again on fresh streams, and the winner is the one with the best
   mean there, so it is not a lucky draw.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import EvplantError
from ..line.spec import LineSpec
from .objective import LineObjective

Design = tuple[int, ...]


@dataclass(frozen=True)
class Constraint:
    """At most ``total`` places and at most ``budget`` money, places costing ``cost``
    each (one per buffer)."""

    cost: tuple[float, ...]
    total: int | None = None
    budget: float | None = None

    def __post_init__(self) -> None:
        if self.total is None and self.budget is None:
            raise EvplantError("give --total (places) or --budget (money), or both",
                               field="--total")
        if self.total is not None and self.total < 0:
            raise EvplantError(f"must be >= 0, got {self.total}", field="--total")
        if self.budget is not None and not (self.budget >= 0 and math.isfinite(self.budget)):
            raise EvplantError(f"must be a finite number >= 0, got {self.budget}",
                               field="--budget")
        if any(not (c > 0 and math.isfinite(c)) for c in self.cost):
            raise EvplantError("every cost per place must be a finite number > 0",
                               field="--cost")

    def feasible(self, d: Sequence[int]) -> bool:
        if any(b < 0 for b in d):
            return False
        if self.total is not None and sum(d) > self.total:
            return False
        spent = sum(c * b for c, b in zip(self.cost, d, strict=True))
        return self.budget is None or spent <= self.budget * (1 + 1e-12)

    def spent(self, d: Sequence[int]) -> float:
        return float(sum(c * b for c, b in zip(self.cost, d, strict=True)))

    def fill(self, d: Sequence[int], order: Sequence[int]) -> Design:
        """Add places, buffers in ``order`` first, until none more fits."""
        out = list(d)
        grown = True
        while grown:
            grown = False
            for i in order:
                out[i] += 1
                if self.feasible(out):
                    grown = True
                    break
                out[i] -= 1
        return tuple(out)

    def repair(self, d: Sequence[int]) -> Design:
        """Remove places from the fullest buffers until the design fits."""
        out = list(d)
        while not self.feasible(out):
            out[int(np.argmax(out))] -= 1
        return tuple(out)

    def decode(self, shares: np.ndarray) -> Design:
        """A maximal feasible design giving buffer ``i`` about ``shares[i]`` of the
        places (with ``total``) or of the money (with ``budget`` only)."""
        w = np.asarray(shares, float) + 1e-12
        w = w / w.sum()
        cost = np.asarray(self.cost)
        if self.budget is None:
            x = w * float(self.total or 0)
        else:
            x = w * self.budget / cost
            if self.total is not None and x.sum() > self.total:
                x *= self.total / x.sum()
        base = self.repair(np.floor(x + 1e-9).astype(int).tolist())
        order = np.argsort(-(x - np.floor(x + 1e-9)), kind="stable")
        return self.fill(base, [int(i) for i in order])

    def neighbours(self, d: Design) -> list[Design]:
        """Designs one move away: one place added, or one place added to buffer ``j``
        paid for by places taken from buffer ``i`` (one place when places cost alike;
        as many as it takes under a budget with unequal costs, since a one-for-one
        swap towards a dearer buffer never fits a spent budget and would leave the
        search stuck at a cheap buffer's design), then refilled to a maximal design."""
        n = len(d)
        out: list[Design] = []
        for j in range(n):
            up = list(d)
            up[j] += 1
            if self.feasible(up):
                out.append(tuple(up))
            for i in range(n):
                if i == j or d[i] == 0:
                    continue
                mv = list(d)
                mv[j] += 1
                mv[i] -= 1
                while not self.feasible(mv) and mv[i] > 0 and self.budget is not None:
                    mv[i] -= 1
                if self.feasible(mv):
                    out.append(self.fill(mv, [j, *range(n)]) if self.budget else tuple(mv))
        return list(dict.fromkeys(out))


@dataclass(frozen=True)
class StartResult:
    """One local ascent: its start's name (``file``, ``even``, ``bowl``, ``tpe-k``),
    the start, the design it reached (where it stopped, or where it met an earlier
    ascent's path) and that design's throughput on the search's streams."""

    name: str
    start: list[int]
    reached: list[int]
    throughput_per_hour: float


def bowl(n: int) -> np.ndarray:
    """Shares of an "inverted bowl": buffer ``i`` of ``n`` in proportion to its
    distance from the line's ends, plus one (1, 2, 3, 2, 1 for five buffers)."""
    i = np.arange(n)
    return np.minimum(i + 1, n - i).astype(float)


@dataclass
class BufferAllocation:
    """The result of a buffer allocation search.

    ``buffers`` is the winner (one capacity per buffer, in line order) and
    ``throughput_per_hour`` its mean over the re-evaluation's fresh streams, with the
    standard error ``throughput_se``; ``start`` the file's own design (cut to fit the
    constraints) and ``start_throughput_per_hour`` its mean on the same fresh streams;
    ``finalists`` the designs re-evaluated (the best few, the ascents' ends and the
    start), as (buffers, mean, standard error), best first; ``history`` the best
    throughput on the search's streams after each evaluation (the convergence);
    ``starts`` the local ascents, one per start.
    """

    buffers: list[int]
    throughput_per_hour: float
    throughput_se: float
    evaluations: int
    evaluations_per_second: float
    wall_s: float
    start: list[int]
    start_throughput_per_hour: float
    spent: float
    finalists: list[tuple[list[int], float, float]]
    history: list[float] = field(repr=False)
    seconds_to_best: float = 0.0
    starts: list[StartResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "buffers": self.buffers,
            "throughput_per_hour": self.throughput_per_hour,
            "throughput_se": self.throughput_se,
            "evaluations": self.evaluations,
            "evaluations_per_second": self.evaluations_per_second,
            "wall_s": self.wall_s,
            "seconds_to_best": self.seconds_to_best,
            "spent": self.spent,
            "start": {"buffers": self.start, "throughput_per_hour": self.start_throughput_per_hour},
            "finalists": [
                {"buffers": b, "throughput_per_hour": m, "throughput_se": s}
                for b, m, s in self.finalists
            ],
            "starts": [
                {"name": a.name, "start": a.start, "reached": a.reached,
                 "throughput_per_hour": a.throughput_per_hour}
                for a in self.starts
            ],
        }


def allocate_buffers(
    spec: LineSpec,
    *,
    total: int | None = None,
    budget: float | None = None,
    cost: Sequence[float] | float = 1.0,
    jobs: int = 10_000,
    seed: int = 0,
    workers: int = 1,
    trials: int = 64,
    batch: int = 16,
    finalists: int = 5,
    replications: int = 5,
    starts: int = 2,
) -> BufferAllocation:
    """Allocate buffer places across a line to maximise its throughput.

    Parameters
    ----------
    spec : LineSpec
        The line; its own buffer sizes are the starting design.
    total : int, optional
        At most this many places in all.
    budget : float, optional
        At most this much money, each place of buffer ``i`` costing ``cost[i]``.
    cost : float or sequence of float
        Cost per place, one for all buffers or one per buffer (line order).
    jobs : int
        Jobs per evaluation.
    seed : int
        The root of every stream: the search's common random numbers and the
        re-evaluation's fresh ones.
    workers : int
        Threads evaluating designs; the result does not depend on it.
    trials : int
        Designs the global stage (optuna TPE) proposes.
    batch : int
        Designs asked of optuna at a time (the result depends on it, not on workers).
    finalists : int
        Best designs re-evaluated on fresh streams.
    replications : int
        Fresh streams in the re-evaluation.
    starts : int
        TPE's best designs the local search also starts from, beside the file's own
        design, an even split and an inverted bowl.

    Returns
    -------
    BufferAllocation
        The winner, its throughput on fresh streams, and the search's figures.

    Raises
    ------
    EvplantError
        If the line has no buffer, or the constraints or settings are invalid.
    """
    import optuna

    t0 = time.perf_counter()
    n = len(spec.buffers)
    if n == 0:
        raise EvplantError("the line has one station: there is no buffer to size",
                           field="buffers")
    costs = _costs(cost, n)
    con = Constraint(costs, total, budget)
    for name, value, low in (("trials", trials, 0), ("batch", batch, 1),
                             ("finalists", finalists, 1), ("replications", replications, 1),
                             ("starts", starts, 0)):
        if value < low:
            raise EvplantError(f"must be at least {low}, got {value}", field=f"--{name}")
    obj = LineObjective(spec, jobs=jobs, seed=seed, workers=workers)

    seen: dict[Design, float] = {}
    history: list[float] = []
    best_at = [0.0]

    def evaluate(designs: list[Design]) -> list[float]:
        values = obj.buffers(designs)
        for d, v in zip(designs, values, strict=True):
            if d not in seen:
                if not history or v > max(history):
                    best_at[0] = time.perf_counter() - t0
                seen[d] = v
                history.append(max(v, history[-1]) if history else v)
        return values

    start = con.repair(spec.buffers)
    evaluate([start])

    # 1. global: TPE over shares, in batches of fixed size
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=int(obj.stream(10**6).generate_state(1)[0]),
            multivariate=True,
            n_startup_trials=min(16, max(trials // 4, 1)),
        )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    done = 0
    while done < trials:
        k = min(batch, trials - done)
        asked = [study.ask() for _ in range(k)]
        designs = [
            con.decode(np.array([t.suggest_float(f"w{i}", 0.0, 1.0) for i in range(n)]))
            for t in asked
        ]
        for t, v in zip(asked, evaluate(designs), strict=True):
            study.tell(t, v)
        done += k

    # 2. local: steepest ascent from several starts; an ascent entering a design an
    # earlier ascent passed through would retrace it (same streams), so it stops there
    shapes = {"file": start, "even": con.decode(np.ones(n)), "bowl": con.decode(bowl(n))}
    tpe_best = sorted(seen, key=lambda d: (-seen[d], d))[:starts]
    named = [*shapes.items(), *((f"tpe-{k + 1}", d) for k, d in enumerate(tpe_best))]
    evaluate([d for _, d in named])
    end_of: dict[Design, Design] = {}  # a design on an ascent's path -> where it ended
    climbed: dict[int, StartResult] = {}
    # the best starts climb first, so the optimum is usually reached early and the
    # worse starts' ascents stop where they meet the paths already climbed
    for at in sorted(range(len(named)), key=lambda i: (-seen[named[i][1]], i)):
        name, current = named[at]
        path: list[Design] = []
        while current not in end_of:
            path.append(current)
            nbrs = [d for d in con.neighbours(current) if d != current]
            values = evaluate(nbrs) if nbrs else []
            i = int(np.argmax(values)) if nbrs else 0
            if not nbrs or values[i] <= seen[current]:
                end_of[current] = current
                break
            current = nbrs[i]
        final = end_of[current]
        end_of.update(dict.fromkeys(path, final))
        climbed[at] = StartResult(name, list(path[0] if path else current), list(final),
                               seen[final])
    ascents = [climbed[i] for i in range(len(named))]

    # 3. the best few, again on fresh streams
    ranked = sorted(seen, key=lambda d: (-seen[d], d))[:finalists]
    # every ascent's end (the local optima, which may differ by less than the search
    # streams' noise) and the file's own design must be beaten on fresh streams too
    for d in [*(tuple(a.reached) for a in ascents), start]:
        if d not in ranked:
            ranked.append(d)
    means: list[tuple[Design, float, float]] = []
    reps = [[] for _ in ranked]  # type: list[list[float]]
    for r in range(1, replications + 1):
        for acc, v in zip(reps, obj.buffers(ranked, replication=r), strict=True):
            acc.append(v)
    for d, vals in zip(ranked, reps, strict=True):
        a = np.array(vals)
        se = float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else 0.0
        means.append((d, float(a.mean()), se))
    means.sort(key=lambda x: (-x[1], x[0]))
    win, mean, se = means[0]
    return BufferAllocation(
        buffers=list(win),
        throughput_per_hour=mean,
        throughput_se=se,
        evaluations=obj.evaluations,
        evaluations_per_second=obj.per_second,
        wall_s=time.perf_counter() - t0,
        start=list(start),
        start_throughput_per_hour=next(m for d, m, _ in means if d == start),
        spent=con.spent(win),
        finalists=[(list(d), m, s) for d, m, s in means],
        history=history,
        seconds_to_best=best_at[0],
        starts=ascents,
    )


def _costs(cost: Sequence[float] | float, n: int) -> tuple[float, ...]:
    if isinstance(cost, int | float):
        return (float(cost),) * n
    values = tuple(float(c) for c in cost)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise EvplantError(
            f"one cost per place for all buffers, or one for each of the {n} buffers; "
            f"got {len(values)}",
            field="--cost",
        )
    return values
