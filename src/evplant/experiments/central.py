"""The central case: a single run at the centre of what Monte Carlo draws.

A scenario's written value of an uncertain parameter and the centre of its law may
differ (a triangular law's mode is written, its median lies elsewhere; a calibrated
value is rounded). A single run (``evplant run``) uses the centre, so it sits among the
replications of ``evplant mc`` rather than at one side of them: the median of each law,
or of the posterior's samples for a ``law: posterior`` parameter (weighted, each
parameter alone). ``--set`` on an uncertain value pins it, in both commands. The run's
summary lists every value replaced: its path, the written value and the one used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EvplantError
from ..scenario.load import Prepared, beside
from ..scenario.paths import Loc, resolve
from ..scenario.schema import Scenario
from ..scenario.uncertainty import Uncertainty
from . import plan

#: A written value this close to the centre (relative) is the centre, rounded as
#: ``evplant calibrate`` writes it (four significant figures of an unweighted median),
#: and is kept as written: no replacement to report.
CLOSE = 2e-3

__all__ = [
    "CLOSE",
    "CentralCase",
    "Replaced",
    "central_case",
    "uncertain_parameters",
    "weighted_median",
]


@dataclass(frozen=True)
class Replaced:
    """One uncertain value a single run replaced by its law's centre."""

    path: str
    label: str
    law: str
    written: float
    central: float

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "label": self.label, "law": self.law,
                "written": self.written, "central": self.central}


@dataclass(frozen=True)
class CentralCase:
    """The scenario a single run simulates and the values it replaced (those whose
    written value is not already the centre, to :data:`CLOSE`)."""

    def as_overrides(self) -> list[str]:
        """The replacements as ``--set`` items, for a command that reads the scenario
        itself (``--marginal``)."""
        return [f"{r.path}={_plain_number(r.central)}" for r in self.replaced]

    scenario: Scenario
    replaced: tuple[Replaced, ...]


def _plain_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def uncertain_parameters(
    name_or_path: str | Path, prepared: Prepared
) -> tuple[list[Uncertainty], list[Loc], plan.PosteriorDraws | None]:
    """What Monte Carlo draws: the ``uncertainty:`` list, its posterior paths drawn from
    the scenario's posterior samples, less what ``--set`` pinned; with their locations."""
    base, data, source = prepared.scenario, prepared.data, prepared.source
    params = list(base.uncertainty)
    try:
        locs = plan.check_params(data, params)
    except EvplantError as exc:
        raise EvplantError(
            problems=[type(p)(p.message, file=source, field=p.field) for p in exc.problems]
        ) from None
    posterior = None
    if base.posterior is not None:
        posterior, params = _posterior(str(name_or_path), base, params)
        locs = plan.check_params(data, params)
    pinned = set(prepared.overridden)
    keep = [i for i, loc in enumerate(locs) if loc not in pinned]
    return [params[i] for i in keep], [locs[i] for i in keep], posterior


def _posterior(
    name_or_path: str, base: Scenario, params: list[Uncertainty]
) -> tuple[plan.PosteriorDraws, list[Uncertainty]]:
    """The scenario's posterior samples, and its parameters with every posterior path
    drawn from them (in place of a prior given in `uncertainty:`)."""
    from ..calibration.outputs import read_posterior

    assert base.posterior is not None
    paths, values, weights = read_posterior(beside(name_or_path, base.posterior.file))
    labels = {u.path: u for u in params}
    priors = {u.path: u for u in (base.calibration.parameters if base.calibration else [])}
    drawn = [
        Uncertainty(
            path=p, law="posterior",
            label=(labels.get(p) or priors.get(p) or Uncertainty(path=p, law="posterior")).label,
            integer=bool(priors[p].integer) if p in priors else False,
        )
        for p in paths
    ]
    rest = [u for u in params if u.path not in set(paths) and u.law != "posterior"]
    return plan.PosteriorDraws(tuple(paths), values, weights), rest + drawn


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The median of samples drawn with probability their weight: the smallest value
    whose cumulative weight reaches half (the middle of the two where it is exactly half,
    as ``numpy.median`` of equal weights)."""
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cum = np.cumsum(w) / w.sum()
    k = int(np.searchsorted(cum, 0.5, side="left"))
    if k + 1 < len(v) and np.isclose(cum[k], 0.5, rtol=0, atol=1e-12):
        return float((v[k] + v[k + 1]) / 2)
    return float(v[min(k, len(v) - 1)])


def central_case(name_or_path: str | Path, prepared: Prepared) -> CentralCase:
    """The scenario with every uncertain value (not pinned by ``--set``) at its law's
    median, or its posterior's; the values that differed from what was written.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        The scenario as named to :func:`evplant.prepare` (a posterior file is found
        beside it).
    prepared : Prepared
        The scenario read, overridden and validated.

    Returns
    -------
    CentralCase
        The scenario to run and what it replaced.
    """
    params, locs, posterior = uncertain_parameters(name_or_path, prepared)
    if not params:
        return CentralCase(prepared.scenario, ())
    values: list[float | int] = []
    replaced: list[Replaced] = []
    for u in params:
        if u.law == "posterior":
            assert posterior is not None
            j = posterior.paths.index(u.path)
            x = weighted_median(posterior.values[:, j], posterior.weights)
            centre: float | int = int(round(x)) if u.integer else x
        else:
            centre = u.median()
            centre = int(centre) if u.integer else centre
        _, written = resolve(prepared.data, u.path)
        if math.isclose(float(written), float(centre), rel_tol=CLOSE, abs_tol=0.0):
            values.append(written)  # the centre as written (rounded), kept
        else:
            values.append(centre)
            replaced.append(Replaced(u.path, u.name, u.law, float(written), float(centre)))
    if not replaced:
        return CentralCase(prepared.scenario, ())
    scenario = prepared.with_values(locs, values, "central values of the uncertain parameters")
    return CentralCase(scenario, tuple(replaced))
