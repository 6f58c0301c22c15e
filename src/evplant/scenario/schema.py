"""The scenario: one YAML file validated by these pydantic models.

``evplant schema`` writes its JSON Schema, so editors can complete and check files.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..base import Model
from ..calibration.config import CalibrationConfig, PosteriorRef
from ..months import Month, month_number
from ..plant.spec import PlantSpec
from ..venture import VentureConfig
from ..venture.common import invalid
from . import timeline
from .uncertainty import Uncertainty

#: the longest horizon: a run's time grows with its months
MAX_HORIZON_MONTHS = 600


class Horizon(Model):
    start: Month = "2024-01"
    end: Month = "2033-12"

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end < self.start:
            raise ValueError("horizon end must not be before its start")
        months = month_number(self.end) - month_number(self.start) + 1
        if months > MAX_HORIZON_MONTHS:
            raise ValueError(
                f"the horizon {self.start}..{self.end} has {months} months; at most "
                f"{MAX_HORIZON_MONTHS} (50 years)"
            )
        return self


class Scenario(Model):
    """A plant and the venture around it."""

    name: str = Field(min_length=1)
    description: str = ""
    horizon: Horizon = Horizon()
    variants: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="the models built, e.g. SU7, YU7 (each named once)"
    )
    plant: PlantSpec
    venture: VentureConfig | None = None
    uncertainty: list[Uncertainty] = Field(
        default_factory=list, description="parameters drawn per Monte Carlo replication"
    )
    calibration: CalibrationConfig | None = Field(
        None, description="what `evplant calibrate` may learn from the record, and its priors"
    )
    posterior: PosteriorRef | None = Field(
        None, description="a calibration's samples, drawn by `law: posterior` parameters"
    )

    @field_validator("variants")
    @classmethod
    def _named_once(cls, variants: list[str]) -> list[str]:
        twice = sorted({v for v in variants if variants.count(v) > 1})
        if twice:
            raise ValueError(f"each variant is named once; given more than once: {twice}")
        return variants

    @model_validator(mode="before")
    @classmethod
    def _delays(cls, data: Any) -> Any:
        """A phase's ``delay_months`` moves its timeline before anything reads it."""
        return timeline.delay(data)

    @model_validator(mode="after")
    def _timeline(self, info: ValidationInfo) -> Scenario:
        """Construction, trial production, start of production, launches and capex in
        order, and production within the horizon (or before it, for the phases a run's
        state gives: the validation context's ``started_phases``)."""
        started = (info.context or {}).get("started_phases", ())
        invalid("Scenario", timeline.problems(self, tuple(started)))
        return self

    @model_validator(mode="after")
    def _contract_line(self) -> Scenario:
        """A contract's cars are built on a phase of this plant."""
        terms = self.venture.contract if self.venture is not None else None
        names = [p.name for p in self.plant.phases]
        if terms is not None and terms.phase is not None and terms.phase not in names:
            loc = ("venture", "contract", "phase")
            invalid("Scenario", [(loc, f"{terms.phase!r} is not one of the phases {names}",
                                  terms.phase)])
        return self

    @model_validator(mode="after")
    def _posterior_named(self) -> Scenario:
        drawn = [u.path for u in self.uncertainty if u.law == "posterior"]
        if drawn and self.posterior is None:
            raise ValueError(
                f"{', '.join(drawn)}: law posterior needs a posterior: section (its samples)"
            )
        return self

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
