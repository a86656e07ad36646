"""Thresholds of the detectors, each with the published source it comes from.

Every figure here is cited from ``../shared/research/domain.md`` (section 2.3
"Thresholds used in practice and in the literature" and 5.1 "Reporting
intervals") or marked **[derived]** where it is our own choice, with the
reasoning beside it. README.md carries the same table for operators.

:func:`settings_from_mapping` reads the same fields from a TOML table such
as ``[alerts.detectors]`` so that a site can tune them without code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pantaulaut.errors import ConfigError

__all__ = ["DetectorSettings", "nominal_interval_s", "settings_from_mapping"]

# Reporting intervals, domain.md 5.1 (comarsystems.com, arundaleais.github.io,
# Raymarine AIS500 docs; ITU-R M.1371-5 Annex 1 Tables 1 and 2).
_CLASS_A_ANCHORED_S = 180.0  # anchored or moored and not faster than 3 kn
_CLASS_A_0_14_KN_S = 10.0
_CLASS_A_14_23_KN_S = 6.0
_CLASS_A_OVER_23_KN_S = 2.0
_CLASS_B_SLOW_S = 180.0  # class B "CS" and "SO" below 2 kn
_CLASS_B_FAST_S = 30.0  # class B "CS" above 2 kn ("SO" 2-14 kn)
_ANCHORED_OR_MOORED = frozenset({1, 5})


def nominal_interval_s(
    vessel_class: str, speed_kn: float | None, nav_status: int | None
) -> float:
    """The interval a transponder should report at, by class, speed and status.

    Class A follows its speed bands (3 min at anchor or moored below 3 kn);
    class B "CS" reports every 3 min below 2 kn and every 30 s above (domain.md
    5.1). A vessel of unknown class is taken as class B, the slower one, so
    that its silence is never judged too soon.

    >>> nominal_interval_s("A", 12.0, 0), nominal_interval_s("B", 1.0, None)
    (10.0, 180.0)
    """
    speed = speed_kn if speed_kn is not None else 0.0
    if vessel_class == "A":
        if nav_status in _ANCHORED_OR_MOORED and speed <= 3.0:
            return _CLASS_A_ANCHORED_S
        if speed <= 14.0:
            return _CLASS_A_0_14_KN_S
        if speed <= 23.0:
            return _CLASS_A_14_23_KN_S
        return _CLASS_A_OVER_23_KN_S
    return _CLASS_B_SLOW_S if speed <= 2.0 else _CLASS_B_FAST_S


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Tuning of every detector; defaults are the cited published values.

    Attributes:
        tick_s: How often time-based detectors run, in data seconds.
        proximity_every_s: How often pairs are checked for collision risk and
            encounters; DMA AisAbnormal ``CloseEncounterAnalysis`` runs every
            30 s (domain.md 2.3).
        max_clock_jump_s: A data clock that leaps further than this (a file
            of samples from different days, a feed back after an outage)
            restarts the time-based detectors rather than calling every
            vessel silent. [derived]
        reassert_s: A condition that still holds is re-confirmed to its open
            alert at most this often. [derived]

        stop_from_kn: Sudden stop: speed before, more than this (DMA
            ``SuddenSpeedChangeAnalysis``: >7 kn).
        stop_to_kn: Sudden stop: speed after, less than this (DMA: <1 kn).
        stop_within_s: Sudden stop: the drop happens within this (DMA: 30 s).
            For a class B boat that reports every 30 s the window is widened
            to 1.5 reporting intervals so that small craft are seen too.
        stop_sustain_s: Sudden stop: low speed held this long (DMA: 60 s).
        stop_moving_again_kn: The stop is over above this speed
            (MarineTraffic UNDERWAY event: >3.5 kn).

        drift_min_kn: Drifting: lowest speed (DMA ``DriftAnalysis``: 1 kn;
            AMSA ``risky`` goes down to 0.25 kn, where the course over ground
            is mostly GNSS noise and vessels holding station look adrift).
        drift_max_kn: Drifting: highest speed (DMA ``DriftAnalysis``: 5 kn).
        drift_angle_deg: Drifting: course and heading at least this far apart
            (DMA and AMSA: 45 deg).
        drift_clear_angle_deg: Drifting is over below this angle (hysteresis
            under the 45 deg threshold [derived]).
        drift_min_s: Drifting held this long (DMA: 10 min).
        drift_min_m: and over this distance (DMA: 500 m).

        gap_periods: AIS gap: silent for this many expected reporting
            intervals (domain.md 2.4: a timer shorter than ~3 periods
            false-alarms; at 3, three class B reports lost in a row -- a
            few in a thousand hours of ordinary reception -- already raised
            it in the simulated traffic, so one period more).
        gap_trouble_periods: AIS gap: for a vessel already in trouble (a
            sudden stop, a drift, "not under command" or "aground" seen by
            the detectors) silence is judged at domain.md 2.4's minimum of 3
            periods: the chance that it is news is far higher, and the desk
            is watching it anyway.
        gap_floor_s: AIS gap: never sooner than this when other vessels near
            the last position are still heard. [derived: 9 missed class A
            reports; far below the 8 min "lost" of OpenCPN because coverage
            is confirmed]
        gap_unconfirmed_floor_s: AIS gap when nobody else is near to confirm
            coverage, for a vessel that had been heard steadily: never sooner
            than this. [derived]
        gap_steady_s: A vessel counts as heard steadily after this long with
            no gap over ``gap_periods`` intervals; longer than a satellite
            pass (~10-15 min) so that satellite feeds never qualify. [derived]
        gap_coverage_deg: Cell size of the coverage grid; "near" is the 3 x 3
            block of cells round the last position (~6 nm cells). [derived]
        gap_forget_s: A vessel silent this long is no longer watched (GFW
            publishes gaps from 12 h; 6 h raw).
        gap_min_reports: AIS gap: a vessel is judged only once heard this
            often... [derived]
        gap_min_known_s: ...over at least this long; with less, its
            reception is not known. [derived]

        station_min_messages: station_down: a station is judged only after
            this many messages. [derived]
        station_silence_gaps: station_down: silent for this many of its own
            mean gaps between messages (e^-20: never by chance). [derived]
        station_floor_s: station_down: never sooner than this; a regency
            station hears several messages a second (domain.md 5.1: ~9 msg/s
            for a plausible mix), so a minute of silence is many hundred
            missing messages. [derived]
        station_min_known_s: station_down: a station is judged only after
            it has been heard this long, longer than a satellite pass.
            [derived]

        cpa_nm: collision_risk: closest point of approach within this
            (domain.md 2.3: code examples 0.5-1 NM; OpenCPN 2 NM is for an
            own ship and floods a shore desk).
        cpa_floor_nm: collision_risk: the size-aware CPA limit (3 lengths of
            the longer vessel, MarineTraffic proximity) is never below this
            (position uncertainty; boats of unknown length). [derived]
        parallel_pass_deg: collision_risk: courses within this of reciprocal
            (head-on) or of the same (overtaking) make a parallel pass, whose
            closest point is the lateral offset between the two tracks. The
            limit is then the ship domain across the beam: DMA AisAbnormal's
            safety zone is 2 lengths long but 3 beams wide, so two ships
            passing port to port a few beams apart, as in every canal and
            fairway, do not meet it. [derived angle]
        parallel_floor_nm: collision_risk: the across-the-beam limit of a
            parallel pass is never below this: AIS antennas sit anywhere
            within a beam of a ship's centre line and fixes scatter by tens
            of metres, so a bow-to-bow collision course can show a CPA of a
            few tens of metres between antennas. [derived: 50 m]
        tcpa_s: collision_risk: and reached within this (code examples
            15-30 min; user practice 20 min).
        collision_range_nm: collision_risk: pairs are looked for within this
            range. [derived: 15 min at a 24 kn closing speed]
        collision_fast_kn: collision_risk: at least one of the pair this fast,
            i.e. suppressed when both are slower (DMA close encounters: SOG
            >= 5 kn).
        collision_confirm: collision_risk: consecutive checks (30 s apart)
            that must agree before an alert: a minute of it, so that a
            straight-line projection across a bend in a ferry lane does not
            alert. [derived]
        collision_clear_factor: collision_risk is over when the CPA grows past
            this many times ``cpa_nm`` or the closest point is past.
            [derived]

        encounter_m: encounter: at most this far apart (GFW: 500 m).
        encounter_max_kn: encounter: both slower than this (GFW: 2 kn).
        encounter_min_s: encounter: for at least this long (GFW: 2 h).
        encounter_harbour_m: encounter: at least this far from a harbour
            (GFW: 10 km from a coastal anchorage).
        encounter_grace_s: encounter: a pair apart or fast for less than this
            keeps its episode. [derived]

        jump_max_kn: position_jump: implied speed above this (AISdb
            ``denoising_encoder``: 50 kn).
        jump_min_nm: position_jump: and a jump longer than this, far above
            GNSS error. [derived]
        jump_track_fixes: position_jump: a jump is judged against a track of
            at least this many consistent fixes; with fewer, nobody can tell
            which fix is wrong. [derived]
    """

    tick_s: float = 10.0
    proximity_every_s: float = 30.0
    max_clock_jump_s: float = 1800.0
    reassert_s: float = 60.0

    stop_from_kn: float = 7.0
    stop_to_kn: float = 1.0
    stop_within_s: float = 30.0
    stop_sustain_s: float = 60.0
    stop_moving_again_kn: float = 3.5

    drift_min_kn: float = 1.0
    drift_max_kn: float = 5.0
    drift_angle_deg: float = 45.0
    drift_clear_angle_deg: float = 30.0
    drift_min_s: float = 600.0
    drift_min_m: float = 500.0

    gap_periods: float = 4.0
    gap_trouble_periods: float = 3.0
    gap_floor_s: float = 90.0
    gap_unconfirmed_floor_s: float = 300.0
    gap_steady_s: float = 1200.0
    gap_coverage_deg: float = 0.1
    gap_forget_s: float = 6 * 3600.0
    gap_min_reports: int = 5
    gap_min_known_s: float = 300.0

    station_min_messages: int = 100
    station_silence_gaps: float = 20.0
    station_floor_s: float = 60.0
    station_min_known_s: float = 1800.0

    cpa_nm: float = 0.5
    cpa_floor_nm: float = 0.1
    parallel_pass_deg: float = 20.0
    parallel_floor_nm: float = 0.027
    tcpa_s: float = 900.0
    collision_range_nm: float = 6.0
    collision_fast_kn: float = 5.0
    collision_confirm: int = 3
    collision_clear_factor: float = 2.0

    encounter_m: float = 500.0
    encounter_max_kn: float = 2.0
    encounter_min_s: float = 7200.0
    encounter_harbour_m: float = 10_000.0
    encounter_grace_s: float = 600.0

    jump_max_kn: float = 50.0
    jump_min_nm: float = 1.0
    jump_track_fixes: int = 3


def settings_from_mapping(table: Mapping[str, Any]) -> DetectorSettings:
    """Detector settings from a TOML table; missing keys keep their default.

    Raises:
        ConfigError: A key is unknown or its value is not a positive number.
    """
    known = {f.name: f for f in dataclasses.fields(DetectorSettings)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = f"alerts.detectors.{key}"
        if key not in known:
            raise ConfigError(name, value, f"one of {sorted(known)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(name, value, "a number")
        if value <= 0:
            raise ConfigError(name, value, "a positive number")
        values[key] = int(value) if known[key].type == "int" else float(value)
    return DetectorSettings(**values)
