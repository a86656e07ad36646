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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
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
    "feature_label",
    "load_zones",
    "zone_kinds",
]

log = logging.getLogger(__name__)

ZONE_KINDS = frozenset(
    {"regency_waters", "provincial_waters", "harbour", "lane", "other"}
)
_KINDS = ZONE_KINDS
_EVENTS = frozenset({"entry", "exit"})
# The regency and its approaches; a zone wholly outside is almost surely a
# mistake such as lat/lon swapped.
_REGION = shapely.box(110.0, -10.0, 119.0, -2.0)
_REGION_TEXT = "110-119 E, 2-10 S"
# Up to this many zones, one position is checked against each zone's box in
# a loop, which costs less than building a point for the STRtree
# (scripts/bench-zones); beyond it the tree wins.
_LINEAR_MAX = 64


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
    """Zones with a spatial index for point queries.

    A point is in a zone when it lies inside or on its boundary. Shapely's
    ``intersects_xy`` tests it against the prepared geometries without
    building a point object. One position (:meth:`at`, per message) is
    checked against each zone's bounding box in turn while there are few
    zones, else the candidates come from an STRtree of the boxes; a batch
    (:meth:`at_many`, :meth:`pairs`) takes one tree query and one
    ``intersects_xy`` over every candidate pair, which is many times faster
    per position (``scripts/bench-zones``).
    """

    def __init__(self, zones: Sequence[Zone]) -> None:
        self.zones = list(zones)
        self.by_id = {z.id: z for z in self.zones}
        for zone in self.zones:
            shapely.prepare(zone.geometry)
        self._geoms = np.array([z.geometry for z in self.zones], dtype=object)
        self._tree = shapely.STRtree(self._geoms)
        # Most positions a station hears lie outside every zone; a test on
        # the zones' common bounds answers those without building a point.
        self._bounds = shapely.total_bounds(self._geoms) if self.zones else None
        self._boxes = [(*z.geometry.bounds, z) for z in self.zones[:_LINEAR_MAX]]

    def __len__(self) -> int:
        return len(self.zones)

    def at(self, lon_deg: float, lat_deg: float) -> list[Zone]:
        """Zones that contain the point (boundary included)."""
        if self._bounds is None:
            return []
        west, south, east, north = self._bounds
        if not (west <= lon_deg <= east and south <= lat_deg <= north):
            return []
        if len(self.zones) <= _LINEAR_MAX:
            return [
                zone
                for w, s, e, n, zone in self._boxes
                if w <= lon_deg <= e
                and s <= lat_deg <= n
                and shapely.intersects_xy(zone.geometry, lon_deg, lat_deg)
            ]
        candidates = self._tree.query(shapely.Point(lon_deg, lat_deg))
        if len(candidates) == 0:
            return []
        candidates.sort()
        hits = shapely.intersects_xy(self._geoms[candidates], lon_deg, lat_deg)
        return [self.zones[i] for i in candidates[hits]]

    def at_many(
        self,
        lons_deg: Sequence[float] | NDArray[np.float64],
        lats_deg: Sequence[float] | NDArray[np.float64],
    ) -> list[list[Zone]]:
        """Zones of each of many points at once, in the order of :meth:`at`."""
        xs = np.asarray(lons_deg, dtype=float)
        ys = np.asarray(lats_deg, dtype=float)
        out: list[list[Zone]] = [[] for _ in range(len(xs))]
        if self._bounds is None or len(xs) == 0:
            return out
        points, zones = self.pairs(xs, ys)
        for p, z in zip(points.tolist(), zones.tolist(), strict=True):
            out[p].append(self.zones[z])
        return out

    def pairs(
        self, lons_deg: NDArray[np.float64], lats_deg: NDArray[np.float64]
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Every (point index, zone index) with the point in the zone, sorted.

        The vectorised core of :meth:`at_many`: one bounding-box query for
        the whole batch, one ``intersects_xy`` over the candidate pairs.
        """
        empty = np.zeros(0, dtype=np.intp)
        if self._bounds is None or len(lons_deg) == 0:
            return empty, empty
        points = shapely.points(lons_deg, lats_deg)
        p, z = self._tree.query(points)
        hits = shapely.intersects_xy(self._geoms[z], lons_deg[p], lats_deg[p])
        p, z = p[hits], z[hits]
        order = np.lexsort((z, p))
        return p[order], z[order]


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
    # Where each zone came from, for the message on a duplicate id.
    origins: list[str] = []
    for one in paths:
        read = _read_zone_file(one)
        zones.extend(read)
        origins.extend(
            f"{feature_label(index, zone.properties)} of {one}"
            for index, zone in enumerate(read)
        )
    _check_unique(zones, origins)
    return ZoneSet(zones)


def _paths(path: Path | str | Sequence[Path | str] | None) -> list[Path]:
    if isinstance(path, str | Path):
        return [Path(path)]
    paths = [Path(p) for p in path or ()]
    return paths or [default_zones_path()]


def _read_zone_file(path: Path) -> list[Zone]:
    name = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"cannot read the zone file: {exc}"
        raise ZoneError(msg, path=name) from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        msg = "not a GeoJSON FeatureCollection"
        raise ZoneError(msg, path=name)
    features = document.get("features", [])
    if not isinstance(features, list):
        msg = "'features' is not a list"
        raise ZoneError(msg, path=name)
    zones = []
    for index, feature in enumerate(features):
        try:
            zones.append(_zone(index, feature))
        except ZoneError as exc:
            raise ZoneError(exc.problem, exc.feature, name) from None
    log.info("loaded %d zones from %s", len(zones), path)
    return zones


def feature_label(index: int, props: Mapping[str, Any]) -> str:
    """How a message names a feature: its number, index, id and name if known.

    Features are counted from 1 as a reader counts them; the 0-based index
    into ``features`` follows, as a program would look it up:
    ``feature #16 (index 15, id 'x', name 'X')``.
    """
    parts = [f"index {index}"]
    if "id" in props:
        parts.append(f"id {str(props['id'])!r}")
    if "name" in props:
        parts.append(f"name {str(props['name'])!r}")
    return f"feature #{index + 1} ({', '.join(parts)})"


def _zone(index: int, feature: Any) -> Zone:
    if not isinstance(feature, dict):
        raise ZoneError("is not a GeoJSON Feature object", feature_label(index, {}))
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        msg = "'properties' is not an object of names and values"
        raise ZoneError(msg, feature_label(index, {}))
    props = dict(properties)
    label = feature_label(index, props)
    zone_id = str(props.get("id", index))
    raw_geometry = feature.get("geometry")
    if not isinstance(raw_geometry, dict):
        found = (
            "no geometry" if raw_geometry is None else "a geometry that is no object"
        )
        msg = (
            f"has {found}: a zone needs a Polygon or MultiPolygon "
            '("geometry": {"type": "Polygon", "coordinates": [...]})'
        )
        raise ZoneError(msg, label)
    try:
        geometry = shape(raw_geometry)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        msg = f"geometry is not valid GeoJSON: {exc}"
        raise ZoneError(msg, label) from exc
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        msg = f"geometry is a {geometry.geom_type}, expected Polygon or MultiPolygon"
        raise ZoneError(msg, label)
    _check_place(geometry, label)
    try:
        return Zone(
            id=zone_id,
            name=str(props.get("name", zone_id)),
            kind=_kind(props.get("kind", "other")),
            geometry=geometry,
            alert_on=_alert_on(props.get("alert_on", [])),
            severity=_severity(props.get("severity", "info")),
            properties=props,
        )
    except ZoneError as exc:
        raise ZoneError(exc.problem, label) from None


def _check_place(geometry: BaseGeometry, label: str) -> None:
    """Refuse a geometry that is broken, swapped or far from the regency.

    RFC 7946 section 3.1.1 orders a position longitude first; a file written
    latitude first puts the regency (about 114 E, 6 S) at 6 S as longitude
    and 114 as latitude, outside the valid range of latitudes altogether.
    """
    xmin, ymin, xmax, ymax = geometry.bounds
    bounds = f"lon {xmin:.3f} to {xmax:.3f}, lat {ymin:.3f} to {ymax:.3f}"
    swapped = shapely.transform(geometry, lambda c: c[:, ::-1])
    if not geometry.intersects(_REGION) and swapped.intersects(_REGION):
        msg = (
            f"longitude and latitude are swapped: the geometry spans {bounds}; "
            "GeoJSON gives each position as [longitude, latitude]"
        )
        raise ZoneError(msg, label)
    if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
        msg = f"coordinates out of range ({bounds}): not WGS 84 longitude/latitude"
        raise ZoneError(msg, label)
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        msg = f"geometry is invalid: {reason}"
        if reason.startswith(("Self-intersection", "Ring Self-intersection")):
            msg = f"geometry intersects itself: {reason}"
        raise ZoneError(msg, label)
    if not geometry.intersects(_REGION):
        msg = f"lies at {bounds}, nowhere near the regency ({_REGION_TEXT})"
        raise ZoneError(msg, label)


def _kind(kind: Any) -> str:
    if kind not in _KINDS:
        msg = f"kind {kind!r} is not one of {sorted(_KINDS)}"
        raise ZoneError(msg)
    return str(kind)


def zone_kinds() -> frozenset[str]:
    """The kinds a zone may have."""
    return _KINDS


def _alert_on(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not set(value) <= _EVENTS:
        msg = f"alert_on {value!r} must be a list of 'entry' and 'exit'"
        raise ZoneError(msg)
    return frozenset(value)


def _severity(value: Any) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        msg = f"severity {value!r} is not one of {[s.value for s in Severity]}"
        raise ZoneError(msg) from None


def _check_unique(zones: Iterable[Zone], origins: Sequence[str]) -> None:
    """Refuse two zones with one id; name both features and their files."""
    seen: dict[str, str] = {}
    for zone, origin in zip(zones, origins, strict=True):
        if zone.id in seen:
            msg = (
                f"used by more than one feature: {seen[zone.id]} and {origin}; "
                "give each zone its own 'id'"
            )
            raise ZoneError(msg, f"id {zone.id!r}")
        seen[zone.id] = origin


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
        by_id = self.zones.by_id
        crossings = [Crossing(by_id[i], True) for i in sorted(now - before)]
        crossings += [Crossing(by_id[i], False) for i in sorted(before - now)]
        return here, crossings

    def use(
        self, zones: ZoneSet, positions: Mapping[int, tuple[float, float]]
    ) -> dict[int, frozenset[str]]:
        """Check against other zones from now on (a zone file was reloaded).

        Every vessel is placed afresh, in one batch, at its latest position
        (lon, lat), so that a zone drawn anew over a vessel raises no crossing:
        the vessel did not move, the line did.

        Returns:
            The ids of the zones each vessel is now in.
        """
        mmsis = list(positions)
        lons = [positions[m][0] for m in mmsis]
        lats = [positions[m][1] for m in mmsis]
        placed = zones.at_many(lons, lats)
        self.zones = zones
        self._inside = {
            m: frozenset(z.id for z in here)
            for m, here in zip(mmsis, placed, strict=True)
        }
        return dict(self._inside)
