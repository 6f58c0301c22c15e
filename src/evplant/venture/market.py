"""Market: who wants the venture's cars, at home by segment and abroad by market.

**China, by segment.** Each segment (e.g. mid-size premium sedans) has buyers per year,
growing at a steady rate, with a monthly seasonal pattern.  Within a segment buyers
choose by a multinomial logit:

    utility = appeal - price_sensitivity * (price - reference price) / 10,000 CNY
              - wait_sensitivity * quoted wait in weeks (the venture's cars only)

against the rival offers (by brand) and the rest of the segment, whose
utility is 0 by definition (its typical price is the segment's reference price).  A
variant takes orders from its launch month.  Prices move by a steady rate per year
(price wars).  The expected buyers of a variant are segment buyers times its share;
the month's actual figure carries a lognormal shock with the stated coefficient of
variation, per variant, and is rounded at random to whole cars.

**Exports.** A market switched on takes orders from its start month, ramping up over
``ramp_months``, growing yearly; a tariff cuts demand by ``(1 + tariff) ** -elasticity``
(the buyer pays it); political risk is a stream of episodes (see :mod:`.episodes`) that
take a share of the market's orders away while they last.

The market draws the same number of random values every month whatever the prices,
stores or waits, so scenarios stay coupled draw for draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, NonNegativeFloat, PositiveFloat, model_validator
from scipy.special import softmax

from .common import (
    Month,
    Name,
    VentureModel,
    child_rng,
    invalid,
    month_number,
    stochastic_round,
)
from .episodes import Episodes, EpisodeState, step_episodes


class Offer(VentureModel):
    """A rival's car in one segment."""

    price_cny: PositiveFloat = Field(description="transaction price incl. VAT, CNY")
    appeal: float = Field(default=0.0, ge=-20, le=20, description="utility at the reference price")
    price_change_per_year: float = Field(default=0.0, ge=-0.5, le=0.5, description="share a year")


class Segment(VentureModel):
    """Buyers in China of one kind of car in one price band."""

    buyers_per_year: PositiveFloat = Field(description="buyers a year in base_month's year")
    base_month: Month
    growth_per_year: float = Field(default=0.0, ge=-0.5, le=1.0)
    reference_price_cny: PositiveFloat = Field(description="typical price of the rest")
    price_change_per_year: float = Field(
        default=0.0, ge=-0.5, le=0.5, description="the reference price's trend from base_month"
    )
    rivals: dict[Name, Offer] = Field(default_factory=dict, description="by rival brand")


class VariantMarket(VentureModel):
    """How one of the venture's variants is sold."""

    segment: str
    price_cny: PositiveFloat = Field(description="mix-weighted transaction price incl. VAT")
    launch_month: Month = Field(description="first month it takes orders")
    appeal: float = Field(default=0.0, ge=-20, le=20, description="utility at the reference price")
    price_change_per_year: float = Field(default=0.0, ge=-0.5, le=0.5)


class ExportMarket(VentureModel):
    """A market abroad that can be switched on."""

    name: Name
    enabled: bool = False
    start_month: Month
    orders_per_month: dict[str, NonNegativeFloat] = Field(
        description="orders a month by variant once ramped up, before tariff and risk"
    )
    ramp_months: int = Field(default=12, ge=1, le=120)
    growth_per_year: float = Field(default=0.0, ge=-0.5, le=1.0)
    price_factor: PositiveFloat = Field(default=1.0, description="net price / China's net price")
    tariff: float = Field(default=0.0, ge=0, le=5, description="import duty, share of the price")
    tariff_elasticity: NonNegativeFloat = Field(
        default=1.0, description="demand ~ (1+tariff)^-this"
    )
    political_risk: Episodes = Field(default=Episodes())


class Brand(VentureModel):
    """How the report names and draws a brand: the venture's own or a rival."""

    name: str = Field("own brand", min_length=1, description="as the report writes it")
    colour: str | None = Field(
        default=None,
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="its line on the charts, #rrggbb (default: the chart's own)",
    )


class MarketConfig(VentureModel):
    """Demand at home (segments, rivals, choice) and abroad (export markets)."""

    price_sensitivity_per_10k_cny: NonNegativeFloat = Field(
        description="utility lost per 10,000 CNY of price"
    )
    wait_sensitivity_per_week: NonNegativeFloat = Field(
        default=0.0, description="utility lost per week of quoted wait"
    )
    demand_cv: float = Field(
        default=0.0, ge=0, le=2, description="month-to-month demand noise (cv)"
    )
    seasonality: list[PositiveFloat] | None = Field(
        default=None,
        min_length=12,
        max_length=12,
        description="Jan..Dec factors (normalised to mean 1)",
    )
    brand_appeal: float = Field(
        default=0.0,
        ge=-20,
        le=20,
        description="utility the brand adds to every variant (what one model teaches of the next)",
    )
    brand: Brand = Field(default_factory=Brand, description="the venture's brand, for the report")
    rival_brands: dict[Name, Brand] = Field(
        default_factory=dict, description="rivals' names and colours for the report, by rival"
    )
    segments: dict[Name, Segment] = Field(min_length=1)
    variants: dict[str, VariantMarket] = Field(min_length=1)
    exports: list[ExportMarket] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> MarketConfig:
        problems: list[tuple[tuple[str | int, ...], str, object]] = []
        for name, vm in self.variants.items():
            if vm.segment not in self.segments:
                problems.append(
                    (
                        ("variants", name, "segment"),
                        f"{vm.segment!r} is not one of the segments {sorted(self.segments)}",
                        vm.segment,
                    )
                )
        if "own" in self.rival_names:  # share_own is the venture's own share
            problems.append((("segments",), "no rival may be named 'own' (the venture's)", "own"))
        for name in self.rival_brands:
            if name not in self.rival_names:
                problems.append(
                    (
                        ("rival_brands", name),
                        f"{name!r} is not a rival of any segment {self.rival_names}",
                        name,
                    )
                )
        seen: set[str] = set()
        for k, e in enumerate(self.exports):
            if e.name in seen:
                problems.append(
                    (("exports", k, "name"), "export market names must be unique", e.name)
                )
            seen.add(e.name)
            for v in e.orders_per_month:
                if v not in self.variants:
                    problems.append(
                        (
                            ("exports", k, "orders_per_month", v),
                            f"{v!r} is not one of the variants {sorted(self.variants)}",
                            v,
                        )
                    )
        invalid("MarketConfig", problems)
        return self

    @property
    def rival_names(self) -> list[str]:
        return sorted({r for s in self.segments.values() for r in s.rivals})


@dataclass
class MarketMonth:
    """The market's answer for one month."""

    demand: np.ndarray  # int64 [V]: buyers in China choosing each variant
    exports: np.ndarray  # int64 [E, V]: export orders by market and variant
    share_own: float  # the venture's share of its segments' buyers (choice model)
    share_rivals: dict[str, float]
    export_closed: np.ndarray  # float [E]: share of each market lost to political risk


class Market:
    """Demand for one run; ``months`` are month numbers of the horizon."""

    def __init__(
        self,
        cfg: MarketConfig,
        variants: list[str],
        months: np.ndarray,
        seed: np.random.SeedSequence,
    ) -> None:
        self.cfg = cfg
        self.variants = list(variants)
        self.months = np.asarray(months, dtype=np.int64)
        self.segment_names = list(cfg.segments)
        self.rivals = cfg.rival_names
        vm = [cfg.variants[v] for v in self.variants]
        self.segment_of = np.array([self.segment_names.index(v.segment) for v in vm])
        self.price0 = np.array([v.price_cny for v in vm])
        self.price_trend = np.array([v.price_change_per_year for v in vm])
        self.launch = np.array([month_number(v.launch_month) for v in vm])
        self.appeal = np.array([v.appeal for v in vm]) + cfg.brand_appeal
        season = np.ones(12) if cfg.seasonality is None else np.array(cfg.seasonality)
        self.season = season / season.mean()
        self.exports = cfg.exports
        self.export_orders = np.array(
            [[e.orders_per_month.get(v, 0.0) for v in self.variants] for e in cfg.exports]
        ).reshape(len(cfg.exports), len(self.variants))
        self._rng = child_rng(seed, 0)
        self._rng_risk = [child_rng(seed, 1, k) for k in range(len(cfg.exports))]
        self.risk = [EpisodeState() for _ in cfg.exports]
        self.closed = np.zeros(len(cfg.exports))

    # --- deterministic parts (also used for the venture's forecasts) -----------------

    @property
    def rng(self) -> np.random.Generator:
        """The buyers' stream (a run's state carries its position)."""
        return self._rng

    @property
    def rng_risk(self) -> list[np.random.Generator]:
        """Each export market's political-risk stream."""
        return self._rng_risk

    def price_cny(self, month: int) -> np.ndarray:
        """Price incl. VAT per variant in a month (moving from launch at the trend rate)."""
        years = np.maximum(month - self.launch, 0) / 12.0
        return np.asarray(self.price0 * (1.0 + self.price_trend) ** years)

    def launched(self, month: int) -> np.ndarray:
        return month >= self.launch

    def buyers(self, month: int) -> np.ndarray:
        """Buyers per segment in a month (growth and season)."""
        out = np.zeros(len(self.segment_names))
        for g, seg in enumerate(self.cfg.segments.values()):
            years = (month - month_number(seg.base_month)) / 12.0
            out[g] = seg.buyers_per_year / 12.0 * (1.0 + seg.growth_per_year) ** years
        return np.asarray(out * self.season[month % 12])

    def choice(self, month: int, wait_weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Logit shares: (share of its segment per variant [V], per rival [G, R])."""
        beta = self.cfg.price_sensitivity_per_10k_cny / 1e4
        gamma = self.cfg.wait_sensitivity_per_week
        price, on = self.price_cny(month), self.launched(month)
        share_v = np.zeros(len(self.variants))
        share_r = np.zeros((len(self.segment_names), len(self.rivals)))
        for g, seg in enumerate(self.cfg.segments.values()):
            mine = np.flatnonzero((self.segment_of == g) & on)
            ref = seg.reference_price_cny * (1.0 + seg.price_change_per_year) ** (
                (month - month_number(seg.base_month)) / 12.0
            )
            u_mine = self.appeal[mine] - beta * (price[mine] - ref) - gamma * wait_weeks[mine]
            names = [r for r in self.rivals if r in seg.rivals]
            u_rival = np.array(
                [
                    seg.rivals[r].appeal
                    - beta * (self._rival_price(seg.rivals[r], month, seg) - ref)
                    for r in names
                ]
            )
            # the rest of the segment is the last alternative, utility 0
            p = softmax(np.concatenate([u_mine, u_rival, [0.0]]))
            share_v[mine] = p[: mine.size]
            for i, r in enumerate(names):
                share_r[g, self.rivals.index(r)] = p[mine.size + i]
        return share_v, share_r

    @staticmethod
    def _rival_price(offer: Offer, month: int, seg: Segment) -> float:
        years = (month - month_number(seg.base_month)) / 12.0
        return float(offer.price_cny * (1.0 + offer.price_change_per_year) ** years)

    def expected_demand(self, month: int, wait_weeks: np.ndarray) -> np.ndarray:
        """Buyers in China choosing each variant, on average (no shock)."""
        share_v, _ = self.choice(month, wait_weeks)
        return np.asarray(self.buyers(month)[self.segment_of] * share_v)

    def expected_exports(self, month: int) -> np.ndarray:
        """Export orders per variant on average, with today's political closures."""
        out = np.zeros(len(self.variants))
        for k, e in enumerate(self.exports):
            out += self._export_mean(k, e, month) * (1.0 - self.closed[k])
        return out

    def _export_mean(self, k: int, e: ExportMarket, month: int) -> np.ndarray:
        start = month_number(e.start_month)
        if not e.enabled or month < start:
            return np.zeros(len(self.variants))
        ramp = min(1.0, (month - start + 1) / e.ramp_months)
        growth = (1.0 + e.growth_per_year) ** ((month - start) / 12.0)
        tariff = (1.0 + e.tariff) ** (-e.tariff_elasticity)
        return np.asarray(self.export_orders[k] * ramp * growth * tariff * self.launched(month))

    # --- one month -------------------------------------------------------------------

    def step(self, t: int, wait_weeks: np.ndarray) -> MarketMonth:
        """Month ``t`` of the run: draw this month's buyers and export orders."""
        month = int(self.months[t])
        n_v, n_e = len(self.variants), len(self.exports)
        z = self._rng.standard_normal(n_v)
        u = self._rng.random(n_v + n_e * n_v)

        cv = self.cfg.demand_cv
        sigma = np.sqrt(np.log1p(cv * cv))
        shock = np.exp(sigma * z - sigma * sigma / 2.0)  # mean 1, cv as stated
        share_v, share_r = self.choice(month, wait_weeks)
        buyers = self.buyers(month)
        demand = stochastic_round(buyers[self.segment_of] * share_v * shock, u[:n_v])

        exports = np.zeros((n_e, n_v), dtype=np.int64)
        for k, e in enumerate(self.exports):
            self.risk[k], self.closed[k], _ = step_episodes(
                e.political_risk, self.risk[k], self._rng_risk[k]
            )
            mean = self._export_mean(k, e, month) * (1.0 - self.closed[k])
            exports[k] = stochastic_round(mean, u[n_v + k * n_v : n_v + (k + 1) * n_v])

        total = buyers.sum()
        mine = float((buyers[self.segment_of] * share_v).sum() / total)
        rivals = {r: float(buyers @ share_r[:, i] / total) for i, r in enumerate(self.rivals)}
        return MarketMonth(demand, exports, mine, rivals, self.closed.copy())
