"""The fuzz suite: hostile scenarios, drawn from the scenario's JSON Schema and written by
hand (tests/data/hostile/), must each end cleanly: a run with finite outputs, or exit 2
with one line per problem naming the file or the --set item, nothing written, quickly.
``scripts/fuzz`` runs the same cases by the thousand; tests/fuzzing.py says what
"clean" means. Kept within about a minute of CI time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import fuzzing
from evplant.errors import EvplantError
from evplant.scenario import prepare

HOSTILE = fuzzing.hostile_files()


def test_there_are_hostile_files() -> None:
    assert len(HOSTILE) >= 20


@pytest.mark.parametrize("path", HOSTILE, ids=[p.stem for p in HOSTILE])
def test_each_hostile_file_is_refused_cleanly(path: Path, tmp_path: Path) -> None:
    outcome = fuzzing.run_case(fuzzing.hostile_case(path), tmp_path)
    assert outcome.klass == "refused", (outcome.klass, outcome.detail)


def test_the_fuzz_base_runs_clean(tmp_path: Path) -> None:
    # the judge's other half: a run whose tables and summary are all finite is clean
    outcome = fuzzing.run_case(fuzzing.Case(fuzzing.dump(fuzzing.base_data())), tmp_path)
    assert outcome.klass == "ok", (outcome.klass, outcome.detail)


def test_the_judge_catches_what_it_should(tmp_path: Path) -> None:
    case = fuzzing.Case("x", bad=True, label="nan somewhere")
    out = tmp_path / "out"
    assert fuzzing.judge(case, "f.yaml", out, 0, "", "", 0.1).klass.startswith("nonsense")
    tb = "ValueError: boom [run.py:1]"
    assert fuzzing.judge(case, "f.yaml", out, 1, "", tb, 0.1).klass.startswith("traceback")
    where = fuzzing.judge(case, "f.yaml", out, 2, "error: field: bad\n", "", 0.1)
    assert where.klass.startswith("message does not say where")
    two = fuzzing.judge(case, "f.yaml", out, 2, "error: f.yaml:1: x\nmore\n", "", 0.1)
    assert two.klass == "message not one line per problem"
    out.mkdir()
    left = fuzzing.judge(case, "f.yaml", out, 2, "error: f.yaml:1: x: bad\n", "", 0.1)
    assert left.klass == "refused but left output"


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(fuzzing.cases())
def test_validation_refuses_or_accepts_every_case_in_one_line_each(case: fuzzing.Case) -> None:
    # in-process and quick: the input pipeline alone, as `evplant serve` will call it
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        raw = (
            case.text
            if isinstance(case.text, bytes)
            else case.text.encode("utf-8", "surrogatepass")
        )
        path.write_bytes(raw)
        try:
            prepare(path, case.sets)
        except EvplantError as exc:
            for problem in exc.problems:
                text = str(problem)
                assert "\n" not in text
                assert text.startswith((str(path), "--set ")), text
            return
        assert not case.bad, f"accepted: {case.label}"


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(fuzzing.schema_cases())
def test_evplant_run_handles_schema_cases_cleanly(case: fuzzing.Case) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outcome = fuzzing.run_case(case, Path(tmp))
    assert outcome.clean, (outcome.klass, case.label, case.sets, outcome.detail)


def test_the_judge_knows_the_schema_of_every_place_of_the_built_in_scenario() -> None:
    # a place without a schema branch reads every value as nonsense (a rival's colour,
    # a mapping with patterned keys, was judged so: null is its documented default)
    from evplant.scenario.load import prepare
    from evplant.scenario.schema import Scenario

    schema = Scenario.model_json_schema()
    data = prepare("beijing-etown").data
    blind = [p for p in fuzzing.places(data) if not fuzzing.schema_at(schema, data, p)]
    assert blind == []
