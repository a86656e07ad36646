"""Playback: an area and a time window replayed on a map from the store.

The operator picks an area (the whole region or one zone), a start (WIB)
and a length, and a speed (1x, 10x, 60x or 600x). Each second of the
page's clock moves the playback cursor on by the speed in seconds of data;
the server reads the positions in the area up to the cursor
(``store.positions_in``) and draws every vessel where it last reported, if
that was within the trail (:data:`TRAIL_S`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import dash
from dash import Input, Output, State, ctx, dcc, html

from pantaulaut.dashboard.figures import (
    SLOT_COUNT,
    WIB,
    DeskSnapshot,
    base_figure,
    vessel_slots,
    zoom_from_relayout,
)
from pantaulaut.dashboard.i18n import t
from pantaulaut.dashboard.pages import DeskContext, Page, PageRequest
from pantaulaut.errors import PantaulautError
from pantaulaut.model import PositionReport, Vessel

__all__ = [
    "PAGE",
    "SPEEDS",
    "TRAIL_S",
    "Window",
    "advance",
    "area_bbox",
    "parse_wib",
    "playback_frame",
    "view_area",
]

log = logging.getLogger(__name__)

SPEEDS = (1, 10, 60, 600)
"""Playback speeds: seconds of data per second of the desk's clock."""
TRAIL_S = 900.0
"""A vessel stays drawn this long after its last report in the window."""
STEP_S = 1.0
"""The page's clock ticks this often."""
_HOURS = (0.5, 1.0, 3.0, 6.0, 24.0)
_READ_LIMIT = 50_000
_ALL = "all"
_STATIC_CACHE_MAX = 20_000


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """A playback window and where its cursor is (Unix seconds).

    Attributes:
        start_s: Start of the window.
        end_s: End of the window.
        cursor_s: The moment shown.
        running: Whether the cursor moves on with the clock.
    """

    start_s: float
    end_s: float
    cursor_s: float
    running: bool = False

    def as_data(self) -> dict[str, Any]:
        """The window as JSON for a ``dcc.Store``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> Window | None:
        """The window kept in a ``dcc.Store``, or None."""
        if not data:
            return None
        try:
            return cls(
                float(data["start_s"]),
                float(data["end_s"]),
                float(data["cursor_s"]),
                bool(data.get("running", False)),
            )
        except (KeyError, TypeError, ValueError):
            return None


def advance(window: Window, speed: float, elapsed_s: float = STEP_S) -> Window:
    """The window one clock step later; it stops at its end."""
    cursor = window.cursor_s + speed * elapsed_s
    if cursor >= window.end_s:
        return dataclasses.replace(window, cursor_s=window.end_s, running=False)
    return dataclasses.replace(window, cursor_s=cursor)


def parse_wib(text: str | None) -> datetime | None:
    """A ``YYYY-MM-DD HH:MM`` time read as WIB, in UTC; None if unreadable."""
    if not text:
        return None
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            local = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return local.replace(tzinfo=WIB).astimezone(UTC)
    return None


def view_area(bbox: tuple[float, float, float, float]) -> str:
    """The area value that names a box (``bbox:west,south,east,north``)."""
    return "bbox:" + ",".join(f"{v:.4f}" for v in bbox)


def area_bbox(
    context: DeskContext, area: str | None
) -> tuple[float, float, float, float] | None:
    """The box of an area: a zone's id or a ``bbox:`` value.

    None stands for the whole region (also for an unknown or unreadable
    area).
    """
    if area and area.startswith("bbox:"):
        try:
            west, south, east, north = (float(v) for v in area[5:].split(","))
        except ValueError:
            return None
        if west < east and south < north:
            return west, south, east, north
        return None
    for zone in context.zones.zones:
        if zone.id == area:
            west, south, east, north = zone.geometry.bounds
            return float(west), float(south), float(east), float(north)
    return None


def playback_frame(
    positions: Sequence[PositionReport],
    statics: Mapping[int, Vessel],
    cursor_s: float,
    trail_s: float = TRAIL_S,
) -> list[Vessel]:
    """Every vessel where it last reported at the cursor, within the trail.

    Args:
        positions: Positions read for the window, oldest first.
        statics: What is known of each vessel (name, type), by MMSI.
        cursor_s: The moment shown (Unix seconds).
        trail_s: How long after its last report a vessel stays drawn.

    Returns:
        One vessel per MMSI, with the position, motion and time of its
        latest report at or before the cursor.
    """
    latest: dict[int, PositionReport] = {}
    for report in positions:
        moment = report.time.timestamp()
        if moment > cursor_s:
            break
        if moment >= cursor_s - trail_s:
            latest[report.mmsi] = report
    vessels = []
    for mmsi, report in latest.items():
        known = statics.get(mmsi) or Vessel(mmsi=mmsi)
        vessels.append(
            dataclasses.replace(
                known,
                lat_deg=report.lat_deg,
                lon_deg=report.lon_deg,
                speed_kn=report.speed_kn,
                course_deg=report.course_deg,
                heading_deg=report.heading_deg,
                position_time=report.time,
                last_seen=report.time,
                station=report.station,
            )
        )
    return vessels


def _data_clock(context: DeskContext) -> datetime:
    newest = context.store.vessels(limit=1)
    if newest and newest[0].last_seen is not None:
        return newest[0].last_seen
    return datetime.now(UTC)


def layout(request: PageRequest) -> Any:
    """The playback page."""
    context = request.context
    try:
        clock = _data_clock(context)
    except PantaulautError:
        log.exception("dashboard: cannot read the store")
        clock = datetime.now(UTC)
    start = (clock - timedelta(hours=1)).astimezone(WIB).strftime("%Y-%m-%d %H:%M")
    areas = [{"label": t("playback.area_all"), "value": _ALL}] + [
        {"label": zone.name, "value": zone.id}
        for zone in sorted(context.zones.zones, key=lambda z: z.name)
    ]
    chosen = request.query.get("area", _ALL)
    if chosen.startswith("bbox:") and area_bbox(context, chosen) is not None:
        # The map's "replay this view" link.
        areas.insert(1, {"label": t("playback.area_view"), "value": chosen})
    figure = base_figure(context.overlay, context.layers, revision="playback")
    return html.Div(
        className="playback-page",
        children=[
            html.Div(
                className="playback-controls",
                children=[
                    html.Label(
                        [
                            t("playback.area"),
                            dcc.Dropdown(
                                id="playback-area",
                                options=areas,
                                value=chosen,
                                clearable=False,
                            ),
                        ],
                        className="control area",
                    ),
                    html.Label(
                        [
                            t("playback.start"),
                            dcc.Input(
                                id="playback-start",
                                type="text",
                                value=start,
                                debounce=True,
                            ),
                        ],
                        className="control",
                    ),
                    html.Label(
                        [
                            t("playback.length"),
                            dcc.Dropdown(
                                id="playback-hours",
                                options=[
                                    {
                                        "label": t("playback.hours", hours=f"{h:g}"),
                                        "value": h,
                                    }
                                    for h in _HOURS
                                ],
                                value=1.0,
                                clearable=False,
                            ),
                        ],
                        className="control",
                    ),
                    html.Div(
                        [
                            html.Span(t("playback.speed")),
                            dcc.RadioItems(
                                id="playback-speed",
                                options=[
                                    {
                                        "label": t("playback.speed_value", speed=s),
                                        "value": s,
                                    }
                                    for s in SPEEDS
                                ],
                                value=60,
                                inline=True,
                            ),
                        ],
                        className="control",
                    ),
                    html.Button(
                        t("playback.play"), id="playback-play", className="button"
                    ),
                    html.Button(
                        t("playback.pause"), id="playback-pause", className="button"
                    ),
                    html.Button(
                        t("playback.restart"),
                        id="playback-restart",
                        className="button",
                    ),
                    html.Span(id="playback-clock", className="playback-clock"),
                ],
            ),
            dcc.Graph(
                id="playback-map",
                className="playback-map",
                figure=figure,
                responsive=True,
                config={"displaylogo": False, "scrollZoom": True},
            ),
            dcc.Store(id="playback-window"),
            dcc.Store(id="playback-slots", data=len(figure.data) - SLOT_COUNT),
            dcc.Interval(
                id="playback-tick",
                interval=int(STEP_S * 1000),
                disabled=True,
                n_intervals=0,
            ),
        ],
    )


def register(app: dash.Dash, context: DeskContext) -> None:
    """The playback page's one callback: buttons and clock."""
    statics: dict[int, Vessel] = {}

    def static_of(mmsis: set[int]) -> dict[int, Vessel]:
        if len(statics) > _STATIC_CACHE_MAX:
            statics.clear()
        for mmsi in mmsis - statics.keys():
            statics[mmsi] = context.store.vessel(mmsi) or Vessel(mmsi=mmsi)
        return statics

    @app.callback(
        Output("playback-window", "data"),
        Output("playback-tick", "disabled"),
        Output("playback-map", "figure"),
        Output("playback-clock", "children"),
        Input("playback-play", "n_clicks"),
        Input("playback-pause", "n_clicks"),
        Input("playback-restart", "n_clicks"),
        Input("playback-tick", "n_intervals"),
        State("playback-area", "value"),
        State("playback-start", "value"),
        State("playback-hours", "value"),
        State("playback-speed", "value"),
        State("playback-window", "data"),
        State("playback-slots", "data"),
        State("playback-map", "relayoutData"),
        prevent_initial_call=True,
    )
    def step(
        _play: int | None,
        _pause: int | None,
        _restart: int | None,
        _ticks: int | None,
        area: str | None,
        start_text: str | None,
        hours: float | None,
        speed: int | None,
        window_data: Mapping[str, Any] | None,
        slot_start: int | None,
        relayout: Mapping[str, Any] | None,
    ) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        window = Window.from_data(window_data)
        if trigger in ("playback-play", "playback-restart") or window is None:
            start = parse_wib(start_text)
            if start is None:
                return dash.no_update, True, dash.no_update, t("playback.bad_start")
            length_s = float(hours or 1.0) * 3600.0
            begin = start.timestamp()
            cursor = begin
            if window is not None and trigger == "playback-play":
                same = window.start_s == begin and window.end_s == begin + length_s
                if same and window.cursor_s < window.end_s:
                    cursor = window.cursor_s
            window = Window(begin, begin + length_s, cursor, running=True)
        elif trigger == "playback-pause":
            window = dataclasses.replace(window, running=False)
        elif window.running:
            window = advance(window, float(speed or 1))
        bbox = area_bbox(context, area)
        moment = datetime.fromtimestamp(window.cursor_s, UTC)
        try:
            positions = context.store.positions_in(
                bbox,
                moment - timedelta(seconds=TRAIL_S),
                moment,
                _READ_LIMIT,
            )
            vessels = playback_frame(
                positions, static_of({p.mmsi for p in positions}), window.cursor_s
            )
        except PantaulautError:
            log.exception("dashboard: cannot read the store for playback")
            return window.as_data(), True, dash.no_update, t("common.store_unavailable")
        zoom = zoom_from_relayout(relayout, context.overlay.zoom)
        slots = vessel_slots(DeskSnapshot(vessels), vessels, zoom)
        patch = dash.Patch()
        for offset, trace in enumerate(slots):
            patch["data"][int(slot_start or 0) + offset] = trace
        state = t("playback.running") if window.running else t("playback.paused")
        clock = t(
            "playback.clock",
            time=moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S WIB"),
            count=len(vessels),
            state=state,
        )
        return window.as_data(), not window.running, patch, clock


PAGE = Page(
    path="/playback", title_key="playback.title", layout=layout, register=register
)
