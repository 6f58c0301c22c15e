"""evplant: a digital twin for planning an EV plant and the venture around it.

The public API, loaded lazily so that ``evplant --help`` starts fast::

    from evplant import load_scenario, simulate
    scenario, _ = load_scenario("my-plant.yaml", ["plant.partner.enabled=false"])
    result = simulate(scenario, seed=1)
    result.summary["produced_by_year"]       # typed: result.summary.plant, .venture
    result.column("delivered")               # the wide view; result.records: typed records
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "EvplantError": "evplant.errors",
    "Problem": "evplant.errors",
    "LineSpec": "evplant.line.spec",
    "CompiledLine": "evplant.line.spec",
    "WorkCalendar": "evplant.line.calendar",
    "LineEngine": "evplant.line.engine",
    "LineResult": "evplant.line.result",
    "StationStats": "evplant.line.result",
    "simulate_line": "evplant.line.engine",
    "BinStats": "evplant.line.result",
    "simulate_reference": "evplant.line.reference",
    "Visits": "evplant.line.visits",
    "Scenario": "evplant.scenario.schema",
    "load_scenario": "evplant.scenario.load",
    "prepare": "evplant.scenario.load",
    "Prepared": "evplant.scenario.load",
    "builtin_names": "evplant.scenario.load",
    "simulate": "evplant.run",
    "RunResult": "evplant.run",
    "Summary": "evplant.run",
    "write_run": "evplant.results",
    "read_run": "evplant.results",
    "read_state": "evplant.state",
    "RunState": "evplant.state",
    "run_mc": "evplant.experiments.run",
    "McResult": "evplant.experiments.run",
    "read_forecast_table": "evplant.experiments.forecast_table",
    "VintageRow": "evplant.experiments.forecast_table",
    "ForecastRow": "evplant.experiments.forecast",
    "calibrate": "evplant.calibration.api",
    "assimilate": "evplant.calibration.api",
    "Calibrated": "evplant.calibration.api",
    "Discrepancy": "evplant.calibration.discrepancy",
    "Posterior": "evplant.calibration.inference",
    "backtest": "evplant.calibration.backtest",
    "Backtest": "evplant.calibration.backtest",
    "read_observations": "evplant.calibration.observations",
    "Statement": "evplant.calibration.observations",
    "allocate_buffers": "evplant.optimise.buffers",
    "BufferAllocation": "evplant.optimise.buffers",
    "marginal_values": "evplant.optimise.marginal",
    "MarginalValues": "evplant.optimise.marginal",
    "optimise_scenario": "evplant.optimise.decisions",
    "DecisionResult": "evplant.optimise.decisions",
}

__all__ = [
    "__version__",
    "EvplantError",
    "Problem",
    "LineSpec",
    "CompiledLine",
    "WorkCalendar",
    "LineEngine",
    "LineResult",
    "StationStats",
    "simulate_line",
    "BinStats",
    "simulate_reference",
    "Visits",
    "Scenario",
    "load_scenario",
    "prepare",
    "Prepared",
    "builtin_names",
    "simulate",
    "RunResult",
    "Summary",
    "write_run",
    "read_run",
    "read_state",
    "RunState",
    "run_mc",
    "McResult",
    "read_forecast_table",
    "VintageRow",
    "ForecastRow",
    "calibrate",
    "assimilate",
    "Discrepancy",
    "Calibrated",
    "Posterior",
    "backtest",
    "Backtest",
    "read_observations",
    "Statement",
    "allocate_buffers",
    "BufferAllocation",
    "marginal_values",
    "MarginalValues",
    "optimise_scenario",
    "DecisionResult",
]

if TYPE_CHECKING:  # pragma: no cover
    from .calibration.api import Calibrated, assimilate, calibrate
    from .calibration.backtest import Backtest, backtest
    from .calibration.discrepancy import Discrepancy
    from .calibration.inference import Posterior
    from .calibration.observations import Statement, read_observations
    from .errors import EvplantError, Problem
    from .experiments.forecast import ForecastRow
    from .experiments.forecast_table import VintageRow, read_forecast_table
    from .experiments.run import McResult, run_mc
    from .line.calendar import WorkCalendar
    from .line.engine import LineEngine, simulate_line
    from .line.reference import simulate_reference
    from .line.result import BinStats, LineResult, StationStats
    from .line.spec import CompiledLine, LineSpec
    from .line.visits import Visits
    from .optimise.buffers import BufferAllocation, allocate_buffers
    from .optimise.decisions import DecisionResult, optimise_scenario
    from .optimise.marginal import MarginalValues, marginal_values
    from .results import read_run, write_run
    from .run import RunResult, Summary, simulate
    from .scenario.load import Prepared, builtin_names, load_scenario, prepare
    from .scenario.schema import Scenario
    from .state import RunState, read_state


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evplant' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
