"""The venture around the plant, month by month: the interface the month loop calls.

Each month the loop asks, in this order:

1. :meth:`Venture.build_plan` - cars per variant the venture wants started: the order
   book plus the finished stock it aims to hold (``target_stock_weeks`` of next month's
   expected orders) less the finished stock it has;
2. :meth:`Venture.kits` - the kits the line may start and when each arrives (supply);
3. the plant builds what kits and capacity allow;
4. :meth:`Venture.close_month` - books what was built: buyers choose, stores take
   orders, orders are cancelled and delivered, contract cars fill spare capacity, and
   the money is counted.  Returns the month's venture columns (all floats).

The parts (supply, market, channel, contract, finance) do not call each other; this
module passes values between them.  Each part draws from its own stream under the
run's seed (spawn keys 0 supply, 1 market, 2 channel), so the same seed gives the same
run and a change in one part leaves the others' draws alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import model_validator

from ..errors import EvplantError
from ..records import (
    ComponentMonth,
    DictView,
    ExportMonth,
    MoneyLine,
    Record,
    RivalMonth,
    VariantSales,
    VentureTotals,
    money_lines,
)
from ..seeds import child_seed
from .channel import Channel, ChannelConfig
from .common import VentureModel, invalid, month_number
from .contract import ContractConfig, contract_booked, contract_month, contract_start
from .finance import Finance, FinanceConfig
from .market import Market, MarketConfig
from .supply import KitSupply, Supply, SupplyConfig, SupplyMonth

_Problem = tuple[tuple[str | int, ...], str, object]


@dataclass(frozen=True)
class VentureMonth(DictView):
    """What the venture booked in a month: its records, and (as a read-only mapping)
    their wide columns, ``produced``, ``delivered``, ``cash``..."""

    totals: VentureTotals
    rivals: list[RivalMonth]
    components: list[ComponentMonth]
    exports: list[ExportMonth]
    sales: list[VariantSales]
    money: list[MoneyLine]

    def records(self) -> list[Record]:
        return [
            self.totals, *self.rivals, *self.components, *self.exports, *self.sales, *self.money
        ]

    def to_dict(self) -> dict[str, Any]:
        """The month's wide columns, every value a float."""
        out: dict[str, Any] = {}
        for rec in self.records():
            out.update({k: float(v) for k, v in rec.wide().items()})
        return out


class VentureConfig(VentureModel):
    """The venture section of a scenario: one sub-section per part."""

    supply: SupplyConfig
    market: MarketConfig
    channel: ChannelConfig
    contract: ContractConfig = ContractConfig()
    finance: FinanceConfig

    @model_validator(mode="after")
    def _same_variants(self) -> VentureConfig:
        """Every section names the variants the market sells, and only those."""
        known = set(self.market.variants)
        listed = sorted(known)
        problems: list[_Problem] = []
        loc: tuple[str | int, ...]
        for v in sorted(known - set(self.finance.unit_cost)):
            problems.append((("finance", "unit_cost"), f"no unit cost for variant {v!r}", v))
        for v in sorted(set(self.finance.unit_cost) - known):
            problems.append(
                (("finance", "unit_cost", v), f"{v!r} is not one of the variants {listed}", v)
            )
        for i, comp in enumerate(self.supply.components):
            for v in comp.per_vehicle or {}:
                if v not in known:
                    loc = ("supply", "components", i, "per_vehicle", v)
                    problems.append((loc, f"{v!r} is not one of the variants {listed}", v))
            for j, sup in enumerate(comp.suppliers):
                for v in sup.variants or []:
                    if v not in known:
                        loc = ("supply", "components", i, "suppliers", j, "variants")
                        problems.append((loc, f"{v!r} is not one of the variants {listed}", v))
            uses = listed
            if comp.per_vehicle is not None:
                uses = [v for v in listed if comp.per_vehicle.get(v, 0) > 0]
            for v in uses:
                if not any(s.variants is None or v in s.variants for s in comp.suppliers):
                    loc = ("supply", "components", i, "suppliers")
                    problems.append((loc, f"no supplier of {comp.name!r} fits variant {v!r}", v))
        invalid("VentureConfig", problems)
        return self


def _column(name: str) -> str:
    """A rival or market name as it appears inside a column name: ``Rival Co`` -> ``rival_co``."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


class Venture:
    """The venture for one run over ``months`` (``'YYYY-MM'``), variants in the plant's order.

    Arrays passed in and out are indexed by variant in the order of ``variants``.
    """

    def __init__(
        self,
        cfg: VentureConfig,
        variants: list[str],
        months: list[str],
        seed: np.random.SeedSequence,
    ) -> None:
        missing = [v for v in variants if v not in cfg.market.variants]
        extra = [v for v in cfg.market.variants if v not in variants]
        if missing or extra:
            raise EvplantError(
                f"the plant builds {list(variants)} but the market sells "
                f"{list(cfg.market.variants)}: name the same variants",
                field="venture.market.variants",
            )
        if not months:
            raise ValueError("the run needs at least one month")
        self.cfg = cfg
        self.variants = list(variants)
        self.months = list(months)
        self.month_numbers = np.array([month_number(m) for m in months], dtype=np.int64)
        if (np.diff(self.month_numbers) != 1).any():
            raise ValueError("months must be consecutive")

        self.supply = Supply(cfg.supply, self.variants, self.month_numbers, child_seed(seed, 0))
        self.market = Market(cfg.market, self.variants, self.month_numbers, child_seed(seed, 1))
        self.channel = Channel(
            cfg.channel,
            len(self.variants),
            len(cfg.market.exports),
            self.month_numbers,
            child_seed(seed, 2),
        )
        self.finance = Finance(cfg.finance, self.variants, self.month_numbers)
        self.rows: list[dict[str, float]] = []
        self._next = 0  # the month close_month books next
        self._plan = np.zeros(len(self.variants), dtype=np.int64)
        self._kits: KitSupply | None = None
        self._supply_month: SupplyMonth | None = None

    # --- forecasts -------------------------------------------------------------------

    def expected_orders(self, month: int) -> np.ndarray:
        """Orders per variant the venture expects in a month (a month number): buyers at
        today's quoted wait, up to the stores' capacity then, plus exports."""
        demand = self.market.expected_demand(month, self.channel.wait_weeks)
        stores = float(np.rint(np.interp(month, self.month_numbers, self.channel.stores)))
        capacity = stores * self.cfg.channel.orders_per_store_per_month
        if demand.sum() > capacity:
            demand = demand * capacity / demand.sum()
        return np.asarray(demand + self.market.expected_exports(month))

    # --- the month ---------------------------------------------------------------------

    def build_plan(self, t: int) -> np.ndarray:
        """Vehicles per variant the venture wants started in month ``t`` (int64):
        open orders + target finished stock - finished stock, before kits and capacity."""
        self._check_month(t)
        target = self.channel.target_stock(self.expected_orders(int(self.month_numbers[t]) + 1))
        plan = self.channel.open_orders() + target - self.channel.stock
        return np.asarray(np.maximum(plan, 0).astype(np.int64))

    def kits(self, t: int, plan: np.ndarray) -> KitSupply:
        """Kits the line may start in month ``t``: ``count`` per variant and
        ``arrival_frac``, one sorted array per variant of instants in [0, 1) (kits held
        from earlier months at 0).  Applies shortages and the allocation rule."""
        self._check_month(t)
        if self._kits is not None:
            raise RuntimeError(f"kits({t}, plan) was already called for this month")
        plan = np.asarray(plan)
        if plan.shape != (len(self.variants),) or (plan < 0).any():
            raise ValueError(f"plan must be {len(self.variants)} counts >= 0, got {plan}")
        month = int(self.month_numbers[t])
        ahead = np.array(
            [self.expected_orders(month + 1 + k) for k in range(self.supply.horizon)]
        ).reshape(self.supply.horizon, len(self.variants))
        margin = (
            self.finance.net_price_cny(self.market.price_cny(month))
            - self.finance.build_cost_cny(self.finance.built, self.finance.built)
            - self.supply.parts_cost_per_vehicle(t)
        )
        kits, supply_month = self.supply.receive(t, plan, ahead, margin)
        self._plan = plan.astype(np.int64)
        self._kits, self._supply_month = kits, supply_month
        return kits

    def contract_start(self, t: int, capacity_per_month: float, own_planned: float) -> int:
        """Contract cars to release in month ``t`` into the contract's line, whose
        capacity is ``capacity_per_month`` with ``own_planned`` own cars planned on it
        (:func:`evplant.venture.contract.contract_start`)."""
        month = int(self.month_numbers[t])
        return contract_start(self.cfg.contract, month, capacity_per_month, own_planned)

    def close_month(
        self,
        t: int,
        produced: np.ndarray,
        kits_used: np.ndarray,
        capacity_per_month: float,
        capex_plant_cny: float = 0.0,
        contract_built: float | None = None,
    ) -> VentureMonth:
        """Book month ``t`` and return its records (a mapping of its wide columns too).

        ``produced``: cars per variant completed by general assembly this month;
        ``kits_used``: kits the line started; ``capacity_per_month``: what the plant
        could have built; ``capex_plant_cny``: capex the plant books itself this month;
        ``contract_built``: the client's cars the line completed this month (None: no
        line is simulated, and the client's cars are taken as built on the capacity
        own cars left).
        """
        self._check_month(t)
        if self._kits is None or self._supply_month is None:
            raise RuntimeError(f"call kits({t}, plan) before close_month({t})")
        whole = np.asarray(produced, dtype=np.int64)
        if whole.shape != (len(self.variants),) or (whole < 0).any():
            raise ValueError(f"produced must be {len(self.variants)} counts >= 0, got {produced}")
        if (whole != np.asarray(produced)).any():
            raise ValueError(f"produced must be whole cars, got {produced}")
        produced = whole
        kits, supplied = self._kits, self._supply_month
        self.supply.consume(kits_used)
        self.supply.note_capacity(float(capacity_per_month))

        market = self.market.step(t, self.channel.wait_weeks)
        sold = self.channel.step(t, produced, market.demand, market.exports)
        month = int(self.month_numbers[t])
        if contract_built is None:
            contract = contract_month(self.cfg.contract, month, capacity_per_month, produced.sum())
        else:
            spare = max(0.0, float(capacity_per_month) - float(produced.sum()) - contract_built)
            contract = contract_booked(self.cfg.contract, contract_built, spare)
        price = self.market.price_cny(month)
        money = self.finance.step(
            t,
            produced=produced,
            delivered=sold.delivered,
            price_incl_vat=price,
            export_price_factor=np.array([e.price_factor for e in self.cfg.market.exports]),
            parts_spend_cny=supplied.spend_cny,
            contract_revenue_cny=contract.revenue_cny,
            contract_cost_cny=contract.cost_cny,
            stores=sold.stores,
            capex_plant_cny=capex_plant_cny,
            parts_cost_per_vehicle_cny=self.supply.parts_cost_per_vehicle(t),
        )

        used = np.asarray(kits_used, dtype=np.int64)
        # kits short: what the plan wanted, scaled down to what the plant could build this
        # month, less the kits there were (an order book beyond capacity is not a shortage)
        plan = self._plan.astype(np.float64)
        fit = min(1.0, capacity_per_month / plan.sum()) if plan.sum() > 0 else 1.0
        short = np.maximum(np.floor(plan * fit + 1e-9) - kits.count, 0.0)
        label = self.months[t]
        totals = VentureTotals(
            label,
            plan=float(self._plan.sum()),
            kits_received=float(kits.received.sum()),
            kits_used=float(used.sum()),
            kit_stock=float(self.supply.state.kit_stock.sum()),
            kits_short=float(short.sum()),
            produced=float(produced.sum()),
            delivered=float(sold.delivered.sum()),
            stock=float(sold.stock.sum()),
            demand=float(market.demand.sum()),
            turned_away=float(sold.turned_away.sum()),
            orders=float(sold.orders.sum()),
            orders_domestic=float(sold.orders_domestic.sum()),
            export_orders=float(sold.orders[1:].sum()),
            cancelled=float(sold.cancelled.sum()),
            backlog=float(sold.backlog.sum()),
            wait_weeks=float(sold.wait_weeks_total),
            stores=float(sold.stores),
            sales_capacity=float(sold.sales_capacity),
            share_own=float(market.share_own),
            contract_units=float(contract.units),
            spare_capacity=float(contract.spare_capacity),
            capacity_per_month=float(capacity_per_month),
        )
        booked = VentureMonth(
            totals=totals,
            rivals=[
                RivalMonth(label, _column(r), float(x)) for r, x in market.share_rivals.items()
            ],
            components=[
                ComponentMonth(
                    label,
                    name,
                    price_factor=float(supplied.price_factor[name]),
                    shortage=float(supplied.depth[name]),
                    received=float(supplied.received_units[name]),
                    on_hand=float(supplied.on_hand_units[name]),
                )
                for name in supplied.received_units
            ],
            exports=[
                ExportMonth(
                    label,
                    _column(e.name),
                    orders=float(sold.orders[1 + k].sum()),
                    closed=float(market.export_closed[k]),
                )
                for k, e in enumerate(self.cfg.market.exports)
            ],
            sales=[
                VariantSales(
                    label,
                    v,
                    produced=float(produced[i]),
                    orders=float(sold.orders[:, i].sum()),
                    delivered=float(sold.delivered[:, i].sum()),
                    backlog=float(sold.backlog[i]),
                    wait_weeks=float(sold.wait_weeks[i]),
                    kits_short=float(short[i]),
                    price_cny=float(price[i]),
                    revenue_cny=float(self.finance.by_variant["revenue_cny"][i]),
                    cost_build_cny=float(self.finance.by_variant["cost_build_cny"][i]),
                    cogs_cny=float(self.finance.by_variant["cogs_cny"][i]),
                )
                for i, v in enumerate(self.variants)
            ],
            money=money_lines(label, money),
        )
        self.rows.append(booked.to_dict())
        self._next += 1
        self._kits = self._supply_month = None
        return booked

    def summary(self) -> dict[str, Any]:
        """The run's venture figures: NPV, lowest cash, break-even, the budget, totals;
        ``brand`` and ``brands`` (each brand's name and colour, ``own`` the venture's)."""
        out: dict[str, Any] = dict(self.finance.summary())
        market = self.cfg.market
        out["brand"] = market.brand.name
        looks = {"own": market.brand, **market.rival_brands}
        out["brands"] = {k: {"name": b.name, "colour": b.colour} for k, b in looks.items()}

        def total(key: str) -> float:
            return float(sum(r[key] for r in self.rows))

        for key in (
            "produced",
            "delivered",
            "orders",
            "export_orders",
            "cancelled",
            "turned_away",
            "kits_short",
            "contract_units",
        ):
            out[f"{key}_total"] = total(key)
        for key in ("revenue", "cost", "opex", "capex"):
            out[f"{key}_total_cny"] = total(key)
        waits = [r["wait_weeks"] for r in self.rows]
        out["mean_wait_weeks"] = float(np.mean(waits)) if waits else None
        out["max_wait_weeks"] = float(np.max(waits)) if waits else None
        out["final_backlog"] = self.rows[-1]["backlog"] if self.rows else None
        out["months"] = float(len(self.rows))
        return out

    def skip_to(self, t: int) -> None:
        """Book month ``t`` next: a run continued from a state (:mod:`.state`)."""
        self._next = t

    def _check_month(self, t: int) -> None:
        if t != self._next:
            raise RuntimeError(f"the venture is at month {self._next}, not {t}")
