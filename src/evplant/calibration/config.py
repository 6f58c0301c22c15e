"""The ``calibration:`` section of a scenario: what may be learnt from the record.

::

    calibration:
      observed: observed/record-2024.csv   # beside the scenario file
      seeds: 2                                    # simulations averaged per evaluation
      parameters:                                 # the priors, as in `uncertainty:`
        - {path: plant.partner.progress_ratio, law: triangular, low: 0.6, mode: 0.7, high: 0.85}
      observation_model:
        errors: {eq: 0.03, approx: 0.15, bound: 0.03}
        metrics:
          revenue: {scale: 1.027}                 # the segment is wider than the cars
      discrepancy:                                # the model's own error (evplant backtest)
        metrics:
          delivered: {sd: 0.05, sd_per_month: 0.03}

Each parameter is a dotted path to a number in the scenario, as for ``--set``, with a
prior law (``uniform``, ``triangular``, ``normal``, ``lognormal``); ``integer: true``
sets the value rounded from a continuous latent.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..scenario.uncertainty import Uncertainty
from .discrepancy import Discrepancy
from .likelihood import ObservationModel


class VintageRef(BaseModel):
    """An earlier forecast: its name and its ``forecast.csv``, relative to the scenario."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=80)
    forecast: str = Field(min_length=1, description="a forecast.csv, relative to the scenario")


class CalibrationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    observed: str | list[str] | None = Field(
        None, description="observations CSV, or a list of them read as one record, relative "
        "to the scenario file (--observed overrides)"
    )
    seeds: int = Field(
        2, ge=1, le=16, description="simulation seeds averaged in each likelihood (common to all)"
    )
    parameters: list[Uncertainty] = Field(min_length=1, description="what is learnt, and priors")
    observation_model: ObservationModel = ObservationModel()
    discrepancy: Discrepancy | None = Field(
        None, description="the model's structural error per metric, growing with the "
        "forecast horizon (fitted by `evplant backtest`): it widens `evplant mc`'s "
        "predictive bands (a fit's own errors are observation_model's)",
    )
    forecast: str | None = Field(
        None, description="this scenario's own forecast (a forecast.csv of `evplant mc`), "
        "relative to the scenario: `evplant run` draws its band behind the run's figures")
    vintages: list[VintageRef] = Field(
        default_factory=list, description="earlier forecasts of this plant (forecast.csv "
        "files of `evplant mc`), drawn beside a Monte Carlo run's own")

    @property
    def observed_files(self) -> list[str]:
        """The record's files, in order (none: the record must be given)."""
        if self.observed is None:
            return []
        return [self.observed] if isinstance(self.observed, str) else list(self.observed)

    @model_validator(mode="after")
    def _priors(self) -> CalibrationConfig:
        paths = [p.path for p in self.parameters]
        dup = sorted({p for p in paths if paths.count(p) > 1})
        if dup:
            raise ValueError(f"parameters listed twice: {', '.join(dup)}")
        posterior = [p.path for p in self.parameters if p.law == "posterior"]
        if posterior:
            raise ValueError(
                f"a prior needs a law with a density, not 'posterior': {', '.join(posterior)}"
            )
        return self


class PosteriorRef(BaseModel):
    """Samples of a calibration, for the ``law: posterior`` parameters of `uncertainty:`."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    file: str = Field(min_length=1, description="posterior.parquet, relative to the scenario")
    fitted_through: str | None = Field(
        None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="the last month of the record the posterior has seen (YYYY-MM): "
        "`evplant assimilate` takes in the statements after it",
    )
