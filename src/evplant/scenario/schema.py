"""The scenario: one YAML file validated by these pydantic models.

``evplant schema`` writes its JSON Schema, so editors can complete and check files.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ..base import Model
from ..months import Month
from ..plant.spec import PlantSpec
from ..venture import VentureConfig
from .uncertainty import Uncertainty


class Horizon(Model):
    start: Month = "2024-01"
    end: Month = "2033-12"

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end < self.start:
            raise ValueError("horizon end must not be before its start")
        return self


class Scenario(Model):
    """A plant and the venture around it."""

    name: str = Field(min_length=1)
    description: str = ""
    horizon: Horizon = Horizon()
    variants: list[str] = Field(min_length=1, description="the models built, e.g. SU7, YU7")
    plant: PlantSpec
    venture: VentureConfig | None = None
    uncertainty: list[Uncertainty] = Field(
        default_factory=list, description="parameters drawn per Monte Carlo replication"
    )

    @model_validator(mode="after")
    def _variants_known(self) -> Scenario:
        known = set(self.variants)
        for phase in self.plant.phases:
            unknown = set(phase.mix) - known
            if unknown:
                raise ValueError(
                    f"phase {phase.name!r} builds {sorted(unknown)}, not among variants "
                    f"{self.variants}"
                )
        return self
