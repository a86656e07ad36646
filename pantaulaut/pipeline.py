"""The pipeline: decoded messages to vessel state, zones, alerts and the store.

One :class:`Pipeline` runs every stage of the data flow in order for each
line it is fed. It is synchronous and fast so that a replay runs through it
at full speed; the live service feeds it from asyncio sources through a
queue (see :mod:`pantaulaut.service`). Its clock is the data's own time, so a
replay behaves as the live feed did.

Alerts come from the beacon rule, zone crossings, the zone rules of
:mod:`pantaulaut.geofence.rules` and the detectors of
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pantaulaut.alerts.beacons import beacon_alert_kind
from pantaulaut.alerts.book import AlertBook, AlertChange
from pantaulaut.alerts.detect import BERTH, Detectors
from pantaulaut.alerts.findings import Finding
from pantaulaut.alerts.lifecycle import LifecycleRules
from pantaulaut.alerts.settings import DetectorSettings
from pantaulaut.geofence.portcalls import PortCallSettings, PortCallTracker
from pantaulaut.geofence.rules import (
    RuleEngine,
    RuleEvent,
    RuleSet,
    load_rules,
    with_rule_kinds,
)
from pantaulaut.geofence.zones import Zone, ZoneSet, ZoneTracker
from pantaulaut.ingest.assembly import Assembler
from pantaulaut.ingest.duplicates import DuplicateFilter
from pantaulaut.ingest.stream import AisMessage, AisStream, Rejection
from pantaulaut.model import AlertKind, Severity, StoredMessage, Vessel
from pantaulaut.store.base import Batch, Store
from pantaulaut.vessels import VesselRegistry, VesselUpdate

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
        duplicate_window_s: Copies of one message heard by several stations
            within this many seconds are applied once (0: every copy).
        detectors: Thresholds of the detectors.
        lifecycle: Hysteresis, cooldown and suppression of alerts.
        port_calls: Hysteresis of arrivals and departures at harbours.
        duty: ``all`` (one process does everything), ``partition`` (a
            scale-out worker: everything but the pair detectors, whose
            vessels may be on other workers) or ``pairs`` (only the pair
            detectors, over every partition; only their alerts are stored).
    """

    fragment_timeout_s: float = 30.0
    max_pending_fragments: int = 2048
    max_line_chars: int = 4096
    batch_size: int = 5000
    keep_messages: bool = True
    duplicate_window_s: float = 10.0
    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    lifecycle: LifecycleRules = field(default_factory=LifecycleRules)
    port_calls: PortCallSettings = field(default_factory=PortCallSettings)
    duty: str = "all"


DUTIES = ("all", "partition", "pairs")
_PAIR_KINDS = frozenset({AlertKind.COLLISION_RISK, AlertKind.ENCOUNTER})
# A partition this far behind the others is not waited for (pairs duty).
_SILENT = timedelta(minutes=5)
_NOWHERE: tuple[str | None, frozenset[str]] = (None, frozenset())


class Pipeline:
    """Every stage of pantaulaut for a stream of lines.

    Args:
        store: Where to write; None keeps everything in memory only.
        zones: The zones to check positions against.
        settings: Tuning.
        on_reject: Called for every rejected line or sentence.
        rules: Zone rules checked against ``zones``; None for the default
            rules (``data/rules.toml``).
    """

    def __init__(
        self,
        store: Store | None,
        zones: ZoneSet,
        settings: PipelineSettings | None = None,
        on_reject: Callable[[Rejection], None] | None = None,
        rules: RuleSet | None = None,
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
        self.copies = DuplicateFilter(self.settings.duplicate_window_s)
        self.vessels = VesselRegistry()
        self.zones = ZoneTracker(zones)
        self.port_calls = PortCallTracker(zones, self.settings.port_calls)
        if store is not None and self.settings.duty != "pairs":
            self.port_calls.resume_from(store)
        self.alerts = AlertBook(with_rule_kinds(self.settings.lifecycle))
        self.rules = RuleEngine(rules if rules is not None else load_rules(None, zones))
        duty = self.settings.duty
        if duty not in DUTIES:
            msg = f"pipeline duty {duty!r}: one of {list(DUTIES)}"
            raise ValueError(msg)
        # A pairs process keeps every vessel's state for the pair detectors
        # but stores only their alerts: the workers own tracks and the rest.
        self._pairs_only = duty == "pairs"
        self._partition_clock: dict[str, datetime | None] = {}
        self._first_heard: datetime | None = None
        self.detectors = Detectors(
            zones,
            self.settings.detectors,
            pairs=duty != "partition",
            only_pairs=self._pairs_only,
        )
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
        if self._is_copy(message):
            for finding in self.detectors.on_copy(message, self.clock):
                self._apply(finding)
            self._after(message, self.clock)
            return
        update = self.vessels.update(payload, message.time, station, message.own_ship)
        vessel = update.vessel
        if not self._pairs_only:
            self._record(message, update)
        if (
            update.position is not None
            and not message.own_ship
            and vessel.vessel_class not in ("AtoN", "base station")
        ):
            fix = update.position
            here = self._zones(message, fix.lon_deg, fix.lat_deg)
            self._where[vessel.mmsi] = (
                (here[0].name, frozenset(z.kind for z in here)) if here else _NOWHERE
            )
            if not self._pairs_only:
                # Zone rules and port calls are the workers' (pairs duty).
                for event in self.rules.on_fix(vessel, fix, here):
                    self._rule_event(event, message)
                for call in self.port_calls.update(fix, vessel):
                    self._batch.add_port_call(call)

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
        self._after(message, self.clock)

    def _is_copy(self, message: AisMessage) -> bool:
        """Whether another station already delivered this transmission."""
        parts = message.sentences
        bits = "".join(s.payload for s in parts)
        return self.copies.is_copy(bits, parts[-1].fill_bits, message.time)

    def _after(self, message: AisMessage, clock: datetime) -> None:
        """Run the time-based detectors when the data clock has moved on."""
        if self._pairs_only:
            self._catch_up(self._watermark(message))
        elif self._next_tick is None or clock >= self._next_tick:
            self._tick(clock)

    def _catch_up(self, now: datetime) -> None:
        """Tick at every step the watermark passed (pairs duty).

        The watermark moves in jumps when a partition's batch arrives; one
        tick per jump would confirm a collision risk later, in data time,
        than one process ticking message by message.
        """
        limit = timedelta(seconds=self.settings.detectors.max_clock_jump_s)
        if self._next_tick is None or now - self._next_tick > limit:
            self._tick(now)
            return
        while now >= self._next_tick:
            self._tick(self._next_tick)

    def _watermark(self, message: AisMessage) -> datetime:
        """The time up to which every partition has been heard (pairs duty).

        The partitions reach the pairs process in batches, each in its own
        order, so one may be minutes of data ahead of another after a
        backlog. Pairs are judged at the time all partitions have reached;
        a partition silent for long is not waited for.
        """
        heard = self._partition_clock
        if self._first_heard is None:
            self._first_heard = message.time
        last = heard.get(message.source)
        if last is None or message.time > last:
            heard[message.source] = message.time
        # A partition not heard yet stands where the data began.
        times = [self._first_heard if t is None else t for t in heard.values()]
        latest = max(times)
        return min(t for t in times if t >= latest - _SILENT)

    def expect_sources(self, names: Iterable[str]) -> None:
        """Name the partitions the pairs watermark waits for (pairs duty)."""
        for name in names:
            self._partition_clock.setdefault(name, None)

    def _record(self, message: AisMessage, update: VesselUpdate) -> None:
        """Put the vessel, the message and the position in the batch."""
        payload = message.payload
        vessel = update.vessel
        self._batch.vessels[vessel.mmsi] = vessel
        if self.settings.keep_messages:
            self._batch.messages.append(
                StoredMessage(
                    message.time,
                    payload.mmsi,
                    payload.msg_type,
                    message.station,
                    message.raw,
                    {},
                )
            )
        if update.position is not None:
            self._batch.positions.append(update.position)
            for vessel_sink in self.vessel_sinks:
                vessel_sink(vessel)

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

    def assign(
        self, alert_id: str, actor: str, assignee: str, time: datetime | None = None
    ) -> AlertChange:
        """An operator hands an alert to a desk user; stored and sent like any change.

        Raises:
            KeyError: No open or acknowledged alert has this id.
            ValueError: The assignee's name is empty.
        """
        change = self.alerts.assign(alert_id, self._now(time), actor, assignee)
        self._emit(change)
        return change

    def comment(
        self, alert_id: str, actor: str, text: str, time: datetime | None = None
    ) -> AlertChange:
        """An operator remarks on an alert; stored and sent like any change.

        Raises:
            KeyError: No open or acknowledged alert has this id.
            ValueError: The text is empty.
        """
        change = self.alerts.comment(alert_id, self._now(time), actor, text)
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
        if not self._pairs_only:
            for call in self.port_calls.tick(now):
                self._batch.add_port_call(call)
        for finding in self.detectors.on_tick(now):
            self._apply(finding)
        if not self._pairs_only:
            # Zone rules and port calls are the workers' (pairs duty).
            for event in self.rules.on_tick(now):
                self._rule_event(event, None)
        for change in self.alerts.tick(now):
            self._emit(change)

    def use_zones(self, zones: ZoneSet, rules: RuleSet) -> None:
        """Check against reloaded zones and rules from now on.

        Vessels are placed afresh in the new zones without crossings, and
        conditions already open carry on under the new rules.
        """
        placed = {
            v.mmsi: (v.lon_deg, v.lat_deg)
            for v in self.vessels.all()
            if v.lon_deg is not None and v.lat_deg is not None
        }
        self.rules.use(rules, self.zones.use(zones, placed))

    def _rule_event(self, event: RuleEvent, message: AisMessage | None) -> None:
        """Raise or clear the alert of a zone rule."""
        mmsi = event.mmsi
        if not event.active:
            change = self.alerts.clear(
                event.kind, event.time, mmsi=mmsi, zone=event.zone, note=event.summary
            )
        else:
            if event.repeat:
                # A crossing is an event, not a condition: each one is its own.
                self.alerts.close(mmsi, event.kind, event.zone)
            vessel = self.vessels.get(mmsi)
            change = self.alerts.raise_alert(
                event.kind,
                event.time,
                mmsi=mmsi,
                vessel_name=vessel.name if vessel else None,
                lat_deg=event.lat_deg,
                lon_deg=event.lon_deg,
                zone=event.zone,
                station=message.station
                if message
                else (vessel.station if vessel else None),
                summary=self._named(event.summary, mmsi),
                evidence=[s.raw for s in message.sentences] if message else [],
                severity=event.severity,
                detail=event.detail,
                zone_kinds=self._where.get(mmsi, _NOWHERE)[1],
            )
        if change is not None:
            self._emit(change)

    def _apply(self, finding: Finding) -> None:
        """Turn one detector finding into an alert change, if any."""
        if self._pairs_only and finding.kind not in _PAIR_KINDS:
            return
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
        detail = finding.detail
        other = self.vessels.get(finding.partner) if finding.partner else None
        if other is not None and other.name:
            # The desk names both vessels of a pair in its own words.
            detail = {**detail, "other_name": other.name}
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
            detail=detail,
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
        if self._pairs_only:
            # Beacons and zone crossings are the workers' alerts.
            return
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
            # Messages that were copies of one already applied (other stations).
            "duplicates": self.copies.copies,
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
