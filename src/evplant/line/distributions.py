"""Time distributions for cycle times, failures and repairs.

Each distribution is a pydantic model (so line files and scenarios validate it) that
can sample with a NumPy ``Generator`` (processing times, drawn in vectorised chunks)
and encode itself as ``(family, p0, p1, p2)`` for the counter-based draws of
failures inside the compiled kernel (``evplant.line.draws``).

Every distribution is parameterised the way plant engineers state times: a mean and
a coefficient of variation (cv) where the family allows it.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator, model_validator

from ..base import check_magnitude

DETERMINISTIC, EXPONENTIAL, LOGNORMAL, GAMMA, TRIANGULAR, UNIFORM, WEIBULL, EMPIRICAL = range(8)


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _magnitude(cls, value: object) -> object:
        return check_magnitude(value)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def encode(self) -> tuple[int, float, float, float]:  # pragma: no cover
        raise NotImplementedError

    def scaled(self, factor: float) -> Dist:
        """The same shape with every time multiplied by ``factor`` (learning curves)."""
        raise NotImplementedError  # pragma: no cover


class Deterministic(_Dist):
    dist: Literal["deterministic"] = "deterministic"
    value: PositiveFloat = Field(description="the time, seconds")

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    def encode(self) -> tuple[int, float, float, float]:
        return DETERMINISTIC, self.value, 0.0, 0.0

    def scaled(self, factor: float) -> Deterministic:
        return Deterministic(value=self.value * factor)


class Exponential(_Dist):
    dist: Literal["exponential"] = "exponential"
    mean: PositiveFloat = Field(description="mean time, seconds")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean, n)

    def encode(self) -> tuple[int, float, float, float]:
        return EXPONENTIAL, self.mean, 0.0, 0.0

    def scaled(self, factor: float) -> Exponential:
        return Exponential(mean=self.mean * factor)


class _MeanCv(_Dist):
    mean: PositiveFloat = Field(description="mean time, seconds")
    cv: float = Field(gt=0, le=10, description="coefficient of variation (std / mean)")

    def scaled(self, factor: float) -> Dist:
        return type(self)(mean=self.mean * factor, cv=self.cv)  # type: ignore[return-value]


class Lognormal(_MeanCv):
    dist: Literal["lognormal"] = "lognormal"

    def _mu_sigma(self) -> tuple[float, float]:
        sigma2 = math.log1p(self.cv**2)
        return math.log(self.mean) - 0.5 * sigma2, math.sqrt(sigma2)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        mu, sigma = self._mu_sigma()
        return rng.lognormal(mu, sigma, n)

    def encode(self) -> tuple[int, float, float, float]:
        mu, sigma = self._mu_sigma()
        return LOGNORMAL, mu, sigma, 0.0


class Gamma(_MeanCv):
    dist: Literal["gamma"] = "gamma"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean / shape, n)

    def encode(self) -> tuple[int, float, float, float]:
        shape = 1.0 / self.cv**2
        return GAMMA, shape, self.mean / shape, 0.0


class Triangular(_Dist):
    dist: Literal["triangular"] = "triangular"
    min: float = Field(ge=0, description="shortest time, seconds")
    mode: float = Field(description="most likely time, seconds")
    max: PositiveFloat = Field(description="longest time, seconds")

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.min <= self.mode <= self.max) or self.min == self.max:
            raise ValueError("triangular needs min <= mode <= max and min < max")
        return self

    @property
    def mean(self) -> float:
        return (self.min + self.mode + self.max) / 3.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.min, self.mode, self.max, n)

    def encode(self) -> tuple[int, float, float, float]:
        return TRIANGULAR, self.min, self.mode, self.max

    def scaled(self, factor: float) -> Triangular:
        return Triangular(min=self.min * factor, mode=self.mode * factor, max=self.max * factor)


class Uniform(_Dist):
    dist: Literal["uniform"] = "uniform"
    min: float = Field(ge=0, description="shortest time, seconds")
    max: PositiveFloat = Field(description="longest time, seconds")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.min < self.max:
            raise ValueError("uniform needs min < max")
        return self

    @property
    def mean(self) -> float:
        return (self.min + self.max) / 2.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.min, self.max, n)

    def encode(self) -> tuple[int, float, float, float]:
        return UNIFORM, self.min, self.max, 0.0

    def scaled(self, factor: float) -> Uniform:
        return Uniform(min=self.min * factor, max=self.max * factor)


class Weibull(_Dist):
    """Weibull by mean and shape: the usual law for times to failure."""

    dist: Literal["weibull"] = "weibull"
    mean: PositiveFloat = Field(description="mean time, seconds")
    shape: float = Field(gt=0.1, le=20, description="Weibull shape k (1 = exponential)")

    def _scale(self) -> float:
        return self.mean / math.gamma(1.0 + 1.0 / self.shape)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self._scale() * rng.weibull(self.shape, n)

    def encode(self) -> tuple[int, float, float, float]:
        return WEIBULL, self._scale(), self.shape, 0.0

    def scaled(self, factor: float) -> Weibull:
        return Weibull(mean=self.mean * factor, shape=self.shape)


class Empirical(_Dist):
    """Resample observed times with equal weight (e.g. from a time study)."""

    dist: Literal["empirical"] = "empirical"
    samples: list[PositiveFloat] = Field(min_length=1, description="observed times, seconds")

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.choice(np.asarray(self.samples, dtype=np.float64), n)

    def encode(self) -> tuple[int, float, float, float]:
        # the kernel's draws look the samples up in a side table; see draws.FailureTable
        return EMPIRICAL, 0.0, float(len(self.samples)), 0.0

    def scaled(self, factor: float) -> Empirical:
        return Empirical(samples=[s * factor for s in self.samples])


Dist = Annotated[
    Deterministic | Exponential | Lognormal | Gamma | Triangular | Uniform | Weibull | Empirical,
    Field(discriminator="dist"),
]
