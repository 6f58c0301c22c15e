"""Uncertain scenario parameters: each a dotted path and a probability law.

A Monte Carlo replication draws one value per uncertain parameter and sets it into
the scenario (as ``--set`` would), so any number in a scenario can be made uncertain.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..base import Model


class Uncertainty(Model):
    path: str = Field(min_length=1, description="dotted path of the value, as for --set")
    label: str = Field("", description="a short name for tables and the tornado chart")
    law: Literal["uniform", "triangular", "normal", "lognormal", "posterior"] = Field(
        "triangular",
        description="posterior: drawn jointly from the scenario's posterior samples",
    )
    low: float | None = Field(None, description="uniform/triangular: the lowest value")
    mode: float | None = Field(None, description="triangular: the most likely value")
    high: float | None = Field(None, description="uniform/triangular: the highest value")
    mean: float | None = Field(None, description="normal/lognormal: the mean")
    sd: float | None = Field(None, gt=0, description="normal/lognormal: standard deviation")
    integer: bool = Field(False, description="round draws to whole numbers")

    @model_validator(mode="after")
    def _params(self) -> Uncertainty:
        need = {
            "posterior": (),
            "uniform": ("low", "high"),
            "triangular": ("low", "mode", "high"),
            "normal": ("mean", "sd"),
            "lognormal": ("mean", "sd"),
        }[self.law]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"law {self.law} needs {', '.join(missing)}")
        if self.law in ("uniform", "triangular"):
            lo, hi = self.low, self.high
            assert lo is not None and hi is not None
            if not lo < hi:
                raise ValueError("needs low < high")
            if self.law == "triangular" and not (lo <= (self.mode or lo) <= hi):
                raise ValueError("needs low <= mode <= high")
        if self.law == "lognormal" and (self.mean or 0) <= 0:
            raise ValueError("lognormal needs mean > 0")
        return self

    @property
    def name(self) -> str:
        return self.label or self.path

    def median(self) -> float:
        """The law's median, the centre of what Monte Carlo draws (rounded where draws
        are): what a single run uses. Closed forms, so a run needs no scipy; the tests
        check them against ``ppf(0.5)``."""
        if self.law == "posterior":
            raise ValueError(f"{self.path}: a posterior parameter's median is its samples'")
        if self.law == "uniform":
            assert self.low is not None and self.high is not None
            x = (self.low + self.high) / 2
        elif self.law == "triangular":
            lo, hi, mo = self.low, self.high, self.mode
            assert lo is not None and hi is not None and mo is not None
            if (mo - lo) / (hi - lo) >= 0.5:
                x = lo + math.sqrt((hi - lo) * (mo - lo) / 2)
            else:
                x = hi - math.sqrt((hi - lo) * (hi - mo) / 2)
        elif self.law == "normal":
            assert self.mean is not None
            x = self.mean
        else:
            assert self.mean is not None and self.sd is not None
            x = self.mean / math.sqrt(1 + (self.sd / self.mean) ** 2)  # exp(mu)
        return float(round(x)) if self.integer else float(x)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values at probabilities u (inverse CDF), so draws can use common random numbers."""
        from scipy import stats  # lazily: a second to import, and `evplant run` needs none

        if self.law == "posterior":
            raise ValueError(f"{self.path}: a posterior parameter is drawn from its samples")
        if self.law == "uniform":
            x = stats.uniform(self.low, self.high - self.low).ppf(u)  # type: ignore[operator]
        elif self.law == "triangular":
            lo, hi, mo = self.low, self.high, self.mode
            assert lo is not None and hi is not None and mo is not None
            x = stats.triang((mo - lo) / (hi - lo), loc=lo, scale=hi - lo).ppf(u)
        elif self.law == "normal":
            x = stats.norm(self.mean, self.sd).ppf(u)
        else:
            assert self.mean is not None and self.sd is not None
            s2 = np.log1p((self.sd / self.mean) ** 2)
            x = stats.lognorm(np.sqrt(s2), scale=self.mean * np.exp(-s2 / 2)).ppf(u)
        return np.round(x) if self.integer else np.asarray(x, dtype=float)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of the law at ``x`` (-inf outside its support): a prior.

        Closed forms in numpy (a calibration evaluates thousands of priors; building a
        scipy.stats law each time cost 5 ms); the tests check them against scipy.stats."""
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.law == "uniform":
                lo, hi = self.low, self.high
                assert lo is not None and hi is not None
                inside = (x >= lo) & (x <= hi)
                return np.where(inside, -np.log(hi - lo), -np.inf)
            if self.law == "triangular":
                lo, hi, mo = self.low, self.high, self.mode
                assert lo is not None and hi is not None and mo is not None
                rise = np.where(mo > lo, 2 * (x - lo) / ((hi - lo) * (mo - lo) or 1.0), np.inf)
                fall = np.where(hi > mo, 2 * (hi - x) / ((hi - lo) * (hi - mo) or 1.0), np.inf)
                pdf = np.where(x < mo, rise, np.where(x > mo, fall, 2 / (hi - lo)))
                pdf = np.where((x >= lo) & (x <= hi), pdf, 0.0)
                return np.asarray(np.log(pdf))
            if self.law == "normal":
                assert self.mean is not None and self.sd is not None
                z = (x - self.mean) / self.sd
                return np.asarray(-0.5 * z**2 - np.log(self.sd) - 0.5 * np.log(2 * np.pi))
            if self.law == "lognormal":
                assert self.mean is not None and self.sd is not None
                s2 = float(np.log1p((self.sd / self.mean) ** 2))
                mu = float(np.log(self.mean)) - s2 / 2
                lx = np.log(np.where(x > 0, x, np.nan))
                out = -((lx - mu) ** 2) / (2 * s2) - lx - 0.5 * np.log(2 * np.pi * s2)
                return np.asarray(np.where(x > 0, out, -np.inf))
        raise ValueError(f"{self.path}: a posterior parameter has no prior density")
