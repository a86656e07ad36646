"""Port calls: when each vessel arrived at and left each harbour.

A harbour is a zone of kind ``harbour`` (see :mod:`pantaulaut.geofence.zones`).
Positions at a harbour's edge come and go across the polygon with GPS noise,
with a vessel swinging at anchor and with the polygon's own approximation of
the port limits, so a plain entry/exit would turn one stay into many calls.
The tracker adds hysteresis on both sides:

Arrival
    ``arrival_reports`` (default 2) consecutive position reports inside the
    polygon. One report inside, such as a vessel passing the corner of the
    port limits, makes no call. The arrival time is the first of those
    reports.

Departure
    While a call is open, reports outside start an excursion. The excursion
    becomes the departure once the vessel is more than ``depart_distance_m``
    (default 300 m) outside the polygon, or has stayed outside for
    ``depart_after_s`` (default 900 s) with no report back inside. A report
    inside ends the excursion and the call goes on. The departure time is the
    first report outside of the excursion that counted.

Why these values: the harbour polygons are about 1.8 km across, drawn around
the piers (see ``data/README.md``). GPS scatter of a moored class B
transponder is tens of metres and an anchored vessel swings within about
twice its cable (some 100 to 200 m in these shallow ports), so 300 m outside
is beyond anything a vessel in port does. A vessel that lingers just outside
the limits for a quarter of an hour has, for the port authority, left. Two
reports inside are a few seconds for a ferry under way (class A reports every
2 to 10 s) and up to six minutes for a class B vessel at anchor (every 3
minutes), short against any call.

A vessel first heard inside a harbour (switched on at the berth, or already
in port when the data starts) arrives with its first reports there, like any
other: its arrival is when it was first heard, not when it came in. A vessel
that falls silent in port keeps its call open (it may be at the quay with its
AIS off); the exports show when it was last heard
(:mod:`pantaulaut.export`). A restarted service takes up
the calls the store holds open (:meth:`PortCallTracker.resume_from`), so that
a vessel in port across the restart keeps one call.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import shapely

from pantaulaut.errors import StoreError
from pantaulaut.geofence.zones import Zone, ZoneSet
from pantaulaut.model import PortCall, PositionReport, Vessel
from pantaulaut.store.base import Store

__all__ = ["PortCallSettings", "PortCallTracker"]

log = logging.getLogger(__name__)

# Metres per degree on a sphere of the mean Earth radius (6371 km). The
# harbours lie 5.5 to 7.3 degrees south, where a degree of longitude is within
# 1 % of one of latitude, so distances of a few hundred metres from a polygon
# measured in degrees need no projection.
_M_PER_DEG = 111_195.0

# Classes of station that call at ports; beacons (SART, MOB, EPIRB), aircraft,
# AtoN and base stations do not.
_VESSEL_CLASSES = frozenset({"A", "B", "unknown"})

# Later than any departure: the calls in port at this instant are the open ones.
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PortCallSettings:
    """Hysteresis of port calls.

    Attributes:
        arrival_reports: Consecutive reports inside that make an arrival.
        depart_distance_m: Outside the polygon by more than this is a
            departure at once.
        depart_after_s: Outside (no report back inside) for this long is a
            departure.
    """

    arrival_reports: int = 2
    depart_distance_m: float = 300.0
    depart_after_s: float = 900.0


@dataclass(slots=True)
class _Stay:
    """One vessel at one harbour: arriving, in port, or leaving."""

    zone: Zone
    reports_inside: int = 0
    first_inside: PositionReport | None = None
    call: PortCall | None = None
    out_since: datetime | None = None


@dataclass(slots=True)
class _VesselState:
    last_time: datetime | None = None
    stays: dict[str, _Stay] = field(default_factory=dict)


class PortCallTracker:
    """Turns each vessel's positions into arrivals and departures.

    Args:
        zones: Every zone; only those of kind ``harbour`` are used.
        settings: Hysteresis.
    """

    def __init__(
        self, zones: ZoneSet, settings: PortCallSettings | None = None
    ) -> None:
        self.settings = settings or PortCallSettings()
        self.harbours = ZoneSet([z for z in zones.zones if z.kind == "harbour"])
        self._after = timedelta(seconds=self.settings.depart_after_s)
        self._vessels: dict[int, _VesselState] = {}

    def update(self, position: PositionReport, vessel: Vessel) -> list[PortCall]:
        """Place one position report; return the calls it opened, changed or closed.

        Every call returned is a copy, safe to hand to a store batch; an open
        call comes back with each report inside so that its count of positions
        stays current in the store.

        Args:
            position: The report (a vessel's, not an AtoN's or base station's).
            vessel: The vessel's state, for its name and type at arrival.
        """
        if not self.harbours or vessel.vessel_class not in _VESSEL_CLASSES:
            return []
        here = self.harbours.at(position.lon_deg, position.lat_deg)
        state = self._vessels.get(position.mmsi)
        if state is None:
            if not here:
                return []
            state = self._vessels[position.mmsi] = _VesselState()
        if state.last_time is not None and position.time < state.last_time:
            # A report older than one already placed (a slow station's copy)
            # would flip the vessel back to where it was.
            return []
        state.last_time = position.time
        changed: list[PortCall] = []
        inside = {zone.id for zone in here}
        for zone in here:
            stay = state.stays.setdefault(zone.id, _Stay(zone))
            call = self._inside(stay, position, vessel)
            if call is not None:
                changed.append(call)
        for zone_id in [z for z in state.stays if z not in inside]:
            stay = state.stays[zone_id]
            call = self._outside(stay, position)
            if call is not None:
                changed.append(call)
            if stay.call is None:
                del state.stays[zone_id]
        if not state.stays:
            del self._vessels[position.mmsi]
        return changed

    def tick(self, now: datetime) -> list[PortCall]:
        """Close calls of vessels outside for ``depart_after_s`` by ``now``.

        A vessel that left and was not heard again (out of the stations'
        range) departs without another report.

        Args:
            now: The data clock.
        """
        closed: list[PortCall] = []
        for mmsi in list(self._vessels):
            state = self._vessels[mmsi]
            for zone_id in list(state.stays):
                stay = state.stays[zone_id]
                if (
                    stay.call is not None
                    and stay.out_since is not None
                    and now - stay.out_since >= self._after
                ):
                    closed.append(self._depart(stay, stay.out_since))
                    del state.stays[zone_id]
            if not state.stays:
                del self._vessels[mmsi]
        return closed

    def resume(self, calls: Iterable[PortCall]) -> int:
        """Take up calls still open (departure None), such as after a restart.

        A call at a harbour that is no longer among the zones is left as it
        is. Of two open calls of one vessel at one harbour, the later goes on.

        Returns:
            How many calls were taken up.
        """
        taken = 0
        by_id = {zone.id: zone for zone in self.harbours.zones}
        for call in sorted(calls, key=lambda c: c.arrival):
            zone = by_id.get(call.harbour_id)
            if call.departure is not None or zone is None:
                continue
            state = self._vessels.setdefault(call.mmsi, _VesselState())
            state.stays[zone.id] = _Stay(zone, call=dataclasses.replace(call))
            taken += 1
        return taken

    def resume_from(self, store: Store) -> int:
        """Take up the calls the store holds open; a store away resumes none.

        Returns:
            How many calls were taken up.
        """
        try:
            calls = store.port_calls(_END_OF_TIME, _END_OF_TIME)
        except StoreError as exc:
            log.warning(
                "open port calls not read from the store (%s): vessels in port "
                "now start new calls",
                exc,
            )
            return 0
        taken = self.resume(calls)
        if taken:
            log.info("took up %d open port calls from the store", taken)
        return taken

    def open_calls(self) -> list[PortCall]:
        """Copies of the calls in progress, by arrival."""
        calls = [
            dataclasses.replace(stay.call)
            for state in self._vessels.values()
            for stay in state.stays.values()
            if stay.call is not None
        ]
        return sorted(calls, key=lambda c: (c.arrival, c.mmsi))

    def _inside(
        self, stay: _Stay, position: PositionReport, vessel: Vessel
    ) -> PortCall | None:
        stay.out_since = None
        if stay.call is not None:
            call = stay.call
            call.positions += 1
            if call.vessel_name is None and call.ship_type is None:
                # Static data (message 5 or 24) often comes minutes after the
                # first positions: name the call once it is known.
                call.vessel_name = vessel.name
                call.ship_type = vessel.ship_type
                call.ship_type_text = vessel.ship_type_text
            return dataclasses.replace(call)
        stay.reports_inside += 1
        if stay.first_inside is None:
            stay.first_inside = position
        if stay.reports_inside < self.settings.arrival_reports:
            return None
        first = stay.first_inside
        stay.call = PortCall(
            mmsi=position.mmsi,
            harbour_id=stay.zone.id,
            harbour_name=stay.zone.name,
            arrival=first.time,
            vessel_name=vessel.name,
            ship_type=vessel.ship_type,
            ship_type_text=vessel.ship_type_text,
            positions=stay.reports_inside,
            station=first.station,
            lat_deg=first.lat_deg,
            lon_deg=first.lon_deg,
        )
        log.debug(
            "port call: %s (%s) arrived at %s at %s",
            vessel.name or "?",
            position.mmsi,
            stay.zone.name,
            first.time.isoformat(),
        )
        return dataclasses.replace(stay.call)

    def _outside(self, stay: _Stay, position: PositionReport) -> PortCall | None:
        if stay.call is None:
            # The reports inside were not consecutive: no arrival.
            return None
        if stay.out_since is None:
            stay.out_since = position.time
        distance_m = _M_PER_DEG * shapely.distance(
            stay.zone.geometry, shapely.Point(position.lon_deg, position.lat_deg)
        )
        if (
            distance_m > self.settings.depart_distance_m
            or position.time - stay.out_since >= self._after
        ):
            return self._depart(stay, stay.out_since)
        return None

    def _depart(self, stay: _Stay, when: datetime) -> PortCall:
        call = stay.call
        assert call is not None
        call.departure = when
        stay.call = None
        log.debug(
            "port call: %s (%s) left %s at %s after %d reports",
            call.vessel_name or "?",
            call.mmsi,
            call.harbour_name,
            when.isoformat(),
            call.positions,
        )
        return dataclasses.replace(call)
