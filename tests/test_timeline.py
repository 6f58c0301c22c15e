"""Dates tied together and against the horizon: refused as documented, moved as
documented, booked (capex before the run) and noted; the timeline chart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.months import month_number
from evplant.records import PhaseMonth, VariantSales
from evplant.report import gantt
from evplant.run import simulate
from evplant.scenario import load_scenario, prepare, timeline
from evplant.scenario.load import validate_scenario

runner = CliRunner()
PLAN = "beijing-etown-2023"
ERROR = re.compile(r"^error: (beijing-etown-2023\.yaml \(built-in\):\d+|--set \S+): (\S+): (.+)$")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        # the case: construction that ends after production starts
        (
            ["plant.phases.phase2.construction.end=2027-06"],
            "plant.phases[1].sop",
            ["not after construction ends (2027-06)", "allowed: from 2027-07-01"],
        ),
        (
            ["plant.phases.phase2.construction.end=2024-01"],
            "plant.phases[1].construction.end",
            ["must not be before its start (2024-07)"],
        ),
        # the case: production moved, the launch left where it was
        (
            ["plant.phases.phase2.sop=2026-01-01"],
            "venture.market.variants.YU7.launch_month",
            ["before YU7's first start of production (2026-01-01, phase2)", "from 2026-01"],
        ),
        (
            ["plant.phases.phase1.trial_production.end=2024-05"],
            "plant.phases[0].trial_production.end",
            ["after start of production (2024-02-20)", "allowed: by 2024-02"],
        ),
        (
            [
                "venture.finance.capex.phase2_land.start_month=2025-09",
                "venture.finance.capex.phase2_land.end_month=2025-09",
            ],
            "venture.finance.capex[1].start_month",
            ["after phase2's start of production (2025-07-01)", "allowed: by 2025-07"],
        ),
        (
            ["venture.finance.capex.sustaining.phase=phase9"],
            "venture.finance.capex[4].phase",
            ["'phase9' is not a phase of the plant (phase1, phase2)"],
        ),
        # production before the horizon: the run cannot start from a producing plant yet
        (
            ["horizon.start=2025-01"],
            "plant.phases[0].sop",
            ["before the horizon's start (2025-01)", "allowed: from 2025-01-01"],
        ),
    ],
)
def test_contradictory_dates_are_refused(
    tmp_path: Path, overrides: list[str], field: str, words: list[str]
) -> None:
    out = tmp_path / "run"
    sets = [x for o in overrides for x in ("--set", o)]
    result = runner.invoke(app, ["run", PLAN, "--out", str(out), "--quiet", *sets])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    m = ERROR.match(lines[0])
    assert m is not None, lines[0]
    assert m.group(2) == field
    for w in words:
        assert w in m.group(3), (w, lines[0])
    assert not out.exists()


def test_the_built_in_timelines_are_consistent() -> None:
    for name in ("beijing-etown", PLAN):
        sc, _ = load_scenario(name)
        assert timeline.problems(sc) == []
        assert timeline.notes(sc) == []  # nothing outside its horizon, nothing moved


def _months(label: str, delta: int) -> str:
    from evplant.months import month_label

    return month_label(month_number(label) + delta)


def test_a_phase_delay_moves_its_timeline_and_what_depends_on_it() -> None:
    base, _ = load_scenario(PLAN)
    late, _ = load_scenario(PLAN, ["plant.phases.phase2.delay_months=6"])
    b2, l2 = base.plant.phases[1], late.plant.phases[1]
    assert (b2.sop, l2.sop) == ("2025-07-01", "2026-01-01")
    assert l2.construction.start == _months(b2.construction.start, 6)
    assert l2.construction.end == _months(b2.construction.end, 6)
    assert [r.start for r in l2.shifts] == ["2026-01-01"]
    assert base.venture is not None and late.venture is not None
    for bi, li in zip(base.venture.finance.capex, late.venture.finance.capex, strict=True):
        d = 6 if bi.phase == "phase2" else 0
        assert li.start_month == _months(bi.start_month, d), bi.name
        assert li.end_month == _months(bi.end_month, d), bi.name
        assert li.monthly()[1] == pytest.approx(bi.monthly()[1])  # same spend, moved
    bm, lm = base.venture.market.variants, late.venture.market.variants
    assert lm["YU7"].launch_month == _months(bm["YU7"].launch_month, 6)
    assert lm["SU7"].launch_month == bm["SU7"].launch_month  # phase 1's, not moved
    # phase 1, the stores and the suppliers' booked capacity are left where they were
    assert late.plant.phases[0] == base.plant.phases[0]
    assert late.venture.channel == base.venture.channel
    assert late.venture.supply == base.venture.supply
    note = timeline.notes(late)[0]
    assert note.startswith("phase2 moved +6 months: start of production 2026-01-01")
    assert "phase2_plant" in note and "the launch of YU7" in note


def test_a_delayed_phase_first_has_capacity_in_its_new_month() -> None:
    def first_capacity(overrides: list[str]) -> str:
        sc, _ = load_scenario(PLAN, ["horizon.end=2026-02", "venture=null", *overrides])
        result = simulate(sc, seed=3, stats=False)
        caps = [(r.month, r.capacity) for r in result.table("phase") if r.phase == "phase2"]
        return next(m for m, c in caps if c > 0)

    assert first_capacity([]) == "2025-07"
    assert first_capacity(["plant.phases.phase2.delay_months=6"]) == "2026-01"


def test_capex_before_the_horizon_is_invested_before_month_one() -> None:
    # the case: CNY 5bn dated before the run used to vanish and NPV improved by 5bn
    prepared = prepare(PLAN, ["horizon.end=2024-06"])
    data = prepared.data
    base = validate_scenario(data, "base")
    data["venture"]["finance"]["capex"].append(
        {"name": "early", "total_cny": 5e9, "start_month": "2023-01", "end_month": "2023-12"}
    )
    early = validate_scenario(data, "early")
    a, b = simulate(base, seed=2), simulate(early, seed=2)
    sa, sb = a.summary.venture, b.summary.venture
    assert sb["capex_before_start_cny"] == pytest.approx(5e9)
    assert sb["npv_cny"] == pytest.approx(sa["npv_cny"] - 5e9, rel=0, abs=1.0)
    cash_a, cash_b = a.column("cash"), b.column("cash")
    assert np.allclose(cash_b, cash_a - 5e9, rtol=0, atol=1.0)
    # money conserved: opening cash - investment before month one + every month's flow
    opening = early.venture.finance.opening_cash_cny  # type: ignore[union-attr]
    assert cash_b[-1] == pytest.approx(opening - 5e9 + b.column("cash_flow").sum(), abs=1.0)
    # the plant and the market never see the money: same cars, same deliveries
    assert np.array_equal(a.column("produced"), b.column("produced"))
    assert np.array_equal(a.column("delivered"), b.column("delivered"))
    assert any("invested before month one" in n and "early" in n for n in b.summary.notes)


def test_orders_piling_up_against_a_phase_that_cannot_build_are_noted() -> None:
    sc, _ = load_scenario(PLAN)
    month = "2025-08"

    def phase(name: str, capacity: float) -> PhaseMonth:
        return PhaseMonth(month, name, 0.0, capacity, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)

    def sales(v: str, backlog: float, wait: float) -> VariantSales:
        return VariantSales(month, v, 0.0, 10.0, 0.0, backlog, wait, 0.0, 1.0, 0.0, 0.0, 0.0)

    idle = [phase("phase1", 9000.0), phase("phase2", 0.0), sales("SU7", 5.0, 1.0),
            sales("YU7", 4000.0, 30.0)]  # fmt: skip
    notes = timeline.run_notes(sc, idle)
    assert len(notes) == 1 and notes[0].startswith("YU7: orders piled up for 1 months")
    assert "backlog of 4,000 by 2025-08" in notes[0]
    busy = [phase("phase1", 9000.0), phase("phase2", 100.0), sales("YU7", 4000.0, 104.0)]
    notes = timeline.run_notes(sc, busy)
    assert notes == [
        "YU7: the quoted wait stood at its cap of 104 weeks in 1 months (from 2025-08): "
        "demand the plant cannot meet"
    ]
    assert timeline.run_notes(sc, [phase("phase2", 100.0), sales("YU7", 10.0, 3.0)]) == []


def test_a_run_notes_orders_waiting_for_a_closed_phase(tmp_path: Path) -> None:
    # phase 2 opens on time but the plant stands still for its first two months
    out = tmp_path / "closed"
    shut = "[{start: 2025-07-01, days: 31}, {start: 2025-08-01, days: 31}]"
    sets = ["horizon.end=2025-09", f"plant.holidays={shut}"]
    args = [x for s in sets for x in ("--set", s)]
    result = runner.invoke(app, ["run", PLAN, "--out", str(out), "--quiet", *args])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    piled = [n for n in summary["notes"] if n.startswith("YU7: orders piled up")]
    assert piled and "phase2 starts production 2025-07-01" in piled[0]
    assert "note: YU7: orders piled up" in result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="timeline"' in page and "YU7: orders piled up" in page


def test_the_timeline_chart_draws_every_row() -> None:
    sc, _ = load_scenario(PLAN)
    rows = timeline.gantt(sc)
    assert rows[0] == {
        "task": "phase1", "kind": "construction", "start": "2022-04-01", "end": "2023-07-01"
    }  # fmt: skip
    kinds = {(r["task"], r["kind"]) for r in rows}
    assert ("phase1", "trial production") in kinds and ("YU7 launch", "launch") in kinds
    assert ("capex: sustaining", "capex") in kinds
    fig = gantt.timeline(rows, "2024-01..2033-12")
    assert fig is not None
    bars = [t for t in fig.data if t["type"] == "bar"]
    drawn = sum(len(t["y"]) for t in bars)
    assert drawn == sum(r["kind"] != "launch" for r in rows)
    production = next(t for t in bars if t["name"] == "Production")
    assert production["base"][0] == "2024-02-20"
    days = (np.datetime64("2034-01-01") - np.datetime64("2024-02-20")).astype(int)
    assert production["x"][0] == days * 86_400_000
    launch = next(t for t in fig.data if t["type"] == "scatter")
    assert launch["x"] == ["2024-04-01", "2025-07-01"]
    shaded = fig.to_dict()["layout"]["shapes"][0]
    assert (shaded["x0"], shaded["x1"]) == ("2024-01-01", "2034-01-01")
    assert gantt.timeline([], None) is None
