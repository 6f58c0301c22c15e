"""The reference line engine: a plain SimPy model of ``docs/line-semantics.md``.

It exists to check the compiled kernel (``evplant.line.engine``). It reads the same
compiled line and the same random draws (processing times ``p`` and the failure
keys), but shares no simulation code with the kernel: it is written the obvious
discrete-event way, so that a disagreement between the two points at a bug.

- every job (vehicle) is a SimPy process walking through the stations of a branch;
  a line with assembly joins has several branches (the main line and its feeder
  lines, each from a source station to where it ends), and job ``j`` walks each of
  them: on a feeder line it is vehicle ``j``'s part;
- the servers of a station are a ``Resource`` (the entry permit) plus the list of free
  server numbers, from which a job takes one once the instant has settled (the jobs
  entering in one instant in the order they entered): the lowest, or at a station
  that lets jobs overtake the one free longest (the list is then first in, first out:
  a departure appends its server, an entry takes the first);
- the room behind station ``i`` (buffer ``i`` plus the servers of the station the job
  goes to) is a ``Resource``: a finished job leaves its server only with a place
  there, and gives the place back when it leaves that next station;
- jobs queue for a station's servers in the order they arrive (a ``Resource``'s
  queue); at a resequencing station they wait in a list, and at the end of each
  instant the free servers go to the waiting jobs with the lowest build numbers;
- at a join, a vehicle takes the next part from the store of every feeder line (a
  ``Store`` per feeder, first in, first out) before it asks for a server; the part's
  place in the store is given back when that vehicle leaves the join station;
- releases keep the build sequence into a source (a turn counter); a station that
  keeps the sequence lets jobs leave in the order they entered it (a turn counter on
  the way out); at any other station a finished job asks for room downstream at once,
  so it may overtake;
- a defective visit (``Station.on_defect``) leaves its station without room
  downstream: a scrapped job leaves the line, a reworked one asks for a place before
  its rework station ahead of the jobs coming from upstream (a ``PriorityResource``)
  and then for a server, ahead of them too: a rework station hands its servers out at
  the end of each instant from one list, jobs sent back first, each kind first come,
  first served;
- one process walks the shift calendar and one per server walks its calendar-time
  breakdowns; both pause and resume the work in progress (preempt-resume);
- station states and WIP are measured by integrating the model's own state
  variables over time, not derived from the visit times.

It is slow on purpose (tens of thousands of station visits per second): clarity
comes first. Use it in tests and for small runs (``--engine reference``).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from simpy.resources.resource import PriorityRequest, Request

from ..errors import EvplantError
from ._reference_parts import (
    _EPS,
    _HOLDING,
    _IDLE,
    _REPAIRING,
    _WORKING,
    BLOCKED,
    BUSY,
    FAILED,
    OFF_SHIFT,
    STARVED,
    Process,
    _EndOfInstant,
    _Sequence,
    _Server,
    _Settled,
    _topology,
)
from .calendar import WorkCalendar
from .draws import defective, draw
from .spec import DEFECT_PASS, DEFECT_REWORK, FAIL_CALENDAR, FAIL_NONE, FAIL_OPERATING, CompiledLine
from .visits import Visits


@dataclass
class ReferenceResult:
    """Visits and the reference's own measurements over ``[0, T]``.

    Station arrays are ``[m]``: the mean over the station's servers, as fractions of
    ``T``. ``calendar`` is the calendar actually used (longer than the line's when the
    reference had to extend it).
    """

    visits: Visits  # a reworked job's last visit to each station
    busy: np.ndarray
    blocked: np.ndarray
    starved: np.ndarray
    failed: np.ndarray
    off_shift: np.ndarray
    wip_mean: float
    throughput_per_hour: float
    lead_time_mean_s: float
    T: float
    calendar: WorkCalendar
    reworked: np.ndarray  # [m] visits sent back for rework
    scrapped: np.ndarray  # [m] visits whose job was scrapped
    # every visit in the order jobs left their stations: station, server, entry, end,
    # departure, repair, fate (0 right, 1 sent back, 2 scrapped), job, 1 if a rework
    log: np.ndarray = field(default_factory=lambda: np.zeros((0, 9)), repr=False)


class _LineModel:
    """One run of the line over given draws."""

    def __init__(
        self,
        line: CompiledLine,
        p: np.ndarray,
        release: np.ndarray,
        fail_keys: np.ndarray,
        ready: np.ndarray,
        quality_keys: np.ndarray,
    ) -> None:
        self.line = line
        self.quality_keys = quality_keys
        self.defect = [int(x) for x in line.defect]
        self.rework_to = [int(x) for x in line.rework_to]
        # stations jobs are sent back to: their servers go out from one list
        self.dispatched = [
            bool(line.resequence[i]) or i in self.rework_to for i in range(len(line.names))
        ]
        self.sent_back = [0] * len(line.names)  # arrivals for rework, in order
        self.p = p
        self.release = release
        self.ready = ready
        self.gate = [int(g) for g in line.gate]
        # gated stations: the last job to have come to the station's part check, whose
        # request for a server the next one waits for (first come, first served)
        self.gate_last: list[simpy.Event | None] = [None] * len(self.gate)
        self.fail_keys = fail_keys
        self.n, self.m = p.shape
        env = self.env = simpy.Environment()
        k = [int(x) for x in line.servers]
        self.servers = [[_Server(env, i, s) for s in range(k[i])] for i in range(self.m)]
        self.all_servers = [srv for row in self.servers for srv in row]
        self.resequence = [bool(x) for x in line.resequence]
        self.keeps = [not bool(x) for x in line.overtakes]
        self.permits = [simpy.Resource(env, capacity=k[i]) for i in range(self.m)]
        # stations that dispatch: jobs waiting (their turn, a wake-up); the turn is
        # (0, arrival) sent back for rework, else (1, build number) in a resequencing
        # store or (1, arrival) elsewhere
        self.waiting: list[list[tuple[tuple[int, int], simpy.Event]]] = [
            [] for _ in range(self.m)
        ]
        self.arrived = [0] * self.m
        self.dispatching = [False] * self.m
        # overtaking stations: jobs whose work ended in this instant (entry order, event)
        self.finishing: list[list[tuple[int, simpy.Event]]] = [[] for _ in range(self.m)]
        self.entered = [0] * self.m  # jobs that have entered each station
        # free servers: at an overtaking station in the order they were freed
        self.free = [list(range(k[i])) for i in range(self.m)]
        # overtaking stations: the servers freed in the last instant with a departure
        # (good job, departure number, server) and when that instant began; they join
        # ``free`` in the contract's order of departure (``_flush_freed``)
        self.freed: list[list[tuple[bool, int, int]]] = [[] for _ in range(self.m)]
        self.freed_at = [-math.inf] * self.m
        # jobs holding a permit of station i that take a server at the end of the
        # instant (their order into the station, a wake-up)
        self.taking: list[list[tuple[int, simpy.Event]]] = [[] for _ in range(self.m)]
        self.branches, self.feeders = _topology(line)
        self.up = [int(u) for u in line.up]
        # the room behind each station but the last: its buffer and the next servers
        self.room = {
            i: simpy.PriorityResource(env, capacity=int(line.buffers[i]) + k[d])
            for i, d in enumerate(int(x) for x in line.down)
            if d >= 0
        }
        self.sequence = [_Sequence(env) for _ in range(self.m)]  # the order out
        self.arrival = [_Sequence(env) for _ in range(self.m)]  # the order in
        # parts from feeder lines, in the store behind each feeder's last station: the
        # place each part holds there
        self.stores = {f: simpy.Store(env) for row in self.feeders for f in row}
        self.visits = Visits.empty(self.n, self.m)
        self.visits.repair[:] = 0.0
        self.on_shift = False
        self.on_for_good = False  # inside a working window that never ends
        self.wip = 0
        self.wip_area = 0.0
        self.wip_since = 0.0
        self.done = env.event()
        self.completed = 0  # jobs that have left the line (they may overtake), or scrap
        self.exit = np.full(self.n, np.nan)  # when each job left the line
        self.last_done = 0.0  # the last job's departure from the last station
        self.reworked = np.zeros(self.m)
        self.scrapped = np.zeros(self.m)
        self.log: list[tuple[float, ...]] = []
        cal = line.calendar
        self.calendar_end = float(cal.ends[-1])
        env.process(self._shifts(cal))
        for i in range(self.m):
            basis = int(line.fail_basis[i])
            for srv in self.servers[i]:
                if basis == FAIL_OPERATING:
                    srv.to_failure = self._ttf(srv, 0)
                elif basis == FAIL_CALENDAR:
                    env.process(self._breakdowns(srv))
        if self.n:
            for b in range(len(self.branches)):
                env.process(self._job(b, 0))

    # --- random draws: addressed by (station, server, failure number) ------------------
    def _ttf(self, srv: _Server, n: int) -> float:
        i = srv.station
        line = self.line
        return float(draw(self.fail_keys[i, srv.index, 0], n, line.ttf_code[i], line.table))

    def _ttr(self, srv: _Server, n: int) -> float:
        i = srv.station
        line = self.line
        return float(draw(self.fail_keys[i, srv.index, 1], n, line.ttr_code[i], line.table))

    # --- the world around the jobs ---------------------------------------------------
    def _set_shift(self, on: bool) -> None:
        for srv in self.all_servers:
            srv.book(self.on_shift)
        self.on_shift = on
        for srv in self.all_servers:
            srv.notify()

    def _shifts(self, cal: WorkCalendar) -> Process:
        """Open and close the line along its working windows."""
        env = self.env
        for start, end in zip(cal.starts.tolist(), cal.ends.tolist(), strict=True):
            if start > env.now:
                yield env.timeout(start - env.now)
            self._set_shift(True)
            if math.isinf(end):
                self.on_for_good = True
                return
            yield env.timeout(end - env.now)
            self._set_shift(False)

    def _set_down(self, srv: _Server, down: bool) -> None:
        srv.book(self.on_shift)
        srv.down = down
        srv.notify()

    def _breakdowns(self, srv: _Server) -> Process:
        """Calendar-time failures: down on [F_n, F_n + TTR_n), whatever else happens."""
        env = self.env
        n = 0
        yield env.timeout(self._ttf(srv, 0))
        # after the calendar ends nothing works any more, so breakdowns cannot matter
        while env.now < self.calendar_end:
            self._set_down(srv, True)
            yield env.timeout(self._ttr(srv, n))
            self._set_down(srv, False)
            n += 1
            yield env.timeout(self._ttf(srv, n))

    # --- a server doing work -----------------------------------------------------------
    def _set_activity(self, srv: _Server, activity: int) -> None:
        srv.book(self.on_shift)
        srv.activity = activity

    def _spend(self, srv: _Server, amount: float) -> Process:
        """Let ``amount`` seconds of available time pass on ``srv`` (shifts, breakdowns)."""
        env = self.env
        if self.on_for_good and self.line.fail_basis[srv.station] != FAIL_CALENDAR:
            # nothing can interrupt the work any more
            yield env.timeout(amount)
            return
        left = amount
        while True:
            if not self.on_shift or srv.down:
                yield srv.changed
                continue
            start = env.now
            finished = env.timeout(left)
            yield finished | srv.changed
            if finished.processed:
                return
            left -= env.now - start
            # a pause falling on the instant the work ends leaves a remainder of a few
            # ulps of the clock: that is rounding, not work
            if left <= 8.0 * math.ulp(max(env.now, 1.0)):
                return

    def _serve(self, srv: _Server, work: float) -> Generator[simpy.Event, Any, float]:
        """Process one job on ``srv``; return the operating-repair time it met."""
        repaired = 0.0
        self._set_activity(srv, _WORKING)
        if self.line.fail_basis[srv.station] != FAIL_OPERATING:
            yield from self._spend(srv, work)
        else:
            while True:
                if srv.to_failure <= 0.0:
                    # the failure (perhaps due at the end of the previous job) happens now
                    ttr = self._ttr(srv, srv.failures)
                    self._set_activity(srv, _REPAIRING)
                    yield from self._spend(srv, ttr)
                    repaired += ttr
                    srv.failures += 1
                    srv.to_failure = self._ttf(srv, srv.failures)
                    self._set_activity(srv, _WORKING)
                if work <= srv.to_failure:
                    # a failure due exactly at the end waits for the next job
                    yield from self._spend(srv, work)
                    srv.to_failure -= work
                    break
                yield from self._spend(srv, srv.to_failure)
                work -= srv.to_failure
                srv.to_failure = 0.0
        self._set_activity(srv, _HOLDING)
        return repaired

    # --- jobs ------------------------------------------------------------------------
    def _settle(self, i: int) -> Process:
        yield _Settled(self.env)
        # work ending within rounding of the clock ends in the same instant
        while (wait := self._rounding_gap()) is not None:
            yield self.env.timeout(wait)
            yield _Settled(self.env)
        for _, settled in sorted(self.finishing[i], key=lambda f: f[0]):
            settled.succeed()
        self.finishing[i] = []

    def _dispatch_soon(self, i: int) -> None:
        """Hand free servers of resequencing station i to waiting jobs, by build
        number, once the instant has settled."""
        if not self.dispatching[i]:
            self.dispatching[i] = True
            self.env.process(self._dispatch(i))

    def _end_of_instant(self) -> Process:
        """Wait for the end of the instant, where events within rounding of the clock
        (8 ulps) are one instant, as the contract says: a job whose work ends a few ulps
        after another's comes to the same choice of servers."""
        env = self.env
        yield _EndOfInstant(env)
        while (wait := self._rounding_gap()) is not None:
            yield env.timeout(wait)
            yield _EndOfInstant(env)

    def _rounding_gap(self) -> float | None:
        """How far ahead the next later event is, if it is within rounding of the clock
        (8 ulps: the same instant, as the contract says), else None."""
        env = self.env
        now = env.now
        later = [t for t, *_ in env._queue if t > now]  # noqa: SLF001 (SimPy's own heap)
        if later and min(later) <= now + 8.0 * _EPS * max(abs(now), 1.0):
            return min(later) - now
        return None

    def _dispatch(self, i: int) -> Process:
        yield from self._end_of_instant()
        self.dispatching[i] = False
        waiting = self.waiting[i]
        self._flush_freed(i)
        while self.free[i] and waiting:
            turn, wake = min(waiting, key=lambda w: w[0])
            waiting.remove((turn, wake))
            wake.succeed(self._pick_server(i))

    def _pick_server(self, i: int) -> int:
        """Take a free server of station i: the one free longest where jobs overtake
        (first in, first out), else the lowest-numbered."""
        self._flush_freed(i)
        free = self.free[i]
        s = min(free) if self.keeps[i] else free[0]
        free.remove(s)
        return s

    def _free_server(self, i: int, s: int, bad: bool) -> None:
        """Server s of station i is free: its job has left (``bad``: a defective one)."""
        if self.keeps[i]:
            self.free[i].append(s)
            return
        now = self.env.now
        if self.freed[i] and now > self.freed_at[i] + 8.0 * _EPS * max(abs(self.freed_at[i]), 1.0):
            self._flush_freed(i)  # a later instant
        if not self.freed[i]:
            self.freed_at[i] = now
        self.freed[i].append((not bad, len(self.freed[i]), s))

    def _flush_freed(self, i: int) -> None:
        """Put the servers freed in the last instant at the back of station i's free list,
        in the contract's order of departure: defective jobs first (they need no room),
        then the good ones as they left. (In this model a defective job may leave after
        a good one of its instant: one at the last station, which needs no room either,
        or one whose room came earlier in the instant.)"""
        self.free[i].extend(s for *_, s in sorted(self.freed[i]))
        self.freed[i] = []

    def _take_server(self, i: int, order: int) -> Generator[simpy.Event, Any, int]:
        """A free server of station i for the job that is the order-th into it (the
        entry permit is held): see ``_pick_server``."""
        if len(self.servers[i]) == 1:
            return self._pick_server(i)
        # servers freed later in this same instant count as free too; the jobs that
        # enter in one instant take them in the order they entered
        wake = self.env.event()
        self.taking[i].append((order, wake))
        if len(self.taking[i]) == 1:
            self.env.process(self._hand_out(i))
        s: int = yield wake
        return s

    def _hand_out(self, i: int) -> Process:
        yield from self._end_of_instant()
        for _, wake in sorted(self.taking[i], key=lambda w: w[0]):
            wake.succeed(self._pick_server(i))
        self.taking[i] = []

    def _count_wip(self, delta: int) -> None:
        now = self.env.now
        self.wip_area += self.wip * (now - self.wip_since)
        self.wip_since = now
        self.wip += delta

    def _job(self, b: int, j: int) -> Process:
        """Job j on branch b: from the branch's source to its end (a join, or the end)."""
        env = self.env
        vis = self.visits
        branch = self.branches[b]
        wait = self.release[j] - env.now
        if wait > 0:
            yield env.timeout(wait)  # the kit of parts arrives
        room_held: PriorityRequest | None = None  # place behind the station it came from
        reworks = 0  # times sent back so far
        back = False  # coming to station i sent back for rework
        pos = 0
        while pos < len(branch):
            i = branch[pos]
            first = i == branch[0] and not back
            # an assembly join: the next part from every feeder line's store
            parts: list[Any] = []
            for f in self.feeders[i] if not back else ():
                part = yield self.stores[f].get()
                parts.append(part)
            # released jobs ask for a source's server in the build sequence; others in
            # the order they arrive (by build number before a resequencing station)
            if first:
                turn = self.arrival[i].turn(j)
                if turn is not None:
                    yield turn
            # a gated station: the job waits for the one before it, then for its own part
            passed: simpy.Event | None = None
            g = self.gate[i]
            if g >= 0:
                before = self.gate_last[i]
                passed = self.gate_last[i] = env.event()
                if before is not None and not before.triggered:
                    yield before
                wait = float(self.ready[j, g]) - env.now
                if wait > 0:
                    yield env.timeout(wait)
            permit: Request | None = None
            if self.dispatched[i]:
                # free servers go out at the end of each instant: to jobs sent back
                # first, then by build number (a store) or as they came
                wake = self.env.event()
                if back:
                    turn_key = (0, self.sent_back[i])
                    self.sent_back[i] += 1
                else:
                    turn_key = (1, j if self.resequence[i] else self.arrived[i])
                    self.arrived[i] += 1
                self.waiting[i].append((turn_key, wake))
                self._dispatch_soon(i)
                if first:
                    self.arrival[i].left(j)
                s = yield wake
            else:
                permit = self.permits[i].request()
                if first:
                    self.arrival[i].left(j)
                if passed is not None:
                    passed.succeed()
                yield permit
            order = self.entered[i]  # this job's place in the order into station i
            self.entered[i] += 1
            if permit is not None:
                s = yield from self._take_server(i, order)
            if first and j + 1 < self.n:
                # job j+1 may enter the source only after job j has: start its process
                env.process(self._job(b, j + 1))
            if i == 0 and not back:
                self._count_wip(+1)
            srv = self.servers[i][s]
            vis.entry[j, i] = env.now
            vis.server[j, i] = s
            vis.repair[j, i] = yield from self._serve(srv, float(self.p[j, i]))
            vis.end[j, i] = env.now
            if not self.keeps[i]:
                # finishers of one instant leave in the order they entered
                settled = self.env.event()
                self.finishing[i].append((order, settled))
                if len(self.finishing[i]) == 1:
                    self.env.process(self._settle(i))
                yield settled
            # blocked from here on: first the sequence (where kept), then room downstream
            if self.keeps[i]:
                turn = self.sequence[i].turn(order)
                if turn is not None:
                    yield turn
            bad = self.defect[i] != DEFECT_PASS and bool(
                defective(self.quality_keys[i], j, reworks, float(self.line.fpy[i]))
            )
            room_ahead = None
            room = self.room.get(i)
            target = self.rework_to[i]
            if bad and self.defect[i] == DEFECT_REWORK:
                # a place before the rework station, ahead of the jobs from upstream;
                # asked for before this job gives its own place back (it may get it)
                up_k = self.up[target]
                room_ahead = self.room[up_k].request(priority=0) if up_k >= 0 else None
            elif room is not None and not bad:
                room_ahead = room.request(priority=1)
                yield room_ahead
            # departure: the job leaves station i, and the places it held behind the
            # station it came from and behind the feeders whose parts it took
            vis.departure[j, i] = env.now
            self._set_activity(srv, _IDLE)
            self._free_server(i, s, bad)
            if permit is not None:
                self.permits[i].release(permit)
            else:
                self._dispatch_soon(i)
            if room_held is not None:
                self.room[self.up[i]].release(room_held)
            for f, place in zip(self.feeders[i], parts, strict=True):
                self.room[f].release(place)
            if self.keeps[i]:
                self.sequence[i].left(order)
            fate = 0 if not bad else (1 if self.defect[i] == DEFECT_REWORK else 2)
            self.log.append(
                (
                    i, s, vis.entry[j, i], vis.end[j, i], env.now, vis.repair[j, i],
                    fate, j, float(back),
                )
            )  # fmt: skip
            if bad and self.defect[i] == DEFECT_REWORK:
                self.reworked[i] += 1
                reworks += 1
                if room_ahead is not None:
                    yield room_ahead
                room_held = room_ahead
                back = True
                pos = branch.index(target)
                continue
            if bad or room_ahead is None:
                # scrapped, or the end of the line
                if bad:
                    self.scrapped[i] += 1
                else:
                    self.last_done = env.now
                self._count_wip(-1)
                self.exit[j] = env.now
                self.completed += 1
                if self.completed == self.n:
                    self.done.succeed()
                return
            room_held = room_ahead
            back = False
            pos += 1
        # the end of a feeder line: the part waits in the store for the join station
        assert room_held is not None
        self.stores[branch[-1]].put(room_held)

    # --- running and measuring -------------------------------------------------------
    def run(self) -> ReferenceResult:
        if self.n:
            try:
                self.env.run(until=self.done)
            except RuntimeError as exc:
                if "No scheduled events left" not in str(exc):
                    raise
                raise _CalendarTooShort from None
        n, m = self.n, self.m
        vis = self.visits
        done = self.completed - int(self.scrapped.sum())
        t_end = self.last_done
        for srv in self.all_servers:
            srv.book(self.on_shift)
        self._count_wip(0)
        per_station = np.zeros((m, 5))
        for srv in self.all_servers:
            per_station[srv.station] += srv.time_in
        k = self.line.servers.astype(float)
        frac = per_station / (k[:, None] * t_end) if t_end > 0 else np.zeros((m, 5))
        lead = self.exit - vis.entry[:, 0]  # every job that left, scrapped ones too
        return ReferenceResult(
            visits=vis,
            busy=frac[:, BUSY],
            blocked=frac[:, BLOCKED],
            starved=frac[:, STARVED],
            failed=frac[:, FAILED],
            off_shift=frac[:, OFF_SHIFT],
            wip_mean=self.wip_area / t_end if t_end > 0 else 0.0,
            throughput_per_hour=done / t_end * 3600.0 if t_end > 0 else 0.0,
            lead_time_mean_s=float(lead.mean()) if n else 0.0,
            T=t_end,
            calendar=self.line.calendar,
            reworked=self.reworked,
            scrapped=self.scrapped,
            log=np.array(self.log, dtype=np.float64).reshape(-1, 9),
        )


class _CalendarTooShort(Exception):
    """The jobs are still in the line when the working calendar ends."""


def simulate_reference(
    line: CompiledLine,
    p: np.ndarray,
    release: np.ndarray | None = None,
    fail_keys: np.ndarray | None = None,
    ready: np.ndarray | None = None,
    quality_keys: np.ndarray | None = None,
) -> ReferenceResult:
    """Run the jobs with work times ``p`` ``[n_jobs, m]`` through the line.

    The line may be serial or have assembly joins (``line.up``, ``line.down`` and
    ``line.feeders``, as ``_kernel.run_rows`` reads them): every source station takes
    job ``j`` at its release time, and a join station needs part ``j`` of each of its
    feeder lines before job ``j`` can enter. Lead time and WIP count from the entry to
    station 0 to the departure from station ``m - 1``.

    ``release``: non-decreasing release times ``[n_jobs]`` (None: all at 0).
    ``fail_keys``: ``[m, kmax, 2]`` failure stream keys (as ``LineDraws.fail_keys``);
    needed only when a station has failures. ``ready``: ``[n_jobs, gates]``, when each
    job's part for each gated station comes (``CompiledLine.with_gates``; None: all
    there); a job waits for it before the station, and the jobs behind it wait too. A
    line built from a calendar spec gets a longer calendar if the jobs need one;
    otherwise a too-short calendar is an error.

    Parameters
    ----------
    line : CompiledLine
        The line, as the fast engine reads it.
    p : numpy.ndarray
        Work times in seconds, ``[n_jobs, m]``, all positive.
    release : numpy.ndarray, optional
        Release times ``[n_jobs]``, non-decreasing; None releases every job at 0.
    fail_keys : numpy.ndarray, optional
        Failure stream keys ``[m, kmax, 2]``; required when a station has failures.
    ready : numpy.ndarray, optional
        When each job's part for each gated station comes, ``[n_jobs, gates]``.
    quality_keys : numpy.ndarray, optional
        Keys ``[m]`` of the defective-visit streams (as ``LineDraws.quality_keys``);
        needed only when a station reworks or scraps.

    Returns
    -------
    ReferenceResult
        The visits (entry, end of work, departure of every job at every station) and
        the line's figures.

    Raises
    ------
    ValueError
        If ``p``, ``release`` or ``fail_keys`` do not fit the line.
    EvplantError
        If the line's calendar ends before the jobs are done and it has no calendar
        spec to extend it from.
    """
    _topology(line)  # refuse a malformed one before running
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != line.m:
        raise ValueError(f"p must be [n_jobs, {line.m}], got shape {p.shape}")
    if p.size and not np.all(p > 0):
        raise ValueError("work times must be > 0")
    n = p.shape[0]
    rel = np.zeros(n) if release is None else np.asarray(release, dtype=np.float64)
    if rel.shape != (n,):
        raise ValueError(f"release must be [{n}], got shape {rel.shape}")
    if np.any(np.diff(rel) < 0):
        raise ValueError("release times must not decrease")
    if fail_keys is None:
        if np.any(line.fail_basis != FAIL_NONE):
            raise ValueError("fail_keys are needed: the line has failures")
        fail_keys = np.zeros((line.m, int(line.servers.max()), 2), dtype=np.uint64)
    keys = np.asarray(fail_keys, dtype=np.uint64)
    due = np.full((n, line.gates), -np.inf) if ready is None else np.asarray(ready, float)
    if quality_keys is None:
        if np.any(line.defect != DEFECT_PASS):
            raise ValueError("quality_keys are needed: the line reworks or scraps")
        quality_keys = np.zeros(line.m, dtype=np.uint64)
    qkeys = np.asarray(quality_keys, dtype=np.uint64)
    if due.shape != (n, line.gates):
        raise ValueError(f"ready must be [{n}, {line.gates}], got shape {due.shape}")
    while True:
        try:
            return _LineModel(line, p, rel, keys, due, qkeys).run()
        except _CalendarTooShort:
            spec = line.calendar_spec
            if spec is None:
                raise EvplantError(
                    f"the working calendar ends at {line.calendar.end:.0f} s before the "
                    f"jobs are done; give a calendar that covers the whole run"
                ) from None
            # same windows where they overlap, twice as far: run again from the start
            line = line.with_calendar(spec.build(horizon_s=2.0 * line.calendar.end))
