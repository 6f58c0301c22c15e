"""Line files: the pydantic model users write, and its compiled numeric form.

A line file (YAML, times in seconds)::

    name: body-shop            # optional
    stations:
      - name: weld
        cycle_time: {dist: exponential, mean: 60}
        servers: 1                                   # parallel identical servers
        failures: {basis: operating, mtbf: 3600, mttr: 300}
        first_pass_yield: 0.98
        variant_cycle_time: {YU7: {dist: lognormal, mean: 70, cv: 0.2}}
      - name: paint
        cycle_time: {dist: lognormal, mean: 55, cv: 0.3}
    buffers: [2]           # waiting places between consecutive stations
    calendar:              # optional; without it the line always works
      shifts: [{start: "06:00", end: "14:00"}]
      breaks: [{start: "10:00", end: "10:15"}]
      days: [mon, tue, wed, thu, fri]
    variants: {sequence: [SU7, SU7, YU7]}   # or {mix: {SU7: 0.7, YU7: 0.3}}
    release: {interval: {dist: exponential, mean: 65}}   # optional kit arrivals

``evplant schema --line`` writes the JSON Schema of this format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from pydantic import Field, PositiveFloat, model_validator

from ..base import Model as _Model
from .calendar import WorkCalendar, weekly
from .distributions import Dist, Exponential

FAIL_NONE, FAIL_OPERATING, FAIL_CALENDAR = 0, 1, 2
#: what a defective visit does (``Station.on_defect``)
DEFECT_PASS, DEFECT_REWORK, DEFECT_SCRAP = 0, 1, 2
_DEFECT = {"pass": DEFECT_PASS, "rework": DEFECT_REWORK, "scrap": DEFECT_SCRAP}
#: bounds on failures: at most one a second on average, repairs of at most 30 days
MIN_MTBF_S, MAX_MTTR_S = 1.0, 30 * 86_400.0
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Failures(_Model):
    """Breakdowns of each server: times to failure and to repair."""

    basis: Literal["operating", "calendar"] = Field(
        "operating",
        description="operating: the clock runs while the server works; "
        "calendar: it runs always (wall clock)",
    )
    mtbf: PositiveFloat | None = Field(None, description="mean time between failures, s")
    mttr: PositiveFloat | None = Field(None, description="mean time to repair, s")
    time_to_failure: Dist | None = None
    time_to_repair: Dist | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Failures:
        if (self.mtbf is None) == (self.time_to_failure is None):
            raise ValueError("give exactly one of mtbf (exponential) or time_to_failure")
        if (self.mttr is None) == (self.time_to_repair is None):
            raise ValueError("give exactly one of mttr (exponential) or time_to_repair")
        # failures many times a second make events without end; a repair longer than a
        # month outlasts any working calendar the model builds around a run
        if self.ttf.mean < MIN_MTBF_S:
            raise ValueError(
                f"the mean time between failures is {self.ttf.mean:g} s; at least {MIN_MTBF_S:g}"
            )
        if self.ttr.mean > MAX_MTTR_S:
            raise ValueError(
                f"the mean time to repair is {self.ttr.mean:g} s; at most {MAX_MTTR_S:g} (30 days)"
            )
        return self

    @property
    def ttf(self) -> Dist:
        return self.time_to_failure or Exponential(mean=self.mtbf)  # type: ignore[arg-type]

    @property
    def ttr(self) -> Dist:
        return self.time_to_repair or Exponential(mean=self.mttr)  # type: ignore[arg-type]

    @property
    def availability(self) -> float:
        """Steady-state fraction up: MTBF / (MTBF + MTTR)."""
        return self.ttf.mean / (self.ttf.mean + self.ttr.mean)


class Station(_Model):
    name: str = Field(min_length=1)
    cycle_time: Dist = Field(description="work per job, seconds")
    servers: int = Field(1, ge=1, le=64, description="parallel identical servers")
    failures: Failures | None = None
    first_pass_yield: float = Field(1.0, gt=0, le=1, description="share of jobs right first time")
    ideal_cycle_time: PositiveFloat | None = Field(
        None, description="design cycle time for OEE, s (default: the mean cycle time)"
    )
    variant_cycle_time: dict[str, Dist] = Field(
        default_factory=dict, description="cycle time per variant, overriding cycle_time"
    )
    keep_sequence: bool = Field(
        False,
        description="with several servers: a job leaves only after the one that entered "
        "before it (just-in-sequence); by default a job leaves as soon as its own work is "
        "done and there is room downstream (it may overtake)",
    )
    resequence: bool = Field(
        False,
        description="the buffer before this station is a resequencing store: the station "
        "takes the waiting job with the lowest build number, not the first to arrive",
    )
    on_defect: Literal["pass", "rework", "scrap"] = Field(
        "pass",
        description="what happens to a job that is not right first time (a share "
        "1 - first_pass_yield of the visits): pass = it is put right off the line, at no "
        "capacity of it (quality counts in OEE only); rework = it goes back to the "
        "station rework_at and does the work from there again; scrap = it leaves the "
        "line for good",
    )
    rework_at: str | None = Field(
        None,
        description="on_defect rework: the station the job goes back to, this one or one "
        "before it on its line (default: this station)",
    )

    @model_validator(mode="after")
    def _rework_target(self) -> Station:
        if self.rework_at is not None and self.on_defect != "rework":
            raise ValueError(
                f"station {self.name!r}: rework_at needs on_defect: rework, got "
                f"on_defect: {self.on_defect}"
            )
        return self


def misplaced_rework(stations: Sequence[Station]) -> tuple[Station, list[str]] | None:
    """The first station whose ``rework_at`` is not itself or a station before it in
    ``stations``, with the names it may give; None if every target is one of those."""
    names = [s.name for s in stations]
    for i, st in enumerate(stations):
        if st.rework_at is not None and st.rework_at not in names[: i + 1]:
            return st, names[: i + 1]
    return None


class Clock(_Model):
    start: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$", description="HH:MM")
    end: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$", description="HH:MM")

    def seconds(self) -> tuple[float, float]:
        def sec(s: str) -> float:
            h, m = s.split(":")
            return int(h) * 3600.0 + int(m) * 60.0

        a, e = sec(self.start), sec(self.end)
        if e <= a:  # a night shift runs past midnight
            e += 86_400.0
        return a, e


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _weekdays() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


class CalendarSpec(_Model):
    shifts: list[Clock] = Field(min_length=1)
    breaks: list[Clock] = Field(default_factory=list)
    days: list[Weekday] = Field(default_factory=_weekdays)

    def build(self, horizon_s: float) -> WorkCalendar:
        windows: list[tuple[float, float]] = []
        breaks = [b.seconds() for b in self.breaks]
        for shift in self.shifts:
            pieces = [shift.seconds()]
            for ba, be in breaks:
                pieces = (
                    [
                        part
                        for a, e in pieces
                        for part in ((a, min(e, ba)), (max(a, be), e))
                        if part[1] > part[0]
                    ]
                    if any(ba < e and be > a for a, e in pieces)
                    else pieces
                )
            windows.extend(pieces)
        days = [_DAYS.index(d) for d in self.days]
        return weekly(windows, days, horizon_s)


class Variants(_Model):
    sequence: list[str] | None = Field(None, min_length=1, description="repeating build sequence")
    mix: dict[str, PositiveFloat] | None = Field(None, description="random mix by weight")

    @model_validator(mode="after")
    def _one(self) -> Variants:
        if (self.sequence is None) == (self.mix is None):
            raise ValueError("give exactly one of sequence or mix")
        return self

    @property
    def names(self) -> list[str]:
        if self.sequence is not None:
            return list(dict.fromkeys(self.sequence))
        return list(self.mix or {})


class Release(_Model):
    interval: Dist = Field(description="time between kit arrivals, seconds")


class LineSpec(_Model):
    """A line file: stations in flow order, the buffers between them, and optionally a
    calendar, variants and kit releases (the format in ``docs/line-files.md``).

    Examples
    --------
    >>> from evplant import LineSpec
    >>> spec = LineSpec.model_validate({"stations": [
    ...     {"name": "weld", "cycle_time": {"dist": "exponential", "mean": 60}}]})
    >>> spec.compile().names
    ['weld']
    """

    name: str = "line"
    stations: list[Station] = Field(min_length=1)
    buffers: list[int] = Field(default_factory=list, description="waiting places between stations")
    calendar: CalendarSpec | None = None
    variants: Variants | None = None
    release: Release | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LineSpec:
        m = len(self.stations)
        if len(self.buffers) != m - 1:
            raise ValueError(
                f"buffers needs {m - 1} capacities (one between each pair of the {m} "
                f"stations), got {len(self.buffers)}"
            )
        if any(b < 0 for b in self.buffers):
            raise ValueError("buffer capacities must be >= 0")
        if self.stations[0].resequence:
            raise ValueError(
                f"station {self.stations[0].name!r}: resequence needs a buffer before the "
                f"station; the first station takes jobs in build order anyway"
            )
        names = [s.name for s in self.stations]
        if len(set(names)) != m:
            raise ValueError("station names must be unique")
        misplaced = misplaced_rework(self.stations)
        if misplaced is not None:
            s, allowed = misplaced
            raise ValueError(
                f"station {s.name!r}: rework_at {s.rework_at!r} is not this station or "
                f"one before it ({', '.join(allowed)})"
            )
        for i, s in enumerate(self.stations):
            if s.rework_at is None:
                continue
            k = names.index(s.rework_at)
            if any(st.resequence for st in self.stations[k : i + 1]):
                raise ValueError(
                    f"station {s.name!r}: the rework loop to {s.rework_at!r} passes a "
                    f"resequencing store, which a loop may not contain"
                )
        known = set(self.variants.names) if self.variants else set()
        for s in self.stations:
            unknown = set(s.variant_cycle_time) - known
            if unknown:
                raise ValueError(
                    f"station {s.name!r}: variant_cycle_time names {sorted(unknown)} "
                    f"not declared in variants"
                )
        return self

    def compile(self, calendar: WorkCalendar | None = None) -> CompiledLine:
        return compile_line(self, calendar)


@dataclass
class CompiledLine:
    """The numeric form of a line: what both engines read."""

    names: list[str]
    servers: np.ndarray  # int64 [m]
    buffers: np.ndarray  # int64 [m], buffers[m-1] = 0 (after the last station)
    fail_basis: np.ndarray  # int64 [m]
    ttf_code: np.ndarray  # float64 [m, 4]
    ttr_code: np.ndarray  # float64 [m, 4]
    table: np.ndarray  # float64: empirical samples for failure draws
    ideal_ct: np.ndarray  # float64 [m]
    fpy: np.ndarray  # float64 [m]
    cycle_time: list[list[Dist]]  # [station][variant]
    variant_names: list[str]
    variants: Variants | None
    calendar: WorkCalendar
    calendar_spec: CalendarSpec | None = None
    release: Release | None = None
    failures: list[Failures | None] = field(default_factory=list)
    # topology (see _kernel.run_rows); empty: a serial line
    up: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    down: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    feeders: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.int64))
    # flow rules per station (1/0; empty: overtaking allowed, no resequencing)
    keep_sequence: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    resequence: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # parts fitted at a station (see ``with_gates``): gate[i] is the column of station
    # i's part in the ready times a feed gives, -1 where no part is awaited
    gate: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # quality (``Station.on_defect``): defect[i] is DEFECT_*, rework_to[i] the station a
    # defective job goes back to (-1: none)
    defect: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rework_to: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        m = len(self.names)
        if len(self.gate) == 0:
            self.gate = np.full(m, -1, dtype=np.int64)
        if len(self.defect) == 0:
            self.defect = np.zeros(m, dtype=np.int64)
        if len(self.rework_to) == 0:
            self.rework_to = np.full(m, -1, dtype=np.int64)
        if len(self.keep_sequence) == 0:
            self.keep_sequence = np.zeros(m, dtype=np.int64)
        if len(self.resequence) == 0:
            self.resequence = np.zeros(m, dtype=np.int64)
        if len(self.up) == 0:
            self.up = np.arange(-1, m - 1, dtype=np.int64)
        if len(self.down) == 0:
            self.down = np.array([*range(1, m), -1], dtype=np.int64)
        if len(self.feeders) == 0:
            self.feeders = np.full((m, 1), -1, dtype=np.int64)

    @property
    def m(self) -> int:
        return len(self.names)

    @property
    def overtakes(self) -> np.ndarray:
        """Stations where a job may leave before one that entered earlier (bool [m])."""
        out: np.ndarray = (np.asarray(self.servers) > 1) & (np.asarray(self.keep_sequence) == 0)
        return out

    @property
    def in_build_order(self) -> bool:
        """True when no job can overtake another anywhere on the line and none is
        reworked or scrapped: the max-plus recursion in build order (``_kernel``) is
        then exact; otherwise the event-driven kernel (``_events``) runs the line."""
        return not bool(self.overtakes.any()) and not bool((self.defect != DEFECT_PASS).any())

    def rows_behind(self, wave: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """How many rows each station's departures run behind the jobs fed, in the
        staggered recursion ``wave`` (:attr:`stagger`): its lag, and ``k - 1`` more
        where it overtakes."""
        lag, ot = wave
        out: np.ndarray = lag + ot * (np.asarray(self.servers, dtype=np.int64) - 1)
        return out

    @property
    def stagger(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Where jobs overtake, how far each station runs behind in the staggered
        recursion (``_stagger``): (lag, overtakes as 0/1), each ``[m]``; None where it
        cannot run the line (a job reworked or scrapped, a resequencing station, or a
        place that would wait on a departure the next station has not reached) and the
        event-driven kernel does."""
        if self.in_build_order or (self.defect != DEFECT_PASS).any() or self.resequence.any():
            return None
        ot = self.overtakes.astype(np.int64)
        k = np.asarray(self.servers, dtype=np.int64)
        lag = np.zeros(self.m, dtype=np.int64)
        off = np.zeros(self.m, dtype=np.int64)
        # stations are numbered so that the ones a station takes from come first
        for i in range(self.m):
            before = [int(self.up[i])] if self.up[i] >= 0 else []
            before += [int(f) for f in self.feeders[i] if f >= 0]
            lag[i] = max((off[b] for b in before), default=0)
            off[i] = lag[i] + ot[i] * (k[i] - 1)
        for i in range(self.m):
            dn = int(self.down[i])
            if dn >= 0 and off[dn] - off[i] > int(self.buffers[i]) + k[dn] - 1:
                return None
        return lag, ot

    @property
    def loops(self) -> list[int]:
        """Every station inside a rework loop (from its target to the station that
        sends jobs back), in station order."""
        inside: set[int] = set()
        for i in np.flatnonzero(self.defect == DEFECT_REWORK):
            k = int(i)
            inside.add(k)
            while k != self.rework_to[i]:
                k = int(self.up[k])
                inside.add(k)
        return sorted(inside)

    def quality_problem(self) -> tuple[int, str] | None:
        """The first station whose ``on_defect`` the line cannot carry, with the reason,
        or None: a rework loop runs back along the station's own line to its target and
        may not pass a join, a resequencing store or a station awaiting a part (they
        choose the next job by rules of their own, or would take a second part); a
        scrapped job must be a vehicle of the main line (a feeder's part has a vehicle
        waiting for it)."""
        up, down = np.asarray(self.up), np.asarray(self.down)
        for i in range(self.m):
            if self.defect[i] == DEFECT_SCRAP:
                k = i
                while down[k] >= 0 and up[down[k]] == k:
                    k = int(down[k])
                if down[k] >= 0:
                    return i, (
                        f"station {self.names[i]!r} is on a feeder line, whose parts a "
                        f"vehicle waits for: scrap is for the main line; use rework"
                    )
            if self.defect[i] != DEFECT_REWORK:
                continue
            target = int(self.rework_to[i])
            k = i
            while True:
                joins = bool((np.asarray(self.feeders[k]) >= 0).any())
                kind = (
                    "an assembly join"
                    if joins
                    else "a resequencing store"
                    if self.resequence[k]
                    else "a station awaiting a part"
                    if self.gate[k] >= 0
                    else ""
                )
                if kind:
                    return i, (
                        f"station {self.names[i]!r}: the rework loop to "
                        f"{self.names[target]!r} passes {self.names[k]!r}, {kind}, which a "
                        f"loop may not contain; allowed: a rework_at after it"
                    )
                if k == target:
                    break
                k = int(up[k])
                if k < 0:
                    return i, (
                        f"station {self.names[i]!r}: rework_at {self.names[target]!r} is "
                        f"not this station or one before it on its line"
                    )
        return None

    def with_calendar(self, calendar: WorkCalendar) -> CompiledLine:
        return replace(self, calendar=calendar)

    @property
    def gates(self) -> int:
        """Stations that await a part of their own (columns of a feed's ready times)."""
        return int((self.gate >= 0).sum())

    def gate_problem(self, i: int) -> str | None:
        """Why station ``i`` cannot await a part of its own, or None if it can: a
        join's feeder parts and a resequencing store choose the job to enter by rules
        of their own, which a part's wait would have to be merged into."""
        if (np.asarray(self.feeders[i]) >= 0).any() or self.resequence[i]:
            return (
                f"station {self.names[i]!r} is an assembly join or a resequencing store, "
                f"where no part can wait to be fitted; give another station"
            )
        if i in self.loops:
            return (
                f"station {self.names[i]!r} is inside a rework loop, where no part can "
                f"wait to be fitted; give another station"
            )
        return None

    def with_gates(self, stations: Sequence[int]) -> CompiledLine:
        """The line with parts fitted at ``stations`` (in the order of the ready times'
        columns): a job enters station ``stations[g]`` only once its part has come
        (``LineEngine.feed(ready=...)``, column ``g``), waiting in the buffer before it,
        and jobs enter such a station in build order (the first in the buffer waits for
        its part, and those behind it wait too)."""
        gate = np.full(self.m, -1, dtype=np.int64)
        for g, i in enumerate(stations):
            if not 0 <= i < self.m or gate[i] >= 0:
                raise ValueError(f"gated stations must be distinct stations, got {stations}")
            problem = self.gate_problem(i)
            if problem is not None:
                raise ValueError(problem)
            gate[i] = g
        return replace(self, gate=gate)

    def with_first_pass_yield(self, fpy: np.ndarray) -> CompiledLine:
        """The line with first-pass yields ``fpy`` ``[m]`` (ramp-up learning of quality):
        what share of visits the reworking and scrapping stations pass."""
        return replace(self, fpy=np.asarray(fpy, dtype=np.float64))

    def with_repair_scale(self, factor: float) -> CompiledLine:
        """Repair times multiplied by ``factor`` (ramp-up learning of maintenance).

        Empirical repair times keep their samples: the kernel's table is not rescaled.
        """
        code = self.ttr_code.copy()
        for i, f in enumerate(self.failures):
            if f is not None and f.ttr.dist != "empirical":
                code[i] = f.ttr.scaled(factor).encode()
        return replace(self, ttr_code=code)

    def station_rates(self, cycle_factor: float = 1.0, repair_factor: float = 1.0) -> np.ndarray:
        """Jobs per second each station can do at most, net of failures."""
        rates = np.empty(self.m)
        for i in range(self.m):
            ct = float(np.mean([d.mean for d in self.cycle_time[i]])) * cycle_factor
            f = self.failures[i] if self.failures else None
            loss = 1.0 if f is None else 1.0 + f.ttr.mean * repair_factor / f.ttf.mean
            rates[i] = self.servers[i] / (ct * loss)
        return rates


def _encode(dist: Dist, table: list[float]) -> np.ndarray:
    code = np.array(dist.encode(), dtype=np.float64)
    if getattr(dist, "dist", "") == "empirical":
        code[1] = len(table)
        table.extend(dist.samples)  # type: ignore[union-attr]
    return code


def compile_line(spec: LineSpec, calendar: WorkCalendar | None = None) -> CompiledLine:
    """A line file's compiled form (a serial line)."""
    if calendar is None:
        if spec.calendar is None:
            calendar = WorkCalendar.always()
        else:
            calendar = spec.calendar.build(horizon_s=8 * 7 * 86_400.0)
    return build_line(
        spec.stations,
        [*spec.buffers, 0],
        variant_names=spec.variants.names if spec.variants else ["default"],
        variants=spec.variants,
        calendar=calendar,
        calendar_spec=spec.calendar,
        release=spec.release,
    )


def build_line(
    stations: Sequence[Station],
    buffers: Sequence[int],
    *,
    variant_names: list[str],
    variants: Variants | None,
    calendar: WorkCalendar,
    calendar_spec: CalendarSpec | None = None,
    release: Release | None = None,
    scale: float = 1.0,
    names: list[str] | None = None,
    up: Sequence[int] = (),
    down: Sequence[int] = (),
    feeders: np.ndarray | None = None,
) -> CompiledLine:
    """The one way to compile stations into a line both engines read.

    ``buffers[i]``: places after station ``i``; ``scale`` multiplies every cycle time
    (a plant phase's work content); ``names`` (default: the stations' names) and the
    topology ``up``/``down``/``feeders`` (default: a serial line) come from a layout.
    """
    m = len(stations)
    table: list[float] = []
    ttf = np.zeros((m, 4))
    ttr = np.zeros((m, 4))
    basis = np.zeros(m, dtype=np.int64)
    for i, st in enumerate(stations):
        if st.failures is not None:
            basis[i] = FAIL_OPERATING if st.failures.basis == "operating" else FAIL_CALENDAR
            ttf[i] = _encode(st.failures.ttf, table)
            ttr[i] = _encode(st.failures.ttr, table)
    ideal = np.array([s.ideal_cycle_time or s.cycle_time.mean for s in stations], dtype=np.float64)

    def cycle(st: Station, v: str) -> Dist:
        dist = st.variant_cycle_time.get(v, st.cycle_time)
        return dist if scale == 1.0 else dist.scaled(scale)

    line = CompiledLine(
        names=list(names) if names is not None else [s.name for s in stations],
        servers=np.array([s.servers for s in stations], dtype=np.int64),
        buffers=np.array(buffers, dtype=np.int64),
        fail_basis=basis,
        ttf_code=ttf,
        ttr_code=ttr,
        table=np.array(table if table else [0.0], dtype=np.float64),
        ideal_ct=ideal if scale == 1.0 else scale * ideal,
        fpy=np.array([s.first_pass_yield for s in stations], dtype=np.float64),
        cycle_time=[[cycle(st, v) for v in variant_names] for st in stations],
        variant_names=variant_names,
        variants=variants,
        calendar=calendar,
        calendar_spec=calendar_spec,
        release=release,
        failures=[s.failures for s in stations],
        up=np.array(up, dtype=np.int64),
        down=np.array(down, dtype=np.int64),
        feeders=np.zeros((0, 1), dtype=np.int64) if feeders is None else feeders,
        keep_sequence=np.array([int(s.keep_sequence) for s in stations], dtype=np.int64),
        resequence=np.array([int(s.resequence) for s in stations], dtype=np.int64),
        defect=np.array([_DEFECT[s.on_defect] for s in stations], dtype=np.int64),
        rework_to=_rework_targets(stations, names),
    )
    problem = line.quality_problem()
    if problem is not None:
        raise QualityError(problem[0], problem[1])
    return line


class QualityError(ValueError):
    """A station's ``on_defect`` the line cannot carry (``station``: its index)."""

    def __init__(self, station: int, message: str) -> None:
        super().__init__(message)
        self.station = station


def _rework_targets(stations: Sequence[Station], names: list[str] | None) -> np.ndarray:
    """Each station's rework target as an index (-1: none); ``rework_at`` names a
    station of the same list by its own name (in a plant, of the same shop)."""
    own = [s.name for s in stations]
    full = list(names) if names is not None else own
    out = np.full(len(stations), -1, dtype=np.int64)
    for i, st in enumerate(stations):
        if st.on_defect != "rework":
            continue
        if st.rework_at is None:
            out[i] = i
            continue
        # the nearest station of that name at or before this one (a plant's shops may
        # reuse station names; "shop/station" names one exactly)
        hits = [k for k in range(i, -1, -1) if st.rework_at in (own[k], full[k])]
        if not hits:
            raise QualityError(
                i, f"station {st.name!r}: rework_at {st.rework_at!r} is not this station "
                f"or one before it"
            )
        out[i] = hits[0]
    return out


def nominal_rate_per_hour(line: CompiledLine) -> float:
    """Jobs per working hour the slowest station allows, ignoring losses."""
    mean_ct = np.array([np.mean([d.mean for d in row]) for row in line.cycle_time])
    return float(3600.0 * np.min(line.servers / mean_ct))
