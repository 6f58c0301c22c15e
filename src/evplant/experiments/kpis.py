"""A replication's KPIs: one flat dict of floats, plus its monthly paths for fan charts.

Months are numbers so they can be averaged and ranked: :func:`evplant.months.month_number`
as a float (``2025-09`` is 20.0), NaN when the run never got there;
:func:`evplant.months.month_label` turns them back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..months import month_label, month_number
from ..run import RunResult

# monthly columns kept per replication for the fan charts (those present in a run)
PATHS = ("produced", "delivered", "revenue", "cogs", "cash")
MONTH_KPIS = ("month_at_target_rate", "break_even_month")


def month_value(label: str | None) -> float:
    """'2025-09' -> 20.0; None (never reached) -> NaN."""
    return float(month_number(label)) if label else math.nan


def is_month(kpi: str) -> bool:
    return kpi in MONTH_KPIS or kpi.endswith("_month")


def kpi_names(months: Sequence[str], venture: bool) -> list[str]:
    """The KPI columns of a run over ``months``, in table order."""
    years = sorted({m[:4] for m in months})
    names = [f"produced_{y}" for y in years]
    if venture:
        names += [f"delivered_{y}" for y in years]
    names += ["produced_total"]
    if venture:
        names += ["delivered_total"]
    names += ["month_at_target_rate"]
    if venture:
        names += ["npv_cny", "lowest_cash_cny", "break_even_month", "investment_usd"]
    return names


def path_names(venture: bool) -> list[str]:
    return [p for p in PATHS if venture or p == "produced"]


def kpis(result: RunResult, venture: bool) -> dict[str, float]:
    """The KPIs of one run, in the order of :func:`kpi_names`."""
    months = [str(row["month"]) for row in result.monthly]
    s = result.summary
    by_year = s.plant["produced_by_year"]
    out: dict[str, float] = {}
    years = sorted({m[:4] for m in months})
    delivered = _by_year(result.monthly, "delivered") if venture else {}
    for y in years:
        out[f"produced_{y}"] = _f(by_year.get(y))
    for y in years if venture else ():
        out[f"delivered_{y}"] = delivered.get(y, 0.0)
    out["produced_total"] = float(sum(float(r["produced"]) for r in result.monthly))
    if venture:
        out["delivered_total"] = float(sum(float(r.get("delivered", 0.0)) for r in result.monthly))
    out["month_at_target_rate"] = month_value(s.get("first_month_at_target_rate"))
    if venture:
        out["npv_cny"] = _f(s.get("npv_cny"))
        out["lowest_cash_cny"] = _f(s.get("lowest_cash_cny"))
        out["break_even_month"] = month_value(s.get("break_even_month"))
        # the parent's investment by the horizon's end: the spend before the run plus
        # the deepest the cash fell (what an investment budget caps)
        out["investment_usd"] = _f(s.get("cum_investment_usd"))
    return out


def paths(result: RunResult, venture: bool) -> dict[str, np.ndarray]:
    """Monthly ``produced`` (and ``delivered``, ``cash`` with a venture), float64."""
    return {
        name: np.array([_f(row.get(name)) for row in result.monthly], dtype=np.float64)
        for name in path_names(venture)
    }


def _by_year(rows: Sequence[dict[str, Any]], key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in rows:
        y = str(row["month"])[:4]
        out[y] = out.get(y, 0.0) + _f(row.get(key), 0.0)
    return out


def _f(value: Any, default: float = math.nan) -> float:
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def label(kpi: str) -> str:
    """A KPI's name as a planner reads it."""
    fixed = {
        "produced_total": "Produced, whole horizon",
        "delivered_total": "Delivered, whole horizon",
        "month_at_target_rate": "First month at the target rate",
        "npv_cny": "NPV",
        "lowest_cash_cny": "Lowest cash",
        "break_even_month": "Break-even month",
        "investment_usd": "Investment",
    }
    if kpi in fixed:
        return fixed[kpi]
    for prefix, word in (("produced_", "Produced"), ("delivered_", "Delivered")):
        if kpi.startswith(prefix):
            return f"{word} {kpi[len(prefix) :]}"
    return kpi.replace("_", " ").capitalize()


def fmt(kpi: str, value: float, *, diff: bool = False) -> str:
    """A KPI's value as text: CNY bn, vehicles, months ('2025-09', or '+1.5 months')."""
    # here, not at the top: the report package loads plotly, which workers never need
    from ..report.fmt import count, money, signed_count

    if value is None or math.isnan(value):
        return "\u2013"
    if is_month(kpi):
        if diff:
            return f"{signed_count(value, 1)} months" if math.isfinite(value) else "\u2013"
        return month_label(value)
    if not math.isfinite(value):
        return "\u2013"
    if kpi.endswith("_cny"):
        return money(value, "CNY", signed=diff)
    if kpi.endswith("_usd"):
        return money(value, "USD", signed=diff)
    return signed_count(value) if diff else count(value)


def fmt_range(kpi: str, low: float, high: float, *, diff: bool = False) -> str:
    """'a \u2013 b', or a dash when the interval is undefined (fewer than 2 values)."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "\u2013"
    a, b = fmt(kpi, low, diff=diff), fmt(kpi, high, diff=diff)
    if kpi.endswith("_cny") and a.split()[-1] == b.split()[-1] and "CNY " in b:
        # 'CNY 1.2 bn' and 'CNY 3.4 bn' -> 'CNY 1.2 \u2013 3.4 bn': narrower columns
        a, b = a.rsplit(" ", 1)[0], b.replace("CNY ", "", 1)
    return f"{a} \u2013 {b}"
