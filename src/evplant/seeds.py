"""Random streams: every one a child of the run's ``numpy.random.SeedSequence``.

A stream is addressed by a key under its parent (``child_seed(parent, 0, station)``),
not spawned in order, so its draws do not depend on how many other streams exist or
on the order they are asked for: two scenarios that differ in one value see the same
draws everywhere else.
"""

from __future__ import annotations

import numpy as np


def as_seed_sequence(seed: int | np.integer | np.random.SeedSequence) -> np.random.SeedSequence:
    """A seed as a SeedSequence (an int ``s`` is ``SeedSequence(s)``)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"a seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def child_seed(
    parent: int | np.integer | np.random.SeedSequence, *keys: int
) -> np.random.SeedSequence:
    """The child of ``parent`` at ``keys``: ``SeedSequence(entropy, spawn_key=(*parent's
    spawn key, *keys))``, the same as ``parent.spawn(n)[keys[0]]`` one level down."""
    root = as_seed_sequence(parent)
    return np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, *(int(k) for k in keys))
    )


def child_rng(
    parent: int | np.integer | np.random.SeedSequence, *keys: int
) -> np.random.Generator:
    """NumPy's default generator (PCG64) on the child stream at ``keys``."""
    return np.random.default_rng(child_seed(parent, *keys))
