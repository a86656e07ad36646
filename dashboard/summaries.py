"""An alert's one-line summary in the desk's language.

The detectors write each alert's ``summary`` in English: it is what the CAP
messages and the logs carry to 112's systems. The desk shows operators the
same facts in their language instead, from the catalogue's
``common.summary.<kind>`` text filled in with the alert's vessel, zone,
station and the figures in its ``detail`` (the fields each detector
records, see :class:`pantaulaut.model.Alert`).

An alert whose detail lacks a figure its text needs (one stored by an older
release, or a kind the catalogue has no text for) is shown with the
detector's own summary, so nothing is ever hidden from the operator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pantaulaut.dashboard.i18n import has, t
from pantaulaut.errors import CatalogueError
from pantaulaut.model import Alert

__all__ = ["alert_summary"]

log = logging.getLogger(__name__)

_S_PER_MIN = 60.0
_S_PER_H = 3600.0


def alert_summary(alert: Alert) -> str:
    """The alert's summary in the current request's language.

    Args:
        alert: Any stored alert.

    Returns:
        The catalogue's text for its kind, filled in; the detector's own
        summary when the text cannot be filled in from what the alert holds.
    """
    key = f"common.summary.{alert.kind.value}"
    if not has(key):
        return alert.summary
    try:
        return t(key, **_values(alert))
    except (CatalogueError, KeyError, TypeError, ValueError):
        # Older alerts may lack a figure; their English summary still says it.
        return alert.summary


def _values(alert: Alert) -> dict[str, Any]:
    """The fields the catalogue's texts may name."""
    detail: Mapping[str, Any] = alert.detail
    values: dict[str, Any] = {
        "vessel": _vessel(alert),
        "zone": alert.zone or t("common.not_available"),
        "station": alert.station or t("common.not_available"),
    }
    other = detail.get("other_mmsi")
    if other is not None:
        name = detail.get("other_name")
        values["other"] = f"{name} (MMSI {other})" if name else f"MMSI {other}"
    for name, derive in _DERIVED.items():
        try:
            values[name] = derive(detail)
        except (KeyError, TypeError, ValueError):
            # A text that needs the figure then falls back, see above.
            continue
    return {**detail, **values}


def _vessel(alert: Alert) -> str:
    if alert.mmsi is None:
        return alert.vessel_name or t("map.no_vessel")
    if alert.vessel_name:
        return f"{alert.vessel_name} (MMSI {alert.mmsi})"
    return f"MMSI {alert.mmsi}"


def _coverage(detail: Mapping[str, Any]) -> str:
    return t(f"common.coverage.{detail['coverage']}")


# Figures in the units people read: minutes and hours rather than seconds.
_DERIVED: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "silent_min": lambda d: float(d["silent_s"]) / _S_PER_MIN,
    "limit_min": lambda d: float(d["limit_s"]) / _S_PER_MIN,
    "held_min": lambda d: float(d["held_s"]) / _S_PER_MIN,
    "held_h": lambda d: float(d["held_s"]) / _S_PER_H,
    "tcpa_min": lambda d: float(d["tcpa_s"]) / _S_PER_MIN,
    "lasted_min": lambda d: float(d["lasted_s"]) / _S_PER_MIN,
    "coverage_text": _coverage,
    "flag": lambda d: d.get("flag_code") or t("common.not_available"),
    # A caller's report (alerts/incidents.py): their words, then the counts.
    "what": lambda d: d.get("vessel_description") or t("common.incident.vessel"),
    "people_text": lambda d: (
        ""
        if d.get("people") is None
        else t("common.incident.people", count=d["people"])
    ),
    "water_text": lambda d: (
        t("common.incident.in_water") if d.get("people_in_water") else ""
    ),
}
