"""Stochastic episodes: spells of lost supply or closed markets.

A chip shortage, a supplier's fire, a market closed by politics: each is an episode
that starts at random, lasts some months and takes away a share (its depth) of
something.  One model serves all of them:

- starts: each month an episode starts with probability ``1 - exp(-per_year / 12)``
  (a Poisson process seen month by month, at most one new start a month);
- depth: uniform between ``depth_min`` and ``depth_max`` (share lost, 0..1);
- duration: geometric on 1, 2, ... months with mean ``duration_months``.

Overlapping episodes combine as independent losses: ``1 - prod(1 - depth)``.

Every month draws exactly three uniforms whatever happens, and each quantity comes
from its own uniform by inversion.  Two scenarios that differ only in frequency or
depth therefore see the same episodes where they overlap (coupled draws), so "deeper
shortage, fewer kits" holds run by run and not only on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator

from .common import VentureModel


class Episodes(VentureModel):
    """How often episodes start, how deep they cut and how long they last."""

    per_year: float = Field(default=0.0, ge=0, le=12, description="expected starts per year")
    depth_min: float = Field(default=0.0, ge=0, le=1, description="smallest share lost (0..1)")
    depth_max: float = Field(default=0.0, ge=0, le=1, description="largest share lost (0..1)")
    duration_months: float = Field(default=1.0, ge=1, le=120, description="mean length, months")

    @model_validator(mode="after")
    def _ordered(self) -> Episodes:
        if self.depth_min > self.depth_max:
            raise ValueError("depth_min must not exceed depth_max")
        return self


@dataclass(frozen=True)
class EpisodeState:
    """Episodes under way: (depth, months still to run including this one)."""

    active: tuple[tuple[float, int], ...] = ()


def geom_ppf(q: float, p: float) -> float:
    """The smallest k >= 1 with P(K <= k) >= q for a geometric K on 1, 2, ... with
    success chance p (0 < p < 1), q in [0, 1): the formula of ``scipy.stats.geom.ppf``,
    step for step, so the draws are the same, without importing scipy.stats."""
    if q == 0.0:
        return 0.0
    vals = np.ceil(np.log1p(-q) / np.log1p(-p))
    below = -np.expm1(np.log1p(-p) * (vals - 1))  # P(K <= vals - 1)
    return float(vals - 1 if below >= q and vals > 0 else vals)


def step_episodes(
    cfg: Episodes, state: EpisodeState, rng: np.random.Generator
) -> tuple[EpisodeState, float, bool]:
    """One month: returns (state for next month, depth this month, whether one started)."""
    u_start, u_depth, u_length = rng.random(3)
    active = list(state.active)
    started = bool(u_start < -np.expm1(-cfg.per_year / 12.0))
    if started:
        depth = cfg.depth_min + u_depth * (cfg.depth_max - cfg.depth_min)
        # geometric on 1, 2, ...: the chance of ending is the same every month
        length = 1
        if cfg.duration_months > 1.0:
            length = int(geom_ppf(u_length, 1.0 / cfg.duration_months))
        active.append((float(depth), max(1, min(length, 1200))))
    depth_now = 1.0 - float(np.prod([1.0 - d for d, _ in active])) if active else 0.0
    after = tuple((d, n - 1) for d, n in active if n > 1)
    return EpisodeState(after), depth_now, started
