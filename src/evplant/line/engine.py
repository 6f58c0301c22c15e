"""The public line engine: compiled kernel, chunked and resumable.

``LineEngine`` feeds jobs to the kernel in chunks and keeps its state between calls,
so a plant can run millions of vehicles month by month with memory that does not
grow with the number of vehicles. ``simulate_line`` is the one-call form used by the
``evplant line`` command; ``simulate_visits`` runs given draws (the reference engine's
twin, for tests).

Which path each feature takes (chosen per line, ``CompiledLine.in_build_order`` and
``CompiledLine.stagger``):

- a line on which no job can overtake another (every station has one server or keeps
  the sequence) runs through the max-plus recursion in build order,
  ``_kernel.run_rows``: shifts and breaks, operating- and calendar-time failures,
  parallel servers that keep the sequence, zero buffers, release times, variants and
  assembly joins (a resequencing store changes nothing there: jobs arrive in build
  order). The rows of each chunk are booked into the statistics right after the
  kernel has done them (``_stats.book_rows``), with the same loop body
  (``_stats._book_station``) that measures the reference engine's visits;
- a line with a station whose servers let jobs overtake (several servers, the
  default) runs through the staggered recursion, ``_stagger.run_staggered``: the
  same recursion over each station's own orders of entry and departure, each station
  running a few rows behind the one before it. It carries every feature above plus
  overtaking, at about four times the event-driven kernel's speed on the same lines
  (``benchmarks/run.py``).
  The last departures of each station wait for jobs not fed yet; what they do before
  a promise (``until``) is worked out on a copy of the state with jobs that never come
  and booked at once (``_look_ahead``), so a month is complete when it is read;
- a line whose jobs are reworked or scrapped, with a resequencing store among
  overtaking stations, or one the staggered recursion cannot order (see
  ``CompiledLine.stagger``) runs through the compiled event-driven kernel,
  ``_events.run_events``, which carries every feature, and logs the visits for
  ``_stats.book_log`` (the same books, visit by visit).

The kernels' state is named (``_named``): ``Recursion`` for the max-plus path (and,
with ``Stagger`` beside it, the staggered recursion), ``EventState`` for the event
path, ``Books`` for the statistics of all three.

See ``docs/line-semantics.md`` for why each is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, NamedTuple

import numpy as np

from ..errors import EvplantError
from . import _events, _kernel, _stagger, _stats
from ._event_state import EventState
from ._named import (
    B_ACT_CNT,
    B_ACT_SUM,
    B_BLOCKED,
    B_BUSY,
    B_FAILED,
    B_IN,
    B_OUT,
    B_REDO,
    B_REWORK,
    B_SCRAP,
    BOOK_ALL,
    BOOK_COUNT,
    FST_A,
    FST_B,
    L_DONE,
    L_LEAD,
    L_SCRAP,
    L_T,
    Books,
    Calendar,
    Failures,
    Quality,
    Recursion,
    Stagger,
    Topology,
    Trace,
    new_books,
)
from ._stagger_state import keep_visits, new_stagger
from .calendar import WorkCalendar
from .result import BinStats, LineResult, StationStats, summarise
from .sampling import LineDraws
from .spec import DEFECT_PASS, FAIL_CALENDAR, FAIL_OPERATING, CompiledLine
from .visits import Visits

__all__ = [
    "BinStats",
    "Engine",
    "LineEngine",
    "LineResult",
    "StationStats",
    "simulate_line",
    "simulate_visits",
    "summarise",
]

Engine = Literal["fast", "reference"]


def _ring_length(line: CompiledLine) -> int:
    k = line.servers
    down = line.down
    room = [int(line.buffers[i] + k[down[i]]) for i in range(line.m) if down[i] >= 0]
    need = max(int(k.max()), max(room, default=0)) + 1
    wave = line.stagger
    if wave is not None:
        # the staggered recursion also reads as far back as a station runs behind
        need += int(line.rows_behind(wave).max()) + int(k.max()) + 1
    return 1 << (need - 1).bit_length()  # a power of two, so the kernel can mask


def _initial_failures(line: CompiledLine, keys: np.ndarray) -> np.ndarray:
    from .draws import draw

    kmax = keys.shape[1]
    fst = np.zeros((line.m, kmax, 3))
    for i in range(line.m):
        for s in range(int(line.servers[i])):
            if line.fail_basis[i] == FAIL_OPERATING:
                fst[i, s, FST_A] = draw(keys[i, s, 0], 0, line.ttf_code[i], line.table)
            elif line.fail_basis[i] == FAIL_CALENDAR:
                lo = draw(keys[i, s, 0], 0, line.ttf_code[i], line.table)
                fst[i, s, FST_A] = lo
                fst[i, s, FST_B] = lo + draw(keys[i, s, 1], 0, line.ttr_code[i], line.table)
    return fst


class Inputs(NamedTuple):
    """A chunk of jobs: processing times [n, m], release times, variants, and when
    each job's parts for the line's gates come [n, gates]."""

    p: np.ndarray
    release: np.ndarray
    variant: np.ndarray
    ready: np.ndarray


def _trace(vis: Visits) -> Trace:
    return Trace(vis.entry, vis.end, vis.departure, vis.server, vis.repair)


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
        # stats=False: book only the first station's entries (B_IN), the last
        # station's departures (B_OUT) and the completions per bin, the same counts the
        # full statistics book; a third of the run's time saved where nothing else is
        # read (Monte Carlo)
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
        self._buf = Visits.scratch(chunk, line.m)
        self._start_state()

    def _start_state(self) -> None:
        """Empty line, failure clocks at their first draws, books empty."""
        line, keys = self.line, self.draws.fail_keys
        m, kmax = line.m, keys.shape[1]
        self._rec = Recursion(
            ring=np.full((m, _ring_length(line)), -math.inf),
            free_at=np.full((m, kmax), -math.inf),
            fst=_initial_failures(line, keys),
            next_job=np.array([0.0]),
            last_in=np.full(m, -math.inf),
            hint=np.zeros(m, dtype=np.int64),
        )
        mode = BOOK_ALL if self.stats else BOOK_COUNT
        self._books = new_books(
            m, kmax, self.bin_edges, len(line.variant_names), self._rec.fst, mode
        )
        self._wave = line.stagger
        self._stagger = None if self._wave is None else new_stagger(line, self._wave, self._rec)
        events = not line.in_build_order and self._wave is None
        self._events = EventState(line, self._rec.fst) if events else None

    @property
    def jobs_done(self) -> int:
        if self._stagger is not None:
            return int(self._books.line[L_DONE])
        return int(self._rec.next_job[0])

    @property
    def calendar(self) -> WorkCalendar:
        return self.line.calendar

    def set_calendar(self, calendar: WorkCalendar) -> None:
        """Swap in a longer calendar; it must agree with the old one where they overlap."""
        self.line = self.line.with_calendar(calendar)

    def _topology(self) -> Topology:
        line = self.line
        return Topology(line.servers, line.buffers, line.up, line.down, line.feeders, line.gate)

    def _failures(self) -> Failures:
        line = self.line
        return Failures(
            line.fail_basis, line.ttf_code, line.ttr_code, line.table, self.draws.fail_keys
        )

    def _quality(self) -> Quality:
        line = self.line
        return Quality(line.fpy, self.draws.quality_keys, line.defect, line.rework_to)

    def _calendar(self) -> Calendar:
        cal = self.line.calendar
        return Calendar(cal.starts, cal.ends, cal.cum)

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
        ready: np.ndarray | None = None,
    ) -> Visits | None:
        """Run the next ``n`` jobs through the line.

        ``release``: release times (non-decreasing; default: the line's own release
        process, or unlimited supply). ``variants``: variant index per job (default:
        the line's sequence or mix). ``p``: processing times to use instead of drawing
        them (tests). ``scale`` multiplies the drawn times (ramp-up learning).
        ``ready[j, g]``: when job j's part for the line's gate g comes (see
        ``CompiledLine.with_gates``; default: every part is there). With ``keep``,
        return the jobs' visits.

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

        gates = self.line.gates
        if ready is not None and np.shape(ready) != (n, gates):
            raise ValueError(f"ready must be [{n}, {gates}] (jobs, gates), got {np.shape(ready)}")

        def inputs(lo: int, hi: int) -> Inputs:
            # drawn chunk by chunk, so memory does not grow with n
            v = self.draws.variants(hi - lo) if variants is None else variants[lo:hi]
            v = np.asarray(v, np.int64)
            pp = self.draws.processing(v, scale) if p is None else p[lo:hi]
            rel = self.draws.releases(hi - lo) if release is None else release[lo:hi]
            rd = np.full((hi - lo, gates), -math.inf) if ready is None else ready[lo:hi]
            return Inputs(
                np.ascontiguousarray(pp),
                np.ascontiguousarray(rel, dtype=np.float64),
                v,
                np.ascontiguousarray(rd, dtype=np.float64),
            )

        kept = Visits.empty(n, self.line.m) if keep else None
        if self._events is not None:
            self._feed_events(n, chunks, inputs, kept, until)
            return kept
        if self._stagger is not None:
            first = int(self._rec.next_job[0])
            for lo, hi in chunks:
                k = hi - lo
                buf = self._buf if k == self.chunk else Visits.scratch(k, self.line.m)
                self._run_wave(inputs(lo, hi), buf, self._rec, self._stagger, math.inf, kept, first)
            if kept is not None:
                self._look_ahead(math.inf, kept, first)
            elif until is not None:
                self.advance(until)
            return kept
        pool = self._prefetch_pool() if self.prefetch and len(chunks) > 1 else None
        nxt = pool.submit(inputs, *chunks[0]) if pool is not None else None
        for c, (lo, hi) in enumerate(chunks):
            if nxt is not None and pool is not None:
                got = nxt.result()
                # draw the next chunk on the other core while this one runs
                nxt = pool.submit(inputs, *chunks[c + 1]) if c + 1 < len(chunks) else None
            else:
                got = inputs(lo, hi)
            if kept is not None:
                self._run(got, kept[lo:hi])
            else:
                k = hi - lo
                self._run(got, self._buf if k == self.chunk else Visits.scratch(k, self.line.m))
        return kept

    def advance(self, until: float) -> None:
        """Promise that no job fed later is released before ``until``, and walk the line
        up to then (the event-driven path; nothing to do on the max-plus path)."""
        ev = self._events
        if ev is not None:
            ev.promise = max(until, ev.promise)
            self._walk(ev, ev.promise, None, 0)
        if self._stagger is not None:
            floor = self._stagger.floor
            floor[0] = max(floor[0], until)
            self._look_ahead(floor[0], None, 0)

    def drain(self) -> None:
        """Finish every job fed so far (the event-driven path and the staggered
        recursion; the max-plus path has finished them already). Jobs fed afterwards
        enter no earlier than the last instant walked."""
        if self._events is not None:
            self._walk(self._events, math.inf, None, 0)
        if self._stagger is not None:
            self._look_ahead(math.inf, None, 0)

    def _run_wave(
        self,
        jobs: Inputs,
        out: Visits,
        rec: Recursion,
        st: Stagger,
        until: float,
        kept: Visits | None,
        first: int,
    ) -> None:
        """The staggered recursion over the ``jobs`` (with ``rec`` and ``st``, the
        engine's own state or a copy to look ahead on), extending the calendar as
        needed; the visits it finishes before ``until`` are booked, and those of jobs
        ``first ..`` copied into ``kept``."""
        assert self._wave is not None
        lag, ot = self._wave
        p, release, variant, ready = jobs
        topo, fail = self._topology(), self._failures()
        m = self.line.m
        # which job each row's visits are of: needed only to keep them
        jid = np.full((len(p) if kept is not None else 0, m), -1, dtype=np.int64)
        ein = np.empty((len(p), m))
        lo = np.empty((m, 2), dtype=np.int64)
        hi = np.empty((m, 2), dtype=np.int64)
        # where the calendar ran out: the row's first station to do again (-1: none)
        at = np.full(1, -1, dtype=np.int64)
        total = 0
        while True:
            trace = _trace(out[total:])
            status, got = _stagger.run_staggered(
                np.ascontiguousarray(p[total:]), release[total:], variant[total:],
                ready[total:], topo, lag, ot, fail, self._calendar(), rec, st, trace,
                jid[total:], self._books, until, lo, hi, ein[total:], at,
            )  # fmt: skip
            # the rows done, and the one the calendar cut (its first stations done)
            span = got + 1 if at[0] >= 0 else got
            _stats.book_entries(ein[total:], lo, hi, self._books)
            if self.stats:
                done = _trace(out[total : total + span])
                _stats.book_ranges(done, lo, hi, topo.servers, fail, self._calendar(), self._books)
            if kept is not None:
                keep_visits(kept, out[total : total + span], jid[total : total + span], first)
            total += got
            if status == _stagger.STATUS_DONE:
                return
            if status == _stagger.STATUS_TOKENS:
                raise RuntimeError("the staggered recursion ran out of tokens")
            self._grow_calendar()

    def _look_ahead(self, until: float, kept: Visits | None, first: int) -> None:
        """Book what the jobs fed do before ``until``: the staggered recursion run on
        a copy of its state with jobs that never come (see ``_stagger``). ``until``
        infinite: every job fed is finished, and jobs fed later enter after the last
        departure."""
        st = self._stagger
        assert st is not None and self._wave is not None
        n = int(self.line.rows_behind(self._wave).max()) + 1
        m = self.line.m
        rec = Recursion(*(a.copy() for a in self._rec))
        # the watermarks are the real ones, so what is booked here is booked once (the
        # tokens are copied too: one a job frees here may be taken again by a job that
        # never comes, while the real job still holds it)
        look = st._replace(**{f: getattr(st, f).copy() for f in Stagger._fields if f != "wm"})
        jobs = Inputs(
            np.zeros((n, m)),
            np.full(n, math.inf),
            np.zeros(n, dtype=np.int64),
            np.full((n, self.line.gates), -math.inf),
        )
        self._run_wave(jobs, Visits.scratch(n, m), rec, look, until, kept, first)
        if math.isinf(until):
            st.floor[0] = max(st.floor[0], float(self._books.line[L_T]))

    def _feed_events(
        self,
        n: int,
        chunks: list[tuple[int, int]],
        inputs: Callable[[int, int], Inputs],
        kept: Visits | None,
        until: float | None,
    ) -> None:
        ev = self._events
        assert ev is not None
        first = ev.fed
        for lo, hi in chunks:
            ev.add(*inputs(lo, hi))
            # the promise holds after the last chunk only: the later chunks of this
            # call are released before it
            self._walk(ev, ev.promise, kept, first)
        if kept is not None:
            self._walk(ev, math.inf, kept, first)
        elif until is not None:
            self.advance(until)

    def _walk(self, ev: EventState, until: float, kept: Visits | None, first: int) -> None:
        m = self.line.m
        trace = _trace(kept if kept is not None else Visits.empty(0, m))
        b = self._books
        books = (ev.log, b.bins, b.edges, b.line, b.bhint, b.done, b.scrap)
        while True:
            status = _events.run_events(
                ev.p,
                ev.release,
                ev.variant,
                ev.ready,
                ev.row0,
                until,
                ev.line_i,
                self.line.feeders,
                self.line.gate,
                self._failures(),
                self._quality(),
                self._calendar(),
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
            self._rec.next_job[0] = b.line[L_DONE]
            return

    def _book_log(self, ev: EventState) -> None:
        n = int(ev.sc[_events.SC_LOG_N])
        if n == 0:
            return
        _stats.book_log(
            ev.log, n, self.line.servers, self._failures(), self._calendar(), self._books
        )
        ev.sc[_events.SC_LOG_N] = 0

    def bin_stats(self, k: int) -> BinStats:
        """The statistics of bin ``k`` so far (jobs fed later may still add to it)."""
        b = self._books.bins[k]
        return BinStats(
            jobs_in=b[:, B_IN] - b[:, B_REDO],
            jobs_out=b[:, B_OUT] - b[:, B_REWORK] - b[:, B_SCRAP],
            busy_s=b[:, B_BUSY].copy(),
            blocked_s=b[:, B_BLOCKED].copy(),
            failed_s=b[:, B_FAILED].copy(),
            active_mean_s=b[:, B_ACT_SUM] / np.maximum(b[:, B_ACT_CNT], 1.0),
            done_by_variant=self._books.done[k].copy(),
            reworked=b[:, B_REWORK].copy(),
            scrapped=b[:, B_SCRAP].copy(),
            scrapped_by_variant=self._books.scrap[k].copy(),
        )

    def _prefetch_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evplant-draws")
        return self._pool

    def _run(self, jobs: Inputs, out: Visits) -> int:
        """The max-plus kernel over the ``jobs``, extending the calendar as needed;
        their visits are written to ``out`` and booked."""
        p, release, variant, ready = jobs
        topo, fail = self._topology(), self._failures()
        total = 0
        while True:
            trace = _trace(out[total:])
            status, got = _kernel.run_rows(
                np.ascontiguousarray(p[total:]),
                release[total:],
                ready[total:],
                topo,
                fail,
                self._calendar(),
                self._rec,
                trace,
            )
            done = _trace(out[total : total + got])
            _stats.book_rows(
                done, variant[total:], topo.servers, fail, self._calendar(), self._books
            )
            total += got
            if status == _kernel.STATUS_DONE:
                return total
            self._grow_calendar()

    def _grow_calendar(self) -> None:
        spec = self.line.calendar_spec
        if not self._extend or spec is None:
            raise EvplantError(
                f"the working calendar ends at {self.line.calendar.end:.0f} s before the "
                f"jobs are done; give a calendar that covers the whole run"
            )
        self.set_calendar(spec.build(horizon_s=2.0 * self.line.calendar.end))

    def _book(self, vis: Visits) -> None:
        """Book visits run elsewhere (the reference engine's), each station's in its
        time order; completions are not split by variant."""
        _stats.accumulate(
            _trace(vis), self.line.servers, self._failures(), self._calendar(), self._books
        )

    def _book_log_of(self, log: np.ndarray, variants: np.ndarray) -> None:
        """Book a log of visits run elsewhere (``ReferenceResult.log``: every visit, in
        the order jobs left their stations), counts and completions included."""
        b = self._books
        n = len(log)
        _stats.book_log(
            np.ascontiguousarray(log[:, :6]), n, self.line.servers, self._failures(),
            self._calendar(), b,
        )  # fmt: skip
        st = log[:, 0].astype(np.int64)
        fate, job, redo = log[:, 6].astype(np.int64), log[:, 7].astype(np.int64), log[:, 8]
        nb = len(b.edges) - 1

        def bin_(t: np.ndarray) -> np.ndarray:
            return np.clip(np.searchsorted(b.edges, t, side="right") - 1, 0, nb - 1)

        np.add.at(b.bins[:, :, B_IN], (bin_(log[:, 2]), st), 1.0)
        np.add.at(b.bins[:, :, B_REDO], (bin_(log[:, 2]), st), redo)
        for col, which in ((B_REWORK, 1), (B_SCRAP, 2)):
            hit = fate == which
            np.add.at(b.bins[:, :, col], (bin_(log[hit, 4]), st[hit]), 1.0)
        last = self.line.m - 1
        good = (st == last) & (fate == 0)
        scrap = fate == 2
        first = (st == 0) & (redo == 0)
        np.add.at(b.done, (bin_(log[good, 4]), variants[job[good]]), 1.0)
        np.add.at(b.scrap, (bin_(log[scrap, 4]), variants[job[scrap]]), 1.0)
        b.line[L_DONE] += good.sum()
        b.line[L_SCRAP] += scrap.sum()
        b.line[L_T] = max(b.line[L_T], float(log[good, 4].max(initial=0.0)))
        b.line[L_LEAD] += log[good, 4].sum() + log[scrap, 4].sum() - log[first, 2].sum()

    def result(self, name: str | None = None) -> LineResult:
        """Statistics so far, over [0, T] with T the last departure from the last station."""
        if not self.stats:
            raise RuntimeError("this engine counts jobs only (stats=False): no statistics")
        self.drain()
        books = self._books
        t_end = float(books.line[L_T])
        # closed on a copy: the engine may go on
        closed = Books(*(a.copy() for a in books))
        _stats.close_all(t_end, self.line.servers, self._failures(), self._calendar(), closed)
        return summarise(self.line, closed.acc, closed.bins, books.line, self.bin_edges, name=name)


def _in_time_order(vis: Visits) -> Visits:
    """Each station's visits in the order they entered it (where jobs overtake, that is
    not the build order): the statistics pass walks each server in time order, and
    books each station's column on its own."""
    order = np.argsort(vis.entry, axis=0, kind="stable")
    return Visits(
        *(
            np.take_along_axis(a, order, axis=0)
            for a in (vis.entry, vis.end, vis.departure, vis.server, vis.repair)
        )
    )


def simulate_visits(
    line: CompiledLine,
    p: np.ndarray,
    release: np.ndarray | None = None,
    fail_keys: np.ndarray | None = None,
    ready: np.ndarray | None = None,
    quality_keys: np.ndarray | None = None,
) -> Visits:
    """Run given processing times through the compiled kernel (the reference's twin);
    a reworked job's visits are its last to each station."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    engine = LineEngine(line, seed=0, chunk=max(len(p), 1))
    if quality_keys is not None:
        engine.draws.quality_keys = np.ascontiguousarray(quality_keys, dtype=np.uint64)
    if fail_keys is not None:
        engine.draws.fail_keys = np.ascontiguousarray(fail_keys, dtype=np.uint64)
        engine._start_state()
    rel = np.zeros(len(p)) if release is None else release
    v = np.zeros(len(p), np.int64)
    out = engine.feed(len(p), release=rel, variants=v, keep=True, p=p, ready=ready)
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
    ref = simulate_reference(line, p, release, fast.draws.fail_keys, None, fast.draws.quality_keys)
    booked = LineEngine(line, seed, bin_edges=bin_edges, chunk=max(n_jobs, 1))
    if (line.defect != DEFECT_PASS).any():
        # a reworked job visits a station more than once: book the reference's log
        booked._book_log_of(ref.log, variants)
    else:
        booked._book(_in_time_order(ref.visits))
    result = booked.result(name=name)
    result.engine = "reference"
    return result
