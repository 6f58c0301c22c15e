"""The public line engine: compiled kernel, chunked and resumable.

``LineEngine`` feeds jobs to the kernel in chunks and keeps its state between calls,
so a plant can run millions of vehicles month by month with memory that does not
grow with the number of vehicles. ``simulate_line`` is the one-call form used by the
``evplant line`` command; ``simulate_visits`` runs given draws (the reference engine's
twin, for tests).

Which path each feature takes (chosen per line, ``CompiledLine.in_build_order``):

- a line on which no job can overtake another (every station has one server or keeps
  the sequence) runs through the max-plus recursion in build order,
  ``_kernel.run_rows``: shifts and breaks, operating- and calendar-time failures,
  parallel servers that keep the sequence, zero buffers, release times, variants and
  assembly joins (a resequencing store changes nothing there: jobs arrive in build
  order). Statistics are computed afterwards by ``_stats.accumulate`` from the visits,
  identically for both engines;
- a line with a station whose servers let jobs overtake (several servers, the
  default) runs through the compiled event-driven kernel, ``_events.run_events``,
  which carries every feature above plus overtaking and resequencing stores, and logs
  the visits for ``_stats.book_log`` (the same books as ``accumulate``, visit by visit).

See ``docs/line-semantics.md`` for why each is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import EvplantError
from . import _events, _kernel, _stats
from .calendar import WorkCalendar
from .sampling import LineDraws
from .spec import FAIL_CALENDAR, FAIL_OPERATING, CompiledLine
from .visits import Visits

Engine = Literal["fast", "reference"]


@dataclass
class StationStats:
    """What one station did over a line run ``[0, T]``: shares of the clock per server
    (``busy``, ``blocked``, ``starved``, ``failed``, ``off_shift``), the mean active
    period (Roser) and the parts of its OEE."""

    name: str
    servers: int
    jobs: int
    busy: float  # fractions of the period [0, T]
    blocked: float
    starved: float
    failed: float
    off_shift: float
    active_period_mean_s: float
    availability: float
    performance: float
    quality: float

    @property
    def on_shift(self) -> float:
        return 1.0 - self.off_shift

    @property
    def utilisation(self) -> float:
        """Busy share of working (on-shift) time."""
        return self.busy / self.on_shift if self.on_shift > 0 else 0.0

    @property
    def oee(self) -> float:
        return self.availability * self.performance * self.quality

    def share_of_working_time(self) -> dict[str, float]:
        w = self.on_shift if self.on_shift > 0 else 1.0
        return {
            "utilisation": self.busy / w,
            "blocked": self.blocked / w,
            "starved": self.starved / w,
            "failed": self.failed / w,
        }


@dataclass(frozen=True)
class BinStats:
    """What each station did in one time bin (a month in the plant): arrays ``[m]``,
    times in server-seconds, each amount booked to the bin in which its interval ends."""

    jobs_in: np.ndarray  # jobs that entered
    jobs_out: np.ndarray  # jobs that left
    busy_s: np.ndarray
    blocked_s: np.ndarray
    failed_s: np.ndarray
    active_mean_s: np.ndarray  # mean length of the active periods ending in the bin
    done_by_variant: np.ndarray  # [variants]: jobs that left the last station


@dataclass
class LineResult:
    """What a line run measured over ``[0, T]``."""

    name: str
    jobs: int
    horizon_s: float
    throughput_per_hour: float
    lead_time_mean_s: float
    wip_mean: float
    stations: list[StationStats]
    bottleneck: str
    oee: float
    bin_edges: np.ndarray = field(repr=False)
    timeline: list[str] = field(repr=False)  # momentary bottleneck per bin
    engine: str = "fast"

    def to_dict(self) -> dict[str, object]:
        return {
            "line": self.name,
            "engine": self.engine,
            "jobs": self.jobs,
            "horizon_s": self.horizon_s,
            "throughput_per_hour": self.throughput_per_hour,
            "lead_time_mean_s": self.lead_time_mean_s,
            "wip_mean": self.wip_mean,
            "bottleneck": self.bottleneck,
            "oee": self.oee,
            "stations": [
                {
                    "name": s.name,
                    "servers": s.servers,
                    **s.share_of_working_time(),
                    "off_shift": s.off_shift,
                    "active_period_mean_s": s.active_period_mean_s,
                    "availability": s.availability,
                    "performance": s.performance,
                    "quality": s.quality,
                    "oee": s.oee,
                }
                for s in self.stations
            ],
            "bottleneck_timeline": [
                {"from_s": float(a), "to_s": float(b), "station": name}
                for a, b, name in zip(
                    self.bin_edges[:-1], self.bin_edges[1:], self.timeline, strict=True
                )
            ],
        }


def _ring_length(line: CompiledLine) -> int:
    k = line.servers
    down = line.down
    room = [int(line.buffers[i] + k[down[i]]) for i in range(line.m) if down[i] >= 0]
    need = max(int(k.max()), max(room, default=0)) + 1
    return 1 << (need - 1).bit_length()  # a power of two, so the kernel can mask


def _initial_failures(line: CompiledLine, keys: np.ndarray) -> np.ndarray:
    from .draws import draw

    kmax = keys.shape[1]
    fst = np.zeros((line.m, kmax, 3))
    for i in range(line.m):
        for s in range(int(line.servers[i])):
            if line.fail_basis[i] == FAIL_OPERATING:
                fst[i, s, 1] = draw(keys[i, s, 0], 0, line.ttf_code[i], line.table)
            elif line.fail_basis[i] == FAIL_CALENDAR:
                lo = draw(keys[i, s, 0], 0, line.ttf_code[i], line.table)
                fst[i, s, 1] = lo
                fst[i, s, 2] = lo + draw(keys[i, s, 1], 0, line.ttr_code[i], line.table)
    return fst


class _EventState:
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
        )
        self.log = np.zeros((max(8192, 4 * n_tok), _events.N_LOG))
        # jobs fed and not yet taken by every source
        self.p = np.zeros((0, m))
        self.release = np.zeros(0)
        self.variant = np.zeros(0, dtype=np.int64)
        self.row0 = 0
        self.fed = 0
        self.promise = -math.inf

    @property
    def in_line(self) -> int:
        return int(self.sc[_events.SC_IN_LINE])

    def add(self, p: np.ndarray, release: np.ndarray, variant: np.ndarray) -> None:
        # a job cannot be released before a time already promised (the kernel may have
        # walked the line up to it): the max-plus path's max(release, last entry) rule
        rel = np.maximum(np.asarray(release, dtype=np.float64), self.promise)
        self.p = np.concatenate([self.p, p])
        self.release = np.concatenate([self.release, rel])
        self.variant = np.concatenate([self.variant, np.asarray(variant, np.int64)])
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
            self.row0 = first


class LineEngine:
    """A resumable compiled simulation of one line.

    >>> engine = LineEngine(line, seed=1)        # doctest: +SKIP
    >>> engine.feed(10_000)                      # doctest: +SKIP
    >>> engine.result().throughput_per_hour     # doctest: +SKIP
    """

    def __init__(
        self,
        line: CompiledLine,
        seed: int | np.random.SeedSequence = 0,
        *,
        bin_edges: np.ndarray | None = None,
        chunk: int = 2048,
        extend_calendar: bool | None = None,
        prefetch: bool = False,
        stats: bool = True,
    ) -> None:
        self.line = line
        self.prefetch = prefetch
        # stats=False: count only the first station's entries (B_IN) and the last
        # station's departures (B_OUT) per bin, the same counts the full statistics pass
        # books; a third of the run's time saved where nothing else is read (Monte Carlo)
        self.stats = stats
        self._pool: ThreadPoolExecutor | None = None
        self.draws = LineDraws(line, seed)
        self.chunk = chunk
        self.bin_edges = (
            np.array([0.0, math.inf]) if bin_edges is None else np.asarray(bin_edges, float)
        )
        if extend_calendar is None:
            extend_calendar = line.calendar_spec is not None
        self._extend = extend_calendar
        keys = self.draws.fail_keys
        m, kmax = line.m, keys.shape[1]
        self._ring = np.full((m, _ring_length(line)), -math.inf)
        self._free_at = np.full((m, kmax), -math.inf)
        self._fst = _initial_failures(line, keys)
        self._scal = np.array([0.0])
        self._last_in = np.full(m, -math.inf)
        self._hint = np.zeros(m, dtype=np.int64)
        self._hint_stats = np.zeros(m, dtype=np.int64)
        self._hint_bins = np.zeros(m, dtype=np.int64)
        # statistics state
        self._fst_stats = self._fst.copy()
        self._act = np.zeros((m, kmax, 6))
        self._act[:, :, 2] = -1.0
        self._acc = np.zeros((m, _stats.N_ACC))
        self._bins = np.zeros((len(self.bin_edges) - 1, m, _stats.N_BIN))
        self._done = np.zeros((len(self.bin_edges) - 1, len(line.variant_names)))
        self._line = np.zeros(3)
        self._buf = Visits.empty(chunk, m)
        self._events = None if line.in_build_order else _EventState(line, self._fst)

    @property
    def jobs_done(self) -> int:
        return int(self._scal[0])

    @property
    def calendar(self) -> WorkCalendar:
        return self.line.calendar

    def set_calendar(self, calendar: WorkCalendar) -> None:
        """Swap in a longer calendar; it must agree with the old one where they overlap."""
        self.line = self.line.with_calendar(calendar)

    def feed(
        self,
        n: int,
        release: np.ndarray | None = None,
        variants: np.ndarray | None = None,
        *,
        keep: bool = False,
        p: np.ndarray | None = None,
        scale: float = 1.0,
        until: float | None = None,
    ) -> Visits | None:
        """Run the next ``n`` jobs through the line.

        ``release``: release times (non-decreasing; default: the line's own release
        process, or unlimited supply). ``variants``: variant index per job (default:
        the line's sequence or mix). ``p``: processing times to use instead of drawing
        them (tests). ``scale`` multiplies the drawn times (ramp-up learning). With
        ``keep``, return the jobs' visits.

        On a line where jobs overtake, the event-driven kernel walks the line only as
        far as the jobs fed allow; ``until`` promises that no job fed later is released
        before it, so the line is walked up to then (the plant passes the end of the
        month). With ``keep`` the jobs fed are finished first (see :meth:`drain`).
        """
        if n <= 0:
            if until is not None:
                self.advance(until)
            return Visits.empty(0, self.line.m) if keep else None
        chunks = [(lo, min(lo + self.chunk, n)) for lo in range(0, n, self.chunk)]

        def inputs(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            # drawn chunk by chunk, so memory does not grow with n
            v = self.draws.variants(hi - lo) if variants is None else variants[lo:hi]
            v = np.asarray(v, np.int64)
            pp = self.draws.processing(v, scale) if p is None else p[lo:hi]
            rel = self.draws.releases(hi - lo) if release is None else release[lo:hi]
            return np.ascontiguousarray(pp), np.ascontiguousarray(rel, dtype=np.float64), v

        kept = Visits.empty(n, self.line.m) if keep else None
        if self._events is not None:
            self._feed_events(n, chunks, inputs, kept, until)
            return kept
        pool = self._prefetch_pool() if self.prefetch and len(chunks) > 1 else None
        nxt = pool.submit(inputs, *chunks[0]) if pool is not None else None
        for c, (lo, hi) in enumerate(chunks):
            if nxt is not None and pool is not None:
                pp, rel, v = nxt.result()
                # draw the next chunk on the other core while this one runs
                nxt = pool.submit(inputs, *chunks[c + 1]) if c + 1 < len(chunks) else None
            else:
                pp, rel, v = inputs(lo, hi)
            k = hi - lo
            buf = self._buf if k == self.chunk else Visits.empty(k, self.line.m)
            self._run(pp, rel, buf)
            self._book(buf)
            self._book_done(buf.departure[:, -1], v)
            if kept is not None:
                for name in ("entry", "end", "departure", "server", "repair"):
                    getattr(kept, name)[lo:hi] = getattr(buf, name)
        return kept

    def _book_done(self, departure: np.ndarray, variants: np.ndarray) -> None:
        """Completions by variant, in the bin of their departure from the last station
        (the bin rule of the statistics pass: the last bin starting at or before)."""
        starts = self.bin_edges[:-1]
        b = np.clip(np.searchsorted(starts, departure, side="right") - 1, 0, len(starts) - 1)
        np.add.at(self._done, (b, variants), 1.0)

    def advance(self, until: float) -> None:
        """Promise that no job fed later is released before ``until``, and walk the line
        up to then (the event-driven path; nothing to do on the max-plus path)."""
        ev = self._events
        if ev is not None:
            ev.promise = max(until, ev.promise)
            self._walk(ev, ev.promise, None, 0)

    def drain(self) -> None:
        """Finish every job fed so far (the event-driven path; the max-plus path has
        finished them already). Jobs fed afterwards enter no earlier than the last
        instant walked."""
        if self._events is not None:
            self._walk(self._events, math.inf, None, 0)

    def _feed_events(
        self,
        n: int,
        chunks: list[tuple[int, int]],
        inputs: Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]],
        kept: Visits | None,
        until: float | None,
    ) -> None:
        ev = self._events
        assert ev is not None
        first = ev.fed
        for lo, hi in chunks:
            pp, rel, v = inputs(lo, hi)
            ev.add(pp, rel, v)
            # the promise holds after the last chunk only: the later chunks of this
            # call are released before it
            self._walk(ev, ev.promise, kept, first)
        if kept is not None:
            self._walk(ev, math.inf, kept, first)
        elif until is not None:
            self.advance(until)

    def _walk(self, ev: _EventState, until: float, kept: Visits | None, first: int) -> None:
        m = self.line.m
        trace = (
            (kept.entry, kept.end, kept.departure, kept.server, kept.repair)
            if kept is not None
            else (np.empty((0, m)), np.empty((0, m)), np.empty((0, m)),
                  np.empty((0, m), dtype=np.int64), np.empty((0, m)))
        )
        books = (ev.log, self._bins, self.bin_edges, self._line, self._hint_bins, self._done)
        while True:
            line = self.line
            cal = line.calendar
            status = _events.run_events(
                ev.p,
                ev.release,
                ev.variant,
                ev.row0,
                until,
                ev.line_i,
                line.feeders,
                (line.ttf_code, line.ttr_code, line.table, self.draws.fail_keys),
                (cal.starts, cal.ends, cal.cum),
                ev.state,
                books,
                self.stats,
                trace,
                first,
            )
            ev.taken()
            self._book_log(ev)
            if status == _events.STATUS_LOG:
                continue
            if status == _events.STATUS_CALENDAR:
                self._grow_calendar()
                continue
            if status == _events.STATUS_DONE and ev.in_line:
                raise RuntimeError("the event kernel stopped with jobs in the line")
            self._scal[0] = self._line[_stats.L_DONE]
            return

    def _book_log(self, ev: _EventState) -> None:
        n = int(ev.sc[_events.SC_LOG_N])
        if n == 0:
            return
        line = self.line
        cal = line.calendar
        _stats.book_log(
            ev.log,
            n,
            line.fail_basis,
            line.ttf_code,
            line.ttr_code,
            line.table,
            self.draws.fail_keys,
            cal.starts,
            cal.ends,
            cal.cum,
            self._fst_stats,
            self._act,
            self._acc,
            self._bins,
            self.bin_edges,
            self._hint_stats,
            self._hint_bins,
        )
        ev.sc[_events.SC_LOG_N] = 0

    def bin_stats(self, k: int) -> BinStats:
        """The statistics of bin ``k`` so far (jobs fed later may still add to it)."""
        b = self._bins[k]
        return BinStats(
            jobs_in=b[:, _stats.B_IN].copy(),
            jobs_out=b[:, _stats.B_OUT].copy(),
            busy_s=b[:, _stats.B_BUSY].copy(),
            blocked_s=b[:, _stats.B_BLOCKED].copy(),
            failed_s=b[:, _stats.B_FAILED].copy(),
            active_mean_s=b[:, _stats.B_ACT_SUM] / np.maximum(b[:, _stats.B_ACT_CNT], 1.0),
            done_by_variant=self._done[k].copy(),
        )

    def _prefetch_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evplant-draws")
        return self._pool

    def _run(self, p: np.ndarray, release: np.ndarray, out: Visits) -> int:
        line = self.line
        total = 0
        while True:
            cal = line.calendar
            status, got = _kernel.run_rows(
                np.ascontiguousarray(p[total:]),
                release[total:],
                line.servers,
                line.buffers,
                line.up,
                line.down,
                line.feeders,
                line.fail_basis,
                line.ttf_code,
                line.ttr_code,
                line.table,
                self.draws.fail_keys,
                cal.starts,
                cal.ends,
                cal.cum,
                self._ring,
                self._free_at,
                self._fst,
                self._scal,
                self._last_in,
                self._hint,
                out.entry[total:],
                out.end[total:],
                out.departure[total:],
                out.server[total:],
                out.repair[total:],
            )
            total += got
            if status == _kernel.STATUS_DONE:
                return total
            self._grow_calendar()
            line = self.line

    def _grow_calendar(self) -> None:
        spec = self.line.calendar_spec
        if not self._extend or spec is None:
            raise EvplantError(
                f"the working calendar ends at {self.line.calendar.end:.0f} s before the "
                f"jobs are done; give a calendar that covers the whole run"
            )
        self.set_calendar(spec.build(horizon_s=2.0 * self.line.calendar.end))

    def _book(self, vis: Visits) -> None:
        if not self.stats:
            self._count(vis)
            return
        line = self.line
        cal = line.calendar
        _stats.accumulate(
            vis.entry,
            vis.end,
            vis.departure,
            vis.server,
            vis.repair,
            line.fail_basis,
            line.ttf_code,
            line.ttr_code,
            line.table,
            self.draws.fail_keys,
            cal.starts,
            cal.ends,
            cal.cum,
            self._fst_stats,
            self._act,
            self._acc,
            self._bins,
            self.bin_edges,
            self._line,
            self._hint_stats,
            self._hint_bins,
        )

    def _count(self, vis: Visits) -> None:
        """Entries at the first station and departures from the last, per bin: a bin is
        the last one starting at or before the time, as in the statistics pass."""
        starts = self.bin_edges[:-1]
        nb = len(starts)
        for col, times, slot in (
            (0, vis.entry[:, 0], _stats.B_IN),
            (-1, vis.departure[:, -1], _stats.B_OUT),
        ):
            b = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, nb - 1)
            self._bins[:, col, slot] += np.bincount(b, minlength=nb)

    def result(self, name: str | None = None) -> LineResult:
        """Statistics so far, over [0, T] with T the last departure from the last station."""
        if not self.stats:
            raise RuntimeError("this engine counts jobs only (stats=False): no statistics")
        self.drain()
        line = self.line
        cal = line.calendar
        t_end = float(self._line[_stats.L_T])
        acc, bins = self._acc.copy(), self._bins.copy()
        _stats.close_all(
            t_end,
            line.fail_basis,
            line.servers,
            line.ttf_code,
            line.ttr_code,
            line.table,
            self.draws.fail_keys,
            cal.starts,
            cal.ends,
            cal.cum,
            self._fst_stats.copy(),
            self._act.copy(),
            acc,
            bins,
            self.bin_edges,
        )
        return summarise(line, acc, bins, self._line, self.bin_edges, name=name)


def summarise(
    line: CompiledLine,
    acc: np.ndarray,
    bins: np.ndarray,
    line_acc: np.ndarray,
    bin_edges: np.ndarray,
    *,
    name: str | None = None,
    engine: str = "fast",
) -> LineResult:
    t_end = float(line_acc[_stats.L_T])
    done = int(line_acc[_stats.L_DONE])
    cal = line.calendar
    on = float(cal.working_before(t_end)) if t_end > 0 else 0.0
    k = line.servers.astype(float)
    denom = np.where(k * t_end > 0, k * t_end, 1.0)
    busy = acc[:, _stats.BUSY] / denom
    blocked = acc[:, _stats.BLOCKED] / denom
    failed = acc[:, _stats.FAILED] / denom
    off = np.full(line.m, (t_end - on) / t_end if t_end > 0 else 0.0)
    starved = np.clip(1.0 - off - busy - blocked - failed, 0.0, None)
    act_mean = acc[:, _stats.ACT_SUM] / np.maximum(acc[:, _stats.ACT_CNT], 1.0)
    up = np.where(on > 0, (k * on - acc[:, _stats.FAILED]) / np.maximum(k * on, 1e-300), 0.0)
    run_time = k * on - acc[:, _stats.FAILED]
    perf = np.where(
        run_time > 0, line.ideal_ct * acc[:, _stats.JOBS] / np.maximum(run_time, 1e-300), 0.0
    )
    stations = [
        StationStats(
            name=line.names[i],
            servers=int(k[i]),
            jobs=int(acc[i, _stats.JOBS]),
            busy=float(busy[i]),
            blocked=float(blocked[i]),
            starved=float(starved[i]),
            failed=float(failed[i]),
            off_shift=float(off[i]),
            active_period_mean_s=float(act_mean[i]),
            availability=float(up[i]),
            performance=float(perf[i]),
            quality=float(line.fpy[i]),
        )
        for i in range(line.m)
    ]
    bottleneck = line.names[int(np.argmax(act_mean))] if done else ""
    act_max = bins[:, :, _stats.B_ACT_MAX]
    timeline = [line.names[int(np.argmax(row))] if row.max() > 0 else "" for row in act_max]
    ideal_line = float(np.max(line.ideal_ct / k))
    oee = done * ideal_line / on * float(np.prod(line.fpy)) if on > 0 else 0.0
    return LineResult(
        name=name or "line",
        jobs=done,
        horizon_s=t_end,
        throughput_per_hour=done / t_end * 3600.0 if t_end > 0 else 0.0,
        lead_time_mean_s=float(line_acc[_stats.L_LEAD]) / done if done else 0.0,
        wip_mean=float(line_acc[_stats.L_LEAD]) / t_end if t_end > 0 else 0.0,
        stations=stations,
        bottleneck=bottleneck,
        oee=oee,
        bin_edges=bin_edges,
        timeline=timeline,
        engine=engine,
    )


def _in_time_order(vis: Visits) -> Visits:
    """Each station's visits in the order they entered it (where jobs overtake, that is
    not the build order): the statistics pass walks each server in time order, and
    books each station's column on its own."""
    order = np.argsort(vis.entry, axis=0, kind="stable")
    return Visits(
        *(np.take_along_axis(a, order, axis=0)
          for a in (vis.entry, vis.end, vis.departure, vis.server, vis.repair))
    )


def simulate_visits(
    line: CompiledLine,
    p: np.ndarray,
    release: np.ndarray | None = None,
    fail_keys: np.ndarray | None = None,
) -> Visits:
    """Run given processing times through the compiled kernel (the reference's twin)."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    engine = LineEngine(line, seed=0, chunk=max(len(p), 1))
    if fail_keys is not None:
        engine.draws.fail_keys = np.ascontiguousarray(fail_keys, dtype=np.uint64)
        engine._fst = _initial_failures(line, engine.draws.fail_keys)
        engine._fst_stats = engine._fst.copy()
        if engine._events is not None:
            engine._events = _EventState(line, engine._fst)
    rel = np.zeros(len(p)) if release is None else release
    out = engine.feed(len(p), release=rel, variants=np.zeros(len(p), np.int64), keep=True, p=p)
    assert out is not None
    return out


def simulate_line(
    line: CompiledLine,
    n_jobs: int,
    seed: int | np.random.SeedSequence = 0,
    *,
    engine: Engine = "fast",
    bin_edges: np.ndarray | None = None,
    name: str | None = None,
) -> LineResult:
    """Simulate ``n_jobs`` through a line with either engine; same draws for both.

    Parameters
    ----------
    line : CompiledLine
        The line, from ``LineSpec.compile()``.
    n_jobs : int
        Jobs (vehicles) to run, at least 1.
    seed : int or numpy.random.SeedSequence
        The root of every random stream; the same seed gives the same draws to both
        engines.
    engine : {"fast", "reference"}
        The compiled kernel, or the SimPy reference model of the same semantics.
    bin_edges : numpy.ndarray, optional
        Edges of the time bins of the bottleneck timeline, in seconds.
    name : str, optional
        The line's name in the result (default ``"line"``).

    Returns
    -------
    LineResult
        Throughput, lead time, WIP, per-station figures and the bottleneck.

    Raises
    ------
    EvplantError
        If ``n_jobs`` is less than 1.

    Examples
    --------
    >>> from evplant import LineSpec, simulate_line
    >>> line = LineSpec.model_validate({"stations": [
    ...     {"name": "a", "cycle_time": {"dist": "deterministic", "value": 60}},
    ...     {"name": "b", "cycle_time": {"dist": "deterministic", "value": 50}}],
    ...     "buffers": [1]}).compile()
    >>> result = simulate_line(line, 100)
    >>> result.horizon_s, result.bottleneck
    (6050.0, 'a')
    """
    if n_jobs < 1:
        raise EvplantError(f"--jobs must be at least 1, got {n_jobs}", field="jobs")
    fast = LineEngine(line, seed, bin_edges=bin_edges, prefetch=True)
    if engine == "fast":
        fast.feed(n_jobs)
        return fast.result(name=name)
    from .reference import simulate_reference

    variants = fast.draws.variants(n_jobs)
    p = fast.draws.processing(variants)
    release = fast.draws.releases(n_jobs)
    if line.calendar_spec is not None:
        # give the reference a calendar long enough: what the fast engine needed, twice
        fast.feed(n_jobs, release=release, variants=variants, p=p)
        line = fast.line.with_calendar(line.calendar_spec.build(2.0 * fast.line.calendar.end))
    ref = simulate_reference(line, p, release, fast.draws.fail_keys)
    booked = LineEngine(line, seed, bin_edges=bin_edges, chunk=max(n_jobs, 1))
    booked._book(_in_time_order(ref.visits))
    result = booked.result(name=name)
    result.engine = "reference"
    return result
