"""The alert book: one open alert per vessel, kind and zone.

A beacon sends eight position reports a minute; the desk wants one alert
that stays current, not eight a minute. Raising an alert that is already
open updates it (position, time, evidence, count) and reports it as an
update. The full lifecycle (acknowledge, resolve, cooldown) builds on this.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pantaulaut.model import ALERT_SEVERITY, Alert, AlertKind, Severity

__all__ = ["AlertBook", "AlertChange"]

# Kinds that are about one zone: a vessel may have one open per zone. Other
# kinds are about the vessel, wherever it drifts.
_PER_ZONE = frozenset({AlertKind.ZONE_ENTRY, AlertKind.ZONE_EXIT, AlertKind.ZONE_DWELL})

# Evidence kept on one alert: the first sentences and the latest ones.
_EVIDENCE_LIMIT = 20


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert raised for the first time (``new``) or updated."""

    alert: Alert
    new: bool


class AlertBook:
    """Open alerts, keyed by (MMSI, kind, zone)."""

    def __init__(self) -> None:
        self._open: dict[tuple[int | None, AlertKind, str | None], Alert] = {}

    def __len__(self) -> int:
        return len(self._open)

    def open_alerts(self) -> list[Alert]:
        """Open alerts, most severe first, then newest first."""
        return sorted(
            self._open.values(),
            key=lambda a: (a.severity.rank, -a.time.timestamp()),
        )

    def raise_alert(
        self,
        kind: AlertKind,
        time: datetime,
        *,
        mmsi: int | None = None,
        vessel_name: str | None = None,
        lat_deg: float | None = None,
        lon_deg: float | None = None,
        zone: str | None = None,
        station: str | None = None,
        summary: str = "",
        evidence: list[str] | None = None,
        severity: Severity | None = None,
    ) -> AlertChange:
        """Open an alert, or update the open one for the same key."""
        key = (mmsi, kind, zone if kind in _PER_ZONE else None)
        alert = self._open.get(key)
        if alert is None:
            alert = Alert(
                id=str(uuid.uuid4()),
                kind=kind,
                severity=severity or ALERT_SEVERITY[kind],
                time=time,
                mmsi=mmsi,
                vessel_name=vessel_name,
                lat_deg=lat_deg,
                lon_deg=lon_deg,
                zone=zone,
                station=station,
                summary=summary,
                evidence=list(evidence or []),
                updated=time,
            )
            self._open[key] = alert
            return AlertChange(alert, new=True)

        alert.count += 1
        alert.updated = max(alert.updated or time, time)
        alert.vessel_name = vessel_name or alert.vessel_name
        if lat_deg is not None and lon_deg is not None:
            alert.lat_deg, alert.lon_deg = lat_deg, lon_deg
        alert.station = station or alert.station
        alert.zone = zone or alert.zone
        alert.summary = summary or alert.summary
        alert.evidence = _keep_evidence(alert.evidence, evidence or [])
        return AlertChange(alert, new=False)

    def close(
        self, mmsi: int | None, kind: AlertKind, zone: str | None = None
    ) -> Alert | None:
        """Take an alert out of the open set (its condition cleared)."""
        return self._open.pop((mmsi, kind, zone if kind in _PER_ZONE else None), None)


def _keep_evidence(old: list[str], new: list[str]) -> list[str]:
    merged = old + [s for s in new if s not in old]
    if len(merged) <= _EVIDENCE_LIMIT:
        return merged
    half = _EVIDENCE_LIMIT // 2
    return merged[:half] + merged[-half:]
