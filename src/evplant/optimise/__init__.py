"""Optimisation: what should we build? Buffer allocation, marginal values, a plant's
budget, decisions.

Every search here evaluates designs on common random numbers (``objective``), so the
differences between designs are not drowned by the differences between draws. Names
load lazily, so that the CLI's ``optimize`` group costs nothing until it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "BufferAllocation": "evplant.optimise.buffers",
    "Constraint": "evplant.optimise.buffers",
    "allocate_buffers": "evplant.optimise.buffers",
    "LineObjective": "evplant.optimise.objective",
    "line_throughput": "evplant.optimise.objective",
    "MarginalValue": "evplant.optimise.marginal",
    "MarginalValues": "evplant.optimise.marginal",
    "marginal_values": "evplant.optimise.marginal",
    "Decision": "evplant.optimise.decisions",
    "DecisionResult": "evplant.optimise.decisions",
    "DecisionTrial": "evplant.optimise.decisions",
    "optimise_scenario": "evplant.optimise.decisions",
    "plant_marginal_values": "evplant.optimise.plant",
    "StartResult": "evplant.optimise.buffers",
    "PlantAllocation": "evplant.optimise.plant_budget",
    "Purchase": "evplant.optimise.plant_budget",
    "allocate_plant": "evplant.optimise.plant_budget",
    "render_decisions": "evplant.optimise.decisions_report",
}

__all__ = [
    "BufferAllocation",
    "Constraint",
    "Decision",
    "DecisionResult",
    "DecisionTrial",
    "LineObjective",
    "MarginalValue",
    "MarginalValues",
    "PlantAllocation",
    "Purchase",
    "StartResult",
    "allocate_buffers",
    "allocate_plant",
    "line_throughput",
    "marginal_values",
    "optimise_scenario",
    "plant_marginal_values",
    "render_decisions",
]

if TYPE_CHECKING:  # pragma: no cover
    from .buffers import BufferAllocation, Constraint, StartResult, allocate_buffers
    from .decisions import Decision, DecisionResult, DecisionTrial, optimise_scenario
    from .decisions_report import render_decisions
    from .marginal import MarginalValue, MarginalValues, marginal_values
    from .objective import LineObjective, line_throughput
    from .plant import plant_marginal_values
    from .plant_budget import PlantAllocation, Purchase, allocate_plant


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evplant.optimise' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
