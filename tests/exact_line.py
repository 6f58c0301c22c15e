"""The exact throughput of a small exponential line, from its continuous-time Markov chain.

A serial line with blocking after service, unlimited supply before the first station
and unlimited room after the last; station ``j`` has ``k[j]`` servers with exponential
work of rate ``mu[j]``, and ``b[j]`` places between station ``j`` and ``j + 1``. A state
is, per station, (servers working, servers holding a finished job it cannot pass on)
and, per buffer, its content. A completion turns a working server into a holding one;
then jobs move wherever they can (held jobs into room downstream, waiting jobs into
idle servers) until nothing moves. The stationary distribution solves
``pi Q = 0, sum(pi) = 1`` (scipy.sparse); throughput is the last station's completion
rate under it. Independent of the engine: no draws, no events, no shared code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

State = tuple[int, ...]


def _settle(busy: list[int], held: list[int], q: list[int], k: Sequence[int],
            b: Sequence[int]) -> None:
    m = len(k)
    moved = True
    while moved:
        moved = False
        for j in range(m):
            idle = k[j] - busy[j] - held[j]
            if j == 0 and idle > 0:  # unlimited supply
                busy[0] += idle
                moved = True
                continue
            if j > 0 and idle > 0:
                if q[j - 1] > 0:
                    q[j - 1] -= 1
                    busy[j] += 1
                    moved = True
                elif held[j - 1] > 0:  # straight from the server upstream
                    held[j - 1] -= 1
                    busy[j] += 1
                    moved = True
            if j < m - 1 and held[j] > 0 and q[j] < b[j]:
                held[j] -= 1
                q[j] += 1
                moved = True
        if held[m - 1] > 0:  # unlimited room after the last station
            held[m - 1] = 0
            moved = True


def _pack(busy: list[int], held: list[int], q: list[int]) -> State:
    return (*busy, *held, *q)


def exact_throughput(mu: Sequence[float], b: Sequence[int],
                     k: Sequence[int] | None = None) -> float:
    """Jobs per unit time of the line (rates ``mu`` per time unit)."""
    m = len(mu)
    k = [1] * m if k is None else list(k)
    assert len(b) == m - 1
    busy, held, q = [0] * m, [0] * m, [0] * (m - 1)
    _settle(busy, held, q, k, b)
    start = _pack(busy, held, q)
    index = {start: 0}
    order = [start]
    rows: list[int] = []
    cols: list[int] = []
    rates: list[float] = []
    i = 0
    while i < len(order):
        s = order[i]
        for j in range(m):
            n_busy = s[j]
            if n_busy == 0:
                continue
            busy, held, q = list(s[:m]), list(s[m:2 * m]), list(s[2 * m:])
            busy[j] -= 1
            held[j] += 1
            _settle(busy, held, q, k, b)
            t = _pack(busy, held, q)
            if t not in index:
                index[t] = len(order)
                order.append(t)
            rows.append(i)
            cols.append(index[t])
            rates.append(float(n_busy * mu[j]))
        i += 1
    n = len(order)
    q_mat = sp.coo_matrix((rates, (rows, cols)), shape=(n, n)).tocsr()
    q_mat = q_mat - sp.diags(np.asarray(q_mat.sum(axis=1)).ravel())
    # pi Q = 0 with one balance equation replaced by sum(pi) = 1
    a = q_mat.T.tolil()
    a[0, :] = np.ones(n)
    rhs = np.zeros(n)
    rhs[0] = 1.0
    pi = spla.spsolve(a.tocsc(), rhs)
    last = np.array([st[m - 1] for st in order], dtype=float)
    return float(pi @ (last * mu[m - 1]))


def exact_per_hour(means_s: Sequence[float], b: Sequence[int],
                   k: Sequence[int] | None = None) -> float:
    """Jobs per hour of a line whose stations have these mean cycle times (seconds)."""
    return 3600.0 * exact_throughput([1.0 / t for t in means_s], b, k)
