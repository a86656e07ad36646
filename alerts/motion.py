"""How vessels move: sudden stops, drifting and impossible jumps.

All three read one vessel's position reports in time order; reports older
than the vessel's latest (a second station relaying late) are skipped.

- ``sudden_stop`` (grounding, collision, capsize, engine failure of a fast
  boat): from more than 7 kn to less than 1 kn within 30 s, the low speed
  held 60 s (DMA AisAbnormal ``SuddenSpeedChangeAnalysis``, domain.md 2.3).
  DMA applies it to vessels of 50 m and more, which cannot stop that fast
  on purpose. A small boat can: one docking in a river came from 10.6 kn to
  rest in 39 s, passing 7.1 kn 24 s before it stopped (AMSA sample). So for
  a vessel under 50 m, or of unknown length, the drop must fall between two
  consecutive reports (nothing in between: as sudden as its transponder can
  show), and for a class B boat reporting every 30 s the window widens to
  1.5 reporting intervals. The distance between the two reports must fit
  their speeds (satellite relays can carry stale times), and a speed of
  102.2 kn ("102.2 kn or more", ITU-R M.1371-5) is no speed. A boat that
  stops and then falls silent (it sank) still alerts once the 60 s have
  passed on the data clock. The stop is over above 3.5 kn (MarineTraffic
  UNDERWAY).
- ``drifting`` (engine failure, adrift): speed 1-5 kn with course over
  ground and heading at least 45 deg apart for 10 min and 500 m (DMA
  ``DriftAnalysis``; AMSA ``risky`` drift rule; heading 511 "not available"
  disables it, as in RTEC). Over below 30 deg or above 5 kn.
- ``position_jump`` (spoofing, a shared MMSI, a GNSS fault): a fix whose
  implied speed from the vessel's track exceeds 50 kn over more than 1 nm
  (AISdb ``denoising_encoder`` 50 kn). A jump is judged only against a track
  of three consistent fixes; with fewer, nobody can tell which fix is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pantaulaut.alerts.findings import Finding, evidence_of
from pantaulaut.alerts.geo import M_PER_NM, angle_diff_deg, distance_nm
from pantaulaut.alerts.settings import DetectorSettings, nominal_interval_s
from pantaulaut.ingest.framing import Sentence
from pantaulaut.model import AlertKind, PositionReport

__all__ = [
    "SPEED_UNUSABLE_KN",
    "DriftDetector",
    "PositionJumpDetector",
    "SuddenStopDetector",
]

_MOORED = 5
# A fix during a stop further than this from where it stopped, faster than
# the stop speed allows, means the "stop" was a bad speed value. [derived]
_STOP_WANDER_NM = 0.1
# Speed 1022 is "102.2 kn or higher" (ITU-R M.1371-5): never a real value.
SPEED_UNUSABLE_KN = 102.2
# DMA's sudden stop is for vessels of 50 m and more (domain.md 2.3).
_LARGE_M = 50.0
# Slack on the distance two reports may be apart for their speeds: GNSS
# scatter and rounding of whole-second times. [derived]
_DISTANCE_SLACK_NM = 0.05
_DISTANCE_FACTOR = 1.5


@dataclass(slots=True)
class _Stop:
    last_time: datetime
    fast_time: datetime | None = None
    fast_kn: float = 0.0
    fast_status: int | None = None
    fast_lat_deg: float = 0.0
    fast_lon_deg: float = 0.0
    since_fast: int = 0
    since: datetime | None = None
    lat_deg: float = 0.0
    lon_deg: float = 0.0
    sentences: tuple[Sentence, ...] = ()
    station: str = ""
    confirmed: bool = False
    asserted: datetime | None = None


class SuddenStopDetector:
    """A vessel under way that stops within seconds and stays stopped."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.s = settings
        self._state: dict[int, _Stop] = {}
        self._pending: set[int] = set()

    def on_fix(
        self,
        fix: PositionReport,
        vessel_class: str,
        length_m: float | None,
        sentences: tuple[Sentence, ...],
    ) -> list[Finding]:
        """Judge one position report."""
        speed = fix.speed_kn
        if speed is None or speed >= SPEED_UNUSABLE_KN:
            return []
        state = self._state.get(fix.mmsi)
        if state is None:
            state = self._state[fix.mmsi] = _Stop(fix.time)
        elif fix.time <= state.last_time:
            return []
        state.last_time = fix.time
        s = self.s
        state.since_fast += 1
        if speed > s.stop_from_kn:
            state.fast_time, state.fast_kn = fix.time, speed
            state.fast_status = fix.nav_status
            state.fast_lat_deg, state.fast_lon_deg = fix.lat_deg, fix.lon_deg
            state.since_fast = 0
        if state.confirmed:
            return self._while_stopped(fix, speed, state)
        if state.since is not None:
            self._check_candidate(fix, speed, state)
        elif speed < s.stop_to_kn and self._dropped_quickly(
            fix, vessel_class, length_m, state
        ):
            state.since = fix.time
            state.lat_deg, state.lon_deg = fix.lat_deg, fix.lon_deg
            state.sentences, state.station = sentences, fix.station
            self._pending.add(fix.mmsi)
        return self.confirm(fix.mmsi, fix.time)

    def stopped(self, mmsi: int) -> bool:
        """True while a sudden stop of this vessel is confirmed."""
        state = self._state.get(mmsi)
        return state is not None and state.confirmed

    def on_tick(self, now: datetime) -> list[Finding]:
        """Confirm stops whose low speed has now lasted long enough."""
        out: list[Finding] = []
        for mmsi in list(self._pending):
            out.extend(self.confirm(mmsi, now))
        return out

    def confirm(self, mmsi: int, now: datetime) -> list[Finding]:
        """Raise the stop of one vessel if it has been held long enough."""
        state = self._state.get(mmsi)
        if state is None or state.since is None or state.confirmed:
            self._pending.discard(mmsi)
            return []
        if (now - state.since).total_seconds() < self.s.stop_sustain_s:
            return []
        self._pending.discard(mmsi)
        state.confirmed = True
        state.asserted = now
        return [self._finding(mmsi, now, state)]

    def _dropped_quickly(
        self,
        fix: PositionReport,
        vessel_class: str,
        length_m: float | None,
        state: _Stop,
    ) -> bool:
        if state.fast_time is None:
            return False
        large = length_m is not None and length_m >= _LARGE_M
        if not large and state.since_fast > 1:
            return False  # slowed through reports in between: not sudden
        interval_s = nominal_interval_s(vessel_class, state.fast_kn, state.fast_status)
        window_s = max(self.s.stop_within_s, 1.5 * interval_s)
        drop_s = (fix.time - state.fast_time).total_seconds()
        if drop_s > window_s:
            return False
        moved_nm = distance_nm(
            state.fast_lat_deg, state.fast_lon_deg, fix.lat_deg, fix.lon_deg
        )
        could_nm = _DISTANCE_FACTOR * state.fast_kn * max(drop_s, 1.0) / 3600.0
        return moved_nm <= could_nm + _DISTANCE_SLACK_NM

    def _check_candidate(self, fix: PositionReport, speed: float, state: _Stop) -> None:
        assert state.since is not None
        elapsed_h = max((fix.time - state.since).total_seconds(), 1.0) / 3600.0
        moved_nm = distance_nm(state.lat_deg, state.lon_deg, fix.lat_deg, fix.lon_deg)
        wander_nm = max(_STOP_WANDER_NM, 2.0 * self.s.stop_to_kn * elapsed_h)
        if speed >= self.s.stop_to_kn or moved_nm > wander_nm:
            state.since = None
            self._pending.discard(fix.mmsi)

    def _while_stopped(
        self, fix: PositionReport, speed: float, state: _Stop
    ) -> list[Finding]:
        if speed >= self.s.stop_moving_again_kn:
            state.confirmed = False
            state.since = None
            note = f"moving again at {speed:.1f} kn"
            return [
                Finding(
                    AlertKind.SUDDEN_STOP,
                    fix.mmsi,
                    fix.time,
                    active=False,
                    summary=note,
                )
            ]
        if speed >= self.s.stop_to_kn or state.asserted is None:
            return []
        if (fix.time - state.asserted).total_seconds() < self.s.reassert_s:
            return []
        state.asserted = fix.time
        return [self._finding(fix.mmsi, fix.time, state)]

    def _finding(self, mmsi: int, now: datetime, state: _Stop) -> Finding:
        assert state.since is not None
        assert state.fast_time is not None
        drop_s = (state.since - state.fast_time).total_seconds()
        return Finding(
            AlertKind.SUDDEN_STOP,
            mmsi,
            now,
            summary=(
                f"{mmsi} stopped from {state.fast_kn:.1f} kn to under "
                f"{self.s.stop_to_kn:g} kn within {drop_s:.0f} s and stayed stopped"
            ),
            station=state.station,
            lat_deg=state.lat_deg,
            lon_deg=state.lon_deg,
            evidence=evidence_of(state.sentences),
            detail={
                "from_kn": state.fast_kn,
                "drop_s": drop_s,
                "stopped_since": state.since.isoformat(),
            },
        )


@dataclass(slots=True)
class _Drift:
    last_time: datetime
    start_time: datetime | None = None
    start_lat_deg: float = 0.0
    start_lon_deg: float = 0.0
    misses: int = 0
    active: bool = False
    asserted: datetime | None = None


class DriftDetector:
    """Low speed with the bow far off the track, held for minutes."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.s = settings
        self._state: dict[int, _Drift] = {}

    def drifting(self, mmsi: int) -> bool:
        """True while this vessel's drift alert stands."""
        state = self._state.get(mmsi)
        return state is not None and state.active

    def on_fix(
        self, fix: PositionReport, sentences: tuple[Sentence, ...]
    ) -> list[Finding]:
        """Judge one position report."""
        speed, course, heading = fix.speed_kn, fix.course_deg, fix.heading_deg
        if speed is None or course is None or heading is None:
            return []
        if speed >= SPEED_UNUSABLE_KN:
            return []
        if fix.nav_status == _MOORED:
            return []
        state = self._state.get(fix.mmsi)
        if state is None:
            state = self._state[fix.mmsi] = _Drift(fix.time)
        elif fix.time <= state.last_time:
            return []
        state.last_time = fix.time
        s = self.s
        angle = angle_diff_deg(course, heading)
        if s.drift_min_kn <= speed <= s.drift_max_kn and angle >= s.drift_angle_deg:
            return self._drifting(fix, angle, state, sentences)
        if state.active:
            if angle < s.drift_clear_angle_deg or speed > s.drift_max_kn:
                state.active = False
                state.start_time = None
                note = f"under control: {speed:.1f} kn, bow {angle:.0f} deg off track"
                return [
                    Finding(
                        AlertKind.DRIFTING,
                        fix.mmsi,
                        fix.time,
                        active=False,
                        summary=note,
                    )
                ]
            return []
        state.misses += 1
        if state.misses >= 2:
            state.start_time = None
        return []

    def _drifting(
        self,
        fix: PositionReport,
        angle: float,
        state: _Drift,
        sentences: tuple[Sentence, ...],
    ) -> list[Finding]:
        state.misses = 0
        if state.start_time is None:
            state.start_time = fix.time
            state.start_lat_deg, state.start_lon_deg = fix.lat_deg, fix.lon_deg
            return []
        if state.active:
            assert state.asserted is not None
            if (fix.time - state.asserted).total_seconds() < self.s.reassert_s:
                return []
        held_s = (fix.time - state.start_time).total_seconds()
        moved_m = M_PER_NM * distance_nm(
            state.start_lat_deg, state.start_lon_deg, fix.lat_deg, fix.lon_deg
        )
        if held_s < self.s.drift_min_s or moved_m < self.s.drift_min_m:
            return []
        state.active = True
        state.asserted = fix.time
        return [
            Finding(
                AlertKind.DRIFTING,
                fix.mmsi,
                fix.time,
                summary=(
                    f"{fix.mmsi} drifting: {fix.speed_kn:.1f} kn with the bow "
                    f"{angle:.0f} deg off its track for {held_s / 60:.0f} min"
                ),
                station=fix.station,
                lat_deg=fix.lat_deg,
                lon_deg=fix.lon_deg,
                evidence=evidence_of(sentences),
                detail={
                    "speed_kn": fix.speed_kn,
                    "angle_deg": round(angle, 1),
                    "held_s": held_s,
                    "moved_m": round(moved_m),
                },
            )
        ]


@dataclass(slots=True)
class _Track:
    time: datetime
    lat_deg: float
    lon_deg: float
    fixes: int = 1
    alt_time: datetime | None = None
    alt_lat_deg: float = 0.0
    alt_lon_deg: float = 0.0
    alt_fixes: int = 0
    jumped: datetime | None = None
    asserted: datetime | None = None
    quiet_fixes: int = 0


class PositionJumpDetector:
    """Fixes that no vessel could have sailed to from its track."""

    _CLEAR_FIXES = 10
    _CLEAR_S = 600.0

    def __init__(self, settings: DetectorSettings) -> None:
        self.s = settings
        self._tracks: dict[int, _Track] = {}

    def on_fix(
        self, fix: PositionReport, sentences: tuple[Sentence, ...]
    ) -> list[Finding]:
        """Judge one position report against the vessel's track."""
        track = self._tracks.get(fix.mmsi)
        if track is None:
            self._tracks[fix.mmsi] = _Track(fix.time, fix.lat_deg, fix.lon_deg)
            return []
        if fix.time < track.time:
            return []
        if self._consistent(track.time, track.lat_deg, track.lon_deg, fix):
            track.time, track.lat_deg, track.lon_deg = (
                fix.time,
                fix.lat_deg,
                fix.lon_deg,
            )
            track.fixes += 1
            track.alt_time = None
            return self._maybe_clear(track, fix)
        if track.fixes < self.s.jump_track_fixes:
            self._tracks[fix.mmsi] = _Track(fix.time, fix.lat_deg, fix.lon_deg)
            return []
        out = self._jump(track, fix, sentences)
        self._follow_alternative(track, fix)
        return out

    def _consistent(
        self, time: datetime, lat_deg: float, lon_deg: float, fix: PositionReport
    ) -> bool:
        jump_nm = distance_nm(lat_deg, lon_deg, fix.lat_deg, fix.lon_deg)
        if jump_nm <= self.s.jump_min_nm:
            return True
        hours = max((fix.time - time).total_seconds(), 1.0) / 3600.0
        return jump_nm / hours <= self.s.jump_max_kn

    def _jump(
        self, track: _Track, fix: PositionReport, sentences: tuple[Sentence, ...]
    ) -> list[Finding]:
        track.jumped = fix.time
        track.quiet_fixes = 0
        if track.asserted is not None and (
            (fix.time - track.asserted).total_seconds() < self.s.reassert_s
        ):
            return []
        track.asserted = fix.time
        jump_nm = distance_nm(track.lat_deg, track.lon_deg, fix.lat_deg, fix.lon_deg)
        seconds = max((fix.time - track.time).total_seconds(), 1.0)
        implied_kn = jump_nm / (seconds / 3600.0)
        return [
            Finding(
                AlertKind.POSITION_JUMP,
                fix.mmsi,
                fix.time,
                summary=(
                    f"{fix.mmsi} jumped {jump_nm:.1f} nm in {seconds:.0f} s "
                    f"({implied_kn:.0f} kn): spoofed, shared MMSI or GNSS fault"
                ),
                station=fix.station,
                lat_deg=fix.lat_deg,
                lon_deg=fix.lon_deg,
                evidence=evidence_of(sentences),
                detail={
                    "jump_nm": round(jump_nm, 2),
                    "seconds": seconds,
                    "implied_kn": round(implied_kn),
                    "from": [track.lat_deg, track.lon_deg],
                },
            )
        ]

    def _follow_alternative(self, track: _Track, fix: PositionReport) -> None:
        # A vessel that really is where the new fixes say (its earlier fixes
        # were the faulty ones) builds a second track; once that one has as
        # many fixes as a track needs, it becomes the track.
        if track.alt_time is not None and self._consistent(
            track.alt_time, track.alt_lat_deg, track.alt_lon_deg, fix
        ):
            track.alt_fixes += 1
        else:
            track.alt_fixes = 1
        track.alt_time = fix.time
        track.alt_lat_deg, track.alt_lon_deg = fix.lat_deg, fix.lon_deg
        if track.alt_fixes >= self.s.jump_track_fixes:
            track.time, track.lat_deg, track.lon_deg = (
                fix.time,
                fix.lat_deg,
                fix.lon_deg,
            )
            track.fixes = track.alt_fixes
            track.alt_time = None

    def _maybe_clear(self, track: _Track, fix: PositionReport) -> list[Finding]:
        if track.jumped is None:
            return []
        track.quiet_fixes += 1
        quiet_s = (fix.time - track.jumped).total_seconds()
        if track.quiet_fixes < self._CLEAR_FIXES or quiet_s < self._CLEAR_S:
            return []
        track.jumped = None
        track.asserted = None
        note = f"{track.quiet_fixes} consistent fixes since the last jump"
        return [
            Finding(
                AlertKind.POSITION_JUMP, fix.mmsi, fix.time, active=False, summary=note
            )
        ]
