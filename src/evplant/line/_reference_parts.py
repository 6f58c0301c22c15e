"""The reference engine's parts (private; see ``reference``): the states a server
can be in, the events that close an instant, a server, the build sequence at a station,
and the topology a line file's stations make.

Split from ``reference`` to keep each module one concept; none of it is shared with the
compiled kernels.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from .spec import CompiledLine

Process = Generator[simpy.Event, Any, Any]

# what a server is doing (its own activity, before shifts and breakdowns are applied)
_IDLE, _WORKING, _REPAIRING, _HOLDING = range(4)
# the states measured, in the contract's priority order
OFF_SHIFT, FAILED, BUSY, BLOCKED, STARVED = range(5)
# SimPy runs the events of one instant by priority (URGENT = 0, NORMAL = 1), so an
# event of priority 2 runs after everything else that happens at that instant
_SETTLE = simpy.events.EventPriority(2)
_EPS = 2.220446049250313e-16
_END_OF_INSTANT = simpy.events.EventPriority(3)

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
