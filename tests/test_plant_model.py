"""`evplant.plant.model.Plant` driven directly, month by month: what each phase learns
from the others, capacity on the ramp, kit arrival instants, seeds and statistics.

Written against the mutants of `scripts/mutate "evplant.plant*"` that the run-level
tests in test_plant.py let through (docs/mutation.md): each test states a rule of the
plant in numbers worked out here, not read back from the plant.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evplant.plant.model import Plant
from evplant.plant.ramp import ramp_state
from evplant.scenario import load_scenario

HORIZON = ("2024-01", "2024-12")


def plant(extra: list[str] = (), *, seed: int = 0, stats: bool = True) -> Plant:  # type: ignore[assignment]
    sc, _ = load_scenario("beijing-etown-2023", ["venture=null", *extra])
    return Plant(
        sc.plant, sc.variants, HORIZON, np.random.SeedSequence(seed), threads=False, stats=stats
    )


def build(p: Plant, months: int, per_month: int = 3_000) -> list:
    plan = np.array([per_month] + [0] * (len(p.variants) - 1))
    return [p.step(t, plan) for t in range(months)]


def test_a_phase_learns_from_a_share_of_what_earlier_phases_built() -> None:
    p = plant()
    first, second = p.phases
    first.built, second.built = 40_000.0, 1_000.0
    share = p.spec.ramp.transfer_between_phases
    assert share > 0
    # phase 2 starts later: it counts its own cars and a share of phase 1's
    assert p.ramp(second) == ramp_state(1_000.0 + share * 40_000.0, p.spec.ramp, p.spec.partner)
    # phase 1 started first: nothing of phase 2's counts for it
    assert p.ramp(first) == ramp_state(40_000.0, p.spec.ramp, p.spec.partner)
    # phases that start on the same day learn only from themselves
    second.sop_s = first.sop_s
    assert p.ramp(second) == ramp_state(1_000.0, p.spec.ramp, p.spec.partner)


def test_capacity_on_the_ramp_scales_with_the_cycle_time_factor() -> None:
    p = plant()
    first = p.phases[0]
    t = 8  # September 2024: phase 1 on its shifts
    state = p.ramp(first)
    slow = dataclasses.replace(state, cycle_time_factor=1.3, repair_time_factor=1.0)
    mature = dataclasses.replace(state, cycle_time_factor=1.0, repair_time_factor=1.0)
    hours = p.working_seconds(first, t)
    # the paint booths set the rate: 2 servers x 142 s, calendar failures 12 h / 45 min
    # (the scenario's figures; repair time does not scale calendar failures' share here)
    rate = 2 / 142 / (1 + 2700 / 43200)
    assert p.capacity(first, t, mature) == pytest.approx(rate * hours, rel=1e-9)
    assert p.capacity(first, t, slow) == pytest.approx(rate / 1.3 * hours, rel=1e-9)
    # asked again in the other order: each state keeps its own rate
    assert p.capacity(first, t, mature) == pytest.approx(rate * hours, rel=1e-9)


def test_a_variant_two_phases_build_is_split_by_what_each_can_build() -> None:
    # phase 2 builds the SU7 beside phase 1, at half its mix
    sc, _ = load_scenario(
        "beijing-etown-2023", ["venture=null", "plant.phases.phase2.mix={SU7: 0.5, YU7: 0.5}"]
    )
    p = Plant(
        sc.plant, sc.variants, ("2024-01", "2026-12"), np.random.SeedSequence(0), threads=False
    )
    t = 20  # 2025-09: both phases at work
    one, two = p.phase_capacity("phase1", t), p.phase_capacity("phase2", t)
    assert one == p.capacity(p.phases[0], t) and two == p.capacity(p.phases[1], t)
    assert one > 0 and two > 0
    assert p.phase_capacity("phase3", t) == 0.0  # no such phase: it builds nothing
    # each phase's share: what it can build of the SU7, its capacity times its mix's
    # share of it; whole cars, the odd one to the larger remainder
    share2 = 0.5 * two / (one + 0.5 * two)
    n = next(n for n in range(1_000, 1_100) if n * share2 % 1 > 0.5)
    got = p.split_plan(t, np.array([n, 0]))
    assert got["phase2"][0] == int(np.ceil(n * share2))
    assert got["phase1"][0] == n - got["phase2"][0] == int(np.floor(n * (1 - share2)))
    # and with the smaller remainder, the odd car goes to the other phase
    n = next(n for n in range(1_000, 1_100) if 0 < n * share2 % 1 < 0.5)
    got = p.split_plan(t, np.array([n, 0]))
    assert got["phase2"][0] == int(np.floor(n * share2))
    # a variant one phase builds goes to it whole
    got = p.split_plan(t, np.array([0, 7]))
    assert list(got["phase1"]) == [0, 0] and list(got["phase2"]) == [0, 7]


def test_kits_that_arrive_late_in_the_month_are_built_late() -> None:
    # a plan well below capacity, so no month carries cars in work into the next
    early, late = plant(), plant()
    plan = np.array([300, 0])
    for t in range(3):
        early.step(t, plan)
        late.step(t, plan)
    at_start = early.step(3, plan)
    # every kit in April's last 45 minutes: released then, built in May
    at_end = late.step(3, plan, [np.full(300, 0.999), np.zeros(0)])
    assert at_end.released.sum() == at_start.released.sum() == 300
    assert at_start.produced.sum() == 300 and at_end.produced.sum() == 0
    assert late.step(4, np.zeros(2, dtype=np.int64)).produced.sum() == 300


def test_the_seed_moves_the_draws_and_only_the_seed() -> None:
    a = [m.produced.sum() for m in build(plant(seed=0), 6)]
    b = [m.produced.sum() for m in build(plant(seed=0), 6)]
    c = [m.produced.sum() for m in build(plant(seed=1), 6)]
    assert a == b
    assert a != c


def test_a_phase_that_never_works_in_the_horizon_leaves_the_others_alone() -> None:
    # phase 1's start of production after the horizon and its year of run-out; phase 2
    # (the YU7) from March 2024
    regime = "{start: '2027-01-01', shifts: 2, hours: 8, days_per_week: 5}"
    later = [
        "plant.phases.phase1.sop=2027-01-01",
        f"plant.phases.phase1.shifts=[{regime}]",
        "plant.phases.phase2.construction={start: '2023-01', end: '2024-02'}",
        "plant.phases.phase2.sop=2024-03-01",
        "plant.phases.phase2.shifts.0.start=2024-03-01",
    ]
    p = plant(later)
    assert [r.name for r in p.phases] == ["phase2"]
    plan = np.array([0, 2_000])
    months = [p.step(t, plan) for t in range(6)]
    assert months[0].produced.sum() == 0 and sum(m.produced[1] for m in months) > 1_000


def test_station_statistics_add_up_to_the_phase() -> None:
    months = build(plant(), 6)
    for m in months[2:]:
        assert m.stations and m.shops
        final = [s for s in m.stations if s.station == "final-test"]
        # the last station's departures are the cars the plant reports
        assert sum(s.jobs_out for s in final) == m.totals.produced > 0
        assert all(0.0 < s.busy <= 1.0 + 1e-9 for s in m.stations)
        # a shop's utilisation is its stations' busy shares weighted by their servers
        for shop in m.shops:
            own = [s for s in m.stations if s.shop == shop.shop]
            weighted = sum(s.busy * s.servers for s in own) / sum(s.servers for s in own)
            assert shop.util == pytest.approx(weighted, rel=1e-9)
    # without statistics the plant counts cars only: same cars, no station records
    lean = build(plant(stats=False), 6)
    assert [m.produced.tolist() for m in lean] == [m.produced.tolist() for m in months]
    assert all(not m.stations and not m.shops for m in lean)


def _stations_of(sc_phase) -> list[tuple[str, str, int, float, float]]:  # type: ignore[no-untyped-def]
    """(shop, station, servers, first-pass yield, ideal cycle time) from the scenario."""
    out = []
    for shop in sc_phase.shops:
        for s in shop.stations:
            ideal = s.ideal_cycle_time or s.cycle_time.mean
            out.append((shop.name, s.name, s.servers, s.first_pass_yield, ideal))
    return out


def test_station_and_shop_records_follow_the_scenario() -> None:
    p = plant()
    spec = p.spec.phases[0]
    listed = _stations_of(spec)
    months = build(p, 8)
    m, run = months[7], p.phases[0]  # August 2024: phase 1 alone, on two shifts
    # every station once (the line runs the main shops first, feeders after)
    assert sorted((s.phase, s.shop, s.station, s.servers) for s in m.stations) == sorted(
        ("phase1", shop, name, float(k)) for shop, name, k, _, _ in listed
    )
    by_name = {(s.shop, s.station): s for s in m.stations}
    assert m.phases[0].shifts == 2.0 and m.phases[0].shift_hours == 8.0
    assert months[2].phases[0].shifts == 1.0  # March: one shift
    # the main line's first station takes in what the phase started
    assert m.stations[[s.shop for s in m.stations].index("stamping")].jobs_in == m.phases[0].started
    # the bottleneck is the station with the longest mean active period
    top = max(m.stations, key=lambda s: s.active_period_mean_s)
    assert (m.totals.bottleneck_shop, m.totals.bottleneck_station) == (
        top.shop,
        f"{top.shop}/{top.station}",
    )
    defects = run.ramp.defect_factor
    assert defects > 1.0  # still on the ramp: more defects than at maturity
    for shop in m.shops:
        own = [(s, by_name[s[0], s[1]]) for s in listed if s[0] == shop.shop]
        servers = sum(s[2] for s, _ in own)
        # shares of the shop's server time, from its stations' shares
        for field in ("blocked", "failed"):
            weighted = sum(getattr(rec, field) * s[2] for s, rec in own) / servers
            assert getattr(shop, field) == pytest.approx(weighted, rel=1e-9, abs=1e-12)
        # quality: the worst station's first-pass yield, its defects scaled by the ramp
        quality = min(max(0.0, 1.0 - (1.0 - s[3]) * defects) for s, _ in own)
        assert shop.quality == pytest.approx(quality, rel=1e-12)
        # OEE: good cars out of the shop's last station at the slowest ideal pace,
        # over its working time
        ideal = max(s[4] / s[2] for s, _ in own)
        hours = m.phases[0].working_hours
        oee = own[-1][1].jobs_out * ideal / (hours * 3600.0) * quality
        assert shop.oee == pytest.approx(oee, rel=1e-9)
        assert shop.availability == pytest.approx(1.0 - shop.failed, rel=1e-12)


def test_one_car_is_released_and_none_before_start_of_production() -> None:
    p = plant()
    feb = p.step(1, np.array([0, 0]))  # nothing planned
    assert feb.released.sum() == 0
    one = p.step(2, np.array([1, 0]))
    assert one.released.sum() == 1
    q = plant()
    assert q.step(0, np.array([500, 0])).released.sum() == 0  # January, before the SOP


def test_a_shop_over_two_phases_sums_their_time() -> None:
    sc, _ = load_scenario("beijing-etown-2023", ["venture=null"])
    p = Plant(
        sc.plant,
        sc.variants,
        ("2024-01", "2025-09"),
        np.random.SeedSequence(3),
        threads=False,
        stats=True,
    )
    plan = np.array([3_000, 3_000])
    months = [p.step(t, plan) for t in range(21)]
    m = months[20]  # September 2025: both phases build
    assert all(ph.produced > 0 for ph in m.phases)
    spec = {ph.name: _stations_of(ph) for ph in p.spec.phases}
    for shop in m.shops:
        out_time = on = 0.0
        quality = 1.0
        for ph, run in zip(m.phases, p.phases, strict=True):
            own = [s for s in spec[ph.phase] if s[0] == shop.shop]
            last = next(
                r
                for r in m.stations
                if (r.phase, r.shop, r.station) == (ph.phase, shop.shop, own[-1][1])
            )
            scale = p.spec.phases[[q.name for q in p.spec.phases].index(ph.phase)].cycle_time_scale
            ideal = max(s[4] * scale / s[2] for s in own)
            out_time += last.jobs_out * ideal
            on += ph.working_hours * 3600.0
            defects = run.ramp.defect_factor
            quality = min(quality, *(max(0.0, 1.0 - (1.0 - s[3]) * defects) for s in own))
        assert shop.quality == pytest.approx(quality, rel=1e-12)
        assert shop.oee == pytest.approx(out_time / on * quality, rel=1e-9)
        # OEE is availability x performance x quality; the shares part the working time
        assert shop.oee == pytest.approx(shop.availability * shop.performance * shop.quality)
        assert shop.util + shop.blocked + shop.failed + shop.starved == pytest.approx(1.0)
    for s in m.stations:
        assert s.starved == pytest.approx(max(0.0, 1.0 - s.busy - s.blocked - s.failed))


def test_a_part_fitted_at_a_station_holds_the_car_there_not_at_the_start() -> None:
    # 300 cars with their kits at the start of April; their battery packs come in the
    # month's last 45 minutes. Checked in the kit (the default), the cars start then
    # and are built in May; fitted at the pack line's first station, the cars start
    # at once, pass stamping, body and paint in April and wait before cell-to-pack
    def run(parts_at: dict[str, str] | None) -> tuple[list, Plant]:
        sc, _ = load_scenario("beijing-etown-2023", ["venture=null"])
        p = Plant(
            sc.plant,
            sc.variants,
            HORIZON,
            np.random.SeedSequence(0),
            threads=False,
            parts_at=parts_at,
        )
        plan = np.array([300, 0])
        months = [p.step(t, plan) for t in range(3)]
        packs = {"battery_pack": [np.full(300, 0.999), np.zeros(0)]}
        kits = [np.zeros(300), np.zeros(0)]
        if parts_at:
            months.append(p.step(3, plan, kits, parts=packs))
        else:
            months.append(p.step(3, plan, [np.full(300, 0.999), np.zeros(0)]))
        months.append(p.step(4, np.zeros(2, dtype=np.int64)))
        return months, p

    kit, _ = run(None)
    station, p = run({"battery_pack": "battery-pack/cell-to-pack"})
    april = 3
    assert kit[april].produced.sum() == station[april].produced.sum() == 0
    assert kit[april + 1].produced.sum() == station[april + 1].produced.sum() == 300
    by_name = {f"{s.shop}/{s.station}": s for s in station[april].stations if s.phase == "phase1"}
    kit_names = {f"{s.shop}/{s.station}": s for s in kit[april].stations if s.phase == "phase1"}
    # the main line worked on them in April while the pack line waited for its packs
    assert by_name["paint/oven-inspect"].jobs_out > 100
    assert kit_names["paint/oven-inspect"].jobs_out == 0
    for names in (by_name, kit_names):
        assert names["battery-pack/cell-to-pack"].jobs_in < 20  # the last 45 minutes
    assert by_name["battery-pack/cell-to-pack"].starved > 0.95
    # conservation: every car released is built or in work, and April's 300 are built
    released = p.released_by_variant.sum()
    assert released == sum(m.released.sum() for m in station) >= 300
    assert p.built_by_variant.sum() + sum(p.in_work(r) for r in p.phases) == released
    assert sum(m.produced.sum() for m in station) == sum(m.produced.sum() for m in kit)


def test_a_station_that_no_phase_has_or_a_join_is_refused_with_its_component() -> None:
    from evplant.errors import EvplantError

    sc, _ = load_scenario("beijing-etown-2023", ["venture=null"])
    for where, says in (
        ("paint/nowhere", "does not have"),
        ("general-assembly/trim-1", "assembly join"),
    ):
        with pytest.raises(EvplantError, match=says) as err:
            Plant(
                sc.plant, sc.variants, HORIZON, np.random.SeedSequence(0), parts_at={"chip": where}
            )
        assert err.value.problems[0].field == "venture.supply.components.chip.station"


def test_the_months_bottleneck_is_the_station_of_the_longest_active_period() -> None:
    for m in build(plant(), 6)[2:]:
        longest = max(m.stations, key=lambda s: s.active_period_mean_s)
        assert longest.active_period_mean_s > 0
        assert (m.totals.bottleneck_shop, m.totals.bottleneck_station) == (
            longest.shop,
            f"{longest.shop}/{longest.station}",
        )


@pytest.mark.parametrize("on_defect", ["scrap", "rework"])
def test_where_a_station_scraps_or_reworks_its_shops_quality_is_what_happened(
    on_defect: str,
) -> None:
    # a final test that fails one car in twenty when mature (more on the ramp's early
    # defects): general assembly's quality is the share of the cars it finished right
    # first time, not the yield the scenario gives (its other stations pass more)
    at = "plant.phases.phase1.shops.general-assembly.stations.final-test"
    sets = [f"{at}.first_pass_yield=0.95", f"{at}.on_defect={on_defect}"]
    if on_defect == "rework":
        sets.append(f"{at}.rework_at=trim-2")
    p = plant(sets)
    run = p.phases[0]
    last = run.engine.line.names.index("general-assembly/final-test")
    seen = 0
    for t in range(6):
        m = p.step(t, np.array([3_000, 0]))
        phase = m.phases[0]
        if phase.produced == 0:
            continue
        seen += 1
        # the cars that failed final test: scrapped, or sent back (each time they fail)
        failed = phase.scrapped if on_defect == "scrap" else run.engine.bin_stats(t).reworked[last]
        assert failed > 0
        shop = next(s for s in m.shops if s.shop == "general-assembly")
        assert shop.quality == pytest.approx(phase.produced / (phase.produced + failed))
        assert shop.quality < 0.9
        # vehicles conserved per variant: each variant's in work is its own started,
        # less built, less scrapped
        assert sum(v.in_work for v in m.variants) == p.in_work(run)
    assert seen >= 4


def test_a_month_one_phase_does_not_work_still_has_the_others_stations() -> None:
    # phase 1 starts in September, phase 2 (the YU7) in March: from March to August
    # only phase 2's stations and shops have a month
    later = [
        "plant.phases.phase1.sop=2024-09-01",
        "plant.phases.phase1.shifts=[{start: '2024-09-01', shifts: 2, hours: 8, days_per_week: 5}]",
        "plant.phases.phase2.construction={start: '2023-01', end: '2024-02'}",
        "plant.phases.phase2.sop=2024-03-01",
        "plant.phases.phase2.shifts.0.start=2024-03-01",
    ]
    p = plant(later)
    assert [r.name for r in p.phases] == ["phase1", "phase2"]
    months = [p.step(t, np.array([0, 2_000])) for t in range(6)]
    for m in months[3:]:
        assert m.stations and {s.phase for s in m.stations} == {"phase2"}
        assert m.totals.bottleneck_station.split("/")[0] == m.totals.bottleneck_shop != ""


def test_counting_only_builds_the_same_cars_and_keeps_no_station_records() -> None:
    full, counted = build(plant(), 6), build(plant(stats=False), 6)
    assert [m.totals.produced for m in counted] == [m.totals.produced for m in full]
    assert sum(m.totals.produced for m in counted) > 0
    for m in counted:
        assert m.shops == [] and m.stations == []
        assert (m.totals.bottleneck_shop, m.totals.bottleneck_station) == ("", "")
