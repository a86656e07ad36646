"""Silence: coastal stations that stop sending and vessels that fall silent.

Both run on the data clock (the pipeline's ``clock``), on its ticks.

- ``station_down``: a station is judged against its own normal rate. Once it
  has sent enough messages to have one, it is down when silent for 20 of its
  own mean gaps between messages (and at least 1 min, and twice its worst
  gap lately, for feeds that come in bursts such as satellite passes), once
  it has been heard for 30 min. Messages arrive roughly at random, so 20
  mean gaps of silence happen by chance with odds of e^-20. The station's
  lag behind the data clock (a station whose clock runs late, or a relay
  with delay) is measured and allowed for. It is up again with its next
  message.
- ``ais_gap``: a vessel at sea that stops reporting while the station that
  heard it still hears others. The expected interval comes from the class,
  speed and status (domain.md 5.1) or, if longer, from how often the
  stations actually heard this vessel; a stopped vessel is expected every
  3 min. The vessel is overdue after four such intervals (domain.md 2.4:
  no fewer than ~3; three for a vessel already in trouble: stopped
  suddenly, drifting, not under command or aground), and never before 1.5
  times the worst gap it has shown lately. A vessel is judged only once it
  has been heard 5 times over 5 min: with less, nobody knows its
  reception. Coverage decides whether the silence is news:

  - **confirmed**: the vessel had been heard well up to its silence (70 %
    of its nominal reports or more lately: not fading out of range), and
    after it became overdue its station heard another vessel within about
    10 nm of its last position (a 3 x 3 block of 0.1 deg cells): the station
    still covers that water, so the vessel should have been heard. Alert
    after max(4 intervals, 90 s).
  - **unconfirmed**: nobody else is near, but the vessel, under way, had
    been heard steadily (at least half its nominal reports, no gap over
    three nominal intervals) for at least 20 min, longer than any satellite
    pass, and then stopped at once: alert after max(4 intervals, 5 min),
    saying that coverage is not confirmed.

  A vessel whose stations are all down raises no ``ais_gap``: that is the
  ``station_down`` alert's news. A vessel last seen moored or at anchor
  (status 5 or 1) raises none either. A vessel judged without an alert is
  not judged again until it is heard again (a gap found long after, when
  some other vessel happens by, is not news). It is heard again: the alert
  resolves.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pantaulaut.alerts.findings import Finding, evidence_of
from pantaulaut.alerts.geo import cell_of
from pantaulaut.alerts.settings import DetectorSettings, nominal_interval_s
from pantaulaut.ingest.framing import Sentence
from pantaulaut.model import AlertKind, PositionReport

__all__ = ["GapWatch", "StationWatch"]

log = logging.getLogger(__name__)

_LAG_WEIGHT = 0.02  # exponential average of a station's lag
# A station whose messages come in bursts (a satellite pass, a relay that
# batches) is down only after twice its worst gap, fading over 6 h. [derived]
_STATION_GAP_HALF_LIFE_S = 6 * 3600.0
_STATION_WORST_GAP_FACTOR = 2.0
_GAP_WEIGHT = 0.2  # exponential average of a vessel's gaps between reports
_GAP_SAMPLE_MAX_S = 600.0  # longer gaps are outages, not the reception rate
_RECHECK_S = 10.0  # an overdue vessel without confirmed coverage, again
_JUDGE_FOR_S = 900.0  # how long after it is overdue a vessel is judged
_NOT_AT_SEA = frozenset({1, 5})  # at anchor, moored
# A vessel stopped (MarineTraffic STOPPED: <0.5 kn) is expected at the 3 min
# rate whatever its class and status: many class A units report so when they
# lie still under "under way" status (seen in the DMA sample). [derived]
_STOPPED_KN = 0.5
_AT_REST_S = 180.0
# Overdue only after 1.5 times the worst gap heard recently (fading with a
# half-life of 30 min): a vessel often lost for a minute is not news when
# lost for a minute. One lost report of a slow class B boat (a 6 min gap)
# then asks no more than its 3 periods of 3 min. [derived]
_WORST_GAP_FACTOR = 1.5
_WORST_GAP_HALF_LIFE_S = 1800.0
# "Heard steadily": at least half the reports its class and speed should
# send (a satellite hears a few per pass). [derived]
_STEADY_SHARE = 0.5
# A vessel whose reports were coming through at under 70 % of its nominal
# rate just before it fell silent was fading out of range, not stopping:
# VHF reception thins out toward the horizon. [derived]
_HEARD_WELL_SHARE = 0.7

_Cell = tuple[datetime, int, datetime | None]


@dataclass(slots=True)
class _Station:
    first: datetime
    last: datetime
    messages: int = 0
    lag_s: float = 0.0
    worst_gap_s: float = 0.0
    down: bool = False
    asserted: datetime | None = None


class StationWatch:
    """Each station's normal rate, and whether it has stopped sending."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.s = settings
        self._stations: dict[str, _Station] = {}

    def on_message(
        self, station: str, time: datetime, clock: datetime
    ) -> list[Finding]:
        """Count one message of a station; a station that was down is up."""
        stats = self._stations.get(station)
        if stats is None:
            stats = self._stations[station] = _Station(time, time)
        stats.messages += 1
        if time > stats.last:
            gap_s = (time - stats.last).total_seconds()
            fade = 0.5 ** (gap_s / _STATION_GAP_HALF_LIFE_S)
            stats.worst_gap_s = max(gap_s, stats.worst_gap_s * fade)
            stats.last = time
        if time < stats.first:
            stats.first = time
        lag_s = max((clock - time).total_seconds(), 0.0)
        stats.lag_s += _LAG_WEIGHT * (lag_s - stats.lag_s)
        if not stats.down:
            return []
        stats.down = False
        stats.asserted = None
        return [
            Finding(
                AlertKind.STATION_DOWN,
                None,
                clock,
                active=False,
                summary=f"station {station} is sending again",
                station=station,
            )
        ]

    def heard_since(self, station: str, time: datetime) -> bool:
        """True when the station is up and has sent anything after ``time``."""
        stats = self._stations.get(station)
        return stats is not None and not stats.down and stats.last > time

    def on_tick(self, now: datetime) -> list[Finding]:
        """Raise (or re-confirm) every station silent against its own rate."""
        out = []
        for name, stats in self._stations.items():
            silent_s = (now - stats.last).total_seconds() - stats.lag_s
            limit_s = self._limit_s(stats)
            if limit_s is None or silent_s <= limit_s:
                continue
            if stats.asserted is not None and (
                (now - stats.asserted).total_seconds() < self.s.reassert_s
            ):
                continue
            stats.down = True
            stats.asserted = now
            out.append(self._down(name, stats, now, silent_s, limit_s))
        return out

    def restart(self, now: datetime) -> None:
        """Forget the rates: the data clock jumped, the past says nothing."""
        self._stations.clear()

    def _limit_s(self, stats: _Station) -> float | None:
        span_s = (stats.last - stats.first).total_seconds()
        if (
            stats.messages < self.s.station_min_messages
            or span_s < self.s.station_min_known_s
        ):
            return None
        mean_gap_s = span_s / (stats.messages - 1)
        return max(
            self.s.station_floor_s,
            self.s.station_silence_gaps * mean_gap_s,
            _STATION_WORST_GAP_FACTOR * stats.worst_gap_s,
        )

    @staticmethod
    def _down(
        name: str, stats: _Station, now: datetime, silent_s: float, limit_s: float
    ) -> Finding:
        return Finding(
            AlertKind.STATION_DOWN,
            None,
            now,
            summary=(
                f"station {name} silent for {silent_s / 60:.1f} min "
                f"(judged silent after {limit_s / 60:.1f} min)"
            ),
            station=name,
            detail={
                "silent_s": round(silent_s),
                "limit_s": round(limit_s),
                "messages": stats.messages,
                "last_heard": stats.last.isoformat(),
            },
        )


@dataclass(slots=True)
class _Heard:
    first: datetime
    last: datetime
    lat_deg: float
    lon_deg: float
    speed_kn: float | None
    nav_status: int | None
    vessel_class: str
    trend_kn: float | None = None
    reports: int = 1
    steady_reports: int = 1
    stations: dict[str, datetime] = field(default_factory=dict)
    gap_s: float = 0.0
    worst_gap_s: float = 0.0
    steady_since: datetime | None = None
    queued: bool = False
    sentences: tuple[Sentence, ...] = ()
    alerted: bool = False


class GapWatch:
    """Vessels overdue at sea, judged against their stations' coverage.

    Args:
        settings: Thresholds.
        stations: The station watch, to know which stations are up.
    """

    def __init__(
        self,
        settings: DetectorSettings,
        stations: StationWatch,
        in_trouble: Callable[[int], bool] | None = None,
    ) -> None:
        self.s = settings
        self.stations = stations
        self.in_trouble = in_trouble or (lambda _mmsi: False)
        self._vessels: dict[int, _Heard] = {}
        self._due: list[tuple[datetime, int]] = []
        # Coverage, per (station, cell): latest time heard, by which vessel,
        # and latest time heard from any other vessel.
        self._cells: dict[tuple[str, int, int], _Cell] = {}

    def on_fix(
        self, fix: PositionReport, vessel_class: str, sentences: tuple[Sentence, ...]
    ) -> list[Finding]:
        """A vessel heard: note where, by whom, and when it will be overdue."""
        self._cover(fix)
        heard = self._vessels.get(fix.mmsi)
        if heard is None:
            heard = _Heard(
                fix.time,
                fix.time,
                fix.lat_deg,
                fix.lon_deg,
                fix.speed_kn,
                fix.nav_status,
                vessel_class,
                steady_since=fix.time,
            )
            self._vessels[fix.mmsi] = heard
        elif fix.time < heard.last:
            heard.stations[fix.station] = max(
                heard.stations.get(fix.station, fix.time), fix.time
            )
            return []
        else:
            self._advance(heard, fix, vessel_class)
        heard.stations[fix.station] = fix.time
        heard.sentences = sentences
        if not heard.queued:
            # One entry per vessel: when it comes up, the real due time is
            # worked out, and it goes back in if the vessel was heard since.
            heard.queued = True
            due = fix.time + timedelta(seconds=self.s.gap_floor_s)
            heapq.heappush(self._due, (due, fix.mmsi))
        if not heard.alerted:
            return []
        heard.alerted = False
        return [
            Finding(
                AlertKind.AIS_GAP,
                fix.mmsi,
                fix.time,
                active=False,
                summary=f"{fix.mmsi} heard again by {fix.station}",
            )
        ]

    def on_tick(self, now: datetime) -> list[Finding]:
        """Judge every vessel that is now overdue."""
        out = []
        while self._due and self._due[0][0] <= now:
            _, mmsi = heapq.heappop(self._due)
            heard = self._vessels.get(mmsi)
            if heard is None:
                continue
            heard.queued = False
            if heard.alerted:
                continue
            overdue_at = heard.last + self._overdue_after(heard, mmsi)
            if overdue_at > now:
                self._queue(mmsi, heard, overdue_at)
                continue
            finding = self._judge(mmsi, heard, now, overdue_at)
            if finding is not None:
                heard.alerted = True
                out.append(finding)
        return out

    def _queue(self, mmsi: int, heard: _Heard, due: datetime) -> None:
        heard.queued = True
        heapq.heappush(self._due, (due, mmsi))

    def restart(self, now: datetime) -> None:
        """Forget everything: after a jump of the data clock nothing is overdue."""
        self._vessels.clear()
        self._due.clear()
        self._cells.clear()

    def forget_older_than(self, time: datetime) -> None:
        """Drop vessels not heard since ``time`` (memory of a long run)."""
        stale = [m for m, h in self._vessels.items() if h.last < time]
        for mmsi in stale:
            del self._vessels[mmsi]

    def _advance(self, heard: _Heard, fix: PositionReport, vessel_class: str) -> None:
        gap_s = (fix.time - heard.last).total_seconds()
        if gap_s > self.s.gap_forget_s:
            heard.first = heard.steady_since = fix.time
            heard.reports = heard.gap_s = heard.worst_gap_s = 0
        if gap_s > self.s.gap_periods * self._nominal_s(heard):
            heard.steady_since = fix.time
            heard.steady_reports = 0
        heard.steady_reports += 1
        if gap_s >= 1.0:
            sample_s = min(gap_s, _GAP_SAMPLE_MAX_S)
            if heard.gap_s == 0.0:
                heard.gap_s = sample_s
            else:
                heard.gap_s += _GAP_WEIGHT * (sample_s - heard.gap_s)
            fade = 0.5 ** (gap_s / _WORST_GAP_HALF_LIFE_S)
            heard.worst_gap_s = max(sample_s, heard.worst_gap_s * fade)
        heard.reports += 1
        heard.last = fix.time
        heard.lat_deg, heard.lon_deg = fix.lat_deg, fix.lon_deg
        heard.trend_kn = _next_speed_kn(heard.speed_kn, fix.speed_kn)
        heard.speed_kn, heard.nav_status = fix.speed_kn, fix.nav_status
        heard.vessel_class = vessel_class

    @staticmethod
    def _nominal_s(heard: _Heard) -> float:
        speed = heard.speed_kn
        if speed is not None and heard.trend_kn is not None:
            # Slowing down: by the next report it may be in a slower band
            # (class B below 2 kn reports every 3 min), so allow for that.
            speed = min(speed, heard.trend_kn)
        if speed is None or speed < _STOPPED_KN:
            return _AT_REST_S
        return nominal_interval_s(heard.vessel_class, speed, heard.nav_status)

    def _expected_s(self, heard: _Heard) -> float:
        return max(self._nominal_s(heard), heard.gap_s)

    def _heard_well(self, heard: _Heard) -> bool:
        """Heard lately at 70 % of its nominal rate or better (not fading)."""
        return heard.gap_s * _HEARD_WELL_SHARE <= self._nominal_s(heard)

    def _steady(self, heard: _Heard) -> bool:
        """Heard at its nominal rate, without a real gap, for long enough."""
        if heard.speed_kn is None or heard.speed_kn < _STOPPED_KN:
            return False
        since = heard.steady_since or heard.last
        run_s = (heard.last - since).total_seconds()
        if run_s < self.s.gap_steady_s:
            return False
        return heard.steady_reports >= _STEADY_SHARE * run_s / self._nominal_s(heard)

    def _overdue_after(self, heard: _Heard, mmsi: int) -> timedelta:
        periods = self.s.gap_periods
        if self.in_trouble(mmsi):
            periods = self.s.gap_trouble_periods
        limit_s = max(
            periods * self._expected_s(heard),
            _WORST_GAP_FACTOR * heard.worst_gap_s,
            self.s.gap_floor_s,
        )
        return timedelta(seconds=limit_s)

    def _judge(
        self, mmsi: int, heard: _Heard, now: datetime, overdue_at: datetime
    ) -> Finding | None:
        if heard.nav_status in _NOT_AT_SEA:
            return None
        known_s = (heard.last - heard.first).total_seconds()
        if heard.reports < self.s.gap_min_reports or known_s < self.s.gap_min_known_s:
            return None
        silent_s = (now - heard.last).total_seconds()
        if (now - overdue_at).total_seconds() > _JUDGE_FOR_S:
            return None
        # "The station that heard it still hears others": it has sent
        # something since the vessel became overdue, and is not down.
        alive = [
            name
            for name, when in heard.stations.items()
            if when >= heard.last - timedelta(seconds=_GAP_SAMPLE_MAX_S)
            and self.stations.heard_since(name, overdue_at)
        ]
        if alive and self._heard_well(heard):
            covered = [n for n in alive if self._heard_near(n, heard, mmsi, overdue_at)]
            if covered:
                return self._finding(mmsi, heard, now, silent_s, covered[0], True)
            if self._steady(heard) and silent_s >= self.s.gap_unconfirmed_floor_s:
                return self._finding(mmsi, heard, now, silent_s, alive[0], False)
        self._queue(mmsi, heard, now + timedelta(seconds=_RECHECK_S))
        return None

    def on_copy(self, mmsi: int, station: str, time: datetime) -> None:
        """Another station heard a message of a vessel already noted.

        It covers the vessel's last position, and the vessel counts as
        heard by it (for the coverage of a later silence).
        """
        heard = self._vessels.get(mmsi)
        if heard is None:
            return
        heard.stations[station] = max(heard.stations.get(station, time), time)
        self._cover_cell(station, heard.lat_deg, heard.lon_deg, mmsi, time)

    def _cover(self, fix: PositionReport) -> None:
        self._cover_cell(fix.station, fix.lat_deg, fix.lon_deg, fix.mmsi, fix.time)

    def _cover_cell(
        self, station: str, lat_deg: float, lon_deg: float, mmsi: int, time: datetime
    ) -> None:
        cy, cx = cell_of(lat_deg, lon_deg, self.s.gap_coverage_deg)
        key = (station, cy, cx)
        cell = self._cells.get(key)
        if cell is None:
            self._cells[key] = (time, mmsi, None)
            return
        last, who, other = cell
        if mmsi == who:
            if time > last:
                self._cells[key] = (time, who, other)
        elif time >= last:
            self._cells[key] = (time, mmsi, last)
        elif other is None or time > other:
            self._cells[key] = (last, who, time)

    def _heard_near(
        self, station: str, heard: _Heard, mmsi: int, after: datetime
    ) -> bool:
        cy, cx = cell_of(heard.lat_deg, heard.lon_deg, self.s.gap_coverage_deg)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                cell = self._cells.get((station, cy + dy, cx + dx))
                if cell is None:
                    continue
                last, who, other = cell
                if last > after and who != mmsi:
                    return True
                if other is not None and other > after:
                    return True
        return False

    def _finding(
        self,
        mmsi: int,
        heard: _Heard,
        now: datetime,
        silent_s: float,
        station: str,
        confirmed: bool,
    ) -> Finding:
        expected_s = self._expected_s(heard)
        coverage = (
            "its station still hears vessels near its last position"
            if confirmed
            else "no other vessel near to confirm coverage; it had been heard "
            "steadily until then"
        )
        return Finding(
            AlertKind.AIS_GAP,
            mmsi,
            now,
            summary=(
                f"{mmsi} silent for {silent_s / 60:.1f} min at sea (expected a "
                f"report every {expected_s:.0f} s); {coverage}"
            ),
            station=station,
            lat_deg=heard.lat_deg,
            lon_deg=heard.lon_deg,
            evidence=evidence_of(heard.sentences),
            detail={
                "silent_s": round(silent_s),
                "expected_s": round(expected_s),
                "last_heard": heard.last.isoformat(),
                "coverage": "confirmed" if confirmed else "unconfirmed",
                "class": heard.vessel_class,
            },
        )


def _next_speed_kn(before: float | None, now: float | None) -> float | None:
    """The speed the next report will show if the change goes on."""
    if before is None or now is None:
        return None
    return now + (now - before)
