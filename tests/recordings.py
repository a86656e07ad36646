"""Recordings for the scale-out and durability tests, made with pyais's encoder.

``separated_traffic`` is a scene whose alerts do not depend on how vessels
are split among workers: vessels leave and reach the regency's harbours
(zone exits and entries, one vessel per harbour), ships pass in the Java Sea
at least 6 nm apart, and three beacons (an AIS-SART test, a SART and a MOB
activation) transmit far from everyone. Two ships on crossing courses, whose
MMSIs fall in different partitions, meet ten minutes in: the collision risk
they raise needs the one process that sees every partition (README,
"Scaling out").
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import shapely
from pyais.encode import encode_dict
from shapely.geometry import LineString, shape

from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.traffic import (
    SartActivation,
    SartTest,
    VesselPlan,
    Waypoint,
    generate,
    write_recording,
)

START = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)

# Centres of the harbour zones of data/zones.geojson (lat, lon).
HARBOURS = {
    "kalianget": (-7.05446, 113.94831),
    "dungkek": (-6.98769, 114.09001),
    "pasongsongan": (-6.87809, 113.6692),
    "batu-guluk": (-6.8436, 115.22636),
    "sapeken": (-7.0113, 115.70544),
    "tarebung": (-7.05527, 114.31704),
    "raas": (-7.12471, 114.552),
    "giligenting": (-7.21579, 113.90041),
    "masalembu": (-5.57497, 114.4133),
}


# Far from the other traffic of the scene, in the open Java Sea.
CROSSING = (-5.2, 113.0)
# MMSI mod 3 differ: with three workers, the two are on different ones.
CROSSERS = (525_300_001, 525_300_002)


def tagged(sentence: str, station: str, time: datetime) -> str:
    body = f"s:{station},c:{int(time.timestamp())}"
    return f"\\{body}*{nmea_checksum(body):02X}\\{sentence}"


def positions(vessels: int = 30, reports: int = 4) -> list[str]:
    """Class A and B reports off Kalianget, every 10 s, tagged."""
    lines = []
    for step in range(reports):
        for n in range(vessels):
            data = {
                "type": 1 if n % 2 else 18,
                "mmsi": 525_000_100 + n,
                "lat": -7.1 - 0.01 * n,
                "lon": 113.95 + 0.01 * n + 0.001 * step,
                "speed": 8.0,
                "course": 90.0,
                "heading": 90,
            }
            time = START + timedelta(seconds=10 * step)
            for sentence in encode_dict(data, "AI", "VDM", "A"):
                lines.append(tagged(sentence, "SMP-TEST", time))
    return lines


def _offset(
    lat: float, lon: float, nm: float, bearing_deg: float
) -> tuple[float, float]:
    bearing = math.radians(bearing_deg)
    return (
        lat + nm * math.cos(bearing) / 60.0,
        lon + nm * math.sin(bearing) / (60.0 * math.cos(math.radians(lat))),
    )


def _seaward(
    lat: float, lon: float, land: object, nm: float = 2.0
) -> tuple[float, float]:
    """A point ``nm`` from a harbour that a straight course reaches by sea."""
    for bearing in range(0, 360, 10):
        end = _offset(lat, lon, nm, bearing)
        course = LineString([(lon, lat), (end[1], end[0])])
        if not course.intersects(land):  # type: ignore[arg-type]
            return end
    raise AssertionError(f"no way out to sea from {lat}, {lon}")


def separated_traffic(path: Path, minutes: float = 20.0, passers: int = 30) -> int:
    """Write the scene to ``path``; return the number of lines."""
    with resources.as_file(resources.files("pantaulaut.data") / "land.geojson") as f:
        features = json.loads(f.read_text())["features"]
    land = shapely.union_all([shape(feature["geometry"]) for feature in features])
    plans = []
    for i, (lat, lon) in enumerate(HARBOURS.values()):
        sea = Waypoint(*_seaward(lat, lon, land))
        quay = Waypoint(lat, lon)
        plans.append(
            VesselPlan(
                mmsi=525_100_001 + 37 * i,
                name=f"HARBOUR {i}",
                callsign="",
                ship_type=60,
                vessel_class="A",
                # Even harbours see a departure (zone exit), odd ones an arrival.
                route=(quay, sea) if i % 2 == 0 else (sea, quay),
                speed_kn=12.0,
                start_s=60.0 * (1 + i),
                station="SMP-KALIANGET" if lon < 114.2 else "SMP-KANGEAN",
            )
        )
    for j in range(passers):
        lat = -6.05 - 0.1 * (j % 5)
        lon = 113.3 + 0.3 * (j // 5)
        plans.append(
            VesselPlan(
                mmsi=525_200_003 + 101 * j,
                name=f"PASSER {j}",
                callsign="",
                ship_type=70,
                vessel_class="A" if j % 2 else "B",
                route=(Waypoint(lat, lon), Waypoint(lat, lon + 1.0)),
                speed_kn=12.0,
                start_s=-600.0,
                station="SMP-MASALEMBU",
            )
        )
    # Crossing at CROSSING ten minutes in: one eastbound, one northbound.
    meet_lat, meet_lon = CROSSING
    for mmsi, bearing_deg in ((CROSSERS[0], 90.0), (CROSSERS[1], 0.0)):
        start = _offset(meet_lat, meet_lon, 20.0, bearing_deg + 180.0)
        end = _offset(meet_lat, meet_lon, 20.0, bearing_deg)
        plans.append(
            VesselPlan(
                mmsi=mmsi,
                name=f"CROSSER {mmsi % 10}",
                callsign="",
                ship_type=70,
                vessel_class="A",
                route=(Waypoint(*start), Waypoint(*end)),
                speed_kn=12.0,
                start_s=600.0 - 20.0 / 12.0 * 3600.0,
                station="SMP-MASALEMBU",
            )
        )
    events = [
        SartTest(970_123_001, 120.0, Waypoint(-6.75, 113.95), "SMP-KALIANGET"),
        SartActivation(
            970_123_002,
            300.0,
            Waypoint(-6.65, 114.85),
            "SMP-KANGEAN",
            drift_kn=1.0,
            drift_course_deg=45.0,
        ),
        SartActivation(
            972_123_003,
            480.0,
            Waypoint(-5.95, 115.3),
            "SMP-MASALEMBU",
            text="MOB ACTIVE",
        ),
    ]
    return write_recording(path, generate(plans, events, START, minutes * 60.0, seed=7))
