"""Flow laws against independent references.

- Little's law over an inner window ``[t0, t1]``: the reference engine's own WIP
  counter (a SimPy state variable, recorded as it changes) integrated over the window,
  against the compiled kernel's entry and exit times, with the boundary terms;
- station shares on a hand-built line, each worked out by hand;
- throughput against exact queueing results written here: the continuous-time Markov
  chain of small exponential lines (built state by state and solved with scipy), and
  the embedded chain of an M/G/1/K queue for the two-stations example.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import integrate, linalg, stats

from evplant.line import reference
from evplant.line.calendar import WorkCalendar
from evplant.line.engine import LineEngine, simulate_line, simulate_visits
from evplant.line.reference import simulate_reference
from evplant.line.sampling import LineDraws
from evplant.line.spec import LineSpec
from helpers import det, expo, make_line, station

EXAMPLES = Path(__file__).parent.parent / "examples"


# --- Little's law over a window -----------------------------------------------------


def recorded_wip(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, int]]:
    """Record (time, WIP after the change) each time the reference changes its WIP."""
    trace: list[tuple[float, int]] = []
    original = reference._LineModel._count_wip

    def count(self: Any, delta: int) -> None:
        original(self, delta)
        trace.append((float(self.env.now), int(self.wip)))

    monkeypatch.setattr(reference._LineModel, "_count_wip", count)
    return trace


def area_of_steps(trace: list[tuple[float, int]], t0: float, t1: float) -> float:
    """Integral over [t0, t1] of a right-continuous step function given by its changes."""
    times = np.array([t for t, _ in trace])
    values = np.array([w for _, w in trace], dtype=float)
    # the value on [times[k], times[k+1]) is values[k]; 0 before the first change
    edges = np.concatenate([times, [np.inf]])
    lo = np.clip(edges[:-1], t0, t1)
    hi = np.clip(edges[1:], t0, t1)
    return float(np.sum(values * (hi - lo)))


@pytest.mark.parametrize("seed", [3, 4])
def test_littles_law_over_an_inner_window(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    line = make_line(
        [
            station("a", expo(50)),
            station(
                "b", expo(45), servers=2, failures={"basis": "calendar", "mtbf": 3000, "mttr": 200}
            ),
            station("c", expo(40)),
        ],
        [2, 1],
    )
    n = 3000
    draws = LineDraws(line, seed)
    p = draws.processing(np.zeros(n, dtype=np.int64))
    rng = np.random.default_rng(seed)
    release = np.cumsum(rng.exponential(55.0, n))  # kits arrive: the line empties at times
    trace = recorded_wip(monkeypatch)
    ref = simulate_reference(line, p, release, draws.fail_keys)
    fast = simulate_visits(line, p, release, draws.fail_keys)
    a, d = fast.entry[:, 0], fast.departure[:, -1]
    t_end = float(d.max())
    # a window inside the run, its ends falling between events
    t0, t1 = 0.31 * t_end + math.pi, 0.77 * t_end + math.e
    assert not np.isin([t0, t1], np.concatenate([a, d])).any()
    area = area_of_steps(trace, t0, t1)
    # the time-integral of WIP is the sum of the sojourns clipped to the window
    clipped = np.clip(np.minimum(d, t1) - np.maximum(a, t0), 0.0, None)
    assert area == pytest.approx(float(clipped.sum()), rel=1e-9)
    # Little's law: L = lambda W for the jobs leaving in the window, plus the boundary
    # terms: the part before t0 of those already in at t0, and those still in at t1
    out = (d > t0) & (d <= t1)
    lam = out.sum() / (t1 - t0)
    w = float((d[out] - a[out]).mean())
    before = float(np.sum(np.where(out & (a < t0), t0 - a, 0.0)))
    after = float(np.sum(np.where((a < t1) & (d > t1), t1 - np.maximum(a, t0), 0.0)))
    assert area / (t1 - t0) == pytest.approx(lam * w + (after - before) / (t1 - t0), rel=1e-9)
    # the boundary terms matter here: the plain lambda W would be off
    assert abs(after - before) > 1.0
    # WIP at the window's ends, counted from the timestamps and read from the counter
    for t in (t0, t1):
        k = int(np.searchsorted([x for x, _ in trace], t, side="right")) - 1
        assert trace[k][1] == int(np.sum((a <= t) & (d > t)))
    # over the whole run, the compiled engine's WIP (its lead-time sum over T) is the
    # reference counter's time average (same seed: same failure keys)
    engine = LineEngine(line, seed)
    engine.feed(n, release=release, variants=np.zeros(n, dtype=np.int64), p=p)
    result = engine.result()
    assert result.horizon_s == pytest.approx(ref.T, rel=1e-12)
    whole = area_of_steps(trace, 0.0, ref.T) / ref.T
    assert result.wip_mean == pytest.approx(whole, rel=1e-9)
    assert ref.wip_mean == pytest.approx(whole, rel=1e-9)


# --- station shares on a hand-built line --------------------------------------------


def test_each_share_of_a_hand_built_line() -> None:
    # a (10 s) feeds b (20 s) with no buffer; the line stops for [35, 45); a breaks down
    # on the wall clock for [12, 17) (calendar basis, deterministic times)
    line = LineSpec.model_validate(
        {
            "stations": [
                station(
                    "a",
                    det(10),
                    failures={
                        "basis": "calendar",
                        "time_to_failure": {"dist": "deterministic", "value": 12},
                        "time_to_repair": {"dist": "deterministic", "value": 5},
                    },
                ),
                station("b", det(20)),
            ],
            "buffers": [0],
        }
    ).compile(WorkCalendar(np.array([0.0, 45.0]), np.array([35.0, np.inf])))
    # a breaks down for [12, 17), then 12 s after each repair: [29, 34), [46, 51), [63, 68)
    # job 1: a works 0-10; b 10-30
    # job 2: a works 10-12, down, 17-25; blocked 25-30 (down 29-30 counts as failed);
    #        b works 30-35, off shift 35-45, 45-60
    # job 3: a enters at 30 but is down until 34; works 34-35, off, 45-46, down,
    #        51-59; blocked 59-60; b works 60-80
    # after 60, a is idle: starved 60-63 and 68-80, down 63-68 (calendar failures count
    # while idle). T = 80; working time 70; off shift 10.
    engine = LineEngine(line, seed=0)
    v = engine.feed(3, keep=True)
    assert v is not None
    assert v.entry.tolist() == [[0, 10], [10, 30], [30, 60]]
    assert v.end.tolist() == [[10, 30], [25, 60], [59, 80]]
    assert v.departure.tolist() == [[10, 30], [30, 60], [60, 80]]
    got = engine.result()
    assert got.horizon_s == 80.0
    a, b = (s.__dict__ for s in got.stations)
    share = {"busy": 30, "failed": 20, "blocked": 4 + 1, "starved": 3 + 12, "off_shift": 10}
    for name, seconds in share.items():
        assert a[name] * 80 == pytest.approx(seconds, abs=1e-9), ("a", name)
    share = {"busy": 60, "failed": 0, "blocked": 0, "starved": 10, "off_shift": 10}
    for name, seconds in share.items():
        assert b[name] * 80 == pytest.approx(seconds, abs=1e-9), ("b", name)
    # working-time shares, as the line command reports them
    assert got.stations[0].share_of_working_time() == pytest.approx(
        {"utilisation": 30 / 70, "blocked": 5 / 70, "starved": 15 / 70, "failed": 20 / 70}
    )
    assert got.stations[0].availability == pytest.approx(50 / 70)


# --- exact throughput of small exponential lines ------------------------------------


def serial_ctmc_throughput(mu: list[float], buffers: list[int]) -> float:
    """Throughput of a serial line of single exponential servers, unlimited supply,
    blocking after service, by its continuous-time Markov chain.

    State: ``N[k]`` = jobs finished at station k and not yet at station k+1 (in buffer
    k, in service at k+1, or done at k and blocked there).
    """
    m = len(mu)

    def blocked(state: tuple[int, ...]) -> list[bool]:
        out = [False] * m
        for k in range(m - 2, -1, -1):
            room = buffers[k] + (1 if out[k + 1] else 2)
            out[k] = state[k] == room
        return out

    def moves(state: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], float, bool]]:
        blk = blocked(state)
        for k in range(m):
            has_job = k == 0 or state[k - 1] >= 1
            if blk[k] or not has_job:
                continue
            nxt = list(state)
            if k > 0:
                nxt[k - 1] -= 1
            if k < m - 1:
                nxt[k] += 1
            yield tuple(nxt), mu[k], k == m - 1

    start = tuple([0] * (m - 1))
    index = {start: 0}
    todo = [start]
    edges: list[tuple[int, int, float, bool]] = []
    while todo:
        s = todo.pop()
        for t, rate, out in moves(s):
            if t not in index:
                index[t] = len(index)
                todo.append(t)
            edges.append((index[s], index[t], rate, out))
    size = len(index)
    q = np.zeros((size, size))
    for i, j, rate, _ in edges:
        q[i, j] += rate
        q[i, i] -= rate
    # pi Q = 0, sum pi = 1
    a = np.vstack([q.T, np.ones(size)])
    rhs = np.concatenate([np.zeros(size), [1.0]])
    pi = linalg.lstsq(a, rhs)[0]
    assert np.allclose(pi @ q, 0.0, atol=1e-12) and np.all(pi > -1e-12)
    return float(sum(pi[i] * rate for i, _, rate, out in edges if out))


def test_the_chain_reproduces_the_two_station_closed_form() -> None:
    for b in range(4):
        assert serial_ctmc_throughput([1.0, 1.0], [b]) == pytest.approx((b + 2) / (b + 3))
    # one station alone, and a long buffer: the slower station's rate
    assert serial_ctmc_throughput([2.0], []) == pytest.approx(2.0)
    assert serial_ctmc_throughput([1.0, 0.5], [60]) == pytest.approx(0.5, rel=1e-6)


@pytest.mark.parametrize(
    ("means", "buffers"),
    [
        ([50.0, 45.0, 55.0], [0, 0]),
        ([50.0, 60.0, 40.0], [2, 1]),
        ([30.0, 40.0, 35.0, 45.0], [1, 0, 2]),
    ],
)
def test_exponential_lines_give_the_markov_chain_throughput(
    means: list[float], buffers: list[int]
) -> None:
    exact = serial_ctmc_throughput([1.0 / x for x in means], buffers) * 3600.0
    n = 200_000
    line = make_line([station(f"s{i}", expo(x)) for i, x in enumerate(means)], buffers)
    got = simulate_line(line, n, seed=17).throughput_per_hour
    # a renewal-reward rate from n jobs: well within 1.5% (about 5 standard errors)
    assert got == pytest.approx(exact, rel=0.015)


# --- the examples' stated figures -----------------------------------------------------


def mg1k_throughput(lam: float, service: Any, k: int) -> float:
    """Throughput of an M/G/1/K queue (arrivals finding K in system are turned away),
    from the chain embedded at departures."""
    # a[n]: probability of n arrivals during one service
    a = np.array(
        [
            integrate.quad(
                lambda t, n=n: stats.poisson.pmf(n, lam * t) * service.pdf(t),
                0,
                np.inf,
                limit=200,
            )[0]
            for n in range(k)
        ]
    )
    # departures leave j in {0..K-1} behind; P[i, j] for the next departure
    p = np.zeros((k, k))
    for i in range(k):
        base = max(i, 1)
        for j in range(base - 1, k - 1):
            p[i, j] = a[j - base + 1]
        p[i, k - 1] = 1.0 - p[i, : k - 1].sum()
    w, v = linalg.eig(p.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1.0))])
    pi /= pi.sum()
    rho = lam * float(service.mean())
    # time-stationary probability of an empty server, then throughput = (1 - p0) / E[S]
    p0 = pi[0] / (pi[0] + rho)
    return (1.0 - p0) / float(service.mean())


def stated(path: Path) -> dict[str, str]:
    import re

    return dict(re.findall(r"# expect (\w+): (\S+)", path.read_text()))


def test_two_stations_example_is_an_mg1k_queue() -> None:
    # weld (exponential, 60 s) never starves, so it sends Poisson arrivals while not
    # blocked; paint (lognormal 55 s, cv 0.3) with 2 places before it: the jobs done at
    # weld and not at paint are an M/G/1/K queue with K = 2 + 1 (paint) + 1 (blocked weld)
    cv = 0.3
    sigma = math.sqrt(math.log1p(cv * cv))
    paint = stats.lognorm(s=sigma, scale=55.0 * math.exp(-sigma * sigma / 2))
    exact = mg1k_throughput(1.0 / 60.0, paint, 4) * 3600.0
    # the same structure with exponential paint: the chain and the queue agree
    expo_paint = stats.expon(scale=55.0)
    chain = serial_ctmc_throughput([1 / 60, 1 / 55], [2]) * 3600.0
    assert mg1k_throughput(1 / 60.0, expo_paint, 4) * 3600.0 == pytest.approx(chain, rel=1e-6)
    # the example's stated figure (20,000 jobs, seed 1) within sampling error of it
    figure = float(stated(EXAMPLES / "two-stations.yaml")["throughput_per_hour"])
    assert figure == pytest.approx(exact, rel=0.02)
    # and a long run of the example's line, tighter
    line = LineSpec.model_validate(
        __import__("yaml").safe_load((EXAMPLES / "two-stations.yaml").read_text())
    ).compile()
    long = simulate_line(line, 300_000, seed=5).throughput_per_hour
    assert long == pytest.approx(exact, rel=0.01)


def test_model_mix_example_is_held_by_its_bottleneck() -> None:
    # trim is the slowest station on average over the repeating sequence SU7, SU7, YU7:
    # (72 + 72 + 90) / 3 = 78 s, so at most 3600 / 78 an hour; buffers of 3 and a low cv
    # keep it busy almost all the time
    bound = 3600.0 / ((72 + 72 + 90) / 3)
    figure = float(stated(EXAMPLES / "model-mix.yaml")["throughput_per_hour"])
    assert figure <= bound
    assert figure == pytest.approx(bound, rel=0.01)


def test_body_shop_example_stays_under_its_capacity() -> None:
    # 15 working hours a day (two 8-hour shifts less two 30-minute breaks), 5 days a week
    working_share = 5 * 15 / (7 * 24)
    # per working hour: framing 72 s at availability 28800 / (28800 + 1800); respot two
    # cells of (120 + 140 + 190) / 3 = 150 s; underbody 70 s with 900 s of repair per
    # 36000 s of work; closures (60 + 75) / 2 s
    rates = [
        3600 / (70 * (1 + 900 / 36000)),
        3600 / 72 * 28800 / 30600,
        2 * 3600 / 150,
        3600 / 67.5,
    ]
    bound = min(rates) * working_share
    figure = float(stated(EXAMPLES / "body-shop.yaml")["throughput_per_hour"])
    assert figure <= bound
    # buffers of 3, 0 and 2 among stations within 10% of each other cost a good share
    assert figure >= 0.8 * bound
