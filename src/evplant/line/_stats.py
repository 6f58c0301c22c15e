"""Compiled statistics over visits (private; use ``evplant.line.engine``).

Runs after the kernel on each chunk of visits, so both engines' visits can be
measured the same way and the kernel stays a pure timing recursion. Per server, it
splits the wall clock into off-shift, failed, busy, blocked and starved time, and
tracks Roser's active periods. Amounts are attributed to the time bin in which the
interval ends (bins are months in the plant, hours on the ``line`` command), which
is exact for totals and off by at most one interval at a bin's edge.
"""

from __future__ import annotations

import numpy as np

from .._numba import inline, kernel
from .calendar import _window, working_before
from .draws import next_breakdown
from .spec import FAIL_CALENDAR, FAIL_OPERATING

# per-station accumulators, columns of acc[m, :]
BUSY, BLOCKED, FAILED, JOBS, ACT_SUM, ACT_CNT = range(6)
N_ACC = 6
# per-bin accumulators, bins[b, m, :]
B_BUSY, B_BLOCKED, B_FAILED, B_ACT_MAX, B_ACT_SUM, B_ACT_CNT, B_IN, B_OUT = range(8)
N_BIN = 8
# line accumulators
L_DONE, L_LEAD, L_T = range(3)


@inline
def _bin(t: float, edges: np.ndarray, hint: np.ndarray, i: int) -> int:
    """The bin of time t: the same hinted walk as a calendar window, over the bin starts."""
    nb = len(edges) - 1
    if nb == 1:
        return 0
    return _window(t, edges[:nb], hint, i)


@kernel
def _down_between(
    a: float,
    b: float,
    i: int,
    s: int,
    fst: np.ndarray,
    ttf_code: np.ndarray,
    ttr_code: np.ndarray,
    table: np.ndarray,
    keys: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    cum: np.ndarray,
    acc: np.ndarray,
    bins: np.ndarray,
    edges: np.ndarray,
    hint: np.ndarray,
    bhint: np.ndarray,
) -> float:
    """Working time in [a, b] during which server s is down (calendar failures).

    Intervals that end before ``b`` are booked to ``failed`` as they are passed, so
    every down interval is booked exactly once.
    """
    total = 0.0
    while True:
        lo = fst[i, s, 1]
        hi = fst[i, s, 2]
        if lo >= b:
            break
        x = max(lo, a)
        y = min(hi, b)
        if y > x:
            total += working_before(y, starts, ends, cum, hint, i) - working_before(
                x, starts, ends, cum, hint, i
            )
        if hi > b:
            break
        # the interval is over: book all of it, then draw the next one
        w = working_before(hi, starts, ends, cum, hint, i) - working_before(
            lo, starts, ends, cum, hint, i
        )
        acc[i, FAILED] += w
        bins[_bin(hi, edges, bhint, i), i, B_FAILED] += w
        next_breakdown(fst, i, s, keys, ttf_code, ttr_code, table)
    return total


@kernel
def _close_period(i: int, s: int, act: np.ndarray, acc: np.ndarray, bins: np.ndarray) -> None:
    if act[i, s, 2] < 0.0:  # no open period
        return
    dur = act[i, s, 1]
    acc[i, ACT_SUM] += dur
    acc[i, ACT_CNT] += 1.0
    b1 = int(act[i, s, 5])
    bins[b1, i, B_ACT_SUM] += dur
    bins[b1, i, B_ACT_CNT] += 1.0
    for b in range(int(act[i, s, 4]), b1 + 1):
        if dur > bins[b, i, B_ACT_MAX]:
            bins[b, i, B_ACT_MAX] = dur
    act[i, s, 2] = -1.0


@kernel
def accumulate(
    entry: np.ndarray,
    end: np.ndarray,
    dep: np.ndarray,
    srv: np.ndarray,
    rep: np.ndarray,
    basis: np.ndarray,
    ttf_code: np.ndarray,
    ttr_code: np.ndarray,
    table: np.ndarray,
    keys: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    cum: np.ndarray,
    fst: np.ndarray,
    act: np.ndarray,
    acc: np.ndarray,
    bins: np.ndarray,
    edges: np.ndarray,
    line: np.ndarray,
    hint: np.ndarray,
    bhint: np.ndarray,
) -> None:
    """Book a chunk of visits into the accumulators (all updated in place).

    ``act[i, s]`` is the open active period (see below); a wall start < 0 means none.
    """
    n, m = entry.shape
    last = m - 1
    nbins = len(edges) - 1
    for r in range(n):
        for i in range(m):
            s = srv[r, i]
            e = entry[r, i]
            c = end[r, i]
            d = dep[r, i]
            we = working_before(e, starts, ends, cum, hint, i)
            wc = working_before(c, starts, ends, cum, hint, i)
            wd = working_before(d, starts, ends, cum, hint, i)
            if basis[i] == FAIL_CALENDAR:
                # the next down interval usually starts later: skip the call (its array
                # arguments cost ~100 ns in reference counting alone)
                down_work = 0.0
                down_block = 0.0
                if fst[i, s, 1] < c:
                    down_work = _down_between(
                        e,
                        c,
                        i,
                        s,
                        fst,
                        ttf_code,
                        ttr_code,
                        table,
                        keys,
                        starts,
                        ends,
                        cum,
                        acc,
                        bins,
                        edges,
                        hint,
                        bhint,
                    )
                if fst[i, s, 1] < d:
                    down_block = _down_between(
                        c,
                        d,
                        i,
                        s,
                        fst,
                        ttf_code,
                        ttr_code,
                        table,
                        keys,
                        starts,
                        ends,
                        cum,
                        acc,
                        bins,
                        edges,
                        hint,
                        bhint,
                    )
            else:
                down_work = rep[r, i]
                down_block = 0.0
                if basis[i] == FAIL_OPERATING and down_work > 0.0:
                    acc[i, FAILED] += down_work
                    bins[_bin(c, edges, bhint, i), i, B_FAILED] += down_work
            busy = (wc - we) - down_work
            blocked = (wd - wc) - down_block
            acc[i, BUSY] += busy
            acc[i, BLOCKED] += blocked
            acc[i, JOBS] += 1.0
            if nbins == 1:
                be = bc = bd = 0
            else:
                # e <= c <= d: walk forward from the station's last bin (written out:
                # a call per lookup cost ~10 ns here)
                b = bhint[i]
                while b > 0 and edges[b] > e:
                    b -= 1
                while b + 1 < nbins and edges[b + 1] <= e:
                    b += 1
                be = b
                while b + 1 < nbins and edges[b + 1] <= c:
                    b += 1
                bc = b
                while b + 1 < nbins and edges[b + 1] <= d:
                    b += 1
                bd = b
                bhint[i] = be
            bins[bc, i, B_BUSY] += busy
            bins[bd, i, B_BLOCKED] += blocked
            bins[bd, i, B_OUT] += 1.0
            bins[be, i, B_IN] += 1.0
            # Roser's active period: entry to end of work; merge when back to back.
            # act[i, s] = (W at start, working duration, wall start, wall end, bin of
            # start, bin of end). Closing is written out: a call here cost ~15 ns a visit.
            if act[i, s, 2] >= 0.0 and e == act[i, s, 3]:
                act[i, s, 1] += wc - we
                act[i, s, 3] = c
                act[i, s, 5] = bc
            else:
                if act[i, s, 2] >= 0.0:
                    dur = act[i, s, 1]
                    acc[i, ACT_SUM] += dur
                    acc[i, ACT_CNT] += 1.0
                    b1 = int(act[i, s, 5])
                    bins[b1, i, B_ACT_SUM] += dur
                    bins[b1, i, B_ACT_CNT] += 1.0
                    for b in range(int(act[i, s, 4]), b1 + 1):
                        if dur > bins[b, i, B_ACT_MAX]:
                            bins[b, i, B_ACT_MAX] = dur
                act[i, s, 0] = we
                act[i, s, 1] = wc - we
                act[i, s, 2] = e
                act[i, s, 3] = c
                act[i, s, 4] = be
                act[i, s, 5] = bc
        t_out = dep[r, last]
        line[L_DONE] += 1.0
        line[L_LEAD] += t_out - entry[r, 0]
        if t_out > line[L_T]:
            line[L_T] = t_out


@kernel
def close_all(
    t_end: float,
    basis: np.ndarray,
    servers: np.ndarray,
    ttf_code: np.ndarray,
    ttr_code: np.ndarray,
    table: np.ndarray,
    keys: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    cum: np.ndarray,
    fst: np.ndarray,
    act: np.ndarray,
    acc: np.ndarray,
    bins: np.ndarray,
    edges: np.ndarray,
) -> None:
    """Finish the books at ``t_end``: open active periods, down time up to t_end.

    Call on copies of the accumulators: the engine may continue afterwards.
    """
    m = len(servers)
    hint = np.zeros(m, dtype=np.int64)
    bhint = np.zeros(m, dtype=np.int64)
    for i in range(m):
        for s in range(servers[i]):
            _close_period(i, s, act, acc, bins)
            if basis[i] == FAIL_CALENDAR:
                # book whole intervals up to t_end, then the open part of the current one
                _down_between(
                    t_end,
                    t_end,
                    i,
                    s,
                    fst,
                    ttf_code,
                    ttr_code,
                    table,
                    keys,
                    starts,
                    ends,
                    cum,
                    acc,
                    bins,
                    edges,
                    hint,
                    bhint,
                )
                lo = fst[i, s, 1]
                if lo < t_end:
                    hi = min(fst[i, s, 2], t_end)
                    w = working_before(hi, starts, ends, cum, hint, i) - working_before(
                        lo, starts, ends, cum, hint, i
                    )
                    acc[i, FAILED] += w
                    bins[_bin(hi, edges, bhint, i), i, B_FAILED] += w


# --- for the event-driven kernel (``_events``) ----------------------------------------


@inline
def book_in(i: int, e: float, bins: np.ndarray, edges: np.ndarray, bhint: np.ndarray) -> None:
    """Job entered station i at e (booked by the kernel as it happens, so a month's
    entries are all there when the month is read)."""
    bins[_bin(e, edges, bhint, i), i, B_IN] += 1.0


@kernel
def book_log(
    log: np.ndarray,
    n: int,
    basis: np.ndarray,
    ttf_code: np.ndarray,
    ttr_code: np.ndarray,
    table: np.ndarray,
    keys: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    cum: np.ndarray,
    fst: np.ndarray,
    act: np.ndarray,
    acc: np.ndarray,
    bins: np.ndarray,
    edges: np.ndarray,
    hint: np.ndarray,
    bhint: np.ndarray,
) -> None:
    """Book the first ``n`` visits of an event-driven run's log, rows (station, server,
    entry, end, departure, repair) in the order the jobs left their stations: each
    server's visits come in its time order, as the walks of breakdowns and active
    periods need. The same books as :func:`accumulate`, visit by visit (the line's
    own accumulators are kept by the kernel)."""
    nbins = len(edges) - 1
    for r in range(n):
        i = int(log[r, 0])
        s = int(log[r, 1])
        e = log[r, 2]
        c = log[r, 3]
        d = log[r, 4]
        we = working_before(e, starts, ends, cum, hint, i)
        wc = working_before(c, starts, ends, cum, hint, i)
        wd = working_before(d, starts, ends, cum, hint, i)
        if basis[i] == FAIL_CALENDAR:
            # the next down interval usually starts later: skip the call (its array
            # arguments cost ~100 ns in reference counting alone)
            down_work = 0.0
            down_block = 0.0
            if fst[i, s, 1] < c:
                down_work = _down_between(
                    e,
                    c,
                    i,
                    s,
                    fst,
                    ttf_code,
                    ttr_code,
                    table,
                    keys,
                    starts,
                    ends,
                    cum,
                    acc,
                    bins,
                    edges,
                    hint,
                    bhint,
                )
            if fst[i, s, 1] < d:
                down_block = _down_between(
                    c,
                    d,
                    i,
                    s,
                    fst,
                    ttf_code,
                    ttr_code,
                    table,
                    keys,
                    starts,
                    ends,
                    cum,
                    acc,
                    bins,
                    edges,
                    hint,
                    bhint,
                )
        else:
            down_work = log[r, 5]
            down_block = 0.0
            if basis[i] == FAIL_OPERATING and down_work > 0.0:
                acc[i, FAILED] += down_work
                bins[_bin(c, edges, bhint, i), i, B_FAILED] += down_work
        busy = (wc - we) - down_work
        blocked = (wd - wc) - down_block
        acc[i, BUSY] += busy
        acc[i, BLOCKED] += blocked
        acc[i, JOBS] += 1.0
        if nbins == 1:
            be = bc = bd = 0
        else:
            # e <= c <= d: walk forward from the station's last bin (written out:
            # a call per lookup cost ~10 ns here)
            b = bhint[i]
            while b > 0 and edges[b] > e:
                b -= 1
            while b + 1 < nbins and edges[b + 1] <= e:
                b += 1
            be = b
            while b + 1 < nbins and edges[b + 1] <= c:
                b += 1
            bc = b
            while b + 1 < nbins and edges[b + 1] <= d:
                b += 1
            bd = b
            bhint[i] = be
        bins[bc, i, B_BUSY] += busy
        bins[bd, i, B_BLOCKED] += blocked
        bins[bd, i, B_OUT] += 1.0
        # Roser's active period: entry to end of work; merge when back to back.
        # act[i, s] = (W at start, working duration, wall start, wall end, bin of
        # start, bin of end). Closing is written out: a call here cost ~15 ns a visit.
        if act[i, s, 2] >= 0.0 and e == act[i, s, 3]:
            act[i, s, 1] += wc - we
            act[i, s, 3] = c
            act[i, s, 5] = bc
        else:
            if act[i, s, 2] >= 0.0:
                dur = act[i, s, 1]
                acc[i, ACT_SUM] += dur
                acc[i, ACT_CNT] += 1.0
                b1 = int(act[i, s, 5])
                bins[b1, i, B_ACT_SUM] += dur
                bins[b1, i, B_ACT_CNT] += 1.0
                for b in range(int(act[i, s, 4]), b1 + 1):
                    if dur > bins[b, i, B_ACT_MAX]:
                        bins[b, i, B_ACT_MAX] = dur
            act[i, s, 0] = we
            act[i, s, 1] = wc - we
            act[i, s, 2] = e
            act[i, s, 3] = c
            act[i, s, 4] = be
            act[i, s, 5] = bc
