"""The alert inbox: every alert of the desk, its audit trail and the acts on it.

Alerts are read from the store and listed most severe first, then newest
first; filters narrow the list by kind, zone and state (open and
acknowledged by default). Selecting an alert shows its details and its audit
trail: who did what, when (WIB).

Operators (and admins) act on the selected alert: acknowledge, assign to a
desk user, comment, resolve. Each act goes through the service's
:class:`~pantaulaut.desk.DeskActions` to the live pipeline, which records it
in the alert's history under the logged-in user's name, stores it and sends
it to 112 like any change; the bridge waits for the store, so the list shows
the new state at once. Viewers see the same list and trail without the
controls, and the server refuses an act from them whatever the browser
sends. A dashboard without a pipeline in its process refuses every act with
a message saying why.

``/alerts/<id>``, the address every CAP message gives in its ``web``
element, opens the inbox with that alert selected (``/inbox?alert=<id>``),
whatever its state; the vessel page links its alerts the same way.

A critical alert that nobody has acknowledged yet makes a red banner flash
above the list and its row's badge blink. It also plays a short tone, once
per new alert, after the operator has switched the sound on with the
"sound on" button: browsers play sound only after a click on the page, so
the button is clicked once per session (the choice is kept for the
browser tab; a page reload asks for the click again if the browser requires
it).
"""

from __future__ import annotations

import io
import logging
import math
import struct
import wave
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import dash
import flask
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from werkzeug.wrappers import Response as WerkzeugResponse

from pantaulaut.alerts.book import SYSTEM
from pantaulaut.dashboard.auth import Role, current_user, require_role
from pantaulaut.dashboard.figures import format_wib
from pantaulaut.dashboard.i18n import alert_summary, has, kind_text, severity_text, t
from pantaulaut.dashboard.pages import DeskContext, Page, PageRequest, alert_link
from pantaulaut.desk import ActionResult, refuse_unavailable
from pantaulaut.errors import DeskActionError, PantaulautError
from pantaulaut.model import Alert, AlertKind, AlertState, Severity
from pantaulaut.store.base import Accounts

__all__ = [
    "DEFAULT_STATES",
    "PAGE",
    "TONE_FILE",
    "alert_detail",
    "alert_tone_wav",
    "audit_rows",
    "critical_unacknowledged",
    "filter_alerts",
    "inbox_rows",
]

log = logging.getLogger(__name__)

TONE_FILE = "alert-tone.wav"
"""The tone in ``assets/``, made by :func:`alert_tone_wav`."""

DEFAULT_STATES = (AlertState.OPEN.value, AlertState.ACKNOWLEDGED.value)
"""States listed until the operator chooses otherwise."""

# Most alerts read from the store at one refresh.
_READ_LIMIT = 500
_STATE_ORDER = (AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.RESOLVED)


def alert_tone_wav(
    rate_hz: int = 8000, tones_hz: Sequence[float] = (988.0, 740.0, 988.0, 740.0)
) -> bytes:
    """A short two-pitch alarm as an 8-bit mono WAV file (about 0.8 s).

    The committed ``assets/alert-tone.wav`` is exactly this; it is made
    here, not downloaded, so that it can be rebuilt and checked.

    Args:
        rate_hz: Samples a second.
        tones_hz: The pitches, each sounded for 0.2 s.
    """
    beep_s = 0.2
    frames = bytearray()
    for pitch_hz in tones_hz:
        count = int(rate_hz * beep_s)
        for n in range(count):
            # A 5 ms ramp at each end keeps the speaker from clicking.
            ramp = min(1.0, n / (0.005 * rate_hz), (count - n) / (0.005 * rate_hz))
            value = 0.6 * ramp * math.sin(2 * math.pi * pitch_hz * n / rate_hz)
            frames += struct.pack("B", 128 + round(127 * value))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(rate_hz)
        wav.writeframes(bytes(frames))
    return out.getvalue()


def filter_alerts(
    alerts: Iterable[Alert],
    *,
    kinds: Sequence[str] = (),
    zones: Sequence[str] = (),
    states: Sequence[str] = DEFAULT_STATES,
) -> list[Alert]:
    """The alerts that pass the filters, most severe first, then newest.

    Args:
        alerts: Alerts read from the store.
        kinds: Kinds to keep; empty keeps every kind.
        zones: Zone names to keep; empty keeps every alert, with or
            without a zone.
        states: States to keep; empty keeps every state.
    """
    kept = [
        a
        for a in alerts
        if (not kinds or a.kind.value in kinds)
        and (not zones or a.zone in zones)
        and (not states or a.state.value in states)
    ]
    return sorted(kept, key=lambda a: (a.severity.rank, -a.time.timestamp()))


def critical_unacknowledged(alerts: Iterable[Alert]) -> list[str]:
    """Ids of critical alerts still open (nobody has taken them on)."""
    return sorted(
        a.id
        for a in alerts
        if a.severity is Severity.CRITICAL and a.state is AlertState.OPEN
    )


def _text(prefix: str, value: str) -> str:
    """A catalogue text for a value, or the value itself when there is none."""
    key = f"{prefix}.{value}"
    return t(key) if has(key) else value


def _vessel(alert: Alert) -> str:
    if alert.mmsi is None:
        return alert.vessel_name or alert.station or t("common.not_available")
    if alert.vessel_name:
        return f"{alert.vessel_name} · MMSI {alert.mmsi}"
    return f"MMSI {alert.mmsi}"


def inbox_rows(alerts: Sequence[Alert], selected: str | None) -> list[Any]:
    """One clickable row per alert, in the order given."""
    if not alerts:
        return [html.Li(t("inbox.empty"), className="inbox-empty")]
    rows = []
    for alert in alerts:
        severity = alert.severity.value
        classes = ["inbox-row", f"sev-{severity}", f"state-{alert.state.value}"]
        if alert.severity is Severity.CRITICAL and alert.state is AlertState.OPEN:
            classes.append("unacknowledged-critical")
        if alert.id == selected:
            classes.append("selected")
        assignee = alert.detail.get("assignee")
        line: list[Any] = [
            html.Span(severity_text(severity), className="badge"),
            html.Span(_text("inbox.state", alert.state.value), className="state"),
            html.Span(kind_text(alert.kind.value), className="kind"),
            html.Span(format_wib(alert.time), className="time"),
            html.Span(_vessel(alert), className="vessel"),
        ]
        if alert.zone:
            line.append(html.Span(alert.zone, className="zone"))
        if assignee:
            line.append(
                html.Span(t("inbox.assigned_to", user=assignee), className="assignee")
            )
        data: dict[str, Any] = {
            "data-alert": alert.id,
            "data-kind": alert.kind.value,
            "data-severity": severity,
            "data-state": alert.state.value,
        }
        rows.append(
            html.Li(
                html.Button(
                    line,
                    id={"type": "inbox-row", "index": alert.id},
                    className="inbox-row-button",
                    n_clicks=0,
                ),
                className=" ".join(classes),
                **data,
            )
        )
    return rows


def _entry_time(text: Any) -> str:
    try:
        return format_wib(datetime.fromisoformat(str(text).replace("Z", "+00:00")))
    except ValueError:
        return str(text)


def _note_cell(entry: Mapping[str, Any], action: str, alert: Alert) -> Any:
    """An entry's note, the system's own in words of the desk's language.

    The detectors note in English; the desk shows the alert's summary for
    its opening and a sentence for the rest, with the original in the
    cell's tooltip.
    """
    note = str(entry.get("note", ""))
    if entry.get("actor") != SYSTEM:
        return html.Td(note, className="note")
    key = f"inbox.system_note.{action}"
    if action == "opened":
        shown = alert_summary(alert)
    elif has(key):
        shown = t(key)
    else:
        shown = note
    return html.Td(shown, className="note system", title=note)


def audit_rows(alert: Alert) -> list[Any]:
    """The alert's audit trail as table rows, oldest first."""
    rows = []
    for entry in alert.history:
        action = str(entry.get("action", ""))
        data: dict[str, Any] = {"data-action": action}
        rows.append(
            html.Tr(
                className="audit-entry",
                children=[
                    html.Td(_entry_time(entry.get("time"))),
                    html.Td(str(entry.get("actor", "")), className="actor"),
                    html.Td(_text("inbox.action", action), className="action"),
                    _note_cell(entry, action, alert),
                ],
                **data,
            )
        )
    return rows


def alert_detail(alert: Alert | None) -> Any:
    """The selected alert's details and its audit trail."""
    if alert is None:
        return html.P(t("inbox.select"), className="inbox-hint")
    vessel: Any = _vessel(alert)
    if alert.mmsi is not None:
        vessel = html.A(vessel, href=f"/vessels/{alert.mmsi}", id="inbox-vessel-link")
    facts: list[tuple[str, Any]] = [
        ("inbox.field_kind", kind_text(alert.kind.value)),
        ("inbox.field_severity", severity_text(alert.severity.value)),
        ("inbox.field_state", _text("inbox.state", alert.state.value)),
        ("inbox.field_vessel", vessel),
        ("inbox.field_time", format_wib(alert.time)),
        ("inbox.field_updated", format_wib(alert.updated)),
    ]
    if alert.zone:
        facts.append(("inbox.field_zone", alert.zone))
    if alert.station:
        facts.append(("inbox.field_station", alert.station))
    if alert.lat_deg is not None and alert.lon_deg is not None:
        facts.append(
            ("inbox.field_position", f"{alert.lat_deg:.5f}, {alert.lon_deg:.5f}")
        )
    assignee = alert.detail.get("assignee")
    if assignee:
        facts.append(("inbox.field_assignee", str(assignee)))
    if alert.count > 1:
        facts.append(("inbox.field_reports", str(alert.count)))
    items: list[Any] = []
    for key, value in facts:
        items += [html.Dt(t(key)), html.Dd(value)]
    data: dict[str, Any] = {
        "data-alert": alert.id,
        "data-state": alert.state.value,
    }
    return html.Div(
        className=f"inbox-alert sev-{alert.severity.value}",
        children=[
            html.H3(alert_summary(alert) or kind_text(alert.kind.value)),
            html.Dl(items, className="inbox-facts"),
            html.H4(t("inbox.audit_title")),
            html.Table(
                id="inbox-audit",
                className="audit-trail",
                children=[
                    html.Thead(
                        html.Tr(
                            [
                                html.Th(t("inbox.audit_time")),
                                html.Th(t("inbox.audit_actor")),
                                html.Th(t("inbox.audit_action")),
                                html.Th(t("inbox.audit_note")),
                            ]
                        )
                    ),
                    html.Tbody(audit_rows(alert)),
                ],
            ),
        ],
        **data,
    )


def _banner(critical: Sequence[str]) -> tuple[Any, str]:
    if not critical:
        return "", "inbox-critical hidden"
    return (
        t("inbox.critical_banner", count=len(critical)),
        "inbox-critical flashing",
    )


def _controls() -> Any:
    """The operator's controls: a note, an assignee and the four acts."""
    return html.Div(
        id="inbox-controls",
        className="inbox-controls",
        children=[
            dcc.Textarea(
                id="inbox-note",
                placeholder=t("inbox.note_placeholder"),
                className="inbox-note",
            ),
            html.Div(
                className="inbox-buttons",
                children=[
                    html.Button(
                        t("inbox.acknowledge"), id="inbox-acknowledge", n_clicks=0
                    ),
                    html.Button(t("inbox.comment"), id="inbox-comment", n_clicks=0),
                    html.Button(t("inbox.resolve"), id="inbox-resolve", n_clicks=0),
                ],
            ),
            html.Div(
                className="inbox-assign",
                children=[
                    dcc.Input(
                        id="inbox-assignee",
                        type="text",
                        placeholder=t("inbox.assignee_placeholder"),
                        debounce=False,
                    ),
                    html.Button(t("inbox.assign"), id="inbox-assign", n_clicks=0),
                ],
            ),
            html.Div(id="inbox-feedback", className="inbox-feedback", role="status"),
        ],
    )


def _options(prefix: str, values: Iterable[str]) -> list[dict[str, str]]:
    return [{"label": _text(prefix, v), "value": v} for v in values]


def layout(request: PageRequest) -> Any:
    """The page; the controls only for users who may act on alerts."""
    context = request.context
    interval_ms = int(context.config.dashboard.refresh_s * 1000)
    user = current_user()
    can_act = user is not None and user.role.allows(Role.OPERATOR)
    zone_names = sorted({z.name for z in context.zones.zones})
    side: list[Any] = [html.Div(id="inbox-detail", className="inbox-detail")]
    if can_act:
        side.append(_controls())
    else:
        side.append(html.P(t("inbox.read_only"), className="inbox-read-only"))
    return html.Section(
        className="desk-page inbox-page",
        children=[
            html.Div(
                className="inbox-top",
                children=[
                    html.H2(t("inbox.title")),
                    html.Span(id="inbox-count", className="inbox-count"),
                    html.Button(
                        t("inbox.sound_off"),
                        id="inbox-sound",
                        n_clicks=0,
                        className="inbox-sound off",
                        title=t("inbox.sound_hint"),
                    ),
                ],
            ),
            html.Div(id="inbox-critical", className="inbox-critical hidden"),
            html.Div(
                className="inbox-filters",
                children=[
                    dcc.Dropdown(
                        id="inbox-filter-kind",
                        options=[
                            {"label": kind_text(k.value), "value": k.value}
                            for k in AlertKind
                        ],
                        multi=True,
                        placeholder=t("inbox.filter_kind"),
                    ),
                    dcc.Dropdown(
                        id="inbox-filter-zone",
                        options=[{"label": z, "value": z} for z in zone_names],
                        multi=True,
                        placeholder=t("inbox.filter_zone"),
                    ),
                    dcc.Checklist(
                        id="inbox-filter-state",
                        options=_options(
                            "inbox.state", [s.value for s in _STATE_ORDER]
                        ),
                        value=list(DEFAULT_STATES),
                        inline=True,
                    ),
                ],
            ),
            html.Div(
                className="inbox-body",
                children=[
                    html.Ol(id="inbox-list", className="inbox-list"),
                    html.Aside(side, className="inbox-side"),
                ],
            ),
            html.Audio(id="inbox-tone", src=_asset_url(TONE_FILE), preload="auto"),
            dcc.Store(
                id="inbox-selected",
                storage_type="memory",
                data=request.query.get("alert") or None,
            ),
            dcc.Store(id="inbox-changed", storage_type="memory", data=0),
            dcc.Store(id="inbox-critical-ids", storage_type="memory", data=[]),
            dcc.Store(id="inbox-sound-on", storage_type="session", data=False),
            dcc.Store(id="inbox-tone-played", storage_type="memory", data=[]),
            dcc.Interval(id="inbox-tick", interval=interval_ms, n_intervals=0),
        ],
    )


def _asset_url(name: str) -> str:
    """The URL of a file in ``assets/``, under the app's path prefix."""
    url: str = dash.get_asset_url(name)  # type: ignore[no-untyped-call]
    return url


def _read(context: DeskContext, states: Sequence[str]) -> list[Alert]:
    wanted = [s for s in _STATE_ORDER if not states or s.value in states]
    return context.store.alerts(states=wanted, limit=_READ_LIMIT)


def _find(context: DeskContext, alert_id: str, listed: Sequence[Alert]) -> Alert | None:
    for alert in listed:
        if alert.id == alert_id:
            return alert
    for alert in context.store.alerts(states=_STATE_ORDER, limit=_READ_LIMIT * 4):
        if alert.id == alert_id:
            return alert
    return None


def _act(
    context: DeskContext, verb: str, alert_id: str, actor: str, text: str
) -> ActionResult:
    actions = context.desk_actions
    if actions is None:
        raise refuse_unavailable(alert_id)
    if verb == "assign":
        _check_assignee(context, alert_id, text)
        result: ActionResult = actions.assign(alert_id, actor, text)
    elif verb == "comment":
        result = actions.comment(alert_id, actor, text)
    elif verb == "resolve":
        result = actions.resolve(alert_id, actor, text)
    else:
        result = actions.acknowledge(alert_id, actor, text)
    return result


def _check_assignee(context: DeskContext, alert_id: str, name: str) -> None:
    """An alert is handed to a desk user: one with an account here."""
    wanted = name.strip()
    if not wanted:
        return  # refused as empty by the desk actions, with their reason
    accounts = cast(Accounts, context.store)
    if accounts.get_user(wanted) is None:
        raise DeskActionError(
            alert_id, "unknown_user", f"no desk user is named {wanted!r}"
        )


_BUTTONS = {
    "inbox-acknowledge": "acknowledge",
    "inbox-assign": "assign",
    "inbox-comment": "comment",
    "inbox-resolve": "resolve",
}
_DONE = {
    "acknowledge": "inbox.done_acknowledged",
    "assign": "inbox.done_assigned",
    "comment": "inbox.done_commented",
    "resolve": "inbox.done_resolved",
}


ALERT_PATH = "/alerts/<alert_id>"


def register(app: dash.Dash, context: DeskContext) -> None:
    """The list's refresh, the selection, the acts, the sound and the links."""

    def open_alert(alert_id: str) -> WerkzeugResponse:
        # Behind the log-in like every route; the target is always this desk.
        root = flask.request.script_root
        return flask.redirect(root + alert_link(alert_id), code=302)

    if "pantaulaut_alert_link" not in app.server.view_functions:
        app.server.add_url_rule(ALERT_PATH, "pantaulaut_alert_link", open_alert)

    @app.callback(
        Output("inbox-list", "children"),
        Output("inbox-detail", "children"),
        Output("inbox-count", "children"),
        Output("inbox-critical", "children"),
        Output("inbox-critical", "className"),
        Output("inbox-critical-ids", "data"),
        Input("inbox-tick", "n_intervals"),
        Input("inbox-filter-kind", "value"),
        Input("inbox-filter-zone", "value"),
        Input("inbox-filter-state", "value"),
        Input("inbox-selected", "data"),
        Input("inbox-changed", "data"),
    )
    def refresh(
        _ticks: int | None,
        kinds: list[str] | None,
        zones: list[str] | None,
        states: list[str] | None,
        selected: str | None,
        _changed: int | None,
    ) -> tuple[Any, ...]:
        try:
            alerts = _read(context, states or [])
            listed = filter_alerts(
                alerts, kinds=kinds or [], zones=zones or [], states=states or []
            )
            chosen = _find(context, selected, listed) if selected else None
            # The cue is for the whole desk, whatever the filters hide.
            open_now = (
                alerts
                if not states or AlertState.OPEN.value in states
                else context.store.alerts(states=(AlertState.OPEN,), limit=_READ_LIMIT)
            )
        except PantaulautError:
            log.exception("inbox: cannot read the store")
            warning = html.Span(t("common.store_unavailable"), className="warning")
            return (dash.no_update, dash.no_update, warning) + (dash.no_update,) * 3
        critical = critical_unacknowledged(open_now)
        banner, banner_class = _banner(critical)
        return (
            inbox_rows(listed, selected),
            alert_detail(chosen),
            t("inbox.count", shown=len(listed)),
            banner,
            banner_class,
            critical,
        )

    @app.callback(
        Output("inbox-selected", "data"),
        Input({"type": "inbox-row", "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def select(clicks: list[int | None]) -> Any:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks):
            # Rows drawn anew by a refresh, not a click.
            return dash.no_update
        fired = ctx.triggered[0].get("value") if ctx.triggered else None
        if not fired:
            return dash.no_update
        return str(trigger["index"])

    @app.callback(
        Output("inbox-feedback", "children"),
        Output("inbox-feedback", "className"),
        Output("inbox-changed", "data"),
        Output("inbox-note", "value"),
        Output("inbox-assignee", "value"),
        Input("inbox-acknowledge", "n_clicks"),
        Input("inbox-assign", "n_clicks"),
        Input("inbox-comment", "n_clicks"),
        Input("inbox-resolve", "n_clicks"),
        State("inbox-selected", "data"),
        State("inbox-note", "value"),
        State("inbox-assignee", "value"),
        State("inbox-changed", "data"),
        prevent_initial_call=True,
    )
    def act(
        _ack: int | None,
        _assign: int | None,
        _comment: int | None,
        _resolve: int | None,
        selected: str | None,
        note: str | None,
        assignee: str | None,
        changed: int | None,
    ) -> tuple[Any, ...]:
        # Checked here, on the server, whatever the page showed or sent.
        user = require_role(Role.OPERATOR)
        verb = _BUTTONS.get(str(ctx.triggered_id), "")
        if not verb:
            raise PreventUpdate
        if not selected:
            return (
                t("inbox.select_first"),
                "inbox-feedback error",
                dash.no_update,
                dash.no_update,
                dash.no_update,
            )
        text = (assignee if verb == "assign" else note) or ""
        try:
            result = _act(context, verb, selected, user.name, text)
        except DeskActionError as exc:
            log.warning(
                "alert %s: %s by %s refused (%s): %s",
                selected,
                verb,
                user.name,
                exc.reason,
                exc,
            )
            # The catalogue says why in the desk's language; the log keeps
            # the English detail for the maintainer.
            key = f"inbox.refused_{exc.reason}"
            message = t(key, user=text.strip()) if has(key) else t("inbox.refused")
            return (
                message,
                "inbox-feedback error",
                (changed or 0) + 1,
                dash.no_update,
                dash.no_update,
            )
        message = t(_DONE[verb], user=user.name)
        if not result.stored:
            message += " " + t("inbox.not_yet_stored")
        # The note went with the act; an assignee field left filled in would
        # be typed over by the next name.
        cleared = "" if verb == "assign" else dash.no_update
        return message, "inbox-feedback ok", (changed or 0) + 1, "", cleared

    @app.callback(
        Output("inbox-sound-on", "data"),
        Input("inbox-sound", "n_clicks"),
        State("inbox-sound-on", "data"),
        prevent_initial_call=True,
    )
    def toggle_sound(_clicks: int | None, on: bool | None) -> bool:
        return not on

    @app.callback(
        Output("inbox-sound", "children"),
        Output("inbox-sound", "className"),
        Input("inbox-sound-on", "data"),
    )
    def sound_label(on: bool | None) -> tuple[str, str]:
        if on:
            return t("inbox.sound_on"), "inbox-sound on"
        return t("inbox.sound_off"), "inbox-sound off"

    # In the browser: play the tone for each critical alert not yet played,
    # and once when the sound is switched on (the click lets it play). A
    # browser that still refuses switches the sound back off.
    app.clientside_callback(  # type: ignore[no-untyped-call]
        """
        function(critical, on, played) {
            const trigger = (dash_clientside.callback_context.triggered || [])
                .map(t => t.prop_id)[0] || '';
            const before = new Set(played || []);
            const fresh = (critical || []).filter(id => !before.has(id));
            const audio = document.getElementById('inbox-tone');
            const wanted = on && (fresh.length > 0
                || trigger.startsWith('inbox-sound-on'));
            if (audio && wanted) {
                audio.currentTime = 0;
                const playing = audio.play();
                if (playing && playing.catch) {
                    playing.catch(() => dash_clientside.set_props(
                        'inbox-sound-on', {data: false}));
                }
            }
            return critical || [];
        }
        """,
        Output("inbox-tone-played", "data"),
        Input("inbox-critical-ids", "data"),
        Input("inbox-sound-on", "data"),
        State("inbox-tone-played", "data"),
    )


PAGE = Page(
    path="/inbox",
    title_key="inbox.title",
    layout=layout,
    register=register,
)
