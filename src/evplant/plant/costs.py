"""What one more server or store place costs: the optional ``plant.costs`` section.

The optimiser's marginal values are cars a year per unit (a server at a station, a
place in the store after a shop); divided by these prices they rank where the next
unit of money buys the most cars, and a budget can be spent on them. Prices are money
per unit (the scenario's currency, CNY in the built-in scenarios), the same for every
phase that has the shop or station, most specific first: a station's own price, its
shop's, then the plant-wide default. A unit with no price at any level is unpriced:
it is ranked by cars alone, and a budget cannot buy it.
"""

from __future__ import annotations

from pydantic import Field, PositiveFloat

from ..base import Model

__all__ = ["PlantCosts", "ShopCosts"]


class ShopCosts(Model):
    """Prices in one shop (by its name, in every phase that has it)."""

    server: PositiveFloat | None = Field(
        None, description="price of one more server at any of this shop's stations"
    )
    store_place: PositiveFloat | None = Field(
        None, description="price of one more place in the store after this shop"
    )
    stations: dict[str, PositiveFloat] = Field(
        default_factory=dict, description="price of one more server, by station name"
    )


class PlantCosts(Model):
    """Prices of plant capacity, for `evplant optimize plant` and the report's ranking."""

    server: PositiveFloat | None = Field(
        None, description="default price of one more server at a station (money)"
    )
    store_place: PositiveFloat | None = Field(
        None, description="default price of one more place in a store after a shop (money)"
    )
    shops: dict[str, ShopCosts] = Field(
        default_factory=dict, description="prices that differ by shop (and station), by name"
    )

    def server_cost(self, shop: str, station: str) -> float | None:
        """Price of one more server at ``shop/station``: the station's, the shop's, or
        the default (None: unpriced)."""
        own = self.shops.get(shop)
        if own is not None:
            if station in own.stations:
                return float(own.stations[station])
            if own.server is not None:
                return float(own.server)
        return None if self.server is None else float(self.server)

    def place_cost(self, shop: str) -> float | None:
        """Price of one more place in the store after ``shop`` (None: unpriced)."""
        own = self.shops.get(shop)
        if own is not None and own.store_place is not None:
            return float(own.store_place)
        return None if self.store_place is None else float(self.store_place)
