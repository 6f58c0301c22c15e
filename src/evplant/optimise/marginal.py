"""Marginal values: what one more second saved, server or buffer place is worth.

For every station, the jobs an hour (and a year) gained per second of cycle time saved
and per extra server; for every buffer, per extra place. Each is a paired finite
difference on common random numbers: the line and its perturbed twin run on the same
streams, so their difference carries no noise from different draws. Cycle times are
perturbed by scaling the station's distributions (every family here is a scale
family, and the engine draws a scaled time as the same draw times the factor), with a
central difference, which on common random numbers approaches the derivative that
perturbation analysis of the max-plus recursion would give. Servers and places are
whole numbers, so theirs is the forward difference of one more. Replications on
independent streams give each value its standard error.

Divided by a cost, the values rank where the next unit of money buys the most output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import EvplantError
from ..line.spec import LineSpec
from .objective import HOURS_PER_YEAR, LineObjective

Kind = Literal["cycle_time", "server", "buffer"]
_UNITS = {"cycle_time": "second saved", "server": "server", "buffer": "place"}


@dataclass(frozen=True)
class MarginalValue:
    """Output gained by one unit of a change at one place of the line.

    ``per_hour``: jobs per clock hour gained per unit (per second of mean cycle time
    saved, per extra server, per extra buffer place), ``per_hour_se`` its standard
    error over the replications, ``per_year`` the same over a clock year; ``cost`` the
    price of one unit when given, and ``per_year_per_cost`` output a year per unit of
    money.
    """

    kind: Kind
    name: str
    per_hour: float
    per_hour_se: float
    cost: float | None = None

    @property
    def unit(self) -> str:
        return _UNITS[self.kind]

    @property
    def per_year(self) -> float:
        return self.per_hour * HOURS_PER_YEAR

    @property
    def per_year_per_cost(self) -> float | None:
        return None if self.cost is None else self.per_year / self.cost

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "unit": self.unit,
            "per_hour": self.per_hour,
            "per_hour_se": self.per_hour_se,
            "per_year": self.per_year,
            "per_year_se": self.per_hour_se * HOURS_PER_YEAR,
            "cost": self.cost,
            "per_year_per_cost": self.per_year_per_cost,
        }


@dataclass
class MarginalValues:
    """Every station's and buffer's marginal value, and the ranking that matters.

    ``ranking`` orders the values by output a year per unit of money where costs were
    given (only the priced ones), else by output a year per unit. A plant's values
    also carry the ``year`` that counted and the levers its screen left out
    (``kind:name``).
    """

    throughput_per_hour: float
    throughput_se: float
    values: list[MarginalValue]
    evaluations: int
    evaluations_per_second: float
    year: str | None = None
    screened_out: list[str] = field(default_factory=list)
    screen_share: float | None = None

    @property
    def ranking(self) -> list[MarginalValue]:
        priced = [v for v in self.values if v.cost is not None]
        if priced:
            return sorted(priced, key=lambda v: -(v.per_year_per_cost or 0.0))
        return sorted(self.values, key=lambda v: -v.per_hour)

    def get(self, kind: Kind, name: str) -> MarginalValue:
        """The value of ``kind`` at station (or buffer) ``name``."""
        for v in self.values:
            if v.kind == kind and v.name == name:
                return v
        raise KeyError((kind, name))

    def to_dict(self) -> dict[str, object]:
        return {
            "throughput_per_hour": self.throughput_per_hour,
            "throughput_se": self.throughput_se,
            "evaluations": self.evaluations,
            "evaluations_per_second": self.evaluations_per_second,
            "values": [v.to_dict() for v in self.values],
            "ranking": [f"{v.kind}:{v.name}" for v in self.ranking],
            **({"year": self.year} if self.year is not None else {}),
            **({"screened_out": self.screened_out} if self.screened_out else {}),
            **({"screen_share": self.screen_share} if self.screen_share is not None else {}),
        }


def buffer_names(spec: LineSpec) -> list[str]:
    """A buffer's name: the stations it joins, ``"weld -> paint"``."""
    names = [s.name for s in spec.stations]
    return [f"{a} -> {b}" for a, b in zip(names[:-1], names[1:], strict=True)]


def _scaled(spec: LineSpec, i: int, factor: float) -> LineSpec:
    st = spec.stations[i]
    new = st.model_copy(update={
        "cycle_time": st.cycle_time.scaled(factor),
        "variant_cycle_time": {v: d.scaled(factor) for v, d in st.variant_cycle_time.items()},
    })
    return spec.model_copy(update={"stations": [*spec.stations[:i], new, *spec.stations[i + 1:]]})


def _more_servers(spec: LineSpec, i: int) -> LineSpec:
    st = spec.stations[i]
    new = st.model_copy(update={"servers": st.servers + 1})
    return spec.model_copy(update={"stations": [*spec.stations[:i], new, *spec.stations[i + 1:]]})


def _prices(value: Sequence[float] | float | None, n: int, option: str) -> list[float | None]:
    if value is None:
        return [None] * n
    values = [float(value)] if isinstance(value, int | float) else [float(v) for v in value]
    if len(values) == 1:
        values = values * n
    if len(values) != n:
        raise EvplantError(f"give one cost for all or one for each of the {n}; got "
                           f"{len(values)}", field=option)
    if any(not (v > 0 and math.isfinite(v)) for v in values):
        raise EvplantError("every cost must be a finite number > 0", field=option)
    return list(values)


def marginal_values(
    spec: LineSpec,
    *,
    jobs: int = 20_000,
    seed: int = 0,
    replications: int = 5,
    workers: int = 1,
    step: float = 0.02,
    second_cost: Sequence[float] | float | None = None,
    server_cost: Sequence[float] | float | None = None,
    place_cost: Sequence[float] | float | None = None,
) -> MarginalValues:
    """The marginal value of every station's cycle time and servers and every buffer.

    Parameters
    ----------
    spec : LineSpec
        The line.
    jobs : int
        Jobs per run.
    seed : int
        Root of the replications' streams.
    replications : int
        Independent streams; each holds the line and all its twins (common random
        numbers), and their spread gives the standard errors.
    workers : int
        Threads running designs; the result does not depend on it.
    step : float
        Relative change of a cycle time in the central difference (0.02: +-2%).
    second_cost, server_cost, place_cost : float or sequence of float, optional
        Price of a second saved at a station, of a server at a station, of a place
        in a buffer: one for all or one each (line order).

    Returns
    -------
    MarginalValues
        A value per station (cycle time, server) and per buffer, and their ranking.

    Raises
    ------
    EvplantError
        If a setting or a cost is invalid.
    """
    m = len(spec.stations)
    if replications < 2:
        raise EvplantError(f"must be at least 2, got {replications}", field="--replications")
    if not 0 < step < 0.5:
        raise EvplantError(f"must be between 0 and 0.5, got {step}", field="--step")
    costs = {
        "cycle_time": _prices(second_cost, m, "--second-cost"),
        "server": _prices(server_cost, m, "--server-cost"),
        "buffer": _prices(place_cost, m - 1, "--place-cost"),
    }
    obj = LineObjective(spec, jobs=jobs, seed=seed, workers=workers)
    designs = [spec]
    for i in range(m):
        designs += [_scaled(spec, i, 1.0 - step), _scaled(spec, i, 1.0 + step)]
    designs += [_more_servers(spec, i) for i in range(m)]
    designs += [obj.with_buffers([b + (j == i) for j, b in enumerate(spec.buffers)])
                for i in range(m - 1)]
    runs = np.array([obj.specs(designs, replication=r) for r in range(1, replications + 1)])
    base = runs[:, 0]
    saved = np.array([step * s.cycle_time.mean for s in spec.stations])
    diffs: list[tuple[Kind, str, np.ndarray]] = []
    for i, st in enumerate(spec.stations):
        fast, slow = runs[:, 1 + 2 * i], runs[:, 2 + 2 * i]
        diffs.append(("cycle_time", st.name, (fast - slow) / (2.0 * saved[i])))
    for i, st in enumerate(spec.stations):
        diffs.append(("server", st.name, runs[:, 1 + 2 * m + i] - base))
    for i, name in enumerate(buffer_names(spec)):
        diffs.append(("buffer", name, runs[:, 1 + 3 * m + i] - base))
    index = {"cycle_time": 0, "server": 0, "buffer": 0}
    values = []
    for kind, name, d in diffs:
        cost = costs[kind][index[kind]]
        index[kind] += 1
        values.append(MarginalValue(kind, name, float(d.mean()), _se(d), cost))
    return MarginalValues(
        throughput_per_hour=float(base.mean()),
        throughput_se=_se(base),
        values=values,
        evaluations=obj.evaluations,
        evaluations_per_second=obj.per_second,
    )


def _se(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / math.sqrt(len(x)))
