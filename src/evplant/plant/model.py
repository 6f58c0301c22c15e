"""The plant, month by month: each phase's line runs every vehicle through the engine.

Each phase is one ``LineEngine`` (its shops laid out as one line with feeder joins),
kept alive for the whole horizon, so the state at a month's end carries into the next.
Every month the plant releases the vehicles it plans (and has kits for) at their kit
arrival times, with cycle and repair times scaled by where the phase stands on its
learning curves, and reads off the month's output and station statistics from the
engine's monthly bins.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..line import _stats
from ..line.engine import LineEngine
from .calendar import holiday_days, month_starts, phase_calendar, seconds_since, shifts_on
from .layout import PhaseLayout, layout_phase
from .ramp import RampState, ramp_state
from .spec import PlantSpec


@dataclass
class PhaseRun:
    name: str
    layout: PhaseLayout
    engine: LineEngine
    sop_s: float
    built: float = 0.0  # completed vehicles so far
    released: int = 0  # vehicles released to the line so far
    ramp: RampState | None = None


@dataclass
class PlantMonth:
    """What the plant did in one month."""

    produced: np.ndarray  # per variant, completed by general assembly
    released: np.ndarray  # per variant, vehicles started (kits used)
    columns: dict[str, float | str] = field(default_factory=dict)


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
    ) -> None:
        self.spec = spec
        self.threads = threads
        # stats=False: output counts only, no shop columns (utilisation, OEE, bottleneck)
        self.stats = stats
        self._executor: ThreadPoolExecutor | None = None
        self._rates: dict[tuple[str, float, float], float] = {}
        self._working: dict[str, np.ndarray] = {}
        self.variants = variants
        self.months = month_starts(*horizon)
        self.t0 = self.months[0]
        self.edges = np.array([seconds_since(self.t0, d) for d in self.months])
        bin_edges = np.concatenate([self.edges, [np.inf]])
        until = self.months[-1] + dt.timedelta(days=366)  # room for vehicles still in work
        holidays = holiday_days(spec.holidays)
        self.phases: list[PhaseRun] = []
        for k, phase in enumerate(spec.phases):
            calendar = phase_calendar(phase, holidays, self.t0, until)
            if calendar is None:
                continue
            layout = layout_phase(phase, calendar)
            child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, k))
            engine = LineEngine(layout.line, child, bin_edges=bin_edges, chunk=4096, stats=stats)
            sop = seconds_since(self.t0, dt.date.fromisoformat(phase.sop))
            self.phases.append(PhaseRun(phase.name, layout, engine, sop))
        self._phase_spec = {p.name: p for p in spec.phases}

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
        return run.released - int(run.built)

    # -- the month --------------------------------------------------------------------
    def step(
        self,
        t: int,
        plan: np.ndarray,
        arrivals: list[np.ndarray] | None = None,
    ) -> PlantMonth:
        """Run month t. ``plan[v]``: vehicles of variant v to release this month;
        ``arrivals[v]``: their kits' arrival instants as fractions of the month (sorted),
        or None to release at the start of the month (unlimited supply)."""
        t_start, t_end = self.edges[t], self.edges[t + 1]
        produced = np.zeros(len(self.variants))
        released = np.zeros(len(self.variants))
        cols: dict[str, float | str] = {}
        states = [self.ramp(run) for run in self.phases]
        jobs = [self._releases(run, t_start, t_end, plan, arrivals) for run in self.phases]
        work = [
            (run, state, rel, kind)
            for run, state, (rel, kind) in zip(self.phases, states, jobs, strict=True)
            if len(rel)
        ]
        if len(work) > 1 and self.threads:
            # phases are independent lines and the kernels release the GIL
            list(self._pool().map(lambda w: self._feed(*w), work))
        else:
            for w in work:
                self._feed(*w)
        for run, state, (rel, kind) in zip(self.phases, states, jobs, strict=True):
            run.ramp = state
            pv = self.phase_variants(run)
            if len(rel):
                np.add.at(released, np.array(pv)[kind], 1.0)
            done = float(run.engine._bins[t, -1, _stats.B_OUT])
            # completions by variant: the phase's mix (one variant per phase in the
            # built-in scenario, so this is exact there)
            share = self._variant_share(run, pv)
            for local, v in enumerate(pv):
                produced[v] += done * share[local]
            run.built += done
            self._phase_columns(run, t, state, cols, done)
        if self.stats:
            self._shop_columns(t, cols)
        return PlantMonth(produced=produced, released=released, columns=cols)

    def _releases(
        self,
        run: PhaseRun,
        t_start: float,
        t_end: float,
        plan: np.ndarray,
        arrivals: list[np.ndarray] | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Release times and local variant index of the vehicles this phase starts."""
        times, kinds = [], []
        for local, v in enumerate(self.phase_variants(run)):
            n = int(plan[v])
            if n <= 0 or t_end <= run.sop_s:
                continue
            frac = np.zeros(n) if arrivals is None else np.asarray(arrivals[v][:n])
            times.append(np.maximum(t_start + frac * (t_end - t_start), run.sop_s))
            kinds.append(np.full(len(frac), local, dtype=np.int64))
        if not times:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        rel = np.concatenate(times)
        kind = np.concatenate(kinds)
        order = np.argsort(rel, kind="stable")
        return rel[order], kind[order]

    def _feed(self, run: PhaseRun, state: RampState, rel: np.ndarray, kind: np.ndarray) -> None:
        engine = run.engine
        engine.line = engine.line.with_repair_scale(state.repair_time_factor)
        engine.feed(len(rel), release=rel, variants=kind, scale=state.cycle_time_factor)
        run.released += len(rel)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=len(self.phases))
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def _variant_share(self, run: PhaseRun, pv: list[int]) -> np.ndarray:
        mix = np.array(list(self._phase_spec[run.name].mix.values()), dtype=float)
        return mix / mix.sum()

    def _phase_columns(
        self, run: PhaseRun, t: int, state: RampState, cols: dict[str, float | str], done: float
    ) -> None:
        p = run.name
        day = self.months[t] + dt.timedelta(days=14)
        shifts, hours = shifts_on(self._phase_spec[p], day)
        cols[f"produced_{p}"] = done
        cols[f"capacity_{p}"] = self.capacity(run, t, state)
        cols[f"working_hours_{p}"] = self.working_seconds(run, t) / 3600.0
        cols[f"shifts_{p}"] = float(shifts)
        cols[f"shift_hours_{p}"] = hours
        cols[f"cycle_factor_{p}"] = state.cycle_time_factor
        cols[f"in_work_{p}"] = float(self.in_work(run))
        cols[f"started_{p}"] = float(run.engine._bins[t, 0, _stats.B_IN])

    def _shop_columns(self, t: int, cols: dict[str, float | str]) -> None:
        shops: dict[str, dict[str, float]] = {}
        best = (-1.0, "", "")
        for run in self.phases:
            line = run.engine.line
            b = run.engine._bins[t]
            on = self.working_seconds(run, t)
            if on <= 0:
                continue
            state = run.ramp or self.ramp(run)
            fpy = 1.0 - (1.0 - line.fpy) * state.defect_factor
            fpy = np.clip(fpy, 0.0, 1.0)
            act = b[:, _stats.B_ACT_SUM] / np.maximum(b[:, _stats.B_ACT_CNT], 1.0)
            for i, name in enumerate(line.names):
                shop = run.layout.shops[int(run.layout.shop_of[i])]
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
                k = float(line.servers[i])
                agg["cap"] += k * on
                agg["busy"] += b[i, _stats.B_BUSY]
                agg["blocked"] += b[i, _stats.B_BLOCKED]
                agg["failed"] += b[i, _stats.B_FAILED]
                agg["q"] = min(agg["q"], float(fpy[i]))
                if act[i] > best[0]:
                    best = (float(act[i]), shop, name)
            for shop in run.layout.shops:
                i = run.layout.shop_last[shop]
                slow = max(
                    float(line.ideal_ct[j] / line.servers[j])
                    for j in range(line.m)
                    if run.layout.shops[int(run.layout.shop_of[j])] == shop
                )
                shops[shop]["out_time"] += b[i, _stats.B_OUT] * slow
                shops[shop]["on"] += on
        for shop, a in shops.items():
            cap = max(a["cap"], 1e-9)
            availability = 1.0 - a["failed"] / cap
            oee_raw = a["out_time"] / max(a["on"], 1e-9)
            cols[f"util_{shop}"] = a["busy"] / cap
            cols[f"blocked_{shop}"] = a["blocked"] / cap
            cols[f"failed_{shop}"] = a["failed"] / cap
            cols[f"starved_{shop}"] = max(0.0, 1.0 - (a["busy"] + a["blocked"] + a["failed"]) / cap)
            cols[f"availability_{shop}"] = availability
            cols[f"performance_{shop}"] = oee_raw / availability if availability > 0 else 0.0
            cols[f"quality_{shop}"] = a["q"]
            cols[f"oee_{shop}"] = oee_raw * a["q"]
        cols["bottleneck_shop"] = best[1]
        cols["bottleneck_station"] = best[2]
