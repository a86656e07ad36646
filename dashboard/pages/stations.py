"""Station health: is every coastal station still sending, and how well?

One row per receiving station, from the store's per-station counters
(:meth:`pantaulaut.store.base.Store.stations`): messages per minute, the
last message (WIB), the share of its sentences that could not be decoded,
and the vessels it has heard. A station that is down is shown first and in
red: one with an open ``station_down`` alert, or one silent for longer than
its own normal gap between messages allows (the same measure the
``station_down`` detector uses: 20 mean gaps, at least a minute).

Silence is measured against the wall clock while the feed is live. When the
newest message of any station is hours old, the store holds a recording
played back, and silence is measured against that recording's own clock
instead (the page says so).

Messages per minute are counted between two refreshes of the page, on the
stations' own clock; until the page has seen two readings, the station's
average since it was first heard is shown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dash
from dash import Input, Output, dcc, html

from pantaulaut.alerts.settings import DetectorSettings
from pantaulaut.dashboard.figures import format_wib
from pantaulaut.dashboard.i18n import t
from pantaulaut.dashboard.pages import DeskContext, Page, PageRequest
from pantaulaut.errors import PantaulautError
from pantaulaut.model import Alert, AlertKind, AlertState, StationStats

__all__ = [
    "PAGE",
    "RateMemory",
    "StationHealth",
    "decode_error_rate",
    "reference_time",
    "station_health",
    "stations_view",
]

log = logging.getLogger(__name__)

# Reasons a line is set aside that are no fault of the radio path: blank
# lines, comments, other NMEA sentences, senders refused, our own queue.
_NOT_ERRORS = frozenset(
    {
        "blank_line",
        "comment",
        "non_ais_sentence",
        "sender_not_allowed",
        "queue_full",
    }
)
# Newer than this against the wall clock: the feed is live.
_LIVE_WITHIN = timedelta(hours=6)
# Readings kept per station for the rate (about ten minutes of refreshes).
_RATE_WINDOW = timedelta(minutes=10)
_DETECTOR = DetectorSettings()


@dataclass(frozen=True, slots=True)
class StationHealth:
    """One station's row on the page.

    Attributes:
        station: Its name.
        messages_per_min: Decoded messages a minute (recent, else average).
        last_seen: Its newest message (UTC), if any.
        silent_s: Seconds since then, against the reference clock.
        normal_gap_s: Its mean gap between messages, if known.
        limit_s: Silence beyond which it counts as down, if known.
        error_rate: Share of its sentences rejected as faulty (0 to 1).
        vessels: Distinct vessels it has heard.
        down: True when it must stand out.
        alert_open: True when a ``station_down`` alert is open for it.
    """

    station: str
    messages_per_min: float
    last_seen: datetime | None
    silent_s: float | None
    normal_gap_s: float | None
    limit_s: float | None
    error_rate: float
    vessels: int
    down: bool
    alert_open: bool


class RateMemory:
    """Readings of each station's message counter, for a recent rate.

    The page's refreshes add readings; the rate is the change of the
    counter over the change of the station's last message time, so a
    recording played fast is counted on its own clock. Thread-safe: the
    dashboard serves several requests at once.
    """

    def __init__(self) -> None:
        self._readings: dict[str, list[tuple[datetime, int]]] = {}
        self._lock = threading.Lock()

    def rate_per_min(self, stats: StationStats) -> float:
        """Record one reading and return the station's messages a minute."""
        if stats.last_seen is None:
            return 0.0
        with self._lock:
            readings = self._readings.setdefault(stats.station, [])
            if not readings or stats.last_seen > readings[-1][0]:
                readings.append((stats.last_seen, stats.messages))
            elif stats.messages < readings[-1][1]:
                # The counter went back (the service restarted): start again.
                readings[:] = [(stats.last_seen, stats.messages)]
            cutoff = stats.last_seen - _RATE_WINDOW
            while len(readings) > 2 and readings[1][0] <= cutoff:
                readings.pop(0)
            first_time, first_count = readings[0]
        span_s = (stats.last_seen - first_time).total_seconds()
        if len(readings) < 2 or span_s <= 0:
            return _average_per_min(stats)
        return max(stats.messages - first_count, 0) * 60.0 / span_s


def _average_per_min(stats: StationStats) -> float:
    if stats.first_seen is None or stats.last_seen is None:
        return 0.0
    span_s = (stats.last_seen - stats.first_seen).total_seconds()
    if span_s <= 0:
        return 0.0
    return stats.messages * 60.0 / span_s


def decode_error_rate(stats: StationStats) -> float:
    """Share of a station's sentences rejected as faulty, 0 to 1.

    Blank lines, comments, other NMEA sentences and refused senders are not
    faults of the radio path and are not counted.
    """
    errors = sum(n for reason, n in stats.rejected.items() if reason not in _NOT_ERRORS)
    total = stats.messages + errors
    return errors / total if total else 0.0


def reference_time(
    stations: Iterable[StationStats], now: datetime | None = None
) -> tuple[datetime, bool]:
    """The clock silence is measured on, and whether it is the wall clock.

    Args:
        stations: Every station's counters.
        now: The wall clock (UTC); the current time by default.

    Returns:
        The wall clock while the newest message is recent, else the newest
        message's time (a recording played back); and True for the former.
    """
    wall = now or datetime.now(UTC)
    seen = [s.last_seen for s in stations if s.last_seen is not None]
    if not seen:
        return wall, True
    newest = max(seen)
    if wall - newest <= _LIVE_WITHIN:
        return max(wall, newest), True
    return newest, False


def _limit_s(stats: StationStats) -> tuple[float | None, float | None]:
    """A station's mean gap between messages and the silence that is too long."""
    if stats.first_seen is None or stats.last_seen is None or stats.messages < 2:
        return None, None
    span_s = (stats.last_seen - stats.first_seen).total_seconds()
    if stats.messages < _DETECTOR.station_min_messages or span_s <= 0:
        return None, None
    gap_s = span_s / (stats.messages - 1)
    return gap_s, max(_DETECTOR.station_floor_s, _DETECTOR.station_silence_gaps * gap_s)


def station_health(
    stations: Sequence[StationStats],
    alerts: Iterable[Alert],
    now: datetime | None = None,
    rates: RateMemory | None = None,
) -> tuple[list[StationHealth], datetime, bool]:
    """Every station's health, the ones down first, then by name.

    Args:
        stations: Counters from the store.
        alerts: Open alerts (those of kind ``station_down`` are used).
        now: The wall clock (UTC); the current time by default.
        rates: Earlier readings, for a recent rate of messages.

    Returns:
        The rows, the reference clock and whether it is the wall clock.
    """
    reference, live = reference_time(stations, now)
    alerted = {
        a.station
        for a in alerts
        if a.kind is AlertKind.STATION_DOWN and a.state is not AlertState.RESOLVED
    }
    rows = []
    for stats in stations:
        gap_s, limit_s = _limit_s(stats)
        silent_s = (
            None
            if stats.last_seen is None
            else max((reference - stats.last_seen).total_seconds(), 0.0)
        )
        silent_too_long = (
            silent_s is not None and limit_s is not None and silent_s > limit_s
        )
        alert_open = stats.station in alerted
        rows.append(
            StationHealth(
                station=stats.station,
                messages_per_min=(
                    rates.rate_per_min(stats) if rates else _average_per_min(stats)
                ),
                last_seen=stats.last_seen,
                silent_s=silent_s,
                normal_gap_s=gap_s,
                limit_s=limit_s,
                error_rate=decode_error_rate(stats),
                vessels=stats.vessel_count,
                down=alert_open or silent_too_long,
                alert_open=alert_open,
            )
        )
    rows.sort(key=lambda r: (not r.down, r.station))
    return rows, reference, live


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return t("common.not_available")
    if seconds < 120:
        return t("stations.seconds", value=f"{seconds:.0f}")
    if seconds < 7200:
        return t("stations.minutes", value=f"{seconds / 60:.0f}")
    return t("stations.hours", value=f"{seconds / 3600:.1f}")


def _row(row: StationHealth) -> Any:
    state = "down" if row.down else "up"
    status = t("stations.state_down") if row.down else t("stations.state_up")
    if row.alert_open:
        status = t("stations.state_alert")
    data: dict[str, Any] = {"data-station": row.station, "data-state": state}
    return html.Tr(
        className=f"station station-{state}",
        children=[
            html.Td(row.station, className="station-name"),
            html.Td(status, className="station-state"),
            html.Td(f"{row.messages_per_min:.1f}", className="num"),
            html.Td(format_wib(row.last_seen)),
            html.Td(_duration(row.silent_s), className="num"),
            html.Td(_duration(row.limit_s), className="num"),
            html.Td(f"{100 * row.error_rate:.1f} %", className="num"),
            html.Td(str(row.vessels), className="num"),
        ],
        **data,
    )


def stations_view(
    rows: Sequence[StationHealth], reference: datetime, live: bool
) -> tuple[Any, list[Any]]:
    """The summary line and the table rows for the page."""
    down = sum(1 for r in rows if r.down)
    clock = format_wib(reference)
    summary: list[Any] = [
        html.Span(
            t("stations.summary", count=len(rows), down=down),
            className="station-summary-down" if down else "",
        ),
        html.Span(
            t("stations.clock_live", time=clock)
            if live
            else t("stations.clock_recording", time=clock),
            className="station-clock",
        ),
    ]
    if not rows:
        body = [html.Tr(html.Td(t("stations.none"), colSpan=8))]
    else:
        body = [_row(r) for r in rows]
    return summary, body


def layout(request: PageRequest) -> Any:
    """The page: a summary line and the table, refreshed by a timer."""
    interval_ms = int(request.context.config.dashboard.refresh_s * 1000)
    headers = [
        "stations.col_station",
        "stations.col_state",
        "stations.col_rate",
        "stations.col_last",
        "stations.col_silent",
        "stations.col_limit",
        "stations.col_errors",
        "stations.col_vessels",
    ]
    return html.Section(
        className="desk-page stations-page",
        children=[
            html.H2(t("stations.title")),
            html.Div(id="stations-summary", className="station-summary"),
            html.Table(
                className="station-table",
                children=[
                    html.Thead(html.Tr([html.Th(t(h)) for h in headers])),
                    html.Tbody(id="stations-rows"),
                ],
            ),
            html.P(t("stations.explain"), className="page-note"),
            dcc.Interval(id="stations-tick", interval=interval_ms, n_intervals=0),
        ],
    )


def register(app: dash.Dash, context: DeskContext) -> None:
    """The table's refresh."""
    rates = RateMemory()
    store = context.store

    @app.callback(
        Output("stations-summary", "children"),
        Output("stations-rows", "children"),
        Input("stations-tick", "n_intervals"),
    )
    def refresh(_ticks: int | None) -> tuple[Any, Any]:
        try:
            stations = store.stations()
            alerts = store.alerts(
                states=(AlertState.OPEN, AlertState.ACKNOWLEDGED), limit=1000
            )
        except PantaulautError:
            log.exception("station page: cannot read the store")
            warning = html.Span(t("common.store_unavailable"), className="warning")
            return warning, dash.no_update
        rows, reference, live = station_health(stations, alerts, rates=rates)
        return stations_view(rows, reference, live)


PAGE = Page(
    path="/stations",
    title_key="stations.title",
    layout=layout,
    register=register,
)
