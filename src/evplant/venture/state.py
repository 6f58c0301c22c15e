"""The venture's part of a run's state: orders, stock, cash, supply pipeline.

Two layers (see :mod:`evplant.state` for the file):

- **readable** (:func:`planner_part`): open orders per market, variant and age in
  months, finished stock and its cost, cash (and the lowest it has been: the investment
  against the budget reads it), cars built per variant (the cost's learning curve),
  plant in service (depreciation), the quoted wait and the last months' deliveries
  behind it, kits held, and per component and supplier the parts on hand, on order and
  in transit; the stores open is written for the reader (the scenario's schedule
  governs the months ahead);
- **exact** (:func:`exact_part`): the same plus every random stream
  (``bit_generator.state``), the shortage and political-risk episodes under way, the
  export markets closed, the parts' price factors and the plant's best month that caps
  the kits.

:func:`apply_planner` starts a fresh venture from a readable part: what it names is
set, every random stream starts from the seed and no episode is under way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import EvplantError
from .core import Venture
from .episodes import EpisodeState

_DOMESTIC = "domestic"


def _markets(v: Venture) -> list[str]:
    return [_DOMESTIC, *(e.name for e in v.cfg.market.exports)]


def _per_variant(v: Venture, values: np.ndarray) -> dict[str, Any]:
    return {name: values[i].item() for i, name in enumerate(v.variants)}


def _trimmed(values: np.ndarray) -> list[int]:
    nz = np.flatnonzero(values)
    return [int(x) for x in values[: int(nz[-1]) + 1]] if nz.size else []


def planner_part(v: Venture, t: int) -> dict[str, Any]:
    """The readable state at the end of month ``t``."""
    ch, fin, sup = v.channel, v.finance, v.supply
    orders = {
        market: {name: _trimmed(ch.backlog[c, i]) for i, name in enumerate(v.variants)}
        for c, market in enumerate(_markets(v))
    }
    components: dict[str, Any] = {}
    for c, comp in enumerate(sup.cfg.components):
        components[comp.name] = {
            s.name: {
                "on_hand": int(sup.state.on_hand[c][k]),
                "on_order": int(sup.state.open_orders[c][k]),
                # k-th value arrives k + 1 months on
                "in_transit": _trimmed(sup.state.pipeline[c][k]),
            }
            for k, s in enumerate(comp.suppliers)
        }
    best = sup.state.best_capacity
    return {
        "cash_cny": fin.cash,
        "lowest_cash_cny": fin.lowest,
        "orders_open": orders,
        "stock": _per_variant(v, ch.stock),
        "stock_value_cny": _per_variant(v, fin.stock_value),
        "built": _per_variant(v, fin.built),
        "capex_in_service_cny": fin.in_service_cny,
        "quoted_wait_weeks": _per_variant(v, ch.wait_weeks),
        "deliveries_recent": {
            name: [int(x) for x in ch.recent[:, i]] for i, name in enumerate(v.variants)
        },
        "kits": _per_variant(v, sup.state.kit_stock),
        "components": components,
        "best_capacity_per_month": best[-1] if best else 0.0,
        "stores_open": int(ch.stores[t]),
    }


def _episodes(state: EpisodeState) -> list[list[float]]:
    return [[d, n] for d, n in state.active]


def _episode_state(rows: Any) -> EpisodeState:
    return EpisodeState(tuple((float(d), int(n)) for d, n in rows))


def exact_part(v: Venture) -> dict[str, Any]:
    """Everything the venture carries from a month into the next."""
    ch, fin, sup, mk = v.channel, v.finance, v.supply, v.market
    st = sup.state
    return {
        "channel": {
            "backlog": ch.backlog.copy(),
            "stock": ch.stock.copy(),
            "recent": ch.recent.copy(),
            "active": ch.active.copy(),
            "wait_weeks": ch.wait_weeks.copy(),
            "rng": ch.rng.bit_generator.state,
        },
        "finance": {
            "built": fin.built.copy(),
            "cash": np.array([fin.cash]),
            "lowest": np.array([fin.lowest]),
            "stock_units": fin.stock_units.copy(),
            "stock_value": fin.stock_value.copy(),
            "in_service": np.array([fin.in_service_cny]),
        },
        "supply": {
            "on_hand": [a.copy() for a in st.on_hand],
            "open_orders": [a.copy() for a in st.open_orders],
            "pipeline": [a.copy() for a in st.pipeline],
            "kit_stock": st.kit_stock.copy(),
            "common": [_episodes(e) for e in st.common],
            "own": [[_episodes(e) for e in row] for row in st.own],
            "best_capacity": np.array(st.best_capacity, dtype=float),
            "price_factor": sup.price_factor.copy(),
            "rng_common": [g.bit_generator.state for g in sup.rng_common],
            "rng_own": [[g.bit_generator.state for g in row] for row in sup.rng_own],
            "rng_timing": sup.rng_timing.bit_generator.state,
        },
        "market": {
            "risk": [_episodes(e) for e in mk.risk],
            "closed": mk.closed.copy(),
            "rng": mk.rng.bit_generator.state,
            "rng_risk": [g.bit_generator.state for g in mk.rng_risk],
        },
    }


def _start_at(v: Venture, t: int) -> None:
    v.skip_to(t)
    v.finance.first = t
    v.finance.lowest_at_first = v.finance.lowest


def apply_exact(v: Venture, part: Mapping[str, Any], t: int) -> None:
    """Put an :func:`exact_part` back into a fresh venture of the same scenario and seed,
    to continue at month ``t``."""
    ch, fin, sup, mk = v.channel, v.finance, v.supply, v.market
    c = part["channel"]
    ch.backlog = np.asarray(c["backlog"], dtype=np.int64).reshape(ch.backlog.shape).copy()
    ch.stock = np.asarray(c["stock"], dtype=np.int64).copy()
    ch.recent = np.asarray(c["recent"], dtype=np.int64).reshape(ch.recent.shape).copy()
    ch.active = np.asarray(c["active"], dtype=np.int64).copy()
    ch.wait_weeks = np.asarray(c["wait_weeks"], dtype=np.float64).copy()
    ch.rng.bit_generator.state = c["rng"]
    f = part["finance"]
    fin.built = np.asarray(f["built"], dtype=np.float64).copy()
    fin.cash = float(np.asarray(f["cash"])[0])
    fin.lowest = float(np.asarray(f["lowest"])[0])
    fin.stock_units = np.asarray(f["stock_units"], dtype=np.float64).copy()
    fin.stock_value = np.asarray(f["stock_value"], dtype=np.float64).copy()
    fin.in_service_cny = float(np.asarray(f["in_service"])[0])
    s = part["supply"]
    st = sup.state
    st.on_hand = [np.asarray(a, dtype=np.int64).copy() for a in s["on_hand"]]
    st.open_orders = [np.asarray(a, dtype=np.int64).copy() for a in s["open_orders"]]
    st.pipeline = [
        np.asarray(a, dtype=np.int64).reshape(old.shape).copy()
        for a, old in zip(s["pipeline"], st.pipeline, strict=True)
    ]
    st.kit_stock = np.asarray(s["kit_stock"], dtype=np.int64).copy()
    st.common = [_episode_state(e) for e in s["common"]]
    st.own = [[_episode_state(e) for e in row] for row in s["own"]]
    st.best_capacity = [float(x) for x in np.asarray(s["best_capacity"], dtype=float)]
    sup.price_factor = np.asarray(s["price_factor"], dtype=np.float64).copy()
    for g, state in zip(sup.rng_common, s["rng_common"], strict=True):
        g.bit_generator.state = state
    for row, states in zip(sup.rng_own, s["rng_own"], strict=True):
        for g, state in zip(row, states, strict=True):
            g.bit_generator.state = state
    sup.rng_timing.bit_generator.state = s["rng_timing"]
    m = part["market"]
    mk.risk = [_episode_state(e) for e in m["risk"]]
    mk.closed = np.asarray(m["closed"], dtype=np.float64).copy()
    mk.rng.bit_generator.state = m["rng"]
    for g, state in zip(mk.rng_risk, m["rng_risk"], strict=True):
        g.bit_generator.state = state
    _start_at(v, t)


def _number(value: Any, field: str, *, whole: bool = False, signed: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and not np.isfinite(value):
        ok = False
    if ok and whole and value != int(value):
        ok = False
    if ok and not signed and value < 0:
        ok = False
    if not ok:
        allowed = (
            "a whole number, 0 or more"
            if whole
            else ("a finite number" if signed else "a number, 0 or more")
        )
        raise EvplantError(f"{value!r}; allowed: {allowed}", field=field)
    return float(value)


def _variants(v: Venture, given: Any, field: str, whole: bool) -> dict[int, float]:
    if not isinstance(given, Mapping):
        raise EvplantError(
            f"must be a mapping of variant to value; variants: {v.variants}", field=field
        )
    out = {}
    for name, value in given.items():
        if name not in v.variants:
            raise EvplantError(
                f"{name!r} is not a variant; allowed: {v.variants}", field=f"{field}.{name}"
            )
        out[v.variants.index(name)] = _number(value, f"{field}.{name}", whole=whole)
    return out


def _ages(value: Any, field: str, n: int) -> np.ndarray:
    """Open orders by age in months (a list) or all of age 0 (a number)."""
    out = np.zeros(n, dtype=np.int64)
    if isinstance(value, list):
        if len(value) > n:
            raise EvplantError(f"{len(value)} ages; allowed: at most {n} months", field=field)
        for a, x in enumerate(value):
            out[a] = int(_number(x, f"{field}[{a}]", whole=True))
    else:
        out[0] = int(_number(value, field, whole=True))
    return out


def apply_planner(v: Venture, part: Mapping[str, Any], t: int) -> None:
    """Start a fresh venture at month ``t`` from a readable part (what it leaves out
    keeps its value at the horizon's start)."""
    if not isinstance(part, Mapping):
        raise EvplantError("must be a mapping", field="venture")
    ch, fin, sup = v.channel, v.finance, v.supply
    known = {
        "cash_cny",
        "lowest_cash_cny",
        "orders_open",
        "stock",
        "stock_value_cny",
        "built",
        "capex_in_service_cny",
        "quoted_wait_weeks",
        "deliveries_recent",
        "kits",
        "components",
        "best_capacity_per_month",
        "stores_open",
    }
    for key in part:
        if key not in known:
            raise EvplantError(f"unknown field; allowed: {sorted(known)}", field=f"venture.{key}")
    if "cash_cny" in part:
        fin.cash = _number(part["cash_cny"], "venture.cash_cny", signed=True)
    fin.lowest = min(fin.start_cash, fin.cash)
    if "lowest_cash_cny" in part:
        low = _number(part["lowest_cash_cny"], "venture.lowest_cash_cny", signed=True)
        if low > fin.cash:
            raise EvplantError(
                f"{low} is above the cash ({fin.cash}); allowed: at most the cash",
                field="venture.lowest_cash_cny",
            )
        fin.lowest = low
    markets = _markets(v)
    orders = part.get("orders_open", {})
    if not isinstance(orders, Mapping):
        raise EvplantError(
            f"must be a mapping of market; markets: {markets}", field="venture.orders_open"
        )
    for market, per in orders.items():
        if market not in markets:
            raise EvplantError(
                f"{market!r} is not a market; allowed: {markets}",
                field=f"venture.orders_open.{market}",
            )
        c = markets.index(market)
        if not isinstance(per, Mapping):
            raise EvplantError(
                "must be a mapping of variant", field=f"venture.orders_open.{market}"
            )
        for name, value in per.items():
            where = f"venture.orders_open.{market}.{name}"
            if name not in v.variants:
                raise EvplantError(f"{name!r} is not a variant; allowed: {v.variants}", field=where)
            ch.backlog[c, v.variants.index(name)] = _ages(value, where, ch.backlog.shape[2])
    for i, n in _variants(v, part.get("stock", {}), "venture.stock", True).items():
        ch.stock[i] = int(n)
        fin.stock_units[i] = n
    for i, x in _variants(v, part.get("built", {}), "venture.built", False).items():
        fin.built[i] = x
    # finished cars' cost: as stated, else at what the next car costs to build today
    unit = fin.build_cost_cny(fin.built, fin.built) + sup.parts_cost_per_vehicle(t)
    fin.stock_value = fin.stock_units * unit
    for i, x in _variants(
        v, part.get("stock_value_cny", {}), "venture.stock_value_cny", False
    ).items():
        fin.stock_value[i] = x
    if "capex_in_service_cny" in part:
        fin.in_service_cny = _number(part["capex_in_service_cny"], "venture.capex_in_service_cny")
    for i, x in _variants(
        v, part.get("quoted_wait_weeks", {}), "venture.quoted_wait_weeks", False
    ).items():
        ch.wait_weeks[i] = min(x, ch.cfg.max_wait_weeks)
    recent = part.get("deliveries_recent", {})
    if not isinstance(recent, Mapping):
        raise EvplantError("must be a mapping of variant", field="venture.deliveries_recent")
    for name, values in recent.items():
        where = f"venture.deliveries_recent.{name}"
        if name not in v.variants:
            raise EvplantError(f"{name!r} is not a variant; allowed: {v.variants}", field=where)
        n = ch.recent.shape[0]
        if not isinstance(values, list) or len(values) != n:
            raise EvplantError(f"allowed: a list of the last {n} months' deliveries", field=where)
        ch.recent[:, v.variants.index(name)] = [
            int(_number(x, f"{where}[{k}]", whole=True)) for k, x in enumerate(values)
        ]
    # a variant with orders or deliveries has been selling: its wait reads all recent months
    selling = (ch.backlog.sum(axis=(0, 2)) > 0) | (ch.recent.sum(axis=0) > 0)
    ch.active = np.where(selling, ch.recent.shape[0], 0).astype(np.int64)
    for i, n in _variants(v, part.get("kits", {}), "venture.kits", True).items():
        sup.state.kit_stock[i] = int(n)
    _components(v, part.get("components", {}))
    if "best_capacity_per_month" in part:
        best = _number(part["best_capacity_per_month"], "venture.best_capacity_per_month")
        sup.state.best_capacity = [best] if best > 0 else []
    _start_at(v, t)


def _components(v: Venture, given: Any) -> None:
    sup = v.supply
    comps = {c.name: k for k, c in enumerate(sup.cfg.components)}
    if not isinstance(given, Mapping):
        raise EvplantError(
            f"must be a mapping; components: {sorted(comps)}", field="venture.components"
        )
    for name, suppliers in given.items():
        where = f"venture.components.{name}"
        if name not in comps:
            raise EvplantError(
                f"{name!r} is not a component; allowed: {sorted(comps)}", field=where
            )
        c = comps[name]
        names = [s.name for s in sup.cfg.components[c].suppliers]
        if not isinstance(suppliers, Mapping):
            raise EvplantError(f"must be a mapping of supplier; suppliers: {names}", field=where)
        for sname, got in suppliers.items():
            at = f"{where}.{sname}"
            if sname not in names or not isinstance(got, Mapping):
                raise EvplantError(f"{sname!r} is not a supplier; allowed: {names}", field=at)
            k = names.index(sname)
            if "on_hand" in got:
                sup.state.on_hand[c][k] = int(_number(got["on_hand"], f"{at}.on_hand", whole=True))
            if "on_order" in got:
                sup.state.open_orders[c][k] = int(
                    _number(got["on_order"], f"{at}.on_order", whole=True)
                )
            if "in_transit" in got:
                pipe = sup.state.pipeline[c]
                values = got["in_transit"]
                if not isinstance(values, list) or len(values) > pipe.shape[1] - 1:
                    raise EvplantError(
                        f"allowed: a list of at most {pipe.shape[1] - 1} months' arrivals "
                        f"(the supplier's lead time)",
                        field=f"{at}.in_transit",
                    )
                pipe[k] = 0
                for j, x in enumerate(values):
                    pipe[k, j] = int(_number(x, f"{at}.in_transit[{j}]", whole=True))
