"""Records to and from the rows and JSON documents of every store.

SQLite keeps times as ISO 8601 text, PostgreSQL as ``timestamptz``; vessels,
alerts and station statistics are JSON documents in both. What turns a row
or a document back into a record is the same for both stores and lives here
once, so that a field added to a record is read the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pantaulaut.errors import StoreError
from pantaulaut.model import (
    Alert,
    AlertKind,
    AlertState,
    PortCall,
    Severity,
    StationStats,
    Vessel,
)
from pantaulaut.store.base import Delivery, DeliveryState

__all__ = [
    "alert_from",
    "delivery_from",
    "fields_of",
    "from_iso",
    "json_default",
    "port_call_from",
    "station_from",
    "time_of",
    "vessel_from",
]


def from_iso(value: str | None) -> datetime | None:
    """A time written as ISO 8601 text, or None."""
    return None if value is None else datetime.fromisoformat(value)


def time_of(value: str | datetime | None) -> datetime | None:
    """A time as a store gives it: ISO text (SQLite) or a datetime (PostgreSQL)."""
    return from_iso(value) if isinstance(value, str) else value


def json_default(value: Any) -> Any:
    """What JSON cannot hold itself: times in UTC ISO 8601, sets as lists."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def fields_of(record: Vessel | Alert | StationStats) -> dict[str, Any]:
    """A record's fields, for its JSON document."""
    return {name: getattr(record, name) for name in type(record).__slots__}


def vessel_from(data: dict[str, Any]) -> Vessel:
    """A vessel from its JSON document."""
    for name in ("position_time", "last_seen"):
        data[name] = from_iso(data.get(name))
    return Vessel(**data)


def alert_from(data: dict[str, Any]) -> Alert:
    """An alert from its JSON document."""
    data["kind"] = AlertKind(data["kind"])
    data["severity"] = Severity(data["severity"])
    data["state"] = AlertState(data["state"])
    data["time"] = from_iso(data["time"])
    data["updated"] = from_iso(data.get("updated"))
    return Alert(**data)


def station_from(data: dict[str, Any]) -> StationStats:
    """A station's statistics from their JSON document."""
    data["first_seen"] = from_iso(data.get("first_seen"))
    data["last_seen"] = from_iso(data.get("last_seen"))
    return StationStats(**data)


def port_call_from(row: Sequence[Any]) -> PortCall:
    """A port call from a row of the stores' common port-call columns."""
    return PortCall(
        mmsi=row[0],
        harbour_id=row[1],
        arrival=_required_time(row[2], "port call arrival"),
        departure=time_of(row[3]),
        harbour_name=row[4],
        vessel_name=row[5],
        ship_type=row[6],
        ship_type_text=row[7],
        positions=row[8],
        station=row[9],
        lat_deg=row[10],
        lon_deg=row[11],
    )


def delivery_from(row: Sequence[Any]) -> Delivery:
    """An outbox delivery from a row of the stores' common outbox columns."""
    return Delivery(
        id=row[0],
        message_id=row[1],
        destination=row[2],
        alert_id=row[3],
        seq=row[4],
        body=row[5],
        content_type=row[6],
        created=_required_time(row[7], "delivery created"),
        msg_type=row[8],
        reference=row[9],
        topic=row[10],
        priority=row[11],
        state=DeliveryState(row[12]),
        attempts=row[13],
        next_attempt_at=time_of(row[14]),
        last_error=row[15],
        delivered_at=time_of(row[16]),
    )


def _required_time(value: str | datetime | None, what: str) -> datetime:
    # NOT NULL in every schema: a null here is a damaged store.
    time = time_of(value)
    if time is None:
        msg = f"{what}: no time in the store"
        raise StoreError(msg)
    return time
