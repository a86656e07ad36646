"""Exports for the port authority, downloaded from the desk.

The operator chooses what (port calls, the vessel register, tracks, alerts),
the format (CSV, GeoJSON, GeoPackage, KML, GeoParquet), a period in WIB and,
optionally, one vessel's MMSI; the file is written by
:func:`pantaulaut.export.export` into a temporary folder, sent to the
browser as a download and removed. The day's summary
(:func:`pantaulaut.export.daily_summary`) is downloaded the same way.

Any logged-in user may download: exports only read the store.
"""

from __future__ import annotations

import base64
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import dash
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from pantaulaut.dashboard.auth import current_user
from pantaulaut.dashboard.figures import WIB
from pantaulaut.dashboard.i18n import has, t
from pantaulaut.dashboard.pages import DeskContext, Page, PageRequest
from pantaulaut.errors import PantaulautError
from pantaulaut.export import EXPORTS, FORMATS, SUMMARY_FORMATS, daily_summary, export

__all__ = [
    "PAGE",
    "ExportRequest",
    "export_file_name",
    "parse_request",
    "run_export",
    "run_summary",
]

log = logging.getLogger(__name__)

_EXTENSIONS = {
    "csv": "csv",
    "geojson": "geojson",
    "gpkg": "gpkg",
    "kml": "kml",
    "geoparquet": "parquet",
}
_INPUT_FORMAT = "%Y-%m-%d %H:%M"
_PLACEHOLDER = "YYYY-MM-DD HH:MM"
_DEFAULT_HOURS = 24
_RECORDING_AFTER = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """One export asked for on the page, checked.

    Attributes:
        what: One of :data:`pantaulaut.export.EXPORTS`.
        fmt: One of :data:`pantaulaut.export.FORMATS`.
        start: Start of the period (UTC).
        end: End of the period (UTC).
        mmsi: One vessel, or None for all.
    """

    what: str
    fmt: str
    start: datetime
    end: datetime
    mmsi: int | None = None


def _wib_input(value: datetime) -> str:
    return value.astimezone(WIB).strftime(_INPUT_FORMAT)


def _parse_wib(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=WIB)
    return value.astimezone(UTC)


def parse_request(
    what: str | None,
    fmt: str | None,
    start: str | None,
    end: str | None,
    mmsi: str | int | None,
) -> ExportRequest | str:
    """Check the page's fields.

    Args:
        what: The export chosen.
        fmt: The format chosen.
        start: Start of the period, ``YYYY-MM-DD HH:MM`` in WIB.
        end: End of the period, likewise.
        mmsi: A vessel's MMSI, or empty.

    Returns:
        The request, or the catalogue key of what is wrong with it.
    """
    if what not in EXPORTS:
        return "exports.error_what"
    if fmt not in FORMATS:
        return "exports.error_format"
    begin = _parse_wib(start)
    finish = _parse_wib(end)
    if begin is None or finish is None:
        return "exports.error_period"
    if finish < begin:
        return "exports.error_order"
    vessel: int | None = None
    if mmsi not in (None, ""):
        text = str(mmsi).strip()
        if not text.isdigit() or len(text) != 9:
            return "exports.error_mmsi"
        vessel = int(text)
    return ExportRequest(what, fmt, begin, finish, vessel)


def export_file_name(request: ExportRequest) -> str:
    """The downloaded file's name, such as ``pantaulaut-vessels-...csv``."""
    start = request.start.astimezone(WIB).strftime("%Y%m%d-%H%M")
    end = request.end.astimezone(WIB).strftime("%Y%m%d-%H%M")
    vessel = f"-{request.mmsi}" if request.mmsi is not None else ""
    ext = _EXTENSIONS.get(request.fmt, request.fmt)
    return f"pantaulaut-{request.what}{vessel}-{start}-{end}-WIB.{ext}"


def run_export(context: DeskContext, request: ExportRequest) -> tuple[bytes, int]:
    """Write the export to a temporary file and return its bytes and rows.

    Raises:
        ExportError: The export cannot be written.
        StoreError: The store cannot be read.
    """
    with tempfile.TemporaryDirectory(prefix="pantaulaut-export-") as folder:
        out = Path(folder) / export_file_name(request)
        rows = export(
            context.store,
            request.what,
            request.fmt,
            out,
            start=request.start,
            end=request.end,
            mmsi=request.mmsi,
        )
        return out.read_bytes(), rows


def run_summary(
    context: DeskContext, day: date, fmt: Literal["md", "csv"]
) -> tuple[bytes, str]:
    """Write the day's summary and return its bytes and file name.

    Raises:
        ExportError: The summary cannot be written.
        StoreError: The store cannot be read.
    """
    name = f"pantaulaut-summary-{day.isoformat()}-WIB.{fmt}"
    with tempfile.TemporaryDirectory(prefix="pantaulaut-summary-") as folder:
        out = Path(folder) / name
        daily_summary(context.store, day, out, fmt)
        return out.read_bytes(), name


def _label(prefix: str, value: str) -> str:
    key = f"{prefix}.{value}"
    return t(key) if has(key) else value


def _period_end(context: DeskContext) -> datetime:
    """Where the form's period ends at first: now, or a recording's last data.

    A store that holds a recording played back (its newest vessel heard
    more than six hours ago) gets a period that ends with its data, so that
    the first download is not empty.
    """
    now = datetime.now(UTC)
    try:
        newest = context.store.vessels(limit=1)
    except PantaulautError:
        return now
    seen = newest[0].last_seen if newest else None
    if seen is None or now - seen <= _RECORDING_AFTER:
        return now
    # The next whole minute: the form has no seconds.
    return seen.replace(second=0, microsecond=0) + timedelta(minutes=1)


def layout(request: PageRequest) -> Any:
    """The page: the export form and the daily summary form.

    The query may fill the form in (``what``, ``format``, ``start``, ``end``
    in WIB, ``mmsi``), so that another page can link to, say, one vessel's
    track; the download itself waits for the button.
    """
    now = _period_end(request.context)
    today = now.astimezone(WIB).date()
    query = request.query
    what = query.get("what", "")
    fmt = query.get("format", "")
    return html.Section(
        className="desk-page exports-page",
        children=[
            html.H2(t("exports.title")),
            html.Div(
                className="export-form",
                children=[
                    html.Label(t("exports.what"), htmlFor="export-what"),
                    dcc.Dropdown(
                        id="export-what",
                        options=[
                            {"label": _label("exports.what", w), "value": w}
                            for w in EXPORTS
                        ],
                        value=what if what in EXPORTS else EXPORTS[0],
                        clearable=False,
                    ),
                    html.Label(t("exports.format"), htmlFor="export-format"),
                    dcc.Dropdown(
                        id="export-format",
                        options=[
                            {"label": _label("exports.format", f), "value": f}
                            for f in FORMATS
                        ],
                        value=fmt if fmt in FORMATS else FORMATS[0],
                        clearable=False,
                    ),
                    html.Label(t("exports.start"), htmlFor="export-start"),
                    dcc.Input(
                        id="export-start",
                        type="text",
                        value=query.get("start")
                        or _wib_input(now - timedelta(hours=_DEFAULT_HOURS)),
                        placeholder=_PLACEHOLDER,
                    ),
                    html.Label(t("exports.end"), htmlFor="export-end"),
                    dcc.Input(
                        id="export-end",
                        type="text",
                        value=query.get("end") or _wib_input(now),
                        placeholder=_PLACEHOLDER,
                    ),
                    html.Label(t("exports.mmsi"), htmlFor="export-mmsi"),
                    dcc.Input(
                        id="export-mmsi",
                        type="text",
                        inputMode="numeric",
                        value=query.get("mmsi", ""),
                        placeholder=t("exports.mmsi_placeholder"),
                    ),
                    html.Button(t("exports.download"), id="export-go", n_clicks=0),
                ],
            ),
            dcc.Loading(html.Div(id="export-status", className="export-status")),
            html.H3(t("exports.summary_title")),
            html.Div(
                className="export-form",
                children=[
                    html.Label(t("exports.summary_day"), htmlFor="summary-day"),
                    dcc.Input(
                        id="summary-day",
                        type="text",
                        value=today.isoformat(),
                        placeholder="YYYY-MM-DD",
                    ),
                    html.Label(t("exports.format"), htmlFor="summary-format"),
                    dcc.Dropdown(
                        id="summary-format",
                        options=[
                            {"label": _label("exports.summary_format", f), "value": f}
                            for f in SUMMARY_FORMATS
                        ],
                        value=SUMMARY_FORMATS[0],
                        clearable=False,
                    ),
                    html.Button(
                        t("exports.summary_download"), id="summary-go", n_clicks=0
                    ),
                ],
            ),
            html.Div(id="summary-status", className="export-status"),
            html.P(t("exports.explain"), className="page-note"),
            dcc.Download(id="export-download"),
            dcc.Download(id="summary-download"),
        ],
    )


def _download(data: bytes, name: str) -> dict[str, Any]:
    """What ``dcc.Download`` takes to save ``data`` as the file ``name``."""
    return {
        "content": base64.b64encode(data).decode("ascii"),
        "filename": name,
        "type": None,
        "base64": True,
    }


def _who() -> str:
    user = current_user()
    return user.name if user is not None else "-"


def register(app: dash.Dash, context: DeskContext) -> None:
    """The two download buttons."""

    @app.callback(
        Output("export-download", "data"),
        Output("export-status", "children"),
        Input("export-go", "n_clicks"),
        State("export-what", "value"),
        State("export-format", "value"),
        State("export-start", "value"),
        State("export-end", "value"),
        State("export-mmsi", "value"),
        prevent_initial_call=True,
    )
    def download(
        clicks: int | None,
        what: str | None,
        fmt: str | None,
        start: str | None,
        end: str | None,
        mmsi: str | None,
    ) -> tuple[Any, Any]:
        if not clicks:
            raise PreventUpdate
        request = parse_request(what, fmt, start, end, mmsi)
        if isinstance(request, str):
            return dash.no_update, html.Span(t(request), className="error")
        try:
            data, rows = run_export(context, request)
        except PantaulautError as exc:
            log.warning("export %s as %s failed: %s", what, fmt, exc)
            return dash.no_update, html.Span(
                t("exports.failed", reason=str(exc)), className="error"
            )
        name = export_file_name(request)
        log.info(
            "export %s as %s by %s: %d rows, %d bytes (%s)",
            request.what,
            request.fmt,
            _who(),
            rows,
            len(data),
            name,
        )
        counted: dict[str, Any] = {"data-rows": str(rows)}
        status = html.Span(
            t("exports.done", rows=rows, name=name),
            id="export-done",
            className="ok",
            **counted,
        )
        return _download(data, name), status

    @app.callback(
        Output("summary-download", "data"),
        Output("summary-status", "children"),
        Input("summary-go", "n_clicks"),
        State("summary-day", "value"),
        State("summary-format", "value"),
        prevent_initial_call=True,
    )
    def summary(
        clicks: int | None, day: str | None, fmt: str | None
    ) -> tuple[Any, Any]:
        if not clicks:
            raise PreventUpdate
        try:
            chosen = date.fromisoformat(day or "")
        except ValueError:
            return dash.no_update, html.Span(t("exports.error_day"), className="error")
        kind: Literal["md", "csv"] = "csv" if fmt == "csv" else "md"
        try:
            data, name = run_summary(context, chosen, kind)
        except PantaulautError as exc:
            log.warning("daily summary of %s failed: %s", chosen, exc)
            return dash.no_update, html.Span(
                t("exports.failed", reason=str(exc)), className="error"
            )
        log.info("daily summary of %s (%s) by %s: %s", chosen, kind, _who(), name)
        status = html.Span(t("exports.summary_done", name=name), className="ok")
        return _download(data, name), status


PAGE = Page(
    path="/exports",
    title_key="exports.title",
    layout=layout,
    register=register,
)
