"""Pairs of vessels: collision risk and encounters at sea.

Both run every 30 s of data time over the vessels heard recently, with a
spatial index, so that only neighbours are ever compared (never all pairs):
for collision risk an R-tree (shapely's STRtree) whose pairs are screened
over arrays before the exact check, for encounters a dictionary of grid
cells.

- ``collision_risk`` (shore-side, every pair, not own-ship): positions are
  dead-reckoned to the moment of the check; a pair is at risk when its
  closest point of approach is within 0.5 nm and comes within 15 min
  (domain.md 2.3: code examples 0.5-1 NM, 15-30 min), or, for smaller
  vessels, within 3 lengths of the longer one (MarineTraffic proximity),
  but never less than 0.1 nm. Pairs where both are slower than 5 kn are not
  checked (DMA close encounters need SOG >= 5 kn), nor vessels stopped
  (< 0.5 kn), at anchor, moored or aground, nor pairs that are not closing.
  Three consecutive checks (a minute) must agree. Harbours suppress it
  (lifecycle rules).
  It is over when the closest point is past or the CPA grows past twice the
  threshold.
- ``encounter`` (rendezvous, transshipment, a boat alongside a stricken
  one): two vessels within 500 m of each other, both slower than 2 kn, for
  2 h, at least 10 km from any harbour (GFW "Encounters", domain.md 2.3).
  Vessels moored or at anchor are left out: the regency's zones do not yet
  know every anchorage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely

from pantaulaut.alerts.findings import Finding
from pantaulaut.alerts.geo import (
    M_PER_NM,
    NM_PER_DEG,
    cpa_tcpa,
    dead_reckon,
    distance_nm,
    offset_nm,
    velocity_kn,
)
from pantaulaut.alerts.settings import DetectorSettings, nominal_interval_s
from pantaulaut.model import AlertKind, Vessel

__all__ = ["CollisionWatch", "EncounterWatch", "Mover"]

# Slower than this a vessel is stopped, not making way, and no pair check
# includes it (MarineTraffic STOPPED: <0.5 kn; OpenCPN suppresses CPA alerts
# for moored targets).
_STILL_KN = 0.5
_MIN_CLOSING_KN = 1.0  # pairs closing slower than this keep company [derived]
_NOT_UNDER_WAY = frozenset({1, 5, 6})  # at anchor, moored, aground
_FRESH_PERIODS = 3.0  # a position older than 3 intervals is too old to project
_ENCOUNTER_FRESH_S = 900.0  # class B below 2 kn reports every 3 min
# The array pre-check of collision pairs works on one flat earth for the
# whole region; it lets through anything within these margins of a limit,
# far more than that approximation can be off by. [derived]
_MARGIN = 1.1
_MARGIN_NM = 0.05
_MARGIN_S = 60.0


@dataclass(frozen=True, slots=True)
class Mover:
    """A vessel as a pair check sees it: where it is now and how it moves."""

    mmsi: int
    lat_deg: float
    lon_deg: float
    speed_kn: float
    east_kn: float
    north_kn: float
    station: str | None
    length_m: float | None = None
    beam_m: float | None = None


def _grid(
    movers: Iterable[Mover], size_nm: float
) -> dict[tuple[int, int], list[Mover]]:
    cells: dict[tuple[int, int], list[Mover]] = {}
    size_deg = size_nm / NM_PER_DEG
    for mover in movers:
        east_deg = mover.lon_deg * math.cos(math.radians(mover.lat_deg))
        key = (math.floor(mover.lat_deg / size_deg), math.floor(east_deg / size_deg))
        cells.setdefault(key, []).append(mover)
    return cells


def neighbour_pairs(
    movers: Iterable[Mover], size_nm: float
) -> Iterator[tuple[Mover, Mover]]:
    """Every pair in the same or adjacent grid cells, once, lower MMSI first."""
    cells = _grid(movers, size_nm)
    for (cy, cx), here in cells.items():
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                there = cells.get((cy + dy, cx + dx))
                if there is None:
                    continue
                for a in here:
                    for b in there:
                        if a.mmsi < b.mmsi:
                            yield a, b


@dataclass(slots=True)
class _Pair:
    streak: int = 0
    active: bool = False
    asserted: datetime | None = None


class CollisionWatch:
    """CPA/TCPA of every pair of neighbours under way."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.s = settings
        self._pairs: dict[tuple[int, int], _Pair] = {}

    def movers(self, vessels: Iterable[Vessel], now: datetime) -> list[Mover]:
        """Vessels that can be in a collision, projected to ``now``."""
        out = []
        for v in vessels:
            if v.position_time is None or v.lat_deg is None or v.lon_deg is None:
                continue
            if v.nav_status in _NOT_UNDER_WAY:
                continue
            speed = v.speed_kn or 0.0
            age_s = (now - v.position_time).total_seconds()
            fresh_s = _FRESH_PERIODS * nominal_interval_s(
                v.vessel_class, speed, v.nav_status
            )
            if age_s > max(fresh_s, 60.0):
                continue
            if speed < _STILL_KN or v.course_deg is None:
                continue
            lat, lon = dead_reckon(v.lat_deg, v.lon_deg, speed, v.course_deg, age_s)
            east, north = velocity_kn(speed, v.course_deg)
            out.append(
                Mover(
                    v.mmsi,
                    lat,
                    lon,
                    speed,
                    east,
                    north,
                    v.station,
                    v.length_m,
                    v.beam_m,
                )
            )
        return out

    def cpa_limit_nm(self, a: Mover, b: Mover) -> float:
        """How close counts as a risk for this pair, by the longer vessel.

        MarineTraffic's vessel-to-vessel proximity: closer than 3 x the
        length of the longer vessel, at most 1000 m (domain.md 2.3); here at
        most ``cpa_nm`` and at least ``cpa_floor_nm`` (position uncertainty
        and the many small boats whose length is not known).
        """
        lengths = [x for x in (a.length_m, b.length_m) if x]
        reach_nm = 3.0 * max(lengths) / M_PER_NM if lengths else 0.0
        limit_nm = min(self.s.cpa_nm, max(reach_nm, self.s.cpa_floor_nm))
        if not self.parallel(a, b):
            return limit_nm
        return min(limit_nm, self.abeam_limit_nm(a, b))

    def parallel(self, a: Mover, b: Mover) -> bool:
        """True when the two pass head-on or overtake (see ``parallel_pass_deg``)."""
        angle_deg = abs(
            math.degrees(
                math.atan2(a.east_kn, a.north_kn) - math.atan2(b.east_kn, b.north_kn)
            )
        )
        angle_deg = min(angle_deg % 360.0, 360.0 - angle_deg % 360.0)
        return min(angle_deg, 180.0 - angle_deg) <= self.s.parallel_pass_deg

    def abeam_limit_nm(self, a: Mover, b: Mover) -> float:
        """How close abeam counts as a risk in a parallel pass.

        DMA AisAbnormal's safety zone reaches 1.5 beams to each side of a
        ship, and the other ship's hull half a beam to its side: the wider
        ship's zone against the narrower one's hull.
        """
        beams = sorted(x for x in (a.beam_m, b.beam_m) if x)
        if not beams:
            return self.s.parallel_floor_nm
        reach_m = 1.5 * beams[-1] + 0.5 * beams[0]
        return max(reach_m / M_PER_NM, self.s.parallel_floor_nm)

    def on_tick(self, now: datetime, movers: list[Mover]) -> list[Finding]:
        """Check every pair of neighbours; raise, confirm or clear."""
        out: list[Finding] = []
        seen: set[tuple[int, int]] = set()
        s = self.s
        for a, b in self._candidates(movers):
            if max(a.speed_kn, b.speed_kn) < s.collision_fast_kn:
                continue
            east, north = offset_nm(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg)
            range_nm = math.hypot(east, north)
            if range_nm > s.collision_range_nm:
                continue
            rel_east, rel_north = b.east_kn - a.east_kn, b.north_kn - a.north_kn
            cpa_nm, tcpa_s = cpa_tcpa(east, north, rel_east, rel_north)
            closing = math.hypot(rel_east, rel_north) >= _MIN_CLOSING_KN
            key = (a.mmsi, b.mmsi)
            seen.add(key)
            limit_nm = self.cpa_limit_nm(a, b)
            if closing and cpa_nm <= limit_nm and 0.0 <= tcpa_s <= s.tcpa_s:
                found = self._risk(key, a, b, now, cpa_nm, tcpa_s, range_nm)
                out.extend(found)
            else:
                out.extend(self._no_risk(key, now, cpa_nm, tcpa_s, limit_nm))
        for key in [k for k in self._pairs if k not in seen]:
            out.extend(self._no_risk(key, now, math.inf, -1.0, s.cpa_nm))
        return out

    def _candidates(self, movers: list[Mover]) -> list[tuple[Mover, Mover]]:
        """Pairs that may be at risk, or whose open risk must be judged again.

        A busy anchorage holds thousands of pairs within range, nearly all
        plainly clear; their CPA and TCPA are computed at once over arrays
        (on a flat earth about the middle latitude, with a margin for its
        error), and only the pairs that come near a limit, or that are being
        followed, go on to the exact check pair by pair.
        """
        s = self.s
        if len(movers) < 2:
            return []
        lat = np.array([m.lat_deg for m in movers])
        lon = np.array([m.lon_deg for m in movers])
        cos_lat = math.cos(math.radians(float(lat.mean())))
        east = lon * NM_PER_DEG * cos_lat
        north = lat * NM_PER_DEG
        reach_nm = s.collision_range_nm * _MARGIN + _MARGIN_NM
        tree = shapely.STRtree(shapely.points(east, north))
        one, two = tree.query(
            shapely.points(east, north), predicate="dwithin", distance=reach_nm
        )
        mmsi = np.array([m.mmsi for m in movers])
        keep = mmsi[one] < mmsi[two]
        one, two = one[keep], two[keep]
        ve = np.array([m.east_kn for m in movers])
        vn = np.array([m.north_kn for m in movers])
        dx, dy = east[two] - east[one], north[two] - north[one]
        rx, ry = ve[two] - ve[one], vn[two] - vn[one]
        closing2 = rx * rx + ry * ry
        with np.errstate(divide="ignore", invalid="ignore"):
            t_h = np.where(closing2 > 1e-9, -(dx * rx + dy * ry) / closing2, 0.0)
        cpa = np.hypot(dx + rx * t_h, dy + ry * t_h)
        tcpa_s = t_h * 3600.0
        near = (
            (cpa <= s.cpa_nm * _MARGIN + _MARGIN_NM)
            & (tcpa_s >= -_MARGIN_S)
            & (tcpa_s <= s.tcpa_s * _MARGIN + _MARGIN_S)
        )
        pairs = [
            (movers[i], movers[j])
            for i, j in zip(one[near].tolist(), two[near].tolist(), strict=True)
        ]
        # Pairs already followed are judged whatever their CPA now: the
        # lifecycle needs to see them clear (or drop out of range).
        taken = {(a.mmsi, b.mmsi) for a, b in pairs}
        where = {m.mmsi: m for m in movers}
        for key in self._pairs:
            if key not in taken and key[0] in where and key[1] in where:
                pairs.append((where[key[0]], where[key[1]]))
        return pairs

    def _risk(
        self,
        key: tuple[int, int],
        a: Mover,
        b: Mover,
        now: datetime,
        cpa_nm: float,
        tcpa_s: float,
        range_nm: float,
    ) -> list[Finding]:
        pair = self._pairs.setdefault(key, _Pair())
        pair.streak += 1
        if pair.streak < self.s.collision_confirm:
            return []
        if pair.asserted is not None and (
            (now - pair.asserted).total_seconds() < self.s.reassert_s
        ):
            return []
        pair.active = True
        pair.asserted = now
        return [
            Finding(
                AlertKind.COLLISION_RISK,
                a.mmsi,
                now,
                summary=(
                    f"{a.mmsi} and {b.mmsi}: closest approach {cpa_nm:.2f} nm "
                    f"in {tcpa_s / 60:.1f} min ({a.speed_kn:.1f} and "
                    f"{b.speed_kn:.1f} kn, {range_nm:.2f} nm apart now)"
                ),
                partner=b.mmsi,
                station=a.station,
                lat_deg=a.lat_deg,
                lon_deg=a.lon_deg,
                detail={
                    "cpa_nm": round(cpa_nm, 3),
                    "cpa_limit_nm": round(self.cpa_limit_nm(a, b), 3),
                    "tcpa_s": round(tcpa_s),
                    "range_nm": round(range_nm, 3),
                    "speeds_kn": [a.speed_kn, b.speed_kn],
                },
            )
        ]

    def _no_risk(
        self,
        key: tuple[int, int],
        now: datetime,
        cpa_nm: float,
        tcpa_s: float,
        limit_nm: float,
    ) -> list[Finding]:
        pair = self._pairs.get(key)
        if pair is None:
            return []
        if not pair.active:
            del self._pairs[key]
            return []
        if cpa_nm <= self.s.collision_clear_factor * limit_nm and tcpa_s >= 0.0:
            pair.streak = 0  # in the hysteresis band: still open, not confirmed
            return []
        del self._pairs[key]
        note = "passed clear" if tcpa_s < 0.0 else f"CPA now {cpa_nm:.2f} nm"
        return [
            Finding(
                AlertKind.COLLISION_RISK,
                key[0],
                now,
                active=False,
                summary=note,
                partner=key[1],
            )
        ]


@dataclass(slots=True)
class _Meeting:
    start: datetime
    last_ok: datetime
    active: bool = False
    asserted: datetime | None = None


class EncounterWatch:
    """Two slow vessels together for hours, away from harbours.

    Args:
        settings: Thresholds.
        near_harbour: True for a position within the harbour distance.
    """

    def __init__(
        self,
        settings: DetectorSettings,
        near_harbour: Callable[[float, float], bool],
    ) -> None:
        self.s = settings
        self.near_harbour = near_harbour
        self._meetings: dict[tuple[int, int], _Meeting] = {}

    def movers(self, vessels: Iterable[Vessel], now: datetime) -> list[Mover]:
        """Slow vessels heard recently, not moored or at anchor."""
        out = []
        for v in vessels:
            if v.position_time is None or v.lat_deg is None or v.lon_deg is None:
                continue
            if v.speed_kn is None or v.speed_kn >= self.s.encounter_max_kn:
                continue
            if v.nav_status in _NOT_UNDER_WAY:
                continue
            if (now - v.position_time).total_seconds() > _ENCOUNTER_FRESH_S:
                continue
            out.append(
                Mover(v.mmsi, v.lat_deg, v.lon_deg, v.speed_kn, 0.0, 0.0, v.station)
            )
        return out

    def on_tick(self, now: datetime, movers: list[Mover]) -> list[Finding]:
        """Follow every pair of slow neighbours; raise after the duration."""
        out: list[Finding] = []
        s = self.s
        apart_nm = 2.0 * s.encounter_m / M_PER_NM
        together = set()
        for a, b in neighbour_pairs(movers, apart_nm):
            gap_nm = distance_nm(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg)
            key = (a.mmsi, b.mmsi)
            meeting = self._meetings.get(key)
            close = gap_nm * M_PER_NM <= s.encounter_m
            if not close and not (meeting is not None and gap_nm <= apart_nm):
                continue
            together.add(key)
            if meeting is None:
                meeting = self._meetings[key] = _Meeting(now, now)
            meeting.last_ok = now
            out.extend(self._maybe_raise(key, meeting, a, b, now, gap_nm))
        for key, meeting in list(self._meetings.items()):
            if key in together:
                continue
            if (now - meeting.last_ok).total_seconds() <= s.encounter_grace_s:
                continue
            del self._meetings[key]
            if meeting.active:
                out.append(
                    Finding(
                        AlertKind.ENCOUNTER,
                        key[0],
                        now,
                        active=False,
                        summary="the two vessels have parted",
                        partner=key[1],
                    )
                )
        return out

    def _maybe_raise(
        self,
        key: tuple[int, int],
        meeting: _Meeting,
        a: Mover,
        b: Mover,
        now: datetime,
        gap_nm: float,
    ) -> list[Finding]:
        held_s = (now - meeting.start).total_seconds()
        if held_s < self.s.encounter_min_s:
            return []
        if meeting.asserted is not None and (
            (now - meeting.asserted).total_seconds() < self.s.reassert_s
        ):
            return []
        if self.near_harbour(a.lat_deg, a.lon_deg):
            return []
        meeting.active = True
        meeting.asserted = now
        return [
            Finding(
                AlertKind.ENCOUNTER,
                a.mmsi,
                now,
                summary=(
                    f"{a.mmsi} and {b.mmsi} together at sea for "
                    f"{held_s / 3600:.1f} h ({gap_nm * M_PER_NM:.0f} m apart, "
                    f"both under {self.s.encounter_max_kn:g} kn)"
                ),
                partner=b.mmsi,
                station=a.station,
                lat_deg=a.lat_deg,
                lon_deg=a.lon_deg,
                detail={
                    "held_s": round(held_s),
                    "apart_m": round(gap_nm * M_PER_NM),
                    "since": meeting.start.isoformat(),
                },
            )
        ]
