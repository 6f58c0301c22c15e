"""The random draws of a line, shared by both engines.

Every stream comes from one ``numpy.random.SeedSequence`` and is addressed by a spawn
key, so it does not depend on how many other streams exist, on chunk sizes, or on
the number of workers:

- processing times of station ``i`` for variant ``q``: spawn key ``(0, i, q)``, the key
  of a counter-based stream whose draw ``n`` is the ``n``-th job of that variant
  (``ziggurat.processing_times``);
- the variant of each job under a random mix: spawn key ``(2,)``;
- defective visits: a counter-based uniform draw per station, spawn key ``(4, i)``,
  addressed by (job, reworks so far) (:func:`defective`);
- failures: a *counter-based* draw, a pure function of (the key of station ``i``
  server ``s``, the failure number ``n``). The kernel needs failure draws one at a
  time, in an order that depends on the flow, from inside compiled code; a counter
  makes draw ``n`` the same in both engines whatever order they ask for it in, with no
  pools to refill. The mix is SplitMix64's finaliser over a Weyl sequence (as in
  Java's ``SplittableRandom``), keyed from the SeedSequence.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import inline, kernel
from ..seeds import as_seed_sequence, child_seed
from .distributions import (
    DETERMINISTIC,
    EMPIRICAL,
    EXPONENTIAL,
    GAMMA,
    LOGNORMAL,
    TRIANGULAR,
    UNIFORM,
    WEIBULL,
)

__all__ = [
    "as_seed_sequence",
    "draw",
    "failure_keys",
    "mix_rng",
    "processing_keys",
    "quality_keys",
    "release_rng",
]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_TWO53 = 1.0 / 9007199254740992.0
_TTF, _TTR = 0, 1


@inline
def _mix(x: np.uint64) -> np.uint64:
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@inline
def uniform01(key: np.uint64, counter: np.uint64) -> float:
    """A uniform draw in (0, 1), the ``counter``-th of stream ``key``."""
    return (float(_mix(key + counter * _GOLDEN) >> np.uint64(11)) + 0.5) * _TWO53


@inline
def _normal(key: np.uint64, c: np.uint64) -> float:
    u1 = uniform01(key, c)
    u2 = uniform01(key, c + np.uint64(1))
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@kernel
def draw(key: np.uint64, n: int, code: np.ndarray, table: np.ndarray) -> float:
    """Draw number ``n`` of stream ``key`` from the distribution encoded in ``code``.

    ``code`` is ``(family, p0, p1, p2)`` as made by ``Dist.encode``; empirical samples
    live in ``table[p0 : p0 + p1]``.
    """
    fam = int(code[0])
    # 64 counters per draw leave room for rejection sampling (gamma)
    base = np.uint64(n) * np.uint64(64)
    if fam == DETERMINISTIC:
        return code[1]
    if fam == EXPONENTIAL:
        return -code[1] * math.log(uniform01(key, base))
    if fam == LOGNORMAL:
        return math.exp(code[1] + code[2] * _normal(key, base))
    if fam == UNIFORM:
        return code[1] + (code[2] - code[1]) * uniform01(key, base)
    if fam == TRIANGULAR:
        a, c, b = code[1], code[2], code[3]
        u = uniform01(key, base)
        f = (c - a) / (b - a)
        if u < f:
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt((1.0 - u) * (b - a) * (b - c))
    if fam == WEIBULL:
        return code[1] * (-math.log(uniform01(key, base))) ** (1.0 / code[2])
    if fam == EMPIRICAL:
        k = int(uniform01(key, base) * code[2])
        return table[int(code[1]) + min(k, int(code[2]) - 1)]
    if fam == GAMMA:
        # Marsaglia & Tsang (2000); shape < 1 boosted by U^(1/shape)
        shape, scale = code[1], code[2]
        boost = 1.0
        if shape < 1.0:
            boost = uniform01(key, base + np.uint64(63)) ** (1.0 / shape)
            shape += 1.0
        d = shape - 1.0 / 3.0
        c = 1.0 / math.sqrt(9.0 * d)
        for attempt in range(20):
            off = base + np.uint64(3 * attempt)
            x = _normal(key, off)
            v = (1.0 + c * x) ** 3
            if v <= 0.0:
                continue
            u = uniform01(key, off + np.uint64(2))
            if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
                return d * v * scale * boost
        return d * scale * boost  # the mode region; reached with probability < 1e-30
    return math.nan


@inline
def next_breakdown(
    fst: np.ndarray,
    i: int,
    s: int,
    keys: np.ndarray,
    ttf_code: np.ndarray,
    ttr_code: np.ndarray,
    table: np.ndarray,
) -> None:
    """Move server s of station i on to its next calendar-time breakdown.

    ``fst[i, s]`` holds (n, start, end) of breakdown n; breakdown n+1 starts TTF_{n+1}
    after breakdown n ends and lasts TTR_{n+1}. The kernel and the statistics pass
    both walk breakdowns with this, each on its own copy of the state.
    """
    n = int(fst[i, s, 0]) + 1
    fst[i, s, 0] = n
    start = fst[i, s, 2] + draw(keys[i, s, 0], n, ttf_code[i], table)
    fst[i, s, 1] = start
    fst[i, s, 2] = start + draw(keys[i, s, 1], n, ttr_code[i], table)


def failure_keys(seed: np.random.SeedSequence, station: int, servers: int) -> np.ndarray:
    """Keys ``[server, ttf|ttr]`` for the failure streams of one station."""
    child = child_seed(seed, 1, station)
    return child.generate_state(2 * servers, np.uint64).reshape(servers, 2)


def quality_keys(seed: np.random.SeedSequence, stations: int) -> np.ndarray:
    """Keys ``[station]`` of the counter-based streams that say which visits are
    defective (see :func:`defective`)."""
    return np.array(
        [child_seed(seed, 4, i).generate_state(1, np.uint64)[0] for i in range(stations)],
        dtype=np.uint64,
    )


@inline
def defective(key: np.uint64, job: int, reworks: int, fpy: float) -> bool:
    """Whether job ``job``'s visit after ``reworks`` reworks is not right first time.

    A job meets a station again only after one more rework, so (job, reworks) names
    each of its visits to a station once; 2**20 counters a job leave room for any
    number of reworks a positive yield makes likely.
    """
    c = np.uint64(job) * np.uint64(1 << 20) + np.uint64(reworks)
    return uniform01(key, c) >= fpy


def processing_keys(seed: np.random.SeedSequence, stations: int, variants: int) -> np.ndarray:
    """Keys ``[station, variant]`` of the counter-based processing-time streams."""
    keys = np.zeros((stations, variants), dtype=np.uint64)
    for i in range(stations):
        for q in range(variants):
            keys[i, q] = child_seed(seed, 0, i, q).generate_state(1, np.uint64)[0]
    return keys


def mix_rng(seed: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(child_seed(seed, 2)))


def release_rng(seed: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(child_seed(seed, 3)))
