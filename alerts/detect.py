"""All detectors behind one front: per message, and per tick of the data clock.

The pipeline calls :meth:`Detectors.on_message` for every decoded message
(cheap: a few dictionary updates per message) and :meth:`Detectors.on_tick`
whenever its data clock has moved on by ``tick_s``. Time-based detectors
(``ais_gap``, ``station_down``, the confirmation of ``sudden_stop``) run on
ticks, and pair detectors (``collision_risk``, ``encounter``) on every
``proximity_every_s``, batched over a grid index rather than per message.

Which messages each detector reads:

- every message: ``station_down`` (station rates), ``invalid_mmsi``;
- safety texts (types 12, 14): ``safety_broadcast``;
- vessel position reports (types 1-3, 18, 19, 27) from ship identities that
  are not the station's own ship: ``aground``, ``not_under_command``,
  ``sudden_stop``, ``drifting``, ``position_jump``, ``ais_gap`` and the pair
  detectors. Beacons are the beacon detector's (:mod:`.beacons`); aids to
  navigation, base stations and SAR aircraft are not vessels.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

import shapely

from pantaulaut.alerts.findings import Finding
from pantaulaut.alerts.motion import (
    DriftDetector,
    PositionJumpDetector,
    SuddenStopDetector,
)
from pantaulaut.alerts.proximity import CollisionWatch, EncounterWatch
from pantaulaut.alerts.settings import DetectorSettings
from pantaulaut.alerts.silence import GapWatch, StationWatch
from pantaulaut.alerts.status import (
    IdentityDetector,
    NavStatusDetector,
    SafetyTextDetector,
)
from pantaulaut.geofence.zones import ZoneSet
from pantaulaut.ingest.identity import MmsiKind, mmsi_kind
from pantaulaut.ingest.stream import AisMessage
from pantaulaut.model import Vessel
from pantaulaut.vessels import VesselUpdate

__all__ = ["BERTH", "Detectors"]

log = logging.getLogger(__name__)

_VESSEL_FIX_TYPES = frozenset({1, 2, 3, 18, 19, 27})
_TEXT_TYPES = frozenset({12, 14})
_NOT_VESSELS = frozenset(
    {
        MmsiKind.SART,
        MmsiKind.MOB,
        MmsiKind.EPIRB,
        MmsiKind.ATON,
        MmsiKind.COAST,
        MmsiKind.SAR_AIRCRAFT,
    }
)
_M_PER_DEG_LAT = 111_320.0
_FORGET_EVERY_S = 3600.0
_MOORED = 5
# Inferred berths: cells of ~1 km where a vessel declared itself moored
# (status 5) in the last day. A harbour or landing the zone file does not
# know (the regency has many) is where vessels moor; "near" is the 3 x 3
# block of cells round a position. [derived]
BERTH = "berth"
_BERTH_CELL_DEG = 0.01
_BERTH_MEMORY = timedelta(hours=24)


class Detectors:
    """Every detector of the pipeline, fed message by message and tick by tick.

    Args:
        zones: The zones; harbours keep encounters away.
        settings: Thresholds; None for the cited defaults.
        pairs: Run the pair detectors (a scale-out worker does not: the
            other vessel of a pair may be on another worker).
        only_pairs: Run nothing but the pair detectors (the scale-out
            ``pairs`` process, which sees every vessel).
    """

    def __init__(
        self,
        zones: ZoneSet,
        settings: DetectorSettings | None = None,
        *,
        pairs: bool = True,
        only_pairs: bool = False,
    ) -> None:
        self.settings = s = settings or DetectorSettings()
        self.status = NavStatusDetector(s.reassert_s)
        self.texts = SafetyTextDetector()
        self.identity = IdentityDetector()
        self.stops = SuddenStopDetector(s)
        self.drift = DriftDetector(s)
        self.jumps = PositionJumpDetector(s)
        self.stations = StationWatch(s)
        self.gaps = GapWatch(s, self.stations, self.in_trouble)
        self.collisions = CollisionWatch(s)
        self.encounters = EncounterWatch(s, self._near_harbour)
        self.pairs = pairs or only_pairs
        self.only_pairs = only_pairs
        self._live: dict[int, Vessel] = {}
        self._berths: dict[tuple[int, int], datetime] = {}
        self._last_tick: datetime | None = None
        self._next_proximity: datetime | None = None
        self._next_forget: datetime | None = None
        harbours = [z.geometry for z in zones.zones if z.kind == "harbour"]
        self._harbours = shapely.union_all(harbours) if harbours else None
        if self._harbours is not None:
            shapely.prepare(self._harbours)

    def on_message(
        self, message: AisMessage, update: VesselUpdate, clock: datetime
    ) -> list[Finding]:
        """Findings from one decoded message."""
        if self.only_pairs:
            self._remember(message, update)
            return []
        mmsi = message.mmsi
        sentences = message.sentences
        out = self.stations.on_message(message.station, message.time, clock)
        out.extend(
            self.identity.on_message(mmsi, message.time, message.station, sentences)
        )
        msg_type = message.msg_type
        if msg_type in _TEXT_TYPES:
            payload = message.payload
            text = str(payload.value("text") or "")
            to_mmsi = payload.value("dest_mmsi") if msg_type == 12 else None
            out.extend(
                self.texts.on_text(
                    mmsi, msg_type, text, to_mmsi, message.time, sentences
                )
            )
            return out
        fix = update.position
        if (
            fix is None
            or msg_type not in _VESSEL_FIX_TYPES
            or message.own_ship
            or mmsi_kind(mmsi) in _NOT_VESSELS
        ):
            return out
        vessel_class = update.vessel.vessel_class
        if fix.nav_status is not None:
            if fix.nav_status == _MOORED:
                self._berths[_berth_cell(fix.lat_deg, fix.lon_deg)] = fix.time
            out.extend(self.status.on_fix(fix, sentences))
        length_m = update.vessel.length_m
        out.extend(self.stops.on_fix(fix, vessel_class, length_m, sentences))
        out.extend(self.drift.on_fix(fix, sentences))
        out.extend(self.jumps.on_fix(fix, sentences))
        out.extend(self.gaps.on_fix(fix, vessel_class, sentences))
        self._live[mmsi] = update.vessel
        return out

    def on_copy(self, message: AisMessage, clock: datetime) -> list[Finding]:
        """A copy of a message another station was first to deliver.

        The vessel is not judged again, but the station that heard the copy
        is alive and covers where the vessel is: its rate and its coverage
        would otherwise look thinner than they are, and a station whose
        every vessel is also heard by a neighbour would seem down.
        """
        if self.only_pairs:
            return []
        out = self.stations.on_message(message.station, message.time, clock)
        self.gaps.on_copy(message.mmsi, message.station, message.time)
        return out

    def on_tick(self, now: datetime) -> list[Finding]:
        """Findings of the time-based and pair detectors at ``now``."""
        if self.only_pairs:
            return self._pairs_due(now)
        s = self.settings
        if self._last_tick is not None and now - self._last_tick > timedelta(
            seconds=s.max_clock_jump_s
        ):
            log.warning(
                "data clock jumped from %s to %s: time-based detectors restart",
                self._last_tick.isoformat(),
                now.isoformat(),
            )
            self.stations.restart(now)
            self.gaps.restart(now)
            self._next_proximity = None
        self._last_tick = now
        out = self.stations.on_tick(now)
        out.extend(self.gaps.on_tick(now))
        out.extend(self.stops.on_tick(now))
        out.extend(self._pairs_due(now))
        return out

    def _pairs_due(self, now: datetime) -> list[Finding]:
        out: list[Finding] = []
        if self.pairs and (self._next_proximity is None or now >= self._next_proximity):
            every_s = self.settings.proximity_every_s
            self._next_proximity = now + timedelta(seconds=every_s)
            out = self._pairs(now)
        if self._next_forget is None or now >= self._next_forget:
            self._next_forget = now + timedelta(seconds=_FORGET_EVERY_S)
            self._forget(now)
        return out

    def _remember(self, message: AisMessage, update: VesselUpdate) -> None:
        """Keep a vessel's state for the pair detectors, and nothing else."""
        fix = update.position
        if (
            fix is None
            or message.msg_type not in _VESSEL_FIX_TYPES
            or message.own_ship
            or mmsi_kind(message.mmsi) in _NOT_VESSELS
        ):
            return
        if fix.nav_status == _MOORED:
            self._berths[_berth_cell(fix.lat_deg, fix.lon_deg)] = fix.time
        self._live[message.mmsi] = update.vessel

    def in_trouble(self, mmsi: int) -> bool:
        """True while a detector holds a stop, drift or distress status."""
        return (
            self.stops.stopped(mmsi)
            or self.drift.drifting(mmsi)
            or self.status.declared(mmsi)
        )

    def near_berth(self, lat_deg: float, lon_deg: float, now: datetime) -> bool:
        """True near where a vessel declared itself moored in the last day."""
        cy, cx = _berth_cell(lat_deg, lon_deg)
        since = now - _BERTH_MEMORY
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                seen = self._berths.get((cy + dy, cx + dx))
                if seen is not None and seen >= since:
                    return True
        return False

    def _pairs(self, now: datetime) -> list[Finding]:
        live = self._live.values()
        out = self.collisions.on_tick(now, self.collisions.movers(live, now))
        out.extend(self.encounters.on_tick(now, self.encounters.movers(live, now)))
        return out

    def _forget(self, now: datetime) -> None:
        limit = now - timedelta(seconds=self.settings.gap_forget_s)
        stale = [
            m
            for m, v in self._live.items()
            if v.position_time is None or v.position_time < limit
        ]
        for mmsi in stale:
            del self._live[mmsi]
        self.gaps.forget_older_than(limit)
        since = now - _BERTH_MEMORY
        self._berths = {c: t for c, t in self._berths.items() if t >= since}

    def _near_harbour(self, lat_deg: float, lon_deg: float) -> bool:
        if self._harbours is None:
            return False
        cos_lat = max(math.cos(math.radians(lat_deg)), 0.01)
        reach_deg = self.settings.encounter_harbour_m / (_M_PER_DEG_LAT * cos_lat)
        point = shapely.Point(lon_deg, lat_deg)
        return bool(self._harbours.distance(point) <= reach_deg)


def _berth_cell(lat_deg: float, lon_deg: float) -> tuple[int, int]:
    east_deg = lon_deg * math.cos(math.radians(lat_deg))
    return math.floor(lat_deg / _BERTH_CELL_DEG), math.floor(east_deg / _BERTH_CELL_DEG)
