"""The observations file: periods, metrics, relations, and clear errors for bad rows."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from evplant.calibration.observations import (
    METRICS,
    after,
    before,
    parse_observations,
    period_months,
    read_observations,
)
from evplant.errors import EvplantError

HEAD = "period,metric,relation,value,unit,note\n"
BUILTIN = resources.files("evplant.scenario") / "builtin" / "observed" / "beijing-etown-2024.csv"


def test_the_shipped_record_reads_whole() -> None:
    stmts = read_observations(Path(str(BUILTIN)))
    text = Path(str(BUILTIN)).read_text().strip().splitlines()
    assert len(stmts) == len(text) - 1  # every row is a statement: nothing dropped
    year = [s for s in stmts if s.period == "2024" and s.metric == "delivered"]
    assert year[0].value == 136854 and year[0].relation == "eq"
    # notes with unquoted commas are kept whole
    june = next(s for s in stmts if s.period == "2024-06" and s.metric == "delivered")
    assert june.relation == "ge" and june.note == "company: over 10,000"
    assert {s.metric for s in stmts} <= set(METRICS)


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [("2024-03", "2024-03", "2024-03"), ("2024Q1", "2024-01", "2024-03"),
     ("2024Q4", "2024-10", "2024-12"), ("2025", "2025-01", "2025-12")],
)
def test_periods_name_their_months(period: str, first: str, last: str) -> None:
    assert period_months(period) == (first, last)


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ("2024-13,delivered,eq,1,vehicles,", "period", "YYYYQn"),
        ("2024Q5,delivered,eq,1,vehicles,", "period", "YYYYQn"),
        ("2024-01,sold,eq,1,vehicles,", "metric", "allowed: produced, delivered"),
        ("2024-01,delivered,about,1,vehicles,", "relation", "eq, ge, le, approx"),
        ("2024-01,delivered,eq,inf,vehicles,", "value", "finite"),
        ("2024-01,delivered,eq,many,vehicles,", "value", "finite"),
        ("2024-01,delivered,eq,-5,vehicles,", "value", "negative"),
        ("2024-01,delivered,eq,5,cars,", "unit", "vehicles"),
        ("2024,gross_margin,eq,18.5,share,", "value", "below 1"),
    ],
)
def test_a_bad_row_names_file_line_and_field(row: str, field: str, words: str) -> None:
    text = HEAD + "2024-01,delivered,eq,10,vehicles,fine\n" + row + "\n"
    with pytest.raises(EvplantError) as info:
        parse_observations(text, "obs.csv")
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.field) == ("obs.csv", 3, field)
    assert words in problem.message
    assert "\n" not in str(problem)


def test_every_bad_row_is_reported_not_only_the_first() -> None:
    text = HEAD + "x,delivered,eq,1,vehicles,\n2024-01,y,eq,1,vehicles,\n"
    with pytest.raises(EvplantError) as info:
        parse_observations(text, "obs.csv")
    assert [p.line for p in info.value.problems] == [2, 3]


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "empty"), ("period,metric,value\n", "missing column(s) relation, unit"),
     ("period,metric,relation,value,unit,source\n", "unknown column(s) source"),
     (HEAD, "no statements")],
)
def test_a_bad_file_says_what_is_expected(text: str, words: str) -> None:
    with pytest.raises(EvplantError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_observations(text, "obs.csv")


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(EvplantError, match="file not found"):
        read_observations(tmp_path / "none.csv")


def test_before_and_after_an_origin_leave_out_what_straddles_it() -> None:
    text = HEAD + "\n".join([
        "2024-05,delivered,eq,1,vehicles,", "2024-06,delivered,eq,1,vehicles,",
        "2024Q2,delivered,eq,1,vehicles,", "2024Q3,delivered,eq,1,vehicles,",
        "2024,delivered,eq,1,vehicles,",
    ]) + "\n"
    stmts = parse_observations(text, "obs.csv")
    assert [s.period for s in before(stmts, "2024-06")] == ["2024-05"]
    assert [s.period for s in before(stmts, "2024-07")] == ["2024-05", "2024-06", "2024Q2"]
    assert [s.period for s in after(stmts, "2024-06")] == ["2024-06", "2024Q3"]
