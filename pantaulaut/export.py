"""Exports for the port authority: port calls, vessels, tracks and alerts.

One entry point, :func:`export`, writes one of :data:`EXPORTS` in one of
:data:`FORMATS` to a file, for the command line (``pantaulaut export``) and
the dashboard's download button alike; :func:`daily_summary` writes the
report of one day. What each export holds:

``port-calls``
    One row per call at a harbour in port at some time in the period:
    vessel, harbour, arrival and departure (empty while in port), time in
    port, and when the vessel was last heard in port (``last_heard``: its
    latest position report before the departure, or at all while the call
    is open). Geometry: the position that made the arrival count.
``vessels``
    The register: static data and the latest state of every vessel heard
    in the period (last heard in it, or heard since and with a position
    report in it).
``tracks``
    Positions in the period. CSV has one row per position; the geographic
    formats one LineString per vessel with two or more positions (a vessel
    heard once makes no line and is left out, with a count logged), with its
    first and last time and its length.
``alerts``
    Alerts raised in the period, in whatever state they are now, with the
    audit trail of who acknowledged, assigned and resolved them.

Every export has a fixed schema (:class:`_Table`): the same columns of the
same types whatever the rows hold, and one geometry type per layer.

Times are stored and exported in UTC (ISO 8601 with ``Z`` in text formats,
timestamps with time zone in GeoPackage and GeoParquet); every time column
``x`` has a ``x_wib`` twin in the desk's clock (WIB, UTC+7) as text, because
the port authority works in local time. Coordinates are WGS 84 longitude and
latitude (RFC 7946 order in GeoJSON, EPSG:4326 elsewhere).

GeoPackage and GeoParquet are written by geopandas (pyogrio and pyarrow);
CSV, GeoJSON and KML by the standard library, which keeps their layout
exactly as documented here.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import logging
import math
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import IO, Any

from pantaulaut.errors import ExportError
from pantaulaut.model import Alert, AlertState, PortCall, PositionReport, Vessel
from pantaulaut.store.base import Store

__all__ = [
    "EXPORTS",
    "FORMATS",
    "SUMMARY_FORMATS",
    "WIB",
    "DailySummary",
    "add_cli_commands",
    "daily_summary",
    "export",
    "media_type",
    "suffix",
]

log = logging.getLogger(__name__)

EXPORTS = ("port-calls", "vessels", "tracks", "alerts")
FORMATS = ("csv", "geojson", "gpkg", "kml", "geoparquet")
SUMMARY_FORMATS = ("md", "csv")

# Waktu Indonesia Barat: the desk's and the port authority's clock.
WIB = timezone(timedelta(hours=7), "WIB")

Progress = Callable[[int, int], None]

# File name extension and media type of each format, for downloads.
_SUFFIX = {
    "csv": ".csv",
    "geojson": ".geojson",
    "gpkg": ".gpkg",
    "kml": ".kml",
    "geoparquet": ".parquet",
    "md": ".md",
}
_MEDIA_TYPE = {
    "csv": "text/csv",
    "geojson": "application/geo+json",  # RFC 7946, section 12
    "gpkg": "application/geopackage+sqlite3",  # OGC GeoPackage 1.3
    "kml": "application/vnd.google-earth.kml+xml",  # OGC KML 2.2
    "geoparquet": "application/vnd.apache.parquet",
    "md": "text/markdown",
}
_KML_NS = "http://www.opengis.net/kml/2.2"
# RFC 7946 section 11.2: six decimals are about 10 cm, finer than any AIS fix.
_COORD_DECIMALS = 6
_M_PER_NM = 1852.0
_EARTH_RADIUS_M = 6_371_008.8
# Alerts are read whole from the store and filtered by time; this bounds one
# export's read.
_MAX_ALERTS = 1_000_000
# Later than any report: "last heard" of a call still open is the latest.
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
# The daily summary counts a vessel of an open call as in port at the day's
# end only when it was heard within this long before it (see README.md,
# "Port calls and exports").
_IN_PORT_HEARD_WITHIN = timedelta(hours=24)


def media_type(fmt: str) -> str:
    """The media type of a format (``text/csv``, ``application/geo+json``...).

    Raises:
        ExportError: Unknown format.
    """
    fmt = _format_name(fmt)
    if fmt not in _MEDIA_TYPE:
        raise ExportError(_unknown("format", fmt, (*FORMATS, *SUMMARY_FORMATS)))
    return _MEDIA_TYPE[fmt]


def suffix(fmt: str) -> str:
    """The usual file name extension of a format, with its dot."""
    fmt = _format_name(fmt)
    if fmt not in _SUFFIX:
        raise ExportError(_unknown("format", fmt, (*FORMATS, *SUMMARY_FORMATS)))
    return _SUFFIX[fmt]


# Column kinds of the fixed schema: every export has the same columns of the
# same types whatever its rows hold (none, or a column empty throughout), so
# that a month's file loads like the month before. Integers are nullable
# (pandas "Int64", INTEGER in GeoPackage, int64 in GeoParquet), text is text,
# times are UTC timestamps with their ``_wib`` text twin.
_INT, _FLOAT, _TEXT, _TIME, _BOOL = "int", "float", "text", "time", "bool"
_PANDAS_DTYPE = {
    _INT: "Int64",
    _FLOAT: "Float64",
    _TEXT: "string",
    _BOOL: "boolean",
    _TIME: "datetime64[ns, UTC]",
}


@dataclass(slots=True)
class _Table:
    """Rows of one export: columns in order, their values, their geometries.

    Attributes:
        name: Layer or document name.
        schema: Column names and kinds (``int``, ``float``, ``text``,
            ``time``, ``bool``), in order; each ``time`` column is followed
            by its ``_wib`` text twin in the files.
        geometry_type: ``Point`` or ``LineString``: every geometry of the
            table (or none) is of this type.
        rows: One dict per row, its values of the column's kind or None.
        geometries: GeoJSON geometry dicts (lon/lat), or None, per row.
        titles: A short name per row (KML placemark names).
    """

    name: str
    schema: list[tuple[str, str]]
    geometry_type: str = "Point"
    rows: list[dict[str, Any]] = field(default_factory=list)
    geometries: list[dict[str, Any] | None] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)

    def add(
        self, row: dict[str, Any], geometry: dict[str, Any] | None, title: str
    ) -> None:
        typed: dict[str, Any] = {}
        for column, kind in self.schema:
            value = _typed(kind, row.get(column))
            typed[column] = value
            if kind == _TIME:
                typed[f"{column}_wib"] = _wib_text(value)
        self.rows.append(typed)
        self.geometries.append(geometry)
        self.titles.append(title)

    @property
    def times(self) -> frozenset[str]:
        """Columns holding UTC datetimes."""
        return frozenset(c for c, kind in self.schema if kind == _TIME)

    @property
    def kinds(self) -> dict[str, str]:
        """Every column of the files (``_wib`` twins included) and its kind."""
        out: dict[str, str] = {}
        for column, kind in self.schema:
            out[column] = kind
            if kind == _TIME:
                out[f"{column}_wib"] = _TEXT
        return out

    @property
    def all_columns(self) -> list[str]:
        """Every column of the files, in order."""
        return list(self.kinds)


def _typed(kind: str, value: Any) -> Any:
    """A value as its column's kind (None stays None).

    Raises:
        ExportError: A value that is not of the column's kind.
    """
    if value is None:
        return None
    try:
        if kind == _INT:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if kind == _FLOAT:
            return float(value)
        if kind == _BOOL:
            return bool(value)
        if kind == _TIME:
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ValueError(value)
            return value.astimezone(UTC)
    except (TypeError, ValueError) as exc:
        msg = f"{value!r} is not a value of kind {kind} for the export's schema"
        raise ExportError(msg) from exc
    return str(value)


def export(
    store: Store,
    what: str,
    fmt: str,
    out: Path,
    *,
    start: datetime,
    end: datetime,
    mmsi: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Write one export to a file.

    The file is written beside ``out`` under a temporary name and renamed
    into place when complete, so a reader (or a browser download) never sees
    half a file.

    Args:
        store: Where the history is read from.
        what: One of :data:`EXPORTS`.
        fmt: One of :data:`FORMATS`.
        out: The file to write (replaced if it exists).
        start: Start of the period (timezone-aware).
        end: End of the period (timezone-aware), not before ``start``.
        mmsi: Only this vessel, when given.
        progress: Called as ``progress(done, total)`` as the export is read
            (vessels for tracks) and written (rows).

    Returns:
        Rows written: positions for a CSV of tracks, else one per row or
        feature.

    Raises:
        ExportError: Unknown export or format, a bad period, or a file that
            cannot be written.
        StoreError: The store failed to answer.
    """
    if what not in EXPORTS:
        raise ExportError(_unknown("export", what, EXPORTS))
    fmt = _format_name(fmt)
    if fmt not in FORMATS:
        raise ExportError(_unknown("format", fmt, FORMATS))
    start, end = _period(start, end)
    _check_suffix(out, fmt)
    report = progress or _no_progress
    if what == "port-calls":
        table = _port_calls(store, start, end, mmsi)
    elif what == "vessels":
        table = _vessels(store, start, end, mmsi)
    elif what == "alerts":
        table = _alerts(store, start, end, mmsi)
    elif fmt == "csv":
        table = _positions(store, start, end, mmsi, report)
    else:
        table = _tracks(store, start, end, mmsi, report)
    writer = _WRITERS[fmt]
    with _replacing(out, _SUFFIX[fmt]) as part:
        writer(table, part, report)
    log.info(
        "exported %d %s rows from %s to %s as %s to %s",
        len(table.rows),
        what,
        _utc_text(start),
        _utc_text(end),
        fmt,
        out,
    )
    return len(table.rows)


# --- reading -----------------------------------------------------------------


def _port_calls(
    store: Store, start: datetime, end: datetime, mmsi: int | None
) -> _Table:
    table = _Table(
        "port_calls",
        [
            ("mmsi", _INT),
            ("vessel_name", _TEXT),
            ("ship_type", _INT),
            ("ship_type_text", _TEXT),
            ("harbour_id", _TEXT),
            ("harbour_name", _TEXT),
            ("arrival", _TIME),
            ("departure", _TIME),
            ("duration_s", _INT),
            ("last_heard", _TIME),
            ("positions", _INT),
            ("station", _TEXT),
            ("lat_deg", _FLOAT),
            ("lon_deg", _FLOAT),
        ],
    )
    calls = store.port_calls(start, end, mmsi=mmsi)
    for call, heard in zip(calls, _calls_last_heard(store, calls, None), strict=True):
        table.add(
            _port_call_row(call, heard),
            _point(call.lon_deg, call.lat_deg),
            _title(call),
        )
    return table


def _calls_last_heard(
    store: Store, calls: Sequence[PortCall], by: datetime | None
) -> list[datetime]:
    """When the vessel of each call was last heard in port.

    Its latest position report before the departure, or, for a call still
    open (at ``by``, or at all when ``by`` is None), before ``by``; never
    before the arrival, itself a report (its positions may have been
    trimmed from the store since).
    """
    before = [
        call.departure
        if call.departure is not None and (by is None or call.departure < by)
        else (by or _END_OF_TIME)
        for call in calls
    ]
    heard = store.last_heard([(c.mmsi, b) for c, b in zip(calls, before, strict=True)])
    return [
        call.arrival if time is None else max(time, call.arrival)
        for call, time in zip(calls, heard, strict=True)
    ]


def _port_call_row(call: PortCall, last_heard: datetime) -> dict[str, Any]:
    duration = (
        None
        if call.departure is None
        else round((call.departure - call.arrival).total_seconds())
    )
    return {
        "mmsi": call.mmsi,
        "vessel_name": call.vessel_name,
        "ship_type": call.ship_type,
        "ship_type_text": call.ship_type_text,
        "harbour_id": call.harbour_id,
        "harbour_name": call.harbour_name,
        "arrival": call.arrival,
        "departure": call.departure,
        "duration_s": duration,
        "last_heard": last_heard,
        "positions": call.positions,
        "station": call.station,
        "lat_deg": call.lat_deg,
        "lon_deg": call.lon_deg,
    }


def _vessels(store: Store, start: datetime, end: datetime, mmsi: int | None) -> _Table:
    table = _Table(
        "vessels",
        [
            ("mmsi", _INT),
            ("imo", _INT),
            ("callsign", _TEXT),
            ("name", _TEXT),
            ("ship_type", _INT),
            ("ship_type_text", _TEXT),
            ("vessel_class", _TEXT),
            ("flag", _TEXT),
            ("flag_code", _TEXT),
            ("length_m", _FLOAT),
            ("beam_m", _FLOAT),
            ("draught_m", _FLOAT),
            ("destination", _TEXT),
            ("last_seen", _TIME),
            ("position_time", _TIME),
            ("lat_deg", _FLOAT),
            ("lon_deg", _FLOAT),
            ("speed_kn", _FLOAT),
            ("course_deg", _FLOAT),
            ("heading_deg", _FLOAT),
            ("nav_status", _INT),
            ("nav_status_text", _TEXT),
            ("station", _TEXT),
        ],
    )
    for vessel in _seen_in(store, start, end, mmsi):
        table.add(
            _vessel_row(vessel), _point(vessel.lon_deg, vessel.lat_deg), _title(vessel)
        )
    return table


def _seen_in(
    store: Store, start: datetime, end: datetime, mmsi: int | None
) -> list[Vessel]:
    """Vessels heard in [start, end], by MMSI.

    Heard last within the period, or heard since and with a position report
    in it (the register keeps only the latest time a vessel was heard).
    """
    if mmsi is not None:
        one = store.vessel(mmsi)
        candidates = [one] if one is not None else []
    else:
        candidates = store.vessels(seen_since=start)
    candidates = [
        v for v in candidates if v.last_seen is not None and v.last_seen >= start
    ]
    later = [v for v in candidates if v.last_seen is not None and v.last_seen > end]
    after_end = end + timedelta(microseconds=1)
    heard = store.last_heard([(v.mmsi, after_end) for v in later])
    left_out = {
        v.mmsi
        for v, time in zip(later, heard, strict=True)
        if time is None or time < start
    }
    return sorted(
        (v for v in candidates if v.mmsi not in left_out), key=lambda v: v.mmsi
    )


def _vessel_row(vessel: Vessel) -> dict[str, Any]:
    return {
        "mmsi": vessel.mmsi,
        "imo": vessel.imo,
        "callsign": vessel.callsign,
        "name": vessel.name,
        "ship_type": vessel.ship_type,
        "ship_type_text": vessel.ship_type_text,
        "vessel_class": vessel.vessel_class,
        "flag": vessel.flag,
        "flag_code": vessel.flag_code,
        "length_m": vessel.length_m,
        "beam_m": vessel.beam_m,
        "draught_m": vessel.draught_m,
        "destination": vessel.destination,
        "last_seen": vessel.last_seen,
        "position_time": vessel.position_time,
        "lat_deg": vessel.lat_deg,
        "lon_deg": vessel.lon_deg,
        "speed_kn": vessel.speed_kn,
        "course_deg": vessel.course_deg,
        "heading_deg": vessel.heading_deg,
        "nav_status": vessel.nav_status,
        "nav_status_text": vessel.nav_status_text,
        "station": vessel.station,
    }


def _tracked(
    store: Store,
    start: datetime,
    end: datetime,
    mmsi: int | None,
    report: Progress,
) -> Iterator[tuple[Vessel, list[PositionReport]]]:
    """Each vessel heard in the period with its positions, by MMSI."""
    if mmsi is not None:
        one = store.vessel(mmsi)
        candidates = [one] if one is not None else []
    else:
        # Every vessel with a position in the period was last seen after its
        # start; the others come back with an empty track and are skipped.
        candidates = sorted(store.vessels(seen_since=start), key=lambda v: v.mmsi)
    total = len(candidates)
    for done, vessel in enumerate(candidates, 1):
        track = store.track(vessel.mmsi, start, end)
        report(done, total)
        if track:
            yield vessel, track


def _positions(
    store: Store, start: datetime, end: datetime, mmsi: int | None, report: Progress
) -> _Table:
    table = _Table(
        "positions",
        [
            ("mmsi", _INT),
            ("name", _TEXT),
            ("time", _TIME),
            ("lat_deg", _FLOAT),
            ("lon_deg", _FLOAT),
            ("speed_kn", _FLOAT),
            ("course_deg", _FLOAT),
            ("heading_deg", _FLOAT),
            ("nav_status", _INT),
            ("msg_type", _INT),
            ("station", _TEXT),
        ],
    )
    for vessel, track in _tracked(store, start, end, mmsi, report):
        for p in track:
            row = {
                "mmsi": p.mmsi,
                "name": vessel.name,
                "time": p.time,
                "lat_deg": p.lat_deg,
                "lon_deg": p.lon_deg,
                "speed_kn": p.speed_kn,
                "course_deg": p.course_deg,
                "heading_deg": p.heading_deg,
                "nav_status": p.nav_status,
                "msg_type": p.msg_type,
                "station": p.station,
            }
            table.add(row, _point(p.lon_deg, p.lat_deg), _title(vessel))
    return table


def _tracks(
    store: Store, start: datetime, end: datetime, mmsi: int | None, report: Progress
) -> _Table:
    table = _Table(
        "tracks",
        [
            ("mmsi", _INT),
            ("name", _TEXT),
            ("ship_type_text", _TEXT),
            ("vessel_class", _TEXT),
            ("start", _TIME),
            ("end", _TIME),
            ("positions", _INT),
            ("length_nm", _FLOAT),
            ("stations", _TEXT),
        ],
        geometry_type="LineString",
    )
    single_fix = 0
    for vessel, track in _tracked(store, start, end, mmsi, report):
        if len(track) < 2:
            # One fix makes no line; a Point among the lines would make the
            # layer's geometry type mixed. Its position is in the CSV.
            single_fix += 1
            continue
        coordinates = [_lon_lat(p.lon_deg, p.lat_deg) for p in track]
        geometry = {"type": "LineString", "coordinates": coordinates}
        row = {
            "mmsi": vessel.mmsi,
            "name": vessel.name,
            "ship_type_text": vessel.ship_type_text,
            "vessel_class": vessel.vessel_class,
            "start": track[0].time,
            "end": track[-1].time,
            "positions": len(track),
            "length_nm": round(_length_m(track) / _M_PER_NM, 3),
            "stations": ",".join(sorted({p.station for p in track})),
        }
        table.add(row, geometry, _title(vessel))
    if single_fix:
        log.info(
            "left %d vessels with a single position in the period out of the "
            "tracks (a line needs two; the CSV of tracks has their positions)",
            single_fix,
        )
    return table


def _length_m(track: Sequence[PositionReport]) -> float:
    """Great-circle length of a track (haversine on a sphere)."""
    total = 0.0
    for a, b in itertools.pairwise(track):
        lat1, lat2 = math.radians(a.lat_deg), math.radians(b.lat_deg)
        dlat = lat2 - lat1
        dlon = math.radians(b.lon_deg - a.lon_deg)
        h = (
            math.sin(dlat / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
        )
        total += 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
    return total


def _alerts(store: Store, start: datetime, end: datetime, mmsi: int | None) -> _Table:
    table = _Table(
        "alerts",
        [
            ("id", _TEXT),
            ("kind", _TEXT),
            ("severity", _TEXT),
            ("state", _TEXT),
            ("time", _TIME),
            ("updated", _TIME),
            ("mmsi", _INT),
            ("vessel_name", _TEXT),
            ("zone", _TEXT),
            ("station", _TEXT),
            ("lat_deg", _FLOAT),
            ("lon_deg", _FLOAT),
            ("count", _INT),
            ("summary", _TEXT),
            ("acknowledged_by", _TEXT),
            ("acknowledged_at", _TIME),
            ("resolved_by", _TEXT),
            ("resolved_at", _TIME),
            ("audit", _TEXT),
        ],
    )
    found = [
        a
        for a in store.alerts(states=tuple(AlertState), limit=_MAX_ALERTS)
        if start <= a.time <= end and (mmsi is None or a.mmsi == mmsi)
    ]
    for alert in sorted(found, key=lambda a: (a.time, a.id)):
        title = f"{alert.kind.value}: {alert.vessel_name or alert.mmsi or ''}"
        table.add(_alert_row(alert), _point(alert.lon_deg, alert.lat_deg), title)
    return table


def _alert_row(alert: Alert) -> dict[str, Any]:
    acknowledged = _last_action(alert, "acknowledged")
    resolved = _last_action(alert, "resolved")
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "severity": alert.severity.value,
        "state": alert.state.value,
        "time": alert.time,
        "updated": alert.updated,
        "mmsi": alert.mmsi,
        "vessel_name": alert.vessel_name,
        "zone": alert.zone,
        "station": alert.station,
        "lat_deg": alert.lat_deg,
        "lon_deg": alert.lon_deg,
        "count": alert.count,
        "summary": alert.summary,
        "acknowledged_by": acknowledged[0],
        "acknowledged_at": acknowledged[1],
        "resolved_by": resolved[0],
        "resolved_at": resolved[1],
        "audit": _audit(alert),
    }


def _last_action(alert: Alert, action: str) -> tuple[str | None, datetime | None]:
    for entry in reversed(alert.history):
        if entry.get("action") == action:
            return str(entry.get("actor") or ""), _parse_time(entry.get("time"))
    return None, None


def _audit(alert: Alert) -> str:
    """The audit trail in one cell: ``time actor action: note`` per change."""
    parts = []
    for entry in alert.history:
        when = _parse_time(entry.get("time"))
        line = (
            f"{_utc_text(when) if when else '?'} {entry.get('actor', '?')} "
            f"{entry.get('action', '?')}"
        )
        note = str(entry.get("note") or "").strip()
        parts.append(f"{line}: {note}" if note else line)
    return "; ".join(parts)


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _title(record: PortCall | Vessel) -> str:
    name = record.vessel_name if isinstance(record, PortCall) else record.name
    label = f"{name} ({record.mmsi})" if name else str(record.mmsi)
    if isinstance(record, PortCall):
        return f"{label} at {record.harbour_name}"
    return label


def _point(lon_deg: float | None, lat_deg: float | None) -> dict[str, Any] | None:
    if lon_deg is None or lat_deg is None:
        return None
    return {"type": "Point", "coordinates": _lon_lat(lon_deg, lat_deg)}


def _lon_lat(lon_deg: float, lat_deg: float) -> list[float]:
    return [round(lon_deg, _COORD_DECIMALS), round(lat_deg, _COORD_DECIMALS)]


# --- writing -----------------------------------------------------------------


@contextmanager
def _replacing(out: Path, ending: str) -> Iterator[Path]:
    """A temporary path beside ``out``, renamed to it when the body succeeds.

    The temporary name ends in ``ending`` (GDAL's GeoPackage driver warns
    about a file named otherwise).
    """
    folder = out.parent
    if not folder.is_dir():
        msg = (
            f"cannot write {out}: folder {folder} does not exist; "
            "create it or choose another --out"
        )
        raise ExportError(msg)
    if out.is_dir():
        msg = f"cannot write {out}: it is a folder; give a file name as --out"
        raise ExportError(msg)
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{out.name}.", suffix=ending, dir=folder
        )
    except OSError as exc:
        msg = (
            f"cannot write {out}: no file can be made in {folder} "
            f"({exc.strerror or exc}); choose an --out in a folder you can write to"
        )
        raise ExportError(msg) from exc
    os.close(handle)
    part = Path(name)
    part.unlink()
    try:
        yield part
        part.replace(out)
    except OSError as exc:
        msg = f"cannot write {out}: {exc}"
        raise ExportError(msg) from exc
    finally:
        part.unlink(missing_ok=True)


def _text_value(value: Any) -> Any:
    """A value for CSV, JSON and KML: UTC times as ISO 8601 with ``Z``."""
    if isinstance(value, datetime):
        return _utc_text(value)
    return value


def _rows_reported(table: _Table, report: Progress) -> Iterator[int]:
    total = len(table.rows)
    step = max(1, total // 100)
    for index in range(total):
        yield index
        if (index + 1) % step == 0 or index + 1 == total:
            report(index + 1, total)


def _write_csv(table: _Table, out: Path, report: Progress) -> None:
    columns = table.all_columns
    with out.open("w", encoding="utf-8", newline="") as stream:
        # RFC 4180 line ends, which spreadsheets expect.
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(columns)
        for index in _rows_reported(table, report):
            row = table.rows[index]
            writer.writerow(
                ["" if (v := row.get(c)) is None else _text_value(v) for c in columns]
            )


def _write_geojson(table: _Table, out: Path, report: Progress) -> None:
    columns = table.all_columns
    with out.open("w", encoding="utf-8") as stream:
        stream.write('{"type":"FeatureCollection","features":[\n')
        for index in _rows_reported(table, report):
            row = table.rows[index]
            feature = {
                "type": "Feature",
                "geometry": table.geometries[index],
                "properties": {c: _text_value(row.get(c)) for c in columns},
            }
            if index:
                stream.write(",\n")
            stream.write(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
        stream.write("\n]}\n")


def _write_kml(table: _Table, out: Path, report: Progress) -> None:
    ET.register_namespace("", _KML_NS)
    kml = ET.Element(_k("kml"))
    document = ET.SubElement(kml, _k("Document"))
    ET.SubElement(document, _k("name")).text = f"pantaulaut {table.name}"
    columns = table.all_columns
    for index in _rows_reported(table, report):
        row = table.rows[index]
        placemark = ET.SubElement(document, _k("Placemark"))
        ET.SubElement(placemark, _k("name")).text = table.titles[index]
        _kml_time(placemark, table, row)
        extended = ET.SubElement(placemark, _k("ExtendedData"))
        for column in columns:
            value = row.get(column)
            data = ET.SubElement(extended, _k("Data"), name=column)
            ET.SubElement(data, _k("value")).text = (
                "" if value is None else str(_text_value(value))
            )
        geometry = table.geometries[index]
        if geometry is not None:
            _kml_geometry(placemark, geometry)
    ET.indent(kml)
    ET.ElementTree(kml).write(out, encoding="UTF-8", xml_declaration=True)


def _k(tag: str) -> str:
    return f"{{{_KML_NS}}}{tag}"


def _kml_time(placemark: ET.Element, table: _Table, row: dict[str, Any]) -> None:
    """TimeSpan or TimeStamp, so that Google Earth's time slider plays it."""
    begin = row.get("arrival") or row.get("start")
    finish = row.get("departure") or row.get("end")
    if isinstance(begin, datetime):
        span = ET.SubElement(placemark, _k("TimeSpan"))
        ET.SubElement(span, _k("begin")).text = _utc_text(begin)
        if isinstance(finish, datetime):
            ET.SubElement(span, _k("end")).text = _utc_text(finish)
        return
    moment = row.get("time") or row.get("last_seen")
    if isinstance(moment, datetime):
        stamp = ET.SubElement(placemark, _k("TimeStamp"))
        ET.SubElement(stamp, _k("when")).text = _utc_text(moment)


def _kml_geometry(placemark: ET.Element, geometry: dict[str, Any]) -> None:
    if geometry["type"] == "Point":
        element = ET.SubElement(placemark, _k("Point"))
        points = [geometry["coordinates"]]
    else:
        element = ET.SubElement(placemark, _k("LineString"))
        ET.SubElement(element, _k("tessellate")).text = "1"
        points = geometry["coordinates"]
    # KML 2.2 section 16.9.1: lon,lat[,alt] tuples separated by spaces.
    ET.SubElement(element, _k("coordinates")).text = " ".join(
        f"{lon},{lat}" for lon, lat in points
    )


def _frame(table: _Table) -> Any:
    """The table as a GeoDataFrame in EPSG:4326 (WGS 84 lon/lat)."""
    import geopandas
    import pandas
    from shapely.geometry import shape

    frame = pandas.DataFrame(
        {
            column: pandas.array(
                [row.get(column) for row in table.rows], dtype=_PANDAS_DTYPE[kind]
            )
            for column, kind in table.kinds.items()
        }
    )
    geometries = [None if g is None else shape(g) for g in table.geometries]
    return geopandas.GeoDataFrame(frame, geometry=geometries, crs="EPSG:4326")


def _write_gpkg(table: _Table, out: Path, report: Progress) -> None:
    frame = _frame(table)
    try:
        frame.to_file(
            out,
            driver="GPKG",
            layer=table.name,
            engine="pyogrio",
            geometry_type=table.geometry_type,
        )
    except Exception as exc:
        # pyogrio raises its own errors (and GDAL's) for a file it cannot write.
        msg = f"cannot write GeoPackage {out}: {exc}"
        raise ExportError(msg) from exc
    report(len(table.rows), len(table.rows))


def _write_geoparquet(table: _Table, out: Path, report: Progress) -> None:
    frame = _frame(table)
    try:
        frame.to_parquet(out, index=False)
    except Exception as exc:
        msg = f"cannot write GeoParquet {out}: {exc}"
        raise ExportError(msg) from exc
    report(len(table.rows), len(table.rows))


_WRITERS: dict[str, Callable[[_Table, Path, Progress], None]] = {
    "csv": _write_csv,
    "geojson": _write_geojson,
    "gpkg": _write_gpkg,
    "kml": _write_kml,
    "geoparquet": _write_geoparquet,
}


# --- the daily summary ---------------------------------------------------------


@dataclass(slots=True)
class DailySummary:
    """Figures of one day in WIB.

    Attributes:
        day: The calendar day in WIB.
        start: Its first instant (UTC).
        end: The first instant of the next day (UTC).
        arrivals: Harbour name to arrivals that day.
        departures: Harbour name to departures that day.
        in_port: Harbour name to vessels in port at the day's end and heard
            within 24 hours before it.
        in_port_silent: Harbour name to vessels whose call is still open at
            the day's end but which were last heard more than 24 hours
            before it (not counted in ``in_port``).
        vessels_seen: Vessels with a position report that day.
        vessels_by_class: Vessel class (A, B, ...) to vessels seen.
        alerts: ``(kind, severity)`` to alerts raised that day.
        stations: Per station known to the store: ``position_reports``
            stored that day, ``first_heard_wib`` and ``last_heard_wib`` (its
            first and last of them, ``-`` for none) and ``heard_that_day``.
    """

    day: date
    start: datetime
    end: datetime
    arrivals: dict[str, int] = field(default_factory=dict)
    departures: dict[str, int] = field(default_factory=dict)
    in_port: dict[str, int] = field(default_factory=dict)
    in_port_silent: dict[str, int] = field(default_factory=dict)
    vessels_seen: int = 0
    vessels_by_class: dict[str, int] = field(default_factory=dict)
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    stations: list[dict[str, Any]] = field(default_factory=list)


def daily_summary(
    store: Store,
    day: date,
    out: Path,
    fmt: str = "md",
    *,
    progress: Progress | None = None,
) -> DailySummary:
    """Write the report of one day and return its figures.

    Arrivals and departures per harbour, vessels heard, alerts per kind and
    severity, and the receiving stations, for the calendar day in WIB
    (00:00 to 24:00 UTC+7). Times in the report are WIB.

    Args:
        store: Where the history is read from.
        day: The day, a calendar day in WIB.
        out: The file to write (replaced if it exists).
        fmt: ``md`` (Markdown, for people) or ``csv`` (one row per figure).
        progress: Called as ``progress(done, total)`` over the vessels read.

    Returns:
        The figures written.

    Raises:
        ExportError: Unknown format or a file that cannot be written.
        StoreError: The store failed to answer.
    """
    fmt = _format_name(fmt)
    if fmt not in SUMMARY_FORMATS:
        raise ExportError(_unknown("daily summary format", fmt, SUMMARY_FORMATS))
    _check_suffix(out, fmt)
    start = datetime.combine(day, time(0), WIB).astimezone(UTC)
    end = start + timedelta(days=1)
    summary = DailySummary(day=day, start=start, end=end)
    last = end - timedelta(microseconds=1)
    arrivals: Counter[str] = Counter()
    departures: Counter[str] = Counter()
    in_port: Counter[str] = Counter()
    silent: Counter[str] = Counter()
    calls = store.port_calls(start, last)
    for call in calls:
        if start <= call.arrival < end:
            arrivals[call.harbour_name] += 1
        if call.departure is not None and start <= call.departure < end:
            departures[call.harbour_name] += 1
    still_open = [c for c in calls if c.departure is None or c.departure >= end]
    for call, heard in zip(
        still_open, _calls_last_heard(store, still_open, end), strict=True
    ):
        if end - heard > _IN_PORT_HEARD_WITHIN:
            silent[call.harbour_name] += 1
        else:
            in_port[call.harbour_name] += 1
    summary.arrivals = dict(sorted(arrivals.items()))
    summary.departures = dict(sorted(departures.items()))
    summary.in_port = dict(sorted(in_port.items()))
    summary.in_port_silent = dict(sorted(silent.items()))
    classes: Counter[str] = Counter()
    for vessel, _track in _tracked(store, start, last, None, progress or _no_progress):
        classes[vessel.vessel_class] += 1
    summary.vessels_seen = sum(classes.values())
    summary.vessels_by_class = dict(sorted(classes.items()))
    alerts: Counter[tuple[str, str]] = Counter(
        (a.kind.value, a.severity.value)
        for a in store.alerts(states=tuple(AlertState), limit=_MAX_ALERTS)
        if start <= a.time < end
    )
    summary.alerts = dict(sorted(alerts.items()))
    activity = {s.station: s for s in store.station_activity(start, end)}
    names = sorted({*(s.station for s in store.stations()), *activity})
    summary.stations = []
    for name in names:
        day_stats = activity.get(name)
        summary.stations.append(
            {
                "station": name,
                "position_reports": day_stats.messages if day_stats else 0,
                "first_heard_wib": _wib_human(
                    day_stats.first_seen if day_stats else None
                ),
                "last_heard_wib": _wib_human(
                    day_stats.last_seen if day_stats else None
                ),
                "heard_that_day": day_stats is not None,
            }
        )
    with (
        _replacing(out, _SUFFIX[fmt]) as part,
        part.open("w", encoding="utf-8", newline="") as f,
    ):
        if fmt == "md":
            _summary_markdown(summary, f)
        else:
            _summary_csv(summary, f)
    log.info("wrote the daily summary of %s (WIB) to %s", day.isoformat(), out)
    return summary


def _summary_markdown(summary: DailySummary, out: IO[str]) -> None:
    day = summary.day.isoformat()
    lines = [
        f"# Ringkasan harian / Daily summary {day}",
        "",
        f"Sumenep regency waters, {day} 00:00 to 24:00 WIB (UTC+7); "
        f"{_utc_text(summary.start)} to {_utc_text(summary.end)}.",
        "",
        "## Port calls",
        "",
        "| harbour | arrivals | departures | in port at 24:00 | not heard for 24 h |",
        "|---|---:|---:|---:|---:|",
    ]
    counts = (
        summary.arrivals,
        summary.departures,
        summary.in_port,
        summary.in_port_silent,
    )
    harbours = sorted({h for c in counts for h in c})
    for harbour in harbours:
        cells = " | ".join(str(c.get(harbour, 0)) for c in counts)
        lines.append(f"| {_md(harbour)} | {cells} |")
    if not harbours:
        lines.append("| (none) | 0 | 0 | 0 | 0 |")
    lines += [
        "",
        "In port at 24:00: vessels of open calls heard in the 24 hours before "
        "it. Not heard for 24 h: calls still open whose vessel was last heard "
        "earlier (at the quay with AIS off, or gone unseen).",
    ]
    lines += [
        "",
        "## Vessels",
        "",
        f"{summary.vessels_seen} vessels sent at least one position report.",
        "",
        "| class | vessels |",
        "|---|---:|",
    ]
    lines += [f"| {_md(c)} | {n} |" for c, n in summary.vessels_by_class.items()]
    lines += ["", "## Alerts", "", "| kind | severity | alerts |", "|---|---|---:|"]
    lines += [f"| {k} | {s} | {n} |" for (k, s), n in summary.alerts.items()]
    if not summary.alerts:
        lines.append("| (none) | | 0 |")
    lines += [
        "",
        "## Stations",
        "",
        "Position reports stored that day, by the station that delivered them.",
        "",
        "| station | position reports | first heard (WIB) | last heard (WIB) "
        "| heard that day |",
        "|---|---:|---|---|---|",
    ]
    for s in summary.stations:
        lines.append(
            f"| {_md(s['station'])} | {s['position_reports']} | "
            f"{s['first_heard_wib']} | {s['last_heard_wib']} | "
            f"{'yes' if s['heard_that_day'] else 'no'} |"
        )
    out.write("\n".join(lines) + "\n")


def _summary_csv(summary: DailySummary, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["day_wib", "section", "key", "detail", "value"])
    day = summary.day.isoformat()
    rows: list[tuple[str, str, str, Any]] = []
    for harbour, n in summary.arrivals.items():
        rows.append(("arrivals", harbour, "", n))
    for harbour, n in summary.departures.items():
        rows.append(("departures", harbour, "", n))
    for harbour, n in summary.in_port.items():
        rows.append(("in_port_at_end", harbour, "", n))
    for harbour, n in summary.in_port_silent.items():
        rows.append(("in_port_not_heard_24h", harbour, "", n))
    rows.append(("vessels_seen", "all", "", summary.vessels_seen))
    for vessel_class, n in summary.vessels_by_class.items():
        rows.append(("vessels_seen", vessel_class, "", n))
    for (kind, severity), n in summary.alerts.items():
        rows.append(("alerts", kind, severity, n))
    for s in summary.stations:
        rows.append(
            ("station", s["station"], "position_reports", s["position_reports"])
        )
        for key in ("first_heard_wib", "last_heard_wib"):
            rows.append(("station", s["station"], key, s[key]))
        heard = "yes" if s["heard_that_day"] else "no"
        rows.append(("station", s["station"], "heard_that_day", heard))
    for section, key, detail, value in rows:
        writer.writerow([day, section, key, detail, value])


def _md(text: str) -> str:
    # A pipe in a name would split a Markdown table cell.
    return text.replace("|", "\\|")


# --- checks and conversions -----------------------------------------------------


def _format_name(fmt: str) -> str:
    """A format as named in :data:`FORMATS`: ``KML`` and `` kml`` are ``kml``."""
    return fmt.strip().lower()


def _check_suffix(out: Path, fmt: str) -> None:
    """Warn when the file's name ends otherwise than the format's files do."""
    if not out.name.lower().endswith(_SUFFIX[fmt]):
        log.warning(
            "writing %s to %s, whose name does not end in %s: programs that "
            "go by the file name may misread it",
            fmt,
            out,
            _SUFFIX[fmt],
        )


def _unknown(what: str, value: str, choices: Iterable[str]) -> str:
    return f"unknown {what} {value!r}: choose one of {', '.join(choices)}"


def _period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        msg = "the period's start and end must carry a time zone (UTC or WIB)"
        raise ExportError(msg)
    if end < start:
        msg = (
            f"the period ends ({_utc_text(end)}) before it starts ({_utc_text(start)})"
        )
        raise ExportError(msg)
    return start.astimezone(UTC), end.astimezone(UTC)


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _wib_text(value: Any) -> str | None:
    """ISO 8601 in WIB with its offset, such as ``2026-06-17T08:00:00+07:00``."""
    if not isinstance(value, datetime):
        return None
    return value.astimezone(WIB).isoformat()


def _wib_human(value: datetime | None) -> str:
    """WIB for people, such as ``2026-06-17 08:00``; ``-`` when unknown."""
    return "-" if value is None else value.astimezone(WIB).strftime("%Y-%m-%d %H:%M")


def _no_progress(done: int, total: int) -> None:
    """Progress goes nowhere."""


# --- the command line ------------------------------------------------------------


def add_cli_commands(commands: Any) -> None:
    """Add ``export`` to the ``pantaulaut`` command's subparsers."""
    parser = commands.add_parser(
        "export",
        help="export port calls, vessels, tracks or alerts; or the daily summary",
        description=(
            "Write port calls, the vessel register, tracks or alerts of a period "
            "to a file, or the daily summary of one day (WIB). Times given "
            "without a zone are UTC; add +07:00 for WIB."
        ),
    )
    parser.add_argument("what", choices=[*EXPORTS, "daily-summary"])
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--store", help="store URL (default: the configuration's)")
    parser.add_argument(
        "--from", dest="start", metavar="TIME", help="start, ISO 8601 (e.g. 2026-06-17)"
    )
    parser.add_argument(
        "--to", dest="end", metavar="TIME", help="end, ISO 8601 (default: now)"
    )
    parser.add_argument("--day", metavar="DATE", help="daily-summary: the day (WIB)")
    parser.add_argument("--mmsi", type=int, help="only this vessel")
    parser.add_argument(
        "--format",
        dest="fmt",
        help=f"{', '.join(FORMATS)}; daily-summary: {', '.join(SUMMARY_FORMATS)}",
    )
    parser.add_argument("--out", type=Path, required=True, help="file to write")
    parser.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress bar on stderr (auto: when stderr is a terminal)",
    )
    parser.set_defaults(func=_cli_export)


def _cli_export(args: argparse.Namespace) -> int:
    from pantaulaut.config import load_config
    from pantaulaut.store.base import open_store

    request = _cli_request(args)
    config = load_config(args.config)
    url = args.store or config.store.url
    if url.startswith("sqlite://") and ":memory:" not in url:
        # Opening a SQLite URL creates the file: an export of a mistyped path
        # would quietly be empty.
        path = Path(url.removeprefix("sqlite://")[1:])
        if not path.exists():
            msg = (
                f"no store at {path} (store URL {url}): replay a recording into "
                "it first, or give --store or --config"
            )
            raise ExportError(msg)
    store = open_store(url)
    bar = _bar(args.progress, args.what)
    try:
        if args.what == "daily-summary":
            summary = daily_summary(
                store, request["day"], args.out, request["fmt"], progress=bar
            )
            written = f"the daily summary of {summary.day.isoformat()} (WIB)"
        else:
            rows = export(
                store,
                args.what,
                request["fmt"],
                args.out,
                start=request["start"],
                end=request["end"],
                mmsi=args.mmsi,
                progress=bar,
            )
            written = f"{rows} rows"
    finally:
        bar.close()
        store.close()
    print(f"wrote {written} to {args.out}", file=sys.stderr)
    return 0


def _cli_request(args: argparse.Namespace) -> dict[str, Any]:
    """Check the command line's dates and format before opening the store."""
    if args.what == "daily-summary":
        fmt = _format_name(args.fmt or "md")
        if fmt not in SUMMARY_FORMATS:
            raise ExportError(_unknown("daily summary format", fmt, SUMMARY_FORMATS))
        text = args.day or args.start
        if not text:
            raise ExportError("daily-summary needs --day YYYY-MM-DD (a day in WIB)")
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            msg = f"--day {text!r} is not a date such as 2026-06-17"
            raise ExportError(msg) from None
        return {"fmt": fmt, "day": day}
    fmt = _format_name(args.fmt) if args.fmt else _format_from_suffix(args.out)
    if fmt not in FORMATS:
        raise ExportError(_unknown("format", fmt, FORMATS))
    if not args.start:
        raise ExportError("--from is required: the start of the period, ISO 8601")
    start = _cli_time("--from", args.start)
    end = _cli_time("--to", args.end) if args.end else datetime.now(UTC)
    if len(args.end or "") == 10:
        # A date alone as the end means the whole of that day.
        end += timedelta(days=1) - timedelta(microseconds=1)
    _period(start, end)
    return {"fmt": fmt, "start": start, "end": end}


def _format_from_suffix(out: Path) -> str:
    for fmt, ending in _SUFFIX.items():
        if out.name.lower().endswith(ending) and fmt in FORMATS:
            return fmt
    raise ExportError(
        f"--format is required (or an --out ending in "
        f"{', '.join(_SUFFIX[f] for f in FORMATS)})"
    )


def _cli_time(option: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        msg = (
            f"{option} {text!r} is not an ISO 8601 time such as 2026-06-17, "
            "2026-06-17T08:00 or 2026-06-17T08:00+07:00"
        )
        raise ExportError(msg) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _Bar:
    """Progress on stderr through tqdm, or nothing."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            return
        if self._bar.total != total:
            self._bar.reset(total=total)
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _bar(mode: str, what: str) -> _Bar:
    if mode == "never" or (mode == "auto" and not sys.stderr.isatty()):
        return _Bar(None)
    from tqdm import tqdm

    return _Bar(tqdm(total=0, desc=what, unit="row", file=sys.stderr, leave=False))
