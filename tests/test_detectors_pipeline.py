"""Detectors inside the pipeline: the data clock, ticks, sinks and the store."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely
from pyais.encode import encode_dict

from pantaulaut.alerts.book import AlertChange
from pantaulaut.geofence.zones import Zone, ZoneSet
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.model import AlertKind, AlertState
from pantaulaut.pipeline import Pipeline
from pantaulaut.store.sqlite import SqliteStore

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
ARRIVAL = datetime(2030, 1, 1, tzinfo=UTC)
FERRY = 525_000_050
BOAT = 525_000_051
ZONES = ZoneSet(
    [
        Zone(
            "kalianget",
            "Kalianget harbour",
            "harbour",
            shapely.box(113.93, -7.07, 113.96, -7.04),
        )
    ]
)


def lines(data: dict[str, Any], seconds: float, station: str = "SMP-T") -> list[str]:
    tag = f"s:{station},c:{int((T0 + timedelta(seconds=seconds)).timestamp())}"
    prefix = f"\\{tag}*{nmea_checksum(tag):02X}\\"
    return [prefix + s for s in encode_dict(data, "AI", "VDM", "A")]


def report(
    mmsi: int,
    seconds: float,
    speed: float,
    *,
    lon: float = 114.2,
    lat: float = -7.1,
    course: float = 90.0,
    status: int = 0,
    station: str = "SMP-T",
) -> list[str]:
    data = {
        "type": 1,
        "mmsi": mmsi,
        "status": status,
        "lat": lat,
        "lon": lon,
        "speed": speed,
        "course": course,
        "heading": int(course),
    }
    return lines(data, seconds, station)


def feed(pipeline: Pipeline, groups: list[list[str]]) -> None:
    for group in groups:
        for line in group:
            pipeline.feed(line, "test", ARRIVAL)


def stop_then(after_s: float) -> list[list[str]]:
    """A ferry stops dead at 10 s; another vessel is heard until ``after_s``."""
    groups = [report(FERRY, 0, 12.0), report(FERRY, 10, 0.2)]
    t = 20.0
    while t <= after_s:
        groups.append(report(BOAT, t, 3.0, lon=114.45))
        t += 10.0
    return groups


def test_a_stop_is_confirmed_on_the_data_clock_at_the_end_of_input() -> None:
    pipeline = Pipeline(None, ZONES)
    feed(pipeline, stop_then(70))
    pipeline.finish()  # the final tick at the last data time, 70 s
    assert pipeline.report()["alerts"] == {"sudden_stop": 1}
    (entry,) = pipeline.report()["alert_log"]
    assert entry["time"] == "2026-06-17T00:01:10Z"


def test_the_wall_clock_is_never_used() -> None:
    pipeline = Pipeline(None, ZONES)
    feed(pipeline, stop_then(60))
    pipeline.finish()  # only 50 s of low speed on the data clock
    assert pipeline.report()["alerts"] == {}


def test_public_tick_moves_the_clock_for_a_silent_single_station() -> None:
    """A live service whose only station stops must still hear of it."""
    pipeline = Pipeline(None, ZONES)
    t = 0.0
    while t < 2000:
        feed(pipeline, [report(FERRY, t, 10.0, lon=114.2 + t * 1e-6)])
        t += 2.0
    pipeline.tick(T0 + timedelta(seconds=2000 + 30))
    assert "station_down" not in pipeline.alert_counts
    pipeline.tick(T0 + timedelta(seconds=2000 + 90))
    assert pipeline.alert_counts["station_down"] == 1
    assert "ais_gap" not in pipeline.alert_counts


def test_a_jump_of_the_data_clock_restarts_the_time_based_detectors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pipeline = Pipeline(None, ZONES)
    groups = []
    t = 0.0
    while t <= 1500:
        groups.append(report(FERRY, t, 10.0, lon=114.2 + t * 5e-5))
        groups.append(report(BOAT, t + 1, 3.0, lon=114.21, lat=-7.12))
        t += 10.0
    groups.append(report(BOAT, 1500 + 7200, 3.0, lon=114.21, lat=-7.12))
    with caplog.at_level(logging.WARNING):
        feed(pipeline, groups)
        pipeline.finish()
    assert "data clock jumped" in caplog.text
    assert pipeline.alert_counts == {}


def test_resolutions_reach_the_sinks_and_the_store(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    pipeline = Pipeline(store, ZONES)
    changes: list[AlertChange] = []
    pipeline.sinks.append(changes.append)
    groups = [report(FERRY, 0, 12.0), report(FERRY, 10, 0.2)]
    for n in range(1, 12):
        groups.append(report(FERRY, 10 + 10 * n, 0.1))
    for n in range(20):  # a stopped ferry moving again
        groups.append(report(FERRY, 200 + 10 * n, 9.0, lon=114.2 + n * 5e-4))
    feed(pipeline, groups)
    pipeline.finish()
    actions = [c.action for c in changes if c.alert.kind is AlertKind.SUDDEN_STOP]
    assert actions[0] == "opened"
    assert actions[-1] == "resolved"
    (stored,) = store.alerts(states=[AlertState.RESOLVED])
    assert [h["action"] for h in stored.history] == ["opened", "resolved"]
    assert "moving again" in stored.history[-1]["note"]
    assert stored.evidence  # the raw sentences that raised it
    assert pipeline.report()["alerts"] == {"sudden_stop": 1}
    store.close()


def test_near_a_vessel_that_declares_itself_moored_is_an_unknown_berth() -> None:
    """Two boats passing close beside a moored ship: a harbour not in the file."""
    pipeline = Pipeline(None, ZONES)
    groups = []
    for t in range(0, 240, 10):
        groups.append(report(525_000_059, t, 0.0, lon=114.5, lat=-7.3, status=5))
        east = 114.49 + t * 8e-5
        groups.append(report(FERRY, t, 8.0, lon=east, lat=-7.3015, course=90))
        west = 114.51 - t * 8e-5
        groups.append(report(BOAT, t, 8.0, lon=west, lat=-7.3013, course=270))
    feed(pipeline, groups)
    pipeline.finish()
    assert "collision_risk" not in pipeline.alert_counts
    assert pipeline.alerts.suppressed["collision_risk"] >= 1


def test_the_same_pass_at_open_sea_is_a_collision_risk() -> None:
    pipeline = Pipeline(None, ZONES)
    opened: list[AlertChange] = []
    pipeline.sinks.append(lambda change: opened.append(change) if change.new else None)
    groups = []
    for t in range(0, 240, 10):
        east = 114.49 + t * 8e-5
        groups.append(report(FERRY, t, 8.0, lon=east, lat=-7.3015, course=90))
        west = 114.51 - t * 8e-5
        groups.append(report(BOAT, t, 8.0, lon=west, lat=-7.3013, course=270))
    feed(pipeline, groups)
    pipeline.finish()
    assert pipeline.alert_counts["collision_risk"] == 1
    (alert,) = [c.alert for c in opened if c.alert.kind == "collision_risk"]
    assert {alert.mmsi, alert.detail["other_mmsi"]} == {FERRY, BOAT}
    assert alert.state is AlertState.RESOLVED  # they have passed


def test_report_keys_stay_those_of_the_design() -> None:
    pipeline = Pipeline(None, ZONES)
    feed(pipeline, stop_then(80))
    pipeline.finish()
    report_ = pipeline.report()
    assert set(report_) >= {
        "lines",
        "messages",
        "rejected",
        "vessels",
        "alerts",
        "alert_log",
        "seconds",
    }
    (entry,) = report_["alert_log"]
    assert set(entry) == {"kind", "mmsi", "station", "time", "severity", "zone"}


def test_operator_acknowledge_and_resolve_reach_the_store_and_sinks(
    tmp_path: Path,
) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    pipeline = Pipeline(store, ZONES)
    changes: list[AlertChange] = []
    pipeline.sinks.append(changes.append)
    feed(pipeline, [report(FERRY, 0, 0.0, status=2)])  # not under command
    (alert,) = pipeline.alerts.open_alerts()
    pipeline.acknowledge(alert.id, "desk-ani", "calling the master")
    pipeline.flush()
    (stored,) = store.alerts(states=[AlertState.ACKNOWLEDGED])
    assert stored.history[-1]["actor"] == "desk-ani"
    pipeline.resolve(alert.id, "desk-ani", "master says all well")
    pipeline.flush()
    (stored,) = store.alerts(states=[AlertState.RESOLVED])
    assert [c.action for c in changes] == ["opened", "acknowledged", "resolved"]
    assert stored.history[-1]["time"] == "2026-06-17T00:00:00Z"  # data clock
    with pytest.raises(KeyError):
        pipeline.resolve(alert.id, "desk-ani")
    store.close()
