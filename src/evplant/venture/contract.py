"""Contract manufacturing: cars built for another brand on one phase's line.

The precedent is Baidu's Jidu cars built in a Geely-owned factory.  Inside the
contract's months the plant releases up to ``max_units_per_month`` of the client's cars
into the line of ``phase`` (default: the first), where they take the stations' time
like the venture's own cars (their work content is ``cycle_time_scale`` times the
line's own cars').  ``priority`` says who gives way when the line is full: ``own``
(the client's cars fill at most ``spare_share`` of the capacity the month's own cars
leave), or ``contract`` (the client's volume, up to ``spare_share`` of the phase's
capacity, is planned first and the venture's own cars get the rest).  The client
supplies its own parts, so contract cars take no kits and never enter the venture's
order book: the venture earns a fee per car built and pays the conversion cost
(labour, energy, wear).  The line learns from them as from its own cars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, NonNegativeFloat, model_validator

from .common import Month, VentureModel, month_number


class ContractConfig(VentureModel):
    """An optional contract to build for another brand."""

    enabled: bool = False
    client: str = Field(default="partner brand", min_length=1)
    start_month: Month | None = Field(default=None, description="first month (default: any)")
    end_month: Month | None = Field(default=None, description="last month (default: any)")
    max_units_per_month: NonNegativeFloat = 0.0
    spare_share: float = Field(
        default=1.0, ge=0, le=1, description="share of spare capacity usable"
    )
    fee_cny_per_unit: NonNegativeFloat = 0.0
    cost_cny_per_unit: NonNegativeFloat = 0.0
    phase: str | None = Field(
        default=None, description="the phase whose line builds its cars (default: the first)"
    )
    priority: Literal["own", "contract"] = Field(
        default="own",
        description="own: the client's cars fill what own cars leave; contract: the client's "
        "volume is planned first and own cars get the rest",
    )
    cycle_time_scale: float = Field(
        default=1.0, gt=0, le=10, description="the client's car's work against the line's own"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ContractConfig:
        if self.start_month and self.end_month and self.end_month < self.start_month:
            raise ValueError("end_month must not be before start_month")
        return self


@dataclass
class ContractMonth:
    units: int
    spare_capacity: float
    revenue_cny: float
    cost_cny: float


def active(cfg: ContractConfig, month: int) -> bool:
    """The contract is on and ``month`` (a month number) is inside its months."""
    inside = (cfg.start_month is None or month >= month_number(cfg.start_month)) and (
        cfg.end_month is None or month <= month_number(cfg.end_month)
    )
    return cfg.enabled and inside


def contract_start(
    cfg: ContractConfig, month: int, capacity_per_month: float, own_planned: float
) -> int:
    """Client cars to release this month into the contract's line, whose capacity is
    ``capacity_per_month``, with ``own_planned`` of the venture's own cars planned on it
    (ignored when the contract has priority)."""
    if not active(cfg, month):
        return 0
    room = float(capacity_per_month)
    if cfg.priority == "own":
        room = max(0.0, room - float(own_planned))
    return int(min(cfg.max_units_per_month, cfg.spare_share * room) + 1e-9)


def contract_booked(cfg: ContractConfig, built: float, spare_capacity: float) -> ContractMonth:
    """What the client's cars completed this month earn and cost."""
    units = int(round(built))
    return ContractMonth(
        units=units,
        spare_capacity=spare_capacity,
        revenue_cny=units * cfg.fee_cny_per_unit,
        cost_cny=units * cfg.cost_cny_per_unit,
    )


def contract_month(
    cfg: ContractConfig, month: int, capacity_per_month: float, produced_total: float
) -> ContractMonth:
    """Contract cars a month (``month`` is a month number) and what they earn when no line
    is simulated (the venture alone): the client's cars taken as built on the spare
    capacity left by ``produced_total``, own cars first."""
    spare = max(0.0, float(capacity_per_month) - float(produced_total))
    inside = (cfg.start_month is None or month >= month_number(cfg.start_month)) and (
        cfg.end_month is None or month <= month_number(cfg.end_month)
    )
    units = 0
    if cfg.enabled and inside:
        units = int(min(cfg.max_units_per_month, cfg.spare_share * spare) + 1e-9)
    return ContractMonth(
        units=units,
        spare_capacity=spare,
        revenue_cny=units * cfg.fee_cny_per_unit,
        cost_cny=units * cfg.cost_cny_per_unit,
    )
