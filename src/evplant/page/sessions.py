"""Browser sessions: what each page load has edited and the results it was shown.

A session is made when the page is loaded (its id travels in the page, never a file
name); the oldest are dropped past the limit, with their queued work.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .work import Outcome


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

    def show(self, **results: Any) -> None:
        for key, value in results.items():
            setattr(self, key, value)
        self.version += 1


class Sessions:
    def __init__(self, limit: int, on_drop: Callable[[str], None]) -> None:
        self.limit = limit
        self._on_drop = on_drop
        self._lock = threading.Lock()
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def new(self, outcome: Outcome | None) -> Session:
        s = Session(secrets.token_urlsafe(16), outcome=outcome)
        dropped = []
        with self._lock:
            self._by_id[s.id] = s
            while len(self._by_id) > self.limit:
                dropped.append(self._by_id.popitem(last=False)[0])
        for sid in dropped:
            self._on_drop(sid)
        return s

    def get(self, sid: Any) -> Session | None:
        with self._lock:
            s = self._by_id.get(sid) if isinstance(sid, str) else None
            if s is not None:
                s.seen = time.monotonic()
                self._by_id.move_to_end(sid)
            return s

    def download(self, token: str) -> tuple[Session, Outcome] | None:
        with self._lock:
            for s in self._by_id.values():
                if token in s.downloads:
                    return s, s.downloads[token]
        return None
