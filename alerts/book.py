"""The alert book: open alerts and their lifecycle, with an audit trail.

A beacon sends eight position reports a minute; the desk wants one alert
that stays current, not eight a minute. Raising an alert that is already
open updates it (position, time, evidence, count) and reports it as an
update. One alert is open per key: (MMSI, kind) for conditions of a vessel,
(MMSI, kind, zone) for zone crossings and (MMSI, kind, other MMSI) for
conditions of a pair such as a collision risk.

The lifecycle (:mod:`pantaulaut.alerts.lifecycle`): ``open`` ->
``acknowledged`` -> ``resolved``. A detector that sees its condition clear
calls :meth:`AlertBook.clear`; the alert resolves once the condition has
stayed clear for the kind's hold time (:meth:`AlertBook.tick` checks), and
the same kind may not reopen for the vessel until its cooldown has passed.
Operators acknowledge, assign, comment on and resolve alerts with
:meth:`AlertBook.acknowledge`, :meth:`AlertBook.assign`,
:meth:`AlertBook.comment` and :meth:`AlertBook.resolve`. Every change of
state or severity, and every assignment and comment, is written to the
alert's ``history`` with who made it and when.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pantaulaut.alerts.lifecycle import (
    BEACON_KINDS,
    LifecycleRules,
    audit_entry,
    check_transition,
)
from pantaulaut.model import ALERT_SEVERITY, Alert, AlertKind, AlertState, Severity

__all__ = ["PAIR_KINDS", "SYSTEM", "AlertBook", "AlertChange", "AlertKey", "alert_key"]

log = logging.getLogger(__name__)

# Kinds that are about one zone: a vessel may have one open per zone.
_PER_ZONE = frozenset({AlertKind.ZONE_ENTRY, AlertKind.ZONE_EXIT, AlertKind.ZONE_DWELL})
# Kinds that are about two vessels: one open per pair.
PAIR_KINDS = frozenset({AlertKind.COLLISION_RISK, AlertKind.ENCOUNTER})

# The actor of changes the pipeline makes by itself.
SYSTEM = "system"

# Evidence kept on one alert: the first sentences and the latest ones.
_EVIDENCE_LIMIT = 20

AlertKey = tuple[int | None, AlertKind, str | None]


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert raised for the first time (``new``), updated, or moved on.

    Attributes:
        alert: The alert after the change.
        new: True only when the alert was opened by this change.
        action: ``opened``, ``updated``, ``escalated``, ``acknowledged``,
            ``assigned``, ``commented`` or ``resolved``.
    """

    alert: Alert
    new: bool
    action: str = "updated"


def alert_key(
    kind: AlertKind,
    mmsi: int | None,
    zone: str | None = None,
    partner: int | None = None,
    station: str | None = None,
) -> AlertKey:
    """The key under which an alert is open."""
    if kind in _PER_ZONE:
        return (mmsi, kind, zone)
    if kind in PAIR_KINDS and partner is not None:
        return (mmsi, kind, str(partner))
    if kind is AlertKind.STATION_DOWN:
        return (mmsi, kind, station)
    return (mmsi, kind, None)


class AlertBook:
    """Open alerts and the rules of their lifecycle.

    Args:
        rules: Hysteresis, cooldown and suppression per kind.

    Attributes:
        suppressed: Raises refused by a suppression rule, per kind.
        held: Raises refused by a cooldown, per kind.
        resolved: Alerts resolved, per kind (by the system or an operator).
    """

    def __init__(self, rules: LifecycleRules | None = None) -> None:
        self.rules = rules or LifecycleRules()
        self._open: dict[AlertKey, Alert] = {}
        self._by_id: dict[str, AlertKey] = {}
        self._clearing: dict[AlertKey, datetime] = {}
        self._cooldown_until: dict[AlertKey, datetime] = {}
        self.suppressed: Counter[str] = Counter()
        self.held: Counter[str] = Counter()
        self.resolved: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._open)

    def open_alerts(self) -> list[Alert]:
        """Open and acknowledged alerts, most severe first, then newest first."""
        return sorted(
            self._open.values(),
            key=lambda a: (a.severity.rank, -a.time.timestamp()),
        )

    def get(
        self,
        kind: AlertKind,
        mmsi: int | None,
        zone: str | None = None,
        partner: int | None = None,
        station: str | None = None,
    ) -> Alert | None:
        """The alert open for this key, if any."""
        return self._open.get(alert_key(kind, mmsi, zone, partner, station))

    def find(self, alert_id: str) -> Alert | None:
        """The open or acknowledged alert with this id, if any."""
        key = self._by_id.get(alert_id)
        return None if key is None else self._open.get(key)

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
        partner: int | None = None,
        detail: dict[str, Any] | None = None,
        zone_kinds: Iterable[str] = (),
    ) -> AlertChange | None:
        """Open an alert, or update the open one for the same key.

        Args:
            kind: What is wrong.
            time: The data clock now.
            mmsi: The vessel (for a pair, the first of the two).
            vessel_name: Its name, if known.
            lat_deg: Where, if known.
            lon_deg: Where, if known.
            zone: The zone it is in (the zone crossed, for zone kinds).
            station: The station that heard it.
            summary: One line for the operator.
            evidence: Raw sentences behind it.
            severity: None for the kind's default severity.
            partner: The other vessel of a pair kind.
            detail: Figures behind it (merged into the alert's ``detail``).
            zone_kinds: Kinds of the zones the vessel (or pair) is in, for
                the suppression rules.

        Returns:
            The change, or None when a suppression rule or a cooldown keeps
            the alert from opening.
        """
        if self.rules.suppressed(kind, zone_kinds):
            self.suppressed[kind.value] += 1
            return None
        key = alert_key(kind, mmsi, zone, partner, station)
        alert = self._open.get(key)
        if alert is None:
            if self._cooling(key, time):
                self.held[kind.value] += 1
                return None
            detail = dict(detail or {})
            if partner is not None:
                detail.setdefault("other_mmsi", partner)
            return self._open_new(
                key,
                Alert(
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
                    detail=detail,
                    history=[audit_entry(time, SYSTEM, "opened", summary)],
                ),
            )
        self._clearing.pop(key, None)
        alert.count += 1
        alert.updated = max(alert.updated or time, time)
        alert.vessel_name = vessel_name or alert.vessel_name
        if lat_deg is not None and lon_deg is not None:
            alert.lat_deg, alert.lon_deg = lat_deg, lon_deg
        alert.station = station or alert.station
        alert.zone = zone or alert.zone
        alert.summary = summary or alert.summary
        alert.evidence = _keep_evidence(alert.evidence, evidence or [])
        if detail:
            alert.detail.update(detail)
        if severity is not None and severity.rank < alert.severity.rank:
            note = f"{alert.severity.value} -> {severity.value}: {summary}"
            alert.severity = severity
            alert.history.append(audit_entry(time, SYSTEM, "escalated", note))
            return AlertChange(alert, new=False, action="escalated")
        return AlertChange(alert, new=False, action="updated")

    def clear(
        self,
        kind: AlertKind,
        time: datetime,
        *,
        mmsi: int | None,
        zone: str | None = None,
        partner: int | None = None,
        station: str | None = None,
        note: str = "",
    ) -> AlertChange | None:
        """A detector saw the condition of an open alert clear.

        The alert resolves at once when the kind's hold time is 0, else once
        the condition has stayed clear that long (see :meth:`tick`); raising
        it again in between keeps it open. Kinds that do not resolve by
        themselves (beacons, distress texts) are left open.

        Returns:
            The resolution, when it happened now.
        """
        key = alert_key(kind, mmsi, zone, partner, station)
        alert = self._open.get(key)
        if alert is None or not self.rules.resolves_itself(kind):
            return None
        hold_s = self.rules.hold_s(kind)
        since = self._clearing.setdefault(key, time)
        if (time - since).total_seconds() < hold_s:
            if note:
                alert.detail["clearing"] = note
            return None
        return self._resolve(key, time, SYSTEM, note or "condition cleared")

    def tick(self, now: datetime) -> list[AlertChange]:
        """Resolve alerts whose condition has stayed clear for the hold time."""
        changes = []
        for key, since in list(self._clearing.items()):
            alert = self._open.get(key)
            if alert is None:
                del self._clearing[key]
                continue
            if (now - since).total_seconds() >= self.rules.hold_s(alert.kind):
                note = str(alert.detail.pop("clearing", "")) or "condition cleared"
                changes.append(self._resolve(key, now, SYSTEM, note))
        if len(self._cooldown_until) > 4096:
            self._cooldown_until = {
                k: t for k, t in self._cooldown_until.items() if t > now
            }
        return changes

    def acknowledge(
        self, alert_id: str, time: datetime, actor: str, note: str = ""
    ) -> AlertChange:
        """An operator has seen the alert and takes it on.

        Raises:
            KeyError: No open alert has this id.
            ValueError: It is already acknowledged.
        """
        alert = self._find_or_fail(alert_id)
        check_transition(alert.state, AlertState.ACKNOWLEDGED)
        alert.state = AlertState.ACKNOWLEDGED
        alert.updated = max(alert.updated or time, time)
        alert.history.append(audit_entry(time, actor, "acknowledged", note))
        return AlertChange(alert, new=False, action="acknowledged")

    def assign(
        self, alert_id: str, time: datetime, actor: str, assignee: str
    ) -> AlertChange:
        """An operator hands the alert to a desk user (``detail["assignee"]``).

        Raises:
            KeyError: No open or acknowledged alert has this id.
            ValueError: The assignee's name is empty.
        """
        name = assignee.strip()
        if not name:
            msg = "an alert must be assigned to a user's name"
            raise ValueError(msg)
        alert = self._find_or_fail(alert_id)
        alert.detail["assignee"] = name
        alert.updated = max(alert.updated or time, time)
        alert.history.append(audit_entry(time, actor, "assigned", name))
        log.info("alert %s assigned to %s by %s", alert.id, name, actor)
        return AlertChange(alert, new=False, action="assigned")

    def comment(
        self, alert_id: str, time: datetime, actor: str, text: str
    ) -> AlertChange:
        """An operator adds a remark to the alert's audit trail.

        Raises:
            KeyError: No open or acknowledged alert has this id.
            ValueError: The text is empty.
        """
        remark = text.strip()
        if not remark:
            msg = "a comment needs some text"
            raise ValueError(msg)
        alert = self._find_or_fail(alert_id)
        alert.updated = max(alert.updated or time, time)
        alert.history.append(audit_entry(time, actor, "commented", remark))
        return AlertChange(alert, new=False, action="commented")

    def resolve(
        self, alert_id: str, time: datetime, actor: str, note: str = ""
    ) -> AlertChange:
        """An operator closes the alert (the cooldown of its kind follows).

        Raises:
            KeyError: No open or acknowledged alert has this id.
        """
        self._find_or_fail(alert_id)
        return self._resolve(self._by_id[alert_id], time, actor, note)

    def close(
        self, mmsi: int | None, kind: AlertKind, zone: str | None = None
    ) -> Alert | None:
        """Take an event alert (a zone crossing) out of the open set.

        Each crossing is its own alert; the previous one stays as it was.
        """
        alert = self._open.pop(alert_key(kind, mmsi, zone), None)
        if alert is not None:
            self._by_id.pop(alert.id, None)
        return alert

    def _cooling(self, key: AlertKey, time: datetime) -> bool:
        until = self._cooldown_until.get(key)
        return until is not None and time < until

    def _open_new(self, key: AlertKey, alert: Alert) -> AlertChange:
        self._open[key] = alert
        self._by_id[alert.id] = key
        self._cooldown_until.pop(key, None)
        return AlertChange(alert, new=True, action="opened")

    def _resolve(
        self, key: AlertKey, time: datetime, actor: str, note: str
    ) -> AlertChange:
        alert = self._open.pop(key)
        self._by_id.pop(alert.id, None)
        self._clearing.pop(key, None)
        check_transition(alert.state, AlertState.RESOLVED)
        alert.state = AlertState.RESOLVED
        alert.updated = max(alert.updated or time, time)
        alert.history.append(audit_entry(time, actor, "resolved", note))
        cooldown_s = self.rules.cooldown_for_s(alert.kind)
        if cooldown_s > 0:
            self._cooldown_until[key] = time + timedelta(seconds=cooldown_s)
        self.resolved[alert.kind.value] += 1
        log.info("alert %s for %s resolved by %s", alert.kind, alert.mmsi, actor)
        return AlertChange(alert, new=False, action="resolved")

    def _find_or_fail(self, alert_id: str) -> Alert:
        alert = self.find(alert_id)
        if alert is None:
            msg = f"no open alert with id {alert_id!r}"
            raise KeyError(msg)
        return alert


def is_beacon(kind: AlertKind) -> bool:
    """True for distress beacon kinds, which nothing may suppress."""
    return kind in BEACON_KINDS


def _keep_evidence(old: list[str], new: list[str]) -> list[str]:
    merged = old + [s for s in new if s not in old]
    if len(merged) <= _EVIDENCE_LIMIT:
        return merged
    half = _EVIDENCE_LIMIT // 2
    return merged[:half] + merged[-half:]
