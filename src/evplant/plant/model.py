"""The plant, month by month: each phase's line runs every vehicle through the engine.

Each phase is one ``LineEngine`` (its shops laid out as one line with feeder joins),
kept alive for the whole horizon, so the state at a month's end carries into the next.
Every month the plant releases the vehicles it plans (and has kits for) at their kit
arrival times, with cycle and repair times scaled by where the phase stands on its
learning curves, and reads off the month's output and station statistics from the
engine's monthly bins.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..errors import EvplantError
from ..line.engine import LineEngine
from ..line.result import BinStats
from ..records import PhaseMonth, PlantTotals, Record, ShopMonth, StationMonth, VariantBuilt
from ..seeds import child_seed
from .calendar import holiday_days, month_starts, phase_calendar, seconds_since, shifts_on
from .layout import PhaseLayout, layout_phase
from .ramp import RampState, ramp_state
from .spec import PlantSpec


def _largest_remainder(n: int, shares: np.ndarray) -> list[int]:
    """``n`` whole units split by ``shares`` (summing to 1), the rounding remainders
    given to the largest fractions."""
    raw = n * shares
    counts = np.floor(raw).astype(np.int64)
    left = n - int(counts.sum())
    if left > 0:
        counts[np.argsort(-(raw - counts), kind="stable")[:left]] += 1
    return [int(c) for c in counts]


@dataclass
class PhaseRun:
    name: str
    layout: PhaseLayout
    engine: LineEngine
    sop_s: float
    built: float = 0.0  # completed vehicles so far
    released: int = 0  # vehicles released to the line so far
    scrapped: float = 0.0  # vehicles scrapped so far (``Station.on_defect``)
    ramp: RampState | None = None
    # the repair factor the engine's line was last scaled by (None: not yet)
    repair_factor: float | None = None


@dataclass(frozen=True)
class PlantMonth:
    """What the plant did in one month: arrays for the month loop, records for the
    results."""

    produced: np.ndarray  # per variant, completed by general assembly (whole cars)
    released: np.ndarray  # per variant, vehicles started (kits used)
    totals: PlantTotals  # its contract_* fields: the client's cars
    variants: list[VariantBuilt]
    phases: list[PhaseMonth]
    shops: list[ShopMonth]
    stations: list[StationMonth]

    @property
    def capacity(self) -> float:
        return self.totals.capacity

    def records(self) -> list[Record]:
        return [self.totals, *self.variants, *self.phases, *self.shops, *self.stations]


class Plant:
    def __init__(
        self,
        spec: PlantSpec,
        variants: list[str],
        horizon: tuple[str, str],
        seed: np.random.SeedSequence,
        *,
        threads: bool = True,
        stats: bool = True,
        contract: tuple[str, str, float] | None = None,
        parts_at: Mapping[str, str] | None = None,
    ) -> None:
        """``contract``: (phase, client, work content) when a client's cars are built on
        that phase's line (one more variant of its line). ``parts_at``: component name
        -> the ``shop/station`` that fits it; a vehicle waits before that station for
        its part (see :meth:`step`'s ``parts``), and every phase must have the station."""
        self.spec = spec
        self.threads = threads
        # stats=False: output counts only, no shop columns (utilisation, OEE, bottleneck)
        self.stats = stats
        self._executor: ThreadPoolExecutor | None = None
        self._rates: dict[tuple[str, float, float], float] = {}
        self._names: dict[str, tuple[list[str], list[str]]] = {}  # per phase, see _station_names
        self._working: dict[str, np.ndarray] = {}
        self.variants = variants
        self.months = month_starts(*horizon)
        self.labels = [d.strftime("%Y-%m") for d in self.months]
        self.t0 = self.months[0]
        self.edges = np.array([seconds_since(self.t0, d) for d in self.months])
        bin_edges = np.concatenate([self.edges, [np.inf]])
        until = self.months[-1] + dt.timedelta(days=366)  # room for vehicles still in work
        holidays = holiday_days(spec.holidays)
        self.phases: list[PhaseRun] = []
        self.contract_phase = contract[0] if contract is not None else None
        # the gates of every phase's line, in one order: the stations that fit parts
        self.parts_at = dict(parts_at or {})
        self.part_stations = sorted(set(self.parts_at.values()))
        for k, phase in enumerate(spec.phases):
            calendar = phase_calendar(phase, holidays, self.t0, until)
            if calendar is None:
                continue
            client = contract[1:] if contract is not None and contract[0] == phase.name else None
            layout = layout_phase(phase, calendar, client)
            layout = _with_parts(layout, phase.name, self.parts_at, self.part_stations)
            engine = LineEngine(
                layout.line, child_seed(seed, k), bin_edges=bin_edges, chunk=4096, stats=stats
            )
            sop = seconds_since(self.t0, dt.date.fromisoformat(phase.sop))
            self.phases.append(PhaseRun(phase.name, layout, engine, sop))
        self._phase_spec = {p.name: p for p in spec.phases}
        # per variant over all phases: started and completed so far (conservation)
        self.released_by_variant = np.zeros(len(variants))
        self.built_by_variant = np.zeros(len(variants))
        self.scrapped_by_variant = np.zeros(len(variants))

    # -- planning helpers -------------------------------------------------------------
    def phase_variants(self, run: PhaseRun) -> list[int]:
        return [self.variants.index(v) for v in self._phase_spec[run.name].mix]

    def ramp(self, run: PhaseRun) -> RampState:
        earlier = sum(p.built for p in self.phases if p is not run and p.sop_s < run.sop_s)
        units = run.built + self.spec.ramp.transfer_between_phases * earlier
        return ramp_state(units, self.spec.ramp, self.spec.partner)

    def working_seconds(self, run: PhaseRun, t: int) -> float:
        if run.name not in self._working:
            cal = run.engine.line.calendar
            self._working[run.name] = np.asarray(
                cal.working_between(self.edges[:-1], self.edges[1:])
            )
        return float(self._working[run.name][t])

    def capacity(self, run: PhaseRun, t: int, state: RampState | None = None) -> float:
        """Vehicles the stations, calendar and ramp allow in month t (bottleneck rate)."""
        state = state or self.ramp(run)
        key = (run.name, state.cycle_time_factor, state.repair_time_factor)
        rate = self._rates.get(key)
        if rate is None:
            # the line is the same every month; only the ramp factors change
            rates = run.layout.line.station_rates(*key[1:])
            rate = self._rates[key] = float(rates.min())
        return rate * self.working_seconds(run, t)

    def in_work(self, run: PhaseRun) -> int:
        """Vehicles released to the line and not yet completed."""
        return run.released - int(run.built) - int(run.scrapped)

    # -- the month --------------------------------------------------------------------
    def step(
        self,
        t: int,
        plan: np.ndarray,
        arrivals: list[np.ndarray] | None = None,
        contract: int = 0,
        parts: Mapping[str, list[np.ndarray]] | None = None,
    ) -> PlantMonth:
        """Run month t. ``plan[v]``: vehicles of variant v to release this month;
        ``arrivals[v]``: their kits' arrival instants as fractions of the month (sorted),
        or None to release at the start of the month (unlimited supply); ``contract``:
        the client's cars to release into the contract phase's line, evenly over the
        month. ``parts[c][v]``: for each component fitted at a station (``parts_at``),
        the instants (fractions of the month, sorted) its sets for the kits of
        ``arrivals[v]`` come, rank for rank: the vehicle of variant v that reaches the
        station k-th this month takes the k-th (without them: there when needed)."""
        t_start, t_end = self.edges[t], self.edges[t + 1]
        month = self.labels[t]
        produced = np.zeros(len(self.variants))
        released = np.zeros(len(self.variants))
        scrapped = np.zeros(len(self.variants))
        states = [self.ramp(run) for run in self.phases]
        shares = self._split(t, plan, arrivals, states, parts)
        jobs = [
            self._releases(
                run, t_start, t_end, p, a, contract * (run.name == self.contract_phase), q
            )
            for run, (p, a, q) in zip(self.phases, shares, strict=True)
        ]
        # every phase, with jobs or not: where jobs overtake, the engine walks its line
        # up to the end of the month
        work = [
            (run, state, rel, kind, ready, t_end)
            for run, state, (rel, kind, ready) in zip(self.phases, states, jobs, strict=True)
        ]
        if len(work) > 1 and self.threads:
            # phases are independent lines and the kernels release the GIL
            list(self._pool().map(lambda w: self._feed(*w), work))
        else:
            for w in work:
                self._feed(*w)
        phases: list[PhaseMonth] = []
        contract_released = contract_produced = 0.0
        for run, state, (rel, kind, _) in zip(self.phases, states, jobs, strict=True):
            run.ramp = state
            pv = self.phase_variants(run)
            if len(rel):
                own = kind < len(pv)  # the client's cars are the line's last variant
                np.add.at(released, np.array(pv)[kind[own]], 1.0)
                contract_released += float((~own).sum())
            stats = run.engine.bin_stats(t)
            # completions by variant, counted car by car at the end of general assembly
            for local, v in enumerate(pv):
                produced[v] += stats.done_by_variant[local]
            if run.name == self.contract_phase:
                contract_produced += float(stats.done_by_variant[len(pv)])
            done = float(stats.jobs_out[-1])
            run.built += done
            run.scrapped += float(stats.scrapped.sum())
            for local, v in enumerate(pv):
                scrapped[v] += stats.scrapped_by_variant[local]
            phases.append(self._phase_record(run, t, state, stats))
        # without station statistics (Monte Carlo) there are no shop or station records
        shops, stations, bottleneck = self._shop_records(t) if self.stats else ([], [], ("", ""))
        capacity = sum(p.capacity for p in phases)
        totals = PlantTotals(
            month,
            produced=float(produced.sum()),
            capacity=capacity,
            released=float(released.sum()),
            started=sum(p.started for p in phases),
            bottleneck_shop=bottleneck[0],
            bottleneck_station=bottleneck[1],
            contract_released=contract_released,
            contract_produced=contract_produced,
        )
        self.released_by_variant += released
        self.built_by_variant += produced
        self.scrapped_by_variant += scrapped
        built = [
            VariantBuilt(
                month,
                name,
                float(produced[v]),
                released=float(released[v]),
                in_work=float(
                    self.released_by_variant[v]
                    - self.built_by_variant[v]
                    - self.scrapped_by_variant[v]
                ),
            )
            for v, name in enumerate(self.variants)
        ]
        return PlantMonth(produced, released, totals, built, phases, shops, stations)

    def _split(
        self,
        t: int,
        plan: np.ndarray,
        arrivals: list[np.ndarray] | None,
        states: list[RampState],
        parts: Mapping[str, list[np.ndarray]] | None = None,
    ) -> list[tuple[np.ndarray, list[np.ndarray] | None, dict[str, list[np.ndarray]]]]:
        """Each phase's share of the month's plan (and of its kits' arrival instants and
        their parts'): a variant built by one phase goes to it whole; one built by
        several is split in proportion to what each can build of it this month (its
        capacity times the variant's share of its mix), so every vehicle and kit is
        released once."""
        n_var = len(self.variants)
        builders: list[list[int]] = [[] for _ in range(n_var)]
        for p, run in enumerate(self.phases):
            for v in self.phase_variants(run):
                builders[v].append(p)
        parts = dict(parts or {})
        if all(len(b) <= 1 for b in builders):
            return [(plan, arrivals, parts)] * len(self.phases)
        plans = [np.zeros(n_var, dtype=np.asarray(plan).dtype) for _ in self.phases]
        kits: list[list[np.ndarray]] = [[np.zeros(0) for _ in range(n_var)] for _ in self.phases]
        sets = [{c: [np.zeros(0) for _ in range(n_var)] for c in parts} for _ in self.phases]
        for v in range(n_var):
            n = int(plan[v])
            given = np.sort(np.asarray(arrivals[v][:n])) if arrivals is not None else None
            part = {c: np.sort(np.asarray(q[v][:n])) for c, q in parts.items()}
            if any(len(q) < n for q in part.values()):
                raise ValueError(f"parts: fewer sets than the {n} kits of variant {v}")
            if len(builders[v]) == 1:
                plans[builders[v][0]][v] = plan[v]
                if given is not None:
                    kits[builders[v][0]][v] = given
                for c, q in part.items():
                    sets[builders[v][0]][c][v] = q
                continue
            if not builders[v] or n <= 0:
                continue
            ps = builders[v]
            weight = np.array([self._can_build(self.phases[p], t, states[p], v) for p in ps])
            if weight.sum() <= 0:
                weight = np.ones(len(ps))
            counts = _largest_remainder(n, weight / weight.sum())
            # interleave: the k-th of a phase's c kits sits at (k + 0.5) / c of the month's
            # order, so each phase's kits spread over the month as the arrivals do
            key = np.concatenate([(np.arange(c) + 0.5) / c for c in counts if c > 0])
            owner = np.concatenate([np.full(c, j) for j, c in enumerate(counts) if c > 0])
            owner = owner[np.argsort(key, kind="stable")]
            for j, p in enumerate(ps):
                plans[p][v] = counts[j]
                if given is not None:
                    kits[p][v] = given[owner == j]
                for c, q in part.items():
                    # the sets by rank, as the kits: the phase's k-th kit, its k-th set
                    sets[p][c][v] = q[owner == j]
        return [
            (plans[p], kits[p] if arrivals is not None else None, sets[p])
            for p in range(len(self.phases))
        ]

    def split_plan(self, t: int, plan: np.ndarray) -> dict[str, np.ndarray]:
        """Each phase's share of a month's plan per variant, as :meth:`step` splits it."""
        states = [self.ramp(run) for run in self.phases]
        shares = self._split(t, plan, None, states)
        return {run.name: p for run, (p, _, _) in zip(self.phases, shares, strict=True)}

    def phase_capacity(self, name: str, t: int) -> float:
        """What the named phase could build in month ``t`` (0 if it never works)."""
        run = next((r for r in self.phases if r.name == name), None)
        return 0.0 if run is None else self.capacity(run, t)

    def _can_build(self, run: PhaseRun, t: int, state: RampState, v: int) -> float:
        """Vehicles of variant ``v`` the phase could build in month ``t``."""
        pv = self.phase_variants(run)
        return self.capacity(run, t, state) * float(self.variant_share(run)[pv.index(v)])

    def _releases(
        self,
        run: PhaseRun,
        t_start: float,
        t_end: float,
        plan: np.ndarray,
        arrivals: list[np.ndarray] | None,
        contract: int = 0,
        parts: Mapping[str, list[np.ndarray]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Release times, local variant index and parts' instants ``[n, gates]`` of the
        vehicles this phase starts (the client's cars, evenly over the month, as the
        line's last variant, bring no tracked parts)."""
        times, kinds = [], []
        pv = self.phase_variants(run)
        gates = self.part_stations
        for local, v in enumerate(pv):
            n = int(plan[v])
            if n <= 0 or t_end <= run.sop_s:
                continue
            frac = np.zeros(n) if arrivals is None else np.asarray(arrivals[v][:n])
            times.append(np.maximum(t_start + frac * (t_end - t_start), run.sop_s))
            kinds.append(np.full(len(frac), local, dtype=np.int64))
        if contract > 0 and t_end > run.sop_s:  # after own cars: they go first at a tie
            frac = (np.arange(contract) + 0.5) / contract
            times.append(np.maximum(t_start + frac * (t_end - t_start), run.sop_s))
            kinds.append(np.full(contract, len(pv), dtype=np.int64))
        if not times:
            return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((0, len(gates)))
        rel = np.concatenate(times)
        kind = np.concatenate(kinds)
        order = np.argsort(rel, kind="stable")
        rel, kind = rel[order], kind[order]
        ready = np.full((len(rel), len(gates)), -np.inf)
        if not parts:
            return rel, kind, ready
        rows_of = [np.flatnonzero(kind == local) for local in range(len(pv))]
        for c, q in parts.items():
            g = gates.index(self.parts_at[c])
            for local, v in enumerate(pv):
                rows = rows_of[local]
                sets = np.asarray(q[v])[: len(rows)]
                if len(sets) == 0:
                    continue
                # the k-th vehicle of the variant to come takes the k-th set (jobs
                # enter the station in build order); several parts at one station:
                # the last to come
                due = t_start + np.sort(sets) * (t_end - t_start)
                ready[rows[: len(due)], g] = np.maximum(ready[rows[: len(due)], g], due)
        return rel, kind, ready

    def _feed(
        self,
        run: PhaseRun,
        state: RampState,
        rel: np.ndarray,
        kind: np.ndarray,
        ready: np.ndarray,
        until: float,
    ) -> None:
        engine = run.engine
        if not len(rel):
            engine.advance(until)
            return
        if state.repair_time_factor != run.repair_factor:
            # the scale is of the spec's repair times, not of the last scale: the same
            # factor gives the same line, and after the ramp it stays (27 changes in
            # 240 phase-months; the call builds a Dist per failing station)
            engine.line = engine.line.with_repair_scale(state.repair_time_factor)
            run.repair_factor = state.repair_time_factor
        if run.layout.line.defect.any():
            # the stations that rework or scrap do so at this month's yield
            engine.line = engine.line.with_first_pass_yield(self._month_yield(run, state))
        engine.feed(
            len(rel),
            release=rel,
            variants=kind,
            scale=state.cycle_time_factor,
            until=until,
            ready=ready if ready.shape[1] else None,
        )
        run.released += len(rel)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=len(self.phases))
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def _month_yield(self, run: PhaseRun, state: RampState) -> np.ndarray:
        """Each station's first-pass yield this month: its defects fall with the
        ramp's learning (``defect_factor``)."""
        base = run.layout.line.fpy
        return np.asarray(np.clip(1.0 - (1.0 - base) * state.defect_factor, 0.0, 1.0))

    def variant_share(self, run: PhaseRun) -> np.ndarray:
        """The phase's mix as shares, in the order of :meth:`phase_variants`."""
        mix = np.array(list(self._phase_spec[run.name].mix.values()), dtype=float)
        return np.asarray(mix / mix.sum())

    def _phase_record(
        self, run: PhaseRun, t: int, state: RampState, stats: BinStats
    ) -> PhaseMonth:
        day = self.months[t] + dt.timedelta(days=14)
        shifts, hours = shifts_on(self._phase_spec[run.name], day)
        return PhaseMonth(
            self.labels[t],
            run.name,
            produced=float(stats.jobs_out[-1]),
            capacity=self.capacity(run, t, state),
            working_hours=self.working_seconds(run, t) / 3600.0,
            shifts=float(shifts),
            shift_hours=hours,
            cycle_factor=state.cycle_time_factor,
            in_work=float(self.in_work(run)),
            started=float(stats.jobs_in[0]),
            scrapped=float(stats.scrapped.sum()),
        )

    def _station_names(self, run: PhaseRun) -> tuple[list[str], list[str]]:
        """Each station's shop and its name within the shop (the same every month)."""
        found = self._names.get(run.name)
        if found is None:
            layout = run.layout
            shop = [layout.shops[int(k)] for k in layout.shop_of]
            short = [name.split("/", 1)[-1] for name in layout.line.names]
            found = self._names[run.name] = (shop, short)
        return found

    def _shop_records(
        self, t: int
    ) -> tuple[list[ShopMonth], list[StationMonth], tuple[str, str]]:
        """Shops (over all phases), stations, and the month's bottleneck (shop,
        station): the station with the longest mean active period (Roser)."""
        month = self.labels[t]
        shops: dict[str, dict[str, float]] = {}
        stations: list[StationMonth] = []
        best = (-1.0, "", "")
        for run in self.phases:
            line = run.engine.line
            b = run.engine.bin_stats(t)
            on = self.working_seconds(run, t)
            if on <= 0:
                continue
            state = run.ramp or self.ramp(run)
            fpy = self._month_yield(run, state)
            # where defects cost capacity, quality is what happened this month
            visits = b.jobs_out + b.reworked + b.scrapped
            fpy = np.where(
                (line.defect != 0) & (visits > 0), b.jobs_out / np.maximum(visits, 1.0), fpy
            )
            # the month's figures of every station at once, element for element what
            # a station's own arithmetic gives; then one record per station
            servers = np.asarray(line.servers, dtype=np.float64)
            open_s = servers * on  # server-seconds of the month
            busy, blocked, failed = b.busy_s / open_s, b.blocked_s / open_s, b.failed_s / open_s
            idle = 1.0 - (b.busy_s + b.blocked_s + b.failed_s) / open_s
            act = np.asarray(b.active_mean_s, dtype=np.float64).tolist()
            shop_names, short = self._station_names(run)
            columns = zip(
                shop_names,
                line.names,
                open_s.tolist(),
                np.asarray(b.busy_s).tolist(),
                np.asarray(b.blocked_s).tolist(),
                np.asarray(b.failed_s).tolist(),
                fpy.tolist(),
                act,
                strict=True,
            )
            for shop, name, k_on, busy_s, blocked_s, failed_s, q, a in columns:
                agg = shops.setdefault(
                    shop,
                    {
                        "cap": 0.0,
                        "busy": 0.0,
                        "blocked": 0.0,
                        "failed": 0.0,
                        "out_time": 0.0,
                        "q": 1.0,
                        "on": 0.0,
                    },
                )
                agg["cap"] += k_on
                agg["busy"] += busy_s
                agg["blocked"] += blocked_s
                agg["failed"] += failed_s
                agg["q"] = min(agg["q"], q)
                if a > best[0]:
                    best = (a, shop, name)
            stations.extend(
                StationMonth(month, run.name, *fields)
                for fields in zip(
                    shop_names,
                    short,
                    servers.tolist(),
                    np.asarray(b.jobs_in, dtype=np.float64).tolist(),
                    np.asarray(b.jobs_out, dtype=np.float64).tolist(),
                    busy.tolist(),
                    blocked.tolist(),
                    failed.tolist(),
                    [max(0.0, x) for x in idle.tolist()],
                    act,
                    strict=True,
                )
            )
            for shop in run.layout.shops:
                i = run.layout.shop_last[shop]
                in_shop = np.asarray(shop_names) == shop
                slow = float(np.max(line.ideal_ct[in_shop] / line.servers[in_shop]))
                shops[shop]["out_time"] += b.jobs_out[i] * slow
                shops[shop]["on"] += on
        records = []
        for shop, a in shops.items():
            cap = max(a["cap"], 1e-9)
            availability = 1.0 - a["failed"] / cap
            oee_raw = a["out_time"] / max(a["on"], 1e-9)
            records.append(
                ShopMonth(
                    month,
                    shop,
                    util=a["busy"] / cap,
                    blocked=a["blocked"] / cap,
                    failed=a["failed"] / cap,
                    starved=max(0.0, 1.0 - (a["busy"] + a["blocked"] + a["failed"]) / cap),
                    availability=availability,
                    performance=oee_raw / availability if availability > 0 else 0.0,
                    quality=a["q"],
                    oee=oee_raw * a["q"],
                )
            )
        return records, stations, (best[1], best[2])


def _with_parts(
    layout: PhaseLayout, phase: str, parts_at: Mapping[str, str], stations: list[str]
) -> PhaseLayout:
    """The phase's line with a gate at each of ``stations`` (the stations that fit
    tracked parts, in the plant's one order)."""
    if not parts_at:
        return layout
    names = layout.line.names
    for component, where in parts_at.items():
        field = f"venture.supply.components.{component}.station"
        if where not in names:
            raise EvplantError(
                f"component {component!r} is fitted at station {where!r}, which phase "
                f"{phase!r} does not have; give one of {', '.join(names)}",
                field=field,
            )
        problem = layout.line.gate_problem(names.index(where))
        if problem is not None:
            raise EvplantError(problem, field=field)
    line = layout.line.with_gates([names.index(s) for s in stations])
    return dataclasses.replace(layout, line=line)
