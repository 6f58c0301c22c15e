"""Rolling-origin backtests: what the twin would have said at each quarter's end, and
how that compares with what came, and with what a planner would have guessed.

An origin is the last month the forecast knows (``YYYY-MM``).  The first origin is a
calibration from the priors on the statements that end by it; each later origin is
that posterior with the record up to it assimilated (:mod:`.assimilate`), as a twin
in the plant would have learnt month by month.  At each origin ``draws`` posterior
samples are simulated with fresh seeds over the whole record, and every statement that
starts after the origin is scored (:mod:`.scores`): the median's relative error,
whether the record lies inside P10-P90 (a bound: whether the band reaches it), and the
CRPS relative to the reported figure.  Statements that straddle an origin are neither
fitted nor scored there.

The same statements are scored for the three naive forecasts of :mod:`.baselines`
(the last quarter's level, the same with the change a year earlier, the trend of the
last three months), as point forecasts, so the twin's skill is ``1 - its mean score /
the baseline's`` over the statements both can score.

The model's band carries parameter and simulation noise only.  The structural error
(:mod:`.discrepancy`) is fitted on every origin's reported figures and written to
``discrepancy.yaml`` for the scenario's ``calibration.discrepancy``; its coverage is
judged out of sample: each origin's predictive band is widened by the discrepancy
fitted on the *other* origins' errors only.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..errors import EvplantError
from ..experiments.executors import make_executor
from ..months import month_label, month_number
from ..months import months as month_range
from ..results import jsonable
from ..seeds import child_rng, child_seed
from .api import Calibrated, assimilate, calibrate
from .baselines import naive_forecasts
from .discrepancy import Discrepancy, ErrorRow, fit_discrepancy, horizon_months
from .inference import FitJob, Observed, Setup, StepJob, evaluate, setup
from .likelihood import compile_statements, needed_columns
from .observations import Statement, one_month
from .scores import score_statement

Progress = Callable[[int, int], None]
_FORECAST, _WIDEN = 4, 7  # spawn keys under the run's seed
BACKTEST_CSV = "backtest.csv"
BACKTEST_JSON = "backtest.json"
DISCREPANCY = "discrepancy.yaml"
REPORT = "report.html"
NAIVE = ("naive_last", "naive_seasonal", "naive_trend")


@dataclass
class Row:
    """One statement scored at one origin."""

    origin: str
    stmt: Statement
    horizon: float
    samples: np.ndarray  # the model's figure per draw
    p10: float
    p50: float
    p90: float
    inside: bool
    rel_error: float | None
    score: float
    naive: dict[str, float]  # each baseline's figure (NaN: undefined)
    naive_score: dict[str, float]
    pred: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    pred_inside: bool | None = None


@dataclass
class OriginScore:
    origin: str
    calibration: Calibrated
    rows: list[Row]

    def score(self) -> dict[str, Any]:
        return summarise(self.origin, self.rows,
                         fitted=len(self.calibration.posterior.statements),
                         simulations=self.calibration.posterior.simulations,
                         seconds=self.calibration.posterior.seconds,
                         method=self.calibration.posterior.method)


@dataclass
class Backtest:
    """A finished backtest: each origin's posterior and scored statements."""

    out_dir: Path
    origins: list[OriginScore]
    discrepancy: Discrepancy
    files: list[Path] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        rows = [r for o in self.origins for r in o.rows]
        return summarise("all", rows)


def summarise(origin: str, rows: Sequence[Row], **extra: Any) -> dict[str, Any]:
    """Error, coverage and skill of a set of scored statements."""
    exact = [r for r in rows if r.rel_error is not None]
    out: dict[str, Any] = {"origin": origin, **extra, "scored": len(rows),
                           "reported_figures": len(exact)}
    out["mean_abs_error"] = float(np.mean([abs(r.rel_error or 0) for r in exact])) if exact \
        else None
    out["inside_p10_p90"] = sum(r.inside for r in rows)
    out["coverage_p10_p90"] = out["inside_p10_p90"] / len(rows) if rows else None
    pred = [r for r in rows if r.pred_inside is not None]
    out["coverage_predictive"] = (sum(bool(r.pred_inside) for r in pred) / len(pred)
                                  if pred else None)
    out["mean_score"] = float(np.mean([r.score for r in rows])) if rows else None
    for name in NAIVE:
        both = [r for r in rows if math.isfinite(r.naive_score[name])]
        if not both:
            out[f"skill_vs_{name}"] = None
            out[f"scored_vs_{name}"] = 0
            continue
        twin = float(np.mean([r.score for r in both]))
        naive = float(np.mean([r.naive_score[name] for r in both]))
        out[f"skill_vs_{name}"] = 1.0 - twin / naive if naive > 0 else None
        out[f"scored_vs_{name}"] = len(both)
    return out


def quarter_ends(first: str, last: str) -> list[str]:
    """Every quarter's last month from ``first`` to ``last`` (both 'YYYY-MM')."""
    return [m for m in month_range(first, last) if int(m[5:]) % 3 == 0]


def default_origins(scenario: str | Path, observed: Observed = None,
                    overrides: Sequence[str] = ()) -> list[str]:
    """Every quarter's end from the end of the record's second quarter to the last
    one with something after it."""
    full = setup(scenario, observed, overrides=overrides)
    first, last = full.months
    starts = [month_number(s.first) for s in full.statements]
    begin = min(starts)
    ends = [m for m in quarter_ends(first, last)
            if month_number(m) >= begin + 3 and month_number(m) < month_number(last)]
    if not ends:
        raise EvplantError("the record is too short for a backtest: it needs more than two "
                           "quarters", field="--origin")
    return ends


def _next(month: str) -> str:
    return month_label(month_number(month) + 1)


def backtest(
    scenario: str | Path,
    origins: Sequence[str],
    observed: Observed = None,
    *,
    out_dir: str | Path = Path("runs") / "backtest",
    budget: int = 4000,
    assimilate_budget: int | None = None,
    draws: int = 40,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    progress: Progress | None = None,
) -> Backtest:
    """Calibrate at the first origin, assimilate to each later one, forecast and score.

    Parameters
    ----------
    scenario : str or pathlib.Path
        A scenario with a ``calibration:`` section (the plan: nothing learnt yet).
    origins : sequence of str
        Months ``YYYY-MM``, each the last month its forecast knows.
    observed : path or paths, optional
        The record (default: the scenario's ``calibration.observed``).
    budget, assimilate_budget : int
        Simulations of the first calibration, and of each assimilation (default a
        quarter of ``budget``).
    draws : int
        Posterior samples simulated for each origin's forecast.

    Raises
    ------
    EvplantError
        For bad input, an origin with nothing to fit or nothing to score.
    """
    if not origins:
        raise EvplantError("give at least one --origin YYYY-MM", field="--origin")
    for o in origins:
        one_month(o, "--origin")
    order = sorted(set(origins), key=month_number)
    if draws < 2:
        raise EvplantError("must be at least 2", field="--draws")
    full = setup(scenario, observed, seed=seed, overrides=overrides)
    for o in order:  # fail before any simulation on an origin with nothing to score
        if not [s for s in full.statements if month_number(s.first) > month_number(o)]:
            raise EvplantError(f"no observed statement starts after {o}", field="--origin")
        if not [s for s in full.statements if month_number(s.last) <= month_number(o)]:
            raise EvplantError(f"no observed statement ends by {o}", field="--origin")
    record = full.record  # read once: every origin sees the same statements
    step_budget = assimilate_budget if assimilate_budget is not None else max(budget // 4, 1)
    out = Path(out_dir)
    total = budget + step_budget * (len(order) - 1) + draws * len(order)
    done = 0

    def part(offset: int) -> Progress | None:
        if progress is None:
            return None
        return lambda d, _n: progress(offset + d, total)

    scores: list[OriginScore] = []
    ex = make_executor(workers, scheduler)
    try:
        prev: Calibrated | None = None
        for o in order:
            name = f"{full.name}-at-{o}"
            if prev is None:
                cal = calibrate(scenario, record, out_dir=out / f"origin-{o}", budget=budget,
                                seed=seed, overrides=overrides, name=name, origin=_next(o),
                                progress=part(done), executor=ex)
                done += budget
            else:
                cal = assimilate(prev.out_dir / "scenario.yaml", record,
                                 out_dir=out / f"origin-{o}", budget=step_budget, seed=seed,
                                 name=name, origin=_next(o), progress=part(done), executor=ex)
                done += step_budget
            rows = _forecast(full, cal, o, draws, seed, ex)
            done += draws
            if progress is not None:
                progress(done, total)
            scores.append(OriginScore(o, cal, rows))
            prev = cal
    finally:
        ex.close()
    disc = _widen_out_of_sample(scores, seed)
    result = Backtest(out, scores, disc)
    result.files = [out / BACKTEST_CSV, out / BACKTEST_JSON, out / DISCREPANCY, out / REPORT]
    atomic.write_text(result.files[0], backtest_csv(scores))
    summary = jsonable({"scenario": full.name, "seed": seed, "budget": budget,
                        "assimilate_budget": step_budget, "draws": draws,
                        "origins": [s.score() for s in scores], "all": result.summary(),
                        "discrepancy": disc.model_dump()})
    atomic.write_text(result.files[1], json.dumps(summary, indent=2) + "\n")
    atomic.write_text(result.files[2], discrepancy_yaml(disc, full.name))
    from .backtest_report import render_backtest

    atomic.write_text(result.files[3], render_backtest(result, full.name))
    return result


def _forecast(
    full: Setup, cal: Calibrated, origin: str, draws: int, seed: int, ex: Any
) -> list[Row]:
    post = cal.posterior
    cut = month_number(origin)
    ahead = [s for s in full.statements if month_number(s.first) > cut]
    months = month_range(*full.months)
    fit = full.fit
    compiled = compile_statements(ahead, months, full.cfg.observation_model)
    job = FitJob(fit.data, fit.source, fit.params, fit.locs, compiled,
                 tuple(needed_columns(ahead)), fit.seeds)
    pick = child_rng(seed, _FORECAST, cut).choice(len(post.latent), size=draws, replace=False) \
        if draws <= len(post.latent) else np.arange(draws) % len(post.latent)
    thetas = post.latent[np.sort(pick)]
    seeds = tuple(child_seed(seed, _FORECAST, cut, i) for i in range(draws))
    values = np.full((draws, len(ahead)), np.nan)
    for res in ex.run(evaluate, StepJob(job, thetas, seeds), [[i] for i in range(draws)]):
        for row, i in enumerate(res.ids):
            values[i] = res.values[row, 0]
    rows = []
    for i, s in enumerate(ahead):
        sc = score_statement(s, values[:, i])
        naive = naive_forecasts(full.statements, origin, s)
        figures = {"naive_last": naive.last, "naive_seasonal": naive.seasonal,
                   "naive_trend": naive.trend}
        nscore = {k: (score_statement(s, np.array([v])).score if math.isfinite(v) else math.nan)
                  for k, v in figures.items()}
        rows.append(Row(origin, s, horizon_months(origin, s), values[:, i], sc.p10, sc.p50,
                        sc.p90, sc.inside, sc.rel_error, sc.score, figures, nscore))
    return rows


def _error_rows(rows: Sequence[Row]) -> list[ErrorRow]:
    out = []
    for r in rows:
        if r.stmt.relation != "eq" or not np.isfinite(r.samples).any():
            continue
        out.append(ErrorRow(r.stmt.metric, r.horizon, r.stmt.value, r.p10, r.p50, r.p90))
    return out


def _widen_out_of_sample(scores: Sequence[OriginScore], seed: int) -> Discrepancy:
    """The discrepancy fitted on every origin (returned), and each origin's predictive
    band widened by the one fitted on the other origins only."""
    every = [r for o in scores for r in o.rows]
    disc = fit_discrepancy(_error_rows(every))
    for k, o in enumerate(scores):
        others = [r for j, x in enumerate(scores) if j != k for r in x.rows]
        loo = fit_discrepancy(_error_rows(others)) if len(scores) > 1 else Discrepancy()
        rng = child_rng(seed, _WIDEN, k)
        for r in o.rows:
            wide = loo.widen(r.samples, r.stmt.metric, r.horizon, rng)
            lo, mid, hi = (float(x) for x in np.nanquantile(wide, [0.1, 0.5, 0.9]))
            r.pred = (lo, mid, hi)
            v = r.stmt.value
            r.pred_inside = (hi >= v if r.stmt.relation == "ge" else lo <= v
                             if r.stmt.relation == "le" else lo <= v <= hi)
    return disc


def discrepancy_yaml(disc: Discrepancy, name: str) -> str:
    import yaml

    head = (f"# The structural error of {name}'s forecasts, fitted by `evplant backtest` on\n"
            "# its rolling-origin errors: paste under the scenario's calibration: section.\n")
    return head + yaml.safe_dump({"discrepancy": disc.model_dump()}, sort_keys=False)


def _num(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return ""
    return f"{x:.6g}"


def backtest_csv(scores: Sequence[OriginScore]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["origin", "period", "metric", "relation", "value", "p10", "p50", "p90",
                "inside", "score", *NAIVE, "horizon_months", "rel_error", "predictive_p10",
                "predictive_p50", "predictive_p90", "predictive_inside"])
    for sc in scores:
        for r in sc.rows:
            w.writerow([r.origin, r.stmt.period, r.stmt.metric, r.stmt.relation,
                        _num(r.stmt.value), _num(r.p10), _num(r.p50), _num(r.p90),
                        "yes" if r.inside else "no", f"{r.score:.5f}",
                        *(_num(r.naive[k]) for k in NAIVE), f"{r.horizon:g}",
                        "" if r.rel_error is None else f"{r.rel_error:.4f}",
                        *(_num(x) for x in r.pred),
                        "" if r.pred_inside is None else ("yes" if r.pred_inside else "no")])
    return buf.getvalue()
