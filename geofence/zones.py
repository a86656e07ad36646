"""Zones of the regency's waters, read from GeoJSON, and entry/exit events.

A zone file is a GeoJSON FeatureCollection (RFC 7946: WGS 84, lon/lat order)
of Polygon or MultiPolygon features. Each feature's properties:

``id``
    Unique slug; defaults to the feature's index.
``name``
    Name shown to operators.
``kind``
    ``regency_waters``, ``provincial_waters``, ``harbour``, ``lane`` or
    ``other``.
``alert_on``
    Which crossings raise an alert: a list of ``entry`` and ``exit``.
``severity``
    Severity of those alerts (default ``info``).

Other properties are kept as they are (the built layers carry their sources
and figures there). Several files load as one set, ids unique across them:
``load_zones([default_zones_path(), Path("alki2.geojson")])``. The default
file is built by ``pantaulaut geodata build`` (see
:mod:`pantaulaut.geofence.geodata`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from pantaulaut.errors import ZoneError
from pantaulaut.model import Severity

__all__ = [
    "Crossing",
    "Zone",
    "ZoneSet",
    "ZoneTracker",
    "default_zones_path",
    "load_zones",
]

log = logging.getLogger(__name__)

_KINDS = frozenset({"regency_waters", "provincial_waters", "harbour", "lane", "other"})
_EVENTS = frozenset({"entry", "exit"})
# The regency and its approaches; a zone wholly outside is almost surely a
# mistake such as lat/lon swapped.
_REGION = shapely.box(110.0, -10.0, 119.0, -2.0)


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone and what crossing it raises."""

    id: str
    name: str
    kind: str
    geometry: BaseGeometry
    alert_on: frozenset[str] = frozenset()
    severity: Severity = Severity.INFO
    properties: dict[str, Any] = field(default_factory=dict)


class ZoneSet:
    """Zones with a spatial index for point queries."""

    def __init__(self, zones: Sequence[Zone]) -> None:
        self.zones = list(zones)
        for zone in self.zones:
            shapely.prepare(zone.geometry)
        self._tree = shapely.STRtree([z.geometry for z in self.zones])
        # Most positions a station hears lie outside every zone; a test on
        # the zones' common bounds answers those without building a point.
        self._bounds = (
            shapely.total_bounds([z.geometry for z in self.zones])
            if self.zones
            else None
        )

    def __len__(self) -> int:
        return len(self.zones)

    def at(self, lon_deg: float, lat_deg: float) -> list[Zone]:
        """Zones that contain the point (boundary included)."""
        if self._bounds is None:
            return []
        west, south, east, north = self._bounds
        if not (west <= lon_deg <= east and south <= lat_deg <= north):
            return []
        point = shapely.Point(lon_deg, lat_deg)
        hits = self._tree.query(point, predicate="intersects")
        return [self.zones[i] for i in sorted(hits)]


def default_zones_path() -> Path:
    """The regency's default zone file shipped in ``pantaulaut.data``."""
    return Path(str(resources.files("pantaulaut.data").joinpath("zones.geojson")))


def load_zones(path: Path | str | Sequence[Path | str] | None = None) -> ZoneSet:
    """Read and check a zone file, or several.

    Args:
        path: A zone file, or a sequence of them whose zones are joined in
            order (such as the default zones and the optional
            ``alki2.geojson``); ``None`` or an empty sequence means the
            regency's default zones.

    Raises:
        ZoneError: A file is unreadable, not GeoJSON, or a feature is
            invalid, or two features share an id; the message names the
            feature and the fault.
    """
    paths = _paths(path)
    zones: list[Zone] = []
    for one in paths:
        zones.extend(_read_zone_file(one))
    _check_unique(zones)
    return ZoneSet(zones)


def _paths(path: Path | str | Sequence[Path | str] | None) -> list[Path]:
    if isinstance(path, str | Path):
        return [Path(path)]
    paths = [Path(p) for p in path or ()]
    return paths or [default_zones_path()]


def _read_zone_file(path: Path) -> list[Zone]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"cannot read zone file {str(path)!r}: {exc}"
        raise ZoneError(msg) from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        msg = f"{str(path)!r} is not a GeoJSON FeatureCollection"
        raise ZoneError(msg)
    zones = [_zone(i, f) for i, f in enumerate(document.get("features", []))]
    log.info("loaded %d zones from %s", len(zones), path)
    return zones


def _zone(index: int, feature: Any) -> Zone:
    props = dict(feature.get("properties") or {}) if isinstance(feature, dict) else {}
    zone_id = str(props.get("id", index))
    try:
        geometry = shape(feature["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        msg = f"geometry is not valid GeoJSON: {exc}"
        raise ZoneError(msg, zone_id) from exc
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        msg = f"geometry is a {geometry.geom_type}, expected Polygon or MultiPolygon"
        raise ZoneError(msg, zone_id)
    if not geometry.is_valid:
        msg = f"geometry is invalid: {shapely.is_valid_reason(geometry)}"
        raise ZoneError(msg, zone_id)
    if not geometry.intersects(_REGION):
        msg = (
            f"lies at {geometry.bounds}, nowhere near the regency "
            "(are longitude and latitude swapped?)"
        )
        raise ZoneError(msg, zone_id)
    return Zone(
        id=zone_id,
        name=str(props.get("name", zone_id)),
        kind=_kind(zone_id, props.get("kind", "other")),
        geometry=geometry,
        alert_on=_alert_on(zone_id, props.get("alert_on", [])),
        severity=_severity(zone_id, props.get("severity", "info")),
        properties=props,
    )


def _kind(zone_id: str, kind: Any) -> str:
    if kind not in _KINDS:
        msg = f"kind {kind!r} is not one of {sorted(_KINDS)}"
        raise ZoneError(msg, zone_id)
    return str(kind)


def _alert_on(zone_id: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not set(value) <= _EVENTS:
        msg = f"alert_on {value!r} must be a list of 'entry' and 'exit'"
        raise ZoneError(msg, zone_id)
    return frozenset(value)


def _severity(zone_id: str, value: Any) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        msg = f"severity {value!r} is not one of {[s.value for s in Severity]}"
        raise ZoneError(msg, zone_id) from None


def _check_unique(zones: Iterable[Zone]) -> None:
    seen: set[str] = set()
    for zone in zones:
        if zone.id in seen:
            msg = "id is used by more than one feature"
            raise ZoneError(msg, zone.id)
        seen.add(zone.id)


@dataclass(frozen=True, slots=True)
class Crossing:
    """A vessel entered or left a zone."""

    zone: Zone
    entered: bool


class ZoneTracker:
    """Remembers which zones each vessel is in and reports crossings."""

    def __init__(self, zones: ZoneSet) -> None:
        self.zones = zones
        self._inside: dict[int, frozenset[str]] = {}

    def update(
        self, mmsi: int, lon_deg: float, lat_deg: float
    ) -> tuple[list[Zone], list[Crossing]]:
        """Place a vessel; return the zones it is in and what it crossed.

        The first position of a vessel raises no crossing: the desk cannot
        know whether it came in or was switched on inside.
        """
        here = self.zones.at(lon_deg, lat_deg)
        now = frozenset(z.id for z in here)
        before = self._inside.get(mmsi)
        self._inside[mmsi] = now
        if before is None or before == now:
            return here, []
        by_id = {z.id: z for z in self.zones.zones}
        crossings = [Crossing(by_id[i], True) for i in sorted(now - before)]
        crossings += [Crossing(by_id[i], False) for i in sorted(before - now)]
        return here, crossings
