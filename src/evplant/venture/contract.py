"""Contract manufacturing: cars built for another brand on the plant's spare capacity.

The precedent is Baidu's Jidu cars built in a Geely-owned factory.  When the venture's
own cars leave capacity idle, the plant may build up to ``max_units_per_month`` for a
client, using at most ``spare_share`` of the spare capacity (changeovers and the
client's own launch limit the rest), inside the contract's months.  The client supplies
its own parts, so contract cars take no kits and never enter the venture's order book:
the venture earns a fee per car and pays the conversion cost (labour, energy, wear).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def contract_month(
    cfg: ContractConfig, month: int, capacity_per_month: float, produced_total: float
) -> ContractMonth:
    """Contract cars built in a month (``month`` is a month number) and what they earn."""
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
