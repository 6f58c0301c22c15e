"""The built-in scenarios: the plan (beijing-etown-2023) declares what the record may
teach, with marked priors; the default (beijing-etown) is that plan calibrated on the
2024 record, committed with its posterior."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from evplant.calibration.observations import read_observations
from evplant.calibration.outputs import read_posterior
from evplant.scenario import load_scenario
from evplant.scenario.load import beside, builtin_names, prepare
from evplant.scenario.paths import resolve

BUILTIN = Path(str(resources.files("evplant.scenario") / "builtin"))


def test_both_scenarios_are_built_in() -> None:
    assert {"beijing-etown", "beijing-etown-2023"} <= set(builtin_names())


def test_every_prior_is_marked_and_admits_the_plan() -> None:
    text = (BUILTIN / "beijing-etown-2023.yaml").read_text(encoding="utf-8")
    section = text[text.index("\ncalibration:"):]
    items = [ln for ln in section.splitlines() if re.match(r"^\s*- \{path:", ln)]
    sc, _ = load_scenario("beijing-etown-2023")
    assert sc.calibration is not None
    assert len(items) == len(sc.calibration.parameters) >= 10
    for line in items:  # each prior says where it comes from
        assert re.search(r"#\s*(estimate|facts|ramp-ups|observed):\s*\S", line), line
    data = prepare("beijing-etown-2023").data
    for p in sc.calibration.parameters:
        _, value = resolve(data, p.path)
        assert np.isfinite(p.logpdf(np.array([float(value)]))[0]), p.path


def test_the_record_is_2024_only() -> None:
    sc, _ = load_scenario("beijing-etown-2023")
    assert sc.calibration is not None and sc.calibration.observed is not None
    stmts = read_observations(beside("beijing-etown-2023", sc.calibration.observed))
    assert {s.first[:4] for s in stmts} == {s.last[:4] for s in stmts} == {"2024"}


def test_the_default_is_the_plan_calibrated_with_its_posterior() -> None:
    cal, _ = load_scenario("beijing-etown")
    plan, _ = load_scenario("beijing-etown-2023")
    assert cal.posterior is not None and plan.posterior is None
    assert cal.calibration == plan.calibration
    paths, values, weights = read_posterior(beside("beijing-etown", cal.posterior.file))
    assert paths == [p.path for p in plan.calibration.parameters]  # type: ignore[union-attr]
    assert weights.sum() == pytest.approx(1.0) and len(values) >= 500
    data = prepare("beijing-etown").data
    for j, p in enumerate(plan.calibration.parameters):  # type: ignore[union-attr]
        _, value = resolve(data, p.path)
        median = float(np.median(values[:, j]))
        if p.integer:
            assert value == int(round(median)), p.path
        else:
            assert float(value) == pytest.approx(median, rel=2e-3), p.path
