"""Vessel search and a vessel's detail page.

``/vessels`` searches by name, call sign, MMSI or IMO number (the store's
``search_vessels``) as the operator types; each result links to
``/vessels/<mmsi>``: static and voyage data, flag (from the MMSI's MID),
class, dimensions, when it was last heard and by which station, its recent
track on a small map, and its alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from pantaulaut.dashboard.figures import (
    SLOT_COUNT,
    DeskSnapshot,
    base_figure,
    format_wib,
    status_words,
    type_text,
    vessel_slots,
)
from pantaulaut.dashboard.i18n import alert_summary, kind_text, severity_text, t
from pantaulaut.dashboard.pages import DeskContext, Page, PageRequest, alert_link
from pantaulaut.errors import PantaulautError
from pantaulaut.model import Alert, AlertState, PositionReport, Vessel

__all__ = [
    "DETAIL_TRACK_HOURS",
    "PAGE",
    "detail_figure",
    "vessel_alerts",
    "vessel_facts",
    "vessel_results",
]

log = logging.getLogger(__name__)

DETAIL_TRACK_HOURS = 24.0
"""How far back from its last report a vessel's detail page draws its track."""
SEARCH_LIMIT = 50
_DETAIL_ZOOM = 10.0
_ALL_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.RESOLVED)


def _missing() -> str:
    return t("common.not_available")


def _value(value: object, unit: str = "") -> str:
    if value is None or value == "":
        return _missing()
    if isinstance(value, float):
        return f"{value:.1f}{unit}"
    return f"{value}{unit}"


def vessel_facts(vessel: Vessel) -> list[tuple[str, str]]:
    """The detail page's table: (label, value) pairs in the request's language."""
    flag = vessel.flag or t("vessel.flag_unknown")
    if vessel.flag_code:
        flag += f" ({vessel.flag_code})"
    kind = type_text(vessel)
    if vessel.ship_type is not None:
        kind += f" ({vessel.ship_type})"
    if vessel.length_m is not None and vessel.beam_m is not None:
        size = t(
            "vessel.dimensions",
            length=f"{vessel.length_m:.0f}",
            beam=f"{vessel.beam_m:.0f}",
        )
    else:
        size = _missing()
    position = (
        f"{vessel.lat_deg:.5f}, {vessel.lon_deg:.5f}"
        if vessel.lat_deg is not None and vessel.lon_deg is not None
        else _missing()
    )
    motion = t(
        "map.hover.motion",
        speed=_value(vessel.speed_kn, " kn"),
        course=_value(vessel.course_deg, "°"),
        heading=_value(vessel.heading_deg, "°"),
    )
    return [
        (t("vessel.field.mmsi"), str(vessel.mmsi)),
        (t("vessel.field.imo"), _value(vessel.imo)),
        (t("vessel.field.callsign"), _value(vessel.callsign)),
        (t("vessel.field.flag"), flag),
        (t("vessel.field.type"), kind),
        (t("vessel.field.ais_class"), vessel.vessel_class),
        (t("vessel.field.dimensions"), size),
        (t("vessel.field.draught"), _value(vessel.draught_m, " m")),
        (t("vessel.field.destination"), _value(vessel.destination)),
        (
            t("vessel.field.status"),
            _value(status_words(vessel.nav_status) or vessel.nav_status_text),
        ),
        (t("vessel.field.motion"), motion),
        (t("vessel.field.position"), position),
        (t("vessel.field.last_seen"), format_wib(vessel.last_seen)),
        (t("vessel.field.station"), _value(vessel.station)),
    ]


def vessel_results(vessels: Sequence[Vessel]) -> list[Any]:
    """One list item per vessel found, each linking to its detail page."""
    items = []
    for vessel in vessels:
        name = vessel.name or t("map.hover.no_name")
        extra = [f"MMSI {vessel.mmsi}"]
        if vessel.callsign:
            extra.append(vessel.callsign)
        if vessel.imo:
            extra.append(f"IMO {vessel.imo}")
        extra.append(vessel.flag or t("map.hover.flag_unknown"))
        items.append(
            html.Li(
                className="vessel-result",
                children=[
                    html.A(name, href=f"/vessels/{vessel.mmsi}"),
                    html.Span(" · ".join(extra), className="vessel-ids"),
                    html.Span(
                        t("map.hover.last_seen", time=format_wib(vessel.last_seen)),
                        className="vessel-seen",
                    ),
                ],
                **_data_attributes(mmsi=str(vessel.mmsi)),
            )
        )
    return items


def _data_attributes(**values: str) -> dict[str, Any]:
    return {f"data-{name}": value for name, value in values.items()}


def vessel_alerts(alerts: Sequence[Alert], mmsi: int) -> list[Alert]:
    """The alerts about one vessel, newest first."""
    mine = [a for a in alerts if a.mmsi == mmsi]
    return sorted(mine, key=lambda a: a.time, reverse=True)


def detail_figure(
    context: DeskContext, vessel: Vessel, track: Sequence[PositionReport]
) -> Any:
    """A small map of the vessel's position and recent track."""
    center = (
        {"lat": vessel.lat_deg, "lon": vessel.lon_deg}
        if vessel.lat_deg is not None and vessel.lon_deg is not None
        else None
    )
    figure = base_figure(
        context.overlay,
        context.layers,
        center=center,
        zoom=_DETAIL_ZOOM if center else None,
        revision=f"vessel-{vessel.mmsi}",
    )
    slots = vessel_slots(
        DeskSnapshot([vessel]), [vessel], _DETAIL_ZOOM, track=track, selected=None
    )
    fixed = [trace.to_plotly_json() for trace in figure.data[:-SLOT_COUNT]]
    drawn = go.Figure(data=[*fixed, *slots], layout=figure.layout)
    drawn.update_layout(showlegend=False)
    return drawn


def _search_layout(request: PageRequest) -> Any:
    query = request.query.get("q", "")
    return html.Div(
        className="vessel-search page-body",
        children=[
            html.H2(t("vessel.search_heading")),
            html.Label(t("vessel.search_label"), htmlFor="vessel-query"),
            dcc.Input(
                id="vessel-query",
                type="search",
                value=query,
                placeholder=t("vessel.search_placeholder"),
                debounce=0.3,
                autoFocus=True,
                className="search-box",
            ),
            html.Div(id="vessel-count", className="vessel-count"),
            html.Ul(id="vessel-results", className="vessel-results"),
        ],
    )


def _detail_layout(request: PageRequest, mmsi: int) -> Any:
    context = request.context
    back = html.A(t("vessel.back"), href="/vessels", className="back-link")
    try:
        vessel = context.store.vessel(mmsi)
        track: list[PositionReport] = []
        alerts: list[Alert] = []
        if vessel is not None:
            if vessel.last_seen is not None:
                end = vessel.last_seen + timedelta(minutes=1)
                start = vessel.last_seen - timedelta(hours=DETAIL_TRACK_HOURS)
                track = context.store.track(mmsi, start, end)
            alerts = vessel_alerts(
                context.store.alerts(states=_ALL_STATES, limit=1000), mmsi
            )
    except PantaulautError:
        log.exception("dashboard: cannot read vessel %d", mmsi)
        return html.Div([back, html.P(t("common.store_unavailable"))])
    if vessel is None:
        return html.Div(
            className="vessel-detail page-body",
            children=[back, html.P(t("vessel.not_found", mmsi=mmsi), id="vessel-none")],
        )
    facts = vessel_facts(vessel)
    return html.Div(
        className="vessel-detail page-body",
        id="vessel-detail",
        children=[
            back,
            html.H2(
                f"{vessel.name or t('map.hover.no_name')} · MMSI {vessel.mmsi}",
                id="vessel-name",
            ),
            html.Div(
                className="vessel-columns",
                children=[
                    html.Table(
                        className="vessel-facts",
                        children=html.Tbody(
                            [html.Tr([html.Th(k), html.Td(v)]) for k, v in facts]
                        ),
                    ),
                    html.Div(
                        className="vessel-track",
                        children=[
                            html.H3(
                                t(
                                    "vessel.track_heading",
                                    count=len(track),
                                    hours=int(DETAIL_TRACK_HOURS),
                                )
                            ),
                            dcc.Graph(
                                id="vessel-map",
                                className="vessel-map",
                                figure=detail_figure(context, vessel, track),
                                config={"displaylogo": False, "scrollZoom": True},
                            ),
                        ],
                    ),
                ],
            ),
            html.H3(t("vessel.alerts_heading", count=len(alerts))),
            html.Ul(
                className="vessel-alerts",
                children=[_alert_row(a) for a in alerts]
                or [html.Li(t("vessel.no_alerts"))],
            ),
        ],
    )


def _alert_row(alert: Alert) -> Any:
    return html.Li(
        className=f"vessel-alert sev-{alert.severity.value}",
        children=[
            html.Span(severity_text(alert.severity.value), className="badge"),
            " ",
            html.A(
                kind_text(alert.kind.value),
                href=alert_link(alert.id),
                className="kind",
            ),
            " ",
            html.Span(format_wib(alert.time), className="time"),
            html.Span(f" · {t(f'vessel.state.{alert.state.value}')}"),
            html.Div(alert_summary(alert), className="summary"),
        ],
    )


def layout(request: PageRequest) -> Any:
    """The search page, or a vessel's detail page for ``/vessels/<mmsi>``."""
    if request.rest:
        if request.rest.isdigit():
            return _detail_layout(request, int(request.rest))
        return html.P(t("vessel.not_found", mmsi=request.rest))
    return _search_layout(request)


def register(app: dash.Dash, context: DeskContext) -> None:
    """The search box's callback."""

    @app.callback(
        Output("vessel-results", "children"),
        Output("vessel-count", "children"),
        Input("vessel-query", "value"),
    )
    def search(text: str | None) -> tuple[list[Any], str]:
        if not text or not text.strip():
            return [], t("vessel.search_hint")
        try:
            found = context.store.search_vessels(text, SEARCH_LIMIT)
        except PantaulautError:
            log.exception("dashboard: vessel search failed")
            return [], t("common.store_unavailable")
        if not found:
            return [], t("vessel.no_results", text=text.strip())
        return vessel_results(found), t("vessel.results", count=len(found))


PAGE = Page(path="/vessels", title_key="vessel.title", layout=layout, register=register)
