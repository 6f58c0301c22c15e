"""The plant section of a scenario: phases, shops, shifts, holidays and the ramp.

These are the pydantic models behind ``plant:`` in a scenario file. Times are in
seconds, months are ``YYYY-MM`` and days ``YYYY-MM-DD``.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, PositiveFloat, model_validator

from ..base import Model as _Model
from ..line.spec import Station, misplaced_rework
from ..months import Month, as_text, check_day
from .costs import PlantCosts


def _day(value: str) -> str:
    return check_day(value)


Day = Annotated[str, BeforeValidator(as_text), AfterValidator(_day)]
__all__ = ["Day", "Month", "PhaseSpec", "PlantSpec", "ShopSpec", "StationSpec"]


#: A plant station is a line file's station (cycle times are the mature work per vehicle).
StationSpec = Station


class ShopSpec(_Model):
    """A shop is one stretch of line: stations with buffers between them."""

    name: str = Field(min_length=1)
    stations: list[StationSpec] = Field(min_length=1)
    buffers: list[int] = Field(default_factory=list, description="places between its stations")
    store_after: int = Field(
        0, ge=0, description="places in the store after this shop (e.g. the painted-body store)"
    )
    joins: str | None = Field(
        None,
        description="a feeder shop: the shop whose first station needs one of this shop's "
        "parts per vehicle (die-casting joins body, battery pack joins general assembly)",
    )

    @model_validator(mode="after")
    def _buffers(self) -> ShopSpec:
        if len(self.buffers) != len(self.stations) - 1:
            raise ValueError(
                f"shop {self.name!r}: buffers needs {len(self.stations) - 1} capacities, "
                f"got {len(self.buffers)}"
            )
        if any(b < 0 for b in self.buffers):
            raise ValueError(f"shop {self.name!r}: buffer capacities must be >= 0")
        misplaced = misplaced_rework(self.stations)
        if misplaced is not None:
            st, allowed = misplaced
            raise ValueError(
                f"shop {self.name!r}, station {st.name!r}: rework_at {st.rework_at!r} "
                f"is not this station or one before it in the shop ({', '.join(allowed)})"
            )
        for st in self.stations:
            if st.on_defect == "scrap" and self.joins is not None:
                raise ValueError(
                    f"shop {self.name!r}, station {st.name!r}: a feeder shop's part has a "
                    f"vehicle waiting for it, so it cannot be scrapped; use on_defect: rework"
                )
        return self


class ShiftRegime(_Model):
    """From a date on, the plant works this pattern."""

    start: Day
    shifts: int = Field(ge=1, le=3)
    hours: float = Field(gt=0, le=12, description="working hours per shift, breaks excluded")
    days_per_week: int = Field(6, ge=1, le=7)
    first_shift_starts: float = Field(7.0, ge=0, lt=24, description="hour of the day")

    @model_validator(mode="after")
    def _a_day_has_24_hours(self) -> ShiftRegime:
        if self.shifts * self.hours > 24:
            raise ValueError(
                f"{self.shifts} shifts of {self.hours:g} hours make {self.shifts * self.hours:g} "
                "hours a day; a day has 24"
            )
        return self


class Holiday(_Model):
    start: Day
    days: int = Field(ge=1, le=60)
    name: str = ""


class Window(_Model):
    """Months ``start..end`` inclusive."""

    start: Month
    end: Month


class PhaseSpec(_Model):
    name: str = Field(min_length=1)
    construction: Window
    trial_production: Window | None = Field(
        None, description="pilot builds before start of production (after construction starts)"
    )
    sop: Day = Field(description="start of production (after construction ends)")
    delay_months: int = Field(
        0,
        ge=-120,
        le=120,
        description="moves the phase's timeline by this many months: construction, trial "
        "production, start of production, shift regimes, the capex items naming the phase "
        "and the launch of the variants it builds first",
    )
    nameplate_per_year: PositiveFloat = Field(
        description="the announced capacity; for comparison only, the model derives its own"
    )
    mix: dict[str, PositiveFloat] = Field(min_length=1, description="variants built, by weight")
    cycle_time_scale: float = Field(
        1.0,
        gt=0,
        le=10,
        description="this phase's work content relative to its shops' stated cycle times "
        "(lets phases share one shop design)",
    )
    shifts: list[ShiftRegime] = Field(min_length=1)
    shops: list[ShopSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> PhaseSpec:
        names = [s.name for s in self.shops]
        if len(set(names)) != len(names):
            raise ValueError(f"phase {self.name!r}: shop names must be unique")
        main = [s for s in self.shops if s.joins is None]
        if not main:
            raise ValueError(f"phase {self.name!r}: needs at least one shop on the main line")
        for s in self.shops:
            if s.joins is not None and s.joins not in {m.name for m in main}:
                raise ValueError(
                    f"phase {self.name!r}: shop {s.name!r} joins {s.joins!r}, which is not a "
                    f"shop of the main line ({', '.join(m.name for m in main)})"
                )
        for shop in self.shops:
            for st in shop.stations:
                unknown = set(st.variant_cycle_time) - set(self.mix)
                if unknown:
                    raise ValueError(
                        f"phase {self.name!r}: station {shop.name}/{st.name} has "
                        f"variant_cycle_time for {sorted(unknown)}, not in the phase's mix"
                    )
        starts = [r.start for r in self.shifts]
        if starts != sorted(starts):
            raise ValueError(f"phase {self.name!r}: shift regimes must be in date order")
        if self.shifts[0].start > self.sop:
            raise ValueError(f"phase {self.name!r}: the first shift regime must start by SOP")
        return self


class Learning(_Model):
    """Wright's law: a factor (n_eff / mature_units) ** log2(progress_ratio), floor 1."""

    progress_ratio: float = Field(gt=0.5, lt=1.0, description="0.8: each doubling cuts 20%")
    mature_units: PositiveFloat = Field(description="units after which the mature value holds")


class Ramp(_Model):
    cycle_time: Learning
    repair_time: Learning
    defects: Learning
    experience_units: float = Field(
        ge=0, description="units of experience the team brings on its own at SOP"
    )
    transfer_between_phases: float = Field(
        0.5, ge=0, le=1, description="share of an earlier phase's output a later phase learns from"
    )


class Partner(_Model):
    """An experienced carmaker consulting on the ramp (the built-in plant's partner)."""

    enabled: bool = True
    name: str = "partner"
    experience_units: float = Field(ge=0, description="extra units of experience it brings")
    progress_ratio: float | None = Field(
        None, gt=0.5, lt=1.0, description="cycle-time progress ratio with the partner"
    )


class PlantSpec(_Model):
    phases: list[PhaseSpec] = Field(min_length=1)
    holidays: list[Holiday] = Field(default_factory=list)
    ramp: Ramp
    partner: Partner | None = None
    target_per_year: PositiveFloat | None = Field(
        None,
        description="the rate the plant is measured against, vehicles a year (default: the "
        "sum of the phases' nameplates)",
    )
    costs: PlantCosts | None = Field(
        None,
        description="prices of one more server and store place, for `evplant optimize "
        "plant` and the ranking per unit of money",
    )

    @property
    def target_rate(self) -> float:
        """The target rate, vehicles a year: as stated, or the sum of the nameplates."""
        if self.target_per_year is not None:
            return float(self.target_per_year)
        return float(sum(p.nameplate_per_year for p in self.phases))

    @property
    def shop_order(self) -> list[str]:
        """Every phase's shops in the order the scenario lists them (first seen first)."""
        return list(dict.fromkeys(s.name for p in self.phases for s in p.shops))

    @model_validator(mode="after")
    def _unique(self) -> PlantSpec:
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError("phase names must be unique")
        return self

    @model_validator(mode="after")
    def _costs_named(self) -> PlantSpec:
        """A price names a shop and station the plant has (a typo would price nothing)."""
        if self.costs is None:
            return self
        from ..venture.common import invalid

        stations: dict[str, set[str]] = {}
        for phase in self.phases:
            for shop in phase.shops:
                stations.setdefault(shop.name, set()).update(st.name for st in shop.stations)
        problems: list[tuple[tuple[str | int, ...], str, object]] = []
        for name, own in self.costs.shops.items():
            if name not in stations:
                problems.append((("costs", "shops", name), f"no shop {name!r}; shops: "
                                 f"{', '.join(stations)}", name))
                continue
            for st in own.stations:
                if st not in stations[name]:
                    problems.append((("costs", "shops", name, "stations", st),
                                     f"shop {name!r} has no station {st!r}; stations: "
                                     f"{', '.join(sorted(stations[name]))}", st))
        invalid("PlantSpec", problems)
        return self

    @model_validator(mode="after")
    def _pace(self) -> PlantSpec:
        for phase in self.phases:
            check_pace(phase, self.ramp, self.partner)
        return self


#: a phase builds at most one vehicle a second (the simulation's work grows with the
#: vehicles), and can clear the vehicles its line holds within this many days
MAX_RATE_PER_S = 1.0
MAX_DRAIN_DAYS = 180.0


def check_pace(phase: PhaseSpec, ramp: Ramp, partner: Partner | None) -> None:
    """Refuse a phase whose line is faster than :data:`MAX_RATE_PER_S` when mature, or
    so slow at the start of its ramp (cycle times, learning, repairs) that the vehicles
    its line holds (every station, buffer and store full) would take more than
    :data:`MAX_DRAIN_DAYS` to come out: such a run would never end, or never finish its
    vehicles within the working calendar built around the horizon."""
    from .ramp import ramp_state  # ramp reads this module's models

    start = ramp_state(0.0, ramp, partner)
    top_rate, slowest, where = math.inf, 0.0, ""
    places = 0
    for shop in phase.shops:
        places += sum(shop.buffers) + shop.store_after
        for st in shop.stations:
            places += st.servers
            means = [st.cycle_time.mean, *(d.mean for d in st.variant_cycle_time.values())]
            top_rate = min(top_rate, st.servers / (min(means) * phase.cycle_time_scale))
            loss = 1.0
            if st.failures is not None:
                loss += st.failures.ttr.mean * start.repair_time_factor / st.failures.ttf.mean
            per_car = max(means) * phase.cycle_time_scale * start.cycle_time_factor * loss
            if per_car / st.servers > slowest:
                slowest, where = per_car / st.servers, f"{shop.name}/{st.name}"
    if top_rate > MAX_RATE_PER_S:
        raise ValueError(
            f"phase {phase.name!r}: its line could build {3600 * top_rate:,.0f} vehicles an "
            f"hour; at most {3600 * MAX_RATE_PER_S:,.0f} (check the cycle times' units: seconds)"
        )
    share = min(r.shifts * r.hours * r.days_per_week for r in phase.shifts) / (24 * 7)
    days = places * slowest / share / 86_400.0
    if days > MAX_DRAIN_DAYS:
        raise ValueError(
            f"phase {phase.name!r}: at the start of its ramp, station {where} takes "
            f"{slowest:,.0f} s a vehicle, so the {places:,} vehicles its line holds would take "
            f"{days:,.0f} days to come out; at most {MAX_DRAIN_DAYS:.0f} (shorter cycle or "
            "repair times, or more experience at SOP)"
        )

