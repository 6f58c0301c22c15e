"""Browser sessions: what each open tab has edited and the results it was shown.

A session is made on a tab's first poll, not on a page load, so loading the page costs
no session. Its id travels in the page (never a file name). A tab polls every fraction
of a second; a session not polled for ``quiet_s`` seconds is *quiet*: its jobs are
cancelled within a second (nobody waits for them) and it may be evicted. Eviction goes
by inactivity only: past ``limit`` sessions the quietest quiet one goes, and when every
session is polling a new tab is refused (and told so) rather than another tab silenced.
The browser keeps the tab's edits, so a tab whose session went re-submits them.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .work import Outcome

log = logging.getLogger("evplant.page")


@dataclass
class Session:
    id: str
    overrides: list[str] = field(default_factory=list)  # the last edit that validated
    outcome: Outcome | None = None  # the latest base-and-edited comparison
    mc: Any = None  # the latest Monte Carlo result
    calibration: Any = None  # the latest calibration
    version: int = 0  # bumped whenever a result above changes
    downloads: dict[str, Outcome] = field(default_factory=dict)  # token -> run
    seen: float = field(default_factory=time.monotonic)
    replications: int = 0  # of the last edit that validated
    seq: int = 0  # the newest edit handled (the tab numbers its edits from 1)
    outcome_seq: int = -1  # the edit the shown outcome answers
    refusal: str = ""  # why the newest edit was refused; '' when it was taken
    notice: str = ""  # a word to the tab (its session was re-made)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def show(self, **results: Any) -> None:
        for key, value in results.items():
            setattr(self, key, value)
        self.version += 1

    def show_outcome(self, outcome: Outcome, seq: int, token: str) -> None:
        """Show a rerun unless a newer edit's rerun is shown already."""
        with self.lock:
            if seq < self.outcome_seq:
                return
            self.outcome_seq = seq
            self.downloads = {token: outcome}
            self.show(outcome=outcome)


class Full(Exception):
    """Every session is polling and the cap is reached."""


class Sessions:
    def __init__(self, limit: int, quiet_s: float, on_quiet: Callable[[str], Any],
                 on_drop: Callable[[str], None]) -> None:
        self.limit = limit
        self.quiet_s = quiet_s
        self._on_quiet = on_quiet
        self._on_drop = on_drop
        self._lock = threading.Lock()
        self._by_id: dict[str, Session] = {}
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watcher, name="evplant-page-quiet",
                                       daemon=True)
        self._watch.start()

    def new(self, outcome: Outcome | None) -> Session:
        """A session for a tab; the quietest quiet session goes past the cap.

        Raises
        ------
        Full
            When every one of ``limit`` sessions is polling.
        """
        now = time.monotonic()
        with self._lock:
            dropped = None
            if len(self._by_id) >= self.limit:
                quiet = [s for s in self._by_id.values() if now - s.seen > self.quiet_s]
                if not quiet:
                    log.warning("session cap of %d reached, all polling: a new tab is "
                                "refused until one goes quiet", self.limit)
                    raise Full
                dropped = min(quiet, key=lambda s: s.seen)
                del self._by_id[dropped.id]
            s = Session(secrets.token_urlsafe(16), outcome=outcome)
            self._by_id[s.id] = s
            count = len(self._by_id)
        if dropped is not None:
            log.info("session %s... evicted after %.0f s quiet (cap %d)", dropped.id[:6],
                     now - dropped.seen, self.limit)
            self._on_drop(dropped.id)
        log.info("session %s... opened (%d of at most %d)", s.id[:6], count, self.limit)
        return s

    def get(self, sid: Any) -> Session | None:
        with self._lock:
            s = self._by_id.get(sid) if isinstance(sid, str) else None
            if s is not None:
                s.seen = time.monotonic()
            return s

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_id)

    def download(self, token: str) -> tuple[Session, Outcome] | None:
        with self._lock:
            for s in self._by_id.values():
                if token in s.downloads:
                    return s, s.downloads[token]
        return None

    def close(self) -> None:
        self._stop.set()

    def _watcher(self) -> None:
        """Cancel the jobs of quiet sessions, checking twice a second."""
        while not self._stop.wait(0.5):
            now = time.monotonic()
            with self._lock:
                quiet = [s for s in self._by_id.values() if now - s.seen > self.quiet_s]
            for s in quiet:
                if self._on_quiet(s.id):
                    log.info("session %s... quiet for %.0f s: its jobs are cancelled",
                             s.id[:6], now - s.seen)
