"""Draw the random inputs of a line, chunk by chunk, from one seed.

``LineDraws`` hands out processing times and variants for consecutive jobs. Each
(station, variant) pair has its own counter-based stream, and the time of the ``n``-th
job of a variant at a station is a pure function of that stream and ``n``
(``ziggurat.processing_times``), so the times do not depend on how the jobs were
split into chunks: a run in one chunk and a resumed run in many draw exactly the same
numbers.
"""

from __future__ import annotations

import numpy as np

from .distributions import LOGNORMAL
from .draws import (
    as_seed_sequence,
    failure_keys,
    mix_rng,
    processing_keys,
    quality_keys,
    release_rng,
)
from .spec import CompiledLine, _encode
from .ziggurat import processing_times


class LineDraws:
    """The random inputs of one line: processing times, variants, failure keys."""

    def __init__(self, line: CompiledLine, seed: int | np.random.SeedSequence) -> None:
        self.seed = as_seed_sequence(seed)
        self.line = line
        self.next_job = 0
        n_var = len(line.variant_names)
        self._keys = processing_keys(self.seed, line.m, n_var)
        self._codes, self._table = _codes(line, n_var)
        self._log_only = bool((self._codes[:, :, 0] == LOGNORMAL).all())
        self._counts = np.zeros(n_var, dtype=np.int64)
        self._mix = mix_rng(self.seed)
        kmax = int(line.servers.max())
        self.fail_keys = np.zeros((line.m, kmax, 2), dtype=np.uint64)
        for i in range(line.m):
            self.fail_keys[i, : line.servers[i]] = failure_keys(self.seed, i, int(line.servers[i]))
        self.quality_keys = quality_keys(self.seed, line.m)
        self._release_rng = release_rng(self.seed)
        self._last_release = 0.0

    def variants(self, n: int) -> np.ndarray:
        """Variant index of the next ``n`` jobs (does not advance the job counter)."""
        spec = self.line.variants
        if spec is None:
            return np.zeros(n, dtype=np.int64)
        names = self.line.variant_names
        if spec.sequence is not None:
            seq = np.array([names.index(v) for v in spec.sequence], dtype=np.int64)
            return seq[(self.next_job + np.arange(n)) % len(seq)]
        weights = np.array([spec.mix[v] for v in names], dtype=np.float64)  # type: ignore[index]
        return self._mix.choice(len(names), size=n, p=weights / weights.sum()).astype(np.int64)

    def processing(self, variants: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Processing times ``[n, m]`` for the next jobs, whose variants are given.

        ``scale`` multiplies every time (a ramp-up learning factor); every family here
        is a scale family, so this equals drawing from the scaled distribution.
        """
        v = np.ascontiguousarray(variants, dtype=np.int64)
        p = np.empty((len(v), self.line.m), dtype=np.float64)
        processing_times(v, self._codes, self._keys, self._counts, self._table, self._log_only, p)
        if self._log_only:
            np.exp(p, out=p)
        self.next_job += len(v)
        if scale != 1.0:
            p *= scale
        return p

    def releases(self, n: int) -> np.ndarray:
        """Release times of the next ``n`` jobs from the line's ``release`` interval."""
        rel = self.line.release
        if rel is None:
            return np.zeros(n)
        gaps = rel.interval.sample(self._release_rng, n)
        out = self._last_release + np.cumsum(gaps)
        self._last_release = float(out[-1]) if n else self._last_release
        return out


def _codes(line: CompiledLine, n_var: int) -> tuple[np.ndarray, np.ndarray]:
    """``Dist.encode()`` of every station's time for every variant ``[m, variants, 4]``
    (a station with one time has it under each variant), and the table of empirical
    samples the codes point into."""
    codes = np.zeros((line.m, n_var, 4))
    table: list[float] = []
    for i, dists in enumerate(line.cycle_time):
        for q in range(n_var):
            codes[i, q] = _encode(dists[q if len(dists) > 1 else 0], table)
    return codes, np.array(table or [0.0])
