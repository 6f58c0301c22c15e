"""Ramp-up learning: Wright's law on cycle times, repair times and defects.

Wright's law says each doubling of cumulative output cuts unit time to the progress
ratio ``PR`` of what it was: ``T(n) = T1 * n ** log2(PR)``. We anchor it at maturity:
the factor on the mature value is ``(n_eff / mature_units) ** log2(PR)``, never below 1,
with ``n_eff`` = units built + the experience the team brings (more with an experienced
partner, and a share of what earlier phases built).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .spec import Learning, Partner, Ramp


def wright_factor(units: float, learning: Learning, progress_ratio: float | None = None) -> float:
    """Multiplier (>= 1) on the mature value after ``units`` of experience."""
    pr = progress_ratio if progress_ratio is not None else learning.progress_ratio
    b = math.log2(pr)
    n = max(units, 1.0)
    return float(max(1.0, (n / learning.mature_units) ** b))


@dataclass(frozen=True)
class RampState:
    cycle_time_factor: float  # multiplies every cycle time
    repair_time_factor: float  # multiplies every repair time
    defect_factor: float  # multiplies (1 - first-pass yield)


def ramp_state(units: float, ramp: Ramp, partner: Partner | None) -> RampState:
    """Where a phase stands on its learning curves after ``units`` (its own + transfer)."""
    experience = ramp.experience_units
    pr = None
    if partner is not None and partner.enabled:
        experience += partner.experience_units
        pr = partner.progress_ratio
    n = units + experience
    return RampState(
        cycle_time_factor=wright_factor(n, ramp.cycle_time, pr),
        repair_time_factor=wright_factor(n, ramp.repair_time),
        defect_factor=wright_factor(n, ramp.defects),
    )
