"""The model is generic: the built-in plant's facts live in its scenario files, and a
plant of another size, brand and budget is reported in its own terms."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evplant.cli import app
from evplant.scenario import load_scenario
from evplant.venture.finance import usd_label

SRC = Path(__file__).parent.parent / "src" / "evplant"
BUILTIN = SRC / "scenario" / "builtin"
runner = CliRunner()

# The built-in plant's facts: where it is, whose it is, its partner, its rivals, its
# target and its budget. None may appear in src/ outside the built-in scenario files.
FACTS = re.compile(
    r"beijing|e-town|xiaomi|great wall|tesla|xpeng|\bbyd\b|\bnio\b"
    r"|300[,_ ]?000|300k|10 ?bn|10 billion|us\$ ?10\b",
    re.IGNORECASE,
)


def test_no_fact_of_the_built_in_plant_in_generic_code() -> None:
    hits = []
    files = [
        p
        for p in SRC.rglob("*")
        if p.is_file() and BUILTIN not in p.parents and "__pycache__" not in p.parts
    ]
    assert len(files) > 50  # the walk found the package
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FACTS.search(line):
                hits.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_the_pattern_finds_the_facts_it_guards() -> None:
    text = (BUILTIN / "beijing-etown-2023.yaml").read_text(encoding="utf-8")
    for fact in ("Xiaomi", "300,000", "US$10bn", "Great Wall", "tesla", "Beijing"):
        assert fact in text and FACTS.search(fact), fact


def test_the_target_defaults_to_the_sum_of_the_nameplates() -> None:
    sc, _ = load_scenario(
        "beijing-etown-2023",
        [
            "plant.target_per_year=null",
            "plant.phases.phase1.nameplate_per_year=40000",
            "plant.phases.phase2.nameplate_per_year=60000",
        ],
    )
    assert sc.plant.target_rate == 100_000
    stated, _ = load_scenario("beijing-etown-2023", ["plant.target_per_year=120000"])
    assert stated.plant.target_rate == 120_000
    assert stated.plant.shop_order[0] == "die-casting"
    assert stated.plant.shop_order[-1] == "general-assembly"


@pytest.mark.parametrize(
    ("amount", "label"),
    [(1e10, "US$10bn"), (2.5e9, "US$2.5bn"), (7.5e8, "US$750m"), (12_345.0, "US$12,345")],
)
def test_a_budget_is_labelled_by_its_amount(amount: float, label: str) -> None:
    assert usd_label(amount) == label


def test_a_100k_plant_is_reported_against_its_own_target(tmp_path: Path) -> None:
    out = tmp_path / "small"
    result = runner.invoke(
        app,
        [
            "run",
            "beijing-etown-2023",
            "--out",
            str(out),
            "--quiet",
            "--set",
            "horizon.end=2024-03",
            "--set",
            "plant.target_per_year=null",
            "--set",
            "plant.phases.phase1.nameplate_per_year=50000",
            "--set",
            "plant.phases.phase2.nameplate_per_year=50000",
            "--set",
            "venture.finance.budget_usd=2500000000",
            "--set",
            "venture.finance.budget_label=null",
            "--set",
            "venture.market.brand.name=Acme Motors",
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    assert "first month at the 100,000 a year rate" in text
    assert "share of the US$2.5bn budget" in text
    assert "300,000" not in text and "10bn" not in text

    summary = json.loads((out / "summary.json").read_text())
    assert summary["rate_target_per_year"] == 100_000
    assert summary["budget_label"] == "US$2.5bn" and summary["brand"] == "Acme Motors"

    page = (out / "report.html").read_text(encoding="utf-8")
    body = page[page.index("<body") :]
    assert "target rate of 100,000 cars a year (8,333 a month)" in body
    assert "Share of the segment for Acme Motors" in body
    for fact in ("300,000", "25,000 a month", "Xiaomi"):
        assert fact not in body, fact
    # the production chart's dashed target line sits at the plant's own monthly target
    marks = re.findall(r'"text":"target: 100,000 a year".{0,200}?"y":([0-9.e+]+)', body)
    assert marks and all(float(y) == pytest.approx(100_000 / 12) for y in marks)


def test_a_rival_look_for_no_rival_is_refused() -> None:
    result = runner.invoke(
        app,
        [
            "run",
            "beijing-etown-2023",
            "--quiet",
            "--set",
            "venture.market.rival_brands.nobody={name: Nobody}",
        ],
    )
    assert result.exit_code == 2
    assert "rival_brands" in result.output and "nobody" in result.output
    assert "Traceback" not in result.output
