"""The page's limits, in one place: where it listens, how big a request may be, how
many sessions and jobs it keeps, what the browser may ask for.

The browser never names a file: downloads are asked for by an opaque token the page
made for a run, and everything the app writes goes under its own output folder.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


@dataclass(frozen=True)
class Limits:
    """What one server allows."""

    max_request_bytes: int = 1_000_000  # a form's callback is a few kB; 1 MB is ample
    max_sessions: int = 16  # browser sessions kept (their runs held in memory)
    jobs_per_session: int = 4  # jobs waiting per session (one runs at a time per pool)
    quick_workers: int = 2  # reruns at once across sessions (the machine's cores)
    long_workers: int = 1  # replications, Monte Carlo, calibration at once
    #: a tab polls several times a second; one silent this long has gone (closed, or a
    #: laptop asleep): its jobs are cancelled and its session may be evicted. Above a
    #: minute, since browsers slow a hidden tab's timers to once a minute.
    quiet_s: float = 90.0
    max_replications: int = 200  # Monte Carlo and paired differences
    max_calibration_budget: int = 20_000


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bounded_int(text: object, field: str, low: int, high: int) -> int:
    """A whole number from a form field within [low, high]; EvplantError otherwise,
    worded as the CLI words a bad option."""
    from ..errors import EvplantError

    try:
        value = int(str(text).strip())
    except ValueError:
        raise EvplantError(f"expected a whole number {low}..{high}, got {text!r}",
                           field=field) from None
    if not low <= value <= high:
        raise EvplantError(f"must be {low}..{high}, got {value}", field=field)
    return value
