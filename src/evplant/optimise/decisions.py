"""Venture decisions: choose values in a scenario to maximise an objective over Monte
Carlo replications.

A decision is a dotted path and a range (``plant.phases.phase2.sop=2025-01..2026-06``,
``plant.phases.line.shifts.0.shifts=1..3``, ``venture.price=180000..230000``): whole
numbers, numbers or months. optuna's TPE sampler proposes values; each proposal is a
``run_mc`` of the scenario with the values set as ``--set`` items, on the same seed
for every proposal, so every proposal meets the same draws of the uncertain
parameters and the same simulation streams (common random numbers: a better value
is better on the same luck). Objectives: the mean NPV, its 10th percentile (a
risk-aware planner's), or the mean output of a year. Two constraints, which TPE takes
as such: a cash floor (every replication's lowest cash at or above it) and an
investment budget (every replication's investment by the parent, the spend before the
run plus the deepest the cash fell, at or below it: a figure in US$, or the venture's
own ``budget_usd``). ``optimise.decisions_report`` draws the search as a page.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import EvplantError
from ..months import month_label, month_number
from ..seeds import child_seed

if TYPE_CHECKING:
    from ..experiments import McResult
    from ..scenario.schema import Scenario

_MONTH = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
_INT = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Decision:
    """One value to choose: ``path`` in ``[low, high]`` (whole numbers, numbers, or
    months counted from the epoch; ``day`` the day of month written for a date)."""

    path: str
    low: float
    high: float
    kind: Literal["int", "float", "month"]
    day: str = ""

    def text(self, x: float) -> str:
        """The value as a ``--set`` item's right-hand side."""
        if self.kind == "month":
            label = month_label(x)
            return f"{label}-{self.day}" if self.day else label
        if self.kind == "int":
            return str(int(x))
        return repr(float(x))


def parse_decision(text: str) -> Decision:
    """``PATH=LOW..HIGH`` as a :class:`Decision`, or one clear error."""
    path, eq, rng = text.partition("=")
    low, dots, high = rng.partition("..")
    path, low, high = path.strip(), low.strip(), high.strip()
    if not eq or not dots or not path or not low or not high:
        raise EvplantError(f"write PATH=LOW..HIGH, got {text!r}", field="--decide")
    if _MONTH.match(low) and _MONTH.match(high):
        day = low[8:10] if len(low) == 10 else ""
        a, b = float(month_number(low)), float(month_number(high))
        kind: Literal["int", "float", "month"] = "month"
    else:
        try:
            a, b = float(low), float(high)
        except ValueError:
            raise EvplantError(f"{path}: LOW and HIGH must be numbers or months (YYYY-MM), "
                               f"got {low!r}..{high!r}", field="--decide") from None
        kind = "int" if _INT.match(low) and _INT.match(high) else "float"
        day = ""
    if not (math.isfinite(a) and math.isfinite(b)) or a >= b:
        raise EvplantError(f"{path}: LOW must be below HIGH, got {low}..{high}",
                           field="--decide")
    return Decision(path, a, b, kind, day)


def objective_kpi(objective: str) -> tuple[str, Literal["mean", "p10"]]:
    """The KPI and statistic an objective reads."""
    if objective == "npv":
        return "npv_cny", "mean"
    if objective == "p10_npv":
        return "npv_cny", "p10"
    m = re.fullmatch(r"output_(\d{4}|total)", objective)
    if m:
        return f"produced_{m.group(1)}", "mean"
    raise EvplantError(f"npv, p10_npv or output_YYYY (or output_total), got {objective!r}",
                       field="--objective")


@dataclass(frozen=True)
class DecisionTrial:
    """One proposal: its values (as set), the objective, the mean and 10th percentile
    of NPV (NaN without a venture), the lowest cash of any replication, the largest
    investment of any replication (US$), feasibility (both constraints met)."""

    values: dict[str, str]
    objective: float
    npv_mean: float
    npv_p10: float
    lowest_cash: float
    feasible: bool
    investment: float = math.nan


@dataclass
class DecisionResult:
    """A decision search: every trial in order, the best feasible one, the convergence
    (best feasible objective after each trial), the trade-off between mean NPV and its
    10th percentile (the trials no other trial beats on both), and the best scenario as
    runnable YAML text."""

    objective: str
    trials: list[DecisionTrial]
    best: DecisionTrial | None
    convergence: list[float]
    best_yaml: str
    replications: int
    seconds: float
    files: list[Path] = field(default_factory=list)
    cash_floor: float | None = None
    max_investment: float | None = None

    @property
    def tradeoff(self) -> list[DecisionTrial]:
        ok = [t for t in self.trials if t.feasible and math.isfinite(t.npv_mean)]
        front = [t for t in ok if not any(
            (o.npv_mean >= t.npv_mean and o.npv_p10 >= t.npv_p10)
            and (o.npv_mean > t.npv_mean or o.npv_p10 > t.npv_p10) for o in ok)]
        return sorted({tuple(t.values.items()): t for t in front}.values(),
                      key=lambda t: -t.npv_mean)

    def to_dict(self) -> dict[str, object]:
        def row(t: DecisionTrial) -> dict[str, object]:
            return {"values": t.values, "objective": t.objective, "npv_mean": _num(t.npv_mean),
                    "npv_p10": _num(t.npv_p10), "lowest_cash": _num(t.lowest_cash),
                    "investment_usd": _num(t.investment), "feasible": t.feasible}

        return {
            "objective": self.objective,
            "replications": self.replications,
            "cash_floor": self.cash_floor,
            "max_investment_usd": self.max_investment,
            "best": None if self.best is None else row(self.best),
            "convergence": [_num(x) for x in self.convergence],
            "tradeoff": [row(t) for t in self.tradeoff],
            "trials": [row(t) for t in self.trials],
            "seconds": self.seconds,
            "files": [str(f) for f in self.files],
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def optimise_scenario(
    scenario: str | Path,
    decisions: Sequence[str],
    *,
    objective: str = "npv",
    replications: int = 8,
    budget: int = 24,
    workers: int = 1,
    scheduler: str | None = None,
    seed: int = 0,
    overrides: Sequence[str] = (),
    cash_floor: float | None = None,
    max_investment: float | str | None = None,
    out_dir: str | Path | None = None,
) -> DecisionResult:
    """Choose decision values to maximise an objective over Monte Carlo replications.

    Parameters
    ----------
    scenario : str or pathlib.Path
        A built-in scenario name or a YAML file; its ``uncertainty:`` list is drawn.
    decisions : sequence of str
        ``PATH=LOW..HIGH`` items: whole numbers, numbers or months (``YYYY-MM``, or
        ``YYYY-MM-DD`` to keep a day).
    objective : str
        ``npv`` (mean), ``p10_npv`` (10th percentile) or ``output_YYYY`` (mean).
    replications : int
        Monte Carlo replications per proposal, the same streams for all.
    budget : int
        Proposals to run.
    workers, scheduler
        As for ``run_mc``; results do not depend on them.
    seed : int
        The Monte Carlo seed (the common random numbers) and the sampler's root.
    overrides : sequence of str
        ``--set`` items applied before the decisions.
    cash_floor : float, optional
        A proposal is feasible only if no replication's cash falls below this (CNY).
    max_investment : float or ``"budget"``, optional
        A proposal is feasible only if no replication's investment (US$) exceeds this;
        ``"budget"``: the venture's ``budget_usd``.
    out_dir : str or pathlib.Path, optional
        Where to write ``best-scenario.yaml``, ``decisions.json`` and ``report.html``.

    Returns
    -------
    DecisionResult
        Trials, the best, convergence, the NPV trade-off and the best scenario's YAML.

    Raises
    ------
    EvplantError
        For a bad decision, objective, range or setting, before anything runs.
    """
    import optuna

    from ..experiments import make_executor, run_mc

    # optuna 5 reads constraints set on the trial; optuna 4 asks a constraints_func
    set_constraint = hasattr(optuna.trial.Trial, "set_constraint")
    from ..scenario.load import prepare

    t0 = time.perf_counter()
    if not decisions:
        raise EvplantError("give at least one --decide PATH=LOW..HIGH", field="--decide")
    decs = [parse_decision(d) for d in decisions]
    if len({d.path for d in decs}) != len(decs):
        raise EvplantError("each path may be decided once", field="--decide")
    kpi, stat = objective_kpi(objective)
    if out_dir is not None:  # a bad --out fails now, not after the search
        from ..outdir import usable

        usable(Path(out_dir))
    for name, value, low in (("replications", replications, 2), ("budget", budget, 1),
                             ("workers", workers, 1), ("seed", seed, 0)):
        if value < low:
            raise EvplantError(f"must be at least {low}, got {value}", field=f"--{name}")
    for ends in ((d.low for d in decs), (d.high for d in decs)):
        sets = [f"{d.path}={d.text(x)}" for d, x in zip(decs, ends, strict=True)]
        base = prepare(scenario, [*overrides, *sets])  # both ends must make a scenario
    if base.scenario.venture is None and (kpi == "npv_cny" or cash_floor is not None
                                          or max_investment is not None):
        raise EvplantError("this scenario has no venture: use --objective output_YYYY and "
                           "neither --cash-floor nor --max-investment", field="--objective")
    cap = _cap(max_investment, base.scenario)
    year = kpi.removeprefix("produced_")
    first, last = str(base.scenario.horizon.start)[:4], str(base.scenario.horizon.end)[:4]
    if year.isdigit() and not first <= year <= last:
        raise EvplantError(f"{year} is outside the horizon {first}..{last}",
                           field="--objective")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=int(child_seed(seed, 10**6).generate_state(1)[0]),
            n_startup_trials=min(8, budget),
            constraints_func=(lambda t: [t.user_attrs["cash_short"], t.user_attrs["over"]])
            if (cash_floor is not None or cap is not None) and not set_constraint else None,
        )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    trials: list[DecisionTrial] = []
    convergence: list[float] = []
    cache: dict[tuple[str, ...], DecisionTrial] = {}
    ex = make_executor(workers, scheduler)
    try:
        with tempfile.TemporaryDirectory(prefix="evplant-decide-") as tmp:
            for k in range(budget):
                trial = study.ask()
                values = {}
                for d in decs:
                    if d.kind == "float":
                        x = trial.suggest_float(d.path, d.low, d.high)
                    else:
                        x = float(trial.suggest_int(d.path, int(d.low), int(d.high)))
                    values[d.path] = d.text(x)
                key = tuple(values.values())
                if key not in cache:
                    mc = run_mc(scenario, replications, seed=seed, executor=ex, report=False,
                                overrides=[*overrides, *(f"{p}={v}" for p, v in values.items())],
                                out_dir=Path(tmp) / f"trial-{k}")
                    cache[key] = _trial(mc, values, kpi, stat, cash_floor, cap)
                t = cache[key]
                # optuna's constraints: feasible where every value is <= 0
                shorts = {"cash_short": 0.0 if cash_floor is None
                          else float(cash_floor - t.lowest_cash),
                          "over": 0.0 if cap is None else float(t.investment - cap)}
                for name, v in shorts.items():
                    trial.set_user_attr(name, v)
                    if set_constraint and (cash_floor is not None or cap is not None):
                        trial.set_constraint(name, v)
                study.tell(trial, t.objective)
                trials.append(t)
                feasible = [x.objective for x in trials if x.feasible]
                convergence.append(max(feasible) if feasible else math.nan)
    finally:
        ex.close()
    ok = [t for t in trials if t.feasible]
    best = max(ok, key=lambda t: t.objective) if ok else None
    best_yaml = ""
    if best is not None:
        import yaml

        chosen = prepare(scenario, [*overrides, *(f"{p}={v}" for p, v in best.values.items())])
        head = (f"# {chosen.scenario.name}: decisions chosen by evplant optimize scenario "
                f"({objective}, {replications} replications, seed {seed}): "
                + ", ".join(f"{p}={v}" for p, v in best.values.items()) + "\n")
        best_yaml = head + yaml.safe_dump(chosen.data, sort_keys=False, allow_unicode=True)
    res = DecisionResult(objective, trials, best, convergence, best_yaml, replications,
                         time.perf_counter() - t0, cash_floor=cash_floor, max_investment=cap)
    if out_dir is not None:
        res.files = _write(Path(out_dir), res)
    return res


def _cap(max_investment: float | str | None, sc: Scenario) -> float | None:
    """The investment cap in US$: as given, or the venture's budget for ``"budget"``."""
    if max_investment is None:
        return None
    if isinstance(max_investment, str):
        if max_investment.strip().lower() == "budget":
            assert sc.venture is not None  # checked by the caller
            return float(sc.venture.finance.budget_usd)
        try:
            max_investment = float(max_investment)
        except ValueError:
            raise EvplantError(f"a number (US$) or 'budget', got {max_investment!r}",
                               field="--max-investment") from None
    if not (max_investment > 0 and math.isfinite(max_investment)):
        raise EvplantError(f"must be a finite number > 0 (US$) or 'budget', got "
                           f"{max_investment}", field="--max-investment")
    return float(max_investment)


def _trial(mc: McResult, values: dict[str, str], kpi: str, stat: str,
           cash_floor: float | None, cap: float | None = None) -> DecisionTrial:
    def col(name: str) -> np.ndarray:
        return np.asarray(mc.kpi(name)) if name in mc.kpi_names else np.full(1, math.nan)

    x = col(kpi)
    value = float(np.percentile(x, 10) if stat == "p10" else x.mean())
    npv = col("npv_cny")
    cash = float(np.min(col("lowest_cash_cny")))
    invest = float(np.max(col("investment_usd")))
    feasible = (cash_floor is None or cash >= cash_floor) and (cap is None or invest <= cap)
    return DecisionTrial(dict(values), value, float(npv.mean()), float(np.percentile(npv, 10)),
                         cash, feasible, invest)


def _write(out: Path, res: DecisionResult) -> list[Path]:
    import json

    from ..atomic import write_text
    from ..outdir import writing
    from .decisions_report import render_decisions

    page = render_decisions(res)
    files = []
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
        if res.best_yaml:
            files.append(out / "best-scenario.yaml")
            write_text(files[-1], res.best_yaml)
        files.append(out / "decisions.json")
        write_text(files[-1], json.dumps(res.to_dict(), indent=2) + "\n")
        files.append(out / "report.html")
        write_text(files[-1], page)
    return files
