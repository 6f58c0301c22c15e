"""Loading scenarios: copies that share nothing, one pipeline, one path walker."""

from __future__ import annotations

from evplant.scenario import load_scenario


def _store_after(sc, phase: str, shop: str) -> int:
    ph = next(p for p in sc.plant.phases if p.name == phase)
    return next(s for s in ph.shops if s.name == shop).store_after


def test_a_phase2_override_leaves_phase1_alone() -> None:
    base, _ = load_scenario("beijing-etown")
    before = _store_after(base, "phase1", "paint")
    sc, _ = load_scenario("beijing-etown", ["plant.phases.phase2.shops.paint.store_after=7"])
    assert _store_after(sc, "phase2", "paint") == 7
    assert _store_after(sc, "phase1", "paint") == before != 7


def test_one_walker_sets_by_name_or_index_and_copies_share_nothing() -> None:
    from evplant.scenario import prepare
    from evplant.scenario.paths import apply, resolve, set_path

    prepared = prepare("beijing-etown", ["horizon.end=2024-06"])
    assert prepared.overridden == {("horizon", "end"): "horizon.end=2024-06"}
    loc, value = resolve(prepared.data, "plant.phases.phase2.shops.paint.store_after")
    assert loc == ("plant", "phases", 1, "shops", 3, "store_after")
    assert resolve(prepared.data, "plant.phases.-1.name")[0] == ("plant", "phases", 1, "name")
    edited = apply(prepared.data, [loc], [value + 5])
    assert resolve(edited, "plant.phases.phase2.shops.paint.store_after")[1] == value + 5
    assert resolve(prepared.data, "plant.phases.phase2.shops.paint.store_after")[1] == value
    assert resolve(edited, "plant.phases.phase1.shops.paint.store_after")[1] == value
    sc = prepared.with_values([loc], [value + 5], label="calibration draw 0")
    assert sc.plant.phases[1].shops[3].store_after == value + 5
    assert set_path(edited, "plant.partner.name", "GWM") == ("plant", "partner", "name")


def test_a_drawn_value_no_scenario_allows_names_its_source() -> None:
    import pytest

    from evplant.errors import EvplantError
    from evplant.scenario import prepare
    from evplant.scenario.paths import resolve

    prepared = prepare("beijing-etown")
    loc, _ = resolve(prepared.data, "plant.phases.phase1.nameplate_per_year")
    with pytest.raises(EvplantError, match="nameplate_per_year") as info:
        prepared.with_values([loc], [-1.0], label="draw 3")
    assert "draw 3" in str(info.value)


def test_months_count_from_one_epoch() -> None:
    from evplant.months import month_label, month_number, months

    assert month_number("2024-01") == 0 and month_number("2025-09") == 20
    assert month_number("2023-12") == -1 and month_label(-1) == "2023-12"
    assert month_label(20.4) == "2025-09" and month_label(float("nan")) == "never"
    assert months("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]


def test_child_seed_is_a_spawn_key_under_its_parent() -> None:
    import numpy as np

    from evplant.seeds import child_seed

    parent = np.random.SeedSequence(7).spawn(3)[2]
    kid = child_seed(parent, 1, 4)
    assert kid.entropy == 7 and kid.spawn_key == (2, 1, 4)
    assert child_seed(7, 5).spawn_key == np.random.SeedSequence(7).spawn(6)[5].spawn_key
