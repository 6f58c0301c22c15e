"""A run without station statistics (``stats=False``, as Monte Carlo runs) gives the
same figures, bit for bit, less the shop columns."""

from __future__ import annotations

import math

from evplant.run import simulate
from evplant.scenario import load_scenario

SHOP_PREFIXES = (
    "util_",
    "blocked_",
    "failed_",
    "starved_",
    "availability_",
    "performance_",
    "quality_",
    "oee_",
    "bottleneck_",
)


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def test_run_without_statistics_gives_the_same_figures() -> None:
    sc, _ = load_scenario("beijing-etown", ["horizon.end=2025-09"])
    full = simulate(sc, 3)
    lean = simulate(sc, 3, stats=False)
    assert len(full.monthly) == len(lean.monthly)
    for f, le in zip(full.monthly, lean.monthly, strict=True):
        kept = {k: v for k, v in f.items() if not k.startswith(SHOP_PREFIXES)}
        assert set(kept) == {k for k in le if not k.startswith(SHOP_PREFIXES)}
        assert all(same(kept[k], le[k]) for k in kept), f["month"]
    assert any(r["produced"] > 0 for r in lean.monthly)
    assert not lean.table("station") and not lean.table("shop")
    a, b = full.summary.to_dict(), lean.summary.to_dict()
    for key, value in a.items():
        if not key.startswith("bottleneck_"):
            assert same(b[key], value), key
