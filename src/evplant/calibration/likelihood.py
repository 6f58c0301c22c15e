"""The observation model: how likely the record is, given what the model did.

Every statement compares one model figure (its metric aggregated over its period, see
:mod:`.observations`) with the reported value, by its relation:

- ``eq``, a reported figure: normal, centred on the model figure, with a standard
  deviation of ``errors.eq`` times the value (shares: ``errors.eq_share``, absolute).
  The error is not only the reporting error (sources differ by a few dozen cars) but
  the model's own: no model of a plant is exact, and a tiny error would let one
  statement dictate the fit;
- ``ge`` / ``le``, a bound ("over 20,000"): censored, the probability that the true
  figure lies beyond the bound, ``Phi((model - bound) / sd)`` with ``sd`` of
  ``errors.bound`` times the bound: flat once the model is clearly past it;
- ``approx``, a press estimate: normal with the wide ``errors.approx``.

A metric can be scaled before the comparison (``metrics.revenue.scale``: a reporting
segment a little wider than the cars) and given its own errors.  Statements are
taken as independent given the model, also where they overlap (a month and its
quarter): overlapping statements are different reports, each with its own error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from ..errors import EvplantError
from ..months import month_number
from .observations import METRICS, Statement


class Errors(BaseModel):
    """Standard deviations of the observation model, relative to the reported value
    (``*_share``: absolute, for metrics that are shares)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    eq: PositiveFloat = Field(0.03, le=1, description="reported figures, relative sd")
    approx: PositiveFloat = Field(0.15, le=2, description="press estimates, relative sd")
    bound: PositiveFloat = Field(0.03, le=1, description="softness of a bound, relative")
    eq_share: PositiveFloat = Field(0.015, le=1, description="reported shares, absolute sd")
    approx_share: PositiveFloat = Field(0.05, le=1, description="estimated shares, absolute sd")
    bound_share: PositiveFloat = Field(0.01, le=1, description="bounds on shares, absolute")


class MetricModel(BaseModel):
    """How one metric of the record relates to the model's figure."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    scale: PositiveFloat = Field(1.0, description="reported = scale x the model's figure")
    errors: Errors | None = Field(None, description="this metric's own errors")


class ObservationModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    errors: Errors = Errors()
    metrics: dict[str, MetricModel] = Field(default_factory=dict)

    def model_post_init(self, _: object) -> None:
        unknown = sorted(set(self.metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; allowed: {', '.join(METRICS)}")


#: The model's monthly columns each metric is made of.
COLUMNS: dict[str, tuple[str, ...]] = {
    "produced": ("produced",),
    "delivered": ("delivered",),
    "revenue": ("revenue",),
    "revenue_cars": ("revenue_cars_cny",),
    "cogs": ("cogs",),
    "gross_margin": ("revenue", "cogs"),
    "operating_result": ("operating_result",),
    "backlog": ("backlog",),
    "wait_weeks": ("wait_weeks",),
}


def needed_columns(statements: Sequence[Statement]) -> list[str]:
    return sorted({c for s in statements for c in COLUMNS[s.metric]})


@dataclass(frozen=True)
class Compiled:
    """Statements as arrays, for one model over ``months`` (``'YYYY-MM'``)."""

    statements: tuple[Statement, ...]
    first: np.ndarray  # int, index of the first month in the run
    last: np.ndarray  # int, inclusive
    value: np.ndarray
    scale: np.ndarray
    sd: np.ndarray
    relation: tuple[str, ...]


def compile_statements(
    statements: Sequence[Statement], months: Sequence[str], model: ObservationModel
) -> Compiled:
    """Place each statement in the run's months; refuse those the run does not cover."""
    if not statements:
        raise EvplantError("no observed statements to calibrate on")
    start = month_number(months[0])
    n = len(months)
    first, last, scale, sd = [], [], [], []
    for s in statements:
        a, b = month_number(s.first) - start, month_number(s.last) - start
        if a < 0 or b >= n:
            raise EvplantError(
                f"{s.period} lies outside the scenario's horizon {months[0]}..{months[-1]}",
                line=s.line,
                field="period",
            )
        mm = model.metrics.get(s.metric, MetricModel())
        err = mm.errors or model.errors
        share = METRICS[s.metric].unit == "share"
        if s.relation in ("ge", "le"):
            rel = err.bound_share if share else err.bound
        else:
            rel = {"eq": err.eq_share, "approx": err.approx_share}[s.relation] if share else {
                "eq": err.eq, "approx": err.approx}[s.relation]
        width = rel if share else rel * max(abs(s.value), 1.0)
        first.append(a)
        last.append(b)
        scale.append(mm.scale)
        sd.append(width)
    return Compiled(
        tuple(statements),
        np.array(first, dtype=np.int64),
        np.array(last, dtype=np.int64),
        np.array([s.value for s in statements]),
        np.array(scale),
        np.array(sd),
        tuple(s.relation for s in statements),
    )


def model_values(compiled: Compiled, monthly: Mapping[str, np.ndarray]) -> np.ndarray:
    """Each statement's model figure (scaled as reported) from monthly columns."""
    out = np.empty(len(compiled.statements))
    for i, s in enumerate(compiled.statements):
        a, b = int(compiled.first[i]), int(compiled.last[i]) + 1
        kind = METRICS[s.metric].kind
        if kind == "flow":
            x = float(np.sum(monthly[COLUMNS[s.metric][0]][a:b]))
        elif kind == "level":
            x = float(monthly[COLUMNS[s.metric][0]][b - 1])
        else:  # gross margin from the period's sums
            revenue = float(np.sum(monthly["revenue"][a:b]))
            cogs = float(np.sum(monthly["cogs"][a:b]))
            x = (revenue - cogs) / revenue if revenue > 0 else 0.0
        out[i] = x * compiled.scale[i]
    return out


def log_likelihoods(compiled: Compiled, values: np.ndarray) -> np.ndarray:
    """Each statement's log-likelihood given the model figures ``values``."""
    # here, not at the top: the scenario's schema imports this module (the observation
    # model's settings), and a run need not pay a quarter of a second for scipy.special
    from scipy.special import log_ndtr

    z = (values - compiled.value) / compiled.sd
    out = np.empty_like(z)
    for i, rel in enumerate(compiled.relation):
        if rel == "ge":
            out[i] = log_ndtr(z[i])
        elif rel == "le":
            out[i] = log_ndtr(-z[i])
        else:
            out[i] = -0.5 * z[i] ** 2 - math.log(compiled.sd[i]) - 0.5 * math.log(2 * math.pi)
    return np.asarray(out)


def log_mean_exp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(mean(exp(x))) along an axis, without overflow; -inf where all are -inf."""
    x = np.asarray(x, dtype=float)
    top = np.max(x, axis=axis, keepdims=True)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.mean(np.exp(x - safe), axis=axis, keepdims=True)) + safe
    return np.squeeze(np.where(np.isfinite(top), out, -np.inf), axis=axis)
