"""Navigational status, safety texts and identities, through the pipeline too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import shapely
from pyais.encode import encode_dict

from pantaulaut.alerts.status import (
    IdentityDetector,
    NavStatusDetector,
    SafetyTextDetector,
    read_safety_text,
)
from pantaulaut.geofence.zones import Zone, ZoneSet
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.model import AlertKind, AlertState, PositionReport, Severity
from pantaulaut.pipeline import Pipeline

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
HARBOUR = Zone(
    id="kalianget",
    name="Kalianget harbour",
    kind="harbour",
    geometry=shapely.box(113.93, -7.07, 113.96, -7.04),
)


def report(t_s: float, status: int | None, mmsi: int = 525_000_020) -> PositionReport:
    return PositionReport(
        mmsi,
        T0 + timedelta(seconds=t_s),
        -7.1,
        114.2,
        0.0,
        0.0,
        None,
        status,
        1,
        "SMP-T",
    )


def lines(data: dict[str, Any], seconds: float) -> list[str]:
    tag = f"s:SMP-T,c:{int((T0 + timedelta(seconds=seconds)).timestamp())}"
    prefix = f"\\{tag}*{nmea_checksum(tag):02X}\\"
    return [prefix + s for s in encode_dict(data, "AI", "VDM", "A")]


def run(*groups: list[str]) -> Pipeline:
    pipeline = Pipeline(None, ZoneSet([HARBOUR]))
    for group in groups:
        for line in group:
            pipeline.feed(line, "test", datetime(2030, 1, 1, tzinfo=UTC))
    pipeline.finish()
    return pipeline


def position(
    mmsi: int, status: int, seconds: float, lat: float, lon: float
) -> list[str]:
    data = {"type": 1, "mmsi": mmsi, "status": status, "lat": lat, "lon": lon}
    return lines(data | {"speed": 0.0, "course": 0.0, "heading": 0}, seconds)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(6, AlertKind.AGROUND), (2, AlertKind.NOT_UNDER_COMMAND)],
)
def test_status_6_and_2_raise_and_another_status_clears(
    status: int, kind: AlertKind
) -> None:
    detector = NavStatusDetector(reassert_s=60.0)
    (found,) = detector.on_fix(report(0, status), ())
    assert (found.kind, found.active) == (kind, True)
    assert detector.declared(525_000_020)
    assert detector.on_fix(report(10, status), ()) == []  # not re-raised yet
    (again,) = detector.on_fix(report(60, status), ())
    assert again.active
    (cleared,) = detector.on_fix(report(70, 0), ())
    assert (cleared.kind, cleared.active) == (kind, False)


@pytest.mark.parametrize("status", [0, 1, 3, 5, 7, 8, 15])
def test_other_statuses_raise_nothing(status: int) -> None:
    assert NavStatusDetector(60.0).on_fix(report(0, status), ()) == []


def test_aground_outside_harbours_alerts_and_resolves_when_refloated() -> None:
    pipeline = run(
        position(525_000_021, 6, 0, -7.2, 114.1),
        position(525_000_021, 0, 60, -7.2, 114.1),
        position(525_000_021, 0, 200, -7.2, 114.1),
    )
    assert pipeline.report()["alerts"] == {"aground": 1}
    assert pipeline.alerts.open_alerts() == []
    assert pipeline.alerts.resolved["aground"] == 1


def test_aground_in_a_harbour_is_suppressed() -> None:
    pipeline = run(position(525_000_022, 6, 0, -7.05, 113.95))
    assert pipeline.report()["alerts"] == {}
    assert pipeline.alerts.suppressed["aground"] == 1


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("MAYDAY MAYDAY KM SUMEKAR", Severity.CRITICAL),
        ("SOS", Severity.CRITICAL),
        ("KAPAL TENGGELAM", Severity.CRITICAL),
        ("TOLONG KAMI", Severity.CRITICAL),
        ("FIRE IN ENGINE ROOM", Severity.CRITICAL),
        ("KEBAKARAN", Severity.CRITICAL),
        ("BAHAYA KARANG", Severity.HIGH),
        ("PAN PAN MESIN MATI", Severity.HIGH),
        ("MATI MESIN HANYUT", Severity.HIGH),
        ("MAN  OVERBOARD", Severity.CRITICAL),
    ],
)
def test_distress_and_urgency_words(text: str, severity: Severity) -> None:
    verdict = read_safety_text(text)
    assert verdict is not None
    assert verdict[0] is severity


@pytest.mark.parametrize(
    "text",
    [
        "MAYDAY TEST",
        "SOS LATIHAN",
        "FIRE DRILL",
        "UJI COBA TOLONG",  # "uji" (test) as its own word
        "SELAMAT PAGI",
        "RCVD YR TEST MSG",
        "SOSIAL",  # SOS only as a word
        "FIREWORKS",
        "",
    ],
)
def test_ordinary_texts_tests_and_drills_are_not_distress(text: str) -> None:
    assert read_safety_text(text) is None


def test_beacon_texts_belong_to_the_beacon_detector() -> None:
    detector = SafetyTextDetector()
    assert detector.on_text(970_000_001, 14, "SOS", None, T0, ()) == ()
    (found,) = detector.on_text(525_000_001, 12, "SOS", 2525100, T0, ())
    assert found.detail["to_mmsi"] == 2525100


def test_safety_text_through_the_pipeline() -> None:
    text = {"type": 14, "mmsi": 525_000_023, "text": "KAPAL TENGGELAM TOLONG"}
    pipeline = run(lines(text, 0), lines(text, 30))
    (alert,) = pipeline.alerts.open_alerts()
    assert (alert.kind, alert.severity, alert.count) == (
        AlertKind.SAFETY_BROADCAST,
        Severity.CRITICAL,
        2,
    )
    assert alert.state is AlertState.OPEN


def test_an_invalid_mmsi_is_raised_once() -> None:
    detector = IdentityDetector()
    (found,) = detector.on_message(123_456_789, T0, "SMP-T", ())
    assert found.kind is AlertKind.INVALID_MMSI
    assert detector.on_message(123_456_789, T0, "SMP-T", ()) == ()
    assert detector.on_message(525_000_001, T0, "SMP-T", ()) == ()
    assert detector.on_message(2_525_100, T0, "SMP-T", ()) == ()  # coast station
