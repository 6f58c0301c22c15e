"""Scenarios: the pydantic schema, built-in files, loading with ``--set`` overrides."""

from .load import Prepared, builtin_names, load_scenario, prepare, scenario_text
from .schema import Horizon, Scenario
from .uncertainty import Uncertainty

__all__ = [
    "Horizon",
    "Prepared",
    "Scenario",
    "Uncertainty",
    "builtin_names",
    "load_scenario",
    "prepare",
    "scenario_text",
]
