"""Lay a phase's shops out as one line for the engine.

The main line runs through the shops without ``joins`` in the order given (stamping,
body, paint, general assembly); a feeder shop (die-casting, battery pack) is its own
short line whose last station feeds the first station of the shop it joins, one part
per vehicle, through its store. Stations are numbered feeders-first so that every
station comes after the stations it needs, as the kernel requires.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..line.calendar import WorkCalendar
from ..line.spec import FAIL_CALENDAR, FAIL_OPERATING, CompiledLine, Failures, Variants
from .spec import PhaseSpec, ShopSpec


@dataclass
class PhaseLayout:
    line: CompiledLine
    shop_of: np.ndarray  # shop index of each station
    shops: list[str]  # shop names, in the phase's order
    shop_last: dict[str, int]  # the last station of each shop


def layout_phase(phase: PhaseSpec, calendar: WorkCalendar) -> PhaseLayout:
    main = [s for s in phase.shops if s.joins is None]
    order: list[ShopSpec] = []
    for shop in main:
        order.extend(s for s in phase.shops if s.joins == shop.name)
        order.append(shop)
    names: list[str] = []
    shop_of: list[int] = []
    stations = []
    up: list[int] = []
    down: list[int] = []
    buffers: list[int] = []
    feeders_of: dict[int, list[int]] = {}
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    shop_names = [s.name for s in phase.shops]
    prev_main_last = -1
    pending: dict[str, list[int]] = {}  # main shop name -> feeder last stations
    for shop in order:
        start = len(names)
        first[shop.name] = start
        for k, st in enumerate(shop.stations):
            i = len(names)
            names.append(f"{shop.name}/{st.name}")
            shop_of.append(shop_names.index(shop.name))
            stations.append(st)
            if k == 0:
                up.append(-1 if shop.joins is not None else prev_main_last)
            else:
                up.append(i - 1)
            down.append(i + 1)
            buffers.append(shop.buffers[k] if k < len(shop.buffers) else shop.store_after)
        end = len(names) - 1
        last[shop.name] = end
        if shop.joins is not None:
            pending.setdefault(shop.joins, []).append(end)
        else:
            if prev_main_last >= 0:
                down[prev_main_last] = start
            feeders_of[start] = pending.pop(shop.name, [])
            prev_main_last = end
    # feeders deliver to the first station of the shop they join
    for shop in order:
        if shop.joins is not None:
            down[last[shop.name]] = first[shop.joins]
    down[prev_main_last] = -1
    m = len(names)
    width = max([len(v) for v in feeders_of.values()] + [1])
    feeders = np.full((m, width), -1, dtype=np.int64)
    for i, fs in feeders_of.items():
        feeders[i, : len(fs)] = fs
    failures: list[Failures | None] = [st.failures for st in stations]
    ttf = np.zeros((m, 4))
    ttr = np.zeros((m, 4))
    basis = np.zeros(m, dtype=np.int64)
    for i, f in enumerate(failures):
        if f is not None:
            if f.ttf.dist == "empirical" or f.ttr.dist == "empirical":
                raise ValueError("empirical failure times are supported in line files only")
            basis[i] = FAIL_OPERATING if f.basis == "operating" else FAIL_CALENDAR
            ttf[i] = f.ttf.encode()
            ttr[i] = f.ttr.encode()
    variant_names = list(phase.mix)
    line = CompiledLine(
        names=names,
        servers=np.array([st.servers for st in stations], dtype=np.int64),
        buffers=np.array(buffers, dtype=np.int64),
        fail_basis=basis,
        ttf_code=ttf,
        ttr_code=ttr,
        table=np.zeros(1),
        ideal_ct=phase.cycle_time_scale
        * np.array([st.ideal_cycle_time or st.cycle_time.mean for st in stations]),
        fpy=np.array([st.first_pass_yield for st in stations]),
        cycle_time=[
            [st.cycle_time.scaled(phase.cycle_time_scale)] * len(variant_names) for st in stations
        ],
        variant_names=variant_names,
        variants=Variants(mix=dict(phase.mix)),
        calendar=calendar,
        failures=failures,
        up=np.array(up, dtype=np.int64),
        down=np.array(down, dtype=np.int64),
        feeders=feeders,
    )
    return PhaseLayout(line=line, shop_of=np.array(shop_of), shops=shop_names, shop_last=last)
