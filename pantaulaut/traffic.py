"""Synthetic AIS traffic: plausible NMEA 0183 lines for demos and tests.

The generator moves planned vessels along their routes, reports them at the
intervals a real transponder would use and encodes every report with pyais's
encoder. Each sentence gets an NMEA 4.10 tag block naming the receiving
station (``s:``) and the receive time in unix seconds (``c:``), the way a
shore network such as the regency's receivers would log it.

Nothing here is real traffic: plans are invented by whoever writes them.

Units are in the names (``_kn``, ``_deg``, ``_nm``, ``_s``, ``_m``); every
datetime is UTC-aware. Positions move on a flat earth (one degree of latitude
is 60 nm, longitude shrinks with the cosine of latitude): close enough to a
great circle for invented routes of a few hundred nautical miles near the
equator.
"""

from __future__ import annotations

import gzip
import heapq
import io
import itertools
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pyais.encode import encode_dict

from pantaulaut.errors import PantaulautError

__all__ = [
    "Event",
    "PlanError",
    "SartActivation",
    "SartTest",
    "TrackPoint",
    "VesselPlan",
    "Waypoint",
    "format_tag_block",
    "generate",
    "position_fields",
    "report_interval_s",
    "static_fields",
    "static_interval_s",
    "tagged_lines",
    "track_point",
    "write_recording",
]

# The field dictionary pyais's encoder takes.
_Fields = dict[str, str | int | float | bytes | bool]

NM_PER_DEG_LAT = 60.0
M_PER_NM = 1852.0

# Navigational status codes used here (ITU-R M.1371-5, Annex 8, message 1).
NAV_AT_ANCHOR = 1
NAV_MOORED = 5
NAV_AIS_SART_ACTIVE = 14
NAV_UNDEFINED = 15

# Class A reporting intervals (ITU-R M.1371-5, Annex 1, Table 1). The shorter
# intervals while changing course are not modelled: legs are straight.
_CLASS_A_MOORED_S = 180.0
_CLASS_A_UP_TO_14_KN_S = 10.0
_CLASS_A_14_TO_23_KN_S = 6.0
_CLASS_A_OVER_23_KN_S = 2.0
# Class B "CS" reporting intervals (ITU-R M.1371-5, Annex 1, Table 2).
_CLASS_B_SLOW_S = 180.0
_CLASS_B_FAST_S = 30.0
# Static and voyage related data: every 6 min for both classes.
_STATIC_S = 360.0
# Class B sends part B of message 24 shortly after part A (within a minute).
_PART_B_DELAY_S = (1.0, 10.0)

# An AIS-SART transmits a burst of eight position reports (message 1, status
# 14) once a minute, alternating channels A and B, and message 14 with its
# text every 4 min. The spacing inside a burst is taken as 2 s (75 slots);
# receivers and the desk do not depend on it.
_SART_BURST_REPORTS = 8
_SART_BURST_SPACING_S = 2.0
_SART_BURST_PERIOD_S = 60.0
_SART_TEXT_PERIOD_S = 240.0

# Receiver noise: a few metres of GNSS scatter, a little COG and SOG jitter,
# and heading off the course by leeway and yaw.
_POSITION_NOISE_M = 4.0
_COURSE_NOISE_DEG = 0.8
_SPEED_NOISE_KN = 0.15
_HEADING_NOISE_DEG = 2.0

# Characters of six-bit ASCII (ITU-R M.1371-5, Annex 8): upper case only.
_SIXBIT_TEXT = frozenset(
    "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?"
)

# Longest message 14 text (5 slots; ITU-R M.1371-5, Annex 8, message 14).
_TEXT_14_MAX_CHARS = 161

# "Not available" values (ITU-R M.1371-5, Annex 8).
_HEADING_NOT_AVAILABLE = 511
_TURN_NOT_AVAILABLE = -128
# The communication state most class B "CS" units are received with.
_CLASS_B_CS_RADIO = 0b1100000000000000110


class PlanError(PantaulautError, ValueError):
    """A vessel plan or event cannot be turned into AIS traffic."""


@dataclass(frozen=True)
class Waypoint:
    """A point on a route, WGS84.

    Attributes:
        lat_deg: Latitude, south negative.
        lon_deg: Longitude, west negative.
    """

    lat_deg: float
    lon_deg: float

    def __post_init__(self) -> None:
        """Reject coordinates outside the globe."""
        if not -90.0 <= self.lat_deg <= 90.0 or not -180.0 <= self.lon_deg <= 180.0:
            msg = f"waypoint off the globe: {self.lat_deg}, {self.lon_deg}"
            raise PlanError(msg)


@dataclass(frozen=True)
class VesselPlan:
    """What one synthetic vessel does during a recording.

    Before ``start_s`` the vessel lies at ``route[0]`` with ``rest_status``;
    from then on it sails the legs at ``speed_kn``. At the last waypoint it
    rests again, or with ``loop`` it sails back to the first and goes round.

    Attributes:
        mmsi: Nine-digit MMSI; the first three digits are the flag's MID.
        name: Ship name, at most 20 characters of six-bit ASCII.
        callsign: Call sign, at most 7 characters.
        ship_type: Type of ship and cargo, 0-99 (ITU-R M.1371-5, Annex 8,
            message 5): 30 fishing, 40 high-speed craft, 60 passenger, ...
        vessel_class: "A" (messages 1 and 5) or "B" (messages 18 and 24).
        route: Waypoints, at least one.
        speed_kn: Speed through the water on every leg.
        start_s: Seconds after the recording's start when the vessel leaves
            ``route[0]``; negative means it left before the recording began.
        station: Identifier of the receiving station, for the ``s:`` tag.
        imo: IMO number, 0 when the vessel has none.
        destination: Destination for message 5, at most 20 characters.
        nav_status: Navigational status while under way (class A only).
        rest_status: Navigational status while resting (5 moored, 1 at anchor).
        loop: Sail back to ``route[0]`` after the last waypoint and repeat.
        stop_s: Seconds after the start when the transponder falls silent
            (a vessel that sinks or switches off); None for never.
        length_m: Length overall, for the reference-point dimensions.
        beam_m: Beam, for the reference-point dimensions.
        draught_m: Present draught for message 5.
        eta: Estimated time of arrival for message 5; None for not available.
    """

    mmsi: int
    name: str
    callsign: str
    ship_type: int
    vessel_class: Literal["A", "B"]
    route: tuple[Waypoint, ...]
    speed_kn: float
    start_s: float
    station: str
    imo: int = 0
    destination: str = ""
    nav_status: int = 0
    rest_status: int = NAV_MOORED
    loop: bool = False
    stop_s: float | None = None
    length_m: int = 20
    beam_m: int = 5
    draught_m: float = 1.5
    eta: datetime | None = None

    def __post_init__(self) -> None:
        """Reject plans a transponder could not transmit."""
        _check_mmsi(self.mmsi)
        if self.vessel_class not in ("A", "B"):
            msg = f"{self.mmsi}: vessel_class must be 'A' or 'B'"
            raise PlanError(msg)
        if not self.route:
            msg = f"{self.mmsi}: a route needs at least one waypoint"
            raise PlanError(msg)
        if self.speed_kn < 0.0 or self.speed_kn > 102.2:
            msg = f"{self.mmsi}: speed_kn {self.speed_kn} out of range"
            raise PlanError(msg)
        if not 0 <= self.ship_type <= 99:
            msg = f"{self.mmsi}: ship_type {self.ship_type} not 0-99"
            raise PlanError(msg)
        if not 0 <= self.nav_status <= 15 or not 0 <= self.rest_status <= 15:
            msg = f"{self.mmsi}: navigational status not 0-15"
            raise PlanError(msg)
        _check_text(self.mmsi, "name", self.name, 20)
        _check_text(self.mmsi, "callsign", self.callsign, 7)
        _check_text(self.mmsi, "destination", self.destination, 20)
        if self.eta is not None and self.eta.utcoffset() is None:
            msg = f"{self.mmsi}: eta must be timezone-aware"
            raise PlanError(msg)


@dataclass(frozen=True)
class SartActivation:
    """An AIS-SART switched on: bursts of position reports plus a text.

    A MOB device (972xxyyyy, text "MOB ACTIVE") or an EPIRB-AIS (974xxyyyy,
    "EPIRB ACTIVE") transmits the same way.

    Attributes:
        mmsi: The SART's MMSI, 970xxyyyy (xx manufacturer, yyyy serial).
        at_s: Seconds after the recording's start of the first burst.
        position: Where it was switched on.
        station: Receiving station for the ``s:`` tag.
        drift_kn: Drift speed with wind and current.
        drift_course_deg: Direction the SART drifts towards.
        duration_s: How long it transmits; None until the recording ends.
        text: Text of message 14.
    """

    mmsi: int
    at_s: float
    position: Waypoint
    station: str
    drift_kn: float = 0.0
    drift_course_deg: float = 0.0
    duration_s: float | None = None
    text: str = "SART ACTIVE"

    def __post_init__(self) -> None:
        """Reject a SART that is not a SART."""
        _check_sart_mmsi(self.mmsi)
        _check_text(self.mmsi, "text", self.text, _TEXT_14_MAX_CHARS)


@dataclass(frozen=True)
class SartTest:
    """An AIS-SART test: one burst with status 15 and a "SART TEST" text.

    Attributes:
        mmsi: The SART's MMSI, 970xxyyyy.
        at_s: Seconds after the recording's start of the burst.
        position: Where the test is made.
        station: Receiving station for the ``s:`` tag.
        text: Text of message 14.
    """

    mmsi: int
    at_s: float
    position: Waypoint
    station: str
    text: str = "SART TEST"

    def __post_init__(self) -> None:
        """Reject a SART that is not a SART."""
        _check_sart_mmsi(self.mmsi)
        _check_text(self.mmsi, "text", self.text, _TEXT_14_MAX_CHARS)


Event = SartActivation | SartTest


@dataclass(frozen=True)
class TrackPoint:
    """Where a plan puts its vessel at one moment, before any noise.

    Attributes:
        lat_deg: Latitude.
        lon_deg: Longitude.
        course_deg: Bearing of the current leg (or of the last one sailed).
        speed_kn: Planned speed, 0 when resting.
        under_way: False while waiting at the first or last waypoint.
    """

    lat_deg: float
    lon_deg: float
    course_deg: float
    speed_kn: float
    under_way: bool


@dataclass(frozen=True)
class _Leg:
    start: Waypoint
    end: Waypoint
    length_nm: float
    bearing_deg: float


@dataclass(frozen=True)
class _Transmission:
    """One AIS message as received: when, by whom, on which channel."""

    t_s: float
    order: int
    station: str
    channel: str
    fields: _Fields


def _check_mmsi(mmsi: int) -> None:
    if not 100_000_000 <= mmsi <= 999_999_999:
        msg = f"MMSI {mmsi} is not nine digits"
        raise PlanError(msg)


def _check_sart_mmsi(mmsi: int) -> None:
    # AIS-SART identities are 970xxyyyy, MOB devices 972xxyyyy and EPIRB-AIS
    # 974xxyyyy (ITU-R M.585); all three transmit the same way.
    _check_mmsi(mmsi)
    if mmsi // 1_000_000 not in (970, 972, 974):
        msg = f"SART MMSI {mmsi} does not start with 970, 972 or 974"
        raise PlanError(msg)


def _check_text(mmsi: int, what: str, text: str, limit: int) -> None:
    if len(text) > limit:
        msg = f"{mmsi}: {what} {text!r} longer than {limit} characters"
        raise PlanError(msg)
    if not set(text) <= _SIXBIT_TEXT:
        msg = f"{mmsi}: {what} {text!r} is not six-bit ASCII (upper case)"
        raise PlanError(msg)


def _offset_nm(a: Waypoint, b: Waypoint) -> tuple[float, float]:
    """North and east distance from ``a`` to ``b`` on a local flat earth."""
    mid_lat = math.radians((a.lat_deg + b.lat_deg) / 2.0)
    north = (b.lat_deg - a.lat_deg) * NM_PER_DEG_LAT
    east = (b.lon_deg - a.lon_deg) * NM_PER_DEG_LAT * math.cos(mid_lat)
    return north, east


def _move(point: Waypoint, distance_nm: float, course_deg: float) -> Waypoint:
    """The point ``distance_nm`` away from ``point`` towards ``course_deg``."""
    course = math.radians(course_deg)
    north = distance_nm * math.cos(course)
    east = distance_nm * math.sin(course)
    lat = point.lat_deg + north / NM_PER_DEG_LAT
    cos_lat = math.cos(math.radians((lat + point.lat_deg) / 2.0))
    return Waypoint(lat, point.lon_deg + east / (NM_PER_DEG_LAT * cos_lat))


def _legs(plan: VesselPlan) -> list[_Leg]:
    points = list(plan.route)
    if plan.loop and len(points) > 1:
        points.append(points[0])
    legs = []
    for start, end in itertools.pairwise(points):
        north, east = _offset_nm(start, end)
        bearing = math.degrees(math.atan2(east, north)) % 360.0
        legs.append(_Leg(start, end, math.hypot(north, east), bearing))
    return [leg for leg in legs if leg.length_nm > 0.0]


def track_point(plan: VesselPlan, elapsed_s: float) -> TrackPoint:
    """Position, course and speed the plan gives at one moment, without noise.

    Args:
        plan: The vessel's plan.
        elapsed_s: Seconds since the recording's start.

    Returns:
        The planned state at that moment.
    """
    legs = _legs(plan)
    first = plan.route[0]
    travel_s = elapsed_s - plan.start_s
    if not legs or plan.speed_kn <= 0.0 or travel_s < 0.0:
        course = legs[0].bearing_deg if legs else 0.0
        return TrackPoint(first.lat_deg, first.lon_deg, course, 0.0, False)
    total_nm = sum(leg.length_nm for leg in legs)
    sailed_nm = plan.speed_kn * travel_s / 3600.0
    if plan.loop:
        sailed_nm %= total_nm
    elif sailed_nm >= total_nm:
        last = legs[-1]
        return TrackPoint(
            last.end.lat_deg, last.end.lon_deg, last.bearing_deg, 0.0, False
        )
    for leg in legs:
        if sailed_nm <= leg.length_nm:
            share = sailed_nm / leg.length_nm
            lat = leg.start.lat_deg + share * (leg.end.lat_deg - leg.start.lat_deg)
            lon = leg.start.lon_deg + share * (leg.end.lon_deg - leg.start.lon_deg)
            return TrackPoint(lat, lon, leg.bearing_deg, plan.speed_kn, True)
        sailed_nm -= leg.length_nm
    last = legs[-1]  # only reached through rounding at the very end of a loop
    return TrackPoint(
        last.end.lat_deg, last.end.lon_deg, last.bearing_deg, plan.speed_kn, True
    )


def report_interval_s(
    vessel_class: Literal["A", "B"], speed_kn: float, nav_status: int = 0
) -> float:
    """Nominal interval between position reports.

    Class A follows ITU-R M.1371-5, Annex 1, Table 1: 3 min at anchor or
    moored and not faster than 3 kn, else 10 s up to 14 kn, 6 s up to 23 kn
    and 2 s above. Class B "CS" (Table 2): 3 min up to 2 kn, else 30 s.

    Args:
        vessel_class: "A" or "B".
        speed_kn: Speed over ground.
        nav_status: Navigational status (class A only).

    Returns:
        Seconds between two position reports.
    """
    if vessel_class == "B":
        return _CLASS_B_SLOW_S if speed_kn <= 2.0 else _CLASS_B_FAST_S
    if nav_status in (NAV_AT_ANCHOR, NAV_MOORED) and speed_kn <= 3.0:
        return _CLASS_A_MOORED_S
    if speed_kn <= 14.0:
        return _CLASS_A_UP_TO_14_KN_S
    if speed_kn <= 23.0:
        return _CLASS_A_14_TO_23_KN_S
    return _CLASS_A_OVER_23_KN_S


def static_interval_s() -> float:
    """Interval between static data reports (message 5 or 24), 6 min."""
    return _STATIC_S


def _checksum(text: str) -> int:
    value = 0
    for char in text.encode("ascii"):
        value ^= char
    return value


def format_tag_block(
    station: str, unix_s: int, group: tuple[int, int, int] | None = None
) -> str:
    """An NMEA 4.10 tag block with source station, receive time and group.

    Args:
        station: Receiving station, the ``s:`` field.
        unix_s: Receive time in whole unix seconds, the ``c:`` field.
        group: (sentence number, sentence count, group id) for the ``g:``
            field of a multi-sentence message; None for a single sentence.

    Returns:
        The block, backslashes included, checksum as two uppercase hex digits.
    """
    body = f"s:{station},c:{unix_s}"
    if group is not None:
        body += f",g:{group[0]}-{group[1]}-{group[2]}"
    return f"\\{body}*{_checksum(body):02X}\\"


def _noisy_report(
    point: TrackPoint, rng: random.Random, heading_deg: float
) -> tuple[Waypoint, float, float, int]:
    """Position, SOG, COG and heading as a transponder would report them."""
    scatter_nm = abs(rng.gauss(0.0, _POSITION_NOISE_M)) / M_PER_NM
    position = _move(
        Waypoint(point.lat_deg, point.lon_deg), scatter_nm, rng.uniform(0.0, 360.0)
    )
    speed = max(0.0, point.speed_kn + rng.gauss(0.0, _SPEED_NOISE_KN))
    if not point.under_way:
        speed = round(abs(rng.gauss(0.0, 0.05)), 1)
    course = (point.course_deg + rng.gauss(0.0, _COURSE_NOISE_DEG)) % 360.0
    heading = round(heading_deg + rng.gauss(0.0, _HEADING_NOISE_DEG)) % 360
    return position, round(speed, 1), round(course, 1) % 360.0, heading


def _position_fields(
    plan: VesselPlan,
    point: TrackPoint,
    rng: random.Random,
    utc_second: int,
    heading_deg: float,
) -> _Fields:
    position, speed, course, heading = _noisy_report(point, rng, heading_deg)
    common: _Fields = {
        "mmsi": plan.mmsi,
        "speed": speed,
        "accuracy": False,
        "lon": round(position.lon_deg, 6),
        "lat": round(position.lat_deg, 6),
        "course": course,
        "heading": heading,
        "second": utc_second,
        "raim": False,
    }
    if plan.vessel_class == "A":
        # Message 1 (ITU-R M.1371-5, Annex 8): status, ROT 0 on straight legs.
        status = plan.nav_status if point.under_way else plan.rest_status
        return {"type": 1, "status": status, "turn": 0.0, **common}
    # Message 18: a class B "CS" unit with display, DSC, whole band and
    # message 22 handling, as most fitted fishing-boat transponders report.
    return {
        "type": 18,
        **common,
        "cs": True,
        "display": False,
        "dsc": True,
        "band": True,
        "msg22": True,
        "assigned": False,
        "radio": _CLASS_B_CS_RADIO,
    }


def _dimensions(plan: VesselPlan) -> _Fields:
    # Reference point for the reported position: the GNSS antenna, taken a
    # third of the length from the stern, on the centre line.
    to_stern = max(1, plan.length_m // 3)
    to_port = max(1, plan.beam_m // 2)
    return {
        "to_bow": min(511, plan.length_m - to_stern),
        "to_stern": min(511, to_stern),
        "to_port": min(63, to_port),
        "to_starboard": min(63, max(1, plan.beam_m - to_port)),
    }


def _eta_fields(eta: datetime | None) -> _Fields:
    if eta is None:
        # Not available: month 0, day 0, hour 24, minute 60 (Annex 8, msg 5).
        return {"month": 0, "day": 0, "hour": 24, "minute": 60}
    eta = eta.astimezone(UTC)
    return {"month": eta.month, "day": eta.day, "hour": eta.hour, "minute": eta.minute}


def _static_fields(plan: VesselPlan) -> list[_Fields]:
    if plan.vessel_class == "A":
        # Message 5 (ITU-R M.1371-5, Annex 8); AIS version 2 = M.1371-5,
        # EPFD 1 = GPS.
        return [
            {
                "type": 5,
                "mmsi": plan.mmsi,
                "ais_version": 2,
                "imo": plan.imo,
                "callsign": plan.callsign,
                "shipname": plan.name,
                "ship_type": plan.ship_type,
                **_dimensions(plan),
                "epfd": 1,
                **_eta_fields(plan.eta),
                "draught": round(min(plan.draught_m, 25.5), 1),
                "destination": plan.destination,
                "dte": False,
            }
        ]
    # Message 24 part A (name) and part B (type, call sign, dimensions).
    return [
        {"type": 24, "mmsi": plan.mmsi, "partno": 0, "shipname": plan.name},
        {
            "type": 24,
            "mmsi": plan.mmsi,
            "partno": 1,
            "ship_type": plan.ship_type,
            "callsign": plan.callsign,
            **_dimensions(plan),
        },
    ]


def _utc_second(start: datetime, t_s: float) -> int:
    return (start + timedelta(seconds=t_s)).second


def _end_s(plan: VesselPlan, duration_s: float) -> float:
    return duration_s if plan.stop_s is None else min(duration_s, plan.stop_s)


def _position_source(
    plan: VesselPlan,
    order: int,
    start: datetime,
    duration_s: float,
    seed: int,
    scale: float,
) -> Iterator[_Transmission]:
    rng = random.Random(f"{seed}/{plan.mmsi}/position")
    end_s = _end_s(plan, duration_s)
    first = track_point(plan, 0.0)
    status = plan.nav_status if first.under_way else plan.rest_status
    interval = report_interval_s(plan.vessel_class, first.speed_kn, status) * scale
    t_s = rng.uniform(0.0, interval)  # a random slot phase per transponder
    channel = rng.choice("AB")
    # A vessel that never moves still lies to some heading of its own.
    swing_deg = rng.uniform(0.0, 360.0) if not _legs(plan) else 0.0
    while t_s < end_s:
        point = track_point(plan, t_s)
        heading = point.course_deg + swing_deg
        fields = _position_fields(plan, point, rng, _utc_second(start, t_s), heading)
        yield _Transmission(t_s, order, plan.station, channel, fields)
        # SOTDMA alternates channels A and B from one report to the next.
        channel = "B" if channel == "A" else "A"
        status = plan.nav_status if point.under_way else plan.rest_status
        interval = report_interval_s(plan.vessel_class, point.speed_kn, status)
        next_s = t_s + interval * scale
        if not point.under_way and t_s < plan.start_s < next_s:
            # Leaving the berth changes status and speed: report at once.
            next_s = plan.start_s
        t_s = next_s


def _static_source(
    plan: VesselPlan,
    order: int,
    duration_s: float,
    seed: int,
    scale: float,
) -> Iterator[_Transmission]:
    rng = random.Random(f"{seed}/{plan.mmsi}/static")
    end_s = _end_s(plan, duration_s)
    interval = _STATIC_S * scale
    t_s = rng.uniform(0.0, interval)
    while t_s < end_s:
        offset = 0.0
        for fields in _static_fields(plan):
            if offset < end_s - t_s:
                channel = rng.choice("AB")
                yield _Transmission(t_s + offset, order, plan.station, channel, fields)
            offset += rng.uniform(*_PART_B_DELAY_S)
        t_s += interval


def _sart_position(event: SartActivation | SartTest, t_s: float) -> Waypoint:
    if isinstance(event, SartTest) or event.drift_kn <= 0.0:
        return event.position
    drifted_nm = event.drift_kn * (t_s - event.at_s) / 3600.0
    return _move(event.position, drifted_nm, event.drift_course_deg)


def _sart_report(
    event: SartActivation | SartTest,
    t_s: float,
    start: datetime,
    rng: random.Random,
) -> _Fields:
    active = isinstance(event, SartActivation)
    position = _sart_position(event, t_s)
    drift_kn = event.drift_kn if isinstance(event, SartActivation) else 0.0
    drift_course = event.drift_course_deg if isinstance(event, SartActivation) else 0.0
    scatter_nm = abs(rng.gauss(0.0, _POSITION_NOISE_M)) / M_PER_NM
    position = _move(position, scatter_nm, rng.uniform(0.0, 360.0))
    # Message 1 from an AIS-SART: status 14 when active, 15 in test mode;
    # no heading sensor, no rate of turn (ITU-R M.1371-5, Annex 8, msg 1).
    return {
        "type": 1,
        "mmsi": event.mmsi,
        "status": NAV_AIS_SART_ACTIVE if active else NAV_UNDEFINED,
        "turn": _TURN_NOT_AVAILABLE,
        "speed": round(max(0.0, drift_kn + rng.gauss(0.0, 0.1)), 1),
        "accuracy": False,
        "lon": round(position.lon_deg, 6),
        "lat": round(position.lat_deg, 6),
        "course": round((drift_course + rng.gauss(0.0, 5.0)) % 360.0, 1) % 360.0,
        "heading": _HEADING_NOT_AVAILABLE,
        "second": _utc_second(start, t_s),
        "raim": False,
    }


def _sart_source(
    event: SartActivation | SartTest,
    order: int,
    start: datetime,
    duration_s: float,
    seed: int,
) -> Iterator[_Transmission]:
    rng = random.Random(f"{seed}/{event.mmsi}/sart")
    end_s = duration_s
    if isinstance(event, SartTest):
        end_s = min(duration_s, event.at_s + _SART_BURST_PERIOD_S)
    elif event.duration_s is not None:
        end_s = min(duration_s, event.at_s + event.duration_s)
    burst_s = event.at_s
    next_text_s = event.at_s
    while burst_s < end_s:
        for index in range(_SART_BURST_REPORTS):
            t_s = burst_s + index * _SART_BURST_SPACING_S
            if 0.0 <= t_s < end_s:
                fields = _sart_report(event, t_s, start, rng)
                channel = "AB"[index % 2]
                yield _Transmission(t_s, order, event.station, channel, fields)
            if index == 0 and burst_s >= next_text_s:
                # Message 14 right after the first report of the burst.
                text_s = t_s + _SART_BURST_SPACING_S / 2.0
                if 0.0 <= text_s < end_s:
                    text: _Fields = {"type": 14, "mmsi": event.mmsi, "text": event.text}
                    yield _Transmission(text_s, order, event.station, "A", text)
                next_text_s = burst_s + _SART_TEXT_PERIOD_S
        burst_s += _SART_BURST_PERIOD_S


def position_fields(
    plan: VesselPlan,
    point: TrackPoint,
    rng: random.Random,
    when: datetime,
    heading_deg: float,
) -> dict[str, str | int | float | bytes | bool]:
    """Fields of one noisy position report (message 1 or 18) for pyais.

    Args:
        plan: The vessel: identity, class and navigational statuses.
        point: Where the vessel is and how it moves, before noise.
        rng: Source of the receiver noise.
        when: The time of the report (its UTC second goes in the message).
        heading_deg: The true heading, before noise.
    """
    return _position_fields(plan, point, rng, when.second, heading_deg)


def static_fields(
    plan: VesselPlan,
) -> list[dict[str, str | int | float | bytes | bool]]:
    """Fields of the static report of a plan: message 5, or 24 parts A and B."""
    return _static_fields(plan)


def tagged_lines(
    fields: dict[str, str | int | float | bytes | bool],
    station: str,
    when: datetime,
    channel: str,
    message_id: int,
) -> list[str]:
    """Encode one message as tagged NMEA lines, one per fragment.

    Args:
        fields: Message fields for pyais's encoder.
        station: Receiving station, for the ``s:`` tag.
        when: Receive time (UTC-aware), for the ``c:`` tag.
        channel: "A" or "B".
        message_id: Running number; its last digit is the sequence id.
    """
    tx = _Transmission(0.0, 0, station, channel, fields)
    return _format(tx, when, message_id)[1]


def _format(
    tx: _Transmission, start: datetime, message_id: int
) -> tuple[datetime, list[str]]:
    """Encode one transmission into tagged lines, one per fragment."""
    when = start + timedelta(seconds=tx.t_s)
    unix_s = math.floor(when.timestamp())
    sentences = encode_dict(
        tx.fields,
        talker_id="AI",
        sentence_type="VDM",
        radio_channel=tx.channel,
        seq_id=message_id % 10,
    )
    if len(sentences) == 1:
        return when, [format_tag_block(tx.station, unix_s) + sentences[0]]
    count = len(sentences)
    return when, [
        format_tag_block(tx.station, unix_s, (number, count, message_id)) + sentence
        for number, sentence in enumerate(sentences, start=1)
    ]


def generate(
    plans: Iterable[VesselPlan],
    events: Iterable[Event],
    start: datetime,
    duration_s: float,
    seed: int,
    *,
    interval_scale: float = 1.0,
) -> Iterator[tuple[datetime, str]]:
    """Tagged AIS sentences for the planned vessels and events, in time order.

    Args:
        plans: Vessels; their MMSIs should be distinct.
        events: SART activations and tests.
        start: UTC-aware time of the recording's first second.
        duration_s: Length of the recording.
        seed: The same seed gives the same lines.
        interval_scale: Factor on every vessel's reporting and static data
            interval; 1.0 keeps ITU-R M.1371-5 intervals, larger values thin
            the traffic out for cheap tests. SART bursts are never scaled.

    Yields:
        (receive time, line) with the tag block in front of the sentence;
        multi-sentence messages yield one line per fragment, each with its
        own tag block and a ``g:`` group.

    Raises:
        PlanError: When ``start`` is naive or a duration or scale is not
            positive.
    """
    if start.utcoffset() is None:
        raise PlanError("start must be timezone-aware (UTC)")
    if duration_s <= 0.0 or interval_scale <= 0.0:
        raise PlanError("duration_s and interval_scale must be positive")
    start = start.astimezone(UTC)
    sources: list[Iterator[_Transmission]] = []
    for order, plan in enumerate(plans):
        sources.append(
            _position_source(plan, 2 * order, start, duration_s, seed, interval_scale)
        )
        sources.append(
            _static_source(plan, 2 * order + 1, duration_s, seed, interval_scale)
        )
    offset = len(sources)
    for index, event in enumerate(events):
        sources.append(_sart_source(event, offset + index, start, duration_s, seed))
    merged = heapq.merge(*sources, key=lambda tx: (tx.t_s, tx.order))
    for message_id, tx in enumerate(merged, start=1):
        when, lines = _format(tx, start, message_id)
        for line in lines:
            yield when, line


def write_recording(path: Path, lines: Iterable[tuple[datetime, str]]) -> int:
    """Write generated lines to a file, gzip-compressed when it ends in ``.gz``.

    The gzip header carries no name and no time, so the same lines always
    give the same bytes.

    Args:
        path: Where to write; parent folders must exist.
        lines: (time, line) pairs as :func:`generate` yields them.

    Returns:
        How many lines were written.
    """
    count = 0
    with path.open("wb") as raw:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9
            ) as packed:
                count = _write_lines(packed, lines)
        else:
            count = _write_lines(raw, lines)
    return count


def _write_lines(
    out: io.BufferedIOBase,
    lines: Iterable[tuple[datetime, str]],
) -> int:
    count = 0
    for _when, line in lines:
        out.write(line.encode("ascii") + b"\n")
        count += 1
    return count
