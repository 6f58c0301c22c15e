"""Channel: stores that take orders, the order book, deliveries, waits and cancellations.

**Stores.** Cars are sold in China through stores that open over time (a schedule of
store counts, straight lines between the known points).  Each store can take so many
orders a month; buyers beyond the stores' capacity in a month are turned away (they
buy elsewhere).  Export orders come through importers and do not pass the stores.

**The order book** holds unfilled orders by channel (China, then each export market),
variant and age in months.  Each month:

1. orders age by a month; each order waiting into its ``a``-th month is cancelled with
   the conditional chance that a buyer's patience (Weibull, in weeks) ends then:
   ``1 - S(a w) / S((a - 1) w)``, so cancellations grow as waits grow (shape > 1);
2. the month's new orders join at age 0;
3. finished cars (stock plus what the plant just built) go to the oldest orders first,
   a tie in age shared across channels in proportion to their orders;
4. the quoted wait is the order book over the recent delivery rate (Little's law),
   in weeks, capped at ``max_wait_weeks``.

Counting laws, month by month and per variant: orders = delivered + change in backlog +
cancelled; finished stock + built = delivered + finished stock next month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, NonNegativeFloat, PositiveFloat

from .common import WEEKS_PER_MONTH, Schedule, VentureModel, child_rng, schedule_at, split_int

_AGES = 48  # months of age tracked; older orders share the last bucket
_RECENT = 3  # months of deliveries behind the quoted wait


def weibull_logsf(x: np.ndarray, shape: float, scale: float) -> np.ndarray:
    """log S(x) of a Weibull, ``-(x / scale) ** shape`` for x >= 0: the closed form
    ``scipy.stats.weibull_min(shape, scale=scale).logsf`` evaluates, without the
    second it takes to import scipy.stats."""
    return -np.power(np.asarray(x, dtype=float) / scale, shape)


class Patience(VentureModel):
    """How long buyers wait before cancelling: Weibull in weeks."""

    scale_weeks: PositiveFloat = Field(description="about 63% have cancelled by this wait")
    shape: PositiveFloat = Field(description="> 1: the longer the wait, the likelier to quit")


class ChannelConfig(VentureModel):
    """Stores, their capacity, the finished-stock target and buyers' patience."""

    stores: NonNegativeFloat | Schedule = Field(description="stores selling cars, by month")
    orders_per_store_per_month: PositiveFloat = Field(description="orders a store can take")
    target_stock_weeks: float = Field(
        default=2.0, ge=0, le=52, description="finished cars to hold, weeks of next month's orders"
    )
    patience: Patience
    max_wait_weeks: PositiveFloat = Field(
        default=104.0, le=520, description="cap on the quoted wait"
    )


@dataclass
class ChannelMonth:
    """What happened in the channel in a month (int arrays by variant unless stated)."""

    stores: int
    sales_capacity: int
    orders_domestic: np.ndarray
    turned_away: np.ndarray
    orders: np.ndarray  # [C, V]: China then each export market
    cancelled: np.ndarray
    delivered: np.ndarray  # [C, V]
    backlog: np.ndarray
    stock: np.ndarray
    wait_weeks: np.ndarray  # float [V]
    wait_weeks_total: float


class Channel:
    """Stores and the order book for one run (state: backlog, stock, recent deliveries)."""

    def __init__(
        self,
        cfg: ChannelConfig,
        n_variants: int,
        n_exports: int,
        months: np.ndarray,
        seed: np.random.SeedSequence,
    ) -> None:
        self.cfg = cfg
        self.months = np.asarray(months, dtype=np.int64)
        self.stores = np.rint(schedule_at(cfg.stores, self.months)).astype(np.int64)
        self.backlog = np.zeros((1 + n_exports, n_variants, _AGES), dtype=np.int64)
        self.stock = np.zeros(n_variants, dtype=np.int64)
        self.recent = np.zeros((_RECENT, n_variants), dtype=np.int64)
        self.active = np.zeros(n_variants, dtype=np.int64)  # months since first order
        self.wait_weeks = np.zeros(n_variants)
        weeks = np.arange(_AGES) * WEEKS_PER_MONTH
        log_sf = weibull_logsf(weeks, cfg.patience.shape, cfg.patience.scale_weeks)
        quit_ = np.zeros(_AGES)
        quit_[1:] = -np.expm1(log_sf[1:] - log_sf[:-1])
        self.quit_chance = np.clip(quit_, 0.0, 1.0)  # by age reached this month
        self._rng = child_rng(seed, 0)

    @property
    def rng(self) -> np.random.Generator:
        """The cancellations' stream (a run's state carries its position)."""
        return self._rng

    def sales_capacity(self, t: int) -> int:
        return int(self.stores[t] * self.cfg.orders_per_store_per_month)

    def target_stock(self, forecast_orders: np.ndarray) -> np.ndarray:
        """Finished cars to hold: ``target_stock_weeks`` of the forecast orders."""
        weeks = self.cfg.target_stock_weeks / WEEKS_PER_MONTH
        return np.ceil(weeks * np.asarray(forecast_orders) - 1e-9).astype(np.int64)

    def open_orders(self) -> np.ndarray:
        """Unfilled orders per variant."""
        return np.asarray(self.backlog.sum(axis=(0, 2)))

    def step(
        self, t: int, produced: np.ndarray, demand: np.ndarray, exports: np.ndarray
    ) -> ChannelMonth:
        """Month ``t``: cancel, take orders, deliver oldest first, quote the wait."""
        n_v = self.stock.size
        book = self.backlog
        aged = np.zeros_like(book)
        aged[:, :, 1:] = book[:, :, :-1]
        aged[:, :, -1] += book[:, :, -1]
        lost = self._rng.binomial(aged, self.quit_chance[None, None, :])
        book = aged - lost
        cancelled = lost.sum(axis=(0, 2))

        capacity = self.sales_capacity(t)
        demand = np.asarray(demand, dtype=np.int64)
        domestic = demand.copy()
        if demand.sum() > capacity:
            domestic = split_int(capacity, demand)
        orders = np.vstack([domestic[None, :], np.asarray(exports, dtype=np.int64)])
        book[:, :, 0] += orders

        self.stock = self.stock + np.asarray(produced, dtype=np.int64)
        delivered = np.zeros((book.shape[0], n_v), dtype=np.int64)
        for v in range(n_v):
            free = int(self.stock[v])
            for age in range(_AGES - 1, -1, -1):
                if free == 0:
                    break
                cohort = book[:, v, age]
                take = cohort.copy() if cohort.sum() <= free else split_int(free, cohort)
                book[:, v, age] -= take
                delivered[:, v] += take
                free -= int(take.sum())
        self.stock = self.stock - delivered.sum(axis=0)
        self.backlog = book

        # the delivery rate counts only the months since a variant's first orders, so
        # a launch is not quoted a wait inflated by the months before it
        self.recent = np.vstack([self.recent[1:], delivered.sum(axis=0)])
        self.active += (self.active > 0) | (orders.sum(axis=0) > 0)
        backlog = book.sum(axis=(0, 2))
        span = np.clip(self.active, 1, _RECENT)
        rate = np.array([self.recent[-k:, v].mean() for v, k in enumerate(span)])
        self.wait_weeks = self._wait(backlog, rate)
        rate_all = self.recent[-int(span.max()) :].sum(axis=1).mean()
        total = float(self._wait(np.array([backlog.sum()]), np.array([rate_all]))[0])
        return ChannelMonth(
            stores=int(self.stores[t]),
            sales_capacity=capacity,
            orders_domestic=domestic,
            turned_away=demand - domestic,
            orders=orders,
            cancelled=cancelled,
            delivered=delivered,
            backlog=backlog,
            stock=self.stock.copy(),
            wait_weeks=self.wait_weeks.copy(),
            wait_weeks_total=total,
        )

    def _wait(self, backlog: np.ndarray, rate: np.ndarray) -> np.ndarray:
        """Quoted wait in weeks: orders ahead over the recent delivery rate (Little)."""
        cap = self.cfg.max_wait_weeks
        with np.errstate(divide="ignore", invalid="ignore"):
            weeks = np.where(rate > 0, backlog / np.where(rate > 0, rate, 1.0), np.inf)
        weeks = np.where(backlog > 0, weeks * WEEKS_PER_MONTH, 0.0)
        return np.minimum(weeks, cap)
