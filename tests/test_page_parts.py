"""The planning page's parts without a browser: levers from the schema, the form as
``--set`` items with the CLI's own messages, the downloadable YAML, and the job queue."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.page import edits
from evplant.page.jobs import Cancelled, Job, Jobs, QueueFull
from evplant.page.levers import field_schema, levers_for
from evplant.page.safety import is_loopback
from evplant.plant.spec import ShiftRegime
from evplant.scenario.load import prepare
from evplant.venture.finance import FinanceConfig

PLAN = "beijing-etown-2023"


def _bound(model: type, name: str, kind: str) -> float | None:
    """A pydantic field's bound read from its metadata (not from the JSON Schema)."""
    for m in model.model_fields[name].metadata:
        if hasattr(m, kind):
            return float(getattr(m, kind))
    return None


def test_levers_take_type_range_and_value_from_schema_and_data() -> None:
    prepared = prepare(PLAN)
    by_path = {lv.path: lv for lv in levers_for(prepared)}
    shifts = by_path["plant.phases.phase1.shifts.0.shifts"]
    assert shifts.kind == "integer"
    assert (shifts.minimum, shifts.maximum) == (_bound(ShiftRegime, "shifts", "ge"),
                                                _bound(ShiftRegime, "shifts", "le"))
    assert shifts.value == prepared.scenario.plant.phases[0].shifts[0].shifts
    hours = by_path["plant.phases.phase1.shifts.0.hours"]
    assert hours.exclusive_min and hours.minimum == _bound(ShiftRegime, "hours", "gt")
    budget = by_path["venture.finance.budget_usd"]
    assert budget.unit == "US$" and budget.minimum == _bound(FinanceConfig, "budget_usd", "gt")
    assert by_path["plant.partner.enabled"].kind == "boolean"
    # one lever per phase, shift regime, component and variant the scenario has
    phases = [p.name for p in prepared.scenario.plant.phases]
    assert [p for p in phases if f"plant.phases.{p}.sop" in by_path] == phases
    assert {f"venture.market.variants.{v}.price_cny" for v in prepared.scenario.variants} <= set(
        by_path
    )


def test_a_scenario_without_a_venture_has_no_venture_levers() -> None:
    prepared = prepare(str(Path(__file__).parent / "data" / "tiny-plant.yaml"))
    paths = [lv.path for lv in levers_for(prepared)]
    assert paths and not [p for p in paths if p.startswith("venture.")]


def test_field_schema_walks_lists_by_name_and_mappings() -> None:
    assert field_schema("plant.phases.phase2.sop")["type"] == "string"
    assert field_schema("venture.market.variants.SU7.price_cny")["exclusiveMinimum"] == 0
    with pytest.raises(Exception, match="no field"):
        field_schema("plant.nonsense")


def test_unchanged_form_asks_for_nothing_and_a_change_is_one_set_item() -> None:
    levers = levers_for(prepare(PLAN))
    values = [["on"] if lv.kind == "boolean" and lv.value else
              ([] if lv.kind == "boolean" else lv.text()) for lv in levers]
    assert edits.overrides_from(levers, values)[0] == []
    i = next(i for i, lv in enumerate(levers) if lv.path == "plant.partner.enabled")
    values[i] = []
    items, origin = edits.overrides_from(levers, values, "# a comment\nhorizon.end=2025-06\n")
    assert items == ["plant.partner.enabled=false", "horizon.end=2025-06"]
    assert origin == {"plant.partner.enabled=false": i, "horizon.end=2025-06": -1}


@pytest.mark.parametrize(
    "item",
    ["plant.phases.phase1.shifts.0.shifts=7", "venture.finance.budget_usd=lots",
     "plant.nonsense.field=1"],
)
def test_form_problems_are_the_clis_messages(item: str) -> None:
    levers = levers_for(prepare(PLAN))
    path = item.split("=", 1)[0]
    index = next((i for i, lv in enumerate(levers) if lv.path == path), -1)
    values: list[object] = [["on"] if lv.kind == "boolean" and lv.value else
                            ([] if lv.kind == "boolean" else lv.text()) for lv in levers]
    extra = ""
    if index >= 0:
        values[index] = item.split("=", 1)[1]
    else:
        extra = item
    items, origin = edits.overrides_from(levers, values, extra)
    checked = edits.check(PLAN, items, origin)
    assert not checked.ok
    cli = CliRunner().invoke(app, ["run", PLAN, "--set", item, "--quiet"])
    assert cli.exit_code == 2
    cli_lines = [line.removeprefix("error: ") for line in cli.output.strip().splitlines()]
    assert checked.problems == {index: cli_lines}


@pytest.mark.parametrize(
    "item", ["posterior.file=/etc/passwd", "calibration.observed=/etc/hostname",
             "calibration={observed: x.csv, parameters: []}"])
def test_the_browser_cannot_name_a_file(item: str) -> None:
    base = prepare("beijing-etown")
    checked = edits.check("beijing-etown", [item], {item: -1}, base)
    assert not checked.ok and checked.prepared is None
    assert any("does not take file names" in p or "--set" in p
               for p in checked.problems[-1])
    fine = "plant.partner.enabled=false"
    assert edits.check("beijing-etown", [fine], {fine: 3}, base).ok


def test_downloaded_yaml_is_the_edited_scenario(tmp_path: Path) -> None:
    overrides = ["plant.partner.enabled=false", "plant.phases.phase1.shifts.0.hours=7.5"]
    prepared = prepare("beijing-etown", overrides)
    path = tmp_path / "edited.yaml"
    path.write_text(edits.scenario_yaml("beijing-etown", prepared), encoding="utf-8")
    again = prepare(str(path))
    assert again.scenario.model_dump(exclude={"posterior", "calibration"}) == \
        prepared.scenario.model_dump(exclude={"posterior", "calibration"})
    # the files it names are found from anywhere (they were beside the built-in)
    assert again.scenario.posterior is not None
    assert Path(again.scenario.posterior.file).is_file()


def test_short_horizon_is_two_years_unless_the_scenario_is_shorter() -> None:
    assert edits.horizon_items(prepare(PLAN), short=True) == ["horizon.end=2025-12"]
    assert edits.horizon_items(prepare(PLAN, ["horizon.end=2024-06"]), short=True) == []
    assert edits.horizon_items(prepare(PLAN), short=False) == []


def _job(session: str, kind: str, log: list[str], gate: threading.Event | None = None,
         coalesce: bool = False) -> Job:
    def work(job: Job) -> str:
        log.append(f"start {job.session}{job.kind}")
        for k in range(200):
            if gate is not None and gate.wait(0.01):
                break
            job.progress(k, 200)
        log.append(f"end {job.session}{job.kind}")
        return job.kind

    return Job(session, kind, kind, work, coalesce=coalesce)


def _wait(cond: object, timeout: float = 10.0) -> None:
    t = time.monotonic()
    while not cond():  # type: ignore[operator]
        assert time.monotonic() - t < timeout, "timed out"
        time.sleep(0.005)


def test_one_job_at_a_time_per_session_and_the_others_wait() -> None:
    jobs = Jobs(quick_workers=2, long_workers=0, per_session=2)
    log: list[str] = []
    gate = threading.Event()
    a1 = jobs.submit(_job("a", "1", log, gate))
    a2 = jobs.submit(_job("a", "2", log, gate))
    b1 = jobs.submit(_job("b", "1", log, gate))
    _wait(lambda: a1.state == "running" and b1.state == "running")
    assert a2.state == "queued"  # the second worker took b's job, not a's second one
    gate.set()
    _wait(lambda: a2.state == "done")
    assert log.index("end a1") < log.index("start a2")
    jobs.close()


def test_a_newer_quick_rerun_replaces_the_waiting_one_and_the_queue_is_bounded() -> None:
    jobs = Jobs(quick_workers=1, long_workers=0, per_session=2)
    log: list[str] = []
    gate = threading.Event()
    first = jobs.submit(_job("a", "x", log, gate))
    _wait(lambda: first.state == "running")
    old = jobs.submit(_job("a", "short", log, gate, coalesce=True))
    new = jobs.submit(_job("a", "short", log, gate, coalesce=True))
    assert old.state == "cancelled" and new.state == "queued"
    jobs.submit(_job("a", "mc", log, gate))
    with pytest.raises(QueueFull):
        jobs.submit(_job("a", "mc", log, gate))
    gate.set()
    _wait(lambda: new.state == "done")
    assert "start ashort" in log and log.count("start ashort") == 1
    jobs.close()


def test_cancel_stops_the_running_job_at_its_next_progress_report() -> None:
    jobs = Jobs(quick_workers=1, long_workers=0)
    log: list[str] = []
    job = jobs.submit(_job("a", "long", log, threading.Event()))
    _wait(lambda: job.done > 3)
    waiting = jobs.submit(_job("a", "next", log))
    assert jobs.cancel("a") == 2
    _wait(lambda: job.state == "cancelled")
    assert "end along" not in log and waiting.state == "cancelled"
    assert jobs.status("a").last is job
    jobs.close()


def test_progress_after_cancel_raises() -> None:
    job = Job("s", "k", "k", lambda j: None)
    job.progress(1, 2)
    job.cancel_event.set()
    with pytest.raises(Cancelled):
        job.progress(2, 2)


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_serve_rejects_an_unknown_scenario_like_run() -> None:
    result = CliRunner().invoke(app, ["serve", "no-such-plant", "--port", "0"])
    assert result.exit_code == 2
    assert "no built-in scenario or file 'no-such-plant'" in result.output


def test_quick_reruns_never_wait_behind_a_long_job_and_a_waiting_one_knows_its_place() -> None:
    jobs = Jobs(quick_workers=1, long_workers=1)
    log: list[str] = []
    gate = threading.Event()
    mc = jobs.submit(Job("a", "mc", "mc", _job("a", "mc", log, gate).work, long=True))
    _wait(lambda: mc.state == "running")
    other = jobs.submit(Job("b", "mc", "mc", _job("b", "mc", log, gate).work, long=True))
    third = jobs.submit(Job("c", "mc", "mc", _job("c", "mc", log, gate).work, long=True))
    assert [(j.id, ahead) for j, ahead in jobs.status("c").waiting] == [(third.id, 2)]
    assert jobs.status("b").waiting[0][1] == 1
    quick = jobs.submit(_job("b", "short", log))  # the long pool is full; this is not
    _wait(lambda: quick.state == "done")
    assert mc.state == "running" and other.state == "queued"
    gate.set()
    _wait(lambda: third.state == "done")
    jobs.close()


def test_a_job_that_does_not_finish_marks_its_folder(tmp_path: Path) -> None:
    from evplant.page.jobs import UNFINISHED

    jobs = Jobs(quick_workers=0, long_workers=1)
    folder = tmp_path / "mc-x"
    started = threading.Event()

    def work(job: Job) -> None:
        folder.mkdir()
        for k in range(10_000):
            job.progress(k, 10_000)
            started.set()
            time.sleep(0.001)

    job = jobs.submit(Job("a", "mc", "Monte Carlo, 9 replications", work, long=True,
                          folder=folder))
    started.wait(10)
    assert jobs.cancel("a", "its tab did not poll for 3 s") == 1
    _wait(lambda: job.state == "cancelled")
    note = (folder / UNFINISHED).read_text(encoding="utf-8")
    assert note.startswith("Monte Carlo, 9 replications: cancelled at ")
    assert "(its tab did not poll for 3 s)" in note
    done = jobs.submit(Job("a", "mc", "ok", lambda j: folder.mkdir(exist_ok=True), long=True,
                           folder=tmp_path / "other"))
    _wait(lambda: done.state == "done")
    assert not (tmp_path / "other").exists()
    jobs.close()


def test_quiet_sessions_lose_their_jobs_and_only_quiet_ones_are_evicted() -> None:
    from evplant.page.sessions import Full, Sessions

    quiet: list[str] = []
    dropped: list[str] = []
    sessions = Sessions(2, 0.3, lambda sid: quiet.append(sid) or 1, dropped.append)
    a, b = sessions.new(None), sessions.new(None)
    with pytest.raises(Full):
        sessions.new(None)  # both polling: a new tab is refused, none silenced
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        sessions.get(b.id)  # b polls, a does not
        time.sleep(0.05)
    assert a.id in quiet and b.id not in quiet
    c = sessions.new(None)
    assert dropped == [a.id] and sessions.get(a.id) is None
    assert sessions.get(b.id) is b and sessions.get(c.id) is c
    sessions.close()


def test_a_dead_servers_folder_and_locks_are_cleared_and_a_live_ones_kept(
        tmp_path: Path) -> None:
    import subprocess

    from evplant.page import leftovers

    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / "evplant-serve-dead"
    dead.mkdir()
    (dead / "serve.pid").write_text(f"{gone.pid}\n")
    alive = tmp_path / "evplant-serve-alive"
    alive.mkdir()
    (alive / "serve.pid").write_text("1\n")
    other = tmp_path / "evplant-serve-unknown"  # no process id: not known to be ours
    other.mkdir()
    assert leftovers.clear_dead_servers(tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and other.exists()

    out = tmp_path / "out" / "s1"
    (out / "mc-1" / "chunks").mkdir(parents=True)
    (out / ".mc-1.lock").write_text(f"{gone.pid}\n")
    (out / "mc-2").mkdir()
    (out / ".mc-2.lock").write_text("1\n")
    assert leftovers.clear_dead_locks(tmp_path / "out") == [out / "mc-1"]
    assert not (out / ".mc-1.lock").exists() and (out / ".mc-2.lock").exists()
    assert (out / "mc-1" / "UNFINISHED.txt").read_text().startswith("interrupted")
    own = leftovers.make_temporary()
    leftovers.remove_temporary(own)
    assert not own.exists()


def test_the_any_field_box_is_capped_in_lines_item_size_and_reading_time() -> None:
    levers = levers_for(prepare(PLAN))
    values = [["on"] if lv.kind == "boolean" and lv.value else
              ([] if lv.kind == "boolean" else lv.text()) for lv in levers]
    many = "\n".join(f"plant.phases.phase1.shifts.0.hours={7 + i % 3}" for i in range(5000))
    items, origin = edits.overrides_from(levers, values, many)
    assert len(items) == edits.MAX_EXTRA_LINES + 1  # read no further than the cap
    assert edits.check(PLAN, items, origin).problems[-1][0].startswith(
        f"extra: at most {edits.MAX_EXTRA_LINES} lines")
    long = "plant.phases.phase1.sop=" + "x" * (edits.MAX_ITEM_CHARS + 1)
    assert "at most 10,000 characters" in edits.check(PLAN, [long], {long: -1}).problems[-1][0]
    few = items[:50]
    slow = edits.check(PLAN, few, {it: -1 for it in few}, seconds=0.0)
    assert slow.problems[-1][0].startswith("extra: the values took more than 0 s")
    assert edits.check(PLAN, few, {it: -1 for it in few}).ok


def test_malformed_callback_requests_are_named() -> None:
    from evplant.page.requests import edit_number, edit_record, malformed

    callbacks = {"a.children": {"inputs": [{"id": "x", "property": "value"}], "state": []}}
    good = {"output": "a.children", "outputs": {"id": "a", "property": "children"},
            "inputs": [{"id": "x", "property": "value", "value": 1}], "state": []}
    assert malformed(good, callbacks) == ""
    assert malformed([], callbacks) == "the body is not a JSON object"
    assert malformed({**good, "output": "b.children"}, callbacks) == "no such callback"
    assert malformed({**good, "inputs": [{"id": 3}]}, callbacks).startswith("inputs: not")
    assert malformed({**good, "inputs": []}, callbacks) == "inputs: 1 expected, got 0"
    assert malformed({**good, "changedPropIds": [1]}, callbacks).startswith("changedPropIds")
    assert edit_number({"n": 3, "full": True}) == (3, True)
    for bad in ({"n": True}, {"n": 1.5}, {"n": 0}, {"n": 2, "full": "yes"}, None):
        with pytest.raises(Exception, match="edit-seq"):
            edit_number(bad)
    assert edit_record({"seq": 2, "items": ["a=1"]}) == (2, ["a=1"])
    assert edit_record({"seq": True, "items": ["a=1"]}) == (0, [])
    assert edit_record({"seq": 2, "items": [1]}) == (2, [])


def test_a_boolean_for_a_number_is_refused_by_the_cli_and_a_boolean_field_takes_one() -> None:
    cli = CliRunner().invoke(app, ["run", PLAN, "--set",
                                   "plant.phases.phase1.shifts.0.hours=true", "--quiet"])
    assert cli.exit_code == 2
    assert cli.output.strip() == ("error: --set plant.phases.phase1.shifts.0.hours=true: "
                                  "plant.phases[0].shifts[0].hours: expected a number, got "
                                  "a boolean (true)")
    for item in ("venture.finance.budget_usd=false", "plant.phases.phase1.shifts.0.shifts=true"):
        with pytest.raises(Exception, match="expected a number, got a boolean"):
            prepare(PLAN, [item])
    assert prepare(PLAN, ["plant.partner.enabled=false"]).scenario.plant.partner.enabled is False
    assert prepare(PLAN, ["plant.phases.phase1.shifts.0.hours=7"]).scenario.plant.phases[
        0].shifts[0].hours == 7.0  # an integer is still a number


def test_the_edited_text_keeps_every_other_line_and_reads_back_as_the_data() -> None:
    from evplant.scenario.load import scenario_text
    from evplant.scenario.text import edited_text, reads_as

    items = ["plant.phases.phase2.delay_months=6", "plant.partner.enabled=false",
             "venture.channel.stores={2024-03: 10, 2025-03: 20}"]
    prepared = prepare(PLAN, items)
    text = edits.scenario_yaml(PLAN, prepared)
    original = scenario_text(PLAN)[0]
    assert "written as data" not in text
    again = prepare_text(text).scenario  # type: ignore[attr-defined]
    files = {"posterior", "calibration"}  # made absolute, so found from any folder
    assert again.model_dump(exclude=files) == prepared.scenario.model_dump(exclude=files)
    kept = set(original.splitlines()) & set(text.splitlines())
    comments = [ln for ln in original.splitlines() if ln.lstrip().startswith("#")]
    assert set(comments) <= kept  # every comment line survives
    assert "      delay_months: 6   # edited on the page" in text
    # a list item's own value cannot be set in the text: the caller is told
    assert edited_text("a:\n  - 1\n", {("a", 0): 2}, [(("a", 0), 2)], str) is None
    assert reads_as("a: [1, 2]\n", {"a": [1, 2]}) and not reads_as("a: [1\n", {"a": [1]})


def prepare_text(text: str) -> object:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "edited.yaml"
        path.write_text(text, encoding="utf-8")
        return prepare(str(path))


def test_the_status_line_never_says_done_while_a_newer_edit_is_unanswered() -> None:
    from evplant.page.app import PageApp

    page = PageApp(str(Path(__file__).parent / "data" / "tiny-plant.yaml"))
    try:
        s = page.sessions.new(None)
        done = page.jobs.submit(Job(s.id, "short", "first two years", lambda j: None))
        _wait(lambda: done.state == "done")
        s.seq = 3
        assert page._status(s, {"n": 3})[0].startswith("first two years: done")
        assert page._status(s, {"n": 4})[0] == "checking your newest edit"
        s.refusal = "--set a=b: no such field\nmore"
        assert page._status(s, {"n": 3})[0] == "edit refused: --set a=b: no such field"
    finally:
        page.close()
    assert not page.out_dir.exists()  # the server's own folder goes with it


def test_two_values_on_one_line_both_change() -> None:
    """A flow mapping holds several values on one line (a shift's hours and days): each
    edit must see the others, not overwrite them (the 2025 calibration's shift lost its
    hours this way)."""
    from evplant.inputs import load_text, read_yaml
    from evplant.scenario.text import edited_text

    text = "shifts:\n  - {start: x, hours: 8, days: 5}   # facts: planned\n"
    _, lines = read_yaml(text, "t")
    out = edited_text(text, lines, [(("shifts", 0, "hours"), 9.5), (("shifts", 0, "days"), 6)],
                      lambda old: f"was {old}")
    assert out is not None
    assert load_text(out)["shifts"][0] == {"start": "x", "hours": 9.5, "days": 6}
    assert "facts: planned" in out
