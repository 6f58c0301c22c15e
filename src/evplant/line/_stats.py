"""Compiled statistics of visits (private; use ``evplant.line.engine``).

One loop body books a station's visits (:func:`_book_station`): per server, it splits
the wall clock into off-shift, failed, busy, blocked and starved time, and tracks
Roser's active periods. Three callers book with it, so every path measures the same
way:

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


# unsigned indices in _book_station (as in _stagger): numba checks a signed index for
# wraparound at every access, where LLVM cannot prove it non-negative; the hints, the
# rows, the station, the column and the server here are all non-negative. Literal
# ints would turn an unsigned index back into a signed one, hence these.
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@inline
def _window_at(
    h: np.uint64, starts: np.ndarray, ends: np.ndarray, cum: np.ndarray
) -> tuple[float, float, float, float]:
    """Calendar window h as locals: its start, its end, the working time before it and
    the next window's start (inf after the last)."""
    nxt = starts[h + _ONE] if h + _ONE < np.uint64(len(starts)) else np.inf
    return starts[h], ends[h], cum[h], nxt


@kernel
def _book_station(
    i: int,
    k: int,
    r0: int,
    r1: int,
    col: int,
    entry: np.ndarray,
    end: np.ndarray,
    dep: np.ndarray,
    server: np.ndarray,
    repair: np.ndarray,
    fail: Failures,
    cal: Calendar,
    books: Books,
    book_entry: bool,
) -> None:
    """Book rows ``r0..r1`` of column ``col`` as visits to station i (of ``k``
    servers): entry, end of work, departure, server, and working seconds under
    operating-time repair. A server's visits must come in its time order (breakdowns
    and active periods are walked forward). ``book_entry``: count entries in their bins
    (the event kernel counts them as they happen, so a month's entries are there when
    it is read).

    The one body of a visit's books. It runs down one station at a time so that the
    station's calendar window, bin, running totals and (with one server) open active
    period stay in locals: booked row by row across stations, with that state read and
    written in the arrays each visit, the same books cost 49 ns a visit against 29 on
    the built-in plant's visits (bit for bit the same figures: each cell of the books
    belongs to one station and still adds its visits in their order). A helper called
    per visit with these arrays would cost 15-30x (numba keeps a reference count on
    every array argument, inlined or not: 440-640 ns a visit against 20-30, measured).
    """
    basis, ttf_code, ttr_code, table, keys = fail
    starts, ends, cum = cal
    fst, act, acc, bins, edges, line, done, hint, bhint, mode, _ = books
    iu = np.uint64(i)
    cu = np.uint64(col)
    nbins = np.uint64(len(edges) - 1)
    h = np.uint64(hint[iu])
    w_lo, w_hi, w_cum, w_next = _window_at(h, starts, ends, cum)
    b = np.uint64(bhint[iu])
    b_next = edges[b + _ONE] if b + _ONE < nbins else np.inf
    bas = basis[iu]
    busy_sum = acc[iu, BUSY]
    blocked_sum = acc[iu, BLOCKED]
    jobs = acc[iu, JOBS]
    # server 0's open active period; with several servers it is loaded per visit
    p_w0, p_work, p_start = act[iu, 0, ACT_W0], act[iu, 0, ACT_WORK], act[iu, 0, ACT_START]
    p_end, p_bin0, p_bin1 = act[iu, 0, ACT_END], act[iu, 0, ACT_BIN0], act[iu, 0, ACT_BIN1]
    for r in range(np.uint64(r0), np.uint64(r1)):
        s = np.uint64(server[r, cu])
        e = entry[r, cu]
        c = end[r, cu]
        d = dep[r, cu]
        # W(t) for e <= c <= d, walking the window forward from e's (entries come in
        # order except where jobs overtake, hence the walk back)
        if e < w_lo and h > _ZERO:
            while h > _ZERO and starts[h] > e:
                h -= _ONE
            w_lo, w_hi, w_cum, w_next = _window_at(h, starts, ends, cum)
        while w_next <= e:
            h += _ONE
            w_lo, w_hi, w_cum, w_next = _window_at(h, starts, ends, cum)
        we = w_cum if e <= w_lo else w_cum + min(e, w_hi) - w_lo
        while w_next <= c:
            h += _ONE
            w_lo, w_hi, w_cum, w_next = _window_at(h, starts, ends, cum)
        wc = w_cum if c <= w_lo else w_cum + min(c, w_hi) - w_lo
        wd = wc
        if d != c:  # blocked
            while w_next <= d:
                h += _ONE
                w_lo, w_hi, w_cum, w_next = _window_at(h, starts, ends, cum)
            wd = w_cum if d <= w_lo else w_cum + min(d, w_hi) - w_lo
        down_work = 0.0
        down_block = 0.0
        if bas == FAIL_CALENDAR:
            # the next down interval usually starts later: skip the call (its array
            # arguments cost ~100 ns in reference counting alone)
            if fst[iu, s, FST_A] < d:
                hint[iu] = h
                if fst[iu, s, FST_A] < c:
                    down_work = _down_between(
                        e, c, i, int(s), keys, ttf_code, ttr_code, table, starts, ends, cum, fst,
                        acc, bins, edges, hint, bhint,
                    )  # fmt: skip
                if fst[iu, s, FST_A] < d:
                    down_block = _down_between(
                        c, d, i, int(s), keys, ttf_code, ttr_code, table, starts, ends, cum, fst,
                        acc, bins, edges, hint, bhint,
                    )  # fmt: skip
                h = np.uint64(hint[iu])
                w_lo, w_hi, w_cum, w_next = _window_at(h, starts, ends, cum)
        elif bas == FAIL_OPERATING:
            down_work = repair[r, cu]
            if down_work > 0.0:
                acc[iu, FAILED] += down_work
                bins[bin_of(c, edges, bhint, i), iu, B_FAILED] += down_work
        busy = (wc - we) - down_work
        blocked = (wd - wc) - down_block
        busy_sum += busy
        blocked_sum += blocked
        jobs += 1.0
        # the bins of e <= c <= d, walking forward from e's (as the window)
        if e < edges[b] and b > _ZERO:
            while b > _ZERO and edges[b] > e:
                b -= _ONE
            b_next = edges[b + _ONE] if b + _ONE < nbins else np.inf
        while b_next <= e:
            b += _ONE
            b_next = edges[b + _ONE] if b + _ONE < nbins else np.inf
        be = b
        bc = b
        if b_next <= c:
            while bc + _ONE < nbins and edges[bc + _ONE] <= c:
                bc += _ONE
        bd = bc
        while bd + _ONE < nbins and edges[bd + _ONE] <= d:
            bd += _ONE
        bins[bc, iu, B_BUSY] += busy
        bins[bd, iu, B_BLOCKED] += blocked
        bins[bd, iu, B_OUT] += 1.0
        if book_entry:
            bins[be, iu, B_IN] += 1.0
        # Roser's active period: entry to end of work, merged with the one before when
        # the server starts again the instant it finished
        if k > 1:
            p_w0, p_work, p_start = act[iu, s, ACT_W0], act[iu, s, ACT_WORK], act[iu, s, ACT_START]
            p_end, p_bin0, p_bin1 = act[iu, s, ACT_END], act[iu, s, ACT_BIN0], act[iu, s, ACT_BIN1]
        if p_start >= 0.0 and e == p_end:
            p_work += wc - we
            p_end = c
            p_bin1 = bc
        else:
            if p_start >= 0.0:
                # the open period ends (written out: a call here cost ~15 ns a visit)
                acc[iu, ACT_SUM] += p_work
                acc[iu, ACT_CNT] += 1.0
                b1 = np.uint64(p_bin1)
                bins[b1, iu, B_ACT_SUM] += p_work
                bins[b1, iu, B_ACT_CNT] += 1.0
                for bb in range(np.uint64(p_bin0), b1 + _ONE):
                    if p_work > bins[bb, iu, B_ACT_MAX]:
                        bins[bb, iu, B_ACT_MAX] = p_work
            p_w0, p_work, p_start, p_end, p_bin0, p_bin1 = we, wc - we, e, c, be, bc
        if k > 1:
            act[iu, s, ACT_W0], act[iu, s, ACT_WORK], act[iu, s, ACT_START] = p_w0, p_work, p_start
            act[iu, s, ACT_END], act[iu, s, ACT_BIN0], act[iu, s, ACT_BIN1] = p_end, p_bin0, p_bin1
    if k == 1:
        act[iu, 0, ACT_W0], act[iu, 0, ACT_WORK], act[iu, 0, ACT_START] = p_w0, p_work, p_start
        act[iu, 0, ACT_END], act[iu, 0, ACT_BIN0], act[iu, 0, ACT_BIN1] = p_end, p_bin0, p_bin1
    acc[iu, BUSY] = busy_sum
    acc[iu, BLOCKED] = blocked_sum
    acc[iu, JOBS] = jobs
    hint[iu] = h
    bhint[iu] = b


# rows booked a station at a time: 256 rows of a trace's five columns (50 KB) stay in
# the second-level cache while each station walks them
_BLOCK = 256


@kernel
def book_rows(
    trace: Trace,
    variant: np.ndarray,
    servers: np.ndarray,
    fail: Failures,
    cal: Calendar,
    books: Books,
) -> None:
    """Book every row of ``trace`` (C-ordered rows, each a job at every station in
    build order; ``variant[r]`` the job's variant; ``servers[i]`` station i's), as
    ``books.mode`` asks: every station's statistics, or only the entries at the first
    station and the departures from the last. Either way the line's totals and the
    completions per bin and variant."""
    entry, end, dep, srv, rep = trace
    fst, act, acc, bins, edges, line, done, hint, bhint, mode, _ = books
    n, m = entry.shape
    last = m - 1
    if mode[0] == BOOK_ALL:
        for r0 in range(0, n, _BLOCK):
            r1 = min(n, r0 + _BLOCK)
            for i in range(m):
                _book_station(
                    i, servers[i], r0, r1, i, entry, end, dep, srv, rep, fail, cal, books, True
                )
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


@kernel
def book_ranges(
    trace: Trace,
    lo: np.ndarray,
    hi: np.ndarray,
    servers: np.ndarray,
    fail: Failures,
    cal: Calendar,
    books: Books,
) -> None:
    """Book rows ``lo[i, 0]..hi[i, 0]`` of station i's column of ``trace`` (the
    staggered recursion's: each column in that station's departure order, so each
    server's visits in its time order); entries (:func:`book_entries`), totals and
    completions are booked apart."""
    entry, end, dep, srv, rep = trace
    n, m = entry.shape
    for r0 in range(0, n, _BLOCK):
        r1 = min(n, r0 + _BLOCK)
        for i in range(m):
            a = max(lo[i, 0], r0)
            b = min(hi[i, 0], r1)
            if lo[i, 0] >= 0 and a < b:
                _book_station(
                    i, servers[i], a, b, i, entry, end, dep, srv, rep, fail, cal, books, False
                )


@kernel
def book_entries(ein: np.ndarray, lo: np.ndarray, hi: np.ndarray, books: Books) -> None:
    """Count the entries ``ein[r, i]`` of rows ``lo[i, 1]..hi[i, 1]`` in their bins, for
    every station but the first (whose entries the staggered recursion books itself)."""
    bins, edges, bhint = books.bins, books.edges, books.bhint
    for i in range(1, ein.shape[1]):
        for r in range(max(lo[i, 1], 0), hi[i, 1]):
            bins[bin_of(ein[r, i], edges, bhint, i), i, B_IN] += 1.0


def accumulate(
    trace: Trace, servers: np.ndarray, fail: Failures, cal: Calendar, books: Books
) -> None:
    """Book visits given from outside (the reference engine's) with every station's
    statistics; their completions count as variant 0."""
    trace = Trace(*(np.ascontiguousarray(a) for a in trace))
    book_rows(trace, np.zeros(trace.entry.shape[0], dtype=np.int64), servers, fail, cal, books)


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
def book_log(
    log: np.ndarray, n: int, servers: np.ndarray, fail: Failures, cal: Calendar, books: Books
) -> None:
    """Book the first ``n`` visits of an event-driven run's log, rows (station, server,
    entry, end, departure, repair) in the order the jobs left their stations: each
    server's visits come in its time order, as :func:`_book_station` needs, and keep
    it when the log is sorted by station (a counting sort, stable). The event kernel
    books entries, the line's totals and completions itself, which here is not booked
    again."""
    m = len(servers)
    first = np.zeros(m + 1, dtype=np.int64)
    for k in range(n):
        first[int(log[k, 0]) + 1] += 1
    for i in range(m):
        first[i + 1] += first[i]
    at = first[:m].copy()
    entry = np.empty((n, 1))
    end = np.empty((n, 1))
    dep = np.empty((n, 1))
    srv = np.empty((n, 1), dtype=np.int64)
    rep = np.empty((n, 1))
    for k in range(n):
        i = int(log[k, 0])
        q = at[i]
        at[i] = q + 1
        srv[q, 0] = int(log[k, 1])
        entry[q, 0] = log[k, 2]
        end[q, 0] = log[k, 3]
        dep[q, 0] = log[k, 4]
        rep[q, 0] = log[k, 5]
    for i in range(m):
        if first[i + 1] > first[i]:
            _book_station(
                i, servers[i], first[i], first[i + 1], 0, entry, end, dep, srv, rep, fail, cal,
                books, False,
            )  # fmt: skip
