"""A maximum flow on a small network, by Dinic's algorithm, in plain Python.

Supply assigns each supplier's units to the variants they fit with a maximum flow
(:func:`evplant.venture.supply.assign_units`).  Many flows are maximal; which one is
found decides which supplier's units go to which variant, and so the instants kits are
complete.  This solver finds the very flow ``scipy.sparse.csgraph.maximum_flow`` (its
default, Dinic) finds, step for step: the same residual network (every vertex's
neighbours in increasing order, an edge and its reverse), the same breadth-first level
graph, stopped when the sink is dequeued, and the same depth-first search for blocking
paths, each vertex resuming at the edge it last tried.  It keeps the run from importing
``scipy.sparse`` (a third of a second) for a network of a dozen edges, and is faster on
one than building a sparse matrix.  ``tests/test_venture_flow.py`` checks it against
scipy on random networks.
"""

from __future__ import annotations

from collections.abc import Sequence

#: the depth-first search's initial bound on a path's flow (scipy's, a 32-bit maximum)
_UNBOUNDED = 2**31 - 1


class Network:
    """A directed graph with integer capacities, as a residual network.

    ``heads[u][i]`` is the ``i``-th neighbour of ``u`` (increasing), ``cap[u][i]`` the
    residual capacity of the edge ``u -> heads[u][i]`` (0 for a reverse edge not given),
    ``rev[u][i]`` the position of the reverse edge in ``heads[heads[u][i]]``.
    """

    def __init__(self, n: int, edges: Sequence[tuple[int, int, int]]) -> None:
        given: dict[tuple[int, int], int] = {}
        for u, w, c in edges:
            given[(u, w)] = given.get((u, w), 0) + int(c)  # duplicates add up, as in CSR
        near: list[set[int]] = [set() for _ in range(n)]
        for u, w in given:
            near[u].add(w)
            near[w].add(u)
        self.n = n
        self.heads = [sorted(s) for s in near]
        self.cap = [[given.get((u, w), 0) for w in self.heads[u]] for u in range(n)]
        where = [{w: i for i, w in enumerate(h)} for h in self.heads]
        self.rev = [[where[w][u] for w in self.heads[u]] for u in range(n)]
        self.flow = [[0] * len(h) for h in self.heads]

    def edge_flow(self, u: int, w: int) -> int:
        """The flow on the edge ``u -> w`` (negative on a reverse edge; 0 if none)."""
        heads = self.heads[u]
        return self.flow[u][heads.index(w)] if w in heads else 0


def max_flow(net: Network, source: int, sink: int) -> int:
    """Push a maximum flow from ``source`` to ``sink`` through ``net`` (its ``flow`` and
    ``cap`` are updated) and return its value."""
    if source == sink:
        raise ValueError("source and sink vertices must differ")
    while True:
        levels = _levels(net, source, sink)
        if levels is None:
            break
        progress = [0] * net.n
        while _augment(net, source, sink, levels, progress):
            pass
    return sum(net.flow[source])


def _levels(net: Network, source: int, sink: int) -> list[int] | None:
    """Breadth-first distances from the source over edges with capacity left, up to the
    moment the sink leaves the queue; None when the sink cannot be reached."""
    levels = [-1] * net.n
    levels[source] = 0
    queue = [source]
    start = 0
    while start < len(queue):
        cur = queue[start]
        start += 1
        if cur == sink:
            return levels
        for w, c in zip(net.heads[cur], net.cap[cur], strict=True):
            if c > 0 and levels[w] == -1:
                levels[w] = levels[cur] + 1
                queue.append(w)
    return None


def _augment(
    net: Network, source: int, sink: int, levels: list[int], progress: list[int]
) -> bool:
    """One path in the level graph, found depth first, its flow pushed; False when none
    is left.  ``progress[v]`` is the edge of ``v`` tried next (kept between paths)."""
    heads, cap, rev, flow = net.heads, net.cap, net.rev, net.flow
    stack: list[tuple[int, int]] = [(source, _UNBOUNDED)]
    while True:
        current, bound = stack[-1]
        e = progress[current]
        w = heads[current][e]
        c = cap[current][e]
        if c > 0 and levels[w] == levels[current] + 1:
            pushed = min(bound, c)
            if w == sink:
                for u, _ in stack:
                    i = progress[u]
                    v, r = heads[u][i], rev[u][i]
                    cap[u][i] -= pushed
                    cap[v][r] += pushed
                    flow[u][i] += pushed
                    flow[v][r] -= pushed
                return True
            stack.append((w, pushed))
        else:
            while progress[current] == len(heads[current]) - 1:
                stack.pop()
                if not stack:
                    return False
                current = stack[-1][0]
            progress[current] += 1
