"""A plant's marginal values: the cars a year one more store place or server buys.

For each store after a shop (``store_after``) and each candidate station's servers,
the scenario is run with one more, on the same seed as the base (common random
numbers: the same draws of every station's cycle times, failures and the venture),
and the paired difference in cars produced is the value. Replications on independent
seeds give standard errors. A plant has hundreds of stations and a run takes seconds,
so only the ``per_shop`` stations with the least capacity in each shop (mean cycle
time over servers, from the scenario) are tried: the others cannot be the bottleneck
while those are there. Divided by a cost per place and per server, the values rank
where the next unit of money buys the most cars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EvplantError
from ..seeds import child_seed
from .marginal import Kind, MarginalValue, MarginalValues

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class _Candidate:
    kind: Kind
    name: str
    loc: Loc
    value: int


def _candidates(data: dict[str, Any], per_shop: int) -> list[_Candidate]:
    out: list[_Candidate] = []
    for p, phase in enumerate(data["plant"]["phases"]):
        for s, shop in enumerate(phase["shops"]):
            where = f"{phase['name']}/{shop['name']}"
            out.append(_Candidate("buffer", f"{where} store", ("plant", "phases", p, "shops", s,
                                  "store_after"), int(shop.get("store_after", 0)) + 1))
            load = []
            for i, st in enumerate(shop["stations"]):
                ct = st["cycle_time"]
                mean = ct.get("mean", ct.get("value", 0.0))
                load.append((-(float(mean or 0.0) / int(st.get("servers", 1))), i))
            for _, i in sorted(load)[:per_shop]:
                st = shop["stations"][i]
                out.append(_Candidate("server", f"{where}/{st['name']}",
                                      ("plant", "phases", p, "shops", s, "stations", i,
                                       "servers"), int(st.get("servers", 1)) + 1))
    return out


def plant_marginal_values(
    scenario: str | Path,
    *,
    year: str | None = None,
    replications: int = 3,
    seed: int = 0,
    per_shop: int = 2,
    overrides: Sequence[str] = (),
    server_cost: float | None = None,
    place_cost: float | None = None,
) -> MarginalValues:
    """Cars a year one more store place (after each shop) or server (at each shop's
    least able stations) buys, paired on common random numbers.

    Parameters
    ----------
    scenario : str or pathlib.Path
        A built-in scenario name or a YAML file.
    year : str, optional
        The year whose output counts (default: the horizon's mean a year).
    replications : int
        Independent seeds, each pairing the base with every variant.
    seed : int
        Root of the replications' seeds.
    per_shop : int
        Stations tried per shop, those with the least capacity.
    overrides : sequence of str
        ``--set`` items applied first.
    server_cost, place_cost : float, optional
        Price of a server and of a store place (money; the ranking divides by them).

    Returns
    -------
    MarginalValues
        Per store and candidate station; ``per_hour`` is cars a year / 8760 so that
        ``per_year`` reads cars a year.

    Raises
    ------
    EvplantError
        For a bad setting or scenario.
    """
    from ..run import simulate
    from ..scenario.load import prepare

    if replications < 2:
        raise EvplantError(f"must be at least 2, got {replications}", field="--replications")
    if per_shop < 0:
        raise EvplantError(f"must be at least 0, got {per_shop}", field="--per-shop")
    for name, price in (("--server-cost", server_cost), ("--place-cost", place_cost)):
        if price is not None and not (price > 0 and math.isfinite(price)):
            raise EvplantError("must be a finite number > 0", field=name)
    base = prepare(scenario, overrides)
    h = base.scenario.horizon
    first, last = str(h.start)[:4], str(h.end)[:4]
    if year is not None and not (year.isdigit() and first <= year <= last):
        raise EvplantError(f"a year within the horizon {first}..{last}, got {year!r}",
                           field="--year")
    cands = _candidates(base.data, per_shop)
    n_months = (int(last) - int(first)) * 12 + int(str(h.end)[5:7]) - int(str(h.start)[5:7]) + 1

    def cars(sc: Any, r: int) -> float:
        res = simulate(sc, child_seed(seed, r), stats=False)
        by_year = res.summary.plant["produced_by_year"]
        if year is not None:
            return float(by_year.get(year, 0.0))
        return float(sum(by_year.values())) * 12.0 / n_months

    import time

    t0 = time.perf_counter()
    runs = np.empty((replications, 1 + len(cands)))
    for r in range(replications):
        runs[r, 0] = cars(base.scenario, r + 1)
        for k, c in enumerate(cands):
            runs[r, 1 + k] = cars(base.with_values([c.loc], [c.value], f"{c.name} +1"), r + 1)
    values = []
    for k, c in enumerate(cands):
        d = (runs[:, 1 + k] - runs[:, 0]) / 8760.0
        cost = server_cost if c.kind == "server" else place_cost
        values.append(MarginalValue(c.kind, c.name, float(d.mean()),
                                    float(d.std(ddof=1) / math.sqrt(replications)), cost))
    base_rate = runs[:, 0] / 8760.0
    return MarginalValues(
        throughput_per_hour=float(base_rate.mean()),
        throughput_se=float(base_rate.std(ddof=1) / math.sqrt(replications)),
        values=values,
        evaluations=runs.size,
        evaluations_per_second=runs.size / (time.perf_counter() - t0),
    )
