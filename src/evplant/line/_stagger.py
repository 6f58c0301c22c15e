"""The staggered recursion: lines whose parallel servers let jobs overtake (private;
use ``evplant.line.engine``).

Where a station of k servers lets jobs overtake, the job that leaves it n-th is not
the job that entered n-th, so the max-plus recursion over build order
(``_kernel.run_rows``) no longer holds. It holds again over each station's *own*
orders, by entry and by departure, with every figure indexed by those counts:

- the e-th job to enter station i enters at ``S_e = max(A_e, D_{e-k})``: when it has
  left the station before (``A_e``, that station's e-th departure; jobs queue first
  in, first out) and the (e-k)-th departure has freed a server, the server that has
  been free longest (``docs/line-semantics.md``); its work ends at ``C_e``, advanced
  over shifts and failures on that server as on the max-plus path (``_advance``);
- the m-th departure is ``D_m = max(R_m, min C)`` over the k jobs on the servers
  (ties to the one that entered first), ``R_m`` the time a place behind the station
  frees (the next station's (m - b - k')-th departure). Only jobs that entered up to
  ``m + k - 1`` can finish first, so ``D_m`` needs the entries ``k - 1`` ahead of it.

So each station runs behind the one before it: at row r (the r-th job released),
station i takes its ``(r - lag_i)``-th entry and its ``(r - off_i)``-th departure,
``off_i = lag_i + (k_i - 1)`` where jobs overtake (``lag_i`` the largest ``off`` of
the stations it takes from). One pass over the rows in station order then meets
every dependency, as long as a place behind a station never waits on a departure the
station after it has not reached (``off_down - off_i < b_i + k_down``; the engine
checks it and sends other lines to the event-driven kernel, as it does lines that
rework, scrap or resequence). A job's work times and parts travel with it as a token.

The last ``off_i`` departures of each station wait for jobs not fed yet. To read a
month, the engine runs this kernel again on a copy of the state with jobs that never
come (released at +inf): whatever then comes out before the caller's promise
(``until``, no job fed later is released before it) is what the real run will give,
since a job released later cannot change the line before it is released. Those
figures are booked at once; each station's watermarks (``Stagger.wm``) keep the real
run from booking them again when it reaches them.

Indices in the row loop are unsigned (``np.uint64``): a ring slot ``n & mask``, a
token, a server, the station and the row. numba checks a signed index for wraparound
(a negative one counts from the end) at every access, and LLVM drops the check only
where it can prove the index non-negative, which it could not here even for the
station loop's own counter; unsigned, an index is used as it is. Each is non-negative
by construction. The kernel's time on the built-in plant's feeds fell by 10-20%
(``docs/design.md``).
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import inline, kernel
from ._kernel import _advance
from ._named import (
    B_IN,
    B_OUT,
    BOOK_ALL,
    CNT_FREE,
    FST_A,
    L_DONE,
    L_LEAD,
    L_T,
    SL_END,
    SL_ENTRY,
    SL_REPAIR,
    SL_SEQ,
    SL_SRV,
    SL_TOK,
    TV_JOB,
    TV_REFS,
    TV_VAR,
    WM_ENTRY,
    WM_VISIT,
    Books,
    Calendar,
    Failures,
    Recursion,
    Stagger,
    Topology,
    Trace,
)
from ._stats import bin_of
from .calendar import _window
from .spec import FAIL_CALENDAR, FAIL_OPERATING

_EPS = 2.220446049250313e-16
STATUS_DONE = 0
STATUS_CALENDAR = 1
STATUS_TOKENS = 2  # the token pool ran dry: a sizing bug, never a user's error


@inline
def _let_go(t: np.uint64, tv: np.ndarray, free_tok: np.ndarray, cnt: np.ndarray) -> None:
    """One branch lets go of token t (a part taken at its join, a job off the line's
    end); the last one to do so gives it back to the free list."""
    tv[t, TV_REFS] -= 1
    if tv[t, TV_REFS] == 0:
        free_tok[cnt[CNT_FREE]] = t
        cnt[CNT_FREE] += 1


@kernel
def run_staggered(
    p: np.ndarray,
    release: np.ndarray,
    variant: np.ndarray,
    ready: np.ndarray,
    topo: Topology,
    lag: np.ndarray,
    ot: np.ndarray,
    fail: Failures,
    cal: Calendar,
    rec: Recursion,
    st: Stagger,
    out: Trace,
    jid: np.ndarray,
    books: Books,
    until: float,
    lo: np.ndarray,
    hi: np.ndarray,
    ein: np.ndarray,
    at: np.ndarray,
) -> tuple[int, int]:
    """Advance the line by the jobs in ``p`` (rows in build order, with their
    ``release`` times, ``variant`` and part times ``ready``); return (status, rows
    done).

    Row r of ``out``/``jid`` holds, at station i, the visit of its ``(row - off_i)``-th
    departure (``jid``: the job, -1 where none; given no rows, not written; ``out``
    and ``ein`` are not written either when the books count only and no visit is
    kept). Entries, the line's totals and completions are booked here, those before
    ``until`` and past the watermarks; the rows ``lo[i, 0]..hi[i, 0]`` of station i
    are left for ``_stats.book_ranges`` to book, and (but at station 0, booked here
    with the line's lead-time sum) its entries ``ein[r, i]`` in rows
    ``lo[i, 1]..hi[i, 1]`` for ``_stats.book_entries``: booked here, every station's
    entry bin cost the kernel half its speed (63-71 against 29-34 ns a visit,
    measured; such stores keep LLVM from holding the row's state in registers).

    Where the calendar runs out (a station's work would end past its last window),
    the kernel returns ``STATUS_CALENDAR`` with the row's number and ``at[0]`` the
    station it stopped at: the row's stations before it are done and booked, and the
    next call (``at`` passed back, the calendar extended) resumes the row there, its
    token already taken. ``at[0] = -1``: no row to resume.
    """
    servers, buffers, up, down, feeders, gate = topo
    ring, free_at, fst, next_job, last_in, hint = rec
    jring, sring, slot_f, slot_i, n_slot, tp, tg, tv, free_tok, cnt, wm, floor = st[:12]
    jobtok, trel = st[12:]
    entry, end, dep, srv, rep = out
    bins, edges, line, done, bhint = books.bins, books.edges, books.line, books.done, books.bhint
    full = books.mode[0] == BOOK_ALL
    keep = jid.shape[0] > 0  # (an empty jid: the visits are not kept)
    # the rows are read by the statistics and by a caller keeping the visits; counting
    # only (Monte Carlo), nothing reads them
    rows = full or keep
    starts, ends = cal.starts, cal.ends
    n, m = p.shape
    mask = np.uint64(ring.shape[1] - 1)
    n_src = 0
    for i in range(m):
        if up[i] < 0:
            n_src += 1
    for i in range(m):
        for c in range(2):
            lo[i, c] = -1
            hi[i, c] = -1
    row0 = int(next_job[0])
    for r in range(n):
        job = row0 + r
        ru = np.uint64(r)
        i0 = 0
        if r == 0 and at[0] >= 0:
            # the row the calendar cut: its token is taken, its first stations done
            i0 = at[0]
        else:
            if cnt[CNT_FREE] == 0:
                next_job[0] = job
                return STATUS_TOKENS, r
            cnt[CNT_FREE] -= 1
            tok0 = np.uint64(free_tok[cnt[CNT_FREE]])
            tv[tok0, TV_JOB] = job
            tv[tok0, TV_VAR] = variant[ru]
            tv[tok0, TV_REFS] = n_src
            trel[tok0] = release[ru]
            jobtok[np.uint64(job) & mask] = tok0
            for q in range(np.uint64(m)):
                tp[tok0, q] = p[ru, q]
            for q in range(np.uint64(tg.shape[1])):
                tg[tok0, q] = ready[ru, q]
        at[0] = -1
        for i in range(np.uint64(i0), np.uint64(m)):
            e = job - lag[i]
            if e < 0:
                continue
            k = servers[i]
            u = up[i]
            if u < 0:
                # a source that takes from no station, but joins a feeder that runs
                # behind, takes its jobs as late
                tok = np.uint64(jobtok[np.uint64(e) & mask])
                t_in = max(trel[tok], last_in[i], floor[0])
            else:
                t_in = ring[u, np.uint64(e) & mask]
                tok = np.uint64(jring[u, np.uint64(e) & mask])
            for f in range(feeders.shape[1]):
                fi = feeders[i, f]
                if fi >= 0:
                    t_in = max(t_in, ring[fi, np.uint64(e) & mask])
            g = gate[i]
            if g >= 0:
                t_in = max(t_in, tg[tok, g], last_in[i])
            if e - k >= 0:
                t_in = max(t_in, ring[i, np.uint64(e - k) & mask])
            if ot[i] == 1:
                # the server free longest: the one the (e-k)-th departure freed
                s = np.uint64(e) if e < k else np.uint64(sring[i, np.uint64(e - k) & mask])
            elif k > 1:
                s = np.uint64(0)
                t_free = t_in + 8.0 * _EPS * max(abs(t_in), 1.0)
                for c in range(np.uint64(k)):
                    if free_at[i, c] <= t_free:
                        s = np.uint64(c)
                        break
            else:
                s = np.uint64(0)
            work = tp[tok, i]
            repair = 0.0
            if t_in == math.inf:
                # a job that never comes (the engine's look ahead): nothing is consumed
                t_end = math.inf
            else:
                # the fast path written out, as in _kernel.run_rows and _events: one
                # inlined helper for the three measured 6-8x slower kernels (178-217
                # against 24-31 ns a visit; numba's handling of its tuple arguments)
                f0, f1, f2 = fst[i, s, 0], fst[i, s, 1], fst[i, s, 2]
                b = fail.basis[i]
                h = _window(t_in, starts, hint, i)
                t_end = t_in + work
                fits = starts[h] <= t_in and t_end <= ends[h]
                if fits and b == FAIL_OPERATING:
                    fits = work <= fst[i, s, FST_A]
                    if fits:
                        fst[i, s, FST_A] -= work
                elif fits and b == FAIL_CALENDAR:
                    fits = t_end <= fst[i, s, FST_A]
                if not fits:
                    t_end, repair = _advance(t_in, work, i, int(s), fail, fst, cal, hint)
                if t_end == math.inf:
                    # the calendar ran out: this station is done again, from its
                    # failure clock as it was, once the caller has extended it; the
                    # row's stations before it are done and stay so
                    fst[i, s, 0], fst[i, s, 1], fst[i, s, 2] = f0, f1, f2
                    next_job[0] = job
                    at[0] = i
                    return STATUS_CALENDAR, r
            if rows:
                ein[ru, i] = t_in
            if u < 0 or g >= 0:
                last_in[i] = t_in
            if e >= wm[i, WM_ENTRY] and t_in < until:
                wm[i, WM_ENTRY] = e + 1
                if i == 0:
                    bins[bin_of(t_in, edges, bhint, 0), 0, B_IN] += 1.0
                    line[L_LEAD] -= t_in
                elif full:
                    if lo[i, 1] < 0:
                        lo[i, 1] = r
                    hi[i, 1] = r + 1
            for f in range(feeders.shape[1]):
                fi = feeders[i, f]
                if fi >= 0:
                    # the part taken from the feeder's store
                    _let_go(np.uint64(jring[fi, np.uint64(e) & mask]), tv, free_tok, cnt)
            # the departure this row reaches, if any
            if ot[i] == 0:
                mi = e
                d_tok, d_in, d_end, d_srv, d_rep = tok, t_in, t_end, s, repair
                t_out = t_end
                if e >= 1:
                    t_out = max(t_out, ring[i, np.uint64(e - 1) & mask])
            else:
                ns = n_slot[i]
                slot_f[i, ns, SL_END] = t_end
                slot_f[i, ns, SL_ENTRY] = t_in
                slot_f[i, ns, SL_REPAIR] = repair
                slot_i[i, ns, SL_SEQ] = e
                slot_i[i, ns, SL_TOK] = tok
                slot_i[i, ns, SL_SRV] = s
                n_slot[i] = ns + 1
                mi = e - (k - 1)
                if mi >= 0:
                    # the first to finish (ends within rounding are one instant: the
                    # tie goes to the job that entered first)
                    pk = 0
                    for q in range(1, ns + 1):
                        ea = slot_f[i, q, SL_END]
                        eb = slot_f[i, pk, SL_END]
                        tie = 8.0 * _EPS * max(abs(eb), 1.0)
                        if ea < eb - tie or (
                            abs(ea - eb) <= tie and slot_i[i, q, SL_SEQ] < slot_i[i, pk, SL_SEQ]
                        ):
                            pk = q
                    d_end = slot_f[i, pk, SL_END]
                    d_in = slot_f[i, pk, SL_ENTRY]
                    d_rep = slot_f[i, pk, SL_REPAIR]
                    d_tok = np.uint64(slot_i[i, pk, SL_TOK])
                    d_srv = np.uint64(slot_i[i, pk, SL_SRV])
                    if pk != ns:
                        for c in range(3):
                            slot_f[i, pk, c] = slot_f[i, ns, c]
                            slot_i[i, pk, c] = slot_i[i, ns, c]
                    n_slot[i] = ns
                    t_out = d_end
                    if mi >= 1:
                        t_out = max(t_out, ring[i, np.uint64(mi - 1) & mask])
            if mi < 0:
                continue
            dn = down[i]
            if dn >= 0:
                room = buffers[i] + servers[dn]
                if mi - room >= 0:
                    t_out = max(t_out, ring[dn, np.uint64(mi - room) & mask])
            ring[i, np.uint64(mi) & mask] = t_out
            jring[i, np.uint64(mi) & mask] = d_tok
            sring[i, np.uint64(mi) & mask] = d_srv
            if ot[i] == 0 and k > 1:
                free_at[i, d_srv] = t_out
            if rows:
                entry[ru, i] = d_in
                end[ru, i] = d_end
                dep[ru, i] = t_out
                srv[ru, i] = d_srv
                rep[ru, i] = d_rep
            if keep:
                jid[ru, i] = tv[d_tok, TV_JOB]
            if mi >= wm[i, WM_VISIT] and t_out < until:
                wm[i, WM_VISIT] = mi + 1
                if lo[i, 0] < 0:
                    lo[i, 0] = r
                hi[i, 0] = r + 1
                if dn < 0:
                    line[L_DONE] += 1.0
                    line[L_LEAD] += t_out
                    if t_out > line[L_T]:
                        line[L_T] = t_out
                    done[bin_of(t_out, edges, bhint, m), tv[d_tok, TV_VAR]] += 1.0
                    if not full:
                        bins[bin_of(t_out, edges, bhint, i), i, B_OUT] += 1.0
            if dn < 0:
                _let_go(d_tok, tv, free_tok, cnt)
    next_job[0] = row0 + n
    return STATUS_DONE, n
