"""Numbers by their unit in every table: `evplant compare` (terminal and compare.html) and
Monte Carlo (terminal and report): shares and rates as %, money with its unit and never
in scientific notation, cars whole; terminal tables wrap rather than cut."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from evplant import cli
from evplant.cli import app
from evplant.experiments.console import stats_table, tornado_tables
from evplant.experiments.report import render_mc
from evplant.experiments.run import run_mc
from evplant.report import fmt
from evplant.report.compare import summary_rows

runner = CliRunner()
SHORT = ["--set", "horizon.end=2024-03", "--quiet"]
SCI = re.compile(r"\d[eE][+-]?\d")
MINUS = "\u2212"


def value_of(text: str) -> float:
    """A formatted figure read back: 'CNY 20.3 bn', '\u2212US$1.2 m', '52.3%', '1,234'."""
    t = text.replace(MINUS, "-").replace(",", "").replace("CNY", "").replace("US$", "")
    scale = 1.0
    for suffix, s in ((" tn", 1e12), (" bn", 1e9), (" m", 1e6), ("%", 0.01), (" pts", 0.01)):
        if t.endswith(suffix):
            t, scale = t[: -len(suffix)], s
    return float(t.replace(" ", "")) * scale


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("runs")
    a, b = root / "a", root / "b"
    for out, extra in ((a, []), (b, ["--set", "venture.finance.discount_rate_per_year=0.08"])):
        done = runner.invoke(app, ["run", "--out", str(out), *SHORT, *extra])
        assert done.exit_code == 0, done.output
    return a, b


def cells(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        parts = [c.strip() for c in re.split(r"[\u2502|\u2503]", line) if c.strip()]
        if len(parts) >= 3:
            rows[parts[0]] = parts[1:]
    return rows


def test_compare_in_the_terminal_and_in_html(
    two_runs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    a, b = two_runs
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    monkeypatch.setattr(cli, "out", Console(width=400, color_system=None))
    wide = runner.invoke(app, ["compare", str(a), str(b)])
    assert wide.exit_code == 0, wide.output
    rows = cells(wide.output)
    # a rate, a share and an amount, read back from the table against the summaries
    rate = rows[fmt.label("discount_rate_per_year")]
    assert rate[:3] == ["10.0%", "8.0%", f"{MINUS}2.0 pts"]
    share = rows[fmt.label("budget_used_share")]
    assert share[0].endswith("%") and value_of(share[0]) == pytest.approx(
        sa["budget_used_share"], abs=5e-4)
    npv = rows[fmt.label("npv_cny")]
    assert npv[0].startswith(("CNY", f"{MINUS}CNY")) and npv[0].endswith((" bn", " m"))
    assert value_of(npv[0]) == pytest.approx(sa["npv_cny"], rel=5e-3)
    assert value_of(npv[1]) == pytest.approx(sb["npv_cny"], rel=5e-3)
    cars = rows[fmt.label("vehicles_produced")]
    assert cars[0] == f"{sa['vehicles_produced']:,.0f}"  # whole cars
    assert rows[fmt.label("brands")][0] == "Xiaomi, Tesla, XPeng"  # names, not a dict
    assert not SCI.search(wide.output)
    # at 80 columns the table wraps: no cell ends in an ellipsis
    monkeypatch.setattr(cli, "out", Console(width=80, color_system=None))
    narrow = runner.invoke(app, ["compare", str(a), str(b)])
    assert narrow.exit_code == 0 and "\u2026" not in narrow.output
    assert max(len(line) for line in narrow.output.splitlines()) <= 80
    # compare.html: the same rows
    page = (b / "compare.html").read_text()
    assert "<td class=\"num\">10.0%</td><td class=\"num\">8.0%</td>" in page
    assert "{&#x27;name&#x27;" not in page and "{'name'" not in page
    headers, body = summary_rows(sa, sb, ("a", "b"))
    assert headers[0] == "Figure" and all(len(r) == 4 for r in body)
    for row in body:
        assert not SCI.search(" ".join(row)), row


def test_a_cars_figure_is_whole_and_a_rate_a_percentage() -> None:
    assert fmt.auto("in_work_at_end", 4610.23) == "4,610"
    assert fmt.auto_diff("in_work_at_end", 4610.0, 4564.23) == f"{MINUS}46"
    assert fmt.auto("final_backlog", 45.77) == "46"
    assert fmt.by_name("venture.market.segments.suv.growth_per_year", 0.0274) == "2.7%"
    assert fmt.by_name("venture.finance.capex.phase2_plant.total_cny", 6.53e9) == "CNY 6.53 bn"
    assert fmt.by_name("plant.phases.phase2.cycle_time_scale", 1.316227766) == "1.316"
    assert fmt.by_name("a.shortage.per_year", 1.2e-5) == "0.000012"
    assert fmt.number(6534524189.38) == "6,534,524,189"


def render(table: Any, width: int) -> str:
    console = Console(width=width, color_system=None, record=True)
    with console.capture() as cap:
        console.print(table)
    return cap.get()


def test_monte_carlo_tables(tmp_path: Path) -> None:
    res = run_mc("beijing-etown", 3, out_dir=tmp_path / "mc", seed=0,
                 overrides=["horizon.end=2024-02"])
    for width in (80, 200):
        text = render(stats_table(res), width) + "".join(
            render(t, width) for t in tornado_tables(res))
        assert "\u2026" not in text and not SCI.search(text)
        assert max(len(line) for line in text.splitlines()) <= width
    wide = cells(render(stats_table(res), 200))
    npv = wide["NPV"]
    assert npv[0].startswith(("CNY", f"{MINUS}CNY")) and value_of(npv[0]) == pytest.approx(
        res.stats["npv_cny"].mean, rel=5e-3)
    assert wide["Produced 2024"][0] == fmt.count(res.stats["produced_2024"].mean)
    page = render_mc(res)
    body = "".join(re.findall(r"<table>.*?</table>", page, flags=re.S))
    assert body.count("<table>") >= 3  # KPIs, a tornado's figures, the parameters
    assert not SCI.search(re.sub(r"<[^>]+>", " ", body))
    row = re.search(r"<td>SUV demand growth</td><td>venture[^<]*</td>.*?</tr>", body, re.S)
    assert row is not None and "triangular(low=\u22123.0%, mode=3.0%, high=8.0%)" in row.group(0)
    capex = re.search(r"<td>phase-2 capex</td><td>venture[^<]*</td>.*?</tr>", body, re.S)
    assert capex is not None and "high=CNY 8.40 bn" in capex.group(0)
