"""Long work off the request threads: two pools of worker threads, progress and cancel.

Quick reruns (a change over the first two years, or the full horizon) and long jobs
(replications, Monte Carlo, calibration) run in pools of their own, so a rerun never
waits behind a Monte Carlo run; each pool has a fixed number of workers. A session runs
at most one job in each pool at a time; what it asks for meanwhile waits (at most
``per_session`` jobs), and a newer quick rerun replaces one still waiting, since only
the latest edit matters. A waiting job knows how many jobs are ahead of it in its pool.
Workers are threads: the simulation's compiled parts release the GIL and the page's
requests stay answered while a job runs. A job is cancelled at its next progress report
(a month of a run, a batch of Monte Carlo, a step of calibration), which raises
:class:`Cancelled` inside it; a job with a folder that ends cancelled or failed leaves a
note there saying what in it is complete.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import atomic
from ..errors import EvplantError

QUICK, LONG = "quick", "long"
#: the note a job that did not finish leaves in its folder
UNFINISHED = "UNFINISHED.txt"


class Cancelled(Exception):
    """Raised inside a job's work at its next progress report after a cancel."""


@dataclass
class Job:
    """One piece of work for one session, and where it stands."""

    session: str
    kind: str
    label: str
    work: Callable[[Job], Any]
    coalesce: bool = False  # a newer job of the same kind replaces this one while queued
    long: bool = False  # runs in the long jobs' pool
    seq: int = 0  # the session's edit this job answers (newest wins)
    folder: Path | None = None  # where it writes, marked when it does not finish
    id: str = field(default_factory=lambda: secrets.token_hex(6))
    state: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int = 0
    result: Any = None
    error: str = ""
    why: str = ""  # why it was cancelled, when the user did not ask
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)

    def progress(self, done: int, total: int) -> None:
        """Report progress (the ``progress`` callback of simulate, run_mc, calibrate);
        raises Cancelled when the job was cancelled."""
        if self.cancel_event.is_set():
            raise Cancelled
        self.done, self.total = int(done), int(total)

    @property
    def pool(self) -> str:
        return LONG if self.long else QUICK

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started


@dataclass
class Status:
    """A session's jobs: running ones, waiting ones with how many jobs are ahead of
    each in its pool, and the latest finished one."""

    running: list[Job]
    waiting: list[tuple[Job, int]]
    last: Job | None


class QueueFull(EvplantError):
    """A session asked for more work than its queue holds."""


class Jobs:
    """The two pools and their worker threads."""

    def __init__(self, quick_workers: int = 2, long_workers: int = 1,
                 per_session: int = 4) -> None:
        self.per_session = per_session
        self.workers = {QUICK: quick_workers, LONG: long_workers}
        self._lock = threading.Condition()
        self._queue: dict[str, list[Job]] = {QUICK: [], LONG: []}
        self._running: dict[str, list[Job]] = {QUICK: [], LONG: []}
        self._last: dict[str, Job] = {}  # session -> its latest finished job
        self._closed = False
        self._threads = [
            threading.Thread(target=self._loop, args=(pool,), daemon=True,
                             name=f"evplant-page-{pool}-{i}")
            for pool, n in self.workers.items() for i in range(n)
        ]
        for t in self._threads:
            t.start()

    def submit(self, job: Job) -> Job:
        """Queue a job; a waiting job of the same session and kind that coalesces is
        dropped for it. Raises QueueFull past ``per_session`` waiting jobs."""
        with self._lock:
            if self._closed:
                raise EvplantError("the server is stopping")
            queue = self._queue[job.pool]
            if job.coalesce:
                for old in [j for j in queue if j.session == job.session and j.kind == job.kind]:
                    old.state = "cancelled"
                    queue.remove(old)
            waiting = sum(1 for q in self._queue.values() for j in q
                          if j.session == job.session)
            if waiting >= self.per_session:
                raise QueueFull(
                    f"{waiting} jobs are already waiting; cancel or let them finish first"
                )
            queue.append(job)
            self._lock.notify_all()
        return job

    def cancel(self, session: str, why: str = "") -> int:
        """Cancel the session's running jobs and every job it has waiting; how many."""
        with self._lock:
            k = 0
            for pool in (QUICK, LONG):
                for j in [j for j in self._queue[pool] if j.session == session]:
                    j.state, j.why, j.finished = "cancelled", why, time.monotonic()
                    self._queue[pool].remove(j)
                    self._last[session] = j  # a running one, unwinding, comes after
                    k += 1
                for j in self._running[pool]:
                    if j.session == session and not j.cancel_event.is_set():
                        j.why = why
                        j.cancel_event.set()
                        k += 1
            return k

    def busy(self, session: str) -> bool:
        """Whether the session has a job running or waiting."""
        with self._lock:
            return any(j.session == session for pool in (QUICK, LONG)
                       for j in (*self._queue[pool], *self._running[pool])
                       if not j.cancel_event.is_set())

    def status(self, session: str) -> Status:
        with self._lock:
            running = [j for pool in (QUICK, LONG) for j in self._running[pool]
                       if j.session == session]
            waiting = []
            for pool in (QUICK, LONG):
                ahead = len(self._running[pool])
                for j in self._queue[pool]:
                    if j.session == session:
                        waiting.append((j, ahead))
                    ahead += 1
            return Status(running, waiting, self._last.get(session))

    def load(self) -> dict[str, tuple[int, int]]:
        """(running, waiting) per pool: what the server's log reports."""
        with self._lock:
            return {p: (len(self._running[p]), len(self._queue[p])) for p in (QUICK, LONG)}

    def forget(self, session: str) -> None:
        """Drop a session: cancel its work and its last job."""
        self.cancel(session, "its session was dropped")
        with self._lock:
            self._last.pop(session, None)

    def close(self, wait: float = 10.0) -> None:
        """Cancel everything and wait (up to ``wait`` s) for the workers to stop, so that
        a job's folder is marked before the server's own folder is removed."""
        with self._lock:
            self._closed = True
            for pool in (QUICK, LONG):
                for j in self._queue[pool]:
                    j.state, j.why = "cancelled", "the server stopped"
                self._queue[pool].clear()
                for j in self._running[pool]:
                    j.why = "the server stopped"
                    j.cancel_event.set()
            self._lock.notify_all()
        end = time.monotonic() + wait
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))

    def _next(self, pool: str) -> Job | None:
        with self._lock:
            while not self._closed:
                busy = {j.session for j in self._running[pool]}
                for job in self._queue[pool]:
                    if job.session not in busy:
                        self._queue[pool].remove(job)
                        self._running[pool].append(job)
                        job.state, job.started = "running", time.monotonic()
                        return job
                self._lock.wait()
            return None

    def _loop(self, pool: str) -> None:
        while (job := self._next(pool)) is not None:
            try:
                job.result = job.work(job)
                job.state = "done"
            except Cancelled:
                job.state = "cancelled"
            except EvplantError as exc:
                job.state, job.error = "failed", "\n".join(str(p) for p in exc.problems)
            except Exception as exc:  # a bug: keep serving, show it, print the traceback
                traceback.print_exc()
                job.state, job.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            finally:
                job.finished = time.monotonic()
                if job.state != "done":
                    mark_unfinished(job)
                with self._lock:
                    self._running[pool].remove(job)
                    self._last[job.session] = job
                    self._lock.notify_all()


def mark_unfinished(job: Job) -> None:
    """Say, in the folder of a job that did not finish, what in it is complete."""
    if job.folder is None or not job.folder.is_dir():
        return
    why = job.why or ("cancelled from its page" if job.state == "cancelled" else job.error)
    note = (f"{job.label}: {job.state} at {job.done}/{job.total or '?'} ({why}).\n"
            "Only finished parts are here: each chunks/chunk-*.parquet holds whole "
            "replications, written atomically; no summary or report was made.\n")
    with contextlib.suppress(OSError):  # a full disk: the page says it failed already
        atomic.write_text(job.folder / UNFINISHED, note)
