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

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EvplantError
from ..inputs import field_path
from .uncertainty import Uncertainty

_SIM, _PARAMS = 0, 1
_TWO53 = 2.0**-53


def replication_seed(seed: int, r: int) -> np.random.SeedSequence:
    """Replication ``r``'s own child of the run's seed."""
    return np.random.SeedSequence(seed, spawn_key=(int(r),))


def simulation_seed(seed: int, r: int) -> np.random.SeedSequence:
    """The seed ``simulate`` gets for replication ``r``."""
    return np.random.SeedSequence(seed, spawn_key=(int(r), _SIM))


def path_key(path: str) -> int:
    """A stable 63-bit key for a dotted path (the same in every process and Python)."""
    digest = hashlib.sha256(path.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def uniform(seed: int, r: int, path: str) -> float:
    """Replication ``r``'s uniform for the parameter at ``path``, strictly inside (0, 1)."""
    ss = np.random.SeedSequence(seed, spawn_key=(int(r), _PARAMS, path_key(path)))
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


def split_path(path: str) -> list[str]:
    return [k for k in path.strip().split(".") if k]


def resolve(data: Any, path: str) -> tuple[tuple[str | int, ...], Any]:
    """The location (keys, list items as indices) and current value at a dotted path.

    Follows the rules of ``--set``: a list item by index or by its ``name``. Unlike
    ``--set`` it never creates anything: a path that does not exist is an error.
    """
    node = data
    loc: list[str | int] = []
    for key in split_path(path):
        if isinstance(node, list):
            idx = _list_index(node, key)
            if idx is None:
                names = [str(x.get("name")) for x in node if isinstance(x, dict)]
                raise EvplantError(
                    f"no item {key!r} in {field_path(loc)} (an index 0..{len(node) - 1} or a "
                    f"name: {', '.join(names)})",
                    field=f"uncertainty {path}",
                )
            loc.append(idx)
            node = node[idx]
        elif isinstance(node, dict):
            if key not in node:
                known = ", ".join(str(k) for k in node)
                raise EvplantError(
                    f"no key {key!r} in {field_path(loc)} (it has: {known})",
                    field=f"uncertainty {path}",
                )
            loc.append(key)
            node = node[key]
        else:
            raise EvplantError(
                f"{field_path(loc)} is a value, not a section", field=f"uncertainty {path}"
            )
    if not loc:
        raise EvplantError("empty path", field="uncertainty")
    return tuple(loc), node


def _list_index(node: list[Any], key: str) -> int | None:
    if key.lstrip("-").isdigit():
        i = int(key)
        return i % len(node) if -len(node) <= i < len(node) else None
    for i, item in enumerate(node):
        if isinstance(item, dict) and str(item.get("name")) == key:
            return i
    return None


def check_params(data: Any, params: Sequence[Uncertainty]) -> list[tuple[str | int, ...]]:
    """Every parameter must point at an existing number, each at a different one."""
    seen: dict[tuple[str | int, ...], str] = {}
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


def apply(
    data: Any, locs: Sequence[tuple[str | int, ...]], values: Sequence[float | int]
) -> Any:
    """A deep copy of ``data`` with each value set at its location."""
    out = copy.deepcopy(data)
    for loc, value in zip(locs, values, strict=True):
        node = out
        for key in loc[:-1]:
            node = node[key]
        node[loc[-1]] = value
    return out
