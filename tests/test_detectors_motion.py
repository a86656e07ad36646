"""Sudden stop, drifting and position jump at their thresholds.

Each threshold is tried just under and just over (domain.md 2.3: DMA
SuddenSpeedChangeAnalysis >7 kn -> <1 kn within 30 s held 60 s; DMA
DriftAnalysis 1-5 kn, COG-HDG >= 45 deg, 10 min, 500 m; AISdb 50 kn).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pantaulaut.alerts.findings import Finding
from pantaulaut.alerts.geo import dead_reckon
from pantaulaut.alerts.motion import (
    DriftDetector,
    PositionJumpDetector,
    SuddenStopDetector,
)
from pantaulaut.alerts.settings import DetectorSettings
from pantaulaut.model import AlertKind, PositionReport

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
MMSI = 525_000_010
S = DetectorSettings()


def fix(
    t_s: float,
    speed_kn: float | None,
    *,
    lat: float = -7.1,
    lon: float = 114.2,
    course: float | None = 90.0,
    heading: float | None = 90.0,
    status: int | None = 0,
) -> PositionReport:
    return PositionReport(
        MMSI,
        T0 + timedelta(seconds=t_s),
        lat,
        lon,
        speed_kn,
        course,
        heading,
        status,
        1,
        "SMP-T",
    )


def stop_findings(
    before_kn: float,
    after_kn: float,
    drop_s: float,
    *,
    vessel_class: str = "A",
    length_m: float | None = None,
    between: list[float] | None = None,
    held_s: float = 60.0,
) -> list[Finding]:
    """A vessel at ``before_kn``, then ``after_kn`` ``drop_s`` later, then a tick."""
    detector = SuddenStopDetector(S)
    out: list[Finding] = []
    out += detector.on_fix(fix(0, before_kn), vessel_class, length_m, ())
    for n, speed in enumerate(between or [], start=1):
        t = drop_s * n / (len(between or []) + 1)
        out += detector.on_fix(fix(t, speed), vessel_class, length_m, ())
    out += detector.on_fix(fix(drop_s, after_kn), vessel_class, length_m, ())
    out += detector.on_tick(T0 + timedelta(seconds=drop_s + held_s))
    return out


def raised(findings: list[Finding], kind: AlertKind) -> list[Finding]:
    return [f for f in findings if f.kind is kind and f.active]


# -- sudden stop ---------------------------------------------------------


def test_stop_from_just_over_7_to_just_under_1_kn_in_10_s_alerts() -> None:
    (found,) = raised(stop_findings(7.1, 0.9, 10), AlertKind.SUDDEN_STOP)
    assert found.detail["from_kn"] == 7.1
    assert found.time == T0 + timedelta(seconds=70)


@pytest.mark.parametrize(("before", "after"), [(7.0, 0.5), (12.0, 1.0)])
def test_stop_needs_more_than_7_kn_before_and_less_than_1_after(
    before: float, after: float
) -> None:
    assert not raised(stop_findings(before, after, 10), AlertKind.SUDDEN_STOP)


def test_low_speed_must_last_60_s() -> None:
    assert not raised(stop_findings(9, 0, 10, held_s=59), AlertKind.SUDDEN_STOP)
    assert raised(stop_findings(9, 0, 10, held_s=60), AlertKind.SUDDEN_STOP)


@pytest.mark.parametrize(("drop_s", "alerts"), [(30, True), (31, False)])
def test_a_large_ship_must_stop_within_30_s(drop_s: float, alerts: bool) -> None:
    found = stop_findings(12, 0.2, drop_s, length_m=120, between=[6.0])
    assert bool(raised(found, AlertKind.SUDDEN_STOP)) is alerts


@pytest.mark.parametrize(("drop_s", "alerts"), [(45, True), (46, False)])
def test_a_class_b_boat_gets_one_and_a_half_reporting_intervals(
    drop_s: float, alerts: bool
) -> None:
    found = stop_findings(8, 0.3, drop_s, vessel_class="B", length_m=14)
    assert bool(raised(found, AlertKind.SUDDEN_STOP)) is alerts


def test_a_small_boat_slowing_through_a_report_in_between_is_not_sudden() -> None:
    """A boat docking in a river: 10.6 kn to rest in ~40 s (AMSA sample)."""
    found = stop_findings(10.6, 0.0, 24, vessel_class="B", between=[5.8])
    assert not raised(found, AlertKind.SUDDEN_STOP)


def test_a_speed_of_102_2_kn_is_no_speed() -> None:
    assert not raised(stop_findings(102.2, 0.0, 10), AlertKind.SUDDEN_STOP)


def test_times_and_positions_that_disagree_are_not_a_stop() -> None:
    detector = SuddenStopDetector(S)
    detector.on_fix(fix(0, 8.7), "B", None, ())
    far = fix(4, 0.2, lon=114.2 + 0.004)  # 0.24 nm in 4 s: stale relay time
    detector.on_fix(far, "B", None, ())
    assert not detector.on_tick(T0 + timedelta(seconds=120))


def test_a_stop_then_silence_still_alerts_on_the_data_clock() -> None:
    detector = SuddenStopDetector(S)
    detector.on_fix(fix(0, 9), "A", None, ())
    detector.on_fix(fix(10, 0.1), "A", None, ())
    assert not detector.on_tick(T0 + timedelta(seconds=69))
    assert detector.on_tick(T0 + timedelta(seconds=70))


@pytest.mark.parametrize(("speed", "clears"), [(3.4, False), (3.5, True)])
def test_a_stopped_ferry_moving_again_clears_at_3_5_kn(
    speed: float, clears: bool
) -> None:
    detector = SuddenStopDetector(S)
    detector.on_fix(fix(0, 9), "A", None, ())
    detector.on_fix(fix(10, 0.1), "A", None, ())
    detector.on_tick(T0 + timedelta(seconds=80))
    out = detector.on_fix(fix(200, speed), "A", None, ())
    assert any(not f.active for f in out) is clears


# -- drifting ----------------------------------------------------------


def drift_findings(
    speed_kn: float,
    angle_deg: float,
    minutes: float,
    *,
    step_s: float = 10.0,
    heading: bool = True,
) -> list[Finding]:
    """Reports every ``step_s`` drifting east at ``speed_kn`` for ``minutes``."""
    detector = DriftDetector(S)
    out: list[Finding] = []
    lat, lon = -7.1, 114.2
    t = 0.0
    while t <= minutes * 60.0 + 1e-6:
        here = dead_reckon(lat, lon, speed_kn, 90.0, t)
        report = fix(
            t,
            speed_kn,
            lat=here[0],
            lon=here[1],
            course=90.0,
            heading=(90.0 + angle_deg) % 360.0 if heading else None,
        )
        out += detector.on_fix(report, ())
        t += step_s
    return out


def test_drifting_beam_on_at_1_5_kn_for_10_min_alerts() -> None:
    (found,) = raised(drift_findings(1.5, 90, 11), AlertKind.DRIFTING)
    assert found.detail["held_s"] >= 600


@pytest.mark.parametrize(
    ("speed", "angle", "alerts"),
    [
        (1.0, 90, True),
        (0.9, 90, False),
        (5.0, 90, True),
        (5.1, 90, False),
        (2.0, 45, True),
        (2.0, 44, False),
    ],
)
def test_drift_speed_and_angle_bounds(speed: float, angle: float, alerts: bool) -> None:
    found = drift_findings(speed, angle, 20)
    assert bool(raised(found, AlertKind.DRIFTING)) is alerts


def test_drift_must_last_10_minutes() -> None:
    assert not raised(drift_findings(4.0, 90, 9.9), AlertKind.DRIFTING)
    assert raised(drift_findings(4.0, 90, 10.0), AlertKind.DRIFTING)


def test_drift_must_cover_500_m() -> None:
    # 1.6 kn covers 494 m in 10 min and 500 m a few seconds later.
    assert not raised(drift_findings(1.6, 90, 10.0), AlertKind.DRIFTING)
    assert raised(drift_findings(1.6, 90, 10.5), AlertKind.DRIFTING)


def test_no_heading_no_drift() -> None:
    assert not raised(drift_findings(2.0, 90, 20, heading=False), AlertKind.DRIFTING)


@pytest.mark.parametrize(("angle", "clears"), [(31, False), (29, True)])
def test_drift_clears_below_30_deg(angle: float, clears: bool) -> None:
    detector = DriftDetector(S)
    for n in range(80):
        detector.on_fix(
            fix(n * 10, 2.0, lon=114.2 + n * 0.0001, course=90, heading=180), ()
        )
    out = detector.on_fix(fix(900, 2.0, course=90, heading=90 + angle), ())
    assert any(not f.active for f in out) is clears


# -- position jump -------------------------------------------------------


def jump_findings(
    jump_nm: float, seconds: float, track_fixes: int = 3
) -> list[Finding]:
    detector = PositionJumpDetector(S)
    out: list[Finding] = []
    for n in range(track_fixes):
        out += detector.on_fix(fix(n * 10, 10, lon=114.2 + n * 0.0005), ())
    last_s = (track_fixes - 1) * 10
    lat, lon = dead_reckon(-7.1, 114.2 + (track_fixes - 1) * 0.0005, jump_nm, 0, 3600)
    out += detector.on_fix(fix(last_s + seconds, 10, lat=lat, lon=lon), ())
    return out


@pytest.mark.parametrize(
    ("jump_nm", "seconds", "alerts"),
    [
        (5.0, 350, True),  # 51 kn
        (5.0, 370, False),  # 49 kn
        (1.0, 1, False),  # not more than 1 nm
        (1.05, 1, True),
    ],
)
def test_jump_bounds(jump_nm: float, seconds: float, alerts: bool) -> None:
    found = raised(jump_findings(jump_nm, seconds), AlertKind.POSITION_JUMP)
    assert bool(found) is alerts


def test_no_jump_without_a_track_of_three_fixes() -> None:
    assert not raised(jump_findings(25, 10, track_fixes=2), AlertKind.POSITION_JUMP)


def test_a_glitch_out_and_back_is_one_alert_and_the_track_holds() -> None:
    detector = PositionJumpDetector(S)
    for n in range(5):
        detector.on_fix(fix(n * 10, 10, lon=114.2 + n * 0.0005), ())
    out = detector.on_fix(fix(50, 10, lat=-6.7, lon=114.2), ())
    out += detector.on_fix(fix(60, 10, lon=114.2 + 6 * 0.0005), ())
    assert len(raised(out, AlertKind.POSITION_JUMP)) == 1
