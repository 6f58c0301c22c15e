"""Experiments: Monte Carlo over the whole venture, on one core or a Dask cluster.

A scenario's ``uncertainty:`` list names values drawn per replication
(:class:`Uncertainty`). ``run_mc`` runs R replications, each a pure function of
(scenario, seed, r), writes finished ones in Parquet chunks as they complete (so
``resume=True`` continues an interrupted run), and returns statistics (mean, 95% CI,
P10/P50/P90 of every KPI) and tornado sensitivities; ``compare_mc`` runs two scenarios
on common random numbers and reports their paired difference.

Modules: ``plan`` (seeds and draws), ``replicate`` (one batch, what a worker runs),
``kpis``, ``executors`` (in-process, local Dask cluster, remote scheduler), ``store``
(manifest and chunks), ``stats``, ``sensitivity``, ``report`` (HTML), ``console``
(progress bar, tables), ``run`` (the API).

The API is ``run_mc``, ``compare_mc``, ``load_mc``, ``paired_difference`` and
``make_executor`` (their docstrings; a worked example in ``docs/guide.md``). The
``evplant mc`` command is wired to ``run_mc`` and ``compare_mc``: ``evplant mc --help``
lists its options.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Uncertainty": "evplant.scenario.uncertainty",
    "run_mc": "evplant.experiments.run",
    "compare_mc": "evplant.experiments.run",
    "load_mc": "evplant.experiments.run",
    "paired_difference": "evplant.experiments.run",
    "McResult": "evplant.experiments.run",
    "McComparison": "evplant.experiments.run",
    "make_executor": "evplant.experiments.executors",
}

__all__ = [
    "McComparison",
    "McResult",
    "Uncertainty",
    "compare_mc",
    "load_mc",
    "make_executor",
    "paired_difference",
    "run_mc",
]

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario.uncertainty import Uncertainty
    from .executors import make_executor
    from .run import McComparison, McResult, compare_mc, load_mc, paired_difference, run_mc


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evplant.experiments' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
