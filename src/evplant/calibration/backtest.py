"""Backtests: calibrate on the record before an origin, forecast what came after it,
and score the forecast against what the record says.

For each origin the calibration sees only the statements that end before it; the
forecast draws samples from that posterior, simulates each with a fresh seed (the
model's own randomness) over the whole record, and forms P10/P50/P90 of every
statement that starts at or after the origin.  Statements that straddle the origin
are neither fitted nor scored.  The score: each reported figure's relative error at
the median, and how many statements fall inside the central 80% band (a bound counts
as inside when the band reaches it).  An honest forecast holds about 80% inside.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..errors import EvplantError
from ..experiments.executors import make_executor
from ..months import months as month_range
from ..results import jsonable
from ..seeds import child_seed
from .api import Calibrated, calibrate
from .inference import FitJob, StepJob, evaluate, setup
from .likelihood import compile_statements, needed_columns
from .observations import after, period_months

Progress = Callable[[int, int], None]
_FORECAST = 4  # spawn key of the forecasts' seeds under the run's seed
BACKTEST_CSV = "backtest.csv"
BACKTEST_JSON = "backtest.json"


@dataclass
class OriginScore:
    origin: str
    calibration: Calibrated
    rows: list[dict[str, Any]]

    def score(self) -> dict[str, Any]:
        exact = [r for r in self.rows if r["relation"] in ("eq", "approx")]
        bounds = [r for r in self.rows if r["relation"] in ("ge", "le")]
        errors = [abs(r["error"]) for r in exact]
        return {
            "origin": self.origin,
            "fitted_statements": len(self.calibration.posterior.statements),
            "forecast_statements": len(self.rows),
            "reported_figures": len(exact),
            "mean_abs_error": float(np.mean(errors)) if errors else None,
            "reported_within_p10_p90": sum(1 for r in exact if r["within_p10_p90"]),
            "bounds": len(bounds),
            "bounds_within_p10_p90": sum(1 for r in bounds if r["within_p10_p90"]),
            "coverage_p10_p90": (
                sum(1 for r in self.rows if r["within_p10_p90"]) / len(self.rows)
                if self.rows else None
            ),
        }


@dataclass
class Backtest:
    """A finished backtest: one calibration and score per origin."""

    out_dir: Path
    origins: list[OriginScore]
    files: list[Path] = field(default_factory=list)


def backtest(
    scenario: str | Path,
    origins: Sequence[str],
    observed: str | Path | None = None,
    *,
    out_dir: str | Path = Path("runs") / "backtest",
    budget: int = 2000,
    draws: int = 40,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    progress: Progress | None = None,
) -> Backtest:
    """Calibrate before each origin, forecast after it, write the scores.

    Parameters
    ----------
    scenario : str or pathlib.Path
        A scenario with a ``calibration:`` section.
    origins : sequence of str
        Months ``YYYY-MM``; each is calibrated on the statements that end before it.
    observed : str or pathlib.Path, optional
        An observations CSV (default: the scenario's ``calibration.observed``).
    budget, draws : int
        Simulations per calibration; posterior samples forecast per origin.

    Returns
    -------
    Backtest
        Each origin's calibration and scored statements, and the files written.

    Raises
    ------
    EvplantError
        For bad input, or an origin with no statement at or after it.
    """
    if not origins:
        raise EvplantError("give at least one --origin YYYY-MM", field="--origin")
    for o in origins:
        try:
            first, last = period_months(o)
        except ValueError:
            first = last = ""
        if not first or first != last:
            raise EvplantError(f"{o!r} must be a month YYYY-MM", field="--origin")
    if draws < 2:
        raise EvplantError("must be at least 2", field="--draws")
    full = setup(scenario, observed, seed=seed, overrides=overrides)
    for o in origins:  # fail before any simulation on an origin with nothing to score
        if not after(full.statements, o):
            raise EvplantError(f"no observed statement starts at or after {o}", field="--origin")
    out = Path(out_dir)
    total = len(origins) * (budget + draws)
    done = 0

    def part(offset: int) -> Progress | None:
        if progress is None:
            return None
        return lambda d, _n: progress(offset + d, total)

    scores: list[OriginScore] = []
    ex = make_executor(workers, scheduler)
    try:
        for o in origins:
            cal = calibrate(
                scenario, observed, out_dir=out / f"origin-{o}", budget=budget, seed=seed,
                workers=workers, scheduler=scheduler, overrides=overrides,
                name=f"{full.name}-before-{o}", origin=o, progress=part(done), executor=ex,
            )
            done += budget
            rows = _forecast(full.fit, full, cal, o, draws, seed, ex)
            done += draws
            if progress is not None:
                progress(done, total)
            scores.append(OriginScore(o, cal, rows))
    finally:
        ex.close()
    result = Backtest(out, scores)
    result.files = [out / BACKTEST_CSV, out / BACKTEST_JSON]
    atomic.write_text(result.files[0], backtest_csv(scores))
    summary = jsonable({"scenario": full.name, "seed": seed, "budget": budget, "draws": draws,
                        "origins": [s.score() for s in scores]})
    atomic.write_text(result.files[1], json.dumps(summary, indent=2) + "\n")
    return result


def _forecast(
    fit: FitJob, full: Any, cal: Calibrated, origin: str, draws: int, seed: int, ex: Any
) -> list[dict[str, Any]]:
    post = cal.posterior
    ahead = after(full.statements, origin)
    months = month_range(*full.months)
    compiled = compile_statements(ahead, months, full.cfg.observation_model)
    job = FitJob(fit.data, fit.source, fit.params, fit.locs, compiled,
                 tuple(needed_columns(ahead)), fit.seeds)
    pick = np.linspace(0, len(post.latent) - 1, draws).round().astype(int)
    thetas = post.latent[pick]
    seeds = tuple(child_seed(seed, _FORECAST, i) for i in range(draws))
    values = np.full((draws, len(ahead)), np.nan)
    for res in ex.run(evaluate, StepJob(job, thetas, seeds), [[i] for i in range(draws)]):
        for row, i in enumerate(res.ids):
            values[i] = res.values[row, 0]
    q = np.nanquantile(values, [0.1, 0.5, 0.9], axis=0)
    rows = []
    for i, s in enumerate(ahead):
        lo, mid, hi = (float(x) for x in q[:, i])
        inside = (hi >= s.value if s.relation == "ge" else lo <= s.value
                  if s.relation == "le" else lo <= s.value <= hi)
        rows.append({"origin": origin, "period": s.period, "metric": s.metric,
                     "relation": s.relation, "observed": s.value, "p10": lo, "p50": mid,
                     "p90": hi, "error": (mid - s.value) / s.value if s.value else 0.0,
                     "within_p10_p90": inside})
    return rows


def backtest_csv(scores: Sequence[OriginScore]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["origin", "period", "metric", "relation", "observed", "forecast_p10",
                "forecast_p50", "forecast_p90", "error", "within_p10_p90"])
    for sc in scores:
        for r in sc.rows:
            w.writerow([r["origin"], r["period"], r["metric"], r["relation"],
                        f"{r['observed']:.6g}", f"{r['p10']:.6g}", f"{r['p50']:.6g}",
                        f"{r['p90']:.6g}", f"{r['error']:.4f}",
                        "yes" if r["within_p10_p90"] else "no"])
    return buf.getvalue()
