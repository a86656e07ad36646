"""Scenarios: synthetic traffic with injected events, and the alerts that must follow.

A scenario is a TOML file (``data/scenarios/*.toml``): stations, vessels on
routes between the regency's ports, events at given times, and the alerts
that must (``[[expect]]``), may (``[[allow]]``) and must not (``[[forbid]]``)
follow. :func:`simulate` turns it into tagged NMEA lines (pyais's encoder,
through :mod:`pantaulaut.traffic`) and :func:`ground_truth` into a JSON-ready
list of expected alerts with the time each became observable in the data.

Vessels move on a flat earth in straight segments: legs between waypoints
at the planned speed, holds at waypoints, and the segments events make
(slowing to a stop, drifting beam-on to the wind, resuming the route).
Transponders report at the ITU-R M.1371-5 intervals of their class, speed
and status (:func:`pantaulaut.traffic.report_interval_s`), static data every
6 min, each report heard by each of the vessel's stations unless the station
loses it (``loss``) or is in an outage.

Events (``[[events]]``, ``kind`` and ``at_s``, seconds after ``start``):

``stop``            slows to a stop within ``decel_s`` (default 10 s) and
                    stays stopped (grounding, collision, engine seized);
                    ``status`` sets a navigational status at once.
``engine_failure``  slows to ``drift_kn`` over ``decel_s`` (default 120 s)
                    and drifts toward ``drift_course_deg`` with the bow
                    ``heading_offset_deg`` (default 90) off the drift.
``capsize``         the transponder falls silent, after ``stopped_s`` of
                    reports stopped (default 0: at once).
``resume``          sails on from where it is to the rest of its route.
``status``          navigational status ``status`` from then on.
``jump``            ``reports`` position reports (default 1) displaced by
                    ``offset_nm`` toward ``bearing_deg`` (spoofing, GNSS).
``text``            a safety text ``text`` (message 14, or 12 with
                    ``to_mmsi``), sent ``repeat`` times (default 3) 30 s
                    apart.
``beacon``          a SART, MOB or EPIRB-AIS ``mmsi`` switched on where the
                    vessel is (or at ``position``), drifting ``drift_kn``;
                    ``test = true`` for a test.
``outage``          station ``station`` stops sending for ``duration_s``.

Positions may be named: the regency's harbours (their zone centres), a few
sea marks, and routes may follow a ferry lane's centreline (``lane``).
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import math
import random
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from pantaulaut.alerts.geo import (
    cpa_tcpa,
    dead_reckon,
    distance_nm,
    offset_nm,
    velocity_kn,
)
from pantaulaut.alerts.settings import DetectorSettings, nominal_interval_s
from pantaulaut.geofence.zones import ZoneSet, load_zones
from pantaulaut.ingest.stream import AisStream
from pantaulaut.model import AlertKind
from pantaulaut.traffic import (
    PlanError,
    SartActivation,
    SartTest,
    TrackPoint,
    VesselPlan,
    Waypoint,
    generate,
    position_fields,
    report_interval_s,
    static_fields,
    static_interval_s,
    tagged_lines,
    write_recording,
)

__all__ = [
    "Expectation",
    "Rule",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "ground_truth",
    "load_scenario",
    "simulate",
    "write_simulation",
]

log = logging.getLogger(__name__)

# Sea marks used by the shipped scenarios, WGS84 (lat, lon). Approximate,
# checked to lie at sea against data/land.geojson (tests/test_scenarios.py).
SEA_MARKS: dict[str, tuple[float, float]] = {
    # Between Sapudi and Gili Iyang, where KM Arim Jaya capsized (domain.md
    # 3.6); Gili Iyang lies at about -6.99, 114.17.
    "sapudi-gili-iyang": (-7.02, 114.22),
    # KM Berhasil II broke up here, 14 Feb 2021 (domain.md 3.6, antaranews).
    "berhasil-ii": (-7.298978, 113.732095),
    # West of the Sapeken islands, on the way to Kangean's Tanjung Kiaok.
    "saredeng-west": (-7.04, 115.50),
    # Off Pagerungan Besar, where passengers change boats at sea.
    "pagerungan-roads": (-6.985, 115.90),
    # North-east of Masalembu.
    "masalembu-ne": (-5.42, 114.60),
}
_NAV_UNDER_WAY = 0
_NAV_AT_ANCHOR = 1
_NAV_MOORED = 5
_ARRIVED_NM = 0.005
_KEEP_RIGHT_NM = 0.15  # lane followers keep this far to starboard
# A distress call is repeated (MAYDAY is said three times); the text is sent
# three times 30 s apart unless the event says otherwise.
_TEXT_REPEATS = 3
_TEXT_REPEAT_S = 30.0
_ARRIVAL_S = 120.0
_DEFAULT_WITHIN_S = 900.0
_BEACON_TEXT = {970: "SART", 972: "MOB", 974: "EPIRB"}
# The sustained part of a definition: a sudden stop is over 60 s (DMA), a
# drift over 10 min (DMA), an encounter over 2 h (GFW); a silence is told
# from reception loss after ~3 reporting periods (domain.md 2.4).
_STOP_HELD_S = 60.0
_DRIFT_HELD_S = 600.0
_DRIFT_HELD_M = 500.0
_M_PER_NM = 1852.0
_ENCOUNTER_HELD_S = 7200.0
_GAP_PERIODS = 3.0


class ScenarioError(PlanError):
    """A scenario file cannot be read or makes no sense."""


@dataclass(frozen=True, slots=True)
class StationSpec:
    """A receiving station.

    Attributes:
        name: Its identifier (the ``s:`` tag).
        loss: Share of reports it misses even close by.
        lat_deg: Where it stands; None for a station that hears everywhere.
        lon_deg: Where it stands.
        range_nm: How far it hears; reception fades from 75 % of the range
            to nothing at the range, as VHF does over the horizon.
    """

    name: str
    loss: float = 0.02
    lat_deg: float | None = None
    lon_deg: float | None = None
    range_nm: float = 30.0

    def hears(self, lat_deg: float, lon_deg: float) -> float:
        """Chance that one report from here is received."""
        if self.lat_deg is None or self.lon_deg is None:
            return 1.0 - self.loss
        away_nm = distance_nm(self.lat_deg, self.lon_deg, lat_deg, lon_deg)
        fade = (self.range_nm - away_nm) / (0.25 * self.range_nm)
        return (1.0 - self.loss) * min(1.0, max(0.0, fade))


@dataclass(frozen=True, slots=True)
class RoutePoint:
    """A waypoint, with how long the vessel waits there (a transfer, a stop)."""

    lat_deg: float
    lon_deg: float
    hold_s: float = 0.0


@dataclass(frozen=True)
class SimVessel:
    """One vessel of a scenario.

    Attributes:
        plan: Identity, class, type, dimensions and statuses (its route and
            speed are the simulator's, below).
        route: Waypoints.
        speed_kn: Speed on the legs.
        start_s: When it leaves the first waypoint.
        stations: Stations that hear it.
        heading: False for a transponder with no compass (heading 511).
    """

    plan: VesselPlan
    route: tuple[RoutePoint, ...]
    speed_kn: float
    start_s: float
    stations: tuple[str, ...]
    heading: bool = True


@dataclass(frozen=True)
class SimEvent:
    """Something that happens at ``at_s``; ``params`` as in the file."""

    kind: str
    at_s: float
    mmsi: int | None
    params: dict[str, Any]


@dataclass(frozen=True)
class Expectation:
    """An alert that must follow.

    Attributes:
        kind: The alert kind.
        mmsi: The vessel (None for a station alert).
        other_mmsi: The other vessel of a pair.
        station: The station, for ``station_down``.
        after_s: The event it follows (seconds after start); the alert may
            not come before it.
        observable_s: When the data first shows it; None to work it out.
        within_s: It must come this soon after it is observable.
        resolved_by_s: If set, the alert must be resolved by then.
        note: Why.
    """

    kind: AlertKind
    mmsi: int | None
    other_mmsi: int | None = None
    station: str | None = None
    after_s: float = 0.0
    observable_s: float | None = None
    within_s: float = _DEFAULT_WITHIN_S
    resolved_by_s: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Rule:
    """An alert that may (allow) or must not (forbid) follow.

    ``kind`` "*" matches every kind; None fields match anything.
    """

    kind: str
    mmsi: int | None = None
    other_mmsi: int | None = None
    from_s: float | None = None
    until_s: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    """A scenario as read from its file."""

    name: str
    title: str
    source: str
    start: datetime
    duration_s: float
    seed: int
    stations: tuple[StationSpec, ...]
    vessels: tuple[SimVessel, ...]
    events: tuple[SimEvent, ...]
    expect: tuple[Expectation, ...]
    allow: tuple[Rule, ...]
    forbid: tuple[Rule, ...]
    path: Path | None = None


@dataclass(slots=True)
class _Report:
    t_s: float
    lat_deg: float
    lon_deg: float
    speed_kn: float
    course_deg: float
    heading_deg: int | None
    status: int | None
    heard: bool


@dataclass
class Simulation:
    """What :func:`simulate` made: the lines and the facts behind them.

    Attributes:
        lines: (receive time, tagged line), in time order.
        reports: Per vessel, every position report sent (heard or not).
        first_heard_s: Per MMSI, the first time any message was received.
        silent_from_s: Per vessel, when its transponder fell silent.
        texts_s: Per MMSI, times of safety texts sent.
        beacons_s: Per beacon MMSI, the first message time.
        jumps_s: Per vessel, times of displaced reports heard.
        outages: Per station, (from, until) in seconds.
        tracks: Per vessel, its motion (for pair ground truth).
    """

    lines: list[tuple[datetime, str]] = field(default_factory=list)
    reports: dict[int, list[_Report]] = field(default_factory=dict)
    first_heard_s: dict[int, float] = field(default_factory=dict)
    silent_from_s: dict[int, float] = field(default_factory=dict)
    texts_s: dict[int, list[float]] = field(default_factory=dict)
    beacons_s: dict[int, float] = field(default_factory=dict)
    jumps_s: dict[int, list[float]] = field(default_factory=dict)
    outages: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    tracks: dict[int, _Track] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Reading a scenario


def load_scenario(path: Path, zones: ZoneSet | None = None) -> Scenario:
    """Read and check a scenario file.

    Raises:
        ScenarioError: The file is unreadable or a value makes no sense; the
            message names the table and key.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read scenario {str(path)!r}: {exc}"
        raise ScenarioError(msg) from exc
    missing = [key for key in _SCENARIO_KEYS if key not in data]
    if missing:
        msg = (
            f"scenario {path.name}: no {missing[0]!r} key: is this a scenario "
            "file? (a scenario has start, duration_s and [[vessels]])"
        )
        raise ScenarioError(msg)
    places = _Places(zones if zones is not None else load_zones())
    try:
        return _scenario(data, places, path)
    except ScenarioError as exc:
        if str(exc).startswith(f"scenario {path.name}:"):
            raise
        raise ScenarioError(f"scenario {path.name}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, KeyError):
            problem = f"a table lacks the key {exc.args[0]!r}"
        else:
            problem = f"a value has the wrong type or form ({exc})"
        msg = f"scenario {path.name}: {problem}"
        raise ScenarioError(msg) from exc


# The keys without which a file is no scenario.
_SCENARIO_KEYS = ("start", "duration_s", "vessels")
_T = TypeVar("_T")


class _Places:
    """Named positions: harbours and lanes of the zones, and sea marks."""

    def __init__(self, zones: ZoneSet) -> None:
        self.points: dict[str, tuple[float, float]] = dict(SEA_MARKS)
        self.lanes: dict[str, list[tuple[float, float]]] = {}
        for zone in zones.zones:
            props = zone.properties
            if zone.kind == "harbour" and "centre_deg" in props:
                lon, lat = props["centre_deg"]
                self.points[zone.id.removeprefix("harbour-")] = (lat, lon)
            if zone.kind == "lane" and "centreline_deg" in props:
                line = [(lat, lon) for lon, lat in props["centreline_deg"]]
                self.lanes[zone.id.removeprefix("lane-")] = line

    def point(self, value: Any) -> tuple[float, float]:
        if isinstance(value, str):
            if value not in self.points:
                msg = f"unknown place {value!r} (one of {sorted(self.points)})"
                raise ScenarioError(msg)
            return self.points[value]
        lat, lon = value
        return float(lat), float(lon)

    def route(self, table: dict[str, Any]) -> tuple[RoutePoint, ...]:
        points: list[RoutePoint] = []
        if "lane" in table:
            name = table["lane"]
            if name not in self.lanes:
                msg = f"unknown lane {name!r} (one of {sorted(self.lanes)})"
                raise ScenarioError(msg)
            line = list(self.lanes[name])
            if table.get("reverse", False):
                line.reverse()
            offset_nm = float(table.get("lane_offset_nm", _KEEP_RIGHT_NM))
            line = _starboard(line, offset_nm)
            points.extend(RoutePoint(lat, lon) for lat, lon in line)
        for item in table.get("route", []):
            if isinstance(item, dict):
                lat, lon = self.point(item["at"])
                points.append(RoutePoint(lat, lon, float(item.get("hold_s", 0.0))))
            else:
                lat, lon = self.point(item)
                points.append(RoutePoint(lat, lon))
        if not points:
            msg = f"vessel {table.get('mmsi')} has no route or lane"
            raise ScenarioError(msg)
        return tuple(points)


def _starboard(
    line: list[tuple[float, float]], offset_nm: float
) -> list[tuple[float, float]]:
    """A lane's centreline moved to starboard, ends kept at the berths.

    Vessels keep to the starboard side of a fairway (COLREG rule 9), so two
    ferries on one lane in opposite directions pass port to port instead of
    running down its centreline at each other.
    """
    if offset_nm <= 0.0 or len(line) < 3:
        return line
    out = [line[0]]
    for before, here, after in zip(line, line[1:], line[2:], strict=False):
        course = _bearing_deg(before, after)
        out.append(dead_reckon(here[0], here[1], offset_nm, course + 90.0, 3600.0))
    out.append(line[-1])
    return out


def _scenario(data: dict[str, Any], places: _Places, path: Path) -> Scenario:
    start = data["start"]
    if not isinstance(start, datetime) or start.utcoffset() is None:
        msg = f"scenario {path.name}: start must be an offset date-time (…Z)"
        raise ScenarioError(msg)
    stations = _each(data, "stations", lambda s: _station(s, places)) or (
        StationSpec("SMP-KALIANGET"),
    )
    default_station = stations[0].name
    vessels = _each(data, "vessels", lambda v: _vessel(v, places, default_station))
    mmsis = [v.plan.mmsi for v in vessels]
    if len(set(mmsis)) != len(mmsis):
        raise ScenarioError(f"scenario {path.name}: two vessels share an MMSI")
    events = _each(data, "events", lambda e: _event(e, places))
    return Scenario(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", "")),
        source=str(data.get("source", "")),
        start=start.astimezone(UTC),
        duration_s=float(data["duration_s"]),
        seed=int(data.get("seed", 1)),
        stations=stations,
        vessels=vessels,
        events=tuple(sorted(events, key=lambda e: e.at_s)),
        expect=_each(data, "expect", _expectation),
        allow=_each(data, "allow", _rule),
        forbid=_each(data, "forbid", _rule),
        path=path,
    )


def _each(data: dict[str, Any], key: str, make: Callable[[Any], _T]) -> tuple[_T, ...]:
    """The items made from each table of an array such as ``[[vessels]]``.

    Raises:
        ScenarioError: A table lacks a key or holds a bad value; the message
            names the array and the table, counted from 1.
    """
    made: list[_T] = []
    for number, table in enumerate(data.get(key, []), start=1):
        where = f"[[{key}]] #{number}"
        try:
            made.append(make(table))
        except KeyError as exc:
            raise ScenarioError(f"{where}: no {exc.args[0]!r} key") from exc
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{where}: {exc}") from exc
    return tuple(made)


def _station(table: dict[str, Any], places: _Places) -> StationSpec:
    lat: float | None = None
    lon: float | None = None
    if "position" in table:
        lat, lon = places.point(table["position"])
    return StationSpec(
        str(table["name"]),
        float(table.get("loss", 0.02)),
        lat,
        lon,
        float(table.get("range_nm", 30.0)),
    )


def _vessel(table: dict[str, Any], places: _Places, station: str) -> SimVessel:
    route = places.route(table)
    vessel_class: Literal["A", "B"] = "A" if table.get("class", "B") == "A" else "B"
    plan = VesselPlan(
        mmsi=int(table["mmsi"]),
        name=str(table.get("name", "")),
        callsign=str(table.get("callsign", "")),
        ship_type=int(table.get("ship_type", 30)),
        vessel_class=vessel_class,
        route=tuple(Waypoint(p.lat_deg, p.lon_deg) for p in route),
        speed_kn=float(table.get("speed_kn", 0.0)),
        start_s=float(table.get("start_s", 0.0)),
        station=station,
        destination=str(table.get("destination", "")),
        nav_status=int(table.get("status", _NAV_UNDER_WAY)),
        rest_status=int(table.get("rest_status", _NAV_MOORED)),
        loop=bool(table.get("loop", False)),
        length_m=int(table.get("length_m", 20)),
        beam_m=int(table.get("beam_m", 5)),
        draught_m=float(table.get("draught_m", 1.5)),
    )
    stations = table.get("stations", [table.get("station", station)])
    return SimVessel(
        plan=plan,
        route=route,
        speed_kn=plan.speed_kn,
        start_s=plan.start_s,
        stations=tuple(str(s) for s in stations),
        heading=bool(table.get("heading", True)),
    )


def _event(table: dict[str, Any], places: _Places) -> SimEvent:
    params = {k: v for k, v in table.items() if k not in ("kind", "at_s", "vessel")}
    if "position" in params:
        params["position"] = places.point(params["position"])
    kind = str(table["kind"])
    known = {
        "stop",
        "engine_failure",
        "capsize",
        "resume",
        "status",
        "jump",
        "text",
        "beacon",
        "outage",
    }
    if kind not in known:
        raise ScenarioError(f"unknown event kind {kind!r} (one of {sorted(known)})")
    vessel = table.get("vessel")
    return SimEvent(
        kind, float(table["at_s"]), None if vessel is None else int(vessel), params
    )


def _expectation(table: dict[str, Any]) -> Expectation:
    resolved = table.get("resolved_by_s")
    observable = table.get("observable_s")
    return Expectation(
        kind=AlertKind(table["kind"]),
        mmsi=None if table.get("mmsi") is None else int(table["mmsi"]),
        other_mmsi=None
        if table.get("other_mmsi") is None
        else int(table["other_mmsi"]),
        station=table.get("station"),
        after_s=float(table.get("after_s", 0.0)),
        observable_s=None if observable is None else float(observable),
        within_s=float(table.get("within_s", _DEFAULT_WITHIN_S)),
        resolved_by_s=None if resolved is None else float(resolved),
        note=str(table.get("note", "")),
    )


def _rule(table: dict[str, Any]) -> Rule:
    kind = str(table["kind"])
    if kind != "*":
        AlertKind(kind)
    return Rule(
        kind=kind,
        mmsi=None if table.get("mmsi") is None else int(table["mmsi"]),
        other_mmsi=None
        if table.get("other_mmsi") is None
        else int(table["other_mmsi"]),
        from_s=table.get("from_s"),
        until_s=table.get("until_s"),
        note=str(table.get("note", "")),
    )


# --------------------------------------------------------------------------
# Motion


@dataclass(frozen=True, slots=True)
class _Segment:
    """Straight motion from ``t0_s`` to ``t1_s``; speed ramps linearly."""

    t0_s: float
    t1_s: float
    lat_deg: float
    lon_deg: float
    course_deg: float
    v0_kn: float
    v1_kn: float
    heading_offset_deg: float
    under_way: bool

    def at(self, t_s: float) -> tuple[float, float, float]:
        """Position and speed at ``t_s``."""
        dt_s = max(0.0, t_s - self.t0_s)
        span_s = self.t1_s - self.t0_s
        share = min(dt_s / span_s, 1.0) if span_s > 0 else 0.0
        speed = self.v0_kn + (self.v1_kn - self.v0_kn) * share
        mean_kn = (self.v0_kn + speed) / 2.0
        lat, lon = dead_reckon(
            self.lat_deg, self.lon_deg, mean_kn, self.course_deg, dt_s
        )
        return lat, lon, speed


@dataclass
class _Track:
    """A vessel's motion as segments, its statuses and when it is silent."""

    segments: list[_Segment] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    statuses: list[tuple[float, int]] = field(default_factory=list)
    silent_from_s: float | None = None

    def add(self, segment: _Segment) -> None:
        if segment.t1_s <= segment.t0_s and self.segments:
            return
        self.segments.append(segment)
        self.starts.append(segment.t0_s)

    def at(self, t_s: float) -> tuple[_Segment, float, float, float]:
        index = max(0, bisect.bisect_right(self.starts, t_s) - 1)
        segment = self.segments[index]
        lat, lon, speed = segment.at(min(t_s, segment.t1_s))
        return segment, lat, lon, speed

    def status_at(self, t_s: float, default: int) -> int:
        status = default
        for when, value in self.statuses:
            if when <= t_s:
                status = value
        return status


def _bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    east, north = offset_nm(a[0], a[1], b[0], b[1])
    return math.degrees(math.atan2(east, north)) % 360.0


class _Mover:
    """Builds one vessel's segments, leg by leg and event by event."""

    def __init__(self, vessel: SimVessel, duration_s: float) -> None:
        self.v = vessel
        self.end_s = duration_s
        self.track = _Track()
        first = vessel.route[0]
        self.t_s = 0.0
        self.pos = (first.lat_deg, first.lon_deg)
        self.speed = 0.0
        self.course = (
            _bearing_deg(self.pos, (vessel.route[1].lat_deg, vessel.route[1].lon_deg))
            if len(vessel.route) > 1
            else 0.0
        )
        self.next_wp = 1
        self.started = vessel.start_s <= 0
        self.mode = "route" if self.started else "rest"
        self.hold_until_s = 0.0
        self.heading_offset = 0.0
        self.track.statuses.append(
            (
                0.0,
                vessel.plan.rest_status
                if vessel.start_s > 0
                else vessel.plan.nav_status,
            )
        )

    def build(self, events: list[SimEvent]) -> _Track:
        pending = sorted(events, key=lambda e: e.at_s)
        while self.t_s < self.end_s:
            next_event = pending[0].at_s if pending else math.inf
            stop_s = min(next_event, self.end_s)
            self._move_until(stop_s)
            if pending and self.t_s >= pending[0].at_s:
                self._apply(pending.pop(0))
        return self.track

    # Modes -------------------------------------------------------------

    def _move_until(self, stop_s: float) -> None:
        while self.t_s < stop_s:
            if self.mode == "rest":
                self._rest(stop_s)
            elif self.mode == "route":
                self._sail(stop_s)
            elif self.mode in ("stopped", "drift"):
                self._segment(stop_s, self.speed, self.speed, under_way=True)
            elif self.mode == "hold":
                self._segment(min(stop_s, self.hold_until_s), 0.0, 0.0, under_way=True)
                if self.t_s >= self.hold_until_s:
                    self.mode = "route"
            else:  # pragma: no cover - modes are set above only
                raise AssertionError(self.mode)

    def _rest(self, stop_s: float) -> None:
        waiting = not self.started and self.t_s < self.v.start_s
        until = min(stop_s, self.v.start_s) if waiting else stop_s
        self._segment(until, 0.0, 0.0, under_way=False)
        if not self.started and self.t_s >= self.v.start_s:
            self.started = True
            self.mode = "route"
            self.track.statuses.append((self.t_s, self.v.plan.nav_status))

    def _sail(self, stop_s: float) -> None:
        route = self.v.route
        if self.next_wp >= len(route):
            if self.v.plan.loop:
                self.next_wp = 0
            else:
                self.mode = "rest"
                self.speed = 0.0
                self.track.statuses.append((self.t_s, self.v.plan.rest_status))
                self._segment(stop_s, 0.0, 0.0, under_way=False)
                return
        target = route[self.next_wp]
        goal = (target.lat_deg, target.lon_deg)
        left_nm = distance_nm(self.pos[0], self.pos[1], goal[0], goal[1])
        speed = self.v.speed_kn
        if left_nm <= _ARRIVED_NM or speed <= 0:
            self._arrive(target)
            return
        self.course = _bearing_deg(self.pos, goal)
        stopping = target.hold_s > 0 or (
            self.next_wp == len(route) - 1 and not self.v.plan.loop
        )
        # A vessel that stops at a waypoint slows down evenly over the last
        # _ARRIVAL_S of the leg, as ships do, instead of stopping dead.
        brake_nm = speed * _ARRIVAL_S / 2.0 / 3600.0 if stopping else 0.0
        if left_nm > brake_nm + _ARRIVED_NM:
            self.speed = speed
            cruise_end_s = self.t_s + (left_nm - brake_nm) / speed * 3600.0
            self._segment(min(stop_s, cruise_end_s), speed, speed, under_way=True)
            return
        current = max(self.speed, 0.1)
        brake_end_s = self.t_s + 2.0 * left_nm / current * 3600.0
        until = min(stop_s, brake_end_s)
        share = (until - self.t_s) / (brake_end_s - self.t_s)
        self._segment(until, current, current * (1.0 - share), under_way=True)
        if until >= brake_end_s:
            self.pos, self.speed = goal, 0.0
            self._arrive(target)

    def _arrive(self, target: RoutePoint) -> None:
        self.next_wp += 1
        if target.hold_s > 0:
            self.mode = "hold"
            self.hold_until_s = self.t_s + target.hold_s

    def _segment(
        self, until_s: float, v0: float, v1: float, *, under_way: bool
    ) -> None:
        until_s = min(until_s, self.end_s)
        segment = _Segment(
            self.t_s,
            until_s,
            self.pos[0],
            self.pos[1],
            self.course,
            v0,
            v1,
            self.heading_offset,
            under_way,
        )
        self.track.add(segment)
        lat, lon, speed = segment.at(until_s)
        self.pos, self.speed, self.t_s = (lat, lon), speed, until_s

    def _ramp(self, to_kn: float, over_s: float) -> None:
        self._segment(self.t_s + over_s, self.speed, to_kn, under_way=True)

    # Events ------------------------------------------------------------

    def _apply(self, event: SimEvent) -> None:
        p = event.params
        if "status" in p and event.kind in ("stop", "engine_failure", "status"):
            self.track.statuses.append((self.t_s, int(p["status"])))
        if event.kind == "stop":
            self._ramp(0.0, float(p.get("decel_s", 10.0)))
            self.mode, self.speed = "stopped", 0.0
        elif event.kind == "engine_failure":
            self._ramp(float(p.get("drift_kn", 1.2)), float(p.get("decel_s", 120.0)))
            self.course = float(p.get("drift_course_deg", self.course))
            self.heading_offset = float(p.get("heading_offset_deg", 90.0))
            self.mode = "drift"
        elif event.kind == "capsize":
            stopped_s = float(p.get("stopped_s", 0.0))
            if stopped_s > 0:
                self._ramp(0.0, float(p.get("decel_s", 5.0)))
                self.mode, self.speed = "stopped", 0.0
            self.track.silent_from_s = event.at_s + stopped_s
        elif event.kind == "resume":
            self.heading_offset = 0.0
            self.mode = "route"
            self.track.statuses.append(
                (self.t_s, int(p.get("status", self.v.plan.nav_status)))
            )


# --------------------------------------------------------------------------
# Transmissions


@dataclass
class _Emitter:
    """Turns reports into tagged lines heard (or not) by the stations."""

    scenario: Scenario
    rng: random.Random
    sim: Simulation
    outages: dict[str, list[tuple[float, float]]]
    specs: dict[str, StationSpec]
    message_id: int = 0

    def send(
        self,
        fields: dict[str, Any],
        t_s: float,
        stations: tuple[str, ...],
        mmsi: int,
        where: tuple[float, float],
    ) -> bool:
        """Encode once; each station hears it unless lost, too far or down."""
        when = self.scenario.start + timedelta(seconds=t_s)
        heard = False
        channel = self.rng.choice("AB")
        for station in stations:
            spec = self.specs.get(station, StationSpec(station))
            chance = spec.hears(where[0], where[1])
            if self._down(station, t_s) or self.rng.random() >= chance:
                continue
            self.message_id += 1
            for line in tagged_lines(fields, station, when, channel, self.message_id):
                self.sim.lines.append((when, line))
            heard = True
        if heard:
            self.sim.first_heard_s.setdefault(mmsi, t_s)
        return heard

    def _down(self, station: str, t_s: float) -> bool:
        return any(a <= t_s < b for a, b in self.outages.get(station, []))


def simulate(scenario: Scenario) -> Simulation:
    """Generate the tagged NMEA lines of a scenario, with the facts behind them."""
    sim = Simulation()
    rng = random.Random(f"{scenario.seed}/{scenario.name}")
    for event in scenario.events:
        if event.kind == "outage":
            station = str(event.params["station"])
            until = event.at_s + float(
                event.params.get("duration_s", scenario.duration_s)
            )
            sim.outages.setdefault(station, []).append((event.at_s, until))
    emitter = _Emitter(
        scenario, rng, sim, sim.outages, {s.name: s for s in scenario.stations}
    )
    by_vessel: dict[int, list[SimEvent]] = {}
    for event in scenario.events:
        if event.mmsi is not None:
            by_vessel.setdefault(event.mmsi, []).append(event)
    for vessel in scenario.vessels:
        events = by_vessel.get(vessel.plan.mmsi, [])
        track = _Mover(vessel, scenario.duration_s).build(events)
        sim.tracks[vessel.plan.mmsi] = track
        if track.silent_from_s is not None:
            sim.silent_from_s[vessel.plan.mmsi] = track.silent_from_s
        _positions(vessel, track, events, scenario, emitter)
        _statics(vessel, track, scenario, emitter)
    for event in scenario.events:
        _special(event, scenario, sim, emitter)
    sim.lines.sort(key=lambda item: item[0])
    return sim


def _plan_with_status(
    plan: VesselPlan, status: int, cache: dict[int, VesselPlan]
) -> VesselPlan:
    if status not in cache:
        cache[status] = dataclasses.replace(plan, nav_status=status, rest_status=status)
    return cache[status]


def _jump_for(events: list[SimEvent]) -> list[tuple[float, int, float, float]]:
    return [
        (
            e.at_s,
            int(e.params.get("reports", 1)),
            float(e.params.get("offset_nm", 20.0)),
            float(e.params.get("bearing_deg", 90.0)),
        )
        for e in events
        if e.kind == "jump"
    ]


def _positions(
    vessel: SimVessel,
    track: _Track,
    events: list[SimEvent],
    scenario: Scenario,
    emitter: _Emitter,
) -> None:
    plan = vessel.plan
    mmsi = plan.mmsi
    rng = random.Random(f"{scenario.seed}/{mmsi}/position")
    cache: dict[int, VesselPlan] = {}
    jumps = _jump_for(events)
    reports: list[_Report] = emitter.sim.reports.setdefault(mmsi, [])
    end_s = scenario.duration_s
    if track.silent_from_s is not None:
        end_s = min(end_s, track.silent_from_s)
    segment, _, _, speed = track.at(0.0)
    status = track.status_at(0.0, plan.nav_status)
    t_s = rng.uniform(0.0, report_interval_s(plan.vessel_class, speed, status))
    while t_s < end_s:
        segment, lat, lon, speed = track.at(t_s)
        status = track.status_at(t_s, plan.nav_status)
        heading = (segment.course_deg + segment.heading_offset_deg) % 360.0
        point = TrackPoint(lat, lon, segment.course_deg, speed, segment.under_way)
        when = scenario.start + timedelta(seconds=t_s)
        fields = position_fields(
            _plan_with_status(plan, status, cache), point, rng, when, heading
        )
        if not vessel.heading:
            fields["heading"] = 511
        jumped = _displace(fields, jumps, t_s)
        heard = emitter.send(fields, t_s, vessel.stations, mmsi, (lat, lon))
        if jumped and heard:
            emitter.sim.jumps_s.setdefault(mmsi, []).append(t_s)
        reports.append(
            _Report(
                t_s,
                float(fields["lat"]),
                float(fields["lon"]),
                float(fields["speed"]),
                float(fields["course"]),
                None if fields.get("heading") == 511 else int(fields["heading"]),
                status if plan.vessel_class == "A" else None,
                heard,
            )
        )
        t_s += report_interval_s(plan.vessel_class, speed, status)


def _displace(
    fields: dict[str, Any], jumps: list[tuple[float, int, float, float]], t_s: float
) -> bool:
    for at_s, count, offset, bearing in jumps:
        if t_s >= at_s and count > 0:
            lat, lon = dead_reckon(
                float(fields["lat"]), float(fields["lon"]), offset, bearing, 3600.0
            )
            fields["lat"], fields["lon"] = round(lat, 6), round(lon, 6)
            jumps[jumps.index((at_s, count, offset, bearing))] = (
                at_s,
                count - 1,
                offset,
                bearing,
            )
            return True
    return False


def _statics(
    vessel: SimVessel, track: _Track, scenario: Scenario, emitter: _Emitter
) -> None:
    rng = random.Random(f"{scenario.seed}/{vessel.plan.mmsi}/static")
    end_s = scenario.duration_s
    if track.silent_from_s is not None:
        end_s = min(end_s, track.silent_from_s)
    t_s = rng.uniform(0.0, 60.0)  # soon after start, then every 6 min
    while t_s < end_s:
        _, lat, lon, _ = track.at(t_s)
        for offset_s, fields in enumerate(static_fields(vessel.plan)):
            emitter.send(
                fields,
                t_s + offset_s * 2.0,
                vessel.stations,
                vessel.plan.mmsi,
                (lat, lon),
            )
        t_s += static_interval_s()


def _special(
    event: SimEvent, scenario: Scenario, sim: Simulation, emitter: _Emitter
) -> None:
    vessel = next((v for v in scenario.vessels if v.plan.mmsi == event.mmsi), None)
    stations = vessel.stations if vessel is not None else (scenario.stations[0].name,)
    p = event.params
    if event.kind == "text":
        mmsi = int(p.get("mmsi", event.mmsi or 0))
        fields: dict[str, Any] = {"type": 14, "mmsi": mmsi, "text": str(p["text"])}
        if "to_mmsi" in p:
            fields = {
                "type": 12,
                "mmsi": mmsi,
                "dest_mmsi": int(p["to_mmsi"]),
                "seqno": 0,
                "retransmit": False,
                "text": str(p["text"]),
            }
        sent_to = tuple(p.get("stations", stations))
        for n in range(int(p.get("repeat", _TEXT_REPEATS))):
            t_s = event.at_s + n * _TEXT_REPEAT_S
            where = (0.0, 0.0)
            if vessel is not None:
                _, lat, lon, _ = sim.tracks[vessel.plan.mmsi].at(t_s)
                where = (lat, lon)
            if emitter.send(fields, t_s, sent_to, mmsi, where):
                sim.texts_s.setdefault(mmsi, []).append(t_s)
    elif event.kind == "beacon":
        _beacon(event, scenario, sim, vessel, stations)


def _beacon(
    event: SimEvent,
    scenario: Scenario,
    sim: Simulation,
    vessel: SimVessel | None,
    stations: tuple[str, ...],
) -> None:
    p = event.params
    mmsi = int(p["mmsi"])
    if "position" in p:
        lat, lon = p["position"]
    elif vessel is not None:
        _, lat, lon, _ = sim.tracks[vessel.plan.mmsi].at(event.at_s)
    else:
        raise ScenarioError(f"beacon {mmsi} needs a position or a vessel")
    device = _BEACON_TEXT.get(mmsi // 1_000_000, "SART")
    station = str(p.get("station", stations[0]))
    where = Waypoint(lat, lon)
    beacon: SartActivation | SartTest
    if p.get("test", False):
        beacon = SartTest(mmsi, event.at_s, where, station, text=f"{device} TEST")
    else:
        beacon = SartActivation(
            mmsi,
            event.at_s,
            where,
            station,
            drift_kn=float(p.get("drift_kn", 0.0)),
            drift_course_deg=float(p.get("drift_course_deg", 0.0)),
            duration_s=p.get("duration_s"),
            text=f"{device} ACTIVE",
        )
    seed = scenario.seed + mmsi % 1000
    lines = list(generate([], [beacon], scenario.start, scenario.duration_s, seed))
    if lines:
        # An active beacon shows itself in its first position report (status
        # 14); a test only in its "... TEST" text (the reports say status 15).
        first = (
            lines[0][0] if isinstance(beacon, SartActivation) else _first_text(lines)
        )
        sim.beacons_s[mmsi] = (first - scenario.start).total_seconds()
        sim.first_heard_s.setdefault(mmsi, sim.beacons_s[mmsi])
    sim.lines.extend(lines)


def _first_text(lines: list[tuple[datetime, str]]) -> datetime:
    stream = AisStream()
    for when, line in lines:
        for message in stream.feed(line, "beacon", when):
            if message.msg_type == 14:
                return message.time
    return lines[0][0]


def write_simulation(path: Path, sim: Simulation) -> int:
    """Write the lines of a simulation to a file; returns how many.

    Raises:
        ScenarioError: The file cannot be written; the message names it.
    """
    try:
        return write_recording(path, iter(sim.lines))
    except OSError as exc:
        msg = f"cannot write the simulation to {str(path)!r}: {exc.strerror or exc}"
        raise ScenarioError(msg) from exc


# --------------------------------------------------------------------------
# Ground truth


def ground_truth(scenario: Scenario, sim: Simulation) -> dict[str, Any]:
    """The alerts that must, may and must not follow, with their times.

    For each expected alert, ``observable_s`` is when the data first shows
    it, as its definition states it: the first report with the status, the
    text or the beacon; for a sudden stop the first report under 1 kn plus
    the 60 s it must last (DMA), for a drift the first report by which it
    has lasted 10 min and 500 m (DMA), for an encounter the start of 2 h
    together plus 2 h (GFW); for a silence 3 reporting intervals after the
    last report heard
    (domain.md 2.4); for a collision risk the first moment the CPA/TCPA
    condition holds on the latest reports heard; for a station outage its
    start.

    Raises:
        ScenarioError: An expected alert never becomes observable.
    """
    start = scenario.start

    def iso(seconds: float) -> str:
        text = (start + timedelta(seconds=seconds)).isoformat()
        return text.replace("+00:00", "Z")

    expect = []
    for e in scenario.expect:
        observable = e.observable_s
        if observable is None:
            observable = _observable(e, scenario, sim)
            # Receive times are whole seconds (tag block c:).
            observable = None if observable is None else math.floor(observable)
        if observable is None:
            msg = f"{scenario.name}: {e.kind.value} for {e.mmsi} is never observable"
            raise ScenarioError(msg)
        expect.append(
            {
                "kind": e.kind.value,
                "mmsi": e.mmsi,
                "other_mmsi": e.other_mmsi,
                "station": e.station,
                "after_s": e.after_s,
                "observable_s": round(observable, 1),
                "deadline_s": round(observable + e.within_s, 1),
                "observable": iso(observable),
                "resolved_by_s": e.resolved_by_s,
                "note": e.note,
            }
        )
    return {
        "scenario": scenario.name,
        "title": scenario.title,
        "source": scenario.source,
        "start": iso(0.0),
        "duration_s": scenario.duration_s,
        "expect": expect,
        "allow": [dataclasses.asdict(r) for r in scenario.allow],
        "forbid": [dataclasses.asdict(r) for r in scenario.forbid],
    }


_STATUS_CODE = {AlertKind.AGROUND: 6, AlertKind.NOT_UNDER_COMMAND: 2}
_BEACONS = frozenset(
    {
        AlertKind.SART_ACTIVE,
        AlertKind.MOB_ACTIVE,
        AlertKind.EPIRB_ACTIVE,
        AlertKind.BEACON_TEST,
    }
)


def _observable(e: Expectation, scenario: Scenario, sim: Simulation) -> float | None:
    kind, mmsi = e.kind, e.mmsi or 0
    heard = [r for r in sim.reports.get(mmsi, []) if r.heard and r.t_s >= e.after_s]
    if kind in _BEACONS:
        return sim.beacons_s.get(mmsi)
    if kind is AlertKind.SAFETY_BROADCAST:
        return next((t for t in sim.texts_s.get(mmsi, []) if t >= e.after_s), None)
    if kind in _STATUS_CODE:
        code = _STATUS_CODE[kind]
        return next((r.t_s for r in heard if r.status == code), None)
    if kind is AlertKind.SUDDEN_STOP:
        low = next((r.t_s for r in heard if r.speed_kn < 1.0), None)
        return None if low is None else low + _STOP_HELD_S
    if kind is AlertKind.DRIFTING:
        return _drift_observable(heard)
    if kind is AlertKind.AIS_GAP:
        return _silence_observable(scenario, sim, mmsi)
    if kind is AlertKind.STATION_DOWN:
        spans = sim.outages.get(e.station or "", [])
        return next((a for a, _ in spans if a >= e.after_s), None)
    if kind is AlertKind.POSITION_JUMP:
        return next((t for t in sim.jumps_s.get(mmsi, []) if t >= e.after_s), None)
    if kind is AlertKind.INVALID_MMSI:
        return sim.first_heard_s.get(mmsi)
    if kind in (AlertKind.COLLISION_RISK, AlertKind.ENCOUNTER):
        return _pair_observable(e, scenario, sim)
    return None


def _drift_observable(heard: list[_Report]) -> float | None:
    """First report by which a drift has lasted 10 min and 500 m (DMA)."""
    first = next((r for r in heard if _drifting(r)), None)
    if first is None:
        return None
    for r in heard:
        if r.t_s < first.t_s + _DRIFT_HELD_S or not _drifting(r):
            continue
        moved_nm = distance_nm(first.lat_deg, first.lon_deg, r.lat_deg, r.lon_deg)
        if moved_nm * _M_PER_NM >= _DRIFT_HELD_M:
            return r.t_s
    return None


def _drifting(report: _Report) -> bool:
    if report.heading_deg is None or not 1.0 <= report.speed_kn <= 5.0:
        return False
    diff = abs(report.course_deg - report.heading_deg) % 360.0
    return min(diff, 360.0 - diff) >= 45.0


def _silence_observable(scenario: Scenario, sim: Simulation, mmsi: int) -> float | None:
    silent = sim.silent_from_s.get(mmsi)
    if silent is None:
        return None
    before = [r for r in sim.reports.get(mmsi, []) if r.heard and r.t_s <= silent]
    if not before:
        return None
    last = before[-1]
    vessel = next(v for v in scenario.vessels if v.plan.mmsi == mmsi)
    interval = nominal_interval_s(vessel.plan.vessel_class, last.speed_kn, last.status)
    return last.t_s + _GAP_PERIODS * interval


def _pair_observable(
    e: Expectation, scenario: Scenario, sim: Simulation
) -> float | None:
    """When a pair's condition first shows.

    Encounters on the true tracks; collision risk on the latest reports
    heard, dead-reckoned, as the desk would see them (the CPA of a marginal
    pass is only visible through the noise of the reports).
    """
    s = DetectorSettings()
    a, b = e.mmsi or 0, e.other_mmsi or 0
    lengths = [
        float(v.plan.length_m) for v in scenario.vessels if v.plan.mmsi in (a, b)
    ]
    limit = min(s.cpa_nm, max(3.0 * max(lengths) / _M_PER_NM, s.cpa_floor_nm))
    classes = {v.plan.mmsi: v.plan.vessel_class for v in scenario.vessels}
    heard = {m: [r for r in sim.reports[m] if r.heard] for m in (a, b)}
    together_since: float | None = None
    t_s = e.after_s
    while t_s < scenario.duration_s:
        if e.kind is AlertKind.ENCOUNTER:
            _, lat_a, lon_a, va = sim.tracks[a].at(t_s)
            _, lat_b, lon_b, vb = sim.tracks[b].at(t_s)
            apart_m = distance_nm(lat_a, lon_a, lat_b, lon_b) * _M_PER_NM
            slow = va < s.encounter_max_kn and vb < s.encounter_max_kn
            if apart_m <= s.encounter_m and slow:
                together_since = t_s if together_since is None else together_since
                if t_s - together_since >= _ENCOUNTER_HELD_S:
                    return together_since + _ENCOUNTER_HELD_S
            else:
                together_since = None
        else:
            seen_a = _seen(heard[a], classes[a], t_s)
            seen_b = _seen(heard[b], classes[b], t_s)
            if seen_a and seen_b and _at_risk(seen_a, seen_b, limit, s):
                return t_s
        t_s += 5.0
    return None


def _seen(
    reports: list[_Report], vessel_class: str, t_s: float
) -> tuple[float, float, float, float] | None:
    """The latest report heard by ``t_s``, moved on to ``t_s``."""
    index = bisect.bisect_right([r.t_s for r in reports], t_s) - 1
    if index < 0:
        return None
    r = reports[index]
    age_s = t_s - r.t_s
    if age_s > max(3.0 * nominal_interval_s(vessel_class, r.speed_kn, r.status), 60.0):
        return None
    lat, lon = dead_reckon(r.lat_deg, r.lon_deg, r.speed_kn, r.course_deg, age_s)
    return lat, lon, r.speed_kn, r.course_deg


def _at_risk(
    a: tuple[float, float, float, float],
    b: tuple[float, float, float, float],
    limit_nm: float,
    s: DetectorSettings,
) -> bool:
    if min(a[2], b[2]) < 0.5 or max(a[2], b[2]) < s.collision_fast_kn:
        return False
    east, north = offset_nm(a[0], a[1], b[0], b[1])
    ea, na = velocity_kn(a[2], a[3])
    eb, nb = velocity_kn(b[2], b[3])
    rel_e, rel_n = eb - ea, nb - na
    cpa, tcpa = cpa_tcpa(east, north, rel_e, rel_n)
    return (
        math.hypot(rel_e, rel_n) >= 1.0
        and math.hypot(east, north) <= s.collision_range_nm
        and cpa <= limit_nm
        and 0.0 <= tcpa <= s.tcpa_s
    )
