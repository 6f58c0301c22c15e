"""A line engine's state, taken out and put back: the one module that knows it.

A run split at a month's end continues bit for bit only if every array, counter and
random stream of each :class:`~evplant.line.engine.LineEngine` is carried over. This
module reads and writes them, so nothing else (the plant, the state file) names an
engine's internals, and a change of those internals is adapted here alone.

- :func:`capture` and :func:`restore`: the exact state, as a flat mapping of plain
  values (numpy arrays, ints, floats, a Generator's ``bit_generator.state``);
- :func:`wip`: vehicles at each station and in each store at a bin's end, counted from
  the monthly bins (entries less departures before the bin's end), for the state
  file's readable part;
- :func:`place`: vehicles put into a fresh engine at a given instant, each starting its
  work at a given station (a planner's state, see :func:`place`'s docstring).

Attributes read and written (rename them here when the engine's change):

``LineEngine``: ``line.ttr_code`` (repair times scaled by the ramp), ``line.calendar``
(grown with ``_grow_calendar`` when a run needed more), ``_rec`` (the max-plus
kernel's ``_named.Recursion``: every field), ``_books`` (the statistics'
``_named.Books``: every field but ``edges`` and ``mode``, settings the engine is built
with), ``stats``, ``draws`` and ``_events``; not ``_buf`` (scratch rows, rewritten
every chunk) nor ``chunk``/``prefetch``/``bin_edges`` (settings the plant gives again).

``LineDraws`` (``engine.draws``): ``next_job``, ``_counts`` (each (station, variant)
stream's counter: the draws are counter-based), ``_mix`` and ``_release_rng``
(Generators), ``_last_release``, ``fail_keys``.

``Stagger`` (``engine._stagger``, the staggered recursion only): every field.

``EventState`` (``engine._events``, the event-driven path only): the 18 arrays of
``state`` (``sc``, ``ist`` and ``dirty`` among them, shared with the kernel, so they
are written in place), ``log``, ``p``, ``release``, ``variant``, ``ready``, ``row0``,
``fed``, ``promise``.

Bins used by :func:`wip` and :func:`place`: ``Books.bins``, columns ``_named.B_IN``
and ``_named.B_OUT``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ._named import B_IN, B_OUT, Books, Recursion, Stagger
from .engine import LineEngine

# the engine's arrays: (key in the state, named tuple on the engine, its field)
_ENGINE_ARRAYS = tuple(("rec." + f, "_rec", f) for f in Recursion._fields) + tuple(
    ("books." + f, "_books", f) for f in Books._fields if f not in ("edges", "mode")
)
_STAGGER_ARRAYS = tuple(("stagger." + f, f) for f in Stagger._fields)
_EVENT_ARRAYS = ("log", "p", "release", "variant", "ready")
_EVENT_SCALARS = ("row0", "fed")


class StateMismatch(ValueError):
    """An exact state that does not fit this engine (another line or settings)."""


def capture(engine: LineEngine) -> dict[str, Any]:
    """The engine's exact state: a flat mapping of copies (arrays, ints, floats and
    Generator states), enough for :func:`restore` to continue bit for bit."""
    d = engine.draws
    out: dict[str, Any] = {
        "stats": bool(engine.stats),
        "m": engine.line.m,
        "ttr_code": engine.line.ttr_code.copy(),
        "calendar_end": float(engine.line.calendar.end),
        "draws.next_job": int(d.next_job),
        "draws.counts": d._counts.copy(),
        "draws.mix": d._mix.bit_generator.state,
        "draws.release_rng": d._release_rng.bit_generator.state,
        "draws.last_release": np.array([d._last_release]),
        "draws.fail_keys": d.fail_keys.copy(),
        "draws.quality_keys": d.quality_keys.copy(),
    }
    for key, holder, name in _ENGINE_ARRAYS:
        out[key] = np.array(getattr(getattr(engine, holder), name), copy=True)
    st = engine._stagger
    if st is not None:
        for key, name in _STAGGER_ARRAYS:
            out[key] = np.array(getattr(st, name), copy=True)
    ev = engine._events
    if ev is not None:
        for k, arr in enumerate(ev.state):
            out[f"events.state{k}"] = np.array(arr, copy=True)
        for name in _EVENT_ARRAYS:
            out[f"events.{name}"] = np.array(getattr(ev, name), copy=True)
        for name in _EVENT_SCALARS:
            out[f"events.{name}"] = int(getattr(ev, name))
        out["events.promise"] = np.array([ev.promise])
    return out


def _path(engine: LineEngine) -> str:
    if engine._events is not None:
        return "event-driven kernel"
    return "max-plus recursion" if engine._stagger is None else "staggered recursion"


def _path_of(state: Mapping[str, Any]) -> str:
    if "events.fed" in state:
        return "event-driven kernel"
    return "max-plus recursion" if "stagger.wm" not in state else "staggered recursion"


def _put(target: np.ndarray, value: Any, name: str) -> None:
    value = np.asarray(value)
    if value.shape != target.shape or value.dtype != target.dtype:
        raise StateMismatch(
            f"{name}: {value.dtype}{list(value.shape)} does not fit {target.dtype}"
            f"{list(target.shape)}"
        )
    np.copyto(target, value)


def restore(engine: LineEngine, state: Mapping[str, Any]) -> None:
    """Put a :func:`capture` back into a fresh engine of the same line and seed.

    Raises :class:`StateMismatch` when the state was taken from another line (its
    arrays do not fit) or on the other line path.
    """
    if int(state["m"]) != engine.line.m:
        raise StateMismatch(f"m: {state['m']} stations, this line has {engine.line.m}")
    taken_on, runs_on = _path_of(state), _path(engine)
    if taken_on != runs_on:
        raise StateMismatch(
            f"path: the state was taken on the {taken_on}, this line runs on the {runs_on}"
        )
    if bool(state["stats"]) is False and engine.stats:
        raise StateMismatch("stats: the state counted jobs only (stats=False)")
    # the calendar grows by doubling (LineEngine._grow_calendar): grow it as far (a
    # calendar that never ends is not reached that way)
    if math.isinf(float(state["calendar_end"])) and not math.isinf(engine.line.calendar.end):
        raise StateMismatch("calendar_end: the state's line always works, this one has shifts")
    while engine.line.calendar.end < float(state["calendar_end"]):
        engine._grow_calendar()
    if engine.line.calendar.end != float(state["calendar_end"]):
        raise StateMismatch("calendar_end: the working calendar does not match")
    code = np.asarray(state["ttr_code"], dtype=np.float64)
    if code.shape != engine.line.ttr_code.shape:
        raise StateMismatch("ttr_code: another line's repair times")
    engine.line = replace(engine.line, ttr_code=code.copy())
    d = engine.draws
    d.next_job = int(state["draws.next_job"])
    _put(d._counts, state["draws.counts"], "draws.counts")
    d._mix.bit_generator.state = state["draws.mix"]
    d._release_rng.bit_generator.state = state["draws.release_rng"]
    d._last_release = float(np.asarray(state["draws.last_release"])[0])
    _put(d.fail_keys, state["draws.fail_keys"], "draws.fail_keys")
    _put(d.quality_keys, state["draws.quality_keys"], "draws.quality_keys")
    for key, holder, name in _ENGINE_ARRAYS:
        _put(getattr(getattr(engine, holder), name), state[key], key)
    st = engine._stagger
    if st is not None:
        for key, name in _STAGGER_ARRAYS:
            _put(getattr(st, name), state[key], key)
    ev = engine._events
    if ev is not None:
        # the kernel holds these very arrays (sc, ist, dirty): write them in place
        for k, arr in enumerate(ev.state):
            _put(arr, state[f"events.state{k}"], f"events.state{k}")
        _put(ev.log, state["events.log"], "events.log")
        ev.p = np.array(state["events.p"], dtype=np.float64).reshape(-1, engine.line.m)
        ev.release = np.array(state["events.release"], dtype=np.float64)
        ev.variant = np.array(state["events.variant"], dtype=np.int64)
        # one row per job fed and not yet taken, as release has (-1 cannot be worked
        # out where the line has no gates: zero columns)
        ev.ready = np.array(state["events.ready"], dtype=np.float64).reshape(
            len(ev.release), engine.line.gates
        )
        ev.row0 = int(state["events.row0"])
        ev.fed = int(state["events.fed"])
        ev.promise = float(np.asarray(state["events.promise"])[0])


@dataclass(frozen=True)
class Wip:
    """Where the jobs are at a bin's end: per station, jobs that entered it and have
    not left (in work or blocked on a server), and per station, jobs that left it and
    have not entered the next station (its store). ``None`` where the engine counted
    jobs only (``stats=False``)."""

    at_station: np.ndarray  # int64 [m]
    after_station: np.ndarray  # int64 [m]; 0 after the last station
    entered_first: int  # jobs that entered the main line's first station


def main_line(engine: LineEngine) -> list[int]:
    """The main line's stations in order, from its first station to the last (the
    stations that are not on a feeder line)."""
    line = engine.line
    last = next(i for i in range(line.m) if int(line.down[i]) < 0)
    chain = [last]
    while int(line.up[chain[-1]]) >= 0:
        chain.append(int(line.up[chain[-1]]))
    return chain[::-1]


def wip(engine: LineEngine, k: int) -> Wip | None:
    """Jobs at each station and in each store at the end of bin ``k`` (the entries and
    departures booked in bins ``0..k``); None without station statistics."""
    if not engine.stats:
        return None
    upto = engine._books.bins[: k + 1]
    entered = np.rint(upto[:, :, B_IN].sum(axis=0)).astype(np.int64)
    left = np.rint(upto[:, :, B_OUT].sum(axis=0)).astype(np.int64)
    down = engine.line.down
    after = np.zeros(engine.line.m, dtype=np.int64)
    for i in range(engine.line.m):
        if int(down[i]) >= 0:
            # a join's entries count each job once; its store holds what left i for it
            after[i] = left[i] - entered[int(down[i])]
    first = main_line(engine)[0]
    return Wip(entered - left, after, int(entered[first]))


def upstream(engine: LineEngine, i: int) -> np.ndarray:
    """Stations a job has passed before it reaches station ``i`` (bool [m]): every
    station whose path downstream leads to ``i``, feeder lines included."""
    line = engine.line
    out = np.zeros(line.m, dtype=bool)
    for s in range(line.m):
        j = int(line.down[s])
        while j >= 0 and j != i:
            j = int(line.down[j])
        out[s] = j == i and s != i
    return out


def place(
    engine: LineEngine,
    first: np.ndarray,
    variants: np.ndarray,
    at: float,
    scale: float = 1.0,
) -> None:
    """Put jobs into a fresh engine at instant ``at``, in build order (the job furthest
    down the line first): job ``n`` starts its work at station ``first[n]`` with its
    whole processing time there and after (its draws, as any job's), and passes the
    stations before in zero time at ``at`` (or the first working instant after it).

    A job in the store before station ``i`` is placed as one that starts at ``i`` after
    those on ``i``'s servers; the caller orders them so. Their zero-time passes are taken
    back out of the entry and departure counts of the bins they were booked in, where
    the engine has booked them already (always on the max-plus path; on the
    event-driven path those still to be walked stay counted in the first month).
    """
    if not math.isfinite(at):
        raise ValueError("at must be a finite instant")
    n = len(first)
    if n == 0:
        return
    line = engine.line
    variants = np.asarray(variants, dtype=np.int64)
    p = engine.draws.processing(variants, scale)
    zero = np.zeros(line.m, dtype=np.int64)
    for station in np.unique(first):
        mask = upstream(engine, int(station))
        rows = first == station
        p[np.ix_(rows, mask)] = 0.0
        zero += mask * int(rows.sum())
    bins = engine._books.bins
    before = bins[:, :, [B_IN, B_OUT]].copy()
    engine.feed(n, release=np.full(n, float(at)), variants=variants, p=p)
    booked = bins[:, :, [B_IN, B_OUT]] - before
    for i in np.flatnonzero(zero):
        for col, slot in enumerate((B_IN, B_OUT)):
            left = float(zero[i])
            for b in range(booked.shape[0]):
                take = min(left, float(booked[b, i, col]))
                if take > 0:
                    bins[b, i, slot] -= take
                    left -= take
                if left <= 0:
                    break
