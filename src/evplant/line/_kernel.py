"""The compiled line kernel (private; use ``evplant.line.engine``).

One recursion covers every feature of ``docs/line-semantics.md`` on a line where no
job overtakes: shifts, both failure bases, parallel servers that keep the sequence,
release times, variants and assembly joins. Shifts and failures only change how a
job's end of work ``C`` follows from its entry ``E`` on one server (``_advance``), and a
calendar-time failure is a fixed function of the wall clock, so the max-plus recursion
over jobs stays exact. There is no event list and no Python object in the loop.

Each job's row (all stations) is computed as a transaction: if the calendar runs out
while advancing, the row's server states are restored and the kernel returns
``STATUS_CALENDAR`` so the caller can extend the calendar and call again. The caller
books the rows done into the statistics (``_stats.book_rows``) after each call: called
from inside this kernel, the same books measured 10x slower (620 against 56 ns a
visit, the recursion included), for reasons in numba's code generation we did not
pin down.

State and its columns: ``_named``.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import kernel
from ._named import FST_A, FST_B, FST_N, Calendar, Failures, Recursion, Topology, Trace
from .calendar import _window, consume, working_before
from .draws import draw, next_breakdown
from .spec import FAIL_CALENDAR, FAIL_NONE, FAIL_OPERATING

_EPS = 2.220446049250313e-16  # float64 machine epsilon
STATUS_DONE = 0
STATUS_CALENDAR = 1


@kernel
def _advance(
    t: float,
    work: float,
    i: int,
    s: int,
    fail: Failures,
    fst: np.ndarray,
    cal: Calendar,
    hint: np.ndarray,
) -> tuple[float, float]:
    """End of ``work`` seconds started at ``t`` on server s of station i; repair time."""
    basis = fail.basis[i]
    keys, ttf_code, ttr_code, table = fail.keys, fail.ttf_code, fail.ttr_code, fail.table
    starts, ends, cum = cal.starts, cal.ends, cal.cum
    if basis == FAIL_NONE:
        return consume(t, work, starts, ends, cum, hint, i), 0.0
    if basis == FAIL_OPERATING:
        repair = 0.0
        left = fst[i, s, FST_A]
        while True:
            if left <= 0.0:
                n = int(fst[i, s, FST_N])
                ttr = draw(keys[i, s, 1], n, ttr_code[i], table)
                t = consume(t, ttr, starts, ends, cum, hint, i)
                repair += ttr
                fst[i, s, FST_N] = n + 1
                left = draw(keys[i, s, 0], n + 1, ttf_code[i], table)
                if t == math.inf:
                    break
            if work <= left + 8.0 * _EPS * max(left, 1.0):
                # the job ends first (a failure due within rounding of its end waits
                # for the next job, as the contract says)
                t = consume(t, work, starts, ends, cum, hint, i)
                left = max(left - work, 0.0)
                break
            t = consume(t, left, starts, ends, cum, hint, i)
            work -= left
            left = 0.0
            if t == math.inf:
                break
        fst[i, s, FST_A] = left
        return t, repair
    # calendar-time failures: down on [A, B), whatever the server does
    horizon = ends[len(ends) - 1]
    while True:
        if t >= horizon:
            return math.inf, 0.0
        down_from = fst[i, s, FST_A]
        down_to = fst[i, s, FST_B]
        if t >= down_to:
            next_breakdown(fst, i, s, keys, ttf_code, ttr_code, table)
            continue
        if t >= down_from:
            t = down_to
            continue
        avail = working_before(down_from, starts, ends, cum, hint, i) - working_before(
            t, starts, ends, cum, hint, i
        )
        # a leftover of a few ulps of the clock is rounding in W, not work: the job ends
        # as the server goes down (8.2 - 4.2 is 3.9999999999999996 in binary)
        if work <= avail + 8.0 * _EPS * max(abs(down_from), 1.0):
            return min(consume(t, work, starts, ends, cum, hint, i), down_from), 0.0
        work -= avail
        t = down_from


@kernel
def run_rows(
    p: np.ndarray,
    release: np.ndarray,
    ready: np.ndarray,
    topo: Topology,
    fail: Failures,
    cal: Calendar,
    rec: Recursion,
    out: Trace,
) -> tuple[int, int]:
    """Advance the line by the jobs in ``p`` (with their ``release`` times, and
    ``ready[r, g]`` when job r's part for the station of gate g comes); write their
    visits to ``out``; return (status, jobs done).

    Stations are numbered so that ``topo.up`` and ``topo.feeders`` come first; station
    ``m-1`` is the end. ``rec`` is updated in place.
    """
    servers, buffers, up, down, feeders, gate = topo
    ring, free_at, fst, next_job, last_in, hint = rec
    entry, end, dep, srv, rep = out
    starts, ends = cal.starts, cal.ends
    n, m = p.shape
    mask = ring.shape[1] - 1  # a power of two: a bit mask instead of a division
    saved = np.empty((m, 3))
    saved_free = np.empty(m)
    chosen = np.empty(m, dtype=np.int64)
    job = int(next_job[0])
    for r in range(n):
        j = job + r
        ok = True
        for i in range(m):
            k = servers[i]
            # entry: after the job left the station before (or was released), its
            # feeder parts are there, and a server is free
            u = up[i]
            if u < 0:
                t_in = max(release[r], last_in[i])
            else:
                t_in = dep[r, u]
            for f in range(feeders.shape[1]):
                fi = feeders[i, f]
                if fi >= 0:
                    t_in = max(t_in, dep[r, fi])
            g = gate[i]
            if g >= 0:
                # its own part has come, and the job before has entered (build order)
                t_in = max(t_in, ready[r, g], last_in[i])
            if j - k >= 0:
                t_in = max(t_in, ring[i, (j - k) & mask])
            # the lowest-index free server
            s = 0
            if k > 1:
                s = -1
                # a server freed within a few ulps of t_in is free at t_in: the two
                # times are the same instant reached by different sums
                t_free = t_in + 8.0 * _EPS * max(abs(t_in), 1.0)
                for c in range(k):
                    if free_at[i, c] <= t_free:
                        s = c
                        break
            chosen[i] = s
            saved[i, 0] = fst[i, s, 0]
            saved[i, 1] = fst[i, s, 1]
            saved[i, 2] = fst[i, s, 2]
            saved_free[i] = free_at[i, s]
            # fast path: the work fits in the current shift window and before the
            # server's next failure; otherwise walk shifts and failures (_advance)
            work = p[r, i]
            b = fail.basis[i]
            h = _window(t_in, starts, hint, i)
            t_end = t_in + work
            repair = 0.0
            fits = starts[h] <= t_in and t_end <= ends[h]
            if fits and b == FAIL_OPERATING:
                fits = work <= fst[i, s, FST_A]
                if fits:
                    fst[i, s, FST_A] -= work
            elif fits and b == FAIL_CALENDAR:
                fits = t_end <= fst[i, s, FST_A]
            if not fits:
                t_end, repair = _advance(t_in, work, i, s, fail, fst, cal, hint)
            if t_end == math.inf:
                ok = False
                # restore the servers this row touched, then stop before job j
                for q in range(i + 1):
                    cs = chosen[q]
                    fst[q, cs, 0] = saved[q, 0]
                    fst[q, cs, 1] = saved[q, 1]
                    fst[q, cs, 2] = saved[q, 2]
                    free_at[q, cs] = saved_free[q]
                break
            # departure: sequence kept, and room downstream (buffer + next servers)
            t_out = t_end
            if j >= 1:
                t_out = max(t_out, ring[i, (j - 1) & mask])
            dn = down[i]
            if dn >= 0:
                room = buffers[i] + servers[dn]
                if j - room >= 0:
                    t_out = max(t_out, ring[dn, (j - room) & mask])
            entry[r, i] = t_in
            end[r, i] = t_end
            dep[r, i] = t_out
            srv[r, i] = s
            rep[r, i] = repair
            free_at[i, s] = t_out
        if not ok:
            next_job[0] = j
            return STATUS_CALENDAR, r
        for i in range(m):
            ring[i, j & mask] = dep[r, i]
            if up[i] < 0 or gate[i] >= 0:
                last_in[i] = entry[r, i]
    next_job[0] = job + n
    return STATUS_DONE, n
