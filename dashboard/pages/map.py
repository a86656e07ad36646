"""The live map: vessels in view, open alerts, layers, the selected track.

The map's layout (land, zones, ALKI, the view) is sent once with the page.
Every ``dashboard.refresh_s`` seconds, and whenever the operator pans or
zooms, one callback reads the vessels inside the view from the store,
declutters them when zoomed out, and replaces only the vessel slots of the
figure (:func:`refresh_patch`). The layer switch changes only the layers'
visibility, and a click on a vessel selects it: its track is drawn, with a
time slider to scrub it, and a link to its detail page.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import dash
from dash import Input, Output, State, dcc, html

from pantaulaut.dashboard.app import alert_items, header_counts
from pantaulaut.dashboard.figures import (
    LAYER_GROUPS,
    SLOT_COUNT,
    DeskSnapshot,
    MapView,
    base_figure,
    declutter,
    format_wib,
    layer_indices,
    load_view,
    ship_class,
    slot_index,
    track_trace,
    vessel_slots,
    view_from_relayout,
)
from pantaulaut.dashboard.i18n import t
from pantaulaut.dashboard.pages import DeskContext, Page, PageRequest
from pantaulaut.dashboard.pages.playback import view_area
from pantaulaut.errors import PantaulautError
from pantaulaut.model import PositionReport

__all__ = [
    "PAGE",
    "TRACK_HOURS",
    "MapRefresh",
    "clip_track",
    "layer_patch",
    "map_refresh",
    "open_ended",
    "refresh_patch",
    "track_slider",
]

log = logging.getLogger(__name__)

TRACK_HOURS = 6.0
"""How far back from the data clock a selected vessel's track is read."""
# The view box is read this much wider on every side (a share of its size),
# so that a small pan finds the vessels already drawn.
_VIEW_MARGIN = 0.1


@dataclass(frozen=True, slots=True)
class MapRefresh:
    """What one refresh of the live map computed.

    Attributes:
        snapshot: Vessels in the view and every open alert.
        slots: The :data:`~pantaulaut.dashboard.figures.SLOT_COUNT` vessel
            traces.
        drawn: How many vessels the slots draw.
        view: The view they were read for.
    """

    snapshot: DeskSnapshot
    slots: list[dict[str, Any]]
    drawn: int
    view: MapView


def _padded(
    bbox: tuple[float, float, float, float],
) -> tuple[float, float, float, float]:
    west, south, east, north = bbox
    dx = (east - west) * _VIEW_MARGIN
    dy = (north - south) * _VIEW_MARGIN
    return west - dx, max(-90.0, south - dy), east + dx, min(90.0, north + dy)


def map_refresh(
    context: DeskContext,
    view_data: Mapping[str, Any] | None,
    selected: int | None = None,
    track_range_s: Sequence[float] | None = None,
) -> MapRefresh:
    """Read the vessels in view and build the vessel slots.

    Args:
        context: The desk's shared context.
        view_data: The map's latest ``relayoutData`` with a view in it.
        selected: The selected vessel's MMSI.
        track_range_s: The track slider's [start, end] (Unix seconds).

    Raises:
        StoreError: The store cannot be read.
    """
    overlay = context.overlay
    view = view_from_relayout(view_data, overlay.center, overlay.zoom)
    store = context.store
    recent = context.config.dashboard.recent_minutes
    # Marks first (place, class, time), the drawn ones in full after thinning.
    snapshot = load_view(store, recent, _padded(view.bbox), light=True)
    keep = {a.mmsi for a in snapshot.alerts if a.mmsi is not None}
    if selected is not None:
        keep.add(selected)
    mapped = snapshot.mapped
    shown = declutter(mapped, view.zoom, keep)
    counts: dict[str, int] = {}
    for vessel in mapped:
        key = ship_class(vessel)
        counts[key] = counts.get(key, 0) + 1
    track: list[PositionReport] = []
    if selected is not None and snapshot.latest is not None:
        track = read_track(context, selected, snapshot.latest)
        track = clip_track(track, track_range_s)
    full = store.vessels_by_mmsi([v.mmsi for v in shown])
    drawn = DeskSnapshot(full, snapshot.alerts, snapshot.latest, snapshot.since)
    slots = vessel_slots(
        drawn, full, view.zoom, track=track, selected=selected, counts=counts
    )
    return MapRefresh(snapshot, slots, len(full), view)


def read_track(
    context: DeskContext, mmsi: int, latest: datetime
) -> list[PositionReport]:
    """The vessel's track over the last :data:`TRACK_HOURS` of data."""
    end = latest + timedelta(minutes=1)
    return context.store.track(mmsi, latest - timedelta(hours=TRACK_HOURS), end)


def refresh_patch(slot_start: int, slots: Sequence[dict[str, Any]]) -> dash.Patch:
    """A change to the map that replaces only its vessel slots."""
    patch = dash.Patch()
    for offset, trace in enumerate(slots):
        patch["data"][slot_start + offset] = trace
    return patch


def layer_patch(frame: Mapping[str, Any], visible: Collection[str]) -> dash.Patch:
    """A change to the map that shows and hides layer groups, nothing else.

    Args:
        frame: The page's map frame (see :func:`_frame`).
        visible: The layer groups to show.
    """
    patch = dash.Patch()
    for group, indexes in frame["layers"].items():
        for index in indexes:
            patch["layout"]["map"]["layers"][index]["visible"] = group in visible
    for group, indexes in frame["traces"].items():
        for index in indexes:
            patch["data"][index]["visible"] = group in visible
    return patch


def track_slider(track: Sequence[PositionReport]) -> dict[str, Any]:
    """The time slider's settings for a track: bounds, value, marks (WIB).

    Values are Unix seconds; the slider covers the whole track and starts
    with all of it chosen. An empty track gives a disabled slider.
    """
    if not track:
        return {"min": 0, "max": 1, "value": [0, 1], "marks": {}, "disabled": True}
    first = int(track[0].time.timestamp())
    last = int(track[-1].time.timestamp())
    if last <= first:
        last = first + 1
    marks = {
        first: format_wib(track[0].time)[11:16],
        last: format_wib(track[-1].time)[11:16],
    }
    return {
        "min": first,
        "max": last,
        "value": [first, last],
        "marks": marks,
        "disabled": False,
    }


def clip_track(
    track: Sequence[PositionReport], range_s: Sequence[float] | None
) -> list[PositionReport]:
    """The part of a track inside the slider's [start, end] (Unix seconds)."""
    if not range_s or len(range_s) != 2:
        return list(track)
    start, end = float(range_s[0]), float(range_s[1])
    return [p for p in track if start <= p.time.timestamp() <= end]


def open_ended(
    range_s: Sequence[float] | None, slider_max: float | None
) -> list[float] | None:
    """The slider's range, left open at the end when it reaches the slider's end.

    A track scrubbed to its end keeps growing with the vessel's new reports.
    """
    if not range_s or len(range_s) != 2:
        return None
    start, end = float(range_s[0]), float(range_s[1])
    if slider_max is not None and end >= slider_max:
        end = math.inf
    return [start, end]


def _frame(figure: Any) -> dict[str, Any]:
    layers, traces = layer_indices(figure)
    return {
        "slot_start": len(figure.data) - SLOT_COUNT,
        "layers": layers,
        "traces": traces,
    }


def layout(request: PageRequest) -> Any:
    """The map page."""
    context = request.context
    settings = context.config.dashboard
    figure = base_figure(context.overlay, context.layers, tile_url=settings.tile_url)
    frame = _frame(figure)
    present = [g for g in LAYER_GROUPS if g in frame["layers"] or g in frame["traces"]]
    return html.Div(
        className="map-page",
        children=[
            dcc.Graph(
                id="map",
                className="desk-map",
                config={
                    "displaylogo": False,
                    "scrollZoom": True,
                    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                },
                responsive=True,
                figure=figure,
            ),
            html.Aside(
                className="side-panel",
                children=[
                    html.Section(
                        className="layer-switch",
                        children=[
                            html.H2(t("map.layers")),
                            dcc.Checklist(
                                id="map-layers",
                                options=[
                                    {"label": t(f"map.layer.{g}"), "value": g}
                                    for g in present
                                ],
                                value=present,
                                inline=True,
                            ),
                        ],
                    ),
                    html.Section(
                        className="selected-vessel",
                        children=[
                            html.Div(id="map-selected", children=t("map.select_hint")),
                            html.A(
                                t("map.replay_view"),
                                id="replay-view",
                                href="/playback",
                                className="replay-view",
                            ),
                            html.Div(
                                id="track-slider-box",
                                className="track-slider hidden",
                                children=dcc.RangeSlider(
                                    id="track-slider",
                                    min=0,
                                    max=1,
                                    value=[0, 1],
                                    marks={},
                                    step=1,
                                    disabled=True,
                                    allowCross=False,
                                    allow_direct_input=False,
                                    # Unix seconds shown as WIB clock times
                                    # (assets/desk-map.js).
                                    tooltip={
                                        "placement": "bottom",
                                        "transform": "wibTime",
                                    },
                                ),
                            ),
                        ],
                    ),
                    html.Section(
                        className="alert-panel",
                        children=[
                            html.H2(id="alert-title", children=t("map.open_alerts")),
                            html.Ol(id="alerts", className="alert-list"),
                        ],
                    ),
                ],
            ),
            dcc.Store(id="map-frame", data=frame),
            dcc.Store(id="map-view"),
            dcc.Store(id="map-selection"),
            dcc.Interval(
                id="tick", interval=int(settings.refresh_s * 1000), n_intervals=0
            ),
        ],
    )


def register(app: dash.Dash, context: DeskContext) -> None:
    """The map page's callbacks."""

    @app.callback(
        Output("map-view", "data"),
        Output("replay-view", "href"),
        Input("map", "relayoutData"),
        prevent_initial_call=True,
    )
    def keep_view(relayout: Mapping[str, Any] | None) -> Any:
        # Only pans and zooms change the view; autosize and the like do not.
        if relayout and ("map.center" in relayout or "map.zoom" in relayout):
            overlay = context.overlay
            view = view_from_relayout(relayout, overlay.center, overlay.zoom)
            area = urlencode({"area": view_area(view.bbox)})
            return dict(relayout), f"/playback?{area}"
        return dash.no_update, dash.no_update

    @app.callback(
        Output("map", "figure"),
        Output("alerts", "children"),
        Output("alert-title", "children"),
        Output("counts", "children"),
        Input("tick", "n_intervals"),
        Input("map-view", "data"),
        Input("map-selection", "data"),
        State("track-slider", "value"),
        State("track-slider", "max"),
        State("map-frame", "data"),
    )
    def refresh(
        _ticks: int | None,
        view_data: Mapping[str, Any] | None,
        selection: Mapping[str, Any] | None,
        track_range: Sequence[float] | None,
        track_max: float | None,
        frame: Mapping[str, Any],
    ) -> tuple[Any, ...]:
        selected = _selected_mmsi(selection)
        track_range = open_ended(track_range, track_max)
        try:
            result = map_refresh(context, view_data, selected, track_range)
        except PantaulautError:
            log.exception("dashboard: cannot read the store")
            unavailable = html.Span(t("common.store_unavailable"), className="warning")
            return dash.no_update, dash.no_update, dash.no_update, unavailable
        snapshot = result.snapshot
        return (
            refresh_patch(int(frame["slot_start"]), result.slots),
            alert_items(snapshot.alerts),
            t("map.open_alerts_count", count=len(snapshot.alerts)),
            header_counts(snapshot, result.drawn),
        )

    @app.callback(
        Output("map", "figure", allow_duplicate=True),
        Input("map-layers", "value"),
        State("map-frame", "data"),
        prevent_initial_call=True,
    )
    def switch_layers(
        visible: Sequence[str] | None, frame: Mapping[str, Any]
    ) -> dash.Patch:
        return layer_patch(frame, set(visible or ()))

    @app.callback(
        Output("map-selection", "data"),
        Output("map-selected", "children"),
        Output("track-slider", "min"),
        Output("track-slider", "max"),
        Output("track-slider", "value"),
        Output("track-slider", "marks"),
        Output("track-slider", "disabled"),
        Output("track-slider-box", "className"),
        Input("map", "clickData"),
        prevent_initial_call=True,
    )
    def select(click: Mapping[str, Any] | None) -> tuple[Any, ...]:
        mmsi = _clicked_mmsi(click)
        if mmsi is None:
            return (dash.no_update,) * 8
        try:
            vessel = context.store.vessel(mmsi)
            latest = vessel.last_seen if vessel is not None else None
            track = read_track(context, mmsi, latest) if latest is not None else []
        except PantaulautError:
            log.exception("dashboard: cannot read the store")
            return (dash.no_update,) * 8
        slider = track_slider(track)
        name = (vessel.name if vessel else None) or t("map.hover.no_name")
        summary = [
            html.Strong(name),
            html.Span(f" · MMSI {mmsi} · "),
            html.A(t("map.vessel_detail"), href=f"/vessels/{mmsi}", id="selected-link"),
            html.Div(
                t("map.track_points", count=len(track), hours=int(TRACK_HOURS)),
                className="track-note",
            ),
        ]
        return (
            {"mmsi": mmsi, "at": datetime.now(UTC).isoformat()},
            summary,
            slider["min"],
            slider["max"],
            slider["value"],
            slider["marks"],
            slider["disabled"],
            "track-slider hidden" if slider["disabled"] else "track-slider",
        )

    @app.callback(
        Output("map", "figure", allow_duplicate=True),
        Input("track-slider", "value"),
        State("map-selection", "data"),
        State("map-frame", "data"),
        prevent_initial_call=True,
    )
    def scrub(
        track_range: Sequence[float] | None,
        selection: Mapping[str, Any] | None,
        frame: Mapping[str, Any],
    ) -> Any:
        mmsi = _selected_mmsi(selection)
        if mmsi is None:
            return dash.no_update
        try:
            vessel = context.store.vessel(mmsi)
            if vessel is None or vessel.last_seen is None:
                return dash.no_update
            track = clip_track(read_track(context, mmsi, vessel.last_seen), track_range)
        except PantaulautError:
            log.exception("dashboard: cannot read the store")
            return dash.no_update
        patch = dash.Patch()
        index = int(frame["slot_start"]) + _TRACK_SLOT
        patch["data"][index] = track_trace(track)
        return patch


def _selected_mmsi(selection: Mapping[str, Any] | None) -> int | None:
    if not selection:
        return None
    value = selection.get("mmsi")
    return value if isinstance(value, int) else None


def _clicked_mmsi(click: Mapping[str, Any] | None) -> int | None:
    points = (click or {}).get("points") or []
    for point in points:
        value = point.get("customdata") if isinstance(point, Mapping) else None
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, int):
            return value
    return None


_TRACK_SLOT = slot_index("track")

PAGE = Page(path="/", title_key="map.title", layout=layout, register=register)
