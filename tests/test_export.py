"""Exports for the port authority: every export in every format, read back.

A SQLite store is filled with two vessels, their tracks, port calls and
alerts; each export is written in each format and read back with the
library a recipient would use (csv, json, xml.etree, pyogrio and geopandas).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas
import pyogrio
import pytest

from pantaulaut.errors import ExportError
from pantaulaut.export import (
    EXPORTS,
    FORMATS,
    daily_summary,
    export,
    media_type,
    suffix,
)
from pantaulaut.model import (
    Alert,
    AlertKind,
    AlertState,
    PortCall,
    PositionReport,
    Severity,
    StationStats,
    Vessel,
)
from pantaulaut.store.base import Batch, Store
from pantaulaut.store.sqlite import SqliteStore

T0 = datetime(2026, 6, 17, 1, 0, tzinfo=UTC)  # 08:00 WIB
FERRY = 525_001_234
FISHER = 525_009_876
KML = "{http://www.opengis.net/kml/2.2}"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def report(mmsi: int, minutes: float, lat: float, lon: float) -> PositionReport:
    return PositionReport(
        mmsi=mmsi,
        time=at(minutes),
        lat_deg=lat,
        lon_deg=lon,
        speed_kn=12.0,
        course_deg=80.0,
        heading_deg=81.0,
        nav_status=0,
        msg_type=1,
        station="SMP-KALIANGET",
    )


def filled_batch() -> Batch:
    batch = Batch()
    batch.positions = [
        report(FERRY, m, -7.054 + 0.001 * m, 113.948 + 0.01 * m) for m in range(10)
    ] + [report(FISHER, m, -7.2, 114.1) for m in (3, 4)]
    batch.vessels = {
        FERRY: Vessel(
            mmsi=FERRY,
            vessel_class="A",
            name="KM DHARMA | FERRY",
            callsign="YBAB",
            imo=9123456,
            ship_type=60,
            ship_type_text="Passenger",
            flag="Indonesia",
            flag_code="ID",
            length_m=70.0,
            beam_m=14.0,
            draught_m=3.2,
            lat_deg=-7.045,
            lon_deg=114.038,
            last_seen=at(9),
            position_time=at(9),
            station="SMP-KALIANGET",
        ),
        FISHER: Vessel(
            mmsi=FISHER,
            vessel_class="B",
            name="SUMBER REZEKI",
            lat_deg=-7.2,
            lon_deg=114.1,
            last_seen=at(4),
            position_time=at(4),
        ),
    }
    batch.add_port_call(
        PortCall(
            mmsi=FERRY,
            harbour_id="harbour-kalianget",
            harbour_name="Kalianget harbour",
            arrival=at(-60),
            departure=at(1),
            vessel_name="KM DHARMA | FERRY",
            ship_type=60,
            ship_type_text="Passenger",
            positions=20,
            station="SMP-KALIANGET",
            lat_deg=-7.054,
            lon_deg=113.948,
        )
    )
    batch.add_port_call(
        PortCall(
            mmsi=FISHER,
            harbour_id="harbour-dungkek",
            harbour_name="Dungkek harbour",
            arrival=at(30),
            positions=3,
            station="SMP-KALIANGET",
            lat_deg=-6.988,
            lon_deg=114.09,
        )
    )
    sart = Alert(
        id="sart-1",
        kind=AlertKind.SART_ACTIVE,
        severity=Severity.CRITICAL,
        time=at(5),
        mmsi=FERRY,
        vessel_name="KM DHARMA | FERRY",
        lat_deg=-7.05,
        lon_deg=113.99,
        station="SMP-KALIANGET",
        summary="AIS-SART is transmitting",
        state=AlertState.RESOLVED,
        updated=at(20),
        history=[
            {"time": "2026-06-17T01:05:00Z", "actor": "system", "action": "opened"},
            {
                "time": "2026-06-17T01:07:00+00:00",
                "actor": "budi",
                "action": "acknowledged",
                "note": "calling the ferry",
            },
            {
                "time": "2026-06-17T01:20:00+00:00",
                "actor": "sari",
                "action": "resolved",
                "note": "false alarm",
            },
        ],
    )
    gap = Alert(
        id="gap-1",
        kind=AlertKind.AIS_GAP,
        severity=Severity.MEDIUM,
        time=at(50),
        mmsi=FISHER,
        summary="silent for 30 min",
    )
    old = Alert(
        id="old-1",
        kind=AlertKind.ZONE_ENTRY,
        severity=Severity.INFO,
        time=at(-60 * 24),
        mmsi=FERRY,
    )
    batch.alerts = {a.id: a for a in (sart, gap, old)}
    batch.stations = {
        "SMP-KALIANGET": StationStats(
            "SMP-KALIANGET", lines=100, messages=90, last_seen=at(9)
        )
    }
    return batch


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = SqliteStore(str(tmp_path / "history.db"))
    opened.write(filled_batch())
    yield opened
    opened.close()


START, END = at(-10), at(120)

# Rows expected per export (tracks in CSV: one per position).
EXPECTED = {
    "port-calls": [(FERRY, "harbour-kalianget"), (FISHER, "harbour-dungkek")],
    "vessels": [FERRY, FISHER],
    "tracks": [FERRY, FISHER],
    "alerts": ["sart-1", "gap-1"],
}


def read_back(fmt: str, path: Path) -> list[dict[str, Any]]:
    """Rows of an export file as dicts of text or numbers, by format."""
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    if fmt == "geojson":
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["type"] == "FeatureCollection"
        return [
            {**f["properties"], "_geometry": f["geometry"]}
            for f in document["features"]
        ]
    if fmt == "kml":
        root = ET.parse(path).getroot()
        assert root.tag == f"{KML}kml"
        rows = []
        for placemark in root.iter(f"{KML}Placemark"):
            row: dict[str, Any] = {
                d.get("name"): d.findtext(f"{KML}value")
                for d in placemark.iter(f"{KML}Data")
            }
            row["_name"] = placemark.findtext(f"{KML}name")
            row["_coordinates"] = placemark.findtext(f".//{KML}coordinates")
            row["_begin"] = placemark.findtext(f"{KML}TimeSpan/{KML}begin")
            rows.append(row)
        return rows
    frame = (
        geopandas.read_parquet(path)
        if fmt == "geoparquet"
        else geopandas.read_file(path, engine="pyogrio")
    )
    assert frame.crs is not None
    assert frame.crs.to_epsg() == 4326
    return [
        {**row, "_geometry": geometry}
        for row, geometry in zip(
            frame.drop(columns="geometry").to_dict("records"),
            frame.geometry,
            strict=True,
        )
    ]


def key(what: str, row: dict[str, Any]) -> Any:
    if what == "port-calls":
        return (int(row["mmsi"]), row["harbour_id"])
    if what == "alerts":
        return row["id"]
    return int(row["mmsi"])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("what", EXPORTS)
def test_every_export_opens_in_every_format_with_the_rows_of_the_period(
    store: Store, tmp_path: Path, what: str, fmt: str
) -> None:
    out = tmp_path / f"{what}.{fmt}"
    calls: list[tuple[int, int]] = []
    written = export(
        store,
        what,
        fmt,
        out,
        start=START,
        end=END,
        progress=lambda done, total: calls.append((done, total)),
    )
    rows = read_back(fmt, out)
    assert len(rows) == written
    if what == "tracks" and fmt == "csv":
        assert written == 12
        assert sorted({int(r["mmsi"]) for r in rows}) == EXPECTED["tracks"]
    else:
        assert [key(what, r) for r in rows] == EXPECTED[what]
    assert calls
    assert calls[-1][0] == calls[-1][1]
    assert not list(tmp_path.glob(".*")), "no temporary file is left behind"


def test_port_calls_csv_holds_utc_and_wib_times_and_the_time_in_port(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "calls.csv"
    export(store, "port-calls", "csv", out, start=START, end=END)
    ferry, fisher = read_back("csv", out)
    assert ferry["vessel_name"] == "KM DHARMA | FERRY"
    assert ferry["harbour_name"] == "Kalianget harbour"
    assert ferry["arrival"] == "2026-06-17T00:00:00Z"
    assert ferry["arrival_wib"] == "2026-06-17T07:00:00+07:00"
    assert ferry["departure"] == "2026-06-17T01:01:00Z"
    assert ferry["departure_wib"] == "2026-06-17T08:01:00+07:00"
    assert ferry["duration_s"] == "3660"
    assert fisher["departure"] == ""
    assert fisher["duration_s"] == ""


def test_geojson_is_rfc_7946_longitude_first(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "calls.geojson"
    export(store, "port-calls", "geojson", out, start=START, end=END)
    rows = read_back("geojson", out)
    assert rows[0]["_geometry"] == {"type": "Point", "coordinates": [113.948, -7.054]}
    assert rows[1]["departure"] is None


def test_tracks_are_one_line_per_vessel_with_their_length(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "tracks.gpkg"
    export(store, "tracks", "gpkg", out, start=START, end=END)
    assert pyogrio.list_layers(out)[0][0] == "tracks"
    ferry, fisher = read_back("gpkg", out)
    assert ferry["_geometry"].geom_type == "LineString"
    assert len(ferry["_geometry"].coords) == 10
    assert ferry["positions"] == 10
    # 9 legs of 0.001 deg north and 0.01 deg east: about 9 x 0.6 nm.
    assert 5.0 < ferry["length_nm"] < 6.0
    assert ferry["start"] == at(0)
    assert ferry["end"] == at(9)
    # The fisher did not move: two reports at one place.
    assert fisher["length_nm"] == 0.0


def test_tracks_export_only_the_asked_vessel_and_window(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "tracks.csv"
    written = export(store, "tracks", "csv", out, start=at(2), end=at(5), mmsi=FERRY)
    rows = read_back("csv", out)
    assert written == 4
    assert [r["time"] for r in rows] == [
        f"2026-06-17T01:0{m}:00Z" for m in (2, 3, 4, 5)
    ]


def test_vessel_register_has_static_data_and_latest_position(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "vessels.parquet"
    export(store, "vessels", "geoparquet", out, start=START, end=END)
    ferry = read_back("geoparquet", out)[0]
    assert ferry["imo"] == 9123456
    assert ferry["callsign"] == "YBAB"
    assert ferry["flag"] == "Indonesia"
    assert ferry["length_m"] == 70.0
    assert ferry["last_seen"] == at(9)
    assert ferry["last_seen_wib"] == "2026-06-17T08:09:00+07:00"
    assert (ferry["_geometry"].x, ferry["_geometry"].y) == (114.038, -7.045)


def test_alerts_carry_state_severity_and_the_audit_trail(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "alerts.kml"
    export(store, "alerts", "kml", out, start=START, end=END)
    sart, gap = read_back("kml", out)
    assert sart["state"] == "resolved"
    assert sart["severity"] == "critical"
    assert sart["acknowledged_by"] == "budi"
    assert sart["acknowledged_at"] == "2026-06-17T01:07:00Z"
    assert sart["resolved_by"] == "sari"
    assert "budi acknowledged: calling the ferry" in sart["audit"]
    assert sart["_coordinates"] == "113.99,-7.05"
    # An alert with no position is a placemark without geometry.
    assert gap["_coordinates"] is None
    assert gap["resolved_by"] == ""


def test_kml_port_calls_have_a_time_span(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "calls.kml"
    export(store, "port-calls", "kml", out, start=START, end=END)
    ferry = read_back("kml", out)[0]
    assert ferry["_begin"] == "2026-06-17T00:00:00Z"
    assert ferry["_name"] == "KM DHARMA | FERRY (525001234) at Kalianget harbour"


def test_an_empty_period_writes_a_valid_empty_file(
    store: Store, tmp_path: Path
) -> None:
    for fmt in FORMATS:
        out = tmp_path / f"empty.{fmt}"
        written = export(store, "port-calls", fmt, out, start=at(-9000), end=at(-8000))
        assert written == 0
        assert read_back(fmt, out) == []


@pytest.mark.parametrize(
    ("what", "fmt", "start", "end", "message"),
    [
        ("ships", "csv", START, END, "unknown export 'ships'"),
        ("alerts", "xlsx", START, END, "unknown format 'xlsx'"),
        ("alerts", "csv", END, START, "ends"),
        ("alerts", "csv", START.replace(tzinfo=None), END, "time zone"),
    ],
)
def test_a_bad_request_is_refused_with_a_clear_message(
    store: Store,
    tmp_path: Path,
    what: str,
    fmt: str,
    start: datetime,
    end: datetime,
    message: str,
) -> None:
    out = tmp_path / "x"
    with pytest.raises(ExportError, match=message):
        export(store, what, fmt, out, start=start, end=end)
    assert not out.exists()


def test_a_missing_folder_is_an_export_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        export(store, "alerts", "csv", tmp_path / "no" / "x.csv", start=START, end=END)


def test_media_types_name_each_format() -> None:
    assert media_type("geojson") == "application/geo+json"
    assert media_type("kml") == "application/vnd.google-earth.kml+xml"
    with pytest.raises(ExportError):
        media_type("doc")


def test_daily_summary_counts_the_wib_day(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "summary.md"
    summary = daily_summary(store, date(2026, 6, 17), out)
    # The ferry arrived at 07:00 WIB and left at 08:01 WIB; the fisher came
    # into Dungkek at 08:30 WIB and is still there.
    assert summary.arrivals == {"Dungkek harbour": 1, "Kalianget harbour": 1}
    assert summary.departures == {"Kalianget harbour": 1}
    assert summary.in_port == {"Dungkek harbour": 1}
    assert summary.vessels_seen == 2
    assert summary.vessels_by_class == {"A": 1, "B": 1}
    assert summary.alerts == {("ais_gap", "medium"): 1, ("sart_active", "critical"): 1}
    text = out.read_text(encoding="utf-8")
    assert "| Kalianget harbour | 1 | 1 | 0 |" in text
    assert "| sart_active | critical | 1 |" in text
    assert "| SMP-KALIANGET | 12 | 2026-06-17 08:00 | 2026-06-17 08:09 | yes |" in text


def test_daily_summary_of_the_wib_day_before_has_the_earlier_alert_only(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "summary.csv"
    summary = daily_summary(store, date(2026, 6, 16), out, "csv")
    assert summary.alerts == {("zone_entry", "info"): 1}
    assert summary.arrivals == {}
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert {
        "day_wib": "2026-06-16",
        "section": "alerts",
        "key": "zone_entry",
        "detail": "info",
        "value": "1",
    } in rows


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "pantaulaut", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_writes_an_export_with_a_progress_bar(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "alerts.geojson"
    done = run_cli(
        "export",
        "alerts",
        "--store",
        f"sqlite:///{tmp_path / 'history.db'}",
        "--from",
        "2026-06-17T07:50+07:00",
        "--to",
        "2026-06-17",
        "--out",
        str(out),
        "--progress",
        "always",
    )
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in read_back("geojson", out)] == ["sart-1", "gap-1"]
    assert "alerts" in done.stderr
    assert "2/2" in done.stderr
    assert "wrote 2 rows" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "yesterday", "--format", "csv"), "--from 'yesterday' is not"),
        (("--from", "2026-06-17", "--format", "docx"), "unknown format 'docx'"),
        (("--from", "2026-06-18", "--to", "2026-06-17", "--format", "csv"), "ends"),
        (("--format", "csv"), "--from is required"),
    ],
)
def test_cli_refuses_bad_dates_and_formats(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = run_cli(
        "export",
        "port-calls",
        "--store",
        f"sqlite:///{tmp_path / 'history.db'}",
        "--out",
        str(tmp_path / "x.csv"),
        *args,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_cli_refuses_a_sqlite_store_that_does_not_exist(tmp_path: Path) -> None:
    done = run_cli(
        "export",
        "vessels",
        "--store",
        f"sqlite:///{tmp_path / 'typo.db'}",
        "--from",
        "2026-06-17",
        "--out",
        str(tmp_path / "v.csv"),
    )
    assert done.returncode == 2
    assert "no store at" in done.stderr
    assert not (tmp_path / "typo.db").exists()


def sparse_batch() -> Batch:
    """A store of one class B vessel: no IMO number, call sign or destination."""
    full = filled_batch()
    batch = Batch()
    batch.positions = [p for p in full.positions if p.mmsi == FISHER]
    batch.vessels = {FISHER: full.vessels[FISHER]}
    batch.port_calls = {k: c for k, c in full.port_calls.items() if c.mmsi == FISHER}
    batch.alerts = {"gap-1": full.alerts["gap-1"]}
    return batch


def file_schema(fmt: str, path: Path) -> Any:
    """Column names and types of an export file as its reader sees them."""
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as f:
            return next(csv.reader(f))
    if fmt == "gpkg":
        info = pyogrio.read_info(path)
        return (
            list(info["fields"]),
            [str(t) for t in info["dtypes"]],
            info["geometry_type"],
        )
    import pyarrow.parquet

    schema = pyarrow.parquet.read_schema(path)
    return [(f.name, str(f.type)) for f in schema]


@pytest.mark.parametrize("fmt", ["gpkg", "geoparquet", "csv"])
@pytest.mark.parametrize("what", EXPORTS)
def test_exports_of_different_data_have_the_same_columns_and_types(
    store: Store, tmp_path: Path, what: str, fmt: str
) -> None:
    sparse = SqliteStore(str(tmp_path / "sparse.db"))
    sparse.write(sparse_batch())
    try:
        schemas = []
        for name, source, start in (
            ("full", store, START),
            ("sparse", sparse, START),
            ("empty", sparse, at(-9000)),
        ):
            out = tmp_path / f"{name}{suffix(fmt)}"
            end = END if start == START else at(-8000)
            export(source, what, fmt, out, start=start, end=end)
            schemas.append(file_schema(fmt, out))
    finally:
        sparse.close()
    assert schemas[0] == schemas[1] == schemas[2]


@pytest.mark.parametrize("fmt", ["gpkg", "geoparquet"])
def test_integer_columns_stay_integers_in_map_formats(
    store: Store, tmp_path: Path, fmt: str
) -> None:
    # Regression: imo was written as REAL (9123456.0) and ship_type as float.
    out = tmp_path / f"vessels{suffix(fmt)}"
    export(store, "vessels", fmt, out, start=START, end=END)
    if fmt == "gpkg":
        names, types, _geometry = file_schema(fmt, out)
        kinds = dict(zip(names, types, strict=True))
    else:
        kinds = dict(file_schema(fmt, out))
    assert kinds["imo"] == kinds["ship_type"] == kinds["mmsi"] == "int64"
    assert kinds["callsign"] in ("object", "large_string")
    assert kinds["last_seen"].startswith(("datetime64", "timestamp"))


def test_a_vessel_with_one_fix_is_left_out_of_the_track_lines(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    batch = Batch()
    batch.positions = [report(525_000_777, 5, -7.1, 114.0)]
    batch.vessels = {
        525_000_777: Vessel(mmsi=525_000_777, vessel_class="B", last_seen=at(5))
    }
    store.write(batch)
    out = tmp_path / "tracks.gpkg"
    with caplog.at_level("INFO", logger="pantaulaut.export"):
        written = export(store, "tracks", "gpkg", out, start=START, end=END)
    assert written == 2
    assert pyogrio.read_info(out)["geometry_type"] == "LineString"
    assert "left 1 vessels with a single position" in caplog.text
    positions = tmp_path / "positions.csv"
    export(store, "tracks", "csv", positions, start=START, end=END)
    assert "525000777" in {r["mmsi"] for r in read_back("csv", positions)}


def test_daily_summary_of_a_day_before_the_data_reports_no_station_activity(
    store: Store, tmp_path: Path
) -> None:
    # Regression: the station table showed lifetime counters (lines,
    # messages) and "heard that day" for a day before any data.
    out = tmp_path / "summary.md"
    summary = daily_summary(store, date(2026, 6, 10), out)
    assert summary.stations == [
        {
            "station": "SMP-KALIANGET",
            "position_reports": 0,
            "first_heard_wib": "-",
            "last_heard_wib": "-",
            "heard_that_day": False,
        }
    ]
    assert "| SMP-KALIANGET | 0 | - | - | no |" in out.read_text(encoding="utf-8")
    daily_summary(store, date(2026, 6, 10), tmp_path / "summary.csv", "csv")
    rows = list(
        csv.DictReader((tmp_path / "summary.csv").open(encoding="utf-8", newline=""))
    )
    station = {r["detail"]: r["value"] for r in rows if r["section"] == "station"}
    assert station == {
        "position_reports": "0",
        "first_heard_wib": "-",
        "last_heard_wib": "-",
        "heard_that_day": "no",
    }


def test_vessels_export_keeps_to_the_end_of_the_period(
    store: Store, tmp_path: Path
) -> None:
    # Regression: --to was accepted and ignored; the fisher, first heard at
    # 08:03 WIB, was listed for a period ending at 08:02.
    out = tmp_path / "vessels.csv"
    written = export(store, "vessels", "csv", out, start=START, end=at(2))
    assert written == 1
    assert [int(r["mmsi"]) for r in read_back("csv", out)] == [FERRY]


@pytest.mark.parametrize("out", ["/proc/version", "/proc/no-such-folder/x.csv"])
def test_an_unwritable_out_is_an_export_error_naming_the_path(
    store: Store, out: str
) -> None:
    with pytest.raises(ExportError, match=out) as raised:
        export(store, "alerts", "csv", Path(out), start=START, end=END)
    assert "\n" not in str(raised.value)
    assert "--out" in str(raised.value)


def test_cli_reports_an_unwritable_out_in_one_line(
    store: Store, tmp_path: Path
) -> None:
    done = run_cli(
        "export",
        "alerts",
        "--store",
        f"sqlite:///{tmp_path / 'history.db'}",
        "--from",
        "2026-06-17",
        "--format",
        "csv",
        "--out",
        "/proc/version",
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "cannot write /proc/version" in done.stderr


def test_formats_are_named_in_any_case(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "calls.kml"
    assert export(store, "port-calls", "KML", out, start=START, end=END) == 2
    assert media_type("GeoJSON") == "application/geo+json"
    done = run_cli(
        "export",
        "port-calls",
        "--store",
        f"sqlite:///{tmp_path / 'history.db'}",
        "--from",
        "2026-06-17",
        "--format",
        "CSV",
        "--out",
        str(tmp_path / "calls.csv"),
    )
    assert done.returncode == 0, done.stderr


def test_a_file_name_not_matching_the_format_is_warned_about(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="pantaulaut.export"):
        export(store, "alerts", "kml", tmp_path / "x.geojson", start=START, end=END)
    assert "does not end in .kml" in caplog.text


def test_port_calls_carry_when_the_vessel_was_last_heard(
    store: Store, tmp_path: Path
) -> None:
    out = tmp_path / "calls.csv"
    export(store, "port-calls", "csv", out, start=START, end=END)
    rows = {r["mmsi"]: r for r in read_back("csv", out)}
    # The ferry's last report before it left; the fisher's call began with
    # its arrival, its latest report.
    assert rows[str(FERRY)]["last_heard"] == "2026-06-17T01:00:00Z"
    assert rows[str(FISHER)]["last_heard"] == "2026-06-17T01:30:00Z"
    assert rows[str(FISHER)]["last_heard_wib"] == "2026-06-17T08:30:00+07:00"


def test_a_vessel_silent_in_port_for_a_day_is_not_counted_in_port(
    store: Store, tmp_path: Path
) -> None:
    # Regression: an open call of a vessel that fell silent counted as in
    # port every day after, for ever.
    summary = daily_summary(store, date(2026, 6, 18), tmp_path / "s.md")
    assert summary.in_port == {}
    assert summary.in_port_silent == {"Dungkek harbour": 1}
    text = (tmp_path / "s.md").read_text(encoding="utf-8")
    assert "| Dungkek harbour | 0 | 0 | 0 | 1 |" in text
