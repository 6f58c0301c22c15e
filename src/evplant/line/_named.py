"""Named state of the compiled kernels (private; use ``evplant.line.engine``).

The kernels take a few named tuples of arrays instead of two dozen positional arrays.
numba unpacks a ``NamedTuple`` at compile time, so ``cal.starts`` costs what
``starts`` did; the names only exist for the reader. Columns of the state arrays have
named indices here too, so no kernel writes ``fst[i, s, 1]``.

The tuples hold arrays only (numba needs a fixed type per field), and every array is
updated in place: a tuple is a view of state that lives on the ``LineEngine``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# --- failure state fst[i, s, :] -----------------------------------------------------
# FST_N: failures so far; operating basis: FST_A is the work left to the next failure;
# calendar basis: the server is down on [FST_A, FST_B)
FST_N, FST_A, FST_B = 0, 1, 2
N_FST = 3

# --- an open active period act[i, s, :] (Roser) ---------------------------------------
# working time at its start, working duration so far, wall start (< 0: none open),
# wall end, bin of its start, bin of its end
ACT_W0, ACT_WORK, ACT_START, ACT_END, ACT_BIN0, ACT_BIN1 = range(6)
N_ACT = 6

# --- per-station totals acc[i, :] -----------------------------------------------------
BUSY, BLOCKED, FAILED, JOBS, ACT_SUM, ACT_CNT = range(6)
N_ACC = 6

# --- per-bin figures bins[b, i, :] ----------------------------------------------------
# B_IN and B_OUT count every entry and departure; B_REWORK and B_SCRAP the defective
# departures among them (``Station.on_defect``), B_REDO the entries of jobs sent back:
# good jobs out are B_OUT - B_REWORK - B_SCRAP, first entries B_IN - B_REDO
B_BUSY, B_BLOCKED, B_FAILED, B_ACT_MAX, B_ACT_SUM, B_ACT_CNT, B_IN, B_OUT = range(8)
B_REWORK, B_SCRAP, B_REDO = 8, 9, 10
N_BIN = 11

# --- the line's totals line[:] --------------------------------------------------------
# jobs that left the last station, the sum of their lead times, the last departure,
# jobs scrapped
L_DONE, L_LEAD, L_T, L_SCRAP = range(4)
N_LINE = 4

# --- what the max-plus kernel books as it goes (``Books.mode``) -----------------------
BOOK_COUNT = 0  # entries at the first station, departures from the last, completions
BOOK_ALL = 1  # every station's time statistics (``_stats._book_station``)


class Topology(NamedTuple):
    """Where jobs go: ``up[i]`` the station before (-1: a source), ``down[i]`` the one
    after (-1: the end), ``feeders[i]`` the last stations of the feeder lines station
    i joins (-1: none); ``servers`` and ``buffers`` (places after station i);
    ``gate[i]`` the column of station i's own part in the ready times (-1: none)."""

    servers: np.ndarray  # int64 [m]
    buffers: np.ndarray  # int64 [m]
    up: np.ndarray  # int64 [m]
    down: np.ndarray  # int64 [m]
    feeders: np.ndarray  # int64 [m, f]
    gate: np.ndarray  # int64 [m]


class Failures(NamedTuple):
    """How each station fails: basis (``spec.FAIL_*``), the encoded laws of time to
    failure and to repair, their empirical samples, and the counter-based keys of
    every server's two streams."""

    basis: np.ndarray  # int64 [m]
    ttf_code: np.ndarray  # float64 [m, 4]
    ttr_code: np.ndarray  # float64 [m, 4]
    table: np.ndarray  # float64
    keys: np.ndarray  # uint64 [m, servers, 2]


class Quality(NamedTuple):
    """Which visits are defective: visit ``n`` (reworks so far) of job ``j`` at station
    ``i`` is when ``draws.uniform01(keys[i], quality_counter(j, n)) >= fpy[i]``; what it
    then does is ``defect[i]`` (``spec.DEFECT_*``), going back to ``rework_to[i]``."""

    fpy: np.ndarray  # float64 [m]
    keys: np.ndarray  # uint64 [m]
    defect: np.ndarray  # int64 [m]
    rework_to: np.ndarray  # int64 [m]


class Calendar(NamedTuple):
    """Working windows ``[starts[w], ends[w])`` and the working time before each."""

    starts: np.ndarray
    ends: np.ndarray
    cum: np.ndarray


class Recursion(NamedTuple):
    """The max-plus kernel's state between calls.

    ``ring[i, j % L]``: departures of recent jobs; ``free_at[i, s]``: when server s's
    last job left; ``fst``: failure states (``FST_*``); ``next_job[0]``: the next job's
    number; ``last_in[i]``: the previous job's entry to station i (read at sources and
    gated stations, where jobs enter in build order); ``hint[i]``: station i's calendar
    window.
    """

    ring: np.ndarray
    free_at: np.ndarray
    fst: np.ndarray
    next_job: np.ndarray  # float64 [1]
    last_in: np.ndarray
    hint: np.ndarray


# --- the staggered recursion (``_stagger``) --------------------------------------------
# a job on a server of an overtaking station: slot_f[i, c, :] and slot_i[i, c, :]
SL_END, SL_ENTRY, SL_REPAIR = range(3)
SL_SEQ, SL_TOK, SL_SRV = range(3)
# a token (a job in the line): its number, variant, and the branches still carrying it
TV_JOB, TV_VAR, TV_REFS = range(3)
# each station's watermarks wm[i, :]: entries and visits booked so far
WM_ENTRY, WM_VISIT = range(2)
# counters cnt[:]
CNT_FREE = 0  # tokens in the free list


class Stagger(NamedTuple):
    """The staggered recursion's state beside ``Recursion`` (whose ``ring`` holds each
    station's departures by their own count, ``next_job`` the rows fed).

    ``jring``/``sring[i, n % L]``: the token and the server of station i's n-th
    departure; ``slot_f``/``slot_i``/``n_slot``: the jobs on an overtaking station's
    servers (``SL_*``); ``tp[t, i]``, ``tg[t, g]``, ``tv[t, :]``: token t's work at
    station i, its part times and ``TV_*``; ``free_tok``/``cnt``: the free tokens;
    ``wm``: what is booked (``WM_*``); ``floor[0]``: no job enters before it (a
    promise kept, or a line drained); ``jobtok[j % L]``: job j's token, ``trel[t]``:
    token t's release (a source that runs behind takes its jobs late).
    """

    jring: np.ndarray
    sring: np.ndarray
    slot_f: np.ndarray
    slot_i: np.ndarray
    n_slot: np.ndarray
    tp: np.ndarray
    tg: np.ndarray
    tv: np.ndarray
    free_tok: np.ndarray
    cnt: np.ndarray
    wm: np.ndarray
    floor: np.ndarray
    jobtok: np.ndarray
    trel: np.ndarray


class Books(NamedTuple):
    """The statistics' state: their own copy of the failure states (calendar failures
    are walked again to book down time), open active periods (``ACT_*``), per-station
    totals (``acc``), per-bin figures (``bins``, ``B_*``) over ``edges``, the line's
    totals (``L_*``), completions per bin and variant (``done``), calendar and bin
    hints per station (``bhint[m]`` is the completions' own), and ``mode[0]``
    (``BOOK_*``)."""

    fst: np.ndarray
    act: np.ndarray
    acc: np.ndarray
    bins: np.ndarray
    edges: np.ndarray
    line: np.ndarray
    done: np.ndarray
    hint: np.ndarray
    bhint: np.ndarray
    mode: np.ndarray  # int64 [1]
    scrap: np.ndarray  # [bins, variants]: jobs scrapped (``Station.on_defect``)


class Trace(NamedTuple):
    """Each job's visits ``[n, m]``: entry, end of work, departure, server, and the
    working time spent under operating-time repair (see ``visits.Visits``)."""

    entry: np.ndarray
    end: np.ndarray
    departure: np.ndarray
    server: np.ndarray
    repair: np.ndarray


def new_books(
    m: int, kmax: int, edges: np.ndarray, variants: int, fst: np.ndarray, mode: int
) -> Books:
    """Empty books over the bins ``edges``, starting from the failure states ``fst``."""
    act = np.zeros((m, kmax, N_ACT))
    act[:, :, ACT_START] = -1.0
    nb = len(edges) - 1
    return Books(
        fst=fst.copy(),
        act=act,
        acc=np.zeros((m, N_ACC)),
        bins=np.zeros((nb, m, N_BIN)),
        edges=np.ascontiguousarray(edges, dtype=np.float64),
        line=np.zeros(N_LINE),
        done=np.zeros((nb, variants)),
        scrap=np.zeros((nb, variants)),
        hint=np.zeros(m, dtype=np.int64),
        bhint=np.zeros(m + 1, dtype=np.int64),
        mode=np.array([mode], dtype=np.int64),
    )
