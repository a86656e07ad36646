"""An alert's one-line summary in Bahasa Indonesia or English.

The detectors write each alert's ``summary`` in English, as the logs carry
it. People read alerts in their language: the desk in the one its operator
chose, and the ``id-ID`` block of every CAP message in Indonesian. This
module fills in the texts of ``alerts/locales/<language>.json``
(``summary.<kind>``) with the alert's vessel, zone, station and the figures
its detector recorded in ``detail`` (see :class:`pantaulaut.model.Alert`).

An alert whose detail lacks a figure its text needs (one stored by an older
release) keeps the detector's own summary, so nothing is hidden.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from pantaulaut.errors import CatalogueError
from pantaulaut.model import Alert

__all__ = ["LANGUAGES", "read_catalogue", "summary_in", "wording"]

log = logging.getLogger(__name__)

LANGUAGES = ("id", "en")

_S_PER_MIN = 60.0
_S_PER_H = 3600.0


def read_catalogue(package: str, language: str) -> dict[str, str]:
    """``<package>/locales/<language>.json``: a flat object of texts.

    Raises:
        CatalogueError: The language is unknown, or its file unreadable or
            not a flat JSON object of strings.
    """
    if language not in LANGUAGES:
        raise CatalogueError(language, language, f"is not one of {LANGUAGES}")
    name = f"{package}/locales/{language}.json"
    source = resources.files(package) / "locales" / f"{language}.json"
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(name, language, f"unreadable: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise CatalogueError(name, language, "is not a flat object of strings")
    return dict(data)


@cache
def wording(language: str) -> Mapping[str, str]:
    """The alert texts of one language, read once.

    Raises:
        CatalogueError: The language is unknown or its file is not a flat
            JSON object of strings.
    """
    return read_catalogue("pantaulaut.alerts", language)


def summary_in(alert: Alert, language: str) -> str:
    """The alert's summary in ``language`` (``id`` or ``en``).

    Returns:
        The catalogue's text for its kind, filled in; the detector's own
        summary when the text cannot be filled in from what the alert holds.

    Raises:
        CatalogueError: The language is not one of :data:`LANGUAGES`.
    """
    texts = wording(language)
    template = texts.get(f"summary.{alert.kind.value}")
    if template is None:
        return alert.summary
    try:
        return template.format(**_values(alert, texts))
    except (KeyError, IndexError, TypeError, ValueError):
        # Older alerts may lack a figure; their English summary still says it.
        return alert.summary


def _values(alert: Alert, texts: Mapping[str, str]) -> dict[str, Any]:
    """The fields the texts may name."""
    detail: Mapping[str, Any] = alert.detail
    missing = texts["not_available"]
    values: dict[str, Any] = {
        "vessel": _vessel(alert, texts),
        "zone": alert.zone or missing,
        "station": alert.station or missing,
    }
    other = detail.get("other_mmsi")
    if other is not None:
        name = detail.get("other_name")
        values["other"] = f"{name} (MMSI {other})" if name else f"MMSI {other}"
    for name, derive in _DERIVED.items():
        try:
            values[name] = derive(detail, texts)
        except (KeyError, TypeError, ValueError):
            # A text that needs the figure then falls back, see above.
            continue
    return {**detail, **values}


def _vessel(alert: Alert, texts: Mapping[str, str]) -> str:
    if alert.mmsi is None:
        return alert.vessel_name or texts["no_vessel"]
    if alert.vessel_name:
        return f"{alert.vessel_name} (MMSI {alert.mmsi})"
    return f"MMSI {alert.mmsi}"


def _people(detail: Mapping[str, Any], texts: Mapping[str, str]) -> str:
    people = detail.get("people")
    return "" if people is None else texts["incident.people"].format(count=people)


_Derive = Callable[[Mapping[str, Any], Mapping[str, str]], Any]

# Figures in the units people read: minutes and hours rather than seconds.
_DERIVED: dict[str, _Derive] = {
    "silent_min": lambda d, _: float(d["silent_s"]) / _S_PER_MIN,
    "limit_min": lambda d, _: float(d["limit_s"]) / _S_PER_MIN,
    "held_min": lambda d, _: float(d["held_s"]) / _S_PER_MIN,
    "held_h": lambda d, _: float(d["held_s"]) / _S_PER_H,
    "tcpa_min": lambda d, _: float(d["tcpa_s"]) / _S_PER_MIN,
    "lasted_min": lambda d, _: float(d["lasted_s"]) / _S_PER_MIN,
    "coverage_text": lambda d, w: w[f"coverage.{d['coverage']}"],
    "flag": lambda d, w: d.get("flag_code") or w["not_available"],
    # A caller's report (alerts/incidents.py): their words, then the counts.
    "what": lambda d, w: d.get("vessel_description") or w["incident.vessel"],
    "people_text": _people,
    "water_text": lambda d, w: (
        w["incident.in_water"] if d.get("people_in_water") else ""
    ),
}
