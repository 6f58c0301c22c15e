"""Starting from a state: a run split at a month equals the whole run, cell for cell, on
both line paths; a planner's state places its vehicles and sets learning, orders and
cash; the CLI writes, reads and refuses state files as documented."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from evplant import state as run_state
from evplant.cli import app
from evplant.plant import state as plant_state
from evplant.plant.model import Plant
from evplant.records import PhaseMonth, PlantTotals, Record, VentureTotals
from evplant.run import RunResult, simulate
from evplant.scenario import load_scenario
from evplant.seeds import child_seed

SHORT = ["horizon.end=2025-10"]
# the built-in booths and cells let cars overtake (the staggered recursion); kept in
# sequence, the line runs the max-plus recursion; scrapping at final test, the
# event-driven kernel
PATHS = {
    "staggered": [],
    "max-plus": [
        f"plant.phases.{p}.shops.{shop}.stations.{st}.keep_sequence=true"
        for p in ("phase1", "phase2")
        for shop, st in (("paint", "booths"), ("die-casting", "casting-cell"))
    ],
    "events": [
        f"plant.phases.{p}.shops.general-assembly.stations.final-test.on_defect=scrap"
        for p in ("phase1", "phase2")
    ],
}
# 2024-03: the first ramp; 2025-06: phase 2's first month is next; 2025-09: its ramp
SPLITS = ["2024-02", "2025-05", "2025-08"]


def _roundtrip(doc: dict[str, Any], path: Path) -> run_state.RunState:
    path.write_text(run_state.dumps(doc))
    return run_state.read_state(path)


def _rows(records: list[Record], after: str = "") -> list[str]:
    # repr: exact floats, and NaN equal to NaN
    return [repr(r) for r in records if r.month > after]


@pytest.fixture(scope="module", params=list(PATHS))
def whole(request: pytest.FixtureRequest) -> tuple[list[str], RunResult]:
    sets = SHORT + PATHS[request.param]
    sc, _ = load_scenario("beijing-etown", sets)
    assert sc.plant.phases[0].name == "phase1"
    return sets, simulate(sc, 0, state_at=set(SPLITS) | {sc.horizon.end})


@pytest.mark.parametrize("month", SPLITS)
def test_a_run_split_at_a_month_equals_the_whole_run(
    whole: tuple[list[str], RunResult], month: str, tmp_path: Path
) -> None:
    sets, full = whole
    sc, _ = load_scenario("beijing-etown", sets)
    begun = _roundtrip(full.states[month], tmp_path / "state.json")
    assert begun.exact is not None and not begun.edited
    rest = simulate(sc, 0, start=begun, state_at={sc.horizon.end})
    assert rest.records[0].month > month
    assert _rows(rest.records) == _rows(full.records, month)
    assert list(rest.monthly) == [r for r in full.monthly if r["month"] > month]
    # and it ends in the very state the whole run ended in
    assert rest.states[sc.horizon.end] == full.states[sc.horizon.end]
    # nothing lost at the seam: cars and money
    a = sum(r.produced for r in full.records if isinstance(r, PlantTotals))
    b = sum(r.produced for r in full.records if isinstance(r, PlantTotals) and r.month <= month)
    assert rest.summary.plant["vehicles_produced"] == a - b


def test_the_split_holds_on_the_counting_path_of_monte_carlo() -> None:
    sc, _ = load_scenario("beijing-etown", SHORT)
    full = simulate(sc, 3, stats=False, state_at={"2025-05"})
    begun = run_state.read_doc(json.loads(run_state.dumps(full.states["2025-05"])), "mem")
    rest = simulate(sc, 3, stats=False, start=begun)
    assert _rows(rest.records) == _rows(full.records, "2025-05")


def test_a_state_made_with_statistics_off_cannot_feed_a_run_with_them() -> None:
    sc, _ = load_scenario("beijing-etown", ["horizon.end=2024-04"])
    full = simulate(sc, 0, stats=False, state_at={"2024-02"})
    begun = run_state.read_doc(full.states["2024-02"], "mem.json")
    with pytest.raises(Exception, match="stats"):
        simulate(sc, 0, start=begun)


def _planner_only(doc: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(run_state.dumps(doc))
    del out["exact"]
    return out


def test_without_the_exact_part_a_run_starts_from_the_planners_part(
    whole: tuple[list[str], RunResult], tmp_path: Path
) -> None:
    sets, full = whole
    sc, _ = load_scenario("beijing-etown", sets)
    doc = _planner_only(full.states["2025-05"])
    begun = _roundtrip(doc, tmp_path / "planner.json")
    assert begun.exact is None
    rest = simulate(sc, 0, start=begun)
    first = "2025-06"
    # learning carried: the phases' cycle-time factors in the first month are the whole run's
    got = {
        r.phase: r.cycle_factor
        for r in rest.records
        if isinstance(r, PhaseMonth) and r.month == first
    }
    want = {
        r.phase: r.cycle_factor
        for r in full.records
        if isinstance(r, PhaseMonth) and r.month == first
    }
    assert got == want
    # vehicles conserved across the seam: in work at the state + started - built = in work
    placed = sum(p["in_work"] for p in doc["plant"]["phases"].values())
    tot = next(r for r in rest.records if isinstance(r, PlantTotals) and r.month == first)
    month = [r for r in rest.records if isinstance(r, PhaseMonth) and r.month == first]
    in_work = sum(r.in_work for r in month)
    scrapped = sum(r.scrapped for r in month)  # (the event-driven case scraps at final test)
    assert (
        placed
        + tot.released
        + tot.contract_released
        - tot.produced
        - tot.contract_produced
        - scrapped
        == in_work
    )
    # money: the cash at the state plus the month's cash flow
    vt = next(r for r in rest.records if isinstance(r, VentureTotals) and r.month == first)
    money = {m.line: m.value for m in rest.records if m.ENTITY == "money" and m.month == first}
    assert doc["venture"]["cash_cny"] + money["cash_flow"] == pytest.approx(money["cash"])
    # orders carried: the month starts from the state's order book
    assert vt.backlog > 0


@pytest.mark.parametrize("sets", [SHORT + sets for sets in PATHS.values()], ids=list(PATHS))
def test_vehicles_a_planner_places_are_the_ones_completed(sets: list[str]) -> None:
    sc, _ = load_scenario("beijing-etown", [*sets, "venture=null"])
    plant = Plant(
        sc.plant,
        sc.variants,
        (sc.horizon.start, sc.horizon.end),
        child_seed(np.random.SeedSequence(0), 0),
    )
    t = 6  # 2024-07
    run = plant.phases[0]
    names = run.engine.line.names
    main = [names[i] for i in plant_state.line_state.main_line(run.engine)]
    part = {
        "phases": {
            "phase1": {
                "built": 50_000,
                "stations": {main[-1]: 1, main[-3]: {sc.variants[0]: 1}},
                "stores": {main[-3]: 1},
                "entrance": 4,
            }
        }
    }
    plant_state.apply_planner(plant, part, t)
    assert plant.in_work(run) == 7
    month = plant.step(t, np.zeros(len(sc.variants)), None)
    assert month.totals.produced == 7 and month.totals.released == 0
    assert plant.in_work(run) == 0
    # the zero-time passes before a vehicle's place are not counted as entries
    assert month.phases[0].started == 4


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "a"
    done = _cli(
        "run", "--out", str(out), "--set", "horizon.end=2024-06", "-q", "--state-at", "2024-03"
    )
    assert done.exit_code == 0, done.output
    return out


def test_the_cli_writes_the_state_and_continues_from_it(written: Path, tmp_path: Path) -> None:
    assert (written / "state.json").exists() and (written / "state-2024-03.json").exists()
    doc = json.loads((written / "state.json").read_text())
    assert doc["month"] == "2024-06" and doc["version"] == run_state.VERSION
    out = tmp_path / "b"
    done = _cli(
        "run",
        "--out",
        str(out),
        "--set",
        "horizon.end=2024-06",
        "-q",
        "--start",
        "2024-04",
        "--state",
        str(written / "state-2024-03.json"),
    )
    assert done.exit_code == 0, done.output
    a = _csv(written / "monthly.csv")
    b = _csv(out / "monthly.csv")
    assert b == a[-3:]  # the continued months, cell for cell
    assert (out / "state.json").read_text() == (written / "state.json").read_text()


def _csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV, a column a month lacks read as empty (the columns are the ones
    first seen in the months a run covers)."""
    rows = list(csv.DictReader(path.open()))
    return [{k: v for k, v in row.items() if v != ""} for row in rows]


def _refused(tmp_path: Path, args: list[str], *expect: str) -> str:
    out = tmp_path / "never"
    done = _cli("run", "--out", str(out), "-q", *args)
    assert done.exit_code == 2, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.output
    assert "Traceback" not in done.output
    for word in expect:
        assert word in lines[0], lines[0]
    assert not out.exists()
    return lines[0]


def _edit(src: Path, dst: Path, change: Any) -> Path:
    doc = json.loads(src.read_text())
    change(doc)
    dst.write_text(json.dumps(doc))
    return dst


def test_bad_state_files_are_refused_with_one_line(written: Path, tmp_path: Path) -> None:
    short = ["--set", "horizon.end=2024-06"]
    state = written / "state-2024-03.json"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "evplant-state", ')
    _refused(tmp_path, [*short, "--state", str(bad)], str(bad), "not valid JSON")
    _refused(tmp_path, [*short, "--state", str(tmp_path / "none.json")], "no such state file")
    # exact part, another scenario
    _refused(
        tmp_path,
        [*short, "--set", "plant.partner.enabled=false", "--state", str(state)],
        str(state),
        "scenario_digest",
        "exact",
    )
    _refused(tmp_path, [*short, "--seed", "4", "--state", str(state)], "seed", "--seed 0")
    _refused(
        tmp_path, [*short, "--start", "2024-06", "--state", str(state)], "month", "--start 2024-04"
    )
    # the month after the state outside the horizon
    _refused(
        tmp_path,
        ["--set", "horizon.end=2024-03", "--state", str(state)],
        "month",
        "outside the horizon",
    )
    _refused(tmp_path, [*short, "--start", "2024-04"], "--start", "--state")
    _refused(tmp_path, [*short, "--state-at", "2025-01"], "--state-at", "2024-01..2024-06")

    def station(doc: dict[str, Any]) -> None:
        del doc["exact"]
        doc["plant"]["phases"]["phase1"]["stations"]["no-such/station"] = 1

    def negative(doc: dict[str, Any]) -> None:
        doc["plant"]["phases"]["phase1"]["entrance"] = -3  # an edit: the planner's part is used

    def format_(doc: dict[str, Any]) -> None:
        doc["version"] = 99

    for change, words in (
        (station, ("plant.phases.phase1.stations", "no-such/station", "allowed")),
        (negative, ("plant.phases.phase1.entrance", "0 or more")),
        (format_, ("version", "allowed: 1, 2")),
    ):
        edited = _edit(state, tmp_path / "edited.json", change)
        _refused(tmp_path, [*short, "--state", str(edited)], str(edited), *words)


def test_a_start_of_production_before_the_horizon_needs_a_state(
    written: Path, tmp_path: Path
) -> None:
    later = ["--set", "horizon.start=2024-05", "--set", "horizon.end=2024-07"]
    _refused(tmp_path, later, "sop", "--state")
    # a planner's state of the plant in April 2024 gives phase 1's ramp
    mine = _edit(
        written / "state-2024-03.json",
        tmp_path / "today.json",
        lambda d: (d.pop("exact"), d.update(month="2024-04")),
    )
    out = tmp_path / "from-today"
    done = _cli("run", "--out", str(out), "-q", *later, "--state", str(mine))
    assert done.exit_code == 0, done.output
    months = [line.split(",")[0] for line in (out / "monthly.csv").read_text().splitlines()[1:]]
    assert months == ['"2024-05"', '"2024-06"', '"2024-07"']
    summary = json.loads((out / "summary.json").read_text())
    assert summary["vehicles_produced"] > 0
    assert any("planner's part" in n for n in summary["notes"])


def test_a_state_of_an_earlier_version_starts_from_its_planners_part(
    whole: tuple[list[str], RunResult], tmp_path: Path
) -> None:
    # version 1's exact part holds the line's books without the rework and scrap
    # columns: it is left out, with a note, and the planner's part is read as written
    _, full = whole
    doc = dict(full.states["2025-05"])
    assert doc["version"] == run_state.VERSION == 2 and doc["exact"] is not None
    older = _roundtrip({**doc, "version": 1}, tmp_path / "v1.json")
    assert older.exact is None and older.older and not older.edited
    assert older.plant == doc["plant"]
    note = run_state.note(older)
    assert note is not None and "earlier evplant" in note
    with pytest.raises(run_state.EvplantError, match="allowed: 1, 2"):
        _roundtrip({**doc, "version": 3}, tmp_path / "v3.json")
