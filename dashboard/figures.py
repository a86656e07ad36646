"""Figure building for the desk's map, kept apart from Dash so tests can call it.

Everything here is plain Python over the store's records: read a
:class:`DeskSnapshot` from a store, turn the zones into a :class:`ZoneOverlay`
once, and build the map figure from both. No function here needs a browser or
a running Dash app.

The map uses MapLibre's ``white-bg`` style with no text layers, because text
on a MapLibre map needs glyphs from a font server and the desk must work with
no internet. Headings are drawn as short line segments whose length is fixed
on screen (it follows the map's zoom), since rotated marker symbols need a
sprite sheet that ``white-bg`` does not have.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import plotly.graph_objects as go
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from pantaulaut.geofence.zones import Zone, ZoneSet
from pantaulaut.model import Alert, Severity, Vessel
from pantaulaut.store.base import Store

__all__ = [
    "BEACON_CLASSES",
    "SHIP_CLASSES",
    "WIB",
    "DeskSnapshot",
    "ShipClass",
    "ZoneOverlay",
    "format_wib",
    "heading_segment",
    "load_snapshot",
    "map_figure",
    "ship_class",
    "sorted_alerts",
    "vessel_hover",
    "zone_overlay",
    "zoom_from_relayout",
]

log = logging.getLogger(__name__)

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
# MapLibre draws the world 512 pixels wide at zoom 0.
_WORLD_PX_AT_ZOOM_0 = 512.0
_HEADING_PX = 18.0
# Zone outlines are simplified for display (degrees, about 50 m).
_ZONE_SIMPLIFY_DEG = 0.0005
_COORD_DIGITS = 5

ALERT_RED = "#d40000"


@dataclass(frozen=True, slots=True)
class ShipClass:
    """A colour class of the map legend."""

    key: str
    label: str
    colour: str


SHIP_CLASSES: tuple[ShipClass, ...] = (
    ShipClass("fishing", "Fishing (30)", "#009e73"),
    ShipClass("passenger", "Passenger (60-69)", "#0050b4"),
    ShipClass("cargo", "Cargo (70-79)", "#a6611a"),
    ShipClass("tanker", "Tanker (80-89)", "#b0479a"),
    ShipClass("service", "Tug / pilot / SAR (50-59)", "#17a5c4"),
    ShipClass("other", "Other / unknown type", "#7f7f7f"),
    ShipClass("fixed", "Aid to navigation / base station", "#222222"),
)
_CLASS_BY_KEY = {c.key: c for c in SHIP_CLASSES}

# Halo colour by the worst open alert of a vessel.
_HALO_GROUPS: tuple[tuple[str, str, frozenset[Severity]], ...] = (
    ("Open alert: critical", ALERT_RED, frozenset({Severity.CRITICAL})),
    (
        "Open alert: high / medium",
        "#ff7b00",
        frozenset({Severity.HIGH, Severity.MEDIUM}),
    ),
    ("Open alert: low / info", "#e0b000", frozenset({Severity.LOW, Severity.INFO})),
)

_ZONE_STYLE: dict[str, tuple[str, str, float, float]] = {
    # kind: (label, colour, fill opacity, line width)
    "regency_waters": ("Regency waters", "#1f77b4", 0.07, 1.5),
    "provincial_waters": ("Provincial waters", "#6b8fb3", 0.03, 1.0),
    "harbour": ("Harbour", "#7b3fa0", 0.22, 2.0),
    "lane": ("Traffic lane", "#8c8c8c", 0.10, 1.0),
    "other": ("Other zone", "#b5651d", 0.10, 1.0),
}
# Drawn in this order, so harbours lie on top of the wide waters.
_ZONE_ORDER = ("provincial_waters", "regency_waters", "lane", "other", "harbour")

_BEACON_TEXT = {
    "SART": "AIS-SART (search and rescue transmitter)",
    "MOB": "MOB device (man overboard)",
    "EPIRB": "EPIRB-AIS (emergency position beacon)",
}
_CLASS_TEXT = {
    "AtoN": "Aid to navigation",
    "base station": "AIS base station",
    "SAR aircraft": "SAR aircraft",
}


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
        layers: MapLibre GeoJSON fill layers for ``layout.map.layers``.
        traces: Scattermap outline traces, one per zone, grouped by kind.
        center: Centre of the first view.
        zoom: Zoom of the first view.
    """

    layers: list[dict[str, Any]]
    traces: list[dict[str, Any]]
    center: dict[str, float]
    zoom: float


def format_wib(value: datetime | None) -> str:
    """A UTC time as the desk reads it, such as ``2026-06-17 07:35 WIB``.

    >>> format_wib(datetime(2026, 6, 17, 0, 35, tzinfo=UTC))
    '2026-06-17 07:35 WIB'
    """
    if value is None:
        return "n/a"
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
    newest = store.vessels(limit=1)
    latest = newest[0].last_seen if newest else None
    alerts = sorted_alerts(store.alerts(limit=alert_limit))
    if latest is None:
        return DeskSnapshot([], alerts, None, None)
    since = latest - timedelta(minutes=recent_minutes)
    vessels = store.vessels(seen_since=since)
    known = {v.mmsi for v in vessels}
    # A vessel with an open alert stays on the map after it falls silent.
    for mmsi in sorted({a.mmsi for a in alerts if a.mmsi is not None} - known):
        vessel = store.vessel(mmsi)
        if vessel is not None:
            vessels.append(vessel)
    return DeskSnapshot(vessels, alerts, latest, since)


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


def _type_text(vessel: Vessel) -> str:
    if vessel.vessel_class in _BEACON_TEXT:
        return _BEACON_TEXT[vessel.vessel_class]
    if vessel.ship_type_text:
        return vessel.ship_type_text
    if vessel.vessel_class in _CLASS_TEXT:
        return _CLASS_TEXT[vessel.vessel_class]
    if vessel.ship_type:
        return f"type {vessel.ship_type}"
    return "type unknown"


def _number(value: float | None, unit: str, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def vessel_hover(vessel: Vessel, alerts: Sequence[Alert] = ()) -> str:
    """Hover text of one vessel (plotly's subset of HTML, escaped).

    Shows name, MMSI, flag, type in words, speed, course, heading, status,
    last seen in WIB, station, and the vessel's open alerts.
    """
    esc = html.escape
    name = vessel.name or "(no name)"
    flag = vessel.flag or "flag unknown"
    ais = f"class {vessel.vessel_class}" if vessel.vessel_class in ("A", "B") else ""
    kind = _type_text(vessel) + (f" · AIS {ais}" if ais else "")
    lines = [
        f"<b>{esc(name)}</b>",
        f"MMSI {vessel.mmsi} · {esc(flag)}",
        esc(kind),
        f"Speed {_number(vessel.speed_kn, ' kn')} · "
        f"Course {_number(vessel.course_deg, '°', 0)} · "
        f"Heading {_number(vessel.heading_deg, '°', 0)}",
    ]
    if vessel.nav_status_text:
        lines.append(f"Status: {esc(vessel.nav_status_text)}")
    if vessel.destination:
        lines.append(f"Destination: {esc(vessel.destination)}")
    lines.append(f"Last seen {format_wib(vessel.last_seen)}")
    lines.append(f"Station {esc(vessel.station or 'unknown')}")
    kinds: set[str] = set()
    for alert in alerts:
        # One line per kind: the same condition may be open twice (zones).
        if alert.kind.value in kinds or len(kinds) == 4:
            continue
        kinds.add(alert.kind.value)
        lines.append(
            f"<b>ALERT {esc(alert.severity.value.upper())}</b>: {esc(alert.kind.value)}"
            f" since {format_wib(alert.time)}"
        )
    return "<br>".join(lines)


def zoom_from_relayout(relayout: Mapping[str, Any] | None, default: float) -> float:
    """The map's current zoom from a graph's ``relayoutData``, else ``default``."""
    if not relayout:
        return default
    value = relayout.get("map.zoom")
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return default


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
    # Fit the regency's own zones; provincial waters reach far beyond it.
    focus = [z for z in zones if z.kind != "provincial_waters"] or list(zones)
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


def zone_overlay(zones: ZoneSet) -> ZoneOverlay:
    """Turn the zones into map layers and outline traces, once at start-up.

    Fills are MapLibre GeoJSON layers below the traces (they keep holes, such
    as islands cut out of a waters band); outlines are traces, so that each
    kind has a legend entry and the outline names its zone on hover.
    """
    by_kind: dict[str, list[Zone]] = {}
    for zone in zones.zones:
        by_kind.setdefault(zone.kind, []).append(zone)
    layers: list[dict[str, Any]] = []
    traces: list[dict[str, Any]] = []
    for kind in _ZONE_ORDER:
        members = by_kind.get(kind, [])
        if not members:
            continue
        label, colour, opacity, width = _ZONE_STYLE[kind]
        features = []
        for index, zone in enumerate(members):
            shape = zone.geometry.simplify(_ZONE_SIMPLIFY_DEG, preserve_topology=True)
            features.append(
                {
                    "type": "Feature",
                    "properties": {"id": zone.id, "name": zone.name},
                    "geometry": _rounded(mapping(shape)),
                }
            )
            lats: list[float | None] = []
            lons: list[float | None] = []
            for ring in _rings(shape):
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
                    "name": label,
                    "uid": f"zone-{zone.id}",
                    "legendgroup": f"zone-{kind}",
                    "legendgrouptitle": {"text": "Zones"} if not traces else None,
                    "showlegend": index == 0,
                    "line": {"color": colour, "width": width},
                    "hovertemplate": (
                        f"{_template_text(zone.name)}<br>{label}<extra></extra>"
                    ),
                    "meta": {"zone_id": zone.id, "zone_kind": kind},
                }
            )
        layers.append(
            {
                "sourcetype": "geojson",
                "source": {"type": "FeatureCollection", "features": features},
                "type": "fill",
                "color": colour,
                "opacity": opacity,
                "below": "traces",
                "name": f"zone-fill-{kind}",
            }
        )
    for trace in traces:
        if trace["legendgrouptitle"] is None:
            del trace["legendgrouptitle"]
    center, zoom = _fit_view(zones.zones)
    log.debug("zone overlay: %d layers, %d outlines", len(layers), len(traces))
    return ZoneOverlay(layers, traces, center, zoom)


def _template_text(text: str) -> str:
    # Plotly reads "%{...}" in a hovertemplate as a field reference.
    return html.escape(text).replace("%", "%%")


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
    return {
        "type": "scattermap",
        "mode": "markers",
        "lat": [v.lat_deg for v in vessels],
        "lon": [v.lon_deg for v in vessels],
        "name": name,
        "uid": f"points-{group}",
        "legendgroup": group,
        "showlegend": showlegend,
        "marker": {"color": colour, "size": size, "opacity": opacity},
        "text": [vessel_hover(v, alerts.get(v.mmsi, ())) for v in vessels],
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
        lats += [vessel.lat_deg, round(end_lat, 6), None]
        lons += [vessel.lon_deg, round(end_lon, 6), None]
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
    for index, (label, colour, severities) in reversed(list(enumerate(_HALO_GROUPS))):
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
                    "name": label,
                    "uid": f"halo-{index}",
                    "legendgroup": f"alert-{index}",
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
        f"<b>ALERT {esc(alert.severity.value.upper())}</b>: {esc(alert.kind.value)}",
        esc(alert.summary),
        f"Since {format_wib(alert.time)}",
    ]
    if alert.zone:
        parts.append(f"Zone {esc(alert.zone)}")
    return "<br>".join(parts)


# Traces carry a fixed ``uid`` so that plotly.js keeps an operator's legend
# choices on the right trace when classes come and go between refreshes.


def map_figure(
    snapshot: DeskSnapshot,
    overlay: ZoneOverlay,
    *,
    zoom: float | None = None,
    tile_url: str = "",
) -> go.Figure:
    """The desk's live map.

    Args:
        snapshot: Vessels and alerts to draw.
        overlay: Zones, from :func:`zone_overlay`.
        zoom: The map's current zoom, which sets the heading lines' length;
            None uses the first view's zoom.
        tile_url: Optional raster tile URL template drawn below everything.

    Returns:
        A figure whose traces are, bottom to top: zone outlines, heading
        lines, alert halos, vessels by ship class, distress beacons.
    """
    zoom = overlay.zoom if zoom is None else zoom
    by_mmsi = snapshot.alerts_by_mmsi()
    groups: dict[str, list[Vessel]] = {}
    for vessel in snapshot.mapped:
        groups.setdefault(ship_class(vessel), []).append(vessel)

    traces: list[dict[str, Any]] = list(overlay.traces)
    for ship in SHIP_CLASSES:
        members = groups.get(ship.key, [])
        heading = _heading_trace(members, zoom, ship.colour, ship.key)
        if heading is not None:
            traces.append(heading)
    # Halos lie under the vessel dots, so the dot keeps its class colour.
    traces.extend(_alert_points(snapshot))
    first_class = True
    for ship in SHIP_CLASSES:
        members = groups.get(ship.key, [])
        if not members:
            continue
        trace = _points_trace(
            members,
            by_mmsi,
            name=f"{ship.label}: {len(members)}",
            colour=ship.colour,
            size=7 if ship.key == "fixed" else 10,
            group=ship.key,
        )
        if first_class:
            trace["legendgrouptitle"] = {"text": "Ship type"}
            first_class = False
        traces.append(trace)
    beacons = groups.get("beacon", [])
    if beacons:
        traces.append(
            _points_trace(
                beacons,
                by_mmsi,
                name=f"Distress beacon (SART / MOB / EPIRB): {len(beacons)}",
                colour=ALERT_RED,
                size=16,
                group="beacon",
            )
        )

    layers: list[dict[str, Any]] = []
    if tile_url:
        layers.append(
            {
                "sourcetype": "raster",
                "source": [tile_url],
                "below": "traces",
                "name": "tiles",
            }
        )
    layers.extend(overlay.layers)
    figure = go.Figure(data=traces)
    figure.update_layout(
        map={
            "style": "white-bg",
            "center": overlay.center,
            "zoom": overlay.zoom,
            "layers": layers,
        },
        # The operator's zoom, pan and legend choices survive every refresh.
        uirevision="desk",
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
    return figure
