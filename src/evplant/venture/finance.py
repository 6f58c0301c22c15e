"""Finance: money in and out each month, cash, NPV, break-even and the budget.

All money is CNY inside the model; USD appears only at the edge (``*_usd`` columns and
summary keys, at the stated ``usd_cny`` rate).

Each month:

- **revenue**: cars delivered at their price without VAT (exports are zero-rated and
  priced by the market's ``price_factor``), plus contract fees;
- **cost**: tracked parts (chips, battery packs) paid when they arrive, at that month's
  price; the rest of each car built (other parts, labour, energy) at a Wright's-law
  learning cost ``C(n) = C_ref * (n / n_ref) ** log2(progress_ratio)`` averaged over the
  cars built this month (``n`` counts a variant's cars built so far), held above a
  floor; a selling cost per car delivered; the contract's conversion cost;
- **opex**: headquarters, R&D and the sales organisation (fixed, growing yearly) plus a
  running cost per store;
- **capex**: each phase's total spread over its months by a profile (a beta
  distribution on the item's span: even, front-, back-loaded or an S-curve of
  cumulative spend), plus what the plant books itself.  Spend in months before the
  run is investment before month one: it lowers the opening cash, counts in NPV at the
  run's start (undiscounted) and in the investment against the budget, and is in
  service from the start (depreciation).  Spend after the run's last month falls
  outside the run; the summary reports it (``capex_after_end_cny``);
- **cash** = cash last month + revenue - cost - opex - capex (no financing flows:
  the parent's money is measured, not modelled, below).

**Accrual view, comparable with reported accounts.** Cash books parts when they
arrive and build cost when a car is built; reported figures book a car's cost when it
is delivered.  So each car built enters a finished-goods stock per variant at its cost
(tracked parts at that month's price, plus its learning build cost), and ``cogs`` is
what the cars delivered that month cost at the stock's average cost, plus the
contract's conversion cost and the plant's depreciation (capex in service, straight
line over ``depreciation_years``, with ``depreciable_at_start_cny`` already built
before the run).  ``gross_margin`` = (revenue - cogs) / revenue (0 in a month without
revenue); ``operating_result`` = revenue - cogs - selling cost - opex.

**Investment against the budget.** What the parent must have put in by a month is the
spend before the run plus the deepest the venture's cash has fallen below its opening
level so far: the funding that keeps it solvent.  ``budget_used_share`` divides that by
the budget.

**Summary.** NPV of the monthly cash flows at the stated annual rate (end-of-month,
discounted to the start of the run; ``spent_before_start_cny`` is sunk and left out,
capex items dated before the run count in full at its start; no terminal value),
lowest cash and its month, break-even (first month that starts a run of
``break_even_run_months`` months with positive operating cash flow, revenue - cost -
opex), payback (first month after the low when cash is back at its opening
level), and the month the budget runs out, if it does within the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field, NonNegativeFloat, PositiveFloat, model_validator

from .common import Month, VentureModel, month_label, month_number

_PROFILES = {"even": (1.0, 1.0), "front": (1.0, 2.0), "back": (2.0, 1.0), "s_curve": (2.0, 2.0)}


def beta_cdf(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b) for a, b in {1, 2}, the
    profiles' laws: ``scipy.special.betainc`` (Boost's ``ibeta``) step for step, its
    special case for ``a`` or ``b`` equal to 1 and its finite binomial sum otherwise,
    with the same libm functions, so the spend is the same to the last bit without
    importing scipy.special (a quarter of a second); exact for x above 1e-16.
    ``tests/test_light_imports.py`` compares it with scipy on every span of months."""
    if a not in (1.0, 2.0) or b not in (1.0, 2.0):
        raise ValueError(f"beta_cdf covers a, b in {{1, 2}}, got {a}, {b}")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    y = 1.0 - x
    invert = False
    if a == 1.0:  # I_x(1, b) = 1 - I_y(b, 1)
        a, b, x, y, invert = b, a, y, x, True
    if b == 1.0:
        if a == 1.0:
            return y if invert else x
        if y < 0.5:
            return -math.expm1(a * math.log1p(-y)) if invert else math.exp(a * math.log1p(-y))
        return -_powm1(x, a) if invert else math.pow(x, a)
    # a = b = 2: sum the binomial terms from the tail nearer x
    if (a + b) * y - b < 0:
        a, b, x, y, invert = b, a, y, x, not invert
    if y == 1.0:
        # x below 6e-17, where Boost takes its series instead; no edge of a span of
        # months comes near (x >= 1 / months): the closed form, within an ulp or two
        cdf = x * x * (3.0 - 2.0 * x)
        return 1.0 - cdf if invert else cdf
    k, n = a - 1.0, a + b - 1.0
    result = term = math.pow(x, n)
    i = int(n - 1.0)
    while i > k:
        term *= ((i + 1) * y) / ((n - i) * x)
        result += term
        i -= 1
    return 1.0 - result if invert else result


def _powm1(x: float, y: float) -> float:
    """x**y - 1, as Boost's ``powm1`` evaluates it."""
    if abs(y * (x - 1.0)) < 0.5 or abs(y) < 0.2:
        log = y * math.log(x)
        if log < 0.5:
            return math.expm1(log)
    return math.pow(x, y) - 1.0


class CapexItem(VentureModel):
    """One block of investment (a phase, its land, tooling for a model)."""

    name: str = Field(min_length=1)
    total_cny: NonNegativeFloat
    start_month: Month
    end_month: Month
    profile: Literal["even", "front", "back", "s_curve"] = Field(
        default="even", description="how the spend spreads over the months"
    )
    phase: str | None = Field(
        default=None,
        description="the plant phase it builds or equips: it must start by the phase's start "
        "of production, and moves with the phase's delay_months",
    )

    @model_validator(mode="after")
    def _ordered(self) -> CapexItem:
        if self.end_month < self.start_month:
            raise ValueError("end_month must not be before start_month")
        return self

    def monthly(self) -> tuple[int, np.ndarray]:
        """(first month number, spend per month over the item's span)."""
        start, end = month_number(self.start_month), month_number(self.end_month)
        edges = np.linspace(0.0, 1.0, end - start + 2)
        a, b = _PROFILES[self.profile]
        cdf = np.array([beta_cdf(a, b, float(e)) for e in edges])
        return start, self.total_cny * np.diff(cdf)


class UnitCost(VentureModel):
    """Cost of building one car of a variant, without the tracked parts."""

    cost_cny_at_reference: PositiveFloat = Field(description="per car at reference_volume")
    reference_volume: PositiveFloat = Field(default=100_000.0, description="cumulative cars built")
    floor_cny: NonNegativeFloat = Field(default=0.0, description="learning never goes below this")


class Opex(VentureModel):
    """Running costs of the organisation."""

    headquarters_cny_per_month: NonNegativeFloat
    rnd_cny_per_month: NonNegativeFloat
    sales_org_cny_per_month: NonNegativeFloat
    per_store_cny_per_month: NonNegativeFloat = 0.0
    growth_per_year: float = Field(default=0.0, ge=-0.5, le=1.0, description="fixed costs' growth")
    base_month: Month


class FinanceConfig(VentureModel):
    """Prices net of tax, costs, capex, the budget and the discount rate."""

    usd_cny: float = Field(ge=0.01, le=1000, description="CNY per US dollar")
    vat_rate: float = Field(default=0.0, ge=0, lt=1, description="VAT included in China's prices")
    discount_rate_per_year: float = Field(ge=0, le=1)
    progress_ratio: float = Field(default=0.9, gt=0.5, le=1, description="cost factor per doubling")
    unit_cost: dict[str, UnitCost] = Field(min_length=1, description="by variant")
    selling_cost_cny_per_vehicle: NonNegativeFloat = 0.0
    opex: Opex
    capex: list[CapexItem] = Field(default_factory=list)
    budget_usd: PositiveFloat
    budget_label: str | None = Field(
        default=None,
        min_length=1,
        description="how the report names the budget (default: its amount)",
    )
    budget_start_month: Month
    budget_years: int = Field(ge=1, le=50)
    spent_before_start_cny: NonNegativeFloat = Field(default=0.0, description="sunk before the run")
    opening_cash_cny: float = 0.0
    depreciation_years: float = Field(
        default=10.0, ge=0.5, le=100, description="straight-line life of the plant's capex, in cogs"
    )
    depreciable_at_start_cny: NonNegativeFloat = Field(
        default=0.0, description="plant and tooling already in service when the run starts"
    )
    break_even_run_months: int = Field(default=3, ge=1, le=24)

    @model_validator(mode="after")
    def _unique_capex(self) -> FinanceConfig:
        names = [c.name for c in self.capex]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"capex names must be unique; given more than once: {twice}")
        return self


def usd_label(amount: float) -> str:
    """An amount of US dollars as a planner writes it: ``US$2.5bn``, ``US$750m``."""
    for scale, unit in ((1e9, "bn"), (1e6, "m")):
        if amount >= scale:
            return f"US${amount / scale:.3g}{unit}"
    return f"US${amount:,.0f}"


@dataclass
class _History:
    cash_flow: list[float] = field(default_factory=list)
    operating: list[float] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    investment_usd: list[float] = field(default_factory=list)


class Finance:
    """The venture's books for one run."""

    def __init__(self, cfg: FinanceConfig, variants: list[str], months: np.ndarray) -> None:
        self.cfg = cfg
        self.variants = list(variants)
        self.months = np.asarray(months, dtype=np.int64)
        uc = [cfg.unit_cost[v] for v in self.variants]
        self.c_ref = np.array([u.cost_cny_at_reference for u in uc])
        self.n_ref = np.array([u.reference_volume for u in uc])
        self.floor = np.array([u.floor_cny for u in uc])
        self.b = float(np.log2(cfg.progress_ratio))
        self.built = np.zeros(len(self.variants))  # cumulative cars built per variant
        self.capex_plan, self.capex_before_start, self.capex_after_end = self._capex_plan()
        # investment before month one is paid out of the opening cash
        self.start_cash = float(cfg.opening_cash_cny) - self.capex_before_start
        self.cash = self.start_cash
        # the deepest the cash has been (the investment against the budget reads it),
        # kept as it goes so a run continued from a state carries it without the history
        self.lowest = self.start_cash
        # the month the history (and so the summary) starts at: 0, or where a run
        # continued from a state starts, with the lowest cash there
        self.first = 0
        self.lowest_at_first = self.start_cash
        self.history = _History()
        # finished cars held and what they cost (accrual view: cost booked on delivery)
        self.stock_units = np.zeros(len(self.variants))
        self.stock_value = np.zeros(len(self.variants))
        self.in_service_cny = float(cfg.depreciable_at_start_cny) + self.capex_before_start
        # the last month's revenue, build cost and cost of sales per variant (step)
        zero = np.zeros(len(self.variants))
        self.by_variant: dict[str, np.ndarray] = {
            "revenue_cny": zero,
            "cost_build_cny": zero,
            "cogs_cny": zero,
        }

    def _capex_plan(self) -> tuple[np.ndarray, float, float]:
        """(capex per month of the run, spend before its first month, spend after its
        last): every item's every month is booked in exactly one of the three."""
        plan = np.zeros(self.months.size)
        first = int(self.months[0]) if self.months.size else 0
        before = after = 0.0
        for item in self.cfg.capex:
            start, spend = item.monthly()
            idx = start - first + np.arange(spend.size)
            inside = (idx >= 0) & (idx < self.months.size)
            np.add.at(plan, idx[inside], spend[inside])
            before += float(spend[idx < 0].sum())
            after += float(spend[idx >= self.months.size].sum())
        return plan, before, after

    def net_price_cny(self, price_incl_vat: np.ndarray) -> np.ndarray:
        return np.asarray(price_incl_vat) / (1.0 + self.cfg.vat_rate)

    def build_cost_cny(self, n_from: np.ndarray, n_to: np.ndarray) -> np.ndarray:
        """Average learning cost of the cars numbered ``n_from+1 .. n_to`` per variant
        (without tracked parts); the next car's cost where none are built."""
        b1 = 1.0 + self.b
        lo, hi = np.maximum(n_from, 0.0), np.maximum(n_to, 0.0)
        scale = self.c_ref * self.n_ref ** (-self.b)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = scale * (hi**b1 - lo**b1) / (b1 * (hi - lo))
        marginal = scale * np.maximum(lo, 1.0) ** self.b
        return np.asarray(np.maximum(np.where(hi > lo, mean, marginal), self.floor))

    def opex_cny(self, t: int, stores: int) -> float:
        o = self.cfg.opex
        years = (int(self.months[t]) - month_number(o.base_month)) / 12.0
        fixed = o.headquarters_cny_per_month + o.rnd_cny_per_month + o.sales_org_cny_per_month
        return float(
            fixed * (1.0 + o.growth_per_year) ** years + o.per_store_cny_per_month * stores
        )

    def step(
        self,
        t: int,
        *,
        produced: np.ndarray,
        delivered: np.ndarray,
        price_incl_vat: np.ndarray,
        export_price_factor: np.ndarray,
        parts_spend_cny: float,
        contract_revenue_cny: float,
        contract_cost_cny: float,
        stores: int,
        capex_plant_cny: float,
        parts_cost_per_vehicle_cny: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Book month ``t``. ``delivered`` is [China + export markets, variants];
        ``parts_cost_per_vehicle_cny``: tracked parts in a car of each variant built this
        month (for its cost of sales; none: the parts are left out of ``cogs``)."""
        produced = np.asarray(produced, dtype=np.float64)
        net = self.net_price_cny(price_incl_vat)
        factors = np.concatenate([[1.0], np.asarray(export_price_factor, dtype=np.float64)])
        revenue_cars = float((delivered * factors[:, None] * net[None, :]).sum())
        unit = self.build_cost_cny(self.built, self.built + produced)
        cost_build = float(unit @ produced)
        self.built = self.built + produced
        cost_selling = float(delivered.sum()) * self.cfg.selling_cost_cny_per_vehicle

        revenue = revenue_cars + contract_revenue_cny
        cost = parts_spend_cny + cost_build + cost_selling + contract_cost_cny
        opex = self.opex_cny(t, stores)
        capex = float(self.capex_plan[t]) + float(capex_plant_cny)
        operating = revenue - cost - opex

        parts = (
            np.zeros(len(self.variants))
            if parts_cost_per_vehicle_cny is None
            else np.asarray(parts_cost_per_vehicle_cny, dtype=np.float64)
        )
        self.stock_units = self.stock_units + produced
        self.stock_value = self.stock_value + produced * (unit + parts)
        sold = np.asarray(delivered, dtype=np.float64).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            average = np.where(self.stock_units > 0, self.stock_value / self.stock_units, 0.0)
        cogs_cars = float(sold @ average)
        # the month's cars per variant, from the cars built and delivered
        self.by_variant = {
            "revenue_cny": (delivered * factors[:, None] * net[None, :]).sum(axis=0),
            "cost_build_cny": unit * produced,
            "cogs_cny": sold * average,
        }
        self.stock_units = np.maximum(self.stock_units - sold, 0.0)
        self.stock_value = np.where(
            self.stock_units > 0, np.maximum(self.stock_value - sold * average, 0.0), 0.0
        )
        depreciation = self.in_service_cny / (12.0 * self.cfg.depreciation_years)
        self.in_service_cny += capex
        cogs = cogs_cars + contract_cost_cny + depreciation
        gross_profit = revenue - cogs
        flow = operating - capex
        self.cash += flow

        h = self.history
        h.cash_flow.append(flow)
        h.operating.append(operating)
        h.cash.append(self.cash)
        self.lowest = min(self.lowest, self.cash)
        need = max(0.0, self.cfg.opening_cash_cny - self.lowest)
        investment_usd = (self.cfg.spent_before_start_cny + need) / self.cfg.usd_cny
        h.investment_usd.append(investment_usd)
        built_total = produced.sum()
        return {
            "revenue": revenue,
            "revenue_cars_cny": revenue_cars,
            "revenue_contract_cny": contract_revenue_cny,
            "cost": cost,
            "cost_parts_cny": parts_spend_cny,
            "cost_build_cny": cost_build,
            "cost_selling_cny": cost_selling,
            "cost_contract_cny": contract_cost_cny,
            "unit_build_cost_cny": float(cost_build / built_total if built_total else unit.mean()),
            "cogs": cogs,
            "cogs_cars_cny": cogs_cars,
            "depreciation_cny": depreciation,
            "gross_profit": gross_profit,
            "gross_margin": gross_profit / revenue if revenue > 0 else 0.0,
            "operating_result": gross_profit - cost_selling - opex,
            "finished_stock_value_cny": float(self.stock_value.sum()),
            "opex": opex,
            "capex": capex,
            "operating_cash_flow": operating,
            "cash_flow": flow,
            "cash": self.cash,
            "cum_investment_usd": investment_usd,
            "budget_used_share": investment_usd / self.cfg.budget_usd,
        }

    def summary(self) -> dict[str, float | str | None]:
        cfg, h = self.cfg, self.history
        n = len(h.cash_flow)
        flows = np.array(h.cash_flow)
        disc = (1.0 + cfg.discount_rate_per_year) ** (-(np.arange(n) + 1.0) / 12.0)
        # a continued run's months are discounted to its own start; what was spent
        # before it is sunk, capex before the horizon included
        npv = float(flows @ disc) - (self.capex_before_start if self.first == 0 else 0.0)
        label = [month_label(int(m)) for m in self.months[self.first : self.first + n]]
        budget_end = month_number(cfg.budget_start_month) + 12 * cfg.budget_years - 1
        before = cfg.spent_before_start_cny + max(
            0.0, cfg.opening_cash_cny - self.lowest_at_first
        )
        out: dict[str, float | str | None] = {
            "npv_cny": npv,
            "npv_usd": npv / cfg.usd_cny,
            "discount_rate_per_year": cfg.discount_rate_per_year,
            "lowest_cash_cny": None,
            "lowest_cash_usd": None,
            "lowest_cash_month": None,
            "final_cash_cny": self.cash,
            "break_even_month": None,
            "payback_month": None,
            "cum_investment_usd": before / cfg.usd_cny,
            "budget_usd": cfg.budget_usd,
            "budget_label": cfg.budget_label or usd_label(cfg.budget_usd),
            "budget_end_month": month_label(budget_end),
            "budget_used_share": before / cfg.usd_cny / cfg.budget_usd,
            "budget_exhausted_month": None,
            "cum_investment_usd_at_budget_end": None,
            "spent_before_start_cny": cfg.spent_before_start_cny,
            "capex_before_start_cny": self.capex_before_start,
            "capex_after_end_cny": self.capex_after_end,
        }
        if n == 0:
            return out
        cash = np.array(h.cash)
        low = int(np.argmin(cash))
        invest = np.array(h.investment_usd)
        out.update(
            lowest_cash_cny=float(cash[low]),
            lowest_cash_usd=float(cash[low] / cfg.usd_cny),
            lowest_cash_month=label[low],
            cum_investment_usd=float(invest[-1]),
            budget_used_share=float(invest[-1] / cfg.budget_usd),
        )
        k = cfg.break_even_run_months
        positive = np.array(h.operating) > 0
        for i in range(n - k + 1):
            if positive[i : i + k].all():
                out["break_even_month"] = label[i]
                break
        if cash[low] < cfg.opening_cash_cny:
            back = np.flatnonzero(cash[low:] >= cfg.opening_cash_cny)
            out["payback_month"] = label[low + int(back[0])] if back.size else None
        over = np.flatnonzero(invest > cfg.budget_usd)
        out["budget_exhausted_month"] = label[int(over[0])] if over.size else None
        at_end = budget_end - int(self.months[self.first])
        if 0 <= at_end < n:
            out["cum_investment_usd_at_budget_end"] = float(invest[at_end])
        return out
