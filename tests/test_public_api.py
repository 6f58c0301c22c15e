"""The public API is exactly what __all__ says, and every name in it resolves."""

from __future__ import annotations

import subprocess
import sys

import evplant

EXPECTED = {
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
}


def test_all_is_the_documented_api() -> None:
    assert set(evplant.__all__) == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in evplant.__all__:
        assert getattr(evplant, name) is not None, name


def test_unknown_names_raise_attribute_error() -> None:
    try:
        evplant.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_the_console_script_is_installed_and_answers() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evplant.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    for command in ("line", "run", "compare", "scenarios", "show", "schema", "optimize"):
        assert command in done.stdout


def test_all_and_the_lazy_table_agree() -> None:
    assert set(evplant.__all__) - {"__version__"} == set(evplant._EXPORTS)


def test_calibrate_is_the_function_after_scenarios_load() -> None:
    """Loading a scenario imports the calibration package; its name must not shadow the
    lazily exported function ``evplant.calibrate``."""
    code = (
        "import evplant; evplant.load_scenario('beijing-etown-2023');"
        "from evplant import calibrate; import inspect; print(inspect.isfunction(calibrate))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
