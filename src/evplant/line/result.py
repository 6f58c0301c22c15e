"""What a line run measured: per-station shares of the clock and OEE, per-bin figures,
and the line's throughput, lead time and bottleneck, from the kernels' books
(``_named.Books``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._named import (
    ACT_CNT,
    ACT_SUM,
    B_ACT_MAX,
    B_REWORK,
    B_SCRAP,
    BLOCKED,
    BUSY,
    FAILED,
    JOBS,
    L_DONE,
    L_LEAD,
    L_SCRAP,
    L_T,
)
from .spec import CompiledLine


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
    quality: float  # share of visits right first time (the yield, where defects pass)
    reworked: int = 0  # visits sent back for rework (``Station.on_defect``)
    scrapped: int = 0  # visits whose job was scrapped

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

    jobs_in: np.ndarray  # jobs that entered (not counting a rework's second entry)
    jobs_out: np.ndarray  # jobs that left right (to the next station, or finished)
    busy_s: np.ndarray
    blocked_s: np.ndarray
    failed_s: np.ndarray
    active_mean_s: np.ndarray  # mean length of the active periods ending in the bin
    done_by_variant: np.ndarray  # [variants]: jobs that left the last station
    reworked: np.ndarray  # defective visits sent back for rework (``on_defect``)
    scrapped: np.ndarray  # defective visits scrapped
    scrapped_by_variant: np.ndarray  # [variants]: jobs scrapped anywhere on the line


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
    scrapped: int = 0  # jobs that left the line as scrap

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
            "scrapped": self.scrapped,
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
                    "reworked": s.reworked,
                    "scrapped": s.scrapped,
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
    t_end = float(line_acc[L_T])
    done = int(line_acc[L_DONE])
    cal = line.calendar
    on = float(cal.working_before(t_end)) if t_end > 0 else 0.0
    k = line.servers.astype(float)
    denom = np.where(k * t_end > 0, k * t_end, 1.0)
    busy = acc[:, BUSY] / denom
    blocked = acc[:, BLOCKED] / denom
    failed = acc[:, FAILED] / denom
    off = np.full(line.m, (t_end - on) / t_end if t_end > 0 else 0.0)
    starved = np.clip(1.0 - off - busy - blocked - failed, 0.0, None)
    act_mean = acc[:, ACT_SUM] / np.maximum(acc[:, ACT_CNT], 1.0)
    up = np.where(on > 0, (k * on - acc[:, FAILED]) / np.maximum(k * on, 1e-300), 0.0)
    run_time = k * on - acc[:, FAILED]
    perf = np.where(run_time > 0, line.ideal_ct * acc[:, JOBS] / np.maximum(run_time, 1e-300), 0.0)
    # where defects cost capacity, quality is what happened: the share of visits right
    # first time; where they pass (put right off the line) it is the yield
    reworked = bins[:, :, B_REWORK].sum(axis=0)
    scrapped = bins[:, :, B_SCRAP].sum(axis=0)
    counted = np.asarray(line.defect) != 0
    visits = np.maximum(acc[:, JOBS], 1.0)
    quality = np.where(counted, 1.0 - (reworked + scrapped) / visits, line.fpy)
    stations = [
        StationStats(
            name=line.names[i],
            servers=int(k[i]),
            jobs=int(acc[i, JOBS]),
            busy=float(busy[i]),
            blocked=float(blocked[i]),
            starved=float(starved[i]),
            failed=float(failed[i]),
            off_shift=float(off[i]),
            active_period_mean_s=float(act_mean[i]),
            availability=float(up[i]),
            performance=float(perf[i]),
            quality=float(quality[i]),
            reworked=int(round(reworked[i])),
            scrapped=int(round(scrapped[i])),
        )
        for i in range(line.m)
    ]
    bottleneck = line.names[int(np.argmax(act_mean))] if done else ""
    act_max = bins[:, :, B_ACT_MAX]
    timeline = [line.names[int(np.argmax(row))] if row.max() > 0 else "" for row in act_max]
    ideal_line = float(np.max(line.ideal_ct / k))
    # good jobs only are done, so reworked and scrapped visits are in ``done`` already
    passing = float(np.prod(np.where(counted, 1.0, line.fpy)))
    oee = done * ideal_line / on * passing if on > 0 else 0.0
    return LineResult(
        name=name or "line",
        jobs=done,
        horizon_s=t_end,
        throughput_per_hour=done / t_end * 3600.0 if t_end > 0 else 0.0,
        # over every job that left, scrapped ones included (their time was WIP too)
        lead_time_mean_s=float(line_acc[L_LEAD]) / (done + line_acc[L_SCRAP]) if done else 0.0,
        wip_mean=float(line_acc[L_LEAD]) / t_end if t_end > 0 else 0.0,
        stations=stations,
        bottleneck=bottleneck,
        oee=oee,
        bin_edges=bin_edges,
        timeline=timeline,
        scrapped=int(line_acc[L_SCRAP]),
        engine=engine,
    )
