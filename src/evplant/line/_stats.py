"""Compiled statistics of visits (private; use ``evplant.line.engine``).

One loop body books a visit (:func:`_book_visits`): per server, it splits the wall
clock into off-shift, failed, busy, blocked and starved time, and tracks Roser's active
periods. Three callers book with it, so every path measures the same way:

- :func:`book_rows` books the rows of a chunk the max-plus kernel (``_kernel.run_rows``)
  has just done, right after each call of it;
- :func:`accumulate` books visits given from outside (the reference engine's);
- :func:`book_log` books the event-driven kernel's log of visits.

Amounts are attributed to the time bin in which the interval ends (bins are months in
the plant, hours on the ``line`` command), which is exact for totals and off by at
most one interval at a bin's edge. State and its columns: ``_named.Books``.
"""

from __future__ import annotations

import numpy as np

from .._numba import inline, kernel
from ._named import (
    ACT_BIN0,
    ACT_BIN1,
    ACT_CNT,
    ACT_END,
    ACT_START,
    ACT_SUM,
    ACT_W0,
    ACT_WORK,
    B_ACT_CNT,
    B_ACT_MAX,
    B_ACT_SUM,
    B_BLOCKED,
    B_BUSY,
    B_FAILED,
    B_IN,
    B_OUT,
    BLOCKED,
    BOOK_ALL,
    BUSY,
    FAILED,
    FST_A,
    FST_B,
    JOBS,
    L_DONE,
    L_LEAD,
    L_T,
    Books,
    Calendar,
    Failures,
    Trace,
)
from .calendar import working_before
from .draws import next_breakdown
from .spec import FAIL_CALENDAR, FAIL_OPERATING


@inline
def bin_of(t: float, edges: np.ndarray, hint: np.ndarray, i: int) -> int:
    """The bin of time t, the last bin starting at or before t (0 if none): a walk from
    the bin ``hint[i]`` last found (written out, not ``calendar._window`` over
    ``edges[:-1]``: the slice cost ~25 ns a call)."""
    nb = len(edges) - 1
    h = hint[i]
    while h > 0 and edges[h] > t:
        h -= 1
    while h + 1 < nb and edges[h + 1] <= t:
        h += 1
    hint[i] = h
    return h


@kernel
def _down_between(
    a: float,
    b: float,
    i: int,
    s: int,
    keys: np.ndarray,
    ttf_code: np.ndarray,
    ttr_code: np.ndarray,
    table: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    cum: np.ndarray,
    fst: np.ndarray,
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
        lo = fst[i, s, FST_A]
        hi = fst[i, s, FST_B]
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
        bins[bin_of(hi, edges, bhint, i), i, B_FAILED] += w
        next_breakdown(fst, i, s, keys, ttf_code, ttr_code, table)
    return total


@inline
def _close_period(i: int, s: int, act: np.ndarray, acc: np.ndarray, bins: np.ndarray) -> None:
    """Book server s's open active period and mark none open."""
    if act[i, s, ACT_START] < 0.0:
        return
    dur = act[i, s, ACT_WORK]
    acc[i, ACT_SUM] += dur
    acc[i, ACT_CNT] += 1.0
    b1 = int(act[i, s, ACT_BIN1])
    bins[b1, i, B_ACT_SUM] += dur
    bins[b1, i, B_ACT_CNT] += 1.0
    for b in range(int(act[i, s, ACT_BIN0]), b1 + 1):
        if dur > bins[b, i, B_ACT_MAX]:
            bins[b, i, B_ACT_MAX] = dur
    act[i, s, ACT_START] = -1.0


@kernel
def _book_visits(
    n: int,
    m: int,
    station: np.ndarray,
    server: np.ndarray,
    entry: np.ndarray,
    end: np.ndarray,
    dep: np.ndarray,
    repair: np.ndarray,
    fail: Failures,
    cal: Calendar,
    books: Books,
    book_entry: bool,
) -> None:
    """Book ``n`` visits: visit k is server ``server[k]`` of station ``station[k]``
    (or, with ``m > 0``, of station ``k % m``: a trace's rows laid end to end), entry,
    end of work, departure, and working seconds under operating-time repair. A
    server's visits must come in its time order (breakdowns and active periods are
    walked forward). ``book_entry``: count entries in their bins (the event kernel
    counts them as they happen, so a month's entries are there when it is read).

    The one body of a visit's books, written out in the loop: a helper called per
    visit with these arrays cost 15-30x (numba keeps a reference count on every array
    argument, inlined or not: 440-640 ns a visit against 20-30, measured).
    """
    basis, ttf_code, ttr_code, table, keys = fail
    starts, ends, cum = cal
    fst, act, acc, bins, edges, line, done, hint, bhint, mode, _ = books
    nbins = len(edges) - 1
    i = -1
    for k in range(n):
        if m > 0:
            i += 1
            if i == m:
                i = 0
        else:
            i = int(station[k])
        s = int(server[k])
        e = entry[k]
        c = end[k]
        d = dep[k]
        we = working_before(e, starts, ends, cum, hint, i)
        wc = working_before(c, starts, ends, cum, hint, i)
        # not blocked (d == c): the same working time, without the lookup
        wd = wc if d == c else working_before(d, starts, ends, cum, hint, i)
        down_work = 0.0
        down_block = 0.0
        if basis[i] == FAIL_CALENDAR:
            # the next down interval usually starts later: skip the call (its array
            # arguments cost ~100 ns in reference counting alone)
            if fst[i, s, FST_A] < c:
                down_work = _down_between(
                    e, c, i, s, keys, ttf_code, ttr_code, table, starts, ends, cum, fst, acc,
                    bins, edges, hint, bhint,
                )  # fmt: skip
            if fst[i, s, FST_A] < d:
                down_block = _down_between(
                    c, d, i, s, keys, ttf_code, ttr_code, table, starts, ends, cum, fst, acc,
                    bins, edges, hint, bhint,
                )  # fmt: skip
        else:
            down_work = repair[k]
            if basis[i] == FAIL_OPERATING and down_work > 0.0:
                acc[i, FAILED] += down_work
                bins[bin_of(c, edges, bhint, i), i, B_FAILED] += down_work
        busy = (wc - we) - down_work
        blocked = (wd - wc) - down_block
        acc[i, BUSY] += busy
        acc[i, BLOCKED] += blocked
        acc[i, JOBS] += 1.0
        if nbins == 1:
            be = bc = bd = 0
        else:
            # e <= c <= d: walk forward from the station's last bin (written out: a call
            # per lookup cost ~10 ns here)
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
        if book_entry:
            bins[be, i, B_IN] += 1.0
        # Roser's active period: entry to end of work, merged with the one before when
        # the server starts again the instant it finished
        if act[i, s, ACT_START] >= 0.0 and e == act[i, s, ACT_END]:
            act[i, s, ACT_WORK] += wc - we
            act[i, s, ACT_END] = c
            act[i, s, ACT_BIN1] = bc
        else:
            # the open period ends: written out (a call here cost ~15 ns a visit)
            if act[i, s, ACT_START] >= 0.0:
                dur = act[i, s, ACT_WORK]
                acc[i, ACT_SUM] += dur
                acc[i, ACT_CNT] += 1.0
                b1 = int(act[i, s, ACT_BIN1])
                bins[b1, i, B_ACT_SUM] += dur
                bins[b1, i, B_ACT_CNT] += 1.0
                for b in range(int(act[i, s, ACT_BIN0]), b1 + 1):
                    if dur > bins[b, i, B_ACT_MAX]:
                        bins[b, i, B_ACT_MAX] = dur
            act[i, s, ACT_W0] = we
            act[i, s, ACT_WORK] = wc - we
            act[i, s, ACT_START] = e
            act[i, s, ACT_END] = c
            act[i, s, ACT_BIN0] = be
            act[i, s, ACT_BIN1] = bc


@kernel
def book_rows(
    trace: Trace, variant: np.ndarray, fail: Failures, cal: Calendar, books: Books
) -> None:
    """Book every row of ``trace`` (C-ordered rows, each a job at every station in
    build order; ``variant[r]`` the job's variant), as ``books.mode`` asks: every
    station's statistics, or only the entries at the first station and the departures
    from the last. Either way the line's totals and the completions per bin and
    variant."""
    entry, end, dep, srv, rep = trace
    fst, act, acc, bins, edges, line, done, hint, bhint, mode, _ = books
    n, m = entry.shape
    last = m - 1
    if mode[0] == BOOK_ALL:
        # the rows end to end are one run of visits, in each server's time order
        _book_visits(
            n * m, m, bhint, srv.reshape(-1), entry.reshape(-1), end.reshape(-1),
            dep.reshape(-1), rep.reshape(-1), fail, cal, books, True,
        )  # fmt: skip
    else:
        for r in range(n):
            bins[bin_of(entry[r, 0], edges, bhint, 0), 0, B_IN] += 1.0
            bins[bin_of(dep[r, last], edges, bhint, last), last, B_OUT] += 1.0
    for r in range(n):
        t_out = dep[r, last]
        line[L_DONE] += 1.0
        line[L_LEAD] += t_out - entry[r, 0]
        if t_out > line[L_T]:
            line[L_T] = t_out
        # the completions' own bin hint, after the stations'
        done[bin_of(t_out, edges, bhint, m), variant[r]] += 1.0


def accumulate(trace: Trace, fail: Failures, cal: Calendar, books: Books) -> None:
    """Book visits given from outside (the reference engine's) with every station's
    statistics; their completions count as variant 0."""
    trace = Trace(*(np.ascontiguousarray(a) for a in trace))
    book_rows(trace, np.zeros(trace.entry.shape[0], dtype=np.int64), fail, cal, books)


@kernel
def close_all(
    t_end: float, servers: np.ndarray, fail: Failures, cal: Calendar, books: Books
) -> None:
    """Finish the books at ``t_end``: open active periods, down time up to t_end.

    Call on a copy of the books (:func:`evplant.line.engine` keeps running after).
    """
    basis, ttf_code, ttr_code, table, keys = fail
    starts, ends, cum = cal
    fst, act, acc, bins, edges, line, done, hint, bhint, mode, _ = books
    for i in range(len(servers)):
        for s in range(servers[i]):
            _close_period(i, s, act, acc, bins)
            if basis[i] == FAIL_CALENDAR:
                # book whole intervals up to t_end, then the open part of the current one
                _down_between(
                    t_end, t_end, i, s, keys, ttf_code, ttr_code, table, starts, ends, cum,
                    fst, acc, bins, edges, hint, bhint,
                )  # fmt: skip
                lo = fst[i, s, FST_A]
                if lo < t_end:
                    hi = min(fst[i, s, FST_B], t_end)
                    w = working_before(hi, starts, ends, cum, hint, i) - working_before(
                        lo, starts, ends, cum, hint, i
                    )
                    acc[i, FAILED] += w
                    bins[bin_of(hi, edges, bhint, i), i, B_FAILED] += w


# --- for the event-driven kernel (``_events``) ----------------------------------------


@inline
def book_in(i: int, e: float, bins: np.ndarray, edges: np.ndarray, bhint: np.ndarray) -> None:
    """Job entered station i at e (booked by the kernel as it happens, so a month's
    entries are all there when the month is read)."""
    bins[bin_of(e, edges, bhint, i), i, B_IN] += 1.0


@kernel
def book_log(log: np.ndarray, n: int, fail: Failures, cal: Calendar, books: Books) -> None:
    """Book the first ``n`` visits of an event-driven run's log, rows (station, server,
    entry, end, departure, repair) in the order the jobs left their stations: each
    server's visits come in its time order, as :func:`_book_visits` needs. The event
    kernel books entries, the line's totals and completions itself, which
    here is not booked again."""
    _book_visits(
        n, 0, log[:, 0], log[:, 1], log[:, 2], log[:, 3], log[:, 4], log[:, 5], fail, cal,
        books, False,
    )  # fmt: skip
