"""The compiled event-driven line kernel (private; use ``evplant.line.engine``).

Lines whose jobs are reworked or scrapped (``Station.on_defect``) take this path: a
reworked job visits stations again and a scrapped one leaves the line, so neither the
max-plus recursion over jobs in build order (``_kernel.run_rows``) nor the staggered
recursion over each station's own order (``_stagger``) holds. So do lines with a
resequencing store among overtaking stations, and the few overtaking lines the
staggered recursion cannot order (``CompiledLine.stagger``); every line can run here
(the tests run overtaking lines both ways). Every other feature is carried the same way
as there: shifts and both failure bases through ``_kernel._advance`` (the end of work
``C`` follows from the entry ``E`` on one server), joins, zero buffers, release times,
variants, and resequencing stores.

Which path takes what: the max-plus path carries serial lines and joins, shifts,
failures, variants, release times, gates (parts at a station) and stations that keep
the sequence; the staggered recursion all of those and overtaking; this path all of
those, and resequencing stores, rework loops and scrap. A defective job leaves its
server as its work ends (no room
needed); a reworked one waits in a ring before its rework station (``I_RW_*``), first
for a place (before the jobs from upstream) and then for a server (before the queue).

The kernel walks instants in time order. At an instant it takes every job whose work
ends then, lets finished jobs leave while there is room downstream (a cascade that
runs upstream: a departure frees a place behind the station before), and only at the
end of the instant lets waiting jobs enter free servers, station by station, in queue
order. Entries cause nothing else at the same instant (work takes time), so this order
is the contract's. A job takes the lowest free server, except at a station that lets
jobs overtake: there it takes the server free longest (each such station keeps its
free servers in a ring, ``free_srv``: a departure puts its server at the back, an entry
takes the front; ``I_FREE_*``).

It is resumable: it stops before an instant at which a source would need a job not
fed yet (that job might enter then), or at which the caller's promise (no job fed
later is released before ``until``) no longer covers a source waiting for jobs, and
goes on from there on the next call. Entries and completions are booked as they
happen; every visit is written to a log (in the order jobs leave their stations, so in
each server's time order) that ``_stats.book_log`` books after each call: booking
inside this kernel measured several times slower (its loop is large enough that the
inlined steps cost it its optimisations).

State lives in a few arrays with named columns (see the constants below); jobs in the
line are tokens, kept in a pool.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import inline, kernel
from ._kernel import _advance
from ._named import (
    B_OUT,
    B_REDO,
    B_REWORK,
    B_SCRAP,
    L_DONE,
    L_LEAD,
    L_SCRAP,
    L_T,
    Calendar,
    Failures,
    Quality,
)
from ._stats import bin_of, book_in
from .calendar import _window
from .draws import defective
from .spec import DEFECT_PASS, DEFECT_REWORK, FAIL_CALENDAR, FAIL_OPERATING

_EPS = 2.220446049250313e-16
STATUS_DONE = 0  # every job fed has left the line
STATUS_CALENDAR = 1  # the calendar ran out: extend it and call again
STATUS_WAIT = 2  # stopped to wait for more jobs (or the caller's horizon)
STATUS_LOG = 3  # the visit log is full: book it (``book_log``) and call again

# --- scalar state, sc[...] ------------------------------------------------------------
SC_CLOCK = 0  # the last instant walked (float)
SC_PENDING = 1  # 1: the end of instant SC_CLOCK is still to be finished
SC_HEAP_N = 2  # events on the heap
SC_HEAP_SEQ = 3  # insertion counter (ties on the heap go first in, first out)
SC_FREE_N = 4  # tokens in the free list
SC_IN_LINE = 5  # tokens in the line
SC_LOG_N = 6  # visits in the log
SC_HUNGRY_N = 7  # sources waiting for jobs not fed yet
N_SC = 8

# --- the visit log, log[n, ...]: visits in the order they leave their station --------
G_STATION, G_SERVER, G_ENTRY, G_END, G_DEP, G_REPAIR = range(6)
N_LOG = 6

# --- per-station integer state, ist[i, ...] -------------------------------------------
I_NEXT_JOB = 0  # a source: the next job number to take
I_ROOM = 1  # jobs that left i and have not left down[i]
I_STORE = 2  # a feeder's last station: parts waiting in its store
I_Q_HEAD = 3  # the queue before i (a ring; unordered for a resequencing station)
I_Q_LEN = 4
I_FIN_LEN = 5  # finished jobs still on a server (blocked)
I_SEQ_IN = 6  # jobs that have entered i
I_SEQ_OUT = 7  # jobs that have left i (keep_sequence: the entry number to leave next)
I_HUNGRY = 8  # a source with a free server and no job fed to take
I_RELEASE_SET = 9  # a wake-up is on the heap: a source's release, or a gated part
I_RW_HEAD = 10  # jobs sent back to i for rework (a ring, first in, first out) ...
I_RW_LEN = 11
I_RW_PLACED = 12  # ... the first of which hold a place in the buffer before i
I_FREE_HEAD = 13  # an overtaking station: its free servers, free longest first (a ring)
I_FREE_LEN = 14
N_IST = 15

# --- tokens (jobs in the line): integer columns tk[t, ...], float columns tf[t, ...] --
T_JOB, T_VAR, T_STATION, T_SERVER, T_SEQ, T_REWORKS = range(6)
N_TK = 6
F_ENTRY, F_END, F_REPAIR = range(3)
N_TF = 3

# heap payload: a token whose work ends, or -1 - i for a release at source i

# stations whose servers or queues changed in the instant: dirty[i] (0/1) for i < m,
# their list in dirty[m : m + n], n = dirty[2m]


@inline
def _mark(dirty: np.ndarray, m: int, i: int) -> None:
    if dirty[i] == 0:
        dirty[i] = 1
        dirty[m + dirty[2 * m]] = i
        dirty[2 * m] += 1


@inline
def _rework_place(ist: np.ndarray, line_i: np.ndarray, k: int) -> None:
    """Give the jobs sent back to station k the free places in the buffer before it
    (they come before the jobs of the station upstream; at a source, none is needed)."""
    up = line_i[k, 2]
    while ist[k, I_RW_PLACED] < ist[k, I_RW_LEN]:
        if up >= 0 and ist[up, I_ROOM] >= line_i[up, 1] + line_i[k, 0]:
            break
        ist[k, I_RW_PLACED] += 1
        if up >= 0:
            ist[up, I_ROOM] += 1


@inline
def _heap_push(
    ht: np.ndarray, hk: np.ndarray, hs: np.ndarray, sc: np.ndarray, t: float, k: int
) -> None:
    n = int(sc[SC_HEAP_N])
    seq = int(sc[SC_HEAP_SEQ])
    sc[SC_HEAP_N] = n + 1
    sc[SC_HEAP_SEQ] = seq + 1
    c = n
    while c > 0:
        p = (c - 1) >> 1
        if ht[p] < t or (ht[p] == t and hs[p] < seq):
            break
        ht[c] = ht[p]
        hk[c] = hk[p]
        hs[c] = hs[p]
        c = p
    ht[c] = t
    hk[c] = k
    hs[c] = seq


@inline
def _heap_pop(ht: np.ndarray, hk: np.ndarray, hs: np.ndarray, sc: np.ndarray) -> tuple[float, int]:
    n = int(sc[SC_HEAP_N]) - 1
    sc[SC_HEAP_N] = n
    top_t = ht[0]
    top_k = hk[0]
    t = ht[n]
    k = hk[n]
    s = hs[n]
    c = 0
    while True:
        a = 2 * c + 1
        if a >= n:
            break
        b = a + 1
        if b < n and (ht[b] < ht[a] or (ht[b] == ht[a] and hs[b] < hs[a])):
            a = b
        if t < ht[a] or (t == ht[a] and s < hs[a]):
            break
        ht[c] = ht[a]
        hk[c] = hk[a]
        hs[c] = hs[a]
        c = a
    ht[c] = t
    hk[c] = k
    hs[c] = s
    return top_t, top_k


@kernel
def run_events(
    p: np.ndarray,
    release: np.ndarray,
    variant: np.ndarray,
    ready: np.ndarray,
    row0: int,
    until: float,
    line_i: np.ndarray,
    feeders: np.ndarray,
    gate: np.ndarray,
    fail: Failures,
    qual: Quality,
    cal: Calendar,
    state: tuple[
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
    ],
    books: tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
    ],
    full_stats: bool,
    trace: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    trace0: int,
) -> int:
    """Walk the line's instants until every job fed has left, or it must wait.

    ``p``, ``release``, ``variant``, ``ready``: rows of the jobs fed and not yet taken
    by every source, row 0 being job ``row0`` (``ready[r, g]``: when the job's part for
    the station with ``gate[i] == g`` comes; a token carries its row in ``tg``).
    ``until``: no job fed later is released before it. ``line_i[i]`` = (servers,
    buffer, up, down, basis, overtake, resequence).
    ``trace``: entry, end, departure, server, repair arrays ``[n, m]`` for jobs
    ``trace0 ..`` (empty arrays: none kept).
    """
    basis_col = 4
    starts, ends = cal.starts, cal.ends
    (sc, ist, srv_tok, queue, fin, tk, tf, tp, free_tok) = state[:9]
    (ht, hk, hs, fst, hint, dirty, tg, rwq, free_srv) = state[9:]
    (log, bins, edges, lacc, bhint, done, scrap) = books
    t_entry, t_end, t_dep, t_srv, t_rep = trace
    n_rows = p.shape[0]
    m = line_i.shape[0]
    qmask = queue.shape[1] - 1
    rmask = rwq.shape[1] - 1
    fmask = free_srv.shape[1] - 1
    n_trace = t_entry.shape[0]
    last_release = release[n_rows - 1] if n_rows > 0 else -math.inf
    promise = max(until, last_release)

    # sources that waited for jobs: those fed now take them at the end of the instant
    # (released by then) or at their release
    for i in range(m):
        if ist[i, I_HUNGRY] == 1 and ist[i, I_NEXT_JOB] - row0 < n_rows:
            ist[i, I_HUNGRY] = 0
            sc[SC_HUNGRY_N] -= 1
            _mark(dirty, m, i)
            sc[SC_PENDING] = 1

    stack = np.empty(m, dtype=np.int64)
    on_stack = np.zeros(m, dtype=np.int64)
    while True:
        if int(sc[SC_PENDING]) == 1:
            # the end of the instant: waiting jobs enter free servers, station by station
            t = sc[SC_CLOCK]
            # (order does not matter: an entry changes nothing another station reads)
            for q in range(dirty[2 * m]):
                i = dirty[m + q]
                k = line_i[i, 0]
                up = line_i[i, 2]
                overtakes = line_i[i, 5] == 1
                while True:
                    # the server: free longest (overtaking), else the lowest free one
                    s = -1
                    if overtakes:
                        if ist[i, I_FREE_LEN] > 0:
                            s = free_srv[i, ist[i, I_FREE_HEAD]]
                    else:
                        for c in range(k):
                            if srv_tok[i, c] < 0:
                                s = c
                                break
                    if s < 0:
                        break
                    # the job to enter: one sent back for rework (first, if it holds a
                    # place), a released job (a source) or one from the queue
                    qpos = -1
                    j = -1
                    rw = ist[i, I_RW_PLACED] > 0
                    if rw:
                        pass
                    elif up < 0:
                        j = ist[i, I_NEXT_JOB]
                        if j - row0 >= n_rows:
                            if ist[i, I_HUNGRY] == 0:
                                ist[i, I_HUNGRY] = 1
                                sc[SC_HUNGRY_N] += 1
                            break
                        r = release[j - row0]
                        if r > t:
                            if ist[i, I_RELEASE_SET] == 0:
                                ist[i, I_RELEASE_SET] = 1
                                _heap_push(ht, hk, hs, sc, r, -1 - i)
                            break
                    else:
                        ql = ist[i, I_Q_LEN]
                        if ql == 0:
                            break
                        qh = ist[i, I_Q_HEAD]
                        if line_i[i, 6] == 1:
                            # a resequencing store: the lowest build number waiting
                            qpos = qh
                            for q in range(1, ql):
                                pos = (qh + q) & qmask
                                if tk[queue[i, pos], T_JOB] < tk[queue[i, qpos], T_JOB]:
                                    qpos = pos
                        else:
                            qpos = qh
                    # a gated station: the job's own part must have come (the queue
                    # waits behind it, first in, first out)
                    g = gate[i]
                    if g >= 0 and not rw:
                        due = ready[j - row0, g] if up < 0 else tg[queue[i, qpos], g]
                        if due > t:
                            if ist[i, I_RELEASE_SET] == 0:
                                ist[i, I_RELEASE_SET] = 1
                                _heap_push(ht, hk, hs, sc, due, -1 - i)
                            break
                    # a join: a part from every feeder's store
                    ready_parts = True
                    for f in range(feeders.shape[1] if not rw else 0):
                        fi = feeders[i, f]
                        if fi >= 0 and ist[fi, I_STORE] == 0:
                            ready_parts = False
                    if not ready_parts:
                        break
                    # work on server s: the end of work, or a calendar that ran out
                    if rw:
                        tok = rwq[i, ist[i, I_RW_HEAD]]
                        work = tp[tok, i]
                    elif up < 0:
                        tok = free_tok[int(sc[SC_FREE_N]) - 1]
                        work = p[j - row0, i]
                    else:
                        tok = queue[i, qpos]
                        work = tp[tok, i]
                    b = line_i[i, basis_col]
                    # fast path (as in _kernel.run_rows): the work fits in the shift
                    # window and before the server's next failure
                    h = _window(t, starts, hint, i)
                    c_end = t + work
                    repair = 0.0
                    fits = starts[h] <= t and c_end <= ends[h]
                    if fits and b == FAIL_OPERATING:
                        fits = work <= fst[i, s, 1]
                        if fits:
                            fst[i, s, 1] -= work
                    elif fits and b == FAIL_CALENDAR:
                        fits = c_end <= fst[i, s, 1]
                    if not fits:
                        saved0 = fst[i, s, 0]
                        saved1 = fst[i, s, 1]
                        saved2 = fst[i, s, 2]
                        c_end, repair = _advance(t, work, i, s, fail, fst, cal, hint)
                        if c_end == math.inf:
                            fst[i, s, 0] = saved0
                            fst[i, s, 1] = saved1
                            fst[i, s, 2] = saved2
                            return STATUS_CALENDAR
                    # commit the entry
                    if overtakes:
                        ist[i, I_FREE_HEAD] = (ist[i, I_FREE_HEAD] + 1) & fmask
                        ist[i, I_FREE_LEN] -= 1
                    if rw:
                        ist[i, I_RW_HEAD] = (ist[i, I_RW_HEAD] + 1) & rmask
                        ist[i, I_RW_LEN] -= 1
                        ist[i, I_RW_PLACED] -= 1
                        bins[bin_of(t, edges, bhint, i), i, B_REDO] += 1.0
                    elif up < 0:
                        sc[SC_FREE_N] -= 1
                        sc[SC_IN_LINE] += 1
                        ist[i, I_NEXT_JOB] = j + 1
                        tk[tok, T_JOB] = j
                        tk[tok, T_VAR] = variant[j - row0]
                        tk[tok, T_REWORKS] = 0
                        for q in range(m):
                            tp[tok, q] = p[j - row0, q]
                        for q in range(tg.shape[1]):
                            tg[tok, q] = ready[j - row0, q]
                    else:
                        qh = ist[i, I_Q_HEAD]
                        if qpos != qh:
                            queue[i, qpos] = queue[i, qh]
                        ist[i, I_Q_HEAD] = (qh + 1) & qmask
                        ist[i, I_Q_LEN] -= 1
                    for f in range(feeders.shape[1] if not rw else 0):
                        fi = feeders[i, f]
                        if fi >= 0:
                            ist[fi, I_STORE] -= 1
                    tk[tok, T_STATION] = i
                    tk[tok, T_SERVER] = s
                    tk[tok, T_SEQ] = ist[i, I_SEQ_IN]
                    ist[i, I_SEQ_IN] += 1
                    tf[tok, F_ENTRY] = t
                    tf[tok, F_END] = c_end
                    tf[tok, F_REPAIR] = repair
                    srv_tok[i, s] = tok
                    _heap_push(ht, hk, hs, sc, c_end, tok)
                    book_in(i, t, bins, edges, bhint)
                    if i == 0 and not rw:
                        lacc[L_LEAD] -= t
            for q in range(dirty[2 * m]):
                dirty[dirty[m + q]] = 0
            dirty[2 * m] = 0
            sc[SC_PENDING] = 0

        # the next instant
        if int(sc[SC_HEAP_N]) == 0:
            return STATUS_WAIT if sc[SC_HUNGRY_N] > 0 else STATUS_DONE
        if full_stats and int(sc[SC_LOG_N]) + free_tok.shape[0] > log.shape[0]:
            return STATUS_LOG  # an instant could fill the log: book it first
        t = ht[0]
        if t >= promise and sc[SC_HUNGRY_N] > 0:
            return STATUS_WAIT
        # every event of the instant (within rounding of the clock)
        tol = 8.0 * _EPS * max(abs(t), 1.0)
        top = 0
        while int(sc[SC_HEAP_N]) > 0 and ht[0] <= t + tol:
            te, k_ev = _heap_pop(ht, hk, hs, sc)
            t = max(t, te)
            if k_ev < 0:
                i = -1 - k_ev
                ist[i, I_RELEASE_SET] = 0
                _mark(dirty, m, i)
            else:
                i = tk[k_ev, T_STATION]
                fin[i, ist[i, I_FIN_LEN]] = k_ev
                ist[i, I_FIN_LEN] += 1
                if on_stack[i] == 0:
                    on_stack[i] = 1
                    stack[top] = i
                    top += 1
        sc[SC_CLOCK] = t
        # departures: finished jobs leave while there is room downstream
        while top > 0:
            top -= 1
            i = stack[top]
            on_stack[i] = 0
            down = line_i[i, 3]
            checks = qual.defect[i] != DEFECT_PASS
            while ist[i, I_FIN_LEN] > 0:
                nf = ist[i, I_FIN_LEN]
                pick = -1
                bad = False
                if checks and line_i[i, 5] == 1:
                    # a defective job needs no room downstream: the first to finish
                    # leaves before the good ones (which wait for room)
                    for q in range(nf):
                        a = fin[i, q]
                        if defective(qual.keys[i], tk[a, T_JOB], tk[a, T_REWORKS], qual.fpy[i]):
                            if pick < 0:
                                pick = q
                            else:
                                b = fin[i, pick]
                                ea = tf[a, F_END]
                                eb = tf[b, F_END]
                                tie = 8.0 * _EPS * max(abs(eb), 1.0)
                                if ea < eb - tie or (
                                    abs(ea - eb) <= tie and tk[a, T_SEQ] < tk[b, T_SEQ]
                                ):
                                    pick = q
                    bad = pick >= 0
                if pick >= 0:
                    pass
                elif line_i[i, 5] == 1:
                    # overtaking: the job that finished first; ends within rounding of
                    # the clock are one instant (as the events are), and the tie goes
                    # to the job that entered first
                    pick = 0
                    for q in range(1, nf):
                        a = fin[i, q]
                        b = fin[i, pick]
                        ea = tf[a, F_END]
                        eb = tf[b, F_END]
                        tie = 8.0 * _EPS * max(abs(eb), 1.0)
                        if ea < eb - tie or (abs(ea - eb) <= tie and tk[a, T_SEQ] < tk[b, T_SEQ]):
                            pick = q
                else:
                    for q in range(nf):
                        if tk[fin[i, q], T_SEQ] == ist[i, I_SEQ_OUT]:
                            pick = q
                            break
                if pick < 0:
                    break
                if checks and line_i[i, 5] == 0:
                    a = fin[i, pick]
                    bad = defective(qual.keys[i], tk[a, T_JOB], tk[a, T_REWORKS], qual.fpy[i])
                if not bad and down >= 0 and ist[i, I_ROOM] >= line_i[i, 1] + line_i[down, 0]:
                    break
                tok = fin[i, pick]
                fin[i, pick] = fin[i, nf - 1]
                ist[i, I_FIN_LEN] = nf - 1
                ist[i, I_SEQ_OUT] += 1
                if bad and qual.defect[i] == DEFECT_REWORK:
                    # back to the rework station's own queue, before the places this
                    # job frees here are handed on (it may take one of them)
                    bins[bin_of(t, edges, bhint, i), i, B_REWORK] += 1.0
                    tk[tok, T_REWORKS] += 1
                    k = qual.rework_to[i]
                    pos = (ist[k, I_RW_HEAD] + ist[k, I_RW_LEN]) & rmask
                    rwq[k, pos] = tok
                    ist[k, I_RW_LEN] += 1
                    _rework_place(ist, line_i, k)
                    _mark(dirty, m, k)
                s = tk[tok, T_SERVER]
                srv_tok[i, s] = -1
                if line_i[i, 5] == 1:
                    pos = (ist[i, I_FREE_HEAD] + ist[i, I_FREE_LEN]) & fmask
                    free_srv[i, pos] = s
                    ist[i, I_FREE_LEN] += 1
                _mark(dirty, m, i)
                e = tf[tok, F_ENTRY]
                c = tf[tok, F_END]
                j = tk[tok, T_JOB]
                if full_stats:
                    # the visit, for the statistics pass (``book_log``)
                    nl = int(sc[SC_LOG_N])
                    log[nl, G_STATION] = i
                    log[nl, G_SERVER] = s
                    log[nl, G_ENTRY] = e
                    log[nl, G_END] = c
                    log[nl, G_DEP] = t
                    log[nl, G_REPAIR] = tf[tok, F_REPAIR]
                    sc[SC_LOG_N] = nl + 1
                if 0 <= j - trace0 < n_trace:
                    t_entry[j - trace0, i] = e
                    t_end[j - trace0, i] = c
                    t_dep[j - trace0, i] = t
                    t_srv[j - trace0, i] = s
                    t_rep[j - trace0, i] = tf[tok, F_REPAIR]
                # the places this job held behind the stations it came from
                up = line_i[i, 2]
                if up >= 0:
                    ist[up, I_ROOM] -= 1
                    if ist[i, I_RW_LEN] > ist[i, I_RW_PLACED]:
                        _rework_place(ist, line_i, i)
                    if on_stack[up] == 0:
                        on_stack[up] = 1
                        stack[top] = up
                        top += 1
                for f in range(feeders.shape[1]):
                    fi = feeders[i, f]
                    if fi >= 0:
                        ist[fi, I_ROOM] -= 1
                        if on_stack[fi] == 0:
                            on_stack[fi] = 1
                            stack[top] = fi
                            top += 1
                if not full_stats and down < 0:
                    bins[bin_of(t, edges, bhint, i), i, B_OUT] += 1.0
                if bad:
                    if qual.defect[i] != DEFECT_REWORK:
                        # scrapped: the job leaves the line here
                        bs = bin_of(t, edges, bhint, i)
                        bins[bs, i, B_SCRAP] += 1.0
                        scrap[bs, tk[tok, T_VAR]] += 1.0
                        lacc[L_SCRAP] += 1.0
                        lacc[L_LEAD] += t  # its time in the line is WIP too
                        free_tok[int(sc[SC_FREE_N])] = tok
                        sc[SC_FREE_N] += 1
                        sc[SC_IN_LINE] -= 1
                elif down < 0:
                    # the end of the line
                    lacc[L_DONE] += 1.0
                    lacc[L_LEAD] += t
                    if t > lacc[L_T]:
                        lacc[L_T] = t
                    done[bin_of(t, edges, bhint, i), tk[tok, T_VAR]] += 1.0
                    free_tok[int(sc[SC_FREE_N])] = tok
                    sc[SC_FREE_N] += 1
                    sc[SC_IN_LINE] -= 1
                else:
                    ist[i, I_ROOM] += 1
                    _mark(dirty, m, down)
                    if line_i[down, 2] == i:
                        pos = (ist[down, I_Q_HEAD] + ist[down, I_Q_LEN]) & qmask
                        queue[down, pos] = tok
                        ist[down, I_Q_LEN] += 1
                    else:
                        # a part into the store of its feeder line
                        ist[i, I_STORE] += 1
                        free_tok[int(sc[SC_FREE_N])] = tok
                        sc[SC_FREE_N] += 1
                        sc[SC_IN_LINE] -= 1
        sc[SC_PENDING] = 1
