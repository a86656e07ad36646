"""Incidents from callers: typed positions, the vessels that can help, drift.

The "vessels of opportunity" test replays a recording with vessels at known
distances from a point between Sapudi and Gili Iyang, where the Arim Jaya
capsized in 2019, and asks for the nearest ones as a call-taker would.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyais.encode import encode_dict

from pantaulaut.alerts.cap import CAP_NS, validate_cap
from pantaulaut.alerts.delivery import DeliveryConfig, WebhookConfig
from pantaulaut.alerts.incidents import (
    DriftInput,
    bearing_deg,
    create_incident,
    distance_nm,
    nearest_vessels,
    parse_position,
    record_incident,
    search_area,
)
from pantaulaut.errors import IncidentError
from pantaulaut.geofence.zones import load_zones
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.model import AlertKind, AlertState, Severity, Vessel
from pantaulaut.store.base import DeliveryState
from pantaulaut.store.sqlite import SqliteStore

# Between Sapudi and Gili Iyang.
LAT, LON = -7.04, 114.26
T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
NM_LAT = 1 / 60  # one nautical mile of latitude, in degrees
NM_LON = 1 / (60 * math.cos(math.radians(LAT)))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


# --- typed positions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lat", "lon"),
    [
        ("-7.04, 114.26", -7.04, 114.26),
        ("-7.04 114.26", -7.04, 114.26),
        ("-7,04 114,26", -7.04, 114.26),
        ("7.04 S 114.26 E", -7.04, 114.26),
        ("7°02.4'S 114°15.6'E", -7.04, 114.26),
        ("7 02.4 S 114 15.6 E", -7.04, 114.26),
        ("7°02'24\"S 114°15'36\"E", -7.04, 114.26),
        ("7°02,4' LS 114°15,6' BT", -7.04, 114.26),
        ("114°15.6'E 7°02.4'S", -7.04, 114.26),
        ("7\u00ba02.4\u2032S 114\u00ba15.6\u2032E", -7.04, 114.26),
        ("\u22127.04, 114.26", -7.04, 114.26),
    ],
)
def test_positions_as_call_takers_type_them(text: str, lat: float, lon: float) -> None:
    got = parse_position(text)
    assert got == pytest.approx((lat, lon), abs=1e-9)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("Sapudi", "not a position"),
        ("-7.04", "only one coordinate"),
        ("7.04, 114.26", "north of the equator"),
        ("114.26, -7.04", "look swapped"),
        ("7°72.5'S 114°15.2'E", "72.5 minutes"),
        ("7°02'75\"S 114°15'12\"E", "75 seconds"),
        ("-7.04S 114.26E", "both a minus sign and S"),
        ("7.04N 114.26N", "two latitudes or two longitudes"),
        ("-7.04 114.26 kira-kira", "cannot read"),
        ("-70 114", "outside Sumenep's waters"),
        ("-7.04 214.26", "beyond ±180°"),
    ],
)
def test_a_wrong_position_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(IncidentError) as caught:
        parse_position(text)
    assert problem in str(caught.value)
    assert caught.value.field == "position"


def test_anywhere_on_the_globe_when_no_region_is_given() -> None:
    assert parse_position("51.5 N 0.12 W", region=None) == pytest.approx((51.5, -0.12))


# --- geometry and drift ----------------------------------------------------------


def test_distance_and_bearing() -> None:
    north = (LAT + NM_LAT, LON)
    assert distance_nm(LAT, LON, *north) == pytest.approx(1.0, rel=2e-3)
    assert bearing_deg(LAT, LON, *north) == pytest.approx(0.0, abs=0.01)
    assert bearing_deg(*north, LAT, LON) == pytest.approx(180.0, abs=0.01)
    assert bearing_deg(LAT, LON, LAT, LON + NM_LON) == pytest.approx(90.0, abs=0.01)


def test_search_area_drifts_downwind_and_with_the_current_and_grows() -> None:
    # 20 kn from the east: 0.6 kn of leeway towards the west; 0.4 kn current
    # towards the west too: 1 kn west in all.
    drift = DriftInput(wind_kn=20, wind_from_deg=90, current_kn=0.4, current_to_deg=270)
    at_start = search_area(LAT, LON, T0, T0, drift)
    assert (at_start.lat_deg, at_start.lon_deg) == (LAT, LON)
    assert at_start.radius_nm == pytest.approx(1.0)
    later = [
        search_area(LAT, LON, T0, T0 + timedelta(hours=h), drift) for h in (1, 2, 4)
    ]
    assert later[0].drift_kn == pytest.approx(1.0)
    assert later[0].drift_to_deg == pytest.approx(270.0)
    assert distance_nm(LAT, LON, later[2].lat_deg, later[2].lon_deg) == pytest.approx(
        4.0, rel=1e-2
    )
    assert later[2].lon_deg < later[1].lon_deg < later[0].lon_deg < LON
    radii = [a.radius_nm for a in later]
    assert radii == sorted(radii)
    # 4 h: drift error 0.3 * 4 nm + 0.2 kn * 4 h = 2 nm, with 1 nm of position.
    assert radii[2] == pytest.approx(math.hypot(1.0, 2.0))
    assert "estimate" in later[0].label


def test_without_wind_or_current_the_area_still_grows() -> None:
    areas = [
        search_area(LAT, LON, T0, T0 + timedelta(hours=h), DriftInput()) for h in (0, 3)
    ]
    assert areas[0].radius_nm < areas[1].radius_nm
    assert (areas[1].lat_deg, areas[1].lon_deg) == (LAT, LON)


# --- vessels of opportunity --------------------------------------------------------


def vessel(mmsi: int, north_nm: float, east_nm: float, **changes: object) -> Vessel:
    data: dict[str, object] = {
        "mmsi": mmsi,
        "vessel_class": "A",
        "name": f"KM {mmsi}",
        "lat_deg": LAT + north_nm * NM_LAT,
        "lon_deg": LON + east_nm * NM_LON,
        "speed_kn": 10.0,
        "position_time": T0 - timedelta(minutes=2),
    }
    data.update(changes)
    return Vessel(**data)  # type: ignore[arg-type]


def test_nearest_vessels_in_distance_order_without_beacons_or_old_positions() -> None:
    vessels = [
        vessel(1, 0, 3),
        vessel(2, 1, 0),
        vessel(3, -0.5, 0, speed_kn=0.2),
        vessel(4, 0.1, 0, vessel_class="SART"),
        vessel(5, 0.2, 0, position_time=T0 - timedelta(hours=2)),
        vessel(6, 0, -2, speed_kn=None),
        vessel(7, 0.3, 0, vessel_class="AtoN"),
        vessel(8, 50, 0),
    ]
    found = nearest_vessels(vessels, LAT, LON, now=T0, max_distance_nm=10)
    assert [v.mmsi for v in found] == [3, 2, 6, 1]
    stopped, north, west, east = found
    assert stopped.eta_min is None
    assert north.distance_nm == pytest.approx(1.0, rel=3e-3)
    assert north.bearing_deg == pytest.approx(0.0, abs=0.1)
    assert north.course_to_deg == pytest.approx(180.0, abs=0.1)
    assert north.eta_min == pytest.approx(6.0, rel=3e-3)
    assert north.age_s == 120.0
    assert west.speed_kn is None
    assert west.bearing_deg == pytest.approx(270.0, abs=0.1)
    assert east.course_to_deg == pytest.approx(270.0, abs=0.1)
    assert len(nearest_vessels(vessels, LAT, LON, now=T0, limit=2)) == 2


def tagged(sentence: str, when: datetime) -> str:
    body = f"s:SMP-KANGEAN,c:{int(when.timestamp())}"
    return f"\\{body}*{nmea_checksum(body):02X}\\{sentence}"


# (MMSI, name, ship type, miles north, miles east, speed) around the point.
KNOWN = [
    (525100001, "KM SAPUDI JAYA", 60, 0.0, 3.0, 12.0),
    (525100002, "KM GILI IYANG", 30, 1.5, 0.0, 6.0),
    (525100003, "KLOTOK DUNGKEK", 30, -0.6, -0.4, 4.0),
    (525100004, "TB KALIANGET", 52, 0.0, -5.0, 0.0),
    (525100005, "MV JAVA SEA", 70, 8.0, 8.0, 14.0),
]


def known_recording(path: Path) -> Path:
    lines = []
    for index, (mmsi, name, ship_type, north, east, speed) in enumerate(KNOWN):
        static = {
            "type": 5,
            "mmsi": mmsi,
            "shipname": name,
            "ship_type": ship_type,
            "callsign": f"YB{index}X",
        }
        for sentence in encode_dict(static, "AI", "VDM", "A", seq_id=index % 10):
            lines.append(tagged(sentence, T0))
        for step in range(3):
            report = {
                "type": 1,
                "mmsi": mmsi,
                "lat": LAT + north * NM_LAT,
                "lon": LON + east * NM_LON,
                "speed": speed,
                "course": 45.0,
            }
            when = T0 + timedelta(seconds=10 * step)
            lines += [tagged(s, when) for s in encode_dict(report, "AI", "VDM", "B")]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "pantaulaut", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_incident_between_sapudi_and_gili_iyang_lists_the_nearest_vessels(
    tmp_path: Path,
) -> None:
    recording = known_recording(tmp_path / "known.nmea")
    url = f"sqlite:///{tmp_path / 'known.db'}"
    replayed = cli("replay", recording, "--store", url)
    assert replayed.returncode == 0, replayed.stderr
    when = (T0 + timedelta(minutes=5)).astimezone().isoformat()
    result = cli(
        "incident",
        "add",
        "--position",
        "7°02.4'S 114°15.6'E",
        "--time",
        when,
        "--people",
        "61",
        "--in-water",
        "--vessel",
        "perahu motor kayu, biru",
        "--wind-kn",
        "15",
        "--wind-from-deg",
        "90",
        "--store",
        url,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    vessels = answer["vessels"]
    assert [v["mmsi"] for v in vessels] == [
        525100003,
        525100002,
        525100001,
        525100004,
        525100005,
    ]
    expected = [math.hypot(n, e) for _, _, _, n, e, _ in KNOWN]
    by_mmsi = {v["mmsi"]: v for v in vessels}
    for (mmsi, name, *_), distance in zip(KNOWN, expected, strict=True):
        assert by_mmsi[mmsi]["distance_nm"] == pytest.approx(distance, rel=1e-2)
        assert by_mmsi[mmsi]["name"] == name
    assert by_mmsi[525100001]["eta_min"] == pytest.approx(15.0, rel=1e-2)
    assert by_mmsi[525100004]["eta_min"] is None  # the tug is not moving
    assert by_mmsi[525100002]["bearing_deg"] == pytest.approx(0.0, abs=0.5)
    assert [a["hours"] for a in answer["search_areas"]] == [1.0, 2.0, 4.0]
    incident = answer["incident"]
    assert incident["detail"]["people"] == 61
    assert incident["detail"]["people_in_water"] is True
    assert "KLOTOK DUNGKEK" in incident["detail"]["vessels_nearby"]

    text = cli(
        "incident", "add", "--position", "-7.04, 114.26", "--time", when, "--store", url
    )
    assert text.returncode == 0, text.stderr
    rows = [line for line in text.stdout.splitlines() if "KLOTOK" in line]
    assert rows
    assert rows[0].split()[0] == "1"

    store = SqliteStore(str(tmp_path / "known.db"))
    try:
        incidents = [a for a in store.alerts(limit=100) if a.kind is AlertKind.INCIDENT]
        assert len(incidents) == 2
    finally:
        store.close()


def test_a_badly_typed_position_is_refused_by_the_command(tmp_path: Path) -> None:
    result = cli(
        "incident",
        "add",
        "--position",
        "7.04, 114.26",
        "--store",
        f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert result.returncode == 2
    assert "north of the equator" in result.stderr


def test_the_demo_recording_gives_vessels_near_the_arim_jaya_position(
    tmp_path: Path,
) -> None:
    from importlib import resources

    demo = resources.files("pantaulaut.data") / "sumenep-demo.nmea.gz"
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert cli("replay", str(demo), "--store", url).returncode == 0
    store = SqliteStore(str(tmp_path / "demo.db"))
    try:
        vessels = store.vessels()
    finally:
        store.close()
    end = max(v.last_seen for v in vessels if v.last_seen is not None)
    found = nearest_vessels(vessels, LAT, LON, now=end, max_age_s=3600, limit=8)
    assert found
    distances = [v.distance_nm for v in found]
    assert distances == sorted(distances)
    assert all(v.vessel_class not in ("SART", "AtoN") for v in found)


# --- the incident as an alert delivered to 112 ------------------------------------


def test_an_incident_is_a_valid_cap_alert_stored_with_its_messages(
    tmp_path: Path,
) -> None:
    zones = load_zones()
    nearby = nearest_vessels([vessel(2, 1, 0)], LAT, LON, now=T0)
    alert = create_incident(
        LAT,
        LON,
        time=T0,
        people=12,
        people_in_water=True,
        vessel_description="perahu klotok biru",
        caller_notes="mesin mati, ombak tinggi",
        caller="0812-xxxx",
        operator="op1",
        position_text="7°02.4'S 114°15.6'E",
        drift=DriftInput(wind_kn=15, wind_from_deg=90),
        zones=zones,
        nearby=nearby,
    )
    assert alert.kind is AlertKind.INCIDENT
    assert alert.severity is Severity.CRITICAL
    assert alert.state is AlertState.OPEN
    assert alert.history[0]["actor"] == "op1"
    assert alert.detail["search_area"]["radius_nm"] == pytest.approx(1.0)
    config = DeliveryConfig(
        webhook=WebhookConfig(url="http://127.0.0.1:9/none", secret=SECRET)
    )
    store = SqliteStore(str(tmp_path / "i.db"))
    try:
        (row,) = record_incident(store, alert, config, zones)
        assert [a.id for a in store.alerts()] == [alert.id]
        (stored,) = store.deliveries()
        assert stored.id == row.id
        assert stored.state is DeliveryState.PENDING
    finally:
        store.close()
    assert validate_cap(row.body) == []
    root = ET.fromstring(row.body)
    ns = {"cap": CAP_NS}
    assert root.findtext("cap:info/cap:category", namespaces=ns) == "Rescue"
    assert root.findtext("cap:info/cap:urgency", namespaces=ns) == "Immediate"
    assert root.findtext("cap:info/cap:severity", namespaces=ns) == "Extreme"
    description = root.findtext("cap:info[2]/cap:description", namespaces=ns) or ""
    assert "People in the water: yes" in description
    assert "Search area (estimate)" in description
    areas = root.findall("cap:info[1]/cap:area", ns)
    assert len(areas) == 2  # the reported position and the drift estimate
    assert "perkiraan" in (areas[1].findtext("cap:areaDesc", namespaces=ns) or "")


def test_an_incident_needs_an_aware_time_and_a_sane_count() -> None:
    with pytest.raises(IncidentError, match="time zone"):
        create_incident(LAT, LON, time=datetime(2026, 6, 17))
    with pytest.raises(IncidentError, match="0 or more"):
        create_incident(LAT, LON, time=T0, people=-1)
