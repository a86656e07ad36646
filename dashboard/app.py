"""The desk operators' page: live map, open alerts and counts (Plotly Dash).

:func:`create_app` builds the Dash app that :class:`pantaulaut.service.
DashboardThread` serves. The page refreshes itself every
``dashboard.refresh_s`` seconds; the one callback only reads the store and
hands the records to plain functions (:func:`desk_view` here, the figure in
:mod:`pantaulaut.dashboard.figures`), which tests call without a browser.

Everything the page needs is served by the app itself (Dash's scripts,
plotly.js, the stylesheet in ``assets/``); the map needs no tile server.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from pantaulaut.alerts.feed import register_feed
from pantaulaut.config import Config
from pantaulaut.dashboard.figures import (
    DeskSnapshot,
    ZoneOverlay,
    format_wib,
    load_snapshot,
    map_figure,
    zone_overlay,
    zoom_from_relayout,
)
from pantaulaut.errors import PantaulautError
from pantaulaut.geofence.zones import ZoneSet
from pantaulaut.model import Alert, Severity
from pantaulaut.store.base import Store

__all__ = [
    "TITLE",
    "alert_items",
    "create_app",
    "desk_view",
    "header_counts",
    "traces_patch",
]

log = logging.getLogger(__name__)

TITLE = "pantaulaut — Sumenep 112 maritime desk"
_ASSETS = Path(__file__).resolve().parent / "assets"


def create_app(store: Store, config: Config, zones: ZoneSet) -> dash.Dash:
    """Build the desk's Dash app.

    Args:
        store: Where vessels and alerts are read from (read only).
        config: The service configuration; ``config.dashboard`` is used.
        zones: Zones drawn on the map.

    Returns:
        The app; serve ``app.server`` (a Flask WSGI app).
    """
    settings = config.dashboard
    overlay = zone_overlay(zones)
    app = dash.Dash(
        __name__,
        assets_folder=str(_ASSETS),
        serve_locally=True,
        title="pantaulaut — Sumenep 112",
        update_title="",
    )
    app.layout = html.Div(
        className="desk",
        children=[
            html.Header(
                className="desk-header",
                children=[
                    html.H1(TITLE),
                    html.Div(id="counts", className="counts", children="loading…"),
                ],
            ),
            html.Main(
                className="desk-body",
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
                        # The layout (view, zone fills, tiles) is set here
                        # once; refreshes replace only the traces.
                        figure=map_figure(
                            DeskSnapshot(), overlay, tile_url=settings.tile_url
                        ),
                    ),
                    html.Aside(
                        className="alert-panel",
                        children=[
                            html.H2(id="alert-title", children="Open alerts"),
                            html.Ol(id="alerts", className="alert-list"),
                        ],
                    ),
                ],
            ),
            dcc.Interval(
                id="tick", interval=int(settings.refresh_s * 1000), n_intervals=0
            ),
        ],
    )

    @app.callback(
        Output("map", "figure"),
        Output("alerts", "children"),
        Output("alert-title", "children"),
        Output("counts", "children"),
        Input("tick", "n_intervals"),
        Input("map", "relayoutData"),
    )
    def refresh(
        _ticks: int | None, relayout: Mapping[str, Any] | None
    ) -> tuple[Any, ...]:
        try:
            snapshot = load_snapshot(store, settings.recent_minutes)
        except PantaulautError:
            log.exception("dashboard: cannot read the store")
            unavailable = html.Span(
                "store unavailable: showing the last data read", className="warning"
            )
            return dash.no_update, dash.no_update, dash.no_update, unavailable
        figure, items, title, counts = desk_view(
            snapshot, overlay, relayout, settings.tile_url
        )
        return traces_patch(figure), items, title, counts

    log.info(
        "dashboard app built: %d zones, refresh %.1f s", len(zones), settings.refresh_s
    )
    # The CAP Atom feed of open alerts, for 112 systems that poll.
    register_feed(app.server, store, config.delivery, zones)
    return app


def traces_patch(figure: go.Figure) -> dash.Patch:
    """A change to the map that replaces its traces and leaves its layout.

    Dash 4.4's ``dcc.Graph`` copies every pan and zoom into its ``figure``
    property, which spends plotly.js's ``uirevision`` record of what the
    operator changed; a whole new figure from the server would then put the
    view back to the first one. Patching only ``data`` keeps the operator's
    view, whatever the Graph does with it.
    """
    patch = dash.Patch()
    patch["data"] = [trace.to_plotly_json() for trace in figure.data]
    return patch


def desk_view(
    snapshot: DeskSnapshot,
    overlay: ZoneOverlay,
    relayout: Mapping[str, Any] | None = None,
    tile_url: str = "",
) -> tuple[go.Figure, list[Any], str, list[Any]]:
    """Everything one refresh puts on the page.

    Args:
        snapshot: What was read from the store.
        overlay: The zones, prepared once.
        relayout: The map's latest ``relayoutData`` (for its zoom).
        tile_url: Optional raster tiles below the map.

    Returns:
        The map figure, the alert list items, the alert panel's title and the
        header's counts.
    """
    zoom = zoom_from_relayout(relayout, overlay.zoom)
    figure = map_figure(snapshot, overlay, zoom=zoom, tile_url=tile_url)
    title = f"Open alerts ({len(snapshot.alerts)})"
    return figure, alert_items(snapshot.alerts), title, header_counts(snapshot)


def header_counts(snapshot: DeskSnapshot) -> list[Any]:
    """The header's counts: vessels shown, open alerts, last data time."""
    critical = sum(1 for a in snapshot.alerts if a.severity is Severity.CRITICAL)
    alerts = f"{len(snapshot.alerts)} open alerts"
    return [
        html.Span(f"{len(snapshot.mapped)} vessels shown", id="count-vessels"),
        html.Span(
            alerts + (f" ({critical} critical)" if critical else ""),
            id="count-alerts",
            className="critical" if critical else "",
        ),
        html.Span(f"last data {format_wib(snapshot.latest)}", id="last-data"),
    ]


def alert_items(alerts: Sequence[Alert]) -> list[Any]:
    """One list item per open alert, in the order given."""
    if not alerts:
        return [html.Li("No open alerts.", className="alert-empty")]
    return [_alert_item(alert) for alert in alerts]


def _alert_item(alert: Alert) -> Any:
    severity = alert.severity.value
    if alert.mmsi is None:
        vessel = alert.vessel_name or "no vessel"
    elif alert.vessel_name:
        vessel = f"{alert.vessel_name} · MMSI {alert.mmsi}"
    else:
        vessel = f"MMSI {alert.mmsi}"
    details: list[Any] = [
        html.Div(
            className="alert-head",
            children=[
                html.Span(severity.upper(), className="badge"),
                html.Span(alert.kind.value, className="kind"),
                html.Span(format_wib(alert.time), className="time"),
            ],
        ),
        html.Div(vessel, className="vessel"),
    ]
    if alert.zone:
        details.append(html.Div(f"Zone: {alert.zone}", className="zone"))
    if alert.summary:
        details.append(html.Div(alert.summary, className="summary"))
    if alert.count > 1 and alert.updated is not None:
        details.append(
            html.Div(
                f"{alert.count} reports, latest {format_wib(alert.updated)}",
                className="repeat",
            )
        )
    data: dict[str, Any] = {"data-kind": alert.kind.value, "data-severity": severity}
    return html.Li(details, className=f"alert sev-{severity}", **data)
