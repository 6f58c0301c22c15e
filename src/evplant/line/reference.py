"""The reference line engine: a plain SimPy model of ``docs/line-semantics.md``.

It exists to check the compiled kernel (``evplant.line.engine``). It reads the same
compiled line and the same random draws (processing times ``p`` and the failure
keys), but shares no simulation code with the kernel: it is written the obvious
discrete-event way, so that a disagreement between the two points at a bug.

- every job (vehicle) is a SimPy process walking through the stations of a branch;
  a line with assembly joins has several branches (the main line and its feeder
  lines, each from a source station to where it ends), and job ``j`` walks each of
  them: on a feeder line it is vehicle ``j``'s part;
- the servers of a station are a ``Resource`` (the entry permit) plus the set of free
  server numbers, from which a job takes the lowest once the instant has settled;
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
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from simpy.resources.resource import Request

from ..errors import EvplantError
from .calendar import WorkCalendar
from .draws import draw
from .spec import FAIL_CALENDAR, FAIL_NONE, FAIL_OPERATING, CompiledLine
from .visits import Visits

Process = Generator[simpy.Event, Any, Any]

# what a server is doing (its own activity, before shifts and breakdowns are applied)
_IDLE, _WORKING, _REPAIRING, _HOLDING = range(4)
# the states measured, in the contract's priority order
OFF_SHIFT, FAILED, BUSY, BLOCKED, STARVED = range(5)
# SimPy runs the events of one instant by priority (URGENT = 0, NORMAL = 1), so an
# event of priority 2 runs after everything else that happens at that instant
_SETTLE = simpy.events.EventPriority(2)
_END_OF_INSTANT = simpy.events.EventPriority(3)


@dataclass
class ReferenceResult:
    """Visits and the reference's own measurements over ``[0, T]``.

    Station arrays are ``[m]``: the mean over the station's servers, as fractions of
    ``T``. ``calendar`` is the calendar actually used (longer than the line's when the
    reference had to extend it).
    """

    visits: Visits
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


class _EndOfInstant(simpy.Event):
    """Fires once every other event of the current instant has run.

    A job that may enter a station at time t must choose among all servers that are
    free at t, including those whose job leaves later in the same instant.
    """

    def __init__(self, env: simpy.Environment) -> None:
        super().__init__(env)
        # the way SimPy's own Timeout schedules itself, with a later priority
        self._ok = True
        self._value = None
        env.schedule(self, _END_OF_INSTANT)


class _Settled(simpy.Event):
    """Fires after the jobs and releases of the current instant, before the end of the
    instant: jobs that finished their work in the same instant at a station where they
    overtake then ask for room in the order they entered it."""

    def __init__(self, env: simpy.Environment) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, _SETTLE)


class _Server:
    """One server of a station: what it does, whether it is down, time in each state."""

    def __init__(self, env: simpy.Environment, station: int, index: int) -> None:
        self.env = env
        self.station = station
        self.index = index
        self.activity = _IDLE
        self.down = False  # calendar-time breakdown in progress
        self.changed = env.event()  # fires when the server becomes (un)available
        self.to_failure = 0.0  # operating basis: work left before the next failure
        self.failures = 0  # operating basis: failures so far
        self.time_in = np.zeros(5)
        self.since = 0.0

    def state(self, on_shift: bool) -> int:
        if not on_shift:
            return OFF_SHIFT
        if self.down or self.activity == _REPAIRING:
            return FAILED
        if self.activity == _WORKING:
            return BUSY
        if self.activity == _HOLDING:
            return BLOCKED
        return STARVED

    def book(self, on_shift: bool) -> None:
        """Add the time since the last change to the current state."""
        now = self.env.now
        self.time_in[self.state(on_shift)] += now - self.since
        self.since = now

    def notify(self) -> None:
        """Wake whoever waits for this server's availability to change."""
        fired, self.changed = self.changed, self.env.event()
        fired.succeed()


class _Sequence:
    """The build sequence at one station: job j leaves only after job j-1 has left."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.next_out = 0
        self._waiting: dict[int, simpy.Event] = {}

    def turn(self, job: int) -> simpy.Event | None:
        """An event for job's turn to leave, or None if it is its turn already."""
        if self.next_out == job:
            return None
        ev = self.env.event()
        self._waiting[job] = ev
        return ev

    def left(self, job: int) -> None:
        self.next_out = job + 1
        ev = self._waiting.pop(job + 1, None)
        if ev is not None:
            ev.succeed()


class _LineModel:
    """One run of the line over given draws."""

    def __init__(
        self,
        line: CompiledLine,
        p: np.ndarray,
        release: np.ndarray,
        fail_keys: np.ndarray,
        ready: np.ndarray,
    ) -> None:
        self.line = line
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
        # resequencing stations: jobs waiting in the store (build number, wake-up)
        self.waiting: list[list[tuple[int, simpy.Event]]] = [[] for _ in range(self.m)]
        self.dispatching = [False] * self.m
        # overtaking stations: jobs whose work ended in this instant (entry order, event)
        self.finishing: list[list[tuple[int, simpy.Event]]] = [[] for _ in range(self.m)]
        self.entered = [0] * self.m  # jobs that have entered each station
        self.free = [set(range(k[i])) for i in range(self.m)]
        self.branches, self.feeders = _topology(line)
        self.up = [int(u) for u in line.up]
        # the room behind each station but the last: its buffer and the next servers
        self.room = {
            i: simpy.Resource(env, capacity=int(line.buffers[i]) + k[d])
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
        self.completed = 0  # jobs that have left the line (they may overtake)
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
        for _, settled in sorted(self.finishing[i], key=lambda f: f[0]):
            settled.succeed()
        self.finishing[i] = []

    def _dispatch_soon(self, i: int) -> None:
        """Hand free servers of resequencing station i to waiting jobs, by build
        number, once the instant has settled."""
        if not self.dispatching[i]:
            self.dispatching[i] = True
            self.env.process(self._dispatch(i))

    def _dispatch(self, i: int) -> Process:
        yield _EndOfInstant(self.env)
        self.dispatching[i] = False
        waiting = self.waiting[i]
        while self.free[i] and waiting:
            j, wake = min(waiting, key=lambda w: w[0])
            waiting.remove((j, wake))
            s = min(self.free[i])
            self.free[i].remove(s)
            wake.succeed(s)

    def _take_server(self, i: int) -> Generator[simpy.Event, Any, int]:
        """The lowest-numbered free server of station i (the entry permit is held)."""
        if len(self.servers[i]) > 1:
            # servers freed later in this same instant count as free too
            yield _EndOfInstant(self.env)
        s = min(self.free[i])
        self.free[i].remove(s)
        return s

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
        room_held: Request | None = None  # place behind the station the job came from
        for i in branch:
            # an assembly join: the next part from every feeder line's store
            parts: list[Request] = []
            for f in self.feeders[i]:
                part = yield self.stores[f].get()
                parts.append(part)
            # released jobs ask for a source's server in the build sequence; others in
            # the order they arrive (by build number before a resequencing station)
            if i == branch[0]:
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
            if self.resequence[i]:
                # the store: at the end of each instant, free servers go to the waiting
                # jobs with the lowest build numbers
                wake = self.env.event()
                self.waiting[i].append((j, wake))
                self._dispatch_soon(i)
                s = yield wake
            else:
                permit = self.permits[i].request()
                if i == branch[0]:
                    self.arrival[i].left(j)
                if passed is not None:
                    passed.succeed()
                yield permit
            order = self.entered[i]  # this job's place in the order into station i
            self.entered[i] += 1
            if permit is not None:
                s = yield from self._take_server(i)
            if i == branch[0] and j + 1 < self.n:
                # job j+1 may enter the source only after job j has: start its process
                env.process(self._job(b, j + 1))
            if i == 0:
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
            room_ahead = None
            room = self.room.get(i)
            if room is not None:
                room_ahead = room.request()
                yield room_ahead
            # departure: the job leaves station i, and the places it held behind the
            # station it came from and behind the feeders whose parts it took
            vis.departure[j, i] = env.now
            self._set_activity(srv, _IDLE)
            self.free[i].add(s)
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
            if room_ahead is None:
                # the end of the line
                self._count_wip(-1)
                self.completed += 1
                if self.completed == self.n:
                    self.done.succeed()
                return
            room_held = room_ahead
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
        t_end = float(vis.departure[:, m - 1].max()) if n else 0.0
        for srv in self.all_servers:
            srv.book(self.on_shift)
        self._count_wip(0)
        per_station = np.zeros((m, 5))
        for srv in self.all_servers:
            per_station[srv.station] += srv.time_in
        k = self.line.servers.astype(float)
        frac = per_station / (k[:, None] * t_end) if t_end > 0 else np.zeros((m, 5))
        lead = vis.departure[:, m - 1] - vis.entry[:, 0]
        return ReferenceResult(
            visits=vis,
            busy=frac[:, BUSY],
            blocked=frac[:, BLOCKED],
            starved=frac[:, STARVED],
            failed=frac[:, FAILED],
            off_shift=frac[:, OFF_SHIFT],
            wip_mean=self.wip_area / t_end if t_end > 0 else 0.0,
            throughput_per_hour=n / t_end * 3600.0 if t_end > 0 else 0.0,
            lead_time_mean_s=float(lead.mean()) if n else 0.0,
            T=t_end,
            calendar=self.line.calendar,
        )


class _CalendarTooShort(Exception):
    """The jobs are still in the line when the working calendar ends."""


def _topology(line: CompiledLine) -> tuple[list[list[int]], list[list[int]]]:
    """The branches (stations from a source to where they end) and each station's feeders.

    Refuses a topology the contract does not describe (see ``docs/line-semantics.md``).
    """
    m = line.m
    up = [int(u) for u in np.asarray(line.up).ravel()]
    down = [int(d) for d in np.asarray(line.down).ravel()]
    table = np.asarray(line.feeders)
    if len(up) != m or len(down) != m or table.ndim != 2 or table.shape[0] != m:
        raise ValueError(f"up, down and feeders must have {m} rows (one per station)")
    feeders = [[int(f) for f in row if f >= 0] for row in table]
    for i in range(m):
        u, d, fs = up[i], down[i], feeders[i]
        if not -1 <= u < i:
            raise ValueError(f"station {i}: up must be -1 or an earlier station, got {u}")
        if u >= 0 and down[u] != i:
            raise ValueError(f"station {i} comes from {u}, but {u} goes to {down[u]}")
        if len(set(fs)) != len(fs) or any(f >= i or f == u for f in fs):
            raise ValueError(f"station {i}: feeders must be distinct earlier stations")
        for f in fs:
            if down[f] != i:
                raise ValueError(f"station {f} feeds {i}, but goes to {down[f]}")
        if i == m - 1:
            if d != -1:
                raise ValueError(f"the last station {i} must end the line (down -1)")
        elif not i < d < m or (up[d] == i) == (i in feeders[d]):
            raise ValueError(
                f"station {i} goes to {d}: that must be a later station that it feeds or "
                f"that comes from it"
            )
    branches = []
    for source in range(m):
        if up[source] < 0:
            branch = [source]
            while down[branch[-1]] >= 0 and up[down[branch[-1]]] == branch[-1]:
                branch.append(down[branch[-1]])
            branches.append(branch)
    return branches, feeders


def simulate_reference(
    line: CompiledLine,
    p: np.ndarray,
    release: np.ndarray | None = None,
    fail_keys: np.ndarray | None = None,
    ready: np.ndarray | None = None,
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
    if due.shape != (n, line.gates):
        raise ValueError(f"ready must be [{n}, {line.gates}], got shape {due.shape}")
    while True:
        try:
            return _LineModel(line, p, rel, keys, due).run()
        except _CalendarTooShort:
            spec = line.calendar_spec
            if spec is None:
                raise EvplantError(
                    f"the working calendar ends at {line.calendar.end:.0f} s before the "
                    f"jobs are done; give a calendar that covers the whole run"
                ) from None
            # same windows where they overlap, twice as far: run again from the start
            line = line.with_calendar(spec.build(horizon_s=2.0 * line.calendar.end))
