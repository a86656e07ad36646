"""Port calls: arrivals and departures with hysteresis, stored and exported.

The tracker is driven with positions placed against the real harbour
polygons of ``data/zones.geojson``; the end-to-end test replays a ferry
recording made with pyais's encoder (Kalianget, Batu Guluk on Kangean, back
to Kalianget) into a SQLite file with ``pantaulaut replay`` and exports the
calls with ``pantaulaut export port-calls``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import shapely
from pyais.encode import encode_dict

from pantaulaut.errors import StoreError
from pantaulaut.export import daily_summary, export
from pantaulaut.geofence.portcalls import PortCallSettings, PortCallTracker
from pantaulaut.geofence.zones import Zone, ZoneSet, load_zones
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.model import PortCall, PositionReport, Vessel
from pantaulaut.store.base import Batch, port_call_key
from pantaulaut.store.spool import (
    Spool,
    SpoolingStore,
    batch_entries,
    batch_from_entries,
)
from pantaulaut.store.sqlite import SqliteStore

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
FERRY = 525_012_345
M_PER_DEG = 111_195.0


@pytest.fixture(scope="module")
def zones() -> ZoneSet:
    return load_zones()


def harbour(zones: ZoneSet, zone_id: str) -> Zone:
    return next(z for z in zones.zones if z.id == zone_id)


def east_edge(zone: Zone) -> tuple[float, float]:
    """(lon, lat) where a line due east of the harbour's centre leaves it."""
    centre = zone.geometry.centroid
    ray = shapely.LineString([(centre.x, centre.y), (centre.x + 0.1, centre.y)])
    crossing = ray.intersection(zone.geometry.exterior)
    point = min(shapely.get_parts(crossing), key=lambda p: p.x)
    return point.x, point.y


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def position(
    seconds: float, lon: float, lat: float, mmsi: int = FERRY
) -> PositionReport:
    return PositionReport(
        mmsi=mmsi,
        time=at(seconds),
        lat_deg=lat,
        lon_deg=lon,
        speed_kn=0.3,
        course_deg=None,
        heading_deg=None,
        nav_status=1,
        msg_type=1,
        station="SMP-KALIANGET",
    )


FERRY_STATE = Vessel(
    mmsi=FERRY,
    vessel_class="A",
    name="KM DHARMA",
    ship_type=60,
    ship_type_text="Passenger",
)


def feed(
    tracker: PortCallTracker,
    reports: list[PositionReport],
    vessel: Vessel = FERRY_STATE,
) -> list[PortCall]:
    """Every change the tracker reports, in order."""
    changes: list[PortCall] = []
    for report in reports:
        changes += tracker.update(report, vessel)
    return changes


def final(changes: list[PortCall]) -> dict[str, PortCall]:
    """The latest state of each call, as a store would keep it."""
    batch = Batch()
    for call in changes:
        batch.add_port_call(call)
    return batch.port_calls


def test_a_vessel_jittering_at_the_harbour_edge_makes_one_call(
    zones: ZoneSet,
) -> None:
    kalianget = harbour(zones, "harbour-kalianget")
    lon, lat = east_edge(kalianget)
    inside = (lon - 60 / M_PER_DEG, lat)
    outside = (lon + 60 / M_PER_DEG, lat)
    assert kalianget.geometry.contains(shapely.Point(*inside))
    assert not kalianget.geometry.contains(shapely.Point(*outside))
    # Arrives, then two hours at anchor on the edge, swinging 60 m across it
    # at every report (30 s), now and then out for several reports in a row,
    # then away 3 km east.
    reports = [position(30 * n, *inside) for n in range(3)]
    for n in range(3, 243):
        here = outside if (n % 2 or n % 17 in (2, 4, 6)) else inside
        reports.append(position(30 * n, *here))
    reports.append(position(30 * 243, *inside))
    reports.append(position(30 * 244, lon + 3000 / M_PER_DEG, lat))
    tracker = PortCallTracker(zones)
    calls = list(final(feed(tracker, reports)).values())
    assert len(calls) == 1
    call = calls[0]
    assert call.harbour_id == "harbour-kalianget"
    assert call.harbour_name == "Kalianget harbour"
    assert call.vessel_name == "KM DHARMA"
    assert call.ship_type == 60
    assert call.arrival == at(0)
    assert call.departure == at(30 * 244)
    assert call.positions == sum(
        kalianget.geometry.contains(shapely.Point(r.lon_deg, r.lat_deg))
        for r in reports
    )
    assert tracker.open_calls() == []


def test_arrival_needs_two_consecutive_reports_inside(zones: ZoneSet) -> None:
    kalianget = harbour(zones, "harbour-kalianget")
    lon, lat = east_edge(kalianget)
    inside = (lon - 200 / M_PER_DEG, lat)
    outside = (lon + 200 / M_PER_DEG, lat)
    tracker = PortCallTracker(zones)
    # Passing the edge: in, out, in, out: no two in a row.
    assert (
        feed(
            tracker,
            [position(10 * n, *(inside if n % 2 == 0 else outside)) for n in range(6)],
        )
        == []
    )
    changes = feed(tracker, [position(100, *inside), position(110, *inside)])
    assert [c.arrival for c in changes] == [at(100)]
    assert changes[0].positions == 2
    assert changes[0].departure is None
    assert changes[0].lon_deg == inside[0]


def test_departure_is_the_first_report_outside_once_far_enough(
    zones: ZoneSet,
) -> None:
    kalianget = harbour(zones, "harbour-kalianget")
    lon, lat = east_edge(kalianget)
    tracker = PortCallTracker(zones)
    centre = kalianget.geometry.centroid
    reports = [position(60 * n, centre.x, centre.y) for n in range(5)]
    # Out 100 m (not yet a departure), then 250 m, then 400 m: gone.
    reports += [
        position(300, lon + 100 / M_PER_DEG, lat),
        position(330, lon + 250 / M_PER_DEG, lat),
    ]
    changes = feed(tracker, reports)
    assert all(c.departure is None for c in changes)
    changes = feed(tracker, [position(360, lon + 400 / M_PER_DEG, lat)])
    assert len(changes) == 1
    assert changes[0].arrival == at(0)
    assert changes[0].departure == at(300)
    assert changes[0].positions == 5


def test_lingering_just_outside_departs_after_the_time_limit(zones: ZoneSet) -> None:
    kalianget = harbour(zones, "harbour-kalianget")
    lon, lat = east_edge(kalianget)
    settings = PortCallSettings(depart_after_s=900.0)
    tracker = PortCallTracker(zones, settings)
    centre = kalianget.geometry.centroid
    feed(tracker, [position(0, centre.x, centre.y), position(60, centre.x, centre.y)])
    near = (lon + 150 / M_PER_DEG, lat)
    changes = feed(tracker, [position(120 + 60 * n, *near) for n in range(15)])
    assert all(c.departure is None for c in changes)
    changes = feed(tracker, [position(120 + 900, *near)])
    assert [c.departure for c in changes] == [at(120)]


def test_a_vessel_that_leaves_and_falls_silent_departs_on_the_clock(
    zones: ZoneSet,
) -> None:
    kalianget = harbour(zones, "harbour-kalianget")
    lon, lat = east_edge(kalianget)
    tracker = PortCallTracker(zones)
    centre = kalianget.geometry.centroid
    feed(tracker, [position(0, centre.x, centre.y), position(60, centre.x, centre.y)])
    feed(tracker, [position(120, lon + 50 / M_PER_DEG, lat)])
    assert tracker.tick(at(120 + 899)) == []
    closed = tracker.tick(at(120 + 900))
    assert [(c.arrival, c.departure) for c in closed] == [(at(0), at(120))]
    assert tracker.open_calls() == []


def test_a_vessel_back_inside_before_the_limits_stays_in_the_same_call(
    zones: ZoneSet,
) -> None:
    kalianget = harbour(zones, "harbour-kalianget")
    lon, lat = east_edge(kalianget)
    tracker = PortCallTracker(zones)
    centre = kalianget.geometry.centroid
    inside = (centre.x, centre.y)
    near = (lon + 100 / M_PER_DEG, lat)
    reports = [position(0, *inside), position(60, *inside), position(120, *near)]
    reports += [position(600, *inside), position(1200, *near)]
    changes = feed(tracker, reports)
    assert tracker.tick(at(1200 + 899)) == []
    assert {port_call_key(c) for c in changes} == {port_call_key(changes[0])}
    (open_call,) = tracker.open_calls()
    assert open_call.positions == 3


def test_beacons_and_out_of_order_reports_make_no_calls(zones: ZoneSet) -> None:
    kalianget = harbour(zones, "harbour-kalianget")
    centre = kalianget.geometry.centroid
    tracker = PortCallTracker(zones)
    sart = Vessel(mmsi=970_012_345, vessel_class="SART")
    reports = [position(n, centre.x, centre.y, mmsi=sart.mmsi) for n in range(3)]
    assert feed(tracker, reports, sart) == []
    # A late copy from a slow station, older than a report already placed.
    feed(tracker, [position(100, centre.x, centre.y)])
    assert feed(tracker, [position(50, centre.x, centre.y)]) == []


def test_port_calls_travel_through_the_spool_and_are_kept(zones: ZoneSet) -> None:
    call = PortCall(
        mmsi=FERRY,
        harbour_id="harbour-kalianget",
        harbour_name="Kalianget harbour",
        arrival=at(0),
        departure=at(3600),
        vessel_name="KM DHARMA",
        positions=12,
        station="SMP-KALIANGET",
        lat_deg=-7.05,
        lon_deg=113.95,
    )
    batch = Batch()
    batch.add_port_call(call)
    entries = batch_entries(batch)
    assert [(e.kind, e.keep) for e in entries] == [("port_calls", True)]
    assert batch_from_entries(entries).port_calls == batch.port_calls


class AwayStore(SqliteStore):
    """A SQLite store whose server can be away."""

    away = False

    def write(self, batch: Batch) -> None:
        if self.away:
            try:
                raise sqlite3.OperationalError("unable to open database file")
            except sqlite3.OperationalError as exc:
                raise StoreError("the store is away") from exc
        super().write(batch)


def test_port_calls_wait_in_the_spool_while_the_store_is_away(
    tmp_path: Path,
) -> None:
    inner = AwayStore(str(tmp_path / "calls.db"))
    store = SpoolingStore(inner, Spool(tmp_path / "s.spool", 10_000_000), retry_s=0.05)
    inner.away = True
    opened = PortCall(FERRY, "harbour-kalianget", "Kalianget harbour", at(0))
    for call in (opened, dataclasses.replace(opened, departure=at(600), positions=9)):
        batch = Batch()
        batch.add_port_call(call)
        store.write(batch)
    assert store.spooling
    # The later state of the call replaced the earlier one in the spool.
    assert store.spool.queued() == {"port_calls": 1}
    inner.away = False
    assert store.wait_drained(10.0)
    (call,) = store.port_calls(T0, at(3600))
    assert (call.departure, call.positions) == (at(600), 9)
    store.close()


def test_a_restarted_tracker_takes_up_the_open_call_from_the_store(
    zones: ZoneSet, tmp_path: Path
) -> None:
    kalianget = harbour(zones, "harbour-kalianget")
    lon, lat = east_edge(kalianget)
    centre = kalianget.geometry.centroid
    store = SqliteStore(str(tmp_path / "calls.db"))
    before = PortCallTracker(zones)
    batch = Batch()
    for call in feed(before, [position(60 * n, centre.x, centre.y) for n in range(3)]):
        batch.add_port_call(call)
    store.write(batch)

    after = PortCallTracker(zones)
    assert after.resume_from(store) == 1
    batch = Batch()
    reports = [position(600, centre.x, centre.y), position(660, lon + 0.01, lat)]
    for call in feed(after, reports):
        batch.add_port_call(call)
    store.write(batch)
    (call,) = store.port_calls(T0, at(86400))
    assert (call.arrival, call.departure, call.positions) == (at(0), at(660), 4)
    assert after.resume_from(store) == 0
    store.close()


def test_a_store_away_resumes_no_calls(zones: ZoneSet, tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "calls.db"))
    store.close()
    assert PortCallTracker(zones).resume_from(store) == 0


# --- end to end: a ferry recording, replayed and exported -------------------


def knots_to_deg_per_s(speed_kn: float) -> float:
    return speed_kn * 1852.0 / 3600.0 / M_PER_DEG


def tagged(sentence: str, station: str, time: datetime) -> str:
    body = f"s:{station},c:{int(time.timestamp())}"
    return f"\\{body}*{nmea_checksum(body):02X}\\{sentence}"


def encoded(data: dict[str, object]) -> list[str]:
    # pyais's default sentence type is VDO (own ship); VDM is another vessel.
    return encode_dict(data, talker_id="AI", sentence_type="VDM")


def ferry_recording(path: Path, zones: ZoneSet) -> list[tuple[datetime, float, float]]:
    """Kalianget, Batu Guluk (Kangean), Kalianget; returns every position."""
    kalianget = harbour(zones, "harbour-kalianget").geometry.centroid
    kangean = harbour(zones, "harbour-batu-guluk").geometry.centroid
    speed = knots_to_deg_per_s(15.0)
    track: list[tuple[datetime, float, float, float]] = []  # time, lon, lat, sog
    clock = 0.0

    def moored(lon: float, lat: float, seconds: float) -> None:
        nonlocal clock
        # ITU-R M.1371-5: class A at anchor or moored reports every 3 minutes.
        for _ in range(int(seconds // 180)):
            track.append((at(clock), lon, lat, 0.0))
            clock += 180

    def sail(a: shapely.Point, b: shapely.Point) -> None:
        nonlocal clock
        distance = math.dist((a.x, a.y), (b.x, b.y))
        steps = int(distance / (speed * 60))
        for i in range(steps):
            f = i / steps
            lon, lat = a.x + f * (b.x - a.x), a.y + f * (b.y - a.y)
            track.append((at(clock), lon, lat, 15.0))
            clock += 60  # thinned to one report a minute for a short test

    moored(kalianget.x, kalianget.y, 1800)
    sail(kalianget, kangean)
    moored(kangean.x, kangean.y, 3600)
    sail(kangean, kalianget)
    moored(kalianget.x, kalianget.y, 1800)

    lines = []
    static = {
        "type": 5,
        "mmsi": FERRY,
        "shipname": "KM DHARMA KENCANA",
        "callsign": "YBDK",
        "ship_type": 60,
        "to_bow": 50,
        "to_stern": 20,
        "to_port": 7,
        "to_starboard": 7,
        "destination": "KANGEAN",
    }
    for sentence in encoded(static):
        lines.append(tagged(sentence, "SMP-KALIANGET", T0))
    for time, lon, lat, sog in track:
        data = {
            "type": 1,
            "mmsi": FERRY,
            "status": 5 if sog == 0 else 0,
            "lon": lon,
            "lat": lat,
            "speed": sog,
            "course": 75.0,
            "heading": 75,
        }
        station = "SMP-KALIANGET" if lon < 114.6 else "SMP-KANGEAN"
        lines += [tagged(s, station, time) for s in encoded(data)]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return [(time, lon, lat) for time, lon, lat, _ in track]


def expected_calls(
    track: list[tuple[datetime, float, float]], zones: ZoneSet
) -> list[tuple[str, datetime, datetime | None]]:
    """Calls read off the track: first report in, first report out."""
    calls: list[tuple[str, datetime, datetime | None]] = []
    current: tuple[str, datetime] | None = None
    for time, lon, lat in track:
        here = [z.id for z in zones.at(lon, lat) if z.kind == "harbour"]
        if current is None and here:
            current = (here[0], time)
        elif current is not None and current[0] not in here:
            calls.append((current[0], current[1], time))
            current = None
    if current is not None:
        calls.append((current[0], current[1], None))
    return calls


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-P", "-m", "pantaulaut", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def replayed(
    tmp_path_factory: pytest.TempPathFactory, zones: ZoneSet
) -> tuple[str, list[tuple[str, datetime, datetime | None]], Path]:
    folder = tmp_path_factory.mktemp("ferry")
    recording = folder / "ferry.nmea"
    track = ferry_recording(recording, zones)
    url = f"sqlite:///{folder / 'ferry.db'}"
    run_cli("replay", str(recording), "--store", url)
    return url, expected_calls(track, zones), folder


def iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat().replace("+00:00", "Z")


@pytest.mark.slow
def test_ferry_calls_at_kalianget_and_kangean_appear_in_the_csv_export(
    replayed: tuple[str, list[tuple[str, datetime, datetime | None]], Path],
) -> None:
    url, expected, folder = replayed
    assert [c[0] for c in expected] == [
        "harbour-kalianget",
        "harbour-batu-guluk",
        "harbour-kalianget",
    ]
    out = folder / "calls.csv"
    run_cli(
        "export",
        "port-calls",
        "--store",
        url,
        "--from",
        "2026-06-17",
        "--to",
        "2026-06-18",
        "--format",
        "csv",
        "--out",
        str(out),
    )
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["harbour_id"], r["arrival"], r["departure"]) for r in rows] == [
        (zone, iso(arrival), iso(departure)) for zone, arrival, departure in expected
    ]
    assert [r["harbour_name"] for r in rows] == [
        "Kalianget harbour",
        "Batu Guluk harbour (Kangean)",
        "Kalianget harbour",
    ]
    assert {r["mmsi"] for r in rows} == {str(FERRY)}
    assert {r["vessel_name"] for r in rows} == {"KM DHARMA KENCANA"}
    assert {r["ship_type"] for r in rows} == {"60"}
    # Moored 60 min at Kangean: 20 reports at 3 min, plus the sailing
    # reports inside the harbour on the way in and out.
    assert int(rows[1]["positions"]) >= 20
    assert rows[1]["station"] == "SMP-KANGEAN"


@pytest.mark.slow
def test_ferry_calls_appear_in_the_geojson_export_and_the_daily_summary(
    replayed: tuple[str, list[tuple[str, datetime, datetime | None]], Path],
) -> None:
    url, expected, folder = replayed
    out = folder / "calls.geojson"
    run_cli(
        "export",
        "port-calls",
        "--store",
        url,
        "--from",
        "2026-06-17T03:00Z",
        "--to",
        "2026-06-17T23:59Z",
        "--format",
        "geojson",
        "--out",
        str(out),
    )
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    # The first call ended before 03:00; the other two were in port after it.
    assert [f["properties"]["harbour_id"] for f in features] == [
        "harbour-batu-guluk",
        "harbour-kalianget",
    ]
    kangean = features[0]
    assert kangean["properties"]["arrival"] == iso(expected[1][1])
    assert kangean["properties"]["departure"] == iso(expected[1][2])
    lon, lat = kangean["geometry"]["coordinates"]
    assert 115.2 < lon < 115.25
    assert -6.86 < lat < -6.83
    assert features[1]["properties"]["departure"] is None

    summary = folder / "summary.md"
    run_cli(
        "export",
        "daily-summary",
        "--store",
        url,
        "--day",
        "2026-06-17",
        "--out",
        str(summary),
    )
    text = summary.read_text(encoding="utf-8")
    assert "| Batu Guluk harbour (Kangean) | 1 | 1 | 0 |" in text
    assert "| Kalianget harbour | 2 | 1 | 1 |" in text


def test_a_vessel_silent_in_port_keeps_its_call_open_but_not_counted_in_port(
    zones: ZoneSet, tmp_path: Path
) -> None:
    # Regression: the call of a vessel that fell silent at the quay was listed
    # "in port" by every daily summary after, with nothing to show the silence.
    kalianget = harbour(zones, "harbour-kalianget")
    centre = kalianget.geometry.centroid
    tracker = PortCallTracker(zones)
    reports = [position(60 * n, centre.x, centre.y) for n in range(3)]
    changes = feed(tracker, reports)
    assert tracker.tick(at(10 * 86_400)) == []
    assert [c.departure for c in tracker.open_calls()] == [None]
    store = SqliteStore(str(tmp_path / "history.db"))
    try:
        batch = Batch(positions=reports, vessels={FERRY: FERRY_STATE})
        for call in changes:
            batch.add_port_call(call)
        store.write(batch)
        out = tmp_path / "calls.csv"
        export(store, "port-calls", "csv", out, start=at(0), end=at(30 * 86_400))
        with out.open(encoding="utf-8", newline="") as f:
            (row,) = list(csv.DictReader(f))
        assert row["departure"] == ""
        assert row["last_heard"] == "2026-06-17T00:02:00Z"
        assert row["last_heard_wib"] == "2026-06-17T07:02:00+07:00"
        # 17 June (WIB) ends 17 h after the last report: in port; on the
        # 18th it is a day and more: counted apart.
        first = daily_summary(store, date(2026, 6, 17), tmp_path / "17.md")
        assert first.in_port == {"Kalianget harbour": 1}
        later = daily_summary(store, date(2026, 6, 18), tmp_path / "18.md")
        assert later.in_port == {}
        assert later.in_port_silent == {"Kalianget harbour": 1}
    finally:
        store.close()
