"""Vessel state: what is known of every MMSI, updated message by message.

Positions come from types 1-3 (class A), 18/19 (class B), 9 (SAR aircraft),
27 (long-range), 4 (base station) and 21 (aid to navigation). Static and
voyage data come from type 5 (class A), type 19, and type 24, whose parts A
(name) and B (type, call sign, dimensions) arrive separately and are paired
per MMSI (ITU-R M.1371-5, 3.3.8.2.24).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pantaulaut.ingest.decode import DecodedPayload
from pantaulaut.ingest.identity import (
    MmsiKind,
    flag_of,
    mmsi_kind,
    nav_status_text,
    ship_type_text,
)
from pantaulaut.model import PositionReport, Vessel

__all__ = ["VesselRegistry", "VesselUpdate"]

_CLASS_BY_TYPE = {
    1: "A",
    2: "A",
    3: "A",
    5: "A",
    27: "A",
    18: "B",
    19: "B",
    24: "B",
    9: "SAR aircraft",
    4: "base station",
    21: "AtoN",
}
_CLASS_BY_KIND = {
    MmsiKind.SART: "SART",
    MmsiKind.MOB: "MOB",
    MmsiKind.EPIRB: "EPIRB",
    MmsiKind.SAR_AIRCRAFT: "SAR aircraft",
    MmsiKind.ATON: "AtoN",
    MmsiKind.COAST: "base station",
}
_POSITION_TYPES = frozenset({1, 2, 3, 4, 9, 18, 19, 21, 27})


@dataclass(frozen=True, slots=True)
class VesselUpdate:
    """What one message changed.

    Attributes:
        vessel: The vessel's state after the message.
        position: The new position, when the message carried a usable one.
        static_changed: True when name, type or other static data changed.
    """

    vessel: Vessel
    position: PositionReport | None
    static_changed: bool


class VesselRegistry:
    """In-memory state of every vessel heard, keyed by MMSI."""

    def __init__(self) -> None:
        self._vessels: dict[int, Vessel] = {}

    def __len__(self) -> int:
        return len(self._vessels)

    def get(self, mmsi: int) -> Vessel | None:
        """The vessel with this MMSI, if heard."""
        return self._vessels.get(mmsi)

    def all(self) -> Iterable[Vessel]:
        """Every vessel heard."""
        return self._vessels.values()

    def update(
        self,
        payload: DecodedPayload,
        time: datetime,
        station: str,
        own_ship: bool = False,
    ) -> VesselUpdate:
        """Apply one decoded message to the state of its MMSI.

        Args:
            payload: The decoded message.
            time: The data clock (receive time of the message).
            station: The station that received it.
            own_ship: True for VDO sentences (the station's own vessel).
        """
        vessel = self._vessels.get(payload.mmsi)
        if vessel is None:
            vessel = self._new_vessel(payload.mmsi)
            self._vessels[payload.mmsi] = vessel

        vessel.last_seen = (
            time if vessel.last_seen is None else max(vessel.last_seen, time)
        )
        vessel.station = station
        vessel.own_ship = vessel.own_ship or own_ship
        if vessel.vessel_class == "unknown" and payload.msg_type in _CLASS_BY_TYPE:
            vessel.vessel_class = _CLASS_BY_TYPE[payload.msg_type]

        static_changed = _apply_static(vessel, payload)
        position = None
        if payload.msg_type in _POSITION_TYPES:
            position = _position(payload, time, station)
            if position is not None and _is_newer(vessel, time):
                _apply_position(vessel, payload, position)
        return VesselUpdate(vessel, position, static_changed)

    @staticmethod
    def _new_vessel(mmsi: int) -> Vessel:
        vessel = Vessel(mmsi=mmsi)
        vessel.vessel_class = _CLASS_BY_KIND.get(mmsi_kind(mmsi), "unknown")
        flag = flag_of(mmsi)
        if flag is not None:
            vessel.flag_code, vessel.flag = flag
        return vessel


def _is_newer(vessel: Vessel, time: datetime) -> bool:
    # Several stations relay the same traffic with different delays; an
    # older fix must not move the vessel back along its track.
    return vessel.position_time is None or time >= vessel.position_time


def _position(
    payload: DecodedPayload, time: datetime, station: str
) -> PositionReport | None:
    lat = payload.value("lat")
    lon = payload.value("lon")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    heading = payload.value("heading")
    return PositionReport(
        mmsi=payload.mmsi,
        time=time,
        lat_deg=float(lat),
        lon_deg=float(lon),
        speed_kn=_float(payload.value("speed")),
        course_deg=_float(payload.value("course")),
        heading_deg=_float(heading),
        nav_status=payload.value("status")
        if payload.msg_type in (1, 2, 3, 27)
        else None,
        msg_type=payload.msg_type,
        station=station,
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _apply_position(
    vessel: Vessel, payload: DecodedPayload, pos: PositionReport
) -> None:
    vessel.lat_deg = pos.lat_deg
    vessel.lon_deg = pos.lon_deg
    vessel.speed_kn = pos.speed_kn
    vessel.course_deg = pos.course_deg
    vessel.heading_deg = pos.heading_deg
    vessel.position_time = pos.time
    if pos.nav_status is not None:
        vessel.nav_status = pos.nav_status
        vessel.nav_status_text = nav_status_text(pos.nav_status)
    if payload.msg_type == 21:
        _set(vessel, "name", payload.value("full_name") or payload.value("name"))


def _set(vessel: Vessel, name: str, value: Any) -> bool:
    if value is None or value == "" or getattr(vessel, name) == value:
        return False
    setattr(vessel, name, value)
    return True


def _apply_static(vessel: Vessel, payload: DecodedPayload) -> bool:
    """Copy static and voyage fields; True when anything changed."""
    if payload.msg_type not in (5, 19, 24):
        return False
    value = payload.value
    changed = False
    if (payload.msg_type == 24 and value("partno") == 0) or payload.msg_type in (5, 19):
        changed |= _set(vessel, "name", value("shipname"))
    if payload.msg_type == 24 and value("partno") == 0:
        return changed
    ship_type = value("ship_type")
    if ship_type:
        changed |= _set(vessel, "ship_type", int(ship_type))
        vessel.ship_type_text = ship_type_text(int(ship_type))
    changed |= _set(vessel, "callsign", value("callsign"))
    if payload.msg_type == 5:
        changed |= _set(vessel, "imo", value("imo"))
        changed |= _set(vessel, "destination", value("destination"))
        draught = value("draught")
        changed |= _set(
            vessel, "draught_m", None if draught is None else float(draught)
        )
    changed |= _apply_dimensions(vessel, payload)
    return changed


def _apply_dimensions(vessel: Vessel, payload: DecodedPayload) -> bool:
    # Dimensions to bow/stern/port/starboard in metres (table 52); all zero
    # means not available. Type 24 part B of auxiliary craft carries a
    # mothership MMSI instead (3.3.8.2.24), which pyais leaves out.
    parts = [
        payload.value(n) for n in ("to_bow", "to_stern", "to_port", "to_starboard")
    ]
    if any(p is None for p in parts) or not any(parts):
        return False
    bow, stern, port, starboard = (int(p) for p in parts)
    changed = _set(vessel, "length_m", float(bow + stern))
    changed |= _set(vessel, "beam_m", float(port + starboard))
    return changed
