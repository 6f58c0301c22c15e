"""Supply: components from suppliers, made into kits, the kits released to the line.

A car cannot start without its kit: one of each tracked component it uses (chips, a
battery pack, ...).  Each month, for each component:

1. **Episodes.** A shortage common to the component (an industry-wide chip crisis)
   and one per supplier (a fire, a strike) each take a share of capacity away.  The
   common one also raises the component's price: ``1 + price_rise_at_full_depth * depth``
   (on top of a steady ``price_change_per_year``).
2. **Orders** (order-up-to, per supplier).  The target is what the venture needs now
   (this month's plan less the kits it already holds) plus its forecast over the
   component's longest lead time, plus safety stock (weeks of next month's forecast),
   split between the suppliers that fit each variant in proportion to their ``share``.
   Whatever the supplier's position (on hand, in transit, ordered and not yet made)
   falls short of its target is ordered; above target, orders not yet made are cut.
   This month's plan is first capped at the plant's best month so far grown by
   ``max_capacity_growth_per_month``, so a long order book does not buy parts (or make
   kits) the plant could never use; the months ahead are the venture's expected orders.
3. **Making and shipping.** A supplier makes ``min(open orders, capacity * (1 - depth))``
   in the month and ships it; it arrives ``lead_time_months`` later, in
   ``deliveries_per_month`` equal batches at evenly spaced instants with a random phase.
4. **Kits.** New kits are formed up to the (capped) plan, from the units on hand and
   those that arrived.  When parts are short the kits are shared across variants by the
   stated rule (``margin_first``: variants by unit margin, highest first; ``pro_rata``: all
   variants get the same share of their need, the rest by margin).  A supplier's
   parts only fit the variants it is listed for, so feasibility is a transportation
   problem: by Gale's theorem the kits ``x`` can be made iff, for every set ``W`` of
   variants, ``sum(usage * x over W) <= stock of the suppliers that fit some v in W``;
   with a handful of variants all sets are checked directly, and the actual units are
   assigned with a maximum flow (:mod:`.flow`).
5. **Release instants.** A kit is complete when its last part is there: per variant,
   the ``k``-th kit's instant is the latest of the instants of its ``k``-th set of
   parts, each component's units taken earliest first.  Kits (and parts) still unused
   from earlier months count as there at instant 0.

``arrival_frac`` is one sorted array per variant (the kits held at the start of the
month at 0, then the new ones), each value a fraction of the month in [0, 1).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field, NonNegativeFloat, field_validator, model_validator

from .common import (
    WEEKS_PER_MONTH,
    Name,
    Schedule,
    VentureModel,
    child_rng,
    level_positions,
    schedule_at,
    split_int,
)
from .episodes import Episodes, EpisodeState, step_episodes
from .flow import Network, max_flow

_LAST_INSTANT = float(np.nextafter(1.0, 0.0))


class SupplierConfig(VentureModel):
    """One supplier of one component."""

    name: Name
    capacity_per_month: NonNegativeFloat | Schedule = Field(
        description="units a month the supplier can make for the venture (or a schedule)"
    )
    lead_time_months: int = Field(default=1, ge=0, le=24, description="from making to arrival")
    share: float = Field(default=1.0, gt=0, description="share of orders placed here (normalised)")
    variants: list[str] | None = Field(
        default=None, min_length=1, description="variants its parts fit (default: all)"
    )
    deliveries_per_month: int = Field(default=20, ge=1, le=744, description="equal batches a month")
    stock_at_start: int = Field(
        default=0, ge=0, description="units on hand at the start of the run"
    )
    shortage: Episodes = Field(default=Episodes(), description="this supplier's own")

    @field_validator("variants")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        # a variant named twice would be booked once: refuse it rather than drop it
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"variants must be distinct, got {value}")
        return value


class ComponentConfig(VentureModel):
    """A tracked component: without it the car's kit is incomplete."""

    name: Name
    per_vehicle: dict[str, int] | None = Field(
        default=None, description="units per vehicle by variant (default: 1 for every variant)"
    )
    price_cny: NonNegativeFloat = Field(description="price per unit without a shortage")
    price_change_per_year: float = Field(
        default=0.0, ge=-0.5, le=0.5, description="steady price trend from the start of the run"
    )
    price_rise_at_full_depth: NonNegativeFloat = Field(
        default=0.0, description="price factor is 1 + this * depth of the common shortage"
    )
    safety_stock_weeks: float = Field(default=0.0, ge=0, le=52, description="weeks of forecast use")
    shortage: Episodes = Field(default=Episodes(), description="common to all suppliers")
    suppliers: list[SupplierConfig] = Field(min_length=1)
    station: str | None = Field(
        default=None,
        pattern=r"^[^/]+/[^/]+$",
        description="the shop/station that fits it: a car is started without it and "
        "waits before that station for its set (default: part of the kit the car is "
        "started with)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ComponentConfig:
        names = [s.name for s in self.suppliers]
        if len(set(names)) != len(names):
            raise ValueError(f"supplier names must be unique, got {names}")
        if self.per_vehicle and any(n < 0 or n > 100 for n in self.per_vehicle.values()):
            raise ValueError("per_vehicle must be between 0 and 100 units")
        return self


class SupplyConfig(VentureModel):
    """Components, their suppliers, and how short kits are shared across variants."""

    components: list[ComponentConfig] = Field(min_length=1)
    allocation: Literal["margin_first", "pro_rata"] = Field(
        default="margin_first", description="how short kits are shared across variants"
    )
    max_capacity_growth_per_month: float = Field(
        default=0.15,
        ge=0,
        le=5,
        description="this month's kits are made for at most (1 + this) times the "
        "plant's best month so far",
    )

    @model_validator(mode="after")
    def _unique(self) -> SupplyConfig:
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique, got {names}")
        return self


@dataclass
class KitSupply:
    """Kits the line may start in a month (see the module docstring)."""

    count: np.ndarray  # int64 [variants]: held at the start of the month + received
    arrival_frac: list[np.ndarray]  # per variant: sorted instants in [0, 1), len count[v]
    received: np.ndarray  # int64 [variants]: new kits formed this month
    # components fitted at a station: per variant, the sorted instants their sets for
    # the kits come (len count[v]; rank for rank with arrival_frac); not in arrival_frac
    at_station: dict[str, list[np.ndarray]] = field(default_factory=dict)


@dataclass
class SupplyMonth:
    """What supply booked in a month besides the kits."""

    spend_cny: float  # parts received, at this month's prices
    received_units: dict[str, int]
    on_hand_units: dict[str, int]  # parts not (yet) in a kit, after kitting
    depth: dict[str, float]  # common shortage depth per component
    price_factor: dict[str, float]


@dataclass
class _Component:
    """A component compiled against the run's variants and months."""

    name: str
    usage: np.ndarray  # int64 [V]
    fits: np.ndarray  # bool [S, V]
    capacity: np.ndarray  # float [S, months]
    lead: np.ndarray  # int64 [S]
    share: np.ndarray  # float [S]
    deliveries: np.ndarray  # int64 [S]
    price_cny: np.ndarray  # float [months]: the price without a shortage
    price_rise: float
    safety_weeks: float
    station: str | None
    shortage: Episodes
    supplier_shortage: list[Episodes]
    # Gale's constraints: one row per set of variants, sum(rows * x) <= stock of bound_fits
    rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    bound_fits: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))


@dataclass
class SupplyState:
    on_hand: list[np.ndarray]  # per component: units per supplier, not in a kit
    open_orders: list[np.ndarray]  # per component: ordered, not yet made, per supplier
    pipeline: list[np.ndarray]  # per component: [S, max lead + 1] shipped, arriving in k months
    kit_stock: np.ndarray  # per variant: kits formed, not yet used by the line
    common: list[EpisodeState]
    own: list[list[EpisodeState]]
    best_capacity: list[float] = field(default_factory=list)  # plant's best month, by month


def _compile(cfg: ComponentConfig, variants: list[str], months: np.ndarray) -> _Component:
    v_index = {v: i for i, v in enumerate(variants)}
    usage = np.ones(len(variants), dtype=np.int64)
    if cfg.per_vehicle is not None:
        usage = np.array([cfg.per_vehicle.get(v, 0) for v in variants], dtype=np.int64)
    fits = np.zeros((len(cfg.suppliers), len(variants)), dtype=bool)
    for s, sup in enumerate(cfg.suppliers):
        for v in sup.variants or variants:
            if v in v_index:
                fits[s, v_index[v]] = True
    comp = _Component(
        name=cfg.name,
        usage=usage,
        fits=fits,
        capacity=np.stack([schedule_at(s.capacity_per_month, months) for s in cfg.suppliers]),
        lead=np.array([s.lead_time_months for s in cfg.suppliers], dtype=np.int64),
        share=np.array([s.share for s in cfg.suppliers], dtype=np.float64),
        deliveries=np.array([s.deliveries_per_month for s in cfg.suppliers], dtype=np.int64),
        price_cny=cfg.price_cny
        * (1.0 + cfg.price_change_per_year) ** ((months - months[0]) / 12.0),
        price_rise=cfg.price_rise_at_full_depth,
        safety_weeks=cfg.safety_stock_weeks,
        station=cfg.station,
        shortage=cfg.shortage,
        supplier_shortage=[s.shortage for s in cfg.suppliers],
    )
    users = [v for v in range(len(variants)) if usage[v] > 0]
    rows, bounds = [], []
    for r in range(1, len(users) + 1):
        for subset in itertools.combinations(users, r):
            row = np.zeros(len(variants))
            row[list(subset)] = usage[list(subset)]
            rows.append(row)
            bounds.append(fits[:, list(subset)].any(axis=1))
    comp.rows = np.array(rows).reshape(len(rows), len(variants))
    comp.bound_fits = np.array(bounds, dtype=bool).reshape(len(rows), len(cfg.suppliers))
    return comp


def allocate_kits(
    need: np.ndarray,
    rows: np.ndarray,
    bounds: np.ndarray,
    priority: np.ndarray,
    rule: str,
) -> np.ndarray:
    """Kits per variant under linear limits ``rows @ x <= bounds`` and ``x <= need``.

    ``margin_first`` serves variants in order of ``priority`` (highest first), each as
    far as the parts allow; ``pro_rata`` gives every variant the same largest feasible
    share of its need, then hands what is left over by priority.
    """
    need = np.maximum(np.asarray(need, dtype=np.int64), 0)
    x = np.zeros_like(need)
    order = np.argsort(-np.asarray(priority, dtype=np.float64), kind="stable")
    if rule == "pro_rata" and rows.size:
        load = rows @ need
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(load > 0, bounds / np.where(load > 0, load, 1.0), np.inf)
        share = float(min(1.0, ratio.min(initial=np.inf)))
        x = np.floor(share * need + 1e-9).astype(np.int64)
    for v in order:
        x[v] += min(int(need[v] - x[v]), _headroom(v, x, rows, bounds))
    return x


def _headroom(v: int, x: np.ndarray, rows: np.ndarray, bounds: np.ndarray) -> int:
    """How many more kits of variant ``v`` the parts allow, the others held at ``x``."""
    uses = rows[:, v] > 0 if rows.size else np.zeros(0, dtype=bool)
    if not uses.any():
        return np.iinfo(np.int64).max // 4
    slack = bounds[uses] - rows[uses] @ x
    return max(0, int(np.floor(np.min(slack / rows[uses, v]) + 1e-9)))


def assign_units(stock: np.ndarray, fits: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Units each supplier gives each variant: a maximum flow from suppliers to variants
    (:mod:`.flow`, the flow scipy's solver finds)."""
    n_s, n_v = fits.shape
    if demand.sum() == 0:
        return np.zeros((n_s, n_v), dtype=np.int64)
    if n_s == 1:
        return demand[None, :].astype(np.int64)
    src, sink = 0, n_s + n_v + 1
    big = int(stock.sum() + demand.sum() + 1)
    edges: list[tuple[int, int, int]] = []  # (from, to, capacity)
    for s in range(n_s):
        edges.append((src, 1 + s, int(stock[s])))
        edges += [(1 + s, 1 + n_s + v, big) for v in range(n_v) if fits[s, v] and demand[v] > 0]
    edges += [(1 + n_s + v, sink, int(demand[v])) for v in range(n_v)]
    net = Network(sink + 1, edges)
    if max_flow(net, src, sink) != int(demand.sum()):  # Gale's check said it fits: a bug if not
        raise AssertionError("kit allocation infeasible for the parts on hand")
    given = np.zeros((n_s, n_v), dtype=np.int64)
    for s in range(n_s):
        for v in range(n_v):
            given[s, v] = max(net.edge_flow(1 + s, 1 + n_s + v), 0)
    return given


class Supply:
    """Suppliers, part stocks and kits for one run (state lives in :attr:`state`)."""

    def __init__(
        self,
        cfg: SupplyConfig,
        variants: list[str],
        months: np.ndarray,
        seed: np.random.SeedSequence,
    ) -> None:
        self.cfg = cfg
        self.variants = list(variants)
        self.months = np.asarray(months, dtype=np.int64)
        self.parts = [_compile(c, self.variants, self.months) for c in cfg.components]
        #: months of forecast the orders look ahead (the longest lead time)
        self.horizon = int(max(int(p.lead.max()) for p in self.parts))
        self._rng_common = [child_rng(seed, 0, c) for c in range(len(self.parts))]
        self._rng_own = [
            [child_rng(seed, 1, c, s) for s in range(p.lead.size)] for c, p in enumerate(self.parts)
        ]
        self._rng_timing = child_rng(seed, 2)
        n_v = len(self.variants)
        self.state = SupplyState(
            on_hand=[
                np.array([s.stock_at_start for s in c.suppliers], dtype=np.int64)
                for c in cfg.components
            ],
            open_orders=[np.zeros(p.lead.size, dtype=np.int64) for p in self.parts],
            pipeline=[
                np.zeros((p.lead.size, int(p.lead.max()) + 1), dtype=np.int64) for p in self.parts
            ],
            kit_stock=np.zeros(n_v, dtype=np.int64),
            common=[EpisodeState() for _ in self.parts],
            own=[[EpisodeState() for _ in range(p.lead.size)] for p in self.parts],
        )
        self.price_factor = np.ones(len(self.parts))

    @property
    def rng_common(self) -> list[np.random.Generator]:
        """Each component's common shortage stream (a run's state carries them)."""
        return self._rng_common

    @property
    def rng_own(self) -> list[list[np.random.Generator]]:
        """Each supplier's own shortage stream, per component."""
        return self._rng_own

    @property
    def rng_timing(self) -> np.random.Generator:
        """The deliveries' timing stream."""
        return self._rng_timing

    def parts_cost_per_vehicle(self, t: int) -> np.ndarray:
        """Tracked parts per vehicle of each variant in month ``t`` (latest shortage), CNY."""
        cost = np.zeros(len(self.variants))
        for c, p in enumerate(self.parts):
            cost += p.usage * p.price_cny[t] * self.price_factor[c]
        return cost

    def note_capacity(self, capacity_per_month: float) -> None:
        """The plant's capacity this month: it caps what the orders may plan for."""
        best = self.state.best_capacity
        best.append(max(best[-1] if best else 0.0, float(capacity_per_month)))

    def receive(
        self, t: int, plan: np.ndarray, forecast: np.ndarray, priority: np.ndarray
    ) -> tuple[KitSupply, SupplyMonth]:
        """Month ``t``: order, make, ship, receive and form kits up to ``plan``.

        ``forecast[k]`` is the kits wanted per variant in month ``t + 1 + k`` (at least
        :attr:`horizon` rows); ``priority`` ranks variants for short kits (unit margins).
        """
        st = self.state
        plan = np.maximum(np.asarray(plan, dtype=np.int64), 0)
        ahead = np.zeros((self.horizon, len(self.variants)))
        if self.horizon:
            ahead = np.asarray(forecast, dtype=np.float64)[: self.horizon]
        # kits are made and parts ordered for what the plant can build: the plan (which
        # carries the whole order book) is capped first, shared across variants in
        # proportion to the plan, then the kits held are netted.  The months ahead are
        # expected orders, which carry no order book and need no cap.
        plan_cap = self._capped(plan.astype(np.float64))
        need = np.maximum(np.floor(plan_cap + 1e-9).astype(np.int64) - st.kit_stock, 0)
        need_cap = need.astype(np.float64)

        spend, received, depth = 0.0, {}, {}
        available, times = [], []
        for c, p in enumerate(self.parts):
            st.common[c], d_common, _ = step_episodes(p.shortage, st.common[c], self._rng_common[c])
            d_own = np.zeros(p.lead.size)
            for s in range(p.lead.size):
                st.own[c][s], d_own[s], _ = step_episodes(
                    p.supplier_shortage[s], st.own[c][s], self._rng_own[c][s]
                )
            self._order(c, p, need_cap, ahead)
            arrived = self._make_and_ship(c, p, t, d_common, d_own)
            self.price_factor[c] = 1.0 + p.price_rise * d_common
            spend += float(arrived.sum()) * p.price_cny[t] * self.price_factor[c]
            received[p.name], depth[p.name] = int(arrived.sum()), d_common
            available.append(st.on_hand[c] + arrived)
            phases = self._rng_timing.random(arrived.size)  # one per supplier, every month
            times.append(unit_instants(st.on_hand[c], arrived, p.deliveries, phases))

        rows = np.concatenate([p.rows for p in self.parts])
        bounds = np.concatenate(
            [p.bound_fits @ available[c] for c, p in enumerate(self.parts)]
        ).astype(np.float64)
        new = allocate_kits(need, rows, bounds, priority, self.cfg.allocation)

        kit_instants = [np.zeros(int(n)) for n in new]
        set_instants = {
            p.name: [np.zeros(int(n)) for n in new] for p in self.parts if p.station is not None
        }
        for c, p in enumerate(self.parts):
            given = assign_units(available[c], p.fits, p.usage * new)
            st.on_hand[c] = available[c] - given.sum(axis=1)
            # a car's set of this part is there when its last unit is
            into = set_instants[p.name] if p.station is not None else kit_instants
            for v, units in enumerate(instants_by_variant(times[c], given)):
                if p.usage[v] > 0 and new[v] > 0:
                    into[v] = np.maximum(into[v], units.every(int(p.usage[v])))

        held = st.kit_stock.copy()
        st.kit_stock = held + new

        def held_first(instants: list[np.ndarray]) -> list[np.ndarray]:
            # kits held over from last month (and their sets) are there from the start;
            # each instants[v] is sorted already: a maximum of sorted sequences
            return [
                np.minimum(np.concatenate([np.zeros(int(held[v])), instants[v]]), _LAST_INSTANT)
                for v in range(len(self.variants))
            ]

        frac = held_first(kit_instants)
        at_station = {name: held_first(sets) for name, sets in set_instants.items()}
        kits = KitSupply(
            count=st.kit_stock.copy(),
            arrival_frac=frac,
            received=new,
            at_station=at_station,
        )
        month = SupplyMonth(
            spend_cny=spend,
            received_units=received,
            on_hand_units={p.name: int(st.on_hand[c].sum()) for c, p in enumerate(self.parts)},
            depth=depth,
            price_factor={p.name: float(self.price_factor[c]) for c, p in enumerate(self.parts)},
        )
        return kits, month

    def consume(self, kits_used: np.ndarray) -> None:
        """The line started ``kits_used`` kits this month; the rest stay for next month."""
        used = np.asarray(kits_used, dtype=np.int64)
        if used.shape != self.state.kit_stock.shape or (used < 0).any():
            raise ValueError(f"kits_used must be {len(self.variants)} counts >= 0, got {used}")
        if (used > self.state.kit_stock).any():
            raise ValueError(
                f"kits_used {used.tolist()} exceeds the kits available "
                f"{self.state.kit_stock.tolist()}"
            )
        self.state.kit_stock = self.state.kit_stock - used

    # --- the steps of a month -------------------------------------------------------

    def _capped(self, want: np.ndarray) -> np.ndarray:
        """This month's wanted kits, scaled down to what the plant could build: its best
        month so far, grown at the fastest allowed rate (a shift may be added)."""
        best = self.state.best_capacity
        if not best or best[-1] <= 0:
            return want
        cap = best[-1] * (1.0 + self.cfg.max_capacity_growth_per_month)
        total = want.sum()
        return want * (cap / total) if total > cap else want

    def _order(self, c: int, p: _Component, need: np.ndarray, ahead: np.ndarray) -> None:
        """Order up to need + forecast over the lead time + safety stock, per supplier."""
        st = self.state
        lead = int(p.lead.max())
        rate = ahead[0] if ahead.shape[0] else need
        per_variant = p.usage * (
            need + ahead[:lead].sum(axis=0) + p.safety_weeks / WEEKS_PER_MONTH * rate
        )
        weights = p.fits * p.share[:, None]  # [S, V]
        col = weights.sum(axis=0)
        split = np.divide(weights, col, out=np.zeros_like(weights), where=col > 0)
        target = split @ per_variant
        position = st.on_hand[c] + st.pipeline[c].sum(axis=1) + st.open_orders[c]
        gap = target - position
        # order what is missing; above target, cut back orders the supplier has not made
        more = np.ceil(np.maximum(gap, 0.0) - 1e-9).astype(np.int64)
        less = np.minimum(
            np.floor(np.maximum(-gap, 0.0) + 1e-9).astype(np.int64), st.open_orders[c]
        )
        st.open_orders[c] = st.open_orders[c] + more - less

    def _make_and_ship(
        self, c: int, p: _Component, t: int, d_common: float, d_own: np.ndarray
    ) -> np.ndarray:
        """Suppliers make what capacity allows; returns the units arriving this month."""
        st = self.state
        capacity = np.floor(p.capacity[:, t] * (1.0 - d_common) * (1.0 - d_own) + 1e-9)
        made = np.minimum(st.open_orders[c], capacity.astype(np.int64))
        st.open_orders[c] = st.open_orders[c] - made
        pipe = st.pipeline[c]
        pipe[np.arange(p.lead.size), p.lead] += made
        arrived = pipe[:, 0].copy()
        pipe[:, :-1] = pipe[:, 1:]
        pipe[:, -1] = 0
        return arrived


@dataclass(frozen=True)
class Instants:
    """Sorted instants of units, run-length coded: ``counts[i]`` units at ``values[i]``
    (increasing): a month's tens of thousands of parts are a few dozen deliveries."""

    values: np.ndarray  # float, increasing
    counts: np.ndarray  # int64, >= 0

    def expand(self) -> np.ndarray:
        """Every unit's instant, sorted."""
        return np.repeat(self.values, self.counts)

    def every(self, k: int) -> np.ndarray:
        """The instants of units ``k - 1``, ``2k - 1``, ...: when each set of ``k`` units
        (a kit's) is complete, units taken earliest first."""
        ends = np.cumsum(self.counts)
        return np.repeat(self.values, np.diff(ends // k, prepend=0))


def unit_instants(
    on_hand: np.ndarray, arrived: np.ndarray, deliveries: np.ndarray, phases: np.ndarray
) -> list[Instants]:
    """Per supplier, the instants its units are there: held ones at 0, the arrivals in
    ``deliveries`` equal batches at evenly spaced instants offset by ``phases``."""
    out = []
    for s in range(arrived.size):
        batches = (np.arange(deliveries[s]) + phases[s]) / deliveries[s]
        units = split_int(int(arrived[s]), np.ones(int(deliveries[s])))
        out.append(
            Instants(
                np.concatenate([[0.0], batches]),
                np.concatenate([[int(on_hand[s])], units]).astype(np.int64),
            )
        )
    return out


def instants_by_variant(times: list[Instants], given: np.ndarray) -> list[Instants]:
    """The instants of the units each variant gets: each supplier's earliest units,
    mixed evenly across the variants it serves (:func:`level_order`), then merged per
    variant.  Counted per delivery: which of a supplier's units go to a variant is its
    places in the level order, and only how many fall in each delivery matters."""
    n_s, n_v = given.shape
    values: list[list[np.ndarray]] = [[] for _ in range(n_v)]
    counts: list[list[np.ndarray]] = [[] for _ in range(n_v)]
    for s in range(n_s):
        row = given[s]
        used = int(row.sum())
        if used == 0:
            continue
        there = times[s]
        share: list[np.ndarray | None]
        if np.count_nonzero(row) == 1:  # one variant takes the first `used` units
            ends = np.minimum(np.cumsum(there.counts), used)
            share = [np.diff(ends, prepend=0) if g else None for g in row.tolist()]
        elif used <= there.counts[0]:  # all from stock, at instant 0
            share = [np.array([g]) if g else None for g in row.tolist()]
        else:
            bounds = np.concatenate([[0], np.cumsum(there.counts)])
            share = [
                np.diff(np.searchsorted(at, bounds)) if at.size else None
                for at in level_positions(row)
            ]
        for v, c in enumerate(share):
            if c is not None:
                values[v].append(there.values[: c.size])
                counts[v].append(c)
    out = []
    for v in range(n_v):
        if not values[v]:
            out.append(Instants(np.zeros(0), np.zeros(0, dtype=np.int64)))
            continue
        vals, cnts = np.concatenate(values[v]), np.concatenate(counts[v])
        order = np.argsort(vals, kind="stable")
        out.append(Instants(vals[order], cnts[order].astype(np.int64)))
    return out
