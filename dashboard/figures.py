"""Figure building for the desk's maps, kept apart from Dash so tests can call it.

Everything here is plain Python over the store's records: read a
:class:`DeskSnapshot` from a store, turn the zones into a :class:`ZoneOverlay`
and the shipped geodata into :class:`MapLayers` once, and build figures from
them. No function here needs a browser or a running Dash app; the texts come
from the desk's catalogues (:func:`pantaulaut.dashboard.i18n.t`), in the
request's language.

The maps use MapLibre's ``white-bg`` style with no text layers, because text
on a MapLibre map needs glyphs from a font server and the desk must work with
no internet. Headings are drawn as short line segments whose length is fixed
on screen (it follows the map's zoom), since rotated marker symbols need a
sprite sheet that ``white-bg`` does not have.

The live map is built in two parts. :func:`base_figure` holds what does not
change between refreshes (land, zones, ALKI, each a switchable layer group)
followed by a fixed number of empty vessel slots; :func:`vessel_slots` fills
the slots from the vessels in the operator's view, decluttered by
:func:`declutter` when zoomed out. A refresh replaces only the slots.
"""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any

import plotly.graph_objects as go
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from pantaulaut.dashboard.i18n import (
    alert_summary,
    catalogue,
    current_language,
    has,
    kind_text,
    severity_text,
    t,
)
from pantaulaut.geofence.zones import Zone, ZoneSet
from pantaulaut.model import Alert, AlertState, PositionReport, Severity, Vessel
from pantaulaut.store.base import Store

__all__ = [
    "BEACON_CLASSES",
    "LAYER_GROUPS",
    "SHIP_CLASSES",
    "SLOT_COUNT",
    "WIB",
    "DeskSnapshot",
    "MapLayers",
    "MapView",
    "ShipClass",
    "ZoneOverlay",
    "base_figure",
    "declutter",
    "format_wib",
    "heading_segment",
    "layer_indices",
    "load_map_layers",
    "load_snapshot",
    "load_view",
    "map_figure",
    "ship_class",
    "slot_index",
    "sorted_alerts",
    "track_trace",
    "vessel_hover",
    "vessel_slots",
    "view_from_relayout",
    "zone_overlay",
    "zoom_from_relayout",
]

log = logging.getLogger(__name__)

# ITU-R M.1371-5 table 53: first digits with cargo categories A-D in the
# second, and "other types" (9x); table 45: status 15 is "not defined".
_SHIP_TYPE_GROUPS = (2, 4, 6, 7, 8)
_CARGO_LETTERS = "ABCD"
_OTHER_GROUP = 9
_LAST_SHIP_TYPE = 99
_STATUS_NOT_DEFINED = 15

# Alerts the map and its list show: all not yet resolved.
ACTIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)

WIB = timezone(timedelta(hours=7), "WIB")
"""Western Indonesian Time, the desk's clock (UTC+7, no daylight saving)."""

BEACON_CLASSES = frozenset({"SART", "MOB", "EPIRB"})
_FIXED_CLASSES = frozenset({"AtoN", "base station"})

# Sumenep regency, from Madura's east end to Kangean and Masalembu: the view
# when there are no zones to fit.
_DEFAULT_CENTER = {"lat": -6.6, "lon": 115.0}
_DEFAULT_ZOOM = 6.8
# The map's size the first view is fitted to (pixels); the page is larger.
_FIT_WIDTH_PX = 900
_FIT_HEIGHT_PX = 600
# The map's size assumed when the browser has not said which part it shows.
_VIEW_WIDTH_PX = 1600
_VIEW_HEIGHT_PX = 1000
# MapLibre draws the world 512 pixels wide at zoom 0.
_WORLD_PX_AT_ZOOM_0 = 512.0
_HEADING_PX = 18.0
# Zone outlines are simplified for display (degrees, about 50 m).
_ZONE_SIMPLIFY_DEG = 0.0005
_COORD_DIGITS = 5
# Decluttering: one ordinary vessel per square of this many screen pixels,
# below this zoom (harbour views show every vessel).
DECLUTTER_CELL_PX = 16.0
DECLUTTER_BELOW_ZOOM = 11.0
# Most ordinary markers drawn at once; the squares grow until they fit.
MAX_MARKERS = 1500

ALERT_RED = "#d40000"
_TRACK_COLOUR = "#ff00aa"
_LAND_COLOUR = "#e8dfc8"
_LAND_LINE = "#8a7a55"
_ALKI_COLOUR = "#c0392b"


@dataclass(frozen=True, slots=True)
class ShipClass:
    """A colour class of the map legend.

    Attributes:
        key: Stable key (``fishing``, ``passenger``, ...).
        colour: Marker colour.
    """

    key: str
    colour: str

    @property
    def label(self) -> str:
        """The class's name in the legend, in the request's language."""
        return t(f"map.class.{self.key}")


SHIP_CLASSES: tuple[ShipClass, ...] = (
    ShipClass("fishing", "#009e73"),
    ShipClass("passenger", "#0050b4"),
    ShipClass("cargo", "#a6611a"),
    ShipClass("tanker", "#b0479a"),
    ShipClass("service", "#17a5c4"),
    ShipClass("other", "#7f7f7f"),
    ShipClass("fixed", "#222222"),
)

# Halo colour by the worst open alert of a vessel.
_HALO_GROUPS: tuple[tuple[str, str, frozenset[Severity]], ...] = (
    ("critical", ALERT_RED, frozenset({Severity.CRITICAL})),
    ("high", "#ff7b00", frozenset({Severity.HIGH, Severity.MEDIUM})),
    ("low", "#e0b000", frozenset({Severity.LOW, Severity.INFO})),
)

_ZONE_STYLE: dict[str, tuple[str, float, float]] = {
    # kind: (colour, fill opacity, line width)
    "regency_waters": ("#1f77b4", 0.07, 1.5),
    "provincial_waters": ("#6b8fb3", 0.03, 1.0),
    "harbour": ("#7b3fa0", 0.22, 2.0),
    "lane": ("#8c8c8c", 0.10, 1.0),
    "other": ("#b5651d", 0.10, 1.0),
}
# Drawn in this order, so harbours lie on top of the wide waters.
_ZONE_ORDER = ("provincial_waters", "regency_waters", "lane", "other", "harbour")

LAYER_GROUPS: tuple[str, ...] = ("land", "bands", "harbours", "lanes", "alki", "other")
"""The map's switchable layer groups, in the layer switch's order."""
_GROUP_OF_KIND = {
    "regency_waters": "bands",
    "provincial_waters": "bands",
    "harbour": "harbours",
    "lane": "lanes",
    "other": "other",
}
_ALKI_ID_PREFIX = "alki"

_BEACON_KEYS = {"SART": "sart", "MOB": "mob", "EPIRB": "epirb"}
_CLASS_KEYS = {
    "AtoN": "aton",
    "base station": "base_station",
    "SAR aircraft": "sar_aircraft",
}

# The vessel slots of the live map, after the fixed traces, in drawing order.
_SLOT_KEYS: tuple[str, ...] = (
    *(f"heading-{c.key}" for c in SHIP_CLASSES),
    *(f"halo-{g[0]}" for g in reversed(_HALO_GROUPS)),
    "track",
    *(f"points-{c.key}" for c in SHIP_CLASSES),
    "points-beacon",
    "selected",
)
SLOT_COUNT = len(_SLOT_KEYS)
"""How many vessel traces the live map has, whatever it shows."""


def slot_index(key: str) -> int:
    """Where the slot ``key`` (such as ``track``) is among the vessel slots."""
    return _SLOT_KEYS.index(key)


@dataclass(frozen=True, slots=True)
class DeskSnapshot:
    """What the desk shows at one refresh, read from the store.

    Attributes:
        vessels: Vessels heard within the recent window, plus those with open
            alerts even when heard earlier.
        alerts: Open alerts, most severe first, then newest first.
        latest: The newest ``last_seen`` in the store (the data clock).
        since: Start of the recent window, or None when the store is empty.
    """

    vessels: list[Vessel] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    latest: datetime | None = None
    since: datetime | None = None

    @property
    def mapped(self) -> list[Vessel]:
        """Vessels that have a position to plot."""
        return [
            v for v in self.vessels if v.lat_deg is not None and v.lon_deg is not None
        ]

    def alerts_by_mmsi(self) -> dict[int, list[Alert]]:
        """Open alerts per MMSI, most severe first."""
        found: dict[int, list[Alert]] = {}
        for alert in self.alerts:
            if alert.mmsi is not None:
                found.setdefault(alert.mmsi, []).append(alert)
        return found


@dataclass(frozen=True, slots=True)
class ZoneOverlay:
    """Zones drawn once as map layers (fills) and traces (outlines, legend).

    Attributes:
        layers: MapLibre GeoJSON fill layers for ``layout.map.layers``, one
            per zone kind, with ``name`` ``zone-fill-<kind>``.
        traces: Scattermap outline traces, one per zone; ``meta`` holds the
            zone's id and kind (the legend label is set when drawn).
        center: Centre of the first view.
        zoom: Zoom of the first view.
    """

    layers: list[dict[str, Any]]
    traces: list[dict[str, Any]]
    center: dict[str, float]
    zoom: float


@dataclass(frozen=True, slots=True)
class MapLayers:
    """The shipped geodata drawn under the zones, read once.

    Attributes:
        land: Land polygons (coastline) as a GeoJSON FeatureCollection.
        alki: The ALKI II corridor (approximate, unverified), unless the
            zones in force hold it already.
    """

    land: dict[str, Any] | None = None
    alki: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MapView:
    """The part of the map the operator looks at.

    Attributes:
        center: ``{"lat": ..., "lon": ...}``.
        zoom: MapLibre zoom.
        bbox: (west, south, east, north) in degrees.
    """

    center: dict[str, float]
    zoom: float
    bbox: tuple[float, float, float, float]


def format_wib(value: datetime | None) -> str:
    """A UTC time as the desk reads it, such as ``2026-06-17 07:35 WIB``.

    >>> format_wib(datetime(2026, 6, 17, 0, 35, tzinfo=UTC))
    '2026-06-17 07:35 WIB'
    """
    if value is None:
        return t("common.not_available")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(WIB).strftime("%Y-%m-%d %H:%M WIB")


def sorted_alerts(alerts: Iterable[Alert]) -> list[Alert]:
    """Alerts most severe first, then newest first."""
    return sorted(alerts, key=lambda a: (a.severity.rank, -a.time.timestamp()))


def load_snapshot(
    store: Store, recent_minutes: float, alert_limit: int = 200
) -> DeskSnapshot:
    """Read what the desk shows from the store.

    The recent window ends at the newest ``last_seen`` in the store, not at
    the wall clock, so that a replay of an old recording shows its traffic.

    Args:
        store: The store to read.
        recent_minutes: How far back from the newest data vessels are shown.
        alert_limit: Most open alerts read.

    Raises:
        StoreError: The store cannot be read.
    """
    return load_view(store, recent_minutes, None, alert_limit)


def load_view(
    store: Store,
    recent_minutes: float,
    bbox: tuple[float, float, float, float] | None,
    alert_limit: int = 200,
    *,
    light: bool = False,
) -> DeskSnapshot:
    """Like :func:`load_snapshot`, with only the vessels inside ``bbox``.

    Every alert not yet resolved is read, acknowledged ones too: a beacon
    someone is dealing with still transmits and must still stand out (the
    alert list shows them all, as the inbox does by default); the store
    filters the vessels to the box, so a view of one harbour reads only its
    vessels.

    Args:
        store: The store to read.
        recent_minutes: How far back from the newest data vessels are shown.
        bbox: (west, south, east, north) in degrees; None: everywhere.
        alert_limit: Most open alerts read.
        light: Read only what places and colours a marker
            (``Store.vessel_marks``), to thin out before reading in full.

    Raises:
        StoreError: The store cannot be read.
    """
    newest = store.vessels(limit=1)
    latest = newest[0].last_seen if newest else None
    alerts = sorted_alerts(store.alerts(states=ACTIVE_STATES, limit=alert_limit))
    if latest is None:
        return DeskSnapshot([], alerts, None, None)
    since = latest - timedelta(minutes=recent_minutes)
    if light:
        vessels = store.vessel_marks(seen_since=since, bbox=bbox)
    else:
        vessels = store.vessels(seen_since=since, bbox=bbox)
    known = {v.mmsi for v in vessels}
    # A vessel with an open alert stays on the map after it falls silent.
    silent = sorted({a.mmsi for a in alerts if a.mmsi is not None} - known)
    if silent:
        for vessel in store.vessels_by_mmsi(silent):
            if bbox is None or _inside(vessel, bbox):
                vessels.append(vessel)
    return DeskSnapshot(vessels, alerts, latest, since)


def _inside(vessel: Vessel, bbox: tuple[float, float, float, float]) -> bool:
    if vessel.lat_deg is None or vessel.lon_deg is None:
        return False
    west, south, east, north = bbox
    return west <= vessel.lon_deg <= east and south <= vessel.lat_deg <= north


def ship_class(vessel: Vessel) -> str:
    """The legend class of a vessel: a key of :data:`SHIP_CLASSES` or ``beacon``."""
    if vessel.vessel_class in BEACON_CLASSES:
        return "beacon"
    if vessel.vessel_class in _FIXED_CLASSES:
        return "fixed"
    if vessel.vessel_class == "SAR aircraft":
        return "service"
    code = vessel.ship_type
    if code is None:
        return "other"
    if code == 30:
        return "fishing"
    ranges = ((50, "service"), (60, "passenger"), (70, "cargo"), (80, "tanker"))
    for start, key in ranges:
        if start <= code <= start + 9:
            return key
    return "other"


def ship_type_words(code: int | None) -> str | None:
    """A ship type code in the request's language (ITU-R M.1371-5, table 53).

    The store keeps :func:`pantaulaut.ingest.identity.ship_type_text`'s
    English; the desk says the same from the code in its own words.
    """
    if code is None or code <= 0 or code > _LAST_SHIP_TYPE:
        return None
    group = code // 10
    if group in (3, 5) and has(f"common.ship_type.{code}"):
        return t(f"common.ship_type.{code}")
    if group in _SHIP_TYPE_GROUPS:
        base = t(f"common.ship_type.{group * 10}")
        category = code % 10
        if 1 <= category <= len(_CARGO_LETTERS):
            letter = _CARGO_LETTERS[category - 1]
            return t("common.ship_type.hazardous", base=base, category=letter)
        return base
    if group == _OTHER_GROUP:
        return t("common.ship_type.90")
    return t("common.ship_type.reserved")


def status_words(status: int | None) -> str | None:
    """A navigational status in the request's language.

    ITU-R M.1371-5, table 45; None for 15, "not defined".
    """
    if status is None or status == _STATUS_NOT_DEFINED:
        return None
    key = f"common.nav_status.{status}"
    return t(key) if has(key) else t("common.nav_status.reserved")


def type_text(vessel: Vessel) -> str:
    """The vessel's type in words, in the request's language."""
    if vessel.vessel_class in _BEACON_KEYS:
        return t(f"map.beacon.{_BEACON_KEYS[vessel.vessel_class]}")
    words = ship_type_words(vessel.ship_type)
    if words:
        return words
    if vessel.vessel_class in _CLASS_KEYS:
        return t(f"map.type.{_CLASS_KEYS[vessel.vessel_class]}")
    if vessel.ship_type:
        return t("map.type.code", code=vessel.ship_type)
    return t("map.type.unknown")


def _number(value: float | None, unit: str, digits: int = 1) -> str:
    return t("common.not_available") if value is None else f"{value:.{digits}f}{unit}"


def vessel_hover(
    vessel: Vessel,
    alerts: Sequence[Alert] = (),
    texts: Mapping[str, str] | None = None,
) -> str:
    """Hover text of one vessel (plotly's subset of HTML, escaped).

    Shows name, MMSI, flag, type in words, speed, course, heading, status,
    last seen in WIB, station, and the vessel's open alerts.

    Args:
        vessel: The vessel.
        alerts: Its open alerts, most severe first.
        texts: The request language's catalogue, when the caller has it
            already (one look-up for many vessels).
    """
    esc = html.escape
    texts = catalogue(current_language()) if texts is None else texts
    name = vessel.name or texts["map.hover.no_name"]
    flag = vessel.flag or texts["map.hover.flag_unknown"]
    kind = type_text(vessel)
    if vessel.vessel_class in ("A", "B"):
        kind += " · " + texts["map.hover.ais_class"].format(cls=vessel.vessel_class)
    lines = [
        f"<b>{esc(name)}</b>",
        f"MMSI {vessel.mmsi} · {esc(flag)}",
        esc(kind),
        texts["map.hover.motion"].format(
            speed=_number(vessel.speed_kn, " kn"),
            course=_number(vessel.course_deg, "°", 0),
            heading=_number(vessel.heading_deg, "°", 0),
        ),
    ]
    doing = status_words(vessel.nav_status) or vessel.nav_status_text
    if doing:
        status = texts["map.hover.status"].format(status=doing)
        lines.append(esc(status))
    if vessel.destination:
        going = texts["map.hover.destination"].format(destination=vessel.destination)
        lines.append(esc(going))
    seen = format_wib(vessel.last_seen)
    lines.append(texts["map.hover.last_seen"].format(time=seen))
    station = vessel.station or texts["map.hover.station_unknown"]
    lines.append(esc(texts["map.hover.station"].format(station=station)))
    kinds: set[str] = set()
    for alert in alerts:
        # One line per kind: the same condition may be open twice (zones).
        if alert.kind.value in kinds or len(kinds) == 4:
            continue
        kinds.add(alert.kind.value)
        lines.append(_alert_line(alert))
    return "<br>".join(lines)


def _alert_line(alert: Alert) -> str:
    label = t("map.hover.alert", severity=severity_text(alert.severity.value))
    since = t(
        "map.hover.alert_since",
        kind=kind_text(alert.kind.value),
        time=format_wib(alert.time),
    )
    return f"<b>{html.escape(label)}</b>: {html.escape(since)}"


def zoom_from_relayout(relayout: Mapping[str, Any] | None, default: float) -> float:
    """The map's current zoom from a graph's ``relayoutData``, else ``default``."""
    if not relayout:
        return default
    value = relayout.get("map.zoom")
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return default


def view_from_relayout(
    relayout: Mapping[str, Any] | None,
    default_center: Mapping[str, float],
    default_zoom: float,
) -> MapView:
    """The operator's view from the map's ``relayoutData``.

    The box is the one MapLibre reports (``map._derived``) when present;
    otherwise it is worked out from the centre and zoom for a map of
    1600 by 1000 pixels, which is larger than the desk's map.
    """
    relayout = relayout or {}
    zoom = zoom_from_relayout(relayout, default_zoom)
    center = dict(default_center)
    given = relayout.get("map.center")
    if isinstance(given, Mapping):
        lat, lon = _finite(given.get("lat")), _finite(given.get("lon"))
        if lat is not None and lon is not None:
            center = {"lat": lat, "lon": lon}
    derived = relayout.get("map._derived")
    corners = derived.get("coordinates") if isinstance(derived, Mapping) else None
    if isinstance(corners, list) and len(corners) >= 3:
        try:
            lons = [float(c[0]) for c in corners]
            lats = [float(c[1]) for c in corners]
        except (TypeError, ValueError, IndexError):
            lons, lats = [], []
        if lons and all(map(math.isfinite, lons + lats)):
            return MapView(center, zoom, (min(lons), min(lats), max(lons), max(lats)))
    return MapView(center, zoom, _bbox_around(center, zoom))


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _bbox_around(
    center: Mapping[str, float], zoom: float
) -> tuple[float, float, float, float]:
    px_per_deg = _WORLD_PX_AT_ZOOM_0 * 2.0**zoom / 360.0
    half_lon = _VIEW_WIDTH_PX / 2 / px_per_deg
    half_lat = _VIEW_HEIGHT_PX / 2 / px_per_deg * math.cos(math.radians(center["lat"]))
    return (
        center["lon"] - half_lon,
        max(-90.0, center["lat"] - half_lat),
        center["lon"] + half_lon,
        min(90.0, center["lat"] + half_lat),
    )


def heading_segment(
    lat_deg: float, lon_deg: float, bearing_deg: float, zoom: float, length_px: float
) -> tuple[float, float]:
    """End point of a line ``length_px`` screen pixels long at ``zoom``.

    Web Mercator stretches latitude by 1/cos(lat), so the same screen length
    north is fewer degrees of latitude than east is degrees of longitude.
    """
    px_per_deg = _WORLD_PX_AT_ZOOM_0 * 2.0**zoom / 360.0
    bearing = math.radians(bearing_deg)
    dlon = length_px * math.sin(bearing) / px_per_deg
    dlat = length_px * math.cos(bearing) * math.cos(math.radians(lat_deg)) / px_per_deg
    return lat_deg + dlat, lon_deg + dlon


def _bearing(vessel: Vessel) -> float | None:
    """Heading when known; else course over ground when the vessel moves."""
    if vessel.heading_deg is not None:
        return vessel.heading_deg
    if vessel.course_deg is not None and (vessel.speed_kn or 0.0) >= 0.5:
        return vessel.course_deg
    return None


def declutter(
    vessels: Sequence[Vessel],
    zoom: float,
    keep: Collection[int] = (),
    *,
    cell_px: float = DECLUTTER_CELL_PX,
    below_zoom: float = DECLUTTER_BELOW_ZOOM,
    max_markers: int = MAX_MARKERS,
) -> list[Vessel]:
    """The vessels to draw: at most one ordinary vessel per screen square.

    Below ``below_zoom`` the map is cut into squares of ``cell_px`` screen
    pixels and each square shows its most recently heard vessel; the squares
    grow until at most ``max_markers`` ordinary vessels remain. Distress
    beacons and the vessels in ``keep`` (those with open alerts, the
    selected one) are always drawn, whatever their square holds.

    Args:
        vessels: Vessels with positions, in any order.
        zoom: The map's zoom.
        keep: MMSIs always drawn.
        cell_px: Side of a square at the start, in screen pixels.
        below_zoom: From this zoom on, every vessel is drawn.
        max_markers: Most ordinary vessels drawn.

    Returns:
        The vessels to draw, in the order given.
    """
    always = [v for v in vessels if v.mmsi in keep or v.vessel_class in BEACON_CLASSES]
    ordinary = [
        v for v in vessels if not (v.mmsi in keep or v.vessel_class in BEACON_CLASSES)
    ]
    if zoom >= below_zoom and len(ordinary) <= max_markers:
        return list(vessels)
    newest_first = sorted(ordinary, key=_seen_key, reverse=True)
    placed = [
        (v, *_mercator(float(v.lat_deg or 0.0), float(v.lon_deg or 0.0)))
        for v in newest_first
    ]
    cell = cell_px
    while True:
        chosen = _one_per_cell(placed, zoom, cell)
        if len(chosen) <= max_markers:
            break
        cell *= 1.5
    picked = {id(v) for v in always} | {id(v) for v in chosen}
    return [v for v in vessels if id(v) in picked]


def _seen_key(vessel: Vessel) -> float:
    return vessel.last_seen.timestamp() if vessel.last_seen else 0.0


def _one_per_cell(
    placed: Sequence[tuple[Vessel, float, float]], zoom: float, cell_px: float
) -> list[Vessel]:
    scale = _WORLD_PX_AT_ZOOM_0 * 2.0**zoom / cell_px
    seen: set[tuple[int, int]] = set()
    chosen: list[Vessel] = []
    for vessel, x, y in placed:
        cell = (math.floor(x * scale), math.floor(y * scale))
        if cell not in seen:
            seen.add(cell)
            chosen.append(vessel)
    return chosen


def _mercator(lat_deg: float, lon_deg: float) -> tuple[float, float]:
    """Web Mercator position in world units (0 to 1 across the world)."""
    lat = max(-85.0, min(85.0, lat_deg))
    x = (lon_deg + 180.0) / 360.0
    y = 0.5 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)
    return x, y


def _rings(geometry: BaseGeometry) -> list[list[tuple[float, float]]]:
    polygons = getattr(geometry, "geoms", [geometry])
    rings: list[list[tuple[float, float]]] = []
    for polygon in polygons:
        for ring in (polygon.exterior, *polygon.interiors):
            rings.append([(float(x), float(y)) for x, y in ring.coords])
    return rings


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, _COORD_DIGITS)
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _fit_view(zones: Sequence[Zone]) -> tuple[dict[str, float], float]:
    # Fit the regency's own zones; provincial waters and corridors reach far
    # beyond it.
    focus = [
        z
        for z in zones
        if z.kind != "provincial_waters" and not z.id.startswith(_ALKI_ID_PREFIX)
    ] or list(zones)
    if not focus:
        return dict(_DEFAULT_CENTER), _DEFAULT_ZOOM
    west = min(z.geometry.bounds[0] for z in focus)
    south = min(z.geometry.bounds[1] for z in focus)
    east = max(z.geometry.bounds[2] for z in focus)
    north = max(z.geometry.bounds[3] for z in focus)
    center = {"lat": (south + north) / 2, "lon": (west + east) / 2}
    span_lon = max(east - west, 0.05)
    span_lat = max((north - south) / math.cos(math.radians(center["lat"])), 0.05)
    fit = min(_FIT_WIDTH_PX / span_lon, _FIT_HEIGHT_PX / span_lat)
    zoom = math.log2(fit * 360.0 / _WORLD_PX_AT_ZOOM_0)
    return center, max(3.0, min(zoom, 13.0))


def _zone_group(zone: Zone) -> str:
    if zone.id.startswith(_ALKI_ID_PREFIX):
        return "alki"
    return _GROUP_OF_KIND.get(zone.kind, "other")


def zone_overlay(zones: ZoneSet) -> ZoneOverlay:
    """Turn the zones into map layers and outline traces, once at start-up.

    Fills are MapLibre GeoJSON layers below the traces (they keep holes, such
    as islands cut out of a waters band); outlines are traces, so that each
    kind has a legend entry and the outline names its zone on hover.
    """
    by_kind: dict[str, list[Zone]] = {}
    for zone in zones.zones:
        kind = zone.kind if zone.kind in _ZONE_STYLE else "other"
        by_kind.setdefault(kind, []).append(zone)
    layers: list[dict[str, Any]] = []
    traces: list[dict[str, Any]] = []
    for kind in _ZONE_ORDER:
        members = by_kind.get(kind, [])
        if not members:
            continue
        colour, opacity, width = _ZONE_STYLE[kind]
        features: dict[str, list[dict[str, Any]]] = {}
        for zone in members:
            group = _zone_group(zone)
            simple = zone.geometry.simplify(_ZONE_SIMPLIFY_DEG, preserve_topology=True)
            features.setdefault(group, []).append(
                {
                    "type": "Feature",
                    "properties": {"id": zone.id, "name": zone.name},
                    "geometry": _rounded(mapping(simple)),
                }
            )
            lats: list[float | None] = []
            lons: list[float | None] = []
            for ring in _rings(simple):
                lons.extend(round(x, _COORD_DIGITS) for x, _ in ring)
                lats.extend(round(y, _COORD_DIGITS) for _, y in ring)
                lons.append(None)
                lats.append(None)
            traces.append(
                {
                    "type": "scattermap",
                    "mode": "lines",
                    "lat": lats,
                    "lon": lons,
                    "uid": f"zone-{zone.id}",
                    "legendgroup": f"zone-{kind}",
                    "line": {
                        "color": _ALKI_COLOUR if group == "alki" else colour,
                        "width": width,
                    },
                    "meta": {
                        "zone_id": zone.id,
                        "zone_kind": kind,
                        "zone_name": zone.name,
                        "group": group,
                    },
                }
            )
        for group, members_features in features.items():
            layers.append(
                {
                    "sourcetype": "geojson",
                    "source": {
                        "type": "FeatureCollection",
                        "features": members_features,
                    },
                    "type": "fill",
                    "color": _ALKI_COLOUR if group == "alki" else colour,
                    "opacity": opacity,
                    "below": "traces",
                    "name": f"zone-fill-{kind}" + ("" if group != "alki" else "-alki"),
                }
            )
    center, zoom = _fit_view(zones.zones)
    log.debug("zone overlay: %d layers, %d outlines", len(layers), len(traces))
    return ZoneOverlay(layers, traces, center, zoom)


def _labelled_outlines(overlay: ZoneOverlay) -> list[dict[str, Any]]:
    """The overlay's outline traces with legend names in the request's language."""
    traces: list[dict[str, Any]] = []
    seen_kinds: set[str] = set()
    for trace in overlay.traces:
        meta = trace["meta"]
        kind = meta["zone_kind"]
        key = "alki" if meta["group"] == "alki" else kind
        label = t(f"map.zone.{key}")
        item = dict(trace)
        item["name"] = label
        item["showlegend"] = kind not in seen_kinds
        item["hovertemplate"] = (
            f"{_template_text(meta['zone_name'])}<br>{_template_text(label)}"
            "<extra></extra>"
        )
        if not traces:
            item["legendgrouptitle"] = {"text": t("map.legend.zones")}
        seen_kinds.add(kind)
        traces.append(item)
    return traces


def _template_text(text: str) -> str:
    # Plotly reads "%{...}" in a hovertemplate as a field reference.
    return html.escape(text).replace("%", "%%")


def load_map_layers(zones: ZoneSet | None = None) -> MapLayers:
    """Read the shipped land and ALKI II layers (package data, no network).

    The ALKI layer is left out when ``zones`` hold the corridor already (it
    is then drawn as a zone).
    """
    land = _read_geojson("land.geojson")
    alki = _read_geojson("alki2.geojson")
    if zones is not None and any(z.id.startswith(_ALKI_ID_PREFIX) for z in zones.zones):
        alki = None
    return MapLayers(land=land, alki=alki)


def _read_geojson(name: str) -> dict[str, Any] | None:
    source = resources.files("pantaulaut.data") / name
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("map layer %s cannot be read; it is left out", name)
        return None
    features = [
        {"type": "Feature", "properties": {}, "geometry": f["geometry"]}
        for f in data.get("features", [])
        if isinstance(f, dict) and f.get("geometry")
    ]
    return {"type": "FeatureCollection", "features": features}


def _alki_outline(alki: Mapping[str, Any]) -> dict[str, Any]:
    lats: list[float | None] = []
    lons: list[float | None] = []
    for feature in alki["features"]:
        for ring in _rings(shape(feature["geometry"])):
            lons.extend(round(x, _COORD_DIGITS) for x, _ in ring)
            lats.extend(round(y, _COORD_DIGITS) for _, y in ring)
            lons.append(None)
            lats.append(None)
    label = t("map.zone.alki")
    return {
        "type": "scattermap",
        "mode": "lines",
        "lat": lats,
        "lon": lons,
        "name": label,
        "uid": "layer-alki",
        "legendgroup": "zone-alki",
        "line": {"color": _ALKI_COLOUR, "width": 1.5},
        "hovertemplate": f"{_template_text(label)}<extra></extra>",
        "meta": {"group": "alki"},
    }


def _map_layers(
    overlay: ZoneOverlay, layers: MapLayers, tile_url: str
) -> list[dict[str, Any]]:
    """Layout layers, bottom to top: tiles, land, zone fills, ALKI."""
    found: list[dict[str, Any]] = []
    if tile_url:
        found.append(
            {
                "sourcetype": "raster",
                "source": [tile_url],
                "below": "traces",
                "name": "tiles",
            }
        )
    if layers.land is not None:
        found.append(
            {
                "sourcetype": "geojson",
                "source": layers.land,
                "type": "fill",
                "color": _LAND_COLOUR,
                "opacity": 1.0,
                "below": "traces",
                "name": "land",
            }
        )
        found.append(
            {
                "sourcetype": "geojson",
                "source": layers.land,
                "type": "line",
                "color": _LAND_LINE,
                "line": {"width": 0.8},
                "below": "traces",
                "name": "land-coast",
            }
        )
    found.extend(overlay.layers)
    if layers.alki is not None:
        found.append(
            {
                "sourcetype": "geojson",
                "source": layers.alki,
                "type": "fill",
                "color": _ALKI_COLOUR,
                "opacity": 0.05,
                "below": "traces",
                "name": "alki",
            }
        )
    return found


def _layer_group(name: str) -> str | None:
    if name in ("land", "land-coast"):
        return "land"
    if name == "alki" or name.endswith("-alki"):
        return "alki"
    if name.startswith("zone-fill-"):
        return _GROUP_OF_KIND.get(name.removeprefix("zone-fill-"), "other")
    return None


def layer_indices(
    figure: go.Figure,
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Which layout layers and which traces belong to each layer group.

    Returns:
        (group -> indexes in ``layout.map.layers``, group -> indexes in
        ``data``), for the groups of :data:`LAYER_GROUPS` present.
    """
    by_layer: dict[str, list[int]] = {}
    for index, layer in enumerate(figure.layout.map.layers):
        group = _layer_group(layer.name or "")
        if group is not None:
            by_layer.setdefault(group, []).append(index)
    by_trace: dict[str, list[int]] = {}
    for index, trace in enumerate(figure.data):
        meta = trace.meta if isinstance(trace.meta, Mapping) else {}
        group = meta.get("group")
        if isinstance(group, str):
            by_trace.setdefault(group, []).append(index)
    return by_layer, by_trace


def _map_layout(
    figure: go.Figure,
    center: Mapping[str, float],
    zoom: float,
    layers: list[dict[str, Any]],
    revision: str,
) -> None:
    figure.update_layout(
        map={
            "style": "white-bg",
            "center": dict(center),
            "zoom": zoom,
            "layers": layers,
        },
        # The operator's zoom, pan and legend choices survive every refresh.
        uirevision=revision,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        legend={
            "x": 0.005,
            "y": 0.995,
            "xanchor": "left",
            "yanchor": "top",
            "bgcolor": "rgba(255,255,255,0.85)",
            "bordercolor": "#bbbbbb",
            "borderwidth": 1,
            "font": {"size": 11},
        },
        hovermode="closest",
        paper_bgcolor="#ffffff",
    )


def base_figure(
    overlay: ZoneOverlay,
    layers: MapLayers,
    *,
    visible: Collection[str] = LAYER_GROUPS,
    tile_url: str = "",
    center: Mapping[str, float] | None = None,
    zoom: float | None = None,
    revision: str = "desk",
) -> go.Figure:
    """The live map without vessels: layers, zone outlines and empty slots.

    Args:
        overlay: Zones, from :func:`zone_overlay`.
        layers: Land and ALKI, from :func:`load_map_layers`.
        visible: Layer groups shown at first.
        tile_url: Optional raster tiles below everything.
        center: First view's centre; None: fitted to the zones.
        zoom: First view's zoom; None: fitted to the zones.
        revision: plotly's ``uirevision``: the view is kept while it stays.

    Returns:
        A figure whose last :data:`SLOT_COUNT` traces are empty vessel slots
        for :func:`vessel_slots`.
    """
    traces = _labelled_outlines(overlay)
    if layers.alki is not None:
        traces.append(_alki_outline(layers.alki))
    for trace in traces:
        group = trace["meta"]["group"]
        trace["visible"] = group in visible
    traces.extend(_empty_slot(key) for key in _SLOT_KEYS)
    figure = go.Figure(data=traces)
    map_layers = _map_layers(overlay, layers, tile_url)
    for layer in map_layers:
        group = _layer_group(layer["name"])
        if group is not None:
            layer["visible"] = group in visible
    _map_layout(
        figure,
        center if center is not None else overlay.center,
        overlay.zoom if zoom is None else zoom,
        map_layers,
        revision,
    )
    return figure


def _empty_slot(key: str) -> dict[str, Any]:
    mode = "lines" if key.startswith(("heading", "track")) else "markers"
    return {
        "type": "scattermap",
        "mode": mode,
        "lat": [],
        "lon": [],
        "uid": f"slot-{key}",
        "showlegend": False,
        "hoverinfo": "skip",
    }


def vessel_slots(
    snapshot: DeskSnapshot,
    vessels: Sequence[Vessel],
    zoom: float,
    *,
    track: Sequence[PositionReport] = (),
    selected: int | None = None,
    counts: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The :data:`SLOT_COUNT` vessel traces of the live map, in slot order.

    Args:
        snapshot: The refresh's data (for the open alerts).
        vessels: The vessels to draw (already filtered and decluttered).
        zoom: The map's zoom (heading lines' length).
        track: The selected vessel's track to draw, oldest first.
        selected: The selected vessel's MMSI, ringed.
        counts: Vessels in view per class before decluttering, for the
            legend; None: the drawn ones.
    """
    by_mmsi = snapshot.alerts_by_mmsi()
    groups: dict[str, list[Vessel]] = {}
    for vessel in vessels:
        if vessel.lat_deg is not None and vessel.lon_deg is not None:
            groups.setdefault(ship_class(vessel), []).append(vessel)
    slots: dict[str, dict[str, Any]] = {}
    for ship in SHIP_CLASSES:
        heading = _heading_trace(groups.get(ship.key, []), zoom, ship.colour, ship.key)
        if heading is not None:
            slots[f"heading-{ship.key}"] = heading
    drawn = {v.mmsi for v in vessels}
    halo_snapshot = DeskSnapshot(
        [v for v in snapshot.mapped if v.mmsi in drawn],
        snapshot.alerts,
        snapshot.latest,
        snapshot.since,
    )
    for trace in _alert_points(halo_snapshot):
        slots[str(trace["uid"])] = trace
    if track:
        slots["track"] = track_trace(track)
    first = True
    for ship in SHIP_CLASSES:
        members = groups.get(ship.key, [])
        if not members:
            continue
        total = len(members) if counts is None else counts.get(ship.key, len(members))
        trace = _points_trace(
            members,
            by_mmsi,
            name=t("map.legend.count", label=ship.label, count=total),
            colour=ship.colour,
            size=7 if ship.key == "fixed" else 10,
            group=ship.key,
        )
        if first:
            trace["legendgrouptitle"] = {"text": t("map.legend.ship_type")}
            first = False
        slots[f"points-{ship.key}"] = trace
    beacons = groups.get("beacon", [])
    if beacons:
        slots["points-beacon"] = _points_trace(
            beacons,
            by_mmsi,
            name=t("map.legend.count", label=t("map.class.beacon"), count=len(beacons)),
            colour=ALERT_RED,
            size=16,
            group="beacon",
        )
    chosen = next((v for v in vessels if v.mmsi == selected), None)
    if chosen is not None and chosen.lat_deg is not None:
        slots["selected"] = {
            "type": "scattermap",
            "mode": "markers",
            "lat": [chosen.lat_deg],
            "lon": [chosen.lon_deg],
            "name": t("map.selected"),
            "uid": "slot-selected",
            "showlegend": False,
            "marker": {"color": _TRACK_COLOUR, "size": 22, "opacity": 0.5},
            "hoverinfo": "skip",
        }
    result = []
    for key in _SLOT_KEYS:
        trace = slots.get(key) or _empty_slot(key)
        trace["uid"] = f"slot-{key}"
        result.append(trace)
    return result


def track_trace(track: Sequence[PositionReport]) -> dict[str, Any]:
    """The selected vessel's track as a line with a dot at each report."""
    return {
        "type": "scattermap",
        "mode": "lines+markers",
        "lat": [round(p.lat_deg, _COORD_DIGITS) for p in track],
        "lon": [round(p.lon_deg, _COORD_DIGITS) for p in track],
        "name": t("map.track"),
        "uid": "slot-track",
        "showlegend": False,
        "line": {"color": _TRACK_COLOUR, "width": 2.5},
        "marker": {"color": _TRACK_COLOUR, "size": 5},
        "text": [format_wib(p.time) for p in track],
        "hovertemplate": "%{text}<extra></extra>",
    }


def _points_trace(
    vessels: Sequence[Vessel],
    alerts: Mapping[int, Sequence[Alert]],
    *,
    name: str,
    colour: str,
    size: float,
    group: str,
    opacity: float = 1.0,
    showlegend: bool = True,
) -> dict[str, Any]:
    texts = catalogue(current_language())
    return {
        "type": "scattermap",
        "mode": "markers",
        "lat": [round(float(v.lat_deg or 0.0), _COORD_DIGITS) for v in vessels],
        "lon": [round(float(v.lon_deg or 0.0), _COORD_DIGITS) for v in vessels],
        "name": name,
        "uid": f"points-{group}",
        "legendgroup": group,
        "showlegend": showlegend,
        "marker": {"color": colour, "size": size, "opacity": opacity},
        "text": [vessel_hover(v, alerts.get(v.mmsi, ()), texts) for v in vessels],
        "customdata": [v.mmsi for v in vessels],
        "hovertemplate": "%{text}<extra></extra>",
        "hoverlabel": {"align": "left"},
    }


def _heading_trace(
    vessels: Sequence[Vessel], zoom: float, colour: str, group: str
) -> dict[str, Any] | None:
    lats: list[float | None] = []
    lons: list[float | None] = []
    for vessel in vessels:
        bearing = _bearing(vessel)
        if bearing is None or vessel.lat_deg is None or vessel.lon_deg is None:
            continue
        end_lat, end_lon = heading_segment(
            vessel.lat_deg, vessel.lon_deg, bearing, zoom, _HEADING_PX
        )
        lats += [round(vessel.lat_deg, 6), round(end_lat, 6), None]
        lons += [round(vessel.lon_deg, 6), round(end_lon, 6), None]
    if not lats:
        return None
    return {
        "type": "scattermap",
        "mode": "lines",
        "lat": lats,
        "lon": lons,
        "name": "heading",
        "uid": f"heading-{group}",
        "legendgroup": group,
        "showlegend": False,
        "line": {"color": colour, "width": 2.5},
        "hoverinfo": "skip",
    }


def _alert_points(snapshot: DeskSnapshot) -> list[dict[str, Any]]:
    """Halo traces for vessels and places with open alerts, worst on top."""
    by_mmsi = snapshot.alerts_by_mmsi()
    vessels = {v.mmsi: v for v in snapshot.mapped}
    traces: list[dict[str, Any]] = []
    for key, colour, severities in reversed(_HALO_GROUPS):
        lats: list[float] = []
        lons: list[float] = []
        texts: list[str] = []
        done: set[int] = set()
        for alert in snapshot.alerts:
            vessel = None
            worst = alert
            if alert.mmsi is not None:
                vessel = vessels.get(alert.mmsi)
                worst = by_mmsi[alert.mmsi][0]
            if worst.severity not in severities:
                continue
            if vessel is not None:
                if vessel.mmsi in done:
                    continue
                done.add(vessel.mmsi)
                lats.append(float(vessel.lat_deg or 0.0))
                lons.append(float(vessel.lon_deg or 0.0))
                texts.append(vessel_hover(vessel, by_mmsi[vessel.mmsi]))
            elif alert.lat_deg is not None and alert.lon_deg is not None:
                lats.append(alert.lat_deg)
                lons.append(alert.lon_deg)
                texts.append(_alert_hover(alert))
        if lats:
            traces.append(
                {
                    "type": "scattermap",
                    "mode": "markers",
                    "lat": lats,
                    "lon": lons,
                    "name": t(f"map.halo.{key}"),
                    "uid": f"halo-{key}",
                    "legendgroup": f"alert-{key}",
                    "marker": {"color": colour, "size": 30, "opacity": 0.45},
                    "text": texts,
                    "hovertemplate": "%{text}<extra></extra>",
                    "hoverlabel": {"align": "left"},
                }
            )
    return traces


def _alert_hover(alert: Alert) -> str:
    esc = html.escape
    parts = [
        _alert_line(alert),
        esc(alert_summary(alert)),
        esc(t("map.hover.since", time=format_wib(alert.time))),
    ]
    if alert.zone:
        parts.append(esc(t("map.hover.zone", zone=alert.zone)))
    return "<br>".join(parts)


# Traces carry a fixed ``uid`` so that plotly.js keeps an operator's legend
# choices on the right trace when classes come and go between refreshes.


def map_figure(
    snapshot: DeskSnapshot,
    overlay: ZoneOverlay,
    *,
    zoom: float | None = None,
    tile_url: str = "",
    layers: MapLayers | None = None,
) -> go.Figure:
    """A whole map of every vessel in the snapshot, each its own marker.

    The live page draws :func:`base_figure` and :func:`vessel_slots` instead;
    this one serves static views and is the reference the map benchmark
    compares with.

    Args:
        snapshot: Vessels and alerts to draw.
        overlay: Zones, from :func:`zone_overlay`.
        zoom: The map's current zoom, which sets the heading lines' length;
            None uses the first view's zoom.
        tile_url: Optional raster tile URL template drawn below everything.
        layers: Land and ALKI drawn under the zones; None: zones only.

    Returns:
        A figure whose traces are, bottom to top: zone outlines, heading
        lines, alert halos, vessels by ship class, distress beacons.
    """
    zoom = overlay.zoom if zoom is None else zoom
    slots = vessel_slots(snapshot, snapshot.mapped, zoom)
    traces = _labelled_outlines(overlay)
    traces.extend(s for s in slots if s.get("lat"))
    figure = go.Figure(data=traces)
    _map_layout(
        figure,
        overlay.center,
        overlay.zoom,
        _map_layers(overlay, layers or MapLayers(), tile_url),
        "desk",
    )
    return figure
