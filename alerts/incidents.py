"""Incidents reported by callers, and the AIS vessels that can help.

Most boats between Sumenep's islands carry no AIS, so trouble often reaches
the desk as a phone call to 112. A call-taker places the incident (position
typed or clicked on the map), with the people involved, the vessel and the
caller's notes; it becomes an alert of kind ``incident`` and is delivered
to 112 like any other (CAP, webhook, MQTT).

For the response the desk needs two things at once:

**Vessels of opportunity**: the AIS vessels nearest to the incident, with
distance (nautical miles, great circle), bearing from the incident, the
course to steer from the vessel, and the time to get there at the vessel's
current speed. In the Arim Jaya capsize (June 2019) survivors drifted an
hour before passing fishing boats helped; this list names those boats.

**A search area for people in the water**: a drift estimate from wind and
current entered by the operator. It is a simple estimate, labelled so
everywhere it is shown, not a SAR planning tool:

* drift velocity = leeway + current, where leeway is ``leeway`` (3 %) of
  the wind speed, downwind (wind is given as where it blows *from*), and the
  current is given as where it flows *to*;
* centre at time t = reported position + drift velocity * t;
* radius at time t = √(X² + Dₑ²), where X is the position error of the
  report (``position_error_nm``, 1 nm by default for a caller's estimate)
  and Dₑ = ``drift_error`` (30 %) of the drift distance plus
  ``unknown_drift_kn`` (0.2 kn) * t for the wind and current nobody
  measured. The area grows with every hour.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pantaulaut.alerts.cap import WIB, format_position, zone_polygon_lookup
from pantaulaut.alerts.delivery import DeliveryConfig, DeliverySink, destinations_of
from pantaulaut.errors import IncidentError
from pantaulaut.model import ALERT_SEVERITY, Alert, AlertKind, Severity, Vessel
from pantaulaut.store.base import Batch, Delivery, Outbox, Store

if TYPE_CHECKING:
    from pantaulaut.geofence.zones import ZoneSet

__all__ = [
    "REGION",
    "DriftInput",
    "NearbyVessel",
    "SearchArea",
    "add_cli_commands",
    "bearing_deg",
    "create_incident",
    "distance_nm",
    "nearest_vessels",
    "parse_position",
    "record_incident",
    "search_area",
]

EARTH_RADIUS_NM = 3440.065
# Where a typed position must fall: the regency and its approaches
# (west, south, east, north). Outside it, lat and lon are likely swapped or
# a hemisphere is wrong.
REGION = (110.0, -10.0, 119.0, -2.0)
# Not vessels that can help.
_NOT_VESSELS = frozenset({"AtoN", "base station", "SART", "MOB", "EPIRB"})


# ---------------------------------------------------------------------------
# Positions typed by a call-taker.

_AXIS = re.compile(
    r"""
    (?P<sign>[-+\u2212])?\s*
    (?:
        (?P<dd>\d{1,3}[.,]\d+)(?!\d)\s*°?
      | (?P<d>\d{1,3})(?!\d|[.,]\d)\s*°?\s*
        (?:
            (?P<m>\d{1,2}(?:[.,]\d+)?)(?!\d|[.,]\d)\s*'?\s*
            (?:(?P<s>\d{1,2}(?:[.,]\d+)?)(?!\d|[.,]\d)\s*"\s*)?
        )?
    )
    \s*(?P<h>LU|LS|BT|BB|[NSEW](?![A-Z]))?
    """,
    re.VERBOSE,
)
_SEPARATOR = re.compile(r"\s*[,;/]?\s*")
_LAT_HEMI = {"N": 1, "LU": 1, "S": -1, "LS": -1}
_LON_HEMI = {"E": 1, "BT": 1, "W": -1, "BB": -1}


def _normalise(text: str) -> str:
    table = str.maketrans(
        {
            "\u2032": "'",  # prime
            "\u2019": "'",  # right single quotation mark
            "\u2018": "'",
            "`": "'",
            "\u2033": '"',  # double prime
            "\u201c": '"',
            "\u201d": '"',
            "\u00ba": "°",  # masculine ordinal, often typed for degrees
            "\u02da": "°",  # ring above
            "\u2212": "-",  # minus sign
        }
    )
    text = text.translate(table).upper().strip()
    return text.replace("''", '"')


def _number(text: str) -> float:
    return float(text.replace(",", "."))


@dataclass(frozen=True, slots=True)
class _Axis:
    value: float
    hemisphere: str | None
    signed: bool
    text: str


def _axis(match: re.Match[str], raw: str) -> _Axis:
    if match.group("dd") is not None:
        value = _number(match.group("dd"))
    else:
        degrees = int(match.group("d"))
        minutes = _number(match.group("m")) if match.group("m") else 0.0
        seconds = _number(match.group("s")) if match.group("s") else 0.0
        if minutes >= 60:
            raise IncidentError(
                "position", raw, f"{minutes:g} minutes: minutes run from 0 to 59.99"
            )
        if seconds >= 60:
            raise IncidentError(
                "position", raw, f"{seconds:g} seconds: seconds run from 0 to 59.99"
            )
        value = degrees + minutes / 60 + seconds / 3600
    sign = match.group("sign")
    hemisphere = match.group("h")
    if sign == "-" and hemisphere is not None:
        raise IncidentError(
            "position",
            raw,
            f"both a minus sign and {hemisphere}: write one or the other",
        )
    return _Axis(
        -value if sign == "-" else value,
        hemisphere,
        sign is not None,
        match.group(0).strip(),
    )


def parse_position(
    text: str, region: tuple[float, float, float, float] | None = REGION
) -> tuple[float, float]:
    """Latitude and longitude from what a call-taker typed.

    Accepted: decimal degrees (``-7.04, 114.26``, ``7.04 S 114.26 E``),
    degrees and decimal minutes (``7°02.5'S 114°15.2'E``, ``7 02.5 S 114
    15.2 E``), degrees, minutes and seconds (``7°02'30"S 114°15'12"E``),
    with N/S/E/W or the Indonesian LU/LS/BT/BB and a decimal point or comma
    (``7°02,5' LS 114°15,2' BT``). Latitude comes first unless hemisphere
    letters say otherwise.

    Args:
        text: The position as typed.
        region: (west, south, east, north) the position must fall in; None
            to accept anywhere on the globe.

    Returns:
        (lat_deg, lon_deg), south and west negative.

    Raises:
        IncidentError: What is wrong, in words a call-taker can act on.
    """
    raw = text
    normal = _normalise(text)
    if not normal:
        raise IncidentError("position", raw, "empty: type a latitude and longitude")
    first = _AXIS.match(normal)
    if first is None or not first.group(0).strip():
        raise IncidentError(
            "position",
            raw,
            "not a position: write e.g. -7.04, 114.26 or 7°02.5'S 114°15.2'E",
        )
    gap = _SEPARATOR.match(normal, first.end())
    start = gap.end() if gap else first.end()
    second = _AXIS.match(normal, start)
    if second is None or not second.group(0).strip():
        raise IncidentError(
            "position",
            raw,
            "only one coordinate found: give latitude and longitude",
        )
    if normal[second.end() :].strip():
        raise IncidentError(
            "position",
            raw,
            f"cannot read {normal[second.end() :].strip()!r} after the longitude",
        )
    a, b = _axis(first, raw), _axis(second, raw)
    if a.hemisphere in _LON_HEMI and (
        b.hemisphere in _LAT_HEMI or b.hemisphere is None
    ):
        a, b = b, a
    if a.hemisphere in _LON_HEMI or b.hemisphere in _LAT_HEMI:
        raise IncidentError(
            "position", raw, "two latitudes or two longitudes: give one of each"
        )
    lat = a.value * _LAT_HEMI.get(a.hemisphere or "", 1)
    lon = b.value * _LON_HEMI.get(b.hemisphere or "", 1)
    if abs(lat) > 90 and abs(lon) <= 90 and not (a.hemisphere or b.hemisphere):
        raise IncidentError(
            "position", raw, "latitude and longitude look swapped: latitude first"
        )
    if not -90 <= lat <= 90:
        raise IncidentError("position", raw, f"latitude {lat:g} is beyond ±90°")
    if not -180 <= lon <= 180:
        raise IncidentError("position", raw, f"longitude {lon:g} is beyond ±180°")
    if region is not None:
        _check_region(raw, lat, lon, a, b, region)
    return lat, lon


def _check_region(
    raw: str,
    lat: float,
    lon: float,
    a: _Axis,
    b: _Axis,
    region: tuple[float, float, float, float],
) -> None:
    west, south, east, north = region
    if west <= lon <= east and south <= lat <= north:
        return
    if lat > 0 and a.hemisphere is None and not a.signed and south <= -lat <= north:
        raise IncidentError(
            "position",
            raw,
            f"latitude {lat:g} is north of the equator; Sumenep's waters are "
            f"south of it: write -{a.text} or {a.text} S (LS)",
        )
    if west <= lat <= east and south <= lon <= north:
        raise IncidentError(
            "position", raw, "latitude and longitude look swapped: latitude first"
        )
    raise IncidentError(
        "position",
        raw,
        f"{lat:.4f}, {lon:.4f} is outside Sumenep's waters and approaches "
        f"({south}..{north} lat, {west}..{east} lon)",
    )


# ---------------------------------------------------------------------------
# Geometry on the sphere.


def distance_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in nautical miles (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial true bearing from the first point to the second, 0-360."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def _offset(
    lat: float, lon: float, north_nm: float, east_nm: float
) -> tuple[float, float]:
    """A point some miles north and east (flat earth: fine for a few dozen nm)."""
    new_lat = lat + north_nm / 60.0
    new_lon = lon + east_nm / (60.0 * math.cos(math.radians((lat + new_lat) / 2)))
    return new_lat, new_lon


# ---------------------------------------------------------------------------
# Vessels of opportunity.


@dataclass(frozen=True, slots=True)
class NearbyVessel:
    """An AIS vessel near an incident.

    Attributes:
        distance_nm: From the incident to the vessel's last position.
        bearing_deg: Of the vessel, seen from the incident (true).
        course_to_deg: To steer from the vessel to the incident (true).
        eta_min: Minutes to reach the incident at the current speed; None
            when the vessel is stopped (below 1 kn) or its speed is unknown.
        age_s: Age of the position at the incident's time.
    """

    mmsi: int
    name: str | None
    ship_type: str | None
    vessel_class: str
    lat_deg: float
    lon_deg: float
    distance_nm: float
    bearing_deg: float
    course_to_deg: float
    speed_kn: float | None
    eta_min: float | None
    age_s: float | None
    callsign: str | None = None


def nearest_vessels(
    vessels: Iterable[Vessel],
    lat_deg: float,
    lon_deg: float,
    *,
    now: datetime | None = None,
    max_age_s: float = 1800.0,
    limit: int = 10,
    max_distance_nm: float | None = None,
) -> list[NearbyVessel]:
    """The vessels nearest to a point, nearest first.

    Args:
        vessels: Candidates (from the store or the live registry).
        lat_deg: The incident.
        lon_deg: The incident.
        now: The incident's time; positions older than ``max_age_s`` (or
            more than a minute newer) at that time are left out. None
            keeps every position.
        max_age_s: Oldest position taken.
        limit: Most vessels returned.
        max_distance_nm: Farthest vessel returned.
    """
    found = []
    for vessel in vessels:
        if vessel.lat_deg is None or vessel.lon_deg is None:
            continue
        if vessel.vessel_class in _NOT_VESSELS or vessel.own_ship:
            continue
        seen = vessel.position_time or vessel.last_seen
        age_s = None if seen is None or now is None else (now - seen).total_seconds()
        if age_s is not None and not -60.0 <= age_s <= max_age_s:
            continue
        distance = distance_nm(lat_deg, lon_deg, vessel.lat_deg, vessel.lon_deg)
        if max_distance_nm is not None and distance > max_distance_nm:
            continue
        speed = vessel.speed_kn
        eta = distance / speed * 60.0 if speed is not None and speed >= 1.0 else None
        found.append(
            NearbyVessel(
                mmsi=vessel.mmsi,
                name=(vessel.name or "").strip() or None,
                ship_type=vessel.ship_type_text,
                vessel_class=vessel.vessel_class,
                lat_deg=vessel.lat_deg,
                lon_deg=vessel.lon_deg,
                distance_nm=distance,
                bearing_deg=bearing_deg(
                    lat_deg, lon_deg, vessel.lat_deg, vessel.lon_deg
                ),
                course_to_deg=bearing_deg(
                    vessel.lat_deg, vessel.lon_deg, lat_deg, lon_deg
                ),
                speed_kn=speed,
                eta_min=eta,
                age_s=age_s,
                callsign=vessel.callsign,
            )
        )
    found.sort(key=lambda v: (v.distance_nm, v.mmsi))
    return found[:limit]


# ---------------------------------------------------------------------------
# Search area from a drift estimate.


@dataclass(frozen=True, slots=True)
class DriftInput:
    """Wind and current as the operator entered them, and the estimate's terms.

    Attributes:
        wind_kn: Wind speed.
        wind_from_deg: Where the wind blows from (true).
        current_kn: Surface current speed.
        current_to_deg: Where the current flows to (true).
        leeway: Fraction of the wind speed a person or small wreck drifts
            downwind (3 %).
        position_error_nm: How far off the reported position may be.
        drift_error: Fraction of the drift distance added to the radius.
        unknown_drift_kn: Spread per hour for drift nobody measured.
    """

    wind_kn: float = 0.0
    wind_from_deg: float = 0.0
    current_kn: float = 0.0
    current_to_deg: float = 0.0
    leeway: float = 0.03
    position_error_nm: float = 1.0
    drift_error: float = 0.3
    unknown_drift_kn: float = 0.2

    def velocity_kn(self) -> tuple[float, float]:
        """Drift as (north, east) knots."""
        downwind = math.radians((self.wind_from_deg + 180.0) % 360.0)
        current = math.radians(self.current_to_deg % 360.0)
        leeway_kn = self.leeway * self.wind_kn
        north = leeway_kn * math.cos(downwind) + self.current_kn * math.cos(current)
        east = leeway_kn * math.sin(downwind) + self.current_kn * math.sin(current)
        return north, east


@dataclass(frozen=True, slots=True)
class SearchArea:
    """Where people in the water may be at one time: an estimate.

    Attributes:
        lat_deg: Centre.
        lon_deg: Centre.
        radius_nm: Radius.
        valid_at: The time it is for.
        hours: Hours since the incident.
        drift_kn: Drift speed used.
        drift_to_deg: Drift direction used (true).
        label: Says it is an estimate, for every display.
    """

    lat_deg: float
    lon_deg: float
    radius_nm: float
    valid_at: datetime
    hours: float
    drift_kn: float
    drift_to_deg: float
    label: str = "estimate (drift: 3% leeway of wind + current)"

    def as_detail(self) -> dict[str, Any]:
        """Plain JSON for the alert's ``detail``."""
        data = asdict(self)
        data["valid_at"] = self.valid_at.astimezone(UTC).isoformat()
        return data


def search_area(
    lat_deg: float,
    lon_deg: float,
    since: datetime,
    at: datetime,
    drift: DriftInput,
) -> SearchArea:
    """The estimated search area at ``at`` for people in the water since ``since``.

    See the module's description for the formula.
    """
    hours = max(0.0, (at - since).total_seconds() / 3600.0)
    north_kn, east_kn = drift.velocity_kn()
    centre = _offset(lat_deg, lon_deg, north_kn * hours, east_kn * hours)
    speed = math.hypot(north_kn, east_kn)
    drift_error = drift.drift_error * speed * hours + drift.unknown_drift_kn * hours
    radius = math.hypot(drift.position_error_nm, drift_error)
    direction = math.degrees(math.atan2(east_kn, north_kn)) % 360.0
    return SearchArea(
        lat_deg=centre[0],
        lon_deg=centre[1],
        radius_nm=radius,
        valid_at=at,
        hours=hours,
        drift_kn=speed,
        drift_to_deg=direction,
    )


# ---------------------------------------------------------------------------
# The incident as an alert.


def create_incident(
    lat_deg: float,
    lon_deg: float,
    *,
    time: datetime,
    people: int | None = None,
    people_in_water: bool = False,
    vessel_description: str = "",
    caller_notes: str = "",
    caller: str = "",
    operator: str = "112",
    position_text: str = "",
    drift: DriftInput | None = None,
    zones: ZoneSet | None = None,
    nearby: Sequence[NearbyVessel] = (),
    severity: Severity | None = None,
) -> Alert:
    """An ``incident`` alert for what a caller reported.

    Args:
        lat_deg: Where (parsed or clicked).
        lon_deg: Where.
        time: When it happened or was reported (UTC-aware).
        people: People involved, if known.
        people_in_water: People are in the water: a search area is added.
        vessel_description: The boat as the caller describes it.
        caller_notes: What else the caller said.
        caller: Who called (name, number), as the desk records it.
        operator: The call-taker, for the audit trail.
        position_text: The position as typed, kept as evidence.
        drift: Wind and current for the search area (people in the water).
        zones: To name the zone the incident lies in.
        nearby: Vessels of opportunity, summarised in the alert.
        severity: None for the kind's default (critical).

    Raises:
        IncidentError: A count or a time that cannot be right.
    """
    if time.tzinfo is None:
        raise IncidentError("time", time.isoformat(), "give a time zone (UTC or WIB)")
    if people is not None and people < 0:
        raise IncidentError("people", people, "a count of 0 or more")
    zone = None
    if zones is not None:
        here = zones.at(lon_deg, lat_deg)
        zone = here[0].name if here else None
    what = vessel_description.strip() or "vessel"
    count = f", {people} people" if people is not None else ""
    water = ", people in the water" if people_in_water else ""
    detail: dict[str, Any] = {
        "people": people,
        "people_in_water": people_in_water,
        "vessel_description": vessel_description.strip(),
        "caller_notes": caller_notes.strip(),
        "caller": caller.strip(),
        "position_text": position_text.strip(),
    }
    if people_in_water:
        drift = drift or DriftInput()
        detail["drift"] = asdict(drift)
        detail["search_area"] = search_area(
            lat_deg, lon_deg, time, time, drift
        ).as_detail()
    if nearby:
        detail["vessels_nearby"] = "; ".join(
            f"{v.name or v.mmsi} ({v.mmsi}) {v.distance_nm:.1f} nm "
            f"{v.bearing_deg:03.0f}°"
            + (f", {v.eta_min:.0f} min" if v.eta_min is not None else ", stopped")
            for v in nearby[:5]
        )
    summary = f"Incident reported by a caller: {what}{count}{water}"
    return Alert(
        id=f"incident-{uuid.uuid4()}",
        kind=AlertKind.INCIDENT,
        severity=severity or ALERT_SEVERITY[AlertKind.INCIDENT],
        time=time,
        lat_deg=lat_deg,
        lon_deg=lon_deg,
        zone=zone,
        station=None,
        summary=summary,
        evidence=[position_text] if position_text else [],
        updated=time,
        detail=detail,
        history=[
            {
                "time": time.astimezone(UTC).isoformat(),
                "actor": operator,
                "action": "opened",
                "note": "reported by a caller",
            }
        ],
    )


def record_incident(
    store: Store,
    alert: Alert,
    delivery: DeliveryConfig | None = None,
    zones: ZoneSet | None = None,
) -> list[Delivery]:
    """Store the incident and its messages to 112 in one transaction.

    Returns:
        The outbox rows stored with it (none without delivery).
    """
    rows: list[Delivery] = []
    if delivery is not None and delivery.active and isinstance(store, Outbox):
        sink = DeliverySink(
            store,
            destinations_of(delivery),
            delivery.cap_settings(),
            zone_polygons=zone_polygon_lookup(zones.zones) if zones else None,
        )
        rows = sink.messages_for(alert, True, "opened")
    store.write(Batch(alerts={alert.id: alert}, deliveries=rows))
    return rows


# ---------------------------------------------------------------------------
# The command line: pantaulaut incident add ...


def add_cli_commands(commands: Any) -> None:
    """Add ``incident add`` to the ``pantaulaut`` command's subparsers."""
    incident = commands.add_parser("incident", help="incidents reported by callers")
    actions = incident.add_subparsers(required=True, metavar="ACTION")
    add = actions.add_parser(
        "add", help="record an incident and list the nearest AIS vessels"
    )
    add.add_argument(
        "--position",
        required=True,
        help="as typed: -7.04,114.26 or 7°02.5'S 114°15.2'E (LS/BT accepted)",
    )
    add.add_argument("--time", help="ISO 8601 with offset (default: now)")
    add.add_argument("--people", type=int, help="people involved")
    add.add_argument("--in-water", action="store_true", help="people are in the water")
    add.add_argument("--vessel", default="", help="the boat as described")
    add.add_argument("--notes", default="", help="what the caller said")
    add.add_argument("--caller", default="", help="who called")
    add.add_argument("--operator", default="112", help="the call-taker")
    add.add_argument("--wind-kn", type=float, default=0.0)
    add.add_argument("--wind-from-deg", type=float, default=0.0)
    add.add_argument("--current-kn", type=float, default=0.0)
    add.add_argument("--current-to-deg", type=float, default=0.0)
    add.add_argument(
        "--position-error-nm",
        type=float,
        default=1.0,
        help="how far off the reported position may be (default 1 nm)",
    )
    add.add_argument("--config", type=Path, help="TOML configuration file")
    add.add_argument("--store", help="store URL (default: the configuration's)")
    add.add_argument(
        "--max-age-min",
        type=float,
        default=30.0,
        help="vessels heard within this many minutes (default 30)",
    )
    add.add_argument("--limit", type=int, default=10, help="vessels listed")
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(func=_incident_add)


def _parse_time(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise IncidentError(
            "time", text, "ISO 8601, e.g. 2026-06-17T08:00+07:00"
        ) from None
    if value.tzinfo is None:
        raise IncidentError("time", text, "add an offset, e.g. +07:00 for WIB")
    return value


def _incident_add(args: argparse.Namespace) -> int:
    from pantaulaut.config import load_config
    from pantaulaut.geofence.zones import load_zones
    from pantaulaut.store.base import open_store

    lat, lon = parse_position(args.position)
    when = _parse_time(args.time)
    config = load_config(args.config)
    zones = load_zones(config.zones.paths())
    store = open_store(args.store or config.store.url)
    try:
        seen_since = when - timedelta(minutes=args.max_age_min)
        candidates = store.vessels(seen_since=seen_since)
        nearby = nearest_vessels(
            candidates,
            lat,
            lon,
            now=when,
            max_age_s=args.max_age_min * 60.0,
            limit=args.limit,
        )
        drift = DriftInput(
            wind_kn=args.wind_kn,
            wind_from_deg=args.wind_from_deg,
            current_kn=args.current_kn,
            current_to_deg=args.current_to_deg,
            position_error_nm=args.position_error_nm,
        )
        alert = create_incident(
            lat,
            lon,
            time=when,
            people=args.people,
            people_in_water=args.in_water,
            vessel_description=args.vessel,
            caller_notes=args.notes,
            caller=args.caller,
            operator=args.operator,
            position_text=args.position,
            drift=drift,
            zones=zones,
            nearby=nearby,
        )
        rows = record_incident(store, alert, config.delivery, zones)
    finally:
        store.close()
    areas = (
        [
            search_area(lat, lon, when, when + timedelta(hours=h), drift)
            for h in (1, 2, 4)
        ]
        if args.in_water
        else []
    )
    if args.json:
        print(
            json.dumps(
                {
                    "incident": {
                        "id": alert.id,
                        "lat_deg": lat,
                        "lon_deg": lon,
                        "time": alert.time.isoformat(),
                        "zone": alert.zone,
                        "detail": alert.detail,
                    },
                    "vessels": [asdict(v) for v in nearby],
                    "search_areas": [a.as_detail() for a in areas],
                    "queued": [r.id for r in rows],
                },
                indent=2,
                default=str,
            )
        )
        return 0
    _print_incident(alert, nearby, areas, rows, args.max_age_min)
    return 0


def _print_incident(
    alert: Alert,
    nearby: Sequence[NearbyVessel],
    areas: Sequence[SearchArea],
    rows: Sequence[Delivery],
    max_age_min: float,
) -> None:
    out = sys.stdout
    assert alert.lat_deg is not None
    assert alert.lon_deg is not None
    local = alert.time.astimezone(WIB).strftime("%Y-%m-%d %H:%M WIB")
    print(f"incident {alert.id}", file=out)
    print(
        f"  at {format_position(alert.lat_deg, alert.lon_deg)} "
        f"({alert.lat_deg:.5f}, {alert.lon_deg:.5f}), {local}"
        + (f", {alert.zone}" if alert.zone else ""),
        file=out,
    )
    print(f"  {alert.summary}", file=out)
    for area in areas:
        print(
            f"  search area at +{area.hours:.0f} h ({area.label}): radius "
            f"{area.radius_nm:.1f} nm around "
            f"{format_position(area.lat_deg, area.lon_deg)}",
            file=out,
        )
    print(f"vessels of opportunity (AIS, heard within {max_age_min:g} min):", file=out)
    if not nearby:
        print("  none", file=out)
    header = (
        f"  {'#':>2}  {'name':<20} {'type':<14} {'MMSI':>9}  {'nm':>5}  "
        f"{'brg':>4}  {'steer':>5}  {'kn':>5}  {'reach':>8}  {'heard':>8}"
    )
    if nearby:
        print(header, file=out)
    for rank, v in enumerate(nearby, 1):
        reach = f"{v.eta_min:.0f} min" if v.eta_min is not None else "stopped"
        heard = f"{v.age_s / 60:.0f} min" if v.age_s is not None else "?"
        speed = f"{v.speed_kn:.1f}" if v.speed_kn is not None else "?"
        print(
            f"  {rank:>2}  {(v.name or '?')[:20]:<20} {(v.ship_type or '?')[:14]:<14} "
            f"{v.mmsi:>9}  {v.distance_nm:>5.1f}  {v.bearing_deg:>3.0f}°  "
            f"{v.course_to_deg:>4.0f}°  {speed:>5}  {reach:>8}  {heard:>8}",
            file=out,
        )
    if rows:
        where = ", ".join(sorted({r.destination for r in rows}))
        print(
            f"queued {len(rows)} message(s) for 112 ({where}); the service or "
            "`pantaulaut deliveries run` sends them",
            file=out,
        )
