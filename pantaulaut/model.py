"""Records that flow between the stages: messages, positions, vessels, alerts.

Units are in the names (``_kn``, ``_deg``, ``_m``); every datetime is UTC-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "ALERT_SEVERITY",
    "Alert",
    "AlertKind",
    "AlertState",
    "PortCall",
    "PositionReport",
    "Severity",
    "StationStats",
    "StoredMessage",
    "Vessel",
]


class Severity(StrEnum):
    """Alert severity; CAP 1.2 maps them to Extreme, Severe, ..., Unknown."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical up to 4 for info, for sorting."""
        return list(Severity).index(self)


class AlertKind(StrEnum):
    """Alert kinds: stable identifiers shared with the 112 interface."""

    SART_ACTIVE = "sart_active"
    MOB_ACTIVE = "mob_active"
    EPIRB_ACTIVE = "epirb_active"
    BEACON_TEST = "beacon_test"
    AGROUND = "aground"
    NOT_UNDER_COMMAND = "not_under_command"
    SAFETY_BROADCAST = "safety_broadcast"
    SUDDEN_STOP = "sudden_stop"
    DRIFTING = "drifting"
    AIS_GAP = "ais_gap"
    COLLISION_RISK = "collision_risk"
    ZONE_ENTRY = "zone_entry"
    ZONE_EXIT = "zone_exit"
    ZONE_DWELL = "zone_dwell"
    FOREIGN_FISHING = "foreign_fishing"
    FOREIGN_LOITERING = "foreign_loitering"
    ENCOUNTER = "encounter"
    POSITION_JUMP = "position_jump"
    POSITION_ON_LAND = "position_on_land"
    INVALID_MMSI = "invalid_mmsi"
    STATION_DOWN = "station_down"
    INCIDENT = "incident"


# Default severity per kind; zone rules may raise or lower the zone kinds.
ALERT_SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.SART_ACTIVE: Severity.CRITICAL,
    AlertKind.MOB_ACTIVE: Severity.CRITICAL,
    AlertKind.EPIRB_ACTIVE: Severity.CRITICAL,
    AlertKind.BEACON_TEST: Severity.INFO,
    AlertKind.AGROUND: Severity.HIGH,
    AlertKind.NOT_UNDER_COMMAND: Severity.MEDIUM,
    AlertKind.SAFETY_BROADCAST: Severity.HIGH,
    AlertKind.SUDDEN_STOP: Severity.HIGH,
    AlertKind.DRIFTING: Severity.MEDIUM,
    AlertKind.AIS_GAP: Severity.MEDIUM,
    AlertKind.COLLISION_RISK: Severity.HIGH,
    AlertKind.ZONE_ENTRY: Severity.INFO,
    AlertKind.ZONE_EXIT: Severity.INFO,
    AlertKind.ZONE_DWELL: Severity.LOW,
    AlertKind.FOREIGN_FISHING: Severity.MEDIUM,
    AlertKind.FOREIGN_LOITERING: Severity.LOW,
    AlertKind.ENCOUNTER: Severity.LOW,
    AlertKind.POSITION_JUMP: Severity.LOW,
    AlertKind.POSITION_ON_LAND: Severity.LOW,
    AlertKind.INVALID_MMSI: Severity.LOW,
    AlertKind.STATION_DOWN: Severity.HIGH,
    AlertKind.INCIDENT: Severity.CRITICAL,
}


class AlertState(StrEnum):
    """Where an alert is in its life."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class PositionReport:
    """One position of one vessel, with "not available" values as None."""

    mmsi: int
    time: datetime
    lat_deg: float
    lon_deg: float
    speed_kn: float | None
    course_deg: float | None
    heading_deg: float | None
    nav_status: int | None
    msg_type: int
    station: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A decoded message as kept: its raw sentences and who received it."""

    time: datetime
    mmsi: int
    msg_type: int
    station: str
    raw: str
    fields: dict[str, Any]


@dataclass(slots=True)
class Vessel:
    """What is known of one MMSI.

    Attributes:
        vessel_class: ``A``, ``B``, ``SAR aircraft``, ``AtoN``, ``base station``,
            ``SART``, ``MOB``, ``EPIRB`` or ``unknown``.
        flag: Country of the MID, such as ``Indonesia``; None when not known.
        ship_type_text: The ship type in words, such as ``Passenger``.
        station: The station that heard the latest message.
    """

    mmsi: int
    vessel_class: str = "unknown"
    name: str | None = None
    callsign: str | None = None
    imo: int | None = None
    ship_type: int | None = None
    ship_type_text: str | None = None
    flag: str | None = None
    flag_code: str | None = None
    destination: str | None = None
    draught_m: float | None = None
    length_m: float | None = None
    beam_m: float | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    speed_kn: float | None = None
    course_deg: float | None = None
    heading_deg: float | None = None
    nav_status: int | None = None
    nav_status_text: str | None = None
    position_time: datetime | None = None
    last_seen: datetime | None = None
    station: str | None = None
    own_ship: bool = False


@dataclass(slots=True)
class Alert:
    """Something the desk must see, with the evidence that raised it.

    Attributes:
        id: Stable identifier, used by the 112 interface to de-duplicate.
        time: When the condition was first observed (data clock).
        updated: When it was last confirmed.
        evidence: Raw sentences that raised or confirmed it.
        summary: One line for the operator.
        detail: Figures behind it, plain JSON (such as ``cpa_nm``,
            ``other_mmsi``, ``silent_s``), for the operator and the 112 side.
        history: Audit trail of the lifecycle, oldest first: one dict per
            change with ``time`` (ISO 8601 UTC), ``actor`` (``system`` or an
            operator), ``action`` (``opened``, ``escalated``,
            ``acknowledged`` or ``resolved``) and ``note``.
    """

    id: str
    kind: AlertKind
    severity: Severity
    time: datetime
    mmsi: int | None = None
    vessel_name: str | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    zone: str | None = None
    station: str | None = None
    summary: str = ""
    evidence: list[str] = field(default_factory=list)
    state: AlertState = AlertState.OPEN
    updated: datetime | None = None
    count: int = 1
    detail: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class PortCall:
    """One call of one vessel at one harbour: its arrival and its departure.

    A call is identified by ``(mmsi, harbour_id, arrival)``; the store
    upserts on that key, so the open call written at arrival is completed
    in place when the departure is known.

    Attributes:
        mmsi: The vessel.
        harbour_id: The harbour zone's ``id``.
        harbour_name: The harbour zone's ``name``.
        arrival: First report inside the harbour of the reports that made
            the arrival count (UTC, data clock).
        departure: First report outside the harbour of the excursion that
            became the departure; None while the vessel is in port.
        vessel_name: The vessel's name when it arrived, if known.
        ship_type: ITU-R M.1371 ship type code when it arrived, if known.
        ship_type_text: The ship type in words, if known.
        positions: Position reports inside the harbour during the call.
        station: The station that heard the arrival.
        lat_deg: Latitude of the report that made the arrival count.
        lon_deg: Longitude of the report that made the arrival count.
    """

    mmsi: int
    harbour_id: str
    harbour_name: str
    arrival: datetime
    departure: datetime | None = None
    vessel_name: str | None = None
    ship_type: int | None = None
    ship_type_text: str | None = None
    positions: int = 0
    station: str | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None


@dataclass(slots=True)
class StationStats:
    """Counters of one receiving station (or source, when it gives no id)."""

    station: str
    lines: int = 0
    messages: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    vessel_count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def rejected_total(self) -> int:
        """Sentences and lines rejected, over every reason."""
        return sum(self.rejected.values())
