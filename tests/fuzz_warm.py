"""Imported by the fuzzer's fork server: loads the compiled kernels once, so that each
forked case starts warm (numba's cache is read per process)."""

from __future__ import annotations

from evplant.run import simulate
from evplant.scenario import load_scenario

_scenario, _ = load_scenario("beijing-etown-2023", ["horizon.end=2024-04"])
simulate(_scenario, 0, threads=False)
