"""The pipeline: decoded messages to vessel state, zones, alerts and the store.

One :class:`Pipeline` runs every stage of the data flow in order for each
line it is fed. It is synchronous and fast so that a replay runs through it
at full speed; the live service feeds it from asyncio sources through a
queue (see :mod:`pantaulaut.service`). Its clock is the data's own time, so a
replay behaves as the live feed did.

Alerts come from the beacon rule, zone crossings and the detectors of
:mod:`pantaulaut.alerts.detect`; time-based detectors run on ticks of the
data clock (every ``tick_s`` of data time, from :meth:`Pipeline.process`,
and once more at :meth:`Pipeline.finish`). A live service whose only station
falls silent stops the data clock with it: it should call
:meth:`Pipeline.tick` with the wall-clock time now and then.
"""

from __future__ import annotations

import logging
import time as _time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pantaulaut.alerts.beacons import beacon_alert_kind
from pantaulaut.alerts.book import AlertBook, AlertChange
from pantaulaut.alerts.detect import BERTH, Detectors
from pantaulaut.alerts.findings import Finding
from pantaulaut.alerts.lifecycle import LifecycleRules
from pantaulaut.alerts.settings import DetectorSettings
from pantaulaut.geofence.zones import Zone, ZoneSet, ZoneTracker
from pantaulaut.ingest.assembly import Assembler
from pantaulaut.ingest.stream import AisMessage, AisStream, Rejection
from pantaulaut.model import AlertKind, Severity, StoredMessage, Vessel
from pantaulaut.store.base import Batch, Store
from pantaulaut.vessels import VesselRegistry

__all__ = ["Pipeline", "PipelineSettings"]

log = logging.getLogger(__name__)

AlertSink = Callable[[AlertChange], None]
VesselSink = Callable[[Vessel], None]


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """Tuning of the pipeline; the defaults suit one regency's stations.

    Attributes:
        fragment_timeout_s: How long a multi-sentence message may wait.
        max_pending_fragments: Most incomplete messages held at once.
        max_line_chars: Longer lines are rejected.
        batch_size: Records buffered before a write to the store.
        keep_messages: Store every decoded message with its raw sentences.
        detectors: Thresholds of the detectors.
        lifecycle: Hysteresis, cooldown and suppression of alerts.
    """

    fragment_timeout_s: float = 30.0
    max_pending_fragments: int = 2048
    max_line_chars: int = 4096
    batch_size: int = 5000
    keep_messages: bool = True
    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    lifecycle: LifecycleRules = field(default_factory=LifecycleRules)


_NOWHERE: tuple[str | None, frozenset[str]] = (None, frozenset())


class Pipeline:
    """Every stage of pantaulaut for a stream of lines.

    Args:
        store: Where to write; None keeps everything in memory only.
        zones: The zones to check positions against.
        settings: Tuning.
        on_reject: Called for every rejected line or sentence.
    """

    def __init__(
        self,
        store: Store | None,
        zones: ZoneSet,
        settings: PipelineSettings | None = None,
        on_reject: Callable[[Rejection], None] | None = None,
    ) -> None:
        self.settings = settings or PipelineSettings()
        self.store = store
        self.stream = AisStream(
            Assembler(
                timeout_s=self.settings.fragment_timeout_s,
                max_pending=self.settings.max_pending_fragments,
            ),
            on_reject=on_reject,
            max_line_chars=self.settings.max_line_chars,
        )
        self.vessels = VesselRegistry()
        self.zones = ZoneTracker(zones)
        self.alerts = AlertBook(self.settings.lifecycle)
        self.detectors = Detectors(zones, self.settings.detectors)
        self._tick_every = timedelta(seconds=self.settings.detectors.tick_s)
        self._next_tick: datetime | None = None
        # Per vessel: name of the first zone it is in, and the kinds of all.
        self._where: dict[int, tuple[str | None, frozenset[str]]] = {}
        self.alert_counts: Counter[str] = Counter()
        self.alert_log: list[dict[str, Any]] = []
        self.sinks: list[AlertSink] = []
        self.vessel_sinks: list[VesselSink] = []
        self._batch = Batch()
        self._started = _time.perf_counter()
        self.clock: datetime | None = None
        self._stations_written = (0, 0)

    def feed(self, text: str, source: str, arrival: datetime) -> None:
        """Run one received line through every stage."""
        for message in self.stream.feed(text, source, arrival):
            self.process(message)
        if len(self._batch) >= self.settings.batch_size:
            self.flush()

    def finish(self) -> None:
        """End of input: count incomplete fragments, judge silences, write."""
        self.stream.finish()
        if self.clock is not None:
            self._tick(self.clock)
        self.flush()

    def tick(self, now: datetime | None = None) -> None:
        """Run the time-based detectors now (live service: wall-clock time).

        Args:
            now: Moves the data clock forward to this time first, so that
                silence is measured even when no station sends anything.
        """
        if now is not None and (self.clock is None or now > self.clock):
            self.clock = now
        if self.clock is not None:
            self._tick(self.clock)

    def flush(self) -> None:
        """Write the buffered batch to the store."""
        seen = (self.stream.lines, sum(self.stream.rejected.values()))
        if seen != self._stations_written:
            # Station counters change with every line; they are written only
            # when something arrived since the last write.
            self._batch.stations = dict(self.stream.stations)
            self._stations_written = seen
        if self.store is not None and not self._batch.is_empty():
            self.store.write(self._batch)
        self._batch = Batch()

    def process(self, message: AisMessage) -> None:
        """Apply one decoded message: state, zones, alerts, store."""
        payload = message.payload
        station = message.station
        if self.clock is None or message.time > self.clock:
            self.clock = message.time
        update = self.vessels.update(payload, message.time, station, message.own_ship)
        vessel = update.vessel
        self._batch.vessels[vessel.mmsi] = vessel
        if self.settings.keep_messages:
            self._batch.messages.append(
                StoredMessage(
                    message.time,
                    payload.mmsi,
                    payload.msg_type,
                    station,
                    message.raw,
                    {},
                )
            )

        if update.position is not None:
            self._batch.positions.append(update.position)
            for vessel_sink in self.vessel_sinks:
                vessel_sink(vessel)
            if not message.own_ship and vessel.vessel_class not in (
                "AtoN",
                "base station",
            ):
                here = self._zones(
                    message, update.position.lon_deg, update.position.lat_deg
                )
                self._where[vessel.mmsi] = (
                    (here[0].name, frozenset(z.kind for z in here))
                    if here
                    else _NOWHERE
                )

        kind = beacon_alert_kind(payload)
        if kind is not None:
            self._raise(
                kind,
                message,
                zone=self._where.get(payload.mmsi, _NOWHERE)[0],
                summary=_beacon_summary(kind, payload.mmsi, payload.value("text")),
            )
        for finding in self.detectors.on_message(message, update, self.clock):
            self._apply(finding)
        if self._next_tick is None or self.clock >= self._next_tick:
            self._tick(self.clock)

    def acknowledge(
        self, alert_id: str, actor: str, note: str = "", time: datetime | None = None
    ) -> AlertChange:
        """An operator takes an open alert on; stored and sent like any change.

        Args:
            alert_id: The alert's id.
            actor: Who (an operator's name or account).
            note: Why, or what they do about it.
            time: When; the data clock (else now) by default.

        Raises:
            KeyError: No open alert has this id.
            ValueError: It is already acknowledged.
        """
        change = self.alerts.acknowledge(alert_id, self._now(time), actor, note)
        self._emit(change)
        return change

    def resolve(
        self, alert_id: str, actor: str, note: str = "", time: datetime | None = None
    ) -> AlertChange:
        """An operator closes an alert; its kind's cooldown follows.

        Raises:
            KeyError: No open or acknowledged alert has this id.
        """
        change = self.alerts.resolve(alert_id, self._now(time), actor, note)
        self._emit(change)
        return change

    def _now(self, time: datetime | None) -> datetime:
        return time or self.clock or datetime.now(UTC)

    def _tick(self, now: datetime) -> None:
        self._next_tick = now + self._tick_every
        for finding in self.detectors.on_tick(now):
            self._apply(finding)
        for change in self.alerts.tick(now):
            self._emit(change)

    def _apply(self, finding: Finding) -> None:
        """Turn one detector finding into an alert change, if any."""
        mmsi = finding.mmsi
        zone, zone_kinds = self._where.get(mmsi, _NOWHERE) if mmsi else _NOWHERE
        if not finding.active:
            change = self.alerts.clear(
                finding.kind,
                finding.time,
                mmsi=mmsi,
                partner=finding.partner,
                station=finding.station,
                note=finding.summary,
            )
            if change is not None:
                self._emit(change)
            return
        if finding.partner is not None:
            zone_kinds = zone_kinds | self._where.get(finding.partner, _NOWHERE)[1]
        if self._near_berth(finding.time, mmsi, finding.partner):
            zone_kinds = zone_kinds | {BERTH}
        vessel = self.vessels.get(mmsi) if mmsi is not None else None
        lat, lon = finding.lat_deg, finding.lon_deg
        if (lat is None or lon is None) and vessel is not None:
            lat, lon = vessel.lat_deg, vessel.lon_deg
        change = self.alerts.raise_alert(
            finding.kind,
            finding.time,
            mmsi=mmsi,
            vessel_name=vessel.name if vessel else None,
            lat_deg=lat,
            lon_deg=lon,
            zone=zone,
            station=finding.station,
            summary=self._named(finding.summary, mmsi, finding.partner),
            evidence=list(finding.evidence),
            severity=finding.severity,
            partner=finding.partner,
            detail=finding.detail,
            zone_kinds=zone_kinds,
        )
        if change is not None:
            self._emit(change)

    def _near_berth(self, now: datetime, *mmsis: int | None) -> bool:
        for mmsi in mmsis:
            vessel = self.vessels.get(mmsi) if mmsi is not None else None
            if vessel is None or vessel.lat_deg is None or vessel.lon_deg is None:
                continue
            if self.detectors.near_berth(vessel.lat_deg, vessel.lon_deg, now):
                return True
        return False

    def _named(self, summary: str, *mmsis: int | None) -> str:
        """The summary with vessel names beside their MMSI, where known."""
        for mmsi in mmsis:
            vessel = self.vessels.get(mmsi) if mmsi is not None else None
            if vessel is not None and vessel.name:
                summary = summary.replace(str(mmsi), f"{vessel.name} ({mmsi})", 1)
        return summary

    def _zones(self, message: AisMessage, lon_deg: float, lat_deg: float) -> list[Zone]:
        here, crossings = self.zones.update(message.mmsi, lon_deg, lat_deg)
        for crossing in crossings:
            zone = crossing.zone
            event = "entry" if crossing.entered else "exit"
            if event not in zone.alert_on:
                continue
            kind = AlertKind.ZONE_ENTRY if crossing.entered else AlertKind.ZONE_EXIT
            vessel = self.vessels.get(message.mmsi)
            name = vessel.name if vessel and vessel.name else str(message.mmsi)
            verb = "entered" if crossing.entered else "left"
            self._raise(
                kind,
                message,
                zone=zone.name,
                summary=f"{name} {verb} {zone.name}",
                severity=zone.severity,
                repeat=True,
            )
        return here

    def _raise(
        self,
        kind: AlertKind,
        message: AisMessage,
        *,
        zone: str | None,
        summary: str,
        severity: Severity | None = None,
        repeat: bool = False,
    ) -> None:
        vessel = self.vessels.get(message.mmsi)
        if repeat:
            # A crossing is an event, not a condition: each one is its own.
            self.alerts.close(message.mmsi, kind, zone)
        change = self.alerts.raise_alert(
            kind,
            message.time,
            mmsi=message.mmsi,
            vessel_name=vessel.name if vessel else None,
            lat_deg=vessel.lat_deg if vessel else None,
            lon_deg=vessel.lon_deg if vessel else None,
            zone=zone,
            station=message.station,
            summary=summary,
            evidence=[s.raw for s in message.sentences],
            severity=severity,
        )
        if change is not None:
            self._emit(change)

    def _emit(self, change: AlertChange) -> None:
        """Keep an alert change for the store, the report and the sinks."""
        alert = change.alert
        self._batch.alerts[alert.id] = alert
        if change.new:
            kind = alert.kind
            self.alert_counts[kind.value] += 1
            self.alert_log.append(
                {
                    "kind": kind.value,
                    "mmsi": alert.mmsi,
                    "station": alert.station,
                    "time": alert.time.isoformat().replace("+00:00", "Z"),
                    "severity": alert.severity.value,
                    "zone": alert.zone,
                }
            )
            log.info(
                "alert %s (%s) for %s: %s",
                kind.value,
                alert.severity,
                alert.mmsi,
                alert.summary,
            )
        for sink in self.sinks:
            sink(change)

    def report(self) -> dict[str, Any]:
        """The replay report of DESIGN.md."""
        return {
            "lines": self.stream.lines,
            "sentences": self.stream.sentences,
            "messages": self.stream.messages,
            "rejected": dict(sorted(self.stream.rejected.items())),
            "warnings": dict(sorted(self.stream.warnings.items())),
            "vessels": len(self.vessels),
            "alerts": dict(sorted(self.alert_counts.items())),
            "alert_log": self.alert_log,
            "seconds": round(_time.perf_counter() - self._started, 3),
        }


def _beacon_summary(kind: AlertKind, mmsi: int, text: Any) -> str:
    device = {
        AlertKind.SART_ACTIVE: "AIS-SART",
        AlertKind.MOB_ACTIVE: "AIS man-overboard device",
        AlertKind.EPIRB_ACTIVE: "EPIRB-AIS",
    }.get(kind)
    if device is not None:
        return f"{device} {mmsi} is transmitting: distress"
    return f"beacon {mmsi} reports a test ({str(text or '').strip() or 'TEST'})"
