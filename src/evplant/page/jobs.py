"""Long work off the request threads: a queue, worker threads, progress and cancel.

Each browser session runs one job at a time; what it asks for meanwhile waits in its
queue (at most ``per_session`` jobs). A newer quick rerun replaces one still waiting,
since only the latest edit matters. Workers are threads: the simulation's compiled
parts release the GIL and the page's requests stay answered while a job runs.
A job is cancelled at its next progress report (a month of a run, a batch of Monte
Carlo, a step of calibration), which raises :class:`Cancelled` inside it.
"""

from __future__ import annotations

import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import EvplantError


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
    id: str = field(default_factory=lambda: secrets.token_hex(6))
    state: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int = 0
    result: Any = None
    error: str = ""
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
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started


class QueueFull(EvplantError):
    """A session asked for more work than its queue holds."""


class Jobs:
    """The queue and its worker threads."""

    def __init__(self, workers: int = 1, per_session: int = 4) -> None:
        self.per_session = per_session
        self._lock = threading.Condition()
        self._queue: list[Job] = []
        self._running: dict[str, Job] = {}  # session -> its running job
        self._last: dict[str, Job] = {}  # session -> its latest finished job
        self._closed = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"evplant-page-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, job: Job) -> Job:
        """Queue a job; a waiting job of the same session and kind that coalesces is
        dropped for it. Raises QueueFull past ``per_session`` waiting jobs."""
        with self._lock:
            if job.coalesce:
                for old in [j for j in self._queue
                            if j.session == job.session and j.kind == job.kind]:
                    old.state = "cancelled"
                    self._queue.remove(old)
            waiting = sum(1 for j in self._queue if j.session == job.session)
            if waiting >= self.per_session:
                raise QueueFull(
                    f"{waiting} jobs are already waiting; cancel or let them finish first"
                )
            self._queue.append(job)
            self._lock.notify_all()
        return job

    def cancel(self, session: str) -> int:
        """Cancel the session's running job and every job it has waiting; how many."""
        with self._lock:
            dropped = [j for j in self._queue if j.session == session]
            for j in dropped:
                j.state = "cancelled"
                self._queue.remove(j)
            running = self._running.get(session)
            if running is not None:
                running.cancel_event.set()
            return len(dropped) + (running is not None)

    def status(self, session: str) -> tuple[Job | None, list[Job], Job | None]:
        """(running job, waiting jobs, latest finished job) of a session."""
        with self._lock:
            return (
                self._running.get(session),
                [j for j in self._queue if j.session == session],
                self._last.get(session),
            )

    def forget(self, session: str) -> None:
        """Drop a session: cancel its work and its last job."""
        self.cancel(session)
        with self._lock:
            self._last.pop(session, None)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for j in self._running.values():
                j.cancel_event.set()
            self._lock.notify_all()

    def _next(self) -> Job | None:
        with self._lock:
            while not self._closed:
                for job in self._queue:
                    if job.session not in self._running:
                        self._queue.remove(job)
                        self._running[job.session] = job
                        job.state, job.started = "running", time.monotonic()
                        return job
                self._lock.wait()
            return None

    def _loop(self) -> None:
        while (job := self._next()) is not None:
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
                with self._lock:
                    self._running.pop(job.session, None)
                    self._last[job.session] = job
                    self._lock.notify_all()
