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
