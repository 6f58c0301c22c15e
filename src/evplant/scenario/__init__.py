"""Scenarios: the pydantic schema, built-in files, loading with ``--set`` overrides."""

from .load import builtin_names, load_scenario, scenario_text
from .schema import Horizon, Scenario

__all__ = ["Horizon", "Scenario", "builtin_names", "load_scenario", "scenario_text"]
