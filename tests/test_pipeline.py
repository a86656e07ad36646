"""The pipeline: vessel state, zones, beacon alerts, report and replay CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely
from pyais.encode import encode_dict

from pantaulaut.cli import main
from pantaulaut.geofence.zones import Zone, ZoneSet
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.model import AlertKind, Severity
from pantaulaut.pipeline import Pipeline
from pantaulaut.store.sqlite import SqliteStore

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
ARRIVAL = datetime(2030, 1, 1, tzinfo=UTC)  # the wall clock must not be used

HARBOUR = Zone(
    id="kalianget",
    name="Kalianget harbour",
    kind="harbour",
    geometry=shapely.box(113.93, -7.07, 113.96, -7.04),
    alert_on=frozenset({"entry", "exit"}),
)


TIME_STAMPED = frozenset({1, 2, 3, 9, 18, 19, 21})


def lines_for(
    data: dict[str, Any], seconds: int = 0, station: str = "SMP-T"
) -> list[str]:
    tag = f"s:{station},c:{int((T0 + timedelta(seconds=seconds)).timestamp())}"
    prefix = f"\\{tag}*{nmea_checksum(tag):02X}\\"
    if data["type"] in TIME_STAMPED:
        # Each report carries the UTC second it was made (ITU-R M.1371-5,
        # "time stamp"): two reports differ even where the vessel has not
        # moved, as they do at sea, and only copies of one report match.
        data = {"second": (T0 + timedelta(seconds=seconds)).second, **data}
    sentences = encode_dict(data, "AI", "VDM", "B")
    return [prefix + s for s in sentences]


def run(*groups: list[str], store: SqliteStore | None = None) -> Pipeline:
    pipeline = Pipeline(store, ZoneSet([HARBOUR]))
    for group in groups:
        for line in group:
            pipeline.feed(line, "test", ARRIVAL)
    pipeline.finish()
    return pipeline


def sart_position(seconds: int = 0, status: int = 14) -> list[str]:
    data = {
        "type": 1,
        "mmsi": 970_123_456,
        "status": status,
        "lat": -7.02,
        "lon": 114.2,
    }
    return lines_for(data, seconds)


def text(mmsi: int, words: str, seconds: int = 0) -> list[str]:
    return lines_for({"type": 14, "mmsi": mmsi, "text": words}, seconds)


def test_sart_raises_a_critical_alert_from_its_first_message() -> None:
    pipeline = run(sart_position())
    (alert,) = pipeline.alerts.open_alerts()
    assert alert.kind is AlertKind.SART_ACTIVE
    assert alert.severity is Severity.CRITICAL
    assert alert.time == T0
    assert (alert.lat_deg, alert.lon_deg) == pytest.approx((-7.02, 114.2))
    assert alert.evidence == sart_position()
    assert pipeline.report()["alert_log"] == [
        {
            "kind": "sart_active",
            "mmsi": 970123456,
            "station": "SMP-T",
            "time": "2026-06-17T00:00:00Z",
            "severity": "critical",
            "zone": None,
        }
    ]


def test_repeated_beacon_reports_update_one_open_alert() -> None:
    pipeline = run(*(sart_position(seconds=7 * n) for n in range(8)))
    (alert,) = pipeline.alerts.open_alerts()
    assert alert.count == 8
    assert alert.updated == T0 + timedelta(seconds=49)


@pytest.mark.parametrize(
    ("mmsi", "words", "kind"),
    [
        (970_000_001, "SART ACTIVE", AlertKind.SART_ACTIVE),
        (972_000_001, "MOB ACTIVE", AlertKind.MOB_ACTIVE),
        (974_000_001, "EPIRB ACTIVE", AlertKind.EPIRB_ACTIVE),
        (970_000_001, "SART TEST", AlertKind.BEACON_TEST),
        (974_000_001, "EPIRB TEST", AlertKind.BEACON_TEST),
    ],
)
def test_beacon_texts_raise_active_or_test(
    mmsi: int, words: str, kind: AlertKind
) -> None:
    (alert,) = run(text(mmsi, words)).alerts.open_alerts()
    assert alert.kind is kind
    expected = Severity.INFO if kind is AlertKind.BEACON_TEST else Severity.CRITICAL
    assert alert.severity is expected


def test_a_test_message_raises_no_distress() -> None:
    pipeline = run(text(970_000_002, "SART TEST"), sart_position(status=15))
    assert pipeline.report()["alerts"] == {"beacon_test": 1}


def test_status_14_from_an_ordinary_ship_is_not_a_beacon() -> None:
    data = {"type": 1, "mmsi": 538_001_652, "status": 14, "lat": 55.0, "lon": 11.0}
    assert run(lines_for(data)).report()["alerts"] == {}


def test_vessel_state_joins_positions_and_static_data() -> None:
    pipeline = run(
        lines_for(
            {
                "type": 1,
                "mmsi": 525_000_001,
                "lat": -7.1,
                "lon": 114.0,
                "speed": 11.2,
                "course": 91.0,
                "heading": 90,
            }
        ),
        lines_for(
            {
                "type": 5,
                "mmsi": 525_000_001,
                "shipname": "SUMEKAR JAYA",
                "callsign": "YBXX",
                "ship_type": 60,
                "to_bow": 40,
                "to_stern": 10,
                "to_port": 5,
                "to_starboard": 5,
                "destination": "KANGEAN",
                "draught": 3.2,
            },
            seconds=5,
        ),
    )
    vessel = pipeline.vessels.get(525_000_001)
    assert vessel is not None
    assert (vessel.name, vessel.callsign, vessel.destination) == (
        "SUMEKAR JAYA",
        "YBXX",
        "KANGEAN",
    )
    assert (vessel.vessel_class, vessel.flag, vessel.flag_code) == (
        "A",
        "Indonesia",
        "ID",
    )
    assert vessel.ship_type_text == "Passenger"
    assert (vessel.length_m, vessel.beam_m, vessel.draught_m) == (50.0, 10.0, 3.2)
    assert vessel.speed_kn == pytest.approx(11.2)
    assert vessel.last_seen == T0 + timedelta(seconds=5)
    assert vessel.position_time == T0


def test_class_b_static_parts_are_paired() -> None:
    pipeline = run(
        lines_for(
            {"type": 24, "mmsi": 525_000_002, "partno": 0, "shipname": "NELAYAN 7"}
        ),
        lines_for(
            {
                "type": 24,
                "mmsi": 525_000_002,
                "partno": 1,
                "ship_type": 30,
                "callsign": "YC1234",
                "to_bow": 8,
                "to_stern": 4,
                "to_port": 2,
                "to_starboard": 2,
            }
        ),
        lines_for({"type": 18, "mmsi": 525_000_002, "lat": -6.9, "lon": 114.3}),
    )
    vessel = pipeline.vessels.get(525_000_002)
    assert vessel is not None
    assert (vessel.name, vessel.ship_type_text, vessel.vessel_class) == (
        "NELAYAN 7",
        "Fishing",
        "B",
    )
    assert vessel.length_m == 12.0


def test_not_available_values_are_never_stored_as_numbers(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    unknown = {
        "type": 1,
        "mmsi": 525_000_003,
        "lat": -7.1,
        "lon": 114.0,
        "speed": 102.3,
        "course": 360,
        "heading": 511,
    }
    nowhere = {"type": 1, "mmsi": 525_000_004, "lat": 91, "lon": 181}
    run(lines_for(unknown), lines_for(nowhere), store=store)
    (report,) = store.track(525_000_003, T0, T0)
    assert (report.speed_kn, report.course_deg, report.heading_deg) == (
        None,
        None,
        None,
    )
    assert store.track(525_000_004, T0, T0) == []
    vessel = store.vessel(525_000_004)
    assert vessel is not None
    assert vessel.lat_deg is None


def test_zone_crossings_raise_entry_and_exit() -> None:
    inside = {"type": 1, "mmsi": 525_000_005, "lat": -7.05, "lon": 113.95}
    outside = {"type": 1, "mmsi": 525_000_005, "lat": -7.2, "lon": 114.1}
    pipeline = run(lines_for(outside, 0), lines_for(inside, 10), lines_for(outside, 20))
    log = pipeline.report()["alert_log"]
    assert [(e["kind"], e["zone"]) for e in log] == [
        ("zone_entry", "Kalianget harbour"),
        ("zone_exit", "Kalianget harbour"),
    ]


def test_first_position_inside_a_zone_is_no_crossing() -> None:
    inside = {"type": 1, "mmsi": 525_000_006, "lat": -7.05, "lon": 113.95}
    assert run(lines_for(inside)).report()["alerts"] == {}


def test_alert_inside_a_zone_names_the_zone() -> None:
    data = {"type": 1, "mmsi": 970_000_009, "status": 14, "lat": -7.05, "lon": 113.95}
    (alert,) = run(lines_for(data)).alerts.open_alerts()
    assert alert.zone == "Kalianget harbour"


def test_pipeline_clock_is_the_data_time_not_arrival() -> None:
    pipeline = run(
        lines_for({"type": 1, "mmsi": 525_000_007, "lat": -7.1, "lon": 114.0}, 30)
    )
    assert pipeline.clock == T0 + timedelta(seconds=30)


def test_everything_written_to_the_store(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    run(sart_position(), sart_position(10), store=store)
    assert store.count("positions") == 2
    assert store.count("messages") == 2
    (alert,) = store.alerts()
    assert (alert.kind, alert.count) == (AlertKind.SART_ACTIVE, 2)
    (station,) = store.stations()
    assert (station.station, station.messages, station.vessel_count) == ("SMP-T", 2, 1)


def test_replay_writes_the_report_of_the_design(tmp_path: Path) -> None:
    recording = tmp_path / "r.nmea"
    garbage = [
        "",
        "# comment",
        "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B",
        "\x00\xff binary",
    ]
    recording.write_text("\n".join(sart_position() + garbage) + "\n")
    report_path = tmp_path / "report.json"
    code = main(
        [
            "replay",
            str(recording),
            "--report",
            str(report_path),
            "--store",
            f"sqlite:///{tmp_path / 'r.db'}",
        ]
    )
    assert code == 0
    report = json.loads(report_path.read_text())
    assert set(report) >= {
        "lines",
        "messages",
        "rejected",
        "vessels",
        "alerts",
        "alert_log",
        "seconds",
    }
    assert report["lines"] == 5
    assert report["messages"] == 1
    assert report["rejected"] == {
        "blank_line": 1,
        "checksum_mismatch": 1,
        "comment": 1,
        "no_sentence": 1,
    }
    assert report["alerts"] == {"sart_active": 1}
    assert SqliteStore(str(tmp_path / "r.db")).count("alerts") == 1


def test_replay_of_a_missing_file_fails_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path / "missing.nmea")]) == 2
    assert "missing.nmea" in capsys.readouterr().err


def test_a_beacon_drifting_across_a_zone_edge_keeps_one_alert() -> None:
    inside = {"type": 1, "mmsi": 970_000_010, "status": 14, "lat": -7.05, "lon": 113.95}
    outside = {"type": 1, "mmsi": 970_000_010, "status": 14, "lat": -7.2, "lon": 114.1}
    pipeline = run(lines_for(inside, 0), lines_for(outside, 60))
    assert pipeline.report()["alerts"]["sart_active"] == 1
    (sart,) = [a for a in pipeline.alerts.open_alerts() if a.kind == "sart_active"]
    assert sart.count == 2


def test_every_sentence_is_in_a_message_or_under_a_reason() -> None:
    static = lines_for(
        {"type": 5, "mmsi": 525_000_011, "shipname": "SUMEKAR JAYA", "callsign": "Y"}
    )
    lines = [
        *static,
        static[0],  # a first fragment whose second never comes
        "",
        "$GPRMC,104104.00,A,5957.77213,N,03014.52169,E,0.013,0.00,300425,,,A*6D",
        "garbage \x00",
        *sart_position(),
    ]
    pipeline = run(lines)
    stream = pipeline.stream
    later = sum(stream.rejected.values()) - stream.framing_rejected
    assert stream.sentences == stream.sentences_in_messages + later
    assert (stream.sentences, stream.sentences_in_messages) == (4, 3)
    assert stream.rejected == {
        "incomplete_message": 1,
        "blank_line": 1,
        "non_ais_sentence": 1,
        "no_sentence": 1,
    }


def test_a_truncated_gzip_recording_still_reports_what_was_read(tmp_path: Path) -> None:
    import gzip

    lines = [line for n in range(5000) for line in sart_position(seconds=n)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    recording = tmp_path / "cut.nmea.gz"
    recording.write_bytes(whole[: len(whole) // 2])
    report_path = tmp_path / "report.json"
    assert main(["replay", str(recording), "--report", str(report_path)]) == 2
    report = json.loads(report_path.read_text())
    assert report["messages"] > 0
    assert report["alerts"] == {"sart_active": 1}
    assert "cut.nmea.gz" in report["errors"][0]
