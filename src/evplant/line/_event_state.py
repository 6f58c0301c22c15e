"""The event-driven kernel's state between calls (private; see ``_events``)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import EvplantError
from . import _events
from .spec import CompiledLine


class EventState:
    """The event-driven kernel's state between calls (see ``_events``)."""

    def __init__(self, line: CompiledLine, fst: np.ndarray) -> None:
        m = line.m
        k = np.asarray(line.servers, dtype=np.int64)
        kmax = fst.shape[1]
        up = np.asarray(line.up, dtype=np.int64)
        down = np.asarray(line.down, dtype=np.int64)
        buffers = np.asarray(line.buffers, dtype=np.int64)
        feeds = np.asarray(line.feeders) >= 0
        for i in np.flatnonzero(np.asarray(line.resequence) != 0):
            if up[i] < 0 or feeds[i].any():
                raise EvplantError(
                    f"station {line.names[i]!r}: resequence needs a buffer before the "
                    f"station, which a source or an assembly join does not have",
                    field="resequence",
                )
        room = [int(buffers[i] + k[down[i]]) for i in range(m) if down[i] >= 0]
        qcap = 1 << int(max(room, default=1) + 1).bit_length()
        n_tok = int(2 * k.sum() + buffers.sum() + m + 4)
        n_heap = int(k.sum() + m + 4)
        self.line_i = np.stack(
            [
                k,
                buffers,
                up,
                down,
                np.asarray(line.fail_basis, dtype=np.int64),
                line.overtakes.astype(np.int64),
                np.asarray(line.resequence, dtype=np.int64),
            ],
            axis=1,
        )
        self.sc = np.zeros(_events.N_SC)
        self.sc[_events.SC_CLOCK] = -math.inf
        self.sc[_events.SC_PENDING] = 1
        self.sc[_events.SC_FREE_N] = n_tok
        self.ist = np.zeros((m, _events.N_IST), dtype=np.int64)
        # overtaking stations: their free servers, free longest first (all, at first)
        free_srv = np.zeros((m, 1 << int(k.max(initial=1)).bit_length()), dtype=np.int64)
        for i in np.flatnonzero(line.overtakes):
            free_srv[i, : k[i]] = np.arange(k[i])
            self.ist[i, _events.I_FREE_LEN] = k[i]
        self.dirty = np.zeros(2 * m + 1, dtype=np.int64)  # see _events._mark
        sources = np.flatnonzero(up < 0)
        self.dirty[sources] = 1
        self.dirty[m : m + len(sources)] = sources
        self.dirty[2 * m] = len(sources)
        self.state = (
            self.sc,
            self.ist,
            np.full((m, kmax), -1, dtype=np.int64),  # the token on each server
            np.zeros((m, qcap), dtype=np.int64),  # queues before the stations
            np.zeros((m, kmax), dtype=np.int64),  # finished tokens on servers
            np.zeros((n_tok, _events.N_TK), dtype=np.int64),
            np.zeros((n_tok, _events.N_TF)),
            np.zeros((n_tok, m)),  # each token's work at every station
            np.arange(n_tok, dtype=np.int64),  # free tokens
            np.zeros(n_heap),
            np.zeros(n_heap, dtype=np.int64),
            np.zeros(n_heap, dtype=np.int64),
            fst,
            np.zeros(m, dtype=np.int64),  # calendar hints
            self.dirty,
            np.zeros((n_tok, line.gates)),  # when each token's parts for the gates come
            # jobs sent back to each station for rework (rings; a job holds no place while
            # it waits for one, so a ring may hold every token)
            np.zeros((m, 1 << n_tok.bit_length()), dtype=np.int64),
            free_srv,
        )
        self.log = np.zeros((max(8192, 4 * n_tok), _events.N_LOG))
        # jobs fed and not yet taken by every source
        self.p = np.zeros((0, m))
        self.release = np.zeros(0)
        self.variant = np.zeros(0, dtype=np.int64)
        self.ready = np.zeros((0, line.gates))
        self.row0 = 0
        self.fed = 0
        self.promise = -math.inf

    @property
    def in_line(self) -> int:
        return int(self.sc[_events.SC_IN_LINE])

    def add(
        self, p: np.ndarray, release: np.ndarray, variant: np.ndarray, ready: np.ndarray
    ) -> None:
        # a job cannot be released before a time already promised (the kernel may have
        # walked the line up to it): the max-plus path's max(release, last entry) rule
        rel = np.maximum(np.asarray(release, dtype=np.float64), self.promise)
        self.p = np.concatenate([self.p, p])
        self.release = np.concatenate([self.release, rel])
        self.variant = np.concatenate([self.variant, np.asarray(variant, np.int64)])
        self.ready = np.concatenate([self.ready, ready])
        self.fed += len(p)
        if len(rel):
            self.promise = max(self.promise, float(rel[-1]))

    def taken(self) -> None:
        """Drop the rows of jobs every source has taken."""
        up = self.line_i[:, 2]
        first = int(self.ist[up < 0, _events.I_NEXT_JOB].min())
        cut = first - self.row0
        if cut > 0:
            self.p = self.p[cut:]
            self.release = self.release[cut:]
            self.variant = self.variant[cut:]
            self.ready = self.ready[cut:]
            self.row0 = first
