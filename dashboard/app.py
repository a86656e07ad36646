"""The desk's Dash app: a navigation bar and the pages of :mod:`.pages`.

:func:`create_app` builds the app that :class:`pantaulaut.service.
DashboardThread` serves. The layout is built per request (so that it is in
the request's language): a header with the title, the live counts and the
navigation bar, and the page the address names, chosen by a callback on a
``dcc.Location``. Each page registers its own callbacks.

Links between pages are plain anchors: every page is a document of its own.
With Dash's client-side routing, a callback still in flight from the page
left behind (the map's refresh, a playback tick) can land in the next page's
layout and stop the renderer with "Cannot patch undefined" or "paths is
undefined" (plotly/dash#2397, #2680); a desk that silently stops updating is
worse than a page load on the regency's network.

The map page's pieces that tests call without a browser live here too:
:func:`desk_view`, :func:`header_counts`, :func:`alert_items`.

Everything the page needs is served by the app itself (Dash's scripts,
plotly.js, the stylesheet in ``assets/``); the map needs no tile server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from pantaulaut.alerts.feed import register_feed
from pantaulaut.config import Config
from pantaulaut.dashboard.auth import desk_controls, install_auth
from pantaulaut.dashboard.figures import (
    DeskSnapshot,
    ZoneOverlay,
    format_wib,
    load_map_layers,
    map_figure,
    zone_overlay,
    zoom_from_relayout,
)
from pantaulaut.dashboard.i18n import (
    LANGUAGES,
    alert_summary,
    has,
    kind_text,
    severity_text,
    t,
)
from pantaulaut.dashboard.pages import (
    DeskContext,
    Page,
    PageRequest,
    discover,
    find_page,
)
from pantaulaut.geofence.zones import ZoneSet
from pantaulaut.model import Alert, Severity
from pantaulaut.store.base import Accounts, Store

__all__ = [
    "alert_items",
    "create_app",
    "desk_view",
    "header_counts",
    "page_content",
    "traces_patch",
]

log = logging.getLogger(__name__)

_ASSETS = Path(__file__).resolve().parent / "assets"


def create_app(
    store: Store,
    config: Config,
    zones: ZoneSet,
    *,
    desk_actions: Any | None = None,
    pages: Sequence[Page] | None = None,
) -> dash.Dash:
    """Build the desk's Dash app.

    Args:
        store: Where vessels and alerts are read from.
        config: The service configuration; ``config.dashboard`` is used.
        zones: Zones drawn on the maps.
        desk_actions: The operator's actions on alerts, handed to the pages.
        pages: The pages to serve; None: every page module present.

    Returns:
        The app; serve ``app.server`` (a Flask WSGI app).
    """
    context = DeskContext(
        store=store,
        config=config,
        zones=zones,
        overlay=zone_overlay(zones),
        layers=load_map_layers(zones),
        desk_actions=desk_actions,
    )
    served = list(discover() if pages is None else pages)
    app = dash.Dash(
        __name__,
        assets_folder=str(_ASSETS),
        serve_locally=True,
        title="pantaulaut — Sumenep 112",
        update_title="",
        suppress_callback_exceptions=True,
    )
    app.layout = lambda: _shell(served)

    @app.callback(
        Output("page", "children"),
        Output("nav", "children"),
        Output("counts", "className"),
        Input("url", "pathname"),
        Input("url", "search"),
    )
    def route(pathname: str | None, search: str | None) -> tuple[Any, Any, str]:
        path = pathname or "/"
        found = find_page(served, path)
        # The live counts belong to the map; other pages hide them.
        on_map = found is not None and found[0].path == "/"
        return (
            page_content(served, context, path, search or ""),
            _nav(served, path),
            "counts" if on_map else "counts hidden",
        )

    for page in served:
        page.register(app, context)
    log.info(
        "dashboard app built: %d pages, %d zones, refresh %.1f s",
        len(served),
        len(zones),
        config.dashboard.refresh_s,
    )
    # The CAP Atom feed of open alerts, for 112 systems that poll.
    register_feed(app.server, store, config.delivery, zones)
    # Last, so that the gate covers every route: a log-in for all but the
    # log-in page, the language switch and static files.
    install_auth(app.server, cast(Accounts, store), config)
    return app


def _shell(pages: Sequence[Page]) -> Any:
    """The page frame: header, navigation, the page's place."""
    return html.Div(
        className="desk",
        children=[
            dcc.Location(id="url", refresh=False),
            html.Header(
                className="desk-header",
                children=[
                    html.H1(t("common.title")),
                    html.Nav(id="nav", className="desk-nav", children=_nav(pages, "")),
                    html.Div(
                        id="counts", className="counts", children=t("common.loading")
                    ),
                    html.Div(
                        className="languages",
                        children=[
                            html.A(
                                code.upper(),
                                href=f"/lang/{code}",
                                title=t(f"common.language.{code}"),
                                className="language",
                            )
                            for code in LANGUAGES
                        ],
                    ),
                    desk_controls(),
                ],
            ),
            html.Main(id="page", className="desk-page"),
        ],
    )


def _nav(pages: Sequence[Page], path: str) -> list[Any]:
    current = find_page(pages, path or "/")
    links = []
    for page in pages:
        if not page.nav:
            continue
        active = current is not None and current[0] is page
        links.append(
            html.A(
                t(page.title_key) if has(page.title_key) else page.path,
                href=page.path,
                className="nav-link active" if active else "nav-link",
                id=f"nav-{page.path.strip('/') or 'map'}",
            )
        )
    return links


def page_content(
    pages: Sequence[Page], context: DeskContext, path: str, search: str = ""
) -> Any:
    """The content of the page at ``path`` (a "not found" note if none)."""
    found = find_page(pages, path)
    if found is None:
        return html.Div(
            className="not-found",
            children=[
                html.H2(t("common.not_found")),
                html.A(t("map.title"), href="/"),
            ],
        )
    page, rest = found
    query = dict(parse_qsl(search.lstrip("?")))
    return page.layout(PageRequest(context, path, rest, query))


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
    relayout: dict[str, Any] | None = None,
    tile_url: str = "",
) -> tuple[go.Figure, list[Any], str, list[Any]]:
    """Everything one refresh of the whole-map view puts on the page.

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
    title = t("map.open_alerts_count", count=len(snapshot.alerts))
    return figure, alert_items(snapshot.alerts), title, header_counts(snapshot)


def header_counts(snapshot: DeskSnapshot, drawn: int | None = None) -> list[Any]:
    """The header's counts: vessels shown, open alerts, last data time.

    Args:
        snapshot: What was read.
        drawn: How many vessels the map draws after decluttering, when
            fewer than it shows.
    """
    critical = sum(1 for a in snapshot.alerts if a.severity is Severity.CRITICAL)
    alerts = t("map.count_alerts", count=len(snapshot.alerts))
    if critical:
        alerts += f" ({t('map.count_critical', count=critical)})"
    vessels = t("map.count_vessels", count=len(snapshot.mapped))
    if drawn is not None and drawn < len(snapshot.mapped):
        vessels += f" ({t('map.count_drawn', count=drawn)})"
    return [
        html.Span(vessels, id="count-vessels"),
        html.Span(alerts, id="count-alerts", className="critical" if critical else ""),
        html.Span(t("map.last_data", time=format_wib(snapshot.latest)), id="last-data"),
    ]


def alert_items(alerts: Sequence[Alert]) -> list[Any]:
    """One list item per open alert, in the order given."""
    if not alerts:
        return [html.Li(t("map.no_alerts"), className="alert-empty")]
    return [_alert_item(alert) for alert in alerts]


def _alert_item(alert: Alert) -> Any:
    severity = alert.severity.value
    if alert.mmsi is None:
        vessel: Any = alert.vessel_name or t("map.no_vessel")
    else:
        label = (
            f"{alert.vessel_name} · MMSI {alert.mmsi}"
            if alert.vessel_name
            else f"MMSI {alert.mmsi}"
        )
        vessel = html.A(label, href=f"/vessels/{alert.mmsi}")
    details: list[Any] = [
        html.Div(
            className="alert-head",
            children=[
                html.Span(severity_text(severity), className="badge"),
                html.Span(kind_text(alert.kind.value), className="kind"),
                html.Span(format_wib(alert.time), className="time"),
            ],
        ),
        html.Div(vessel, className="vessel"),
    ]
    if alert.zone:
        details.append(html.Div(t("map.zone", zone=alert.zone), className="zone"))
    if alert.summary:
        details.append(html.Div(alert_summary(alert), className="summary"))
    if alert.count > 1 and alert.updated is not None:
        details.append(
            html.Div(
                t("map.repeats", count=alert.count, time=format_wib(alert.updated)),
                className="repeat",
            )
        )
    data: dict[str, Any] = {"data-kind": alert.kind.value, "data-severity": severity}
    return html.Li(details, className=f"alert sev-{severity}", **data)
