"""A run's summary against its own monthly table: every plant figure of ``summary.json``
(and of the guide's printed run) recomputed from the rows by its definition, so that
the guide's numbers are not the only check on how they are gathered."""

from __future__ import annotations

from collections import Counter

import pytest

from evplant import load_scenario, simulate
from evplant.run import RunResult
from evplant.scenario.schema import Scenario


@pytest.fixture(scope="module")
def run() -> tuple[Scenario, RunResult]:
    # long enough to cross a year, reach the target rate, see more than one shop hold
    # the line back and end with both phases at work
    scenario, _ = load_scenario("beijing-etown", ["horizon.end=2025-08"])
    return scenario, simulate(scenario, seed=1)


def test_the_plant_summary_is_its_months_by_definition(run: tuple[Scenario, RunResult]) -> None:
    scenario, result = run
    rows = result.monthly
    s = result.summary.plant
    months = [row["month"] for row in rows]
    produced = [float(row["produced"]) for row in rows]
    capacity = [float(row["capacity"]) for row in rows]
    assert s["horizon"] == f"{months[0]}..{months[-1]}" == "2024-01..2025-08"
    assert s["vehicles_produced"] == sum(produced)
    for figure, column in (("produced_by_year", produced), ("capacity_by_year", capacity)):
        by_year: dict[str, float] = {}
        for m, v in zip(months, column, strict=True):
            by_year[m[:4]] = by_year.get(m[:4], 0.0) + v
        assert s[figure] == pytest.approx(by_year, rel=1e-12), figure  # type: ignore[literal-required]
        assert set(by_year) == {"2024", "2025"}
    assert s["peak_month_produced"] == max(produced)
    # the first month from which every rolling three-month mean of output (capacity),
    # to the end of the horizon, holds a twelfth of the yearly target
    per_month = scenario.plant.target_rate / 12

    def held(series: list[float]) -> str:
        means = [sum(series[k:k + 3]) / 3 for k in range(len(series) - 2)]
        return next(months[k] for k in range(len(means))
                    if all(x >= per_month for x in means[k:]))

    assert s["first_month_at_target_rate"] == held(produced)
    assert s["first_month_capacity_at_target_rate"] == held(capacity)
    assert s["first_month_capacity_at_target_rate"] <= s["first_month_at_target_rate"]  # type: ignore[operator]
    # the bottleneck: the shop (station) that held the line back in the most months
    shops = Counter(row["bottleneck_shop"] for row in rows if row["bottleneck_shop"])
    stations = Counter(row["bottleneck_station"] for row in rows if row["bottleneck_station"])
    assert s["bottleneck_shop_months"] == dict(shops)
    assert sum(shops.values()) == sum(1 for c in capacity if c > 0)  # every working month
    assert len(shops) > 1  # so that "the most months" is a choice
    assert s["bottleneck_shop"] == shops.most_common(1)[0][0]
    assert s["bottleneck_station"] == stations.most_common(1)[0][0]
    assert s["bottleneck_station"].startswith(f"{s['bottleneck_shop']}/")  # type: ignore[union-attr]
    # what is in work at the end is every phase's, in the last month's row
    last = rows[-1]
    assert s["in_work_at_end"] == sum(float(last[f"in_work_{p.name}"])
                                      for p in scenario.plant.phases)
    assert all(float(last[f"in_work_{p.name}"]) > 0 for p in scenario.plant.phases)
    partner = scenario.plant.partner
    assert partner is not None and s["partner"] == partner.name
    assert s["shops"] == scenario.plant.shop_order
