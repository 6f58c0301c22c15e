"""Numbers and labels as a planner reads them: thousands separators, CNY bn, %, months."""

from __future__ import annotations

import calendar
from typing import Any

import numpy as np

from ..months import first_day
from .data import month_index, num

MINUS = "\u2212"  # a true minus sign reads better than a hyphen in tables

# Summary keys with a wording better than the key itself.
LABELS = {
    "scenario": "Scenario",
    "horizon": "Horizon",
    "vehicles_produced": "Vehicles produced",
    "rate_target_per_year": "Target rate (vehicles a year)",
    "first_month_at_target_rate": "First month producing at the target rate",
    "first_month_capacity_at_target_rate": "First month with capacity for the target rate",
    "peak_month_produced": "Best month's output",
    "bottleneck_shop": "Main bottleneck shop",
    "bottleneck_station": "Main bottleneck station",
    "partner": "Engineering partner",
    "in_work_at_end": "Vehicles in work at the end",
    "npv_cny": "Net present value",
    "npv_usd": "Net present value (US$)",
    "lowest_cash_cny": "Lowest cash position",
    "lowest_cash_usd": "Lowest cash position (US$)",
    "lowest_cash_month": "Month of lowest cash",
    "final_cash_cny": "Cash at the end",
    "break_even_month": "Break-even (operating cash flow stays positive)",
    "budget_end_month": "Budget period ends",
    "budget_exhausted_month": "Budget exhausted",
    "cum_investment_usd_at_budget_end": "Investment at the end of the budget period",
    "payback_month": "Payback (cash back to its opening level)",
    "cum_investment_usd": "Cumulative investment",
    "budget_usd": "Investment budget",
    "budget_label": "Budget, as named",
    "brand": "Brand",
    "budget_used_share": "Share of budget used",
    "discount_rate_per_year": "Discount rate (a year)",
    "spent_before_start_cny": "Spent before the run (sunk: in the investment, not the NPV)",
    "capex_before_start_cny": "Capex items dated before the run (paid at its start)",
    "capex_after_end_cny": "Capex items after the horizon (outside the run)",
}


def count(value: Any, digits: int = 0) -> str:
    v = num(value)
    if v is None:
        return "\u2013"
    text = f"{abs(v):,.{digits}f}"
    return f"{MINUS}{text}" if v < 0 and text.strip("0.,") else text


def signed_count(value: Any, digits: int = 0) -> str:
    v = num(value)
    if v is None:
        return "\u2013"
    text = count(v, digits)
    return text if text.startswith(MINUS) or not text.strip("0.,") else f"+{text}"


def money(value: Any, currency: str = "CNY", *, signed: bool = False) -> str:
    """'CNY 22.4 bn', '\u2212US$3.11 bn', 'CNY 512 m'; three significant figures."""
    v = num(value)
    if v is None:
        return "\u2013"
    sign = MINUS if v < 0 else ("+" if signed and v > 0 else "")
    a = abs(v)
    unit = "US$" if currency.upper() == "USD" else f"{currency} "
    for scale, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "m")):
        if a >= scale:
            return f"{sign}{unit}{_sig3(a / scale)} {suffix}"
    return f"{sign}{unit}{a:,.0f}"


def number(value: Any, digits: int = 4) -> str:
    """A plain number as written in a scenario: whole numbers with separators, others
    to ``digits`` significant figures, never in scientific notation."""
    v = num(value)
    if v is None:
        return "\u2013"
    if float(v).is_integer() or abs(v) >= 10**digits:
        return count(v)
    text = np.format_float_positional(abs(v), precision=digits, unique=False,
                                      fractional=False, trim="-")
    return f"{MINUS}{text}" if v < 0 else text


def _sig3(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def pct(value: Any, digits: int = 1, *, signed: bool = False) -> str:
    """A share (0.657) as '65.7%'."""
    v = num(value)
    if v is None:
        return "\u2013"
    text = f"{abs(v) * 100:.{digits}f}%"
    if v < 0:
        return MINUS + text
    return ("+" + text) if signed and v > 0 else text


def month(value: Any, missing: str = "not reached") -> str:
    """'2025-07' -> 'Jul 2025'."""
    if value is None or value == "":
        return missing
    if month_index(str(value)) is None:
        return str(value)
    day = first_day(str(value))
    return f"{calendar.month_abbr[day.month]} {day.year}"


def month_gap(a: Any, b: Any) -> str:
    """How many months later b is than a: '+2 months', '\u22121 month', 'same'."""
    ia = month_index(str(a)) if a else None
    ib = month_index(str(b)) if b else None
    if ia is None or ib is None:
        return "\u2013"
    d = ib - ia
    if d == 0:
        return "same month"
    word = "month" if abs(d) == 1 else "months"
    return f"{'+' if d > 0 else MINUS}{abs(d)} {word}"


def label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    words = key.replace("_cny", "").replace("_usd", " (US$)").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def is_money(key: str) -> str | None:
    """The currency a summary key is in, judged by its name; None if not money."""
    if key.endswith("_usd") or "_usd_" in key:
        return "USD"
    if key.endswith("_cny") or "_cny_" in key:
        return "CNY"
    return None


def is_share(key: str) -> bool:
    """A share or a rate, shown as a percentage: by its name (``*share*``,
    ``*_rate_per_year``, ``discount_rate*``, a ``*growth*`` or ``*change*`` a year)."""
    last = key.rsplit(".", 1)[-1]
    return (
        "share" in last
        or last.endswith("_rate_per_year")
        or last.startswith("discount_rate")
        or (last.endswith("_per_year") and ("growth" in last or "change" in last))
    )


#: words of a key whose number is a ratio or a factor, not a count of cars or orders
FRACTIONAL = ("factor", "ratio", "scale", "appeal", "elasticity", "per_year", "hours", "days")


def is_count(key: str) -> bool:
    """A count (cars, orders, stores, months): shown as a whole number."""
    last = key.rsplit(".", 1)[-1]
    return not (is_money(last) or is_share(last) or "weeks" in last
                or any(w in last for w in FRACTIONAL))


def by_name(key: str, value: Any) -> str:
    """A scenario's number by what the last part of its dotted path says it is: money
    with its unit, shares and rates as %, others to four figures (whole numbers whole);
    never in scientific notation."""
    last = key.rsplit(".", 1)[-1]
    currency = is_money(last)
    if currency:
        return money(value, currency)
    if is_share(last):
        return pct(value)
    return number(value)


def auto(key: str, value: Any) -> str:
    """Format a summary value by what its key says it is."""
    if value is None or value == "":
        return "not reached" if key.endswith("_month") else "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and key == "horizon" and ".." in value:
        a, b = value.split("..", 1)
        return f"{month(a, '?')} \u2013 {month(b, '?')}"
    if isinstance(value, str):
        return month(value) if key.endswith("_month") or key.endswith("_rate") else value
    if isinstance(value, dict):
        return names(value)
    currency = is_money(key)
    if currency:
        return money(value, currency)
    if is_share(key):
        return pct(value)
    v = num(value)
    if v is None:
        return str(value)
    if "weeks" in key:
        return f"{count(v, 1)} weeks"
    if is_count(key):
        return count(v)
    return count(v) if abs(v) >= 100 or float(v).is_integer() else count(v, 2)


def names(value: dict[Any, Any]) -> str:
    """A mapping of named things (the brands) as their names, comma-separated."""
    return ", ".join(
        str(v.get("name") or k) if isinstance(v, dict) else str(k) for k, v in value.items()
    )


def auto_diff(key: str, a: Any, b: Any) -> str:
    """B - A for a summary key, formatted like the values themselves."""
    if isinstance(a, dict) or isinstance(b, dict):
        return "same" if a == b else "changed"
    if isinstance(a, str) or isinstance(b, str) or a is None or b is None:
        if key.endswith("_month") or key.endswith("_rate"):
            return month_gap(a, b)
        return "same" if a == b else "changed"
    va, vb = num(a), num(b)
    if va is None or vb is None:
        return "\u2013"
    d = vb - va
    currency = is_money(key)
    if currency:
        return money(d, currency, signed=True)
    if is_share(key):
        return pct(d, signed=True).replace("%", " pts")
    if "weeks" in key:
        return f"{signed_count(d, 1)} weeks"
    if is_count(key):
        return signed_count(d)
    return signed_count(d) if abs(d) >= 100 or float(d).is_integer() else signed_count(d, 2)
