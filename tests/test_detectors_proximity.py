"""Collision risk and encounters at their thresholds.

Collision: CPA within 0.5 nm, or 3 lengths of the longer vessel, never less
than 0.1 nm; for courses within 20 degrees of reciprocal or the same, within
the wider ship's safety zone abeam (1.5 beams, plus half the other's), never
less than 50 m; TCPA within 15 min; one vessel at 5 kn or more; three checks.
Encounter: within 500 m, both under 2 kn, 2 h, 10 km from harbours (GFW).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from pantaulaut.alerts.findings import Finding
from pantaulaut.alerts.geo import M_PER_NM
from pantaulaut.alerts.proximity import CollisionWatch, EncounterWatch
from pantaulaut.alerts.settings import DetectorSettings
from pantaulaut.model import AlertKind, Vessel

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
S = DetectorSettings()
LAT0, LON0 = -7.20, 114.60
A, B = 525_000_040, 525_000_041


def place(east_nm: float, north_nm: float) -> tuple[float, float]:
    lat = LAT0 + north_nm / 60.0
    return lat, LON0 + east_nm / (60.0 * math.cos(math.radians(LAT0)))


def vessel(
    mmsi: int,
    east_nm: float,
    north_nm: float,
    speed_kn: float,
    course_deg: float,
    *,
    when: datetime = T0,
    length_m: float | None = None,
    beam_m: float | None = None,
    status: int | None = 0,
) -> Vessel:
    lat, lon = place(east_nm, north_nm)
    return Vessel(
        mmsi,
        vessel_class="A",
        lat_deg=lat,
        lon_deg=lon,
        speed_kn=speed_kn,
        course_deg=course_deg,
        nav_status=status,
        position_time=when,
        length_m=length_m,
        beam_m=beam_m,
        station="SMP-T",
    )


def crossing(cpa_nm: float, **kwargs: float | None) -> list[Vessel]:
    """A northbound and a westbound vessel at 10 kn whose CPA is ``cpa_nm``.

    B starts 1 nm east and 1 + c nm north of A; the CPA is c / sqrt(2),
    about 6 min ahead.
    """
    c = cpa_nm * math.sqrt(2.0)
    return [
        vessel(A, 0.0, 0.0, 10.0, 0.0, **kwargs),  # type: ignore[arg-type]
        vessel(B, 1.0, 1.0 + c, 10.0, 270.0, **kwargs),  # type: ignore[arg-type]
    ]


def checks(watch: CollisionWatch, vessels: list[Vessel], times: int) -> list[Finding]:
    out: list[Finding] = []
    for n in range(times):
        now = T0 + timedelta(seconds=n)  # positions barely move: same geometry
        out += watch.on_tick(now, watch.movers(vessels, now))
    return out


def risks(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.kind is AlertKind.COLLISION_RISK and f.active]


@pytest.mark.parametrize(("cpa_nm", "alerts"), [(0.095, True), (0.105, False)])
def test_cpa_floor_of_0_1_nm_for_vessels_of_unknown_length(
    cpa_nm: float, alerts: bool
) -> None:
    found = risks(checks(CollisionWatch(S), crossing(cpa_nm), 3))
    assert bool(found) is alerts


@pytest.mark.parametrize(("cpa_nm", "alerts"), [(0.24, True), (0.25, False)])
def test_cpa_limit_is_three_lengths_of_the_longer_vessel(
    cpa_nm: float, alerts: bool
) -> None:
    vessels = crossing(cpa_nm, length_m=150.0)  # 3 x 150 m = 0.243 nm
    assert bool(risks(checks(CollisionWatch(S), vessels, 3))) is alerts


@pytest.mark.parametrize(("cpa_nm", "alerts"), [(0.49, True), (0.51, False)])
def test_cpa_limit_is_at_most_half_a_mile(cpa_nm: float, alerts: bool) -> None:
    vessels = crossing(cpa_nm, length_m=400.0)  # 3 x 400 m > 0.5 nm
    assert bool(risks(checks(CollisionWatch(S), vessels, 3))) is alerts


def passing(course_b_deg: float, cpa_nm: float, **kwargs: float | None) -> list[Vessel]:
    """A eastbound at 10 kn; B at 10 kn on ``course_b_deg``, ``cpa_nm`` apart
    at their closest, six minutes from now."""
    b_east = 10.0 * math.sin(math.radians(course_b_deg))
    b_north = 10.0 * math.cos(math.radians(course_b_deg))
    rel_east, rel_north = b_east - 10.0, b_north
    speed = math.hypot(rel_east, rel_north)
    # Where B is, seen from A, at the closest point: across the relative track.
    at_east, at_north = -rel_north / speed * cpa_nm, rel_east / speed * cpa_nm
    hours = 0.1
    return [
        vessel(A, 0.0, 0.0, 10.0, 90.0, **kwargs),  # type: ignore[arg-type]
        vessel(
            B,
            at_east - rel_east * hours,
            at_north - rel_north * hours,
            10.0,
            course_b_deg % 360.0,
            **kwargs,  # type: ignore[arg-type]
        ),
    ]


@pytest.mark.parametrize(("cpa_nm", "alerts"), [(0.025, True), (0.029, False)])
def test_a_head_on_pass_is_judged_abeam_with_a_50_m_floor(
    cpa_nm: float, alerts: bool
) -> None:
    # Reciprocal courses: two ships passing port to port, as in a canal.
    vessels = passing(270.0, cpa_nm)
    assert bool(risks(checks(CollisionWatch(S), vessels, 3))) is alerts


@pytest.mark.parametrize(("cpa_nm", "alerts"), [(0.041, True), (0.045, False)])
def test_abeam_limit_is_the_wider_ships_safety_zone(
    cpa_nm: float, alerts: bool
) -> None:
    # 1.5 x 40 m + 0.5 x 40 m = 80 m = 0.043 nm (DMA safety zone breadth).
    vessels = passing(270.0, cpa_nm, beam_m=40.0, length_m=200.0)
    assert bool(risks(checks(CollisionWatch(S), vessels, 3))) is alerts


@pytest.mark.parametrize(("course_b_deg", "alerts"), [(289.0, False), (291.0, True)])
def test_courses_more_than_20_degrees_off_reciprocal_are_a_crossing(
    course_b_deg: float, alerts: bool
) -> None:
    # 0.06 nm: inside the crossing floor of 0.1 nm, outside the abeam one.
    vessels = passing(course_b_deg, 0.06)
    assert bool(risks(checks(CollisionWatch(S), vessels, 3))) is alerts


def test_overtaking_is_a_parallel_pass_too() -> None:
    fast = [vessel(A, 0, 0, 14.0, 90.0), vessel(B, 0.5, 0.06, 6.0, 95.0)]
    assert not risks(checks(CollisionWatch(S), fast, 3))
    close = [vessel(A, 0, 0, 14.0, 90.0), vessel(B, 0.5, 0.01, 6.0, 90.0)]
    assert risks(checks(CollisionWatch(S), close, 3))


def test_three_consecutive_checks_must_agree() -> None:
    watch = CollisionWatch(S)
    vessels = crossing(0.05)
    assert not risks(checks(watch, vessels, 2))
    (found,) = risks(checks(watch, vessels, 1))
    assert found.partner == B
    assert found.detail["cpa_nm"] == pytest.approx(0.05, abs=0.005)


@pytest.mark.parametrize(("minutes", "alerts"), [(14.5, True), (15.5, False)])
def test_tcpa_within_15_minutes(minutes: float, alerts: bool) -> None:
    # Head-on at 10 kn each: closing 20 kn.
    gap_nm = 20.0 * minutes / 60.0
    vessels = [vessel(A, 0, 0, 10, 90), vessel(B, gap_nm, 0, 10, 270)]
    watch = CollisionWatch(S)
    assert bool(risks(checks(watch, vessels, 3))) is alerts


@pytest.mark.parametrize(("speed", "alerts"), [(4.9, False), (5.0, True)])
def test_suppressed_when_both_are_slower_than_5_kn(speed: float, alerts: bool) -> None:
    vessels = [vessel(A, 0, 0, 4.0, 90), vessel(B, 0.5, 0, speed, 270)]
    assert bool(risks(checks(CollisionWatch(S), vessels, 3))) is alerts


@pytest.mark.parametrize(("speed", "alerts"), [(0.4, False), (0.6, True)])
def test_a_stopped_vessel_is_no_party(speed: float, alerts: bool) -> None:
    vessels = [vessel(A, 0, 0, 12.0, 90), vessel(B, 0.5, 0.01, speed, 270)]
    assert bool(risks(checks(CollisionWatch(S), vessels, 3))) is alerts


@pytest.mark.parametrize("status", [1, 5, 6])
def test_at_anchor_moored_or_aground_is_no_party(status: int) -> None:
    vessels = [vessel(A, 0, 0, 12, 90), vessel(B, 0.5, 0, 6, 270, status=status)]
    assert not risks(checks(CollisionWatch(S), vessels, 3))


def test_a_pair_that_has_passed_is_cleared() -> None:
    watch = CollisionWatch(S)
    assert risks(checks(watch, crossing(0.05), 3))
    passed = [vessel(A, 0, 2, 10, 0), vessel(B, -1, 2.07, 10, 270)]
    out = watch.on_tick(T0, watch.movers(passed, T0))
    assert [(f.active, f.summary) for f in out] == [(False, "passed clear")]


def test_stale_positions_are_not_projected() -> None:
    old = T0 - timedelta(seconds=61)
    vessels = [vessel(A, 0, 0, 10, 0, when=old), vessel(B, 1, 1.05, 10, 270)]
    assert not risks(checks(CollisionWatch(S), vessels, 3))


# -- encounter -----------------------------------------------------------


def meeting(
    apart_m: float,
    speed_kn: float,
    hours: float,
    *,
    near_harbour: bool = False,
    status: int | None = 0,
) -> list[Finding]:
    watch = EncounterWatch(S, lambda _lat, _lon: near_harbour)
    out: list[Finding] = []
    steps = int(hours * 3600 / 30)
    for n in range(steps + 1):
        now = T0 + timedelta(seconds=30 * n)
        vessels = [
            vessel(A, 0, 0, speed_kn, 0, when=now, status=status),
            vessel(B, apart_m / M_PER_NM, 0, speed_kn, 0, when=now, status=status),
        ]
        out += watch.on_tick(now, watch.movers(vessels, now))
    return out


def encounters(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.kind is AlertKind.ENCOUNTER and f.active]


def test_two_hours_together_at_sea_is_an_encounter() -> None:
    found = encounters(meeting(400, 1.0, 2.05))
    assert found
    assert found[0].time == T0 + timedelta(hours=2)


def test_one_minute_short_of_two_hours_is_not() -> None:
    assert not encounters(meeting(400, 1.0, 2.0 - 1 / 60))


@pytest.mark.parametrize(
    ("apart_m", "speed_kn", "alerts"),
    [(495, 1.0, True), (505, 1.0, False), (300, 1.9, True), (300, 2.0, False)],
)
def test_encounter_distance_and_speed(
    apart_m: float, speed_kn: float, alerts: bool
) -> None:
    assert bool(encounters(meeting(apart_m, speed_kn, 2.1))) is alerts


def test_no_encounter_near_a_harbour() -> None:
    assert not encounters(meeting(200, 0.5, 2.5, near_harbour=True))


@pytest.mark.parametrize("status", [1, 5])
def test_no_encounter_for_vessels_moored_or_at_anchor(status: int) -> None:
    assert not encounters(meeting(200, 0.5, 2.5, status=status))
