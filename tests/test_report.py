"""The HTML reports: self-contained, offline, complete, and robust to missing columns."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from plotly.offline import get_plotlyjs

from evplant.report import fmt, render_compare, render_run

SHOPS = ["die-casting", "stamping", "body", "paint", "battery-pack", "general-assembly"]
PLANT_HEADINGS = [
    "Production and capacity",
    "Ramp-up",
    "Shops and bottleneck",
    "OEE and losses",
    "Key figures",
]
VENTURE_HEADINGS = [
    "Supply shortfalls",
    "Orders, backlog and waiting time",
    "Stores and sales capacity",
    "Market share",
    "Cash and investment",
]


def month_of(t: int) -> str:
    return f"{2024 + t // 12}-{t % 12 + 1:02d}"


def plant_row(t: int) -> dict[str, Any]:
    """A plausible month: phase 1 ramps from month 1, phase 2 opens in month 12."""
    row: dict[str, Any] = {"month": month_of(t)}
    total_p = total_c = 0.0
    for p, start in (("phase1", 1), ("phase2", 12)):
        on = t >= start
        age = max(0, t - start)
        cap = 15000.0 * min(1.0, 0.3 + 0.1 * age) if on else 0.0
        made = 0.85 * cap
        row |= {
            f"produced_{p}": made,
            f"capacity_{p}": cap,
            f"working_hours_{p}": 336.0 if on else 0.0,
            f"shifts_{p}": 2.0 if on else 0.0,
            f"shift_hours_{p}": 8.0 if on else 0.0,
            # Before a phase opens its factor sits at the untrained value, as in a run.
            f"cycle_factor_{p}": 1.0 + 0.7 * 0.8**age,
            f"in_work_{p}": 1000.0 if on else 0.0,
            f"started_{p}": made + 50 if on else 0.0,
        }
        total_p += made
        total_c += cap
    row |= {
        "produced": total_p,
        "capacity": total_c,
        "started": total_p + 100,
        "produced_SU7": total_p * 0.6,
        "produced_YU7": total_p * 0.4,
    }
    if t >= 1:  # shop figures start with production, as in a real run
        for i, s in enumerate(SHOPS):
            a, perf, q = 0.95 - 0.01 * i, 0.6 + 0.015 * t, 0.9
            row |= {
                f"util_{s}": 0.6 + 0.04 * i,
                f"blocked_{s}": 0.1,
                f"starved_{s}": 0.1 - 0.01 * i,
                f"failed_{s}": 0.03,
                f"availability_{s}": a,
                f"performance_{s}": min(perf, 0.95),
                f"quality_{s}": q,
                f"oee_{s}": a * min(perf, 0.95) * q,
            }
    row["bottleneck_shop"] = "" if t == 0 else ("stamping" if t < 3 else "paint")
    row["bottleneck_station"] = "" if t == 0 else f"{row['bottleneck_shop']}/main"
    return row


def venture_columns(t: int, produced: float) -> dict[str, Any]:
    return {
        "delivered": produced,
        "backlog": 5000.0 + 300 * t,
        "wait_weeks": 4.0 + 0.2 * t,
        "kits_short": 800.0 if 4 <= t < 8 else 0.0,
        "orders": produced * 1.1,
        "cancelled": 50.0,
        "stores": 20.0 * t,
        "sales_capacity": 3000.0 * t,
        "share_own": 0.002 * t,
        "share_tesla": 0.25,
        "share_xpeng": 0.05,
        "export_orders": 0.0,
        "contract_units": 0.0,
        "chip_price_factor": 1.5 if 4 <= t < 10 else 1.0,
        "revenue": produced * 220_000.0,
        "cost": produced * 180_000.0,
        "opex": 7e8,
        "capex": 4e8 if t < 12 else 1e8,
        "cash": -1e9 * t,
        "cum_investment_usd": 2.5e9 + 1.5e8 * t,
    }


def synthetic(months: int = 24, *, venture: bool = False) -> tuple[list[dict[str, Any]], dict]:
    rows = [plant_row(t) for t in range(months)]
    if venture:
        for t, row in enumerate(rows):
            row |= venture_columns(t, row["produced"])
    by_year: dict[str, float] = {}
    cap_year: dict[str, float] = {}
    for r in rows:
        by_year[r["month"][:4]] = by_year.get(r["month"][:4], 0.0) + r["produced"]
        cap_year[r["month"][:4]] = cap_year.get(r["month"][:4], 0.0) + r["capacity"]
    summary: dict[str, Any] = {
        "scenario": "synthetic",
        "horizon": f"{rows[0]['month']}..{rows[-1]['month']}",
        "vehicles_produced": sum(r["produced"] for r in rows),
        "produced_by_year": by_year,
        "capacity_by_year": cap_year,
        "rate_target_per_year": 300_000,
        "first_month_at_target_rate": "2025-03",
        "first_month_capacity_at_target_rate": "2025-01",
        "peak_month_produced": max(r["produced"] for r in rows),
        "bottleneck_shop": "paint",
        "bottleneck_station": "paint/main",
        "bottleneck_shop_months": {"paint": months - 3, "stamping": 2},
        "partner": "Great Wall Motor",
    }
    if venture:
        summary |= {
            "npv_cny": -2.24e10,
            "lowest_cash_cny": -2.3e10,
            "lowest_cash_month": rows[-1]["month"],
            "break_even_month": None,
            "cum_investment_usd": 6.1e9,
            "budget_usd": 1e10,
            "discount_rate_per_year": 0.1,
        }
    return rows, summary


# Real <script src> / <link href> tags, and any other src/href in the markup. The
# bodies of inline scripts are cut out first: plotly.js itself holds strings such as
# `t.href="https://plotly.com/"` that are code, never loaded by the page.
SCRIPT_BODY = re.compile(r"(<script\b[^>]*>).*?(</script\s*>)", re.IGNORECASE | re.DOTALL)
ATTR = re.compile(r"""\b(src|href)\s*=\s*["']?\s*([^"'\s>]*)""", re.IGNORECASE)


def external_refs(html: str) -> list[str]:
    markup = SCRIPT_BODY.sub(r"\1\2", html)
    return [value for _, value in ATTR.findall(markup) if re.match(r"(https?:)?//", value, re.I)]


def assert_offline(html: str) -> None:
    assert external_refs(html) == []
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html, re.IGNORECASE)
    assert not re.search(r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(https?:)?//", html, re.IGNORECASE)
    # Exactly one copy of plotly.js, inline.
    assert html.count("* plotly.js v") == 1
    assert html.count(get_plotlyjs()) == 1


def headings(html: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", html)


@pytest.fixture(scope="module")
def plant_page() -> str:
    rows, summary = synthetic()
    # As read back from summary.json: string keys, None for "not reached".
    summary = json.loads(json.dumps(summary))
    return render_run(rows, summary, title="Synthetic plant")


@pytest.fixture(scope="module")
def venture_page() -> str:
    rows, summary = synthetic(venture=True)
    return render_run(rows, summary, title="Synthetic venture")


def test_offline_check_catches_external_references() -> None:
    assert external_refs('<script src="https://cdn.plot.ly/x.js"></script>') == [
        "https://cdn.plot.ly/x.js"
    ]
    assert external_refs("<link rel=stylesheet href=//fonts.example/x.css>") == [
        "//fonts.example/x.css"
    ]
    assert external_refs('<script>t.href="https://plotly.com/"</script><a href="#x">') == []


def test_plant_page_is_self_contained(plant_page: str) -> None:
    assert plant_page.startswith("<!DOCTYPE html>")
    assert_offline(plant_page)
    assert plant_page.count('class="plotly-graph-div"') >= 5


def test_plant_page_has_every_section(plant_page: str) -> None:
    assert headings(plant_page) == PLANT_HEADINGS
    # Header: scenario, horizon and headline figures, readably formatted.
    assert "Scenario synthetic" in plant_page
    assert "Jan 2024 \u2013 Dec 2025" in plant_page
    assert "Mar 2025" in plant_page
    assert "Great Wall Motor" in plant_page
    assert re.search(r"\d{1,3},\d{3}", plant_page)


def test_venture_page_has_venture_sections(venture_page: str) -> None:
    assert_offline(venture_page)
    assert headings(venture_page) == PLANT_HEADINGS + VENTURE_HEADINGS
    assert "\u2212CNY 22.4 bn" in venture_page  # NPV
    assert "US$10.0 bn" in venture_page  # the budget
    assert "61%" in venture_page  # share of the budget used


def test_missing_and_odd_values_do_not_break_the_page() -> None:
    rows, summary = synthetic(12)
    for row in rows:
        for key in [k for k in row if k.startswith(("oee_", "availability_"))]:
            del row[key]
        row.pop("cycle_factor_phase2", None)
    rows[5]["util_paint"] = math.nan
    rows[6]["capacity"] = None
    rows[7]["bottleneck_shop"] = math.nan
    summary = {"scenario": "bare"}  # a summary with almost nothing in it
    html = render_run(rows, summary, title="Bare")
    assert_offline(html)
    found = headings(html)
    assert "OEE and losses" not in found  # its columns are gone: section left out
    assert "Production and capacity" in found and "Shops and bottleneck" in found
    assert not set(VENTURE_HEADINGS) & set(found)


def test_compare_page_shows_both_runs() -> None:
    a_rows, a_summary = synthetic(venture=True)
    b_rows, b_summary = synthetic(venture=True)
    for row in b_rows:
        row["produced"] *= 1.05
        row["cash"] += 1e9
    b_summary["partner"] = None
    html = render_compare(a_rows, a_summary, "with partner", b_rows, b_summary, "no partner")
    assert_offline(html)
    assert "with partner" in html and "no partner" in html
    found = headings(html)
    assert found[0] == "Production, month by month"
    assert "Cash and revenue" in found and "Summary figures" in found
    assert "B \u2212 A" in html


def test_compare_page_without_venture_or_overlap() -> None:
    a_rows, a_summary = synthetic(12)
    b_rows, b_summary = synthetic(18)
    html = render_compare(a_rows, a_summary, "Run A", b_rows, b_summary, "Run B")
    assert_offline(html)
    assert "Cash and revenue" not in headings(html)
    assert "Run A" in html and "Run B" in html


def test_number_formats() -> None:
    assert fmt.count(1234567.4) == "1,234,567"
    assert fmt.money(-2.2413e10) == "\u2212CNY 22.4 bn"
    assert fmt.money(6.57e9, "USD") == "US$6.57 bn"
    assert fmt.money(5.1e8) == "CNY 510 m"
    assert fmt.pct(0.657) == "65.7%"
    assert fmt.month("2025-07") == "Jul 2025"
    assert fmt.month(None) == "not reached"
    assert fmt.month_gap("2025-07", "2025-09") == "+2 months"
    assert fmt.auto("cum_investment_usd_at_budget_end", 6.5e9) == "US$6.50 bn"
    assert fmt.auto_diff("npv_cny", -2e10, -1.5e10) == "+CNY 5.00 bn"
    assert fmt.auto_diff("budget_used_share", 0.5, 0.6) == "+10.0 pts"


def test_empty_run_and_markup_in_labels() -> None:
    assert_offline(render_run([], {}, title="Nothing yet"))
    rows, summary = synthetic(6)
    html = render_compare(rows, summary, "</script><b>A", rows, summary, "B & co")
    assert_offline(html)
    # Labels are text, never markup: escaped in the page, encoded in figure data.
    assert "</script><b>A" not in html
    assert "&lt;/script&gt;&lt;b&gt;A" in html and "B &amp; co" in html
