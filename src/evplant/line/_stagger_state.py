"""The staggered recursion's state and its rows, for ``LineEngine`` (private).

``new_stagger`` builds an empty line's ``_named.Stagger`` beside its ``Recursion``;
``keep_visits`` copies the kernel's rows (a station's departures, not jobs) into the
jobs' visits a caller keeps.
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import kernel
from ._named import Recursion, Stagger
from .spec import CompiledLine
from .visits import Visits


def new_stagger(line: CompiledLine, wave: tuple[np.ndarray, np.ndarray], rec: Recursion) -> Stagger:
    """An empty line's state for the staggered recursion (its rings sized to look back
    as far as it reads)."""
    m = line.m
    k = np.asarray(line.servers, dtype=np.int64)
    off = line.rows_behind(wave)
    kmax = int(k.max())
    length = rec.ring.shape[1]  # sized for this path by _ring_length
    # every job in the line holds a token: at most the places and servers, plus the
    # rows a station runs behind (and as many again for the look ahead)
    tokens = int(k.sum() + np.asarray(line.buffers).sum()) + 4 * int(off.max()) + m + 8
    return Stagger(
        jring=np.zeros((m, length), dtype=np.int64),
        sring=np.zeros((m, length), dtype=np.int64),
        slot_f=np.zeros((m, kmax, 3)),
        slot_i=np.zeros((m, kmax, 3), dtype=np.int64),
        n_slot=np.zeros(m, dtype=np.int64),
        tp=np.zeros((tokens, m)),
        tg=np.zeros((tokens, line.gates)),
        tv=np.zeros((tokens, 3), dtype=np.int64),
        free_tok=np.arange(tokens, dtype=np.int64)[::-1].copy(),
        cnt=np.array([tokens], dtype=np.int64),
        wm=np.zeros((m, 2), dtype=np.int64),
        floor=np.array([-math.inf]),
        jobtok=np.zeros(length, dtype=np.int64),
        trel=np.zeros(tokens),
    )


def keep_visits(kept: Visits, rows: Visits, jid: np.ndarray, first: int) -> None:
    """Copy the visits in ``rows`` of jobs ``first .. first + len(kept)`` into ``kept``
    (row ``job - first``): the staggered recursion's rows are departures, not jobs."""
    _scatter(
        kept.entry, kept.end, kept.departure, kept.server, kept.repair,
        rows.entry, rows.end, rows.departure, rows.server, rows.repair, jid, first,
    )  # fmt: skip


@kernel
def _scatter(
    entry: np.ndarray,
    end: np.ndarray,
    dep: np.ndarray,
    srv: np.ndarray,
    rep: np.ndarray,
    r_entry: np.ndarray,
    r_end: np.ndarray,
    r_dep: np.ndarray,
    r_srv: np.ndarray,
    r_rep: np.ndarray,
    jid: np.ndarray,
    first: int,
) -> None:
    n, m = jid.shape
    kept = entry.shape[0]
    for r in range(n):
        for i in range(m):
            j = jid[r, i] - first
            if 0 <= j < kept:
                entry[j, i] = r_entry[r, i]
                end[j, i] = r_end[r, i]
                dep[j, i] = r_dep[r, i]
                srv[j, i] = r_srv[r, i]
                rep[j, i] = r_rep[r, i]
