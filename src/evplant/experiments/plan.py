"""Which values replication ``r`` uses: seeds and draws, a pure function of (seed, r).

The random tree of a Monte Carlo run (the run's ``seed``, replication ``r``)::

    SeedSequence(seed, spawn_key=(r,))            replication r's own child
    ├── (r, 0)                 the simulation's seed (plant, venture streams below it)
    └── (r, 1, key(path))      the uniform of the uncertain parameter at ``path``

``SeedSequence(seed, spawn_key=(r,))`` is exactly ``SeedSequence(seed).spawn(R)[r]``,
so nothing depends on R, on the order replications run in, or on how many workers
run them.

Common random numbers: the uniform of a parameter is keyed by its *path* (a hash of
the dotted path as written), not by its position in the list. Two scenarios run with
the same seed therefore give replication ``r`` the same simulation seed and the same
uniform for every parameter they share, even when one of them declares more
parameters or lists them in another order; a parameter's value is its law's inverse
CDF at that uniform (:meth:`Uncertainty.ppf`). Spell a path the same way in both
scenarios (by name or by index) to share its uniform.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EvplantError
from ..inputs import field_path
from ..scenario.paths import Loc, apply, resolve
from ..scenario.uncertainty import Uncertainty
from ..seeds import child_seed

__all__ = [
    "apply",
    "check_params",
    "draw",
    "path_key",
    "replication_seed",
    "resolve",
    "simulation_seed",
    "uniform",
    "uniforms",
]

_SIM, _PARAMS = 0, 1
_TWO53 = 2.0**-53


def replication_seed(seed: int, r: int) -> np.random.SeedSequence:
    """Replication ``r``'s own child of the run's seed."""
    return child_seed(seed, r)


def simulation_seed(seed: int, r: int) -> np.random.SeedSequence:
    """The seed ``simulate`` gets for replication ``r``."""
    return child_seed(seed, r, _SIM)


def path_key(path: str) -> int:
    """A stable 63-bit key for a dotted path (the same in every process and Python)."""
    digest = hashlib.sha256(path.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def uniform(seed: int, r: int, path: str) -> float:
    """Replication ``r``'s uniform for the parameter at ``path``, strictly inside (0, 1)."""
    ss = child_seed(seed, r, _PARAMS, path_key(path))
    word = int(ss.generate_state(1, np.uint64)[0])
    return ((word >> 11) + 0.5) * _TWO53


def uniforms(seed: int, r: int, params: Sequence[Uncertainty]) -> np.ndarray:
    return np.array([uniform(seed, r, u.path) for u in params], dtype=float)


@dataclass(frozen=True)
class PosteriorDraws:
    """A calibration's samples for the ``law: posterior`` parameters, drawn jointly:
    replication ``r`` takes one whole sample, chosen by its uniform keyed ``posterior``
    (so two scenarios with the same posterior share the sample, as common random
    numbers), with probability its weight."""

    paths: tuple[str, ...]
    values: np.ndarray  # [n, len(paths)]
    weights: np.ndarray  # [n], summing to 1

    def row(self, seed: int, r: int) -> np.ndarray:
        u = uniform(seed, r, POSTERIOR_KEY)
        k = int(np.searchsorted(np.cumsum(self.weights), u * self.weights.sum(), side="right"))
        return np.asarray(self.values[min(k, len(self.values) - 1)])


POSTERIOR_KEY = "posterior"


def draw(
    seed: int, r: int, params: Sequence[Uncertainty], posterior: PosteriorDraws | None = None
) -> list[float | int]:
    """The values replication ``r`` sets, one per parameter, in the list's order."""
    out: list[float | int] = []
    row = posterior.row(seed, r) if posterior is not None else None
    for u in params:
        if u.law == "posterior":
            if posterior is None or row is None:
                raise ValueError(f"{u.path}: law posterior without posterior samples")
            x = float(row[posterior.paths.index(u.path)])
        else:
            x = float(u.ppf(np.array([uniform(seed, r, u.path)]))[0])
        out.append(int(round(x)) if u.integer else x)
    return out


def check_params(data: Any, params: Sequence[Uncertainty]) -> list[Loc]:
    """Every parameter must point at an existing number, each at a different one."""
    seen: dict[Loc, str] = {}
    locs = []
    for u in params:
        loc, value = resolve(data, u.path)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EvplantError(
                f"{field_path(loc)} holds {value!r}, not a number", field=f"uncertainty {u.path}"
            )
        if loc in seen:
            raise EvplantError(
                f"{field_path(loc)} is already uncertain (as {seen[loc]!r})",
                field=f"uncertainty {u.path}",
            )
        seen[loc] = u.path
        locs.append(loc)
    return locs
