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

from ..errors import EvplantError
from ..line.calendar import WorkCalendar
from ..line.spec import CompiledLine, QualityError, Station, Variants, build_line
from .spec import PhaseSpec, ShopSpec


@dataclass
class PhaseLayout:
    line: CompiledLine
    shop_of: np.ndarray  # shop index of each station
    shops: list[str]  # shop names, in the phase's order
    shop_last: dict[str, int]  # the last station of each shop


def layout_phase(
    phase: PhaseSpec, calendar: WorkCalendar, client: tuple[str, float] | None = None
) -> PhaseLayout:
    """The phase's line; ``client`` = (name, work content against the phase's own
    cars): a contract client's cars, one more variant of the line, after the mix's."""
    main = [s for s in phase.shops if s.joins is None]
    order: list[ShopSpec] = []
    for shop in main:
        order.extend(s for s in phase.shops if s.joins == shop.name)
        order.append(shop)
    names: list[str] = []
    shop_of: list[int] = []
    stations: list[Station] = []
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
            if client is not None:
                # the client's car: the station's own work, scaled by its work content
                own = {**st.variant_cycle_time, client[0]: st.cycle_time.scaled(client[1])}
                st = st.model_copy(update={"variant_cycle_time": own})
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
    try:
        line = _build(phase, client, calendar, stations, buffers, names, up, down, feeders)
    except QualityError as exc:
        shop_name, station = names[exc.station].split("/", 1)
        field = f"plant.phases.{phase.name}.shops.{shop_name}.stations.{station}.on_defect"
        raise EvplantError(str(exc), field=field) from None
    return PhaseLayout(line=line, shop_of=np.array(shop_of), shops=shop_names, shop_last=last)


def _build(
    phase: PhaseSpec,
    client: tuple[str, float] | None,
    calendar: WorkCalendar,
    stations: list[Station],
    buffers: list[int],
    names: list[str],
    up: list[int],
    down: list[int],
    feeders: np.ndarray,
) -> CompiledLine:
    return build_line(
        stations,
        buffers,
        variant_names=list(phase.mix) + ([client[0]] if client is not None else []),
        variants=Variants(mix=dict(phase.mix)),
        calendar=calendar,
        scale=phase.cycle_time_scale,
        names=names,
        up=up,
        down=down,
        feeders=feeders,
    )
