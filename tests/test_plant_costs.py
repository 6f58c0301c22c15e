"""The prices of plant capacity (``plant.costs``): the most specific price wins, a unit
priced nowhere is unpriced, and a price must be positive."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from evplant.plant.costs import PlantCosts

COSTS = PlantCosts.model_validate(
    {
        "server": 9.0,
        "store_place": 1.0,
        "shops": {
            "paint": {"server": 5.0, "store_place": 0.5, "stations": {"booths": 7.0}},
            "body": {"stations": {"framing": 3.0}},
        },
    }
)


def test_a_stations_own_price_then_its_shops_then_the_plants() -> None:
    assert COSTS.server_cost("paint", "booths") == 7.0  # the station's own
    assert COSTS.server_cost("paint", "oven") == 5.0  # its shop's
    assert COSTS.server_cost("body", "framing") == 3.0
    assert COSTS.server_cost("body", "underbody") == 9.0  # the shop has no default
    assert COSTS.server_cost("stamping", "press-line") == 9.0  # a shop not listed
    # a station's price belongs to its shop: the same name elsewhere takes the default
    assert COSTS.server_cost("stamping", "booths") == 9.0
    assert COSTS.place_cost("paint") == 0.5
    assert COSTS.place_cost("body") == 1.0
    assert COSTS.place_cost("stamping") == 1.0


def test_a_unit_priced_nowhere_is_unpriced() -> None:
    bare = PlantCosts.model_validate({"shops": {"paint": {"stations": {"booths": 7.0}}}})
    assert bare.server_cost("paint", "booths") == 7.0
    assert bare.server_cost("paint", "oven") is None
    assert bare.server_cost("body", "framing") is None
    assert bare.place_cost("paint") is None
    assert PlantCosts().server_cost("paint", "booths") is None
    assert PlantCosts().place_cost("paint") is None
    # prices come back as floats, whatever number was written
    ints = PlantCosts.model_validate({"server": 4, "store_place": 2})
    assert isinstance(ints.server_cost("a", "b"), float)
    assert isinstance(ints.place_cost("a"), float)


@pytest.mark.parametrize(
    "data",
    [
        {"server": 0},
        {"store_place": -1.0},
        {"shops": {"paint": {"server": 0.0}}},
        {"shops": {"paint": {"stations": {"booths": -5}}}},
        {"shops": {"paint": {"rate": 1.0}}},  # an unknown key is refused, not dropped
    ],
)
def test_a_price_must_be_positive(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PlantCosts.model_validate(data)
