"""Lifecycle rules: hysteresis, cooldown and suppression per alert kind.

An alert lives ``open`` -> ``acknowledged`` -> ``resolved`` (or straight from
``open`` to ``resolved``). The :class:`~pantaulaut.alerts.book.AlertBook`
applies these rules; this module only says what they are:

- **Hysteresis in time** (``clear_hold_s``): a condition that clears must stay
  clear this long before the alert resolves itself, so that a ferry that
  stops, creeps and stops again keeps one alert. Detectors add hysteresis in
  value (a stop is over above 3.5 kn, not above 1 kn).
- **Cooldown** (``cooldown_s``): after an alert of a kind resolves for a
  vessel, the same kind cannot open again for that vessel for this long; a
  condition that still holds when the cooldown ends opens a new alert.
- **Suppression** (``suppress_in``): a kind is not raised while the vessel
  (either vessel, for a pair) is inside a zone of the listed zone kinds, such
  as ``collision_risk`` inside a ``harbour``.
- **Auto-resolve**: only kinds whose condition can be seen to clear resolve
  themselves. A beacon, a distress text or an invalid MMSI stays until an
  operator resolves it.

Distress beacons (SART, MOB, EPIRB and their tests) are never suppressed,
never held by a cooldown and never resolved by the system, whatever the
configuration says: OpenCPN deliberately has no way to mute a SART alert
(domain.md 1.2, OpenCPN #5281).

Cited alarm-fatigue practice (domain.md 1.3 and 4.3): suppression in port,
when moored or both slow, hysteresis and cooldown (OpenCPN #4377, #4872,
#4380), Signal K raise/clear semantics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pantaulaut.errors import ConfigError
from pantaulaut.geofence.zones import ZONE_KINDS
from pantaulaut.model import AlertKind, AlertState

__all__ = [
    "BEACON_KINDS",
    "LifecycleRules",
    "audit_entry",
    "check_transition",
    "rules_from_mapping",
]

BEACON_KINDS = frozenset(
    {
        AlertKind.SART_ACTIVE,
        AlertKind.MOB_ACTIVE,
        AlertKind.EPIRB_ACTIVE,
        AlertKind.BEACON_TEST,
    }
)

# Kinds whose condition a detector reports as cleared. Everything else
# (beacons, distress texts, invalid identities, zone crossings, incidents)
# is an event an operator must close.
_AUTO_RESOLVE = frozenset(
    {
        AlertKind.AGROUND,
        AlertKind.NOT_UNDER_COMMAND,
        AlertKind.SUDDEN_STOP,
        AlertKind.DRIFTING,
        AlertKind.AIS_GAP,
        AlertKind.COLLISION_RISK,
        AlertKind.ENCOUNTER,
        AlertKind.POSITION_JUMP,
        AlertKind.STATION_DOWN,
    }
)

_MINUTE_S = 60.0

# How long a cleared condition must stay clear before the alert resolves.
# A vessel heard again, a station sending again, a pair that passed: at once.
_CLEAR_HOLD_S: dict[AlertKind, float] = {
    AlertKind.AGROUND: 2 * _MINUTE_S,
    AlertKind.NOT_UNDER_COMMAND: 2 * _MINUTE_S,
    AlertKind.SUDDEN_STOP: 2 * _MINUTE_S,
    AlertKind.DRIFTING: 5 * _MINUTE_S,
    AlertKind.AIS_GAP: 0.0,
    AlertKind.COLLISION_RISK: 0.0,
    AlertKind.ENCOUNTER: 10 * _MINUTE_S,
    AlertKind.POSITION_JUMP: 0.0,
    AlertKind.STATION_DOWN: 0.0,
}

# After a kind resolves for a vessel, it may not open again for this long
# (OpenCPN #4872: vessels re-triggering alarms). [derived]
_COOLDOWN_S: dict[AlertKind, float] = {
    AlertKind.AGROUND: 30 * _MINUTE_S,
    AlertKind.NOT_UNDER_COMMAND: 30 * _MINUTE_S,
    AlertKind.SUDDEN_STOP: 15 * _MINUTE_S,
    AlertKind.DRIFTING: 30 * _MINUTE_S,
    AlertKind.AIS_GAP: 30 * _MINUTE_S,
    AlertKind.COLLISION_RISK: 15 * _MINUTE_S,
    AlertKind.ENCOUNTER: 60 * _MINUTE_S,
    AlertKind.POSITION_JUMP: 60 * _MINUTE_S,
    AlertKind.STATION_DOWN: 10 * _MINUTE_S,
}

# Kinds not raised inside these zone kinds: a harbour is where vessels stop,
# lie beside each other, pass close and switch off (OpenCPN #4377). "berth"
# is not a zone of the file: the pipeline adds it near where a vessel has
# declared itself moored lately (a landing the zone file does not know).
_HARBOUR = frozenset({"harbour"})
_HARBOUR_OR_BERTH = frozenset({"harbour", "berth"})
_SUPPRESS_IN: dict[AlertKind, frozenset[str]] = {
    AlertKind.AGROUND: _HARBOUR,
    AlertKind.NOT_UNDER_COMMAND: _HARBOUR,
    AlertKind.SUDDEN_STOP: _HARBOUR_OR_BERTH,
    AlertKind.DRIFTING: _HARBOUR,
    AlertKind.AIS_GAP: _HARBOUR_OR_BERTH,
    AlertKind.COLLISION_RISK: _HARBOUR_OR_BERTH,
    AlertKind.ENCOUNTER: _HARBOUR_OR_BERTH,
}

# Allowed moves of the state machine.
_TRANSITIONS = {
    AlertState.OPEN: frozenset({AlertState.ACKNOWLEDGED, AlertState.RESOLVED}),
    AlertState.ACKNOWLEDGED: frozenset({AlertState.RESOLVED}),
    AlertState.RESOLVED: frozenset[AlertState](),
}


@dataclass(frozen=True, slots=True)
class LifecycleRules:
    """Per-kind hysteresis, cooldown and suppression.

    Attributes:
        clear_hold_s: Seconds a cleared condition must stay clear.
        cooldown_s: Seconds after resolution before the kind reopens.
        suppress_in: Zone kinds in which the alert kind is not raised.
        auto_resolve: Kinds the system resolves when their condition clears.
    """

    clear_hold_s: Mapping[AlertKind, float] = field(
        default_factory=lambda: dict(_CLEAR_HOLD_S)
    )
    cooldown_s: Mapping[AlertKind, float] = field(
        default_factory=lambda: dict(_COOLDOWN_S)
    )
    suppress_in: Mapping[AlertKind, frozenset[str]] = field(
        default_factory=lambda: dict(_SUPPRESS_IN)
    )
    auto_resolve: frozenset[AlertKind] = _AUTO_RESOLVE

    def hold_s(self, kind: AlertKind) -> float:
        """How long a cleared condition of this kind must stay clear."""
        return float(self.clear_hold_s.get(kind, 0.0))

    def cooldown_for_s(self, kind: AlertKind) -> float:
        """Cooldown after this kind resolves; always 0 for beacons."""
        if kind in BEACON_KINDS:
            return 0.0
        return float(self.cooldown_s.get(kind, 0.0))

    def suppressed(self, kind: AlertKind, zone_kinds: Iterable[str]) -> bool:
        """True when ``kind`` is not raised inside any of ``zone_kinds``."""
        if kind in BEACON_KINDS:
            return False
        quiet = self.suppress_in.get(kind)
        if not quiet:
            return False
        return any(z in quiet for z in zone_kinds)

    def resolves_itself(self, kind: AlertKind) -> bool:
        """True when the system resolves this kind as its condition clears."""
        return kind in self.auto_resolve and kind not in BEACON_KINDS


def check_transition(old: AlertState, new: AlertState) -> None:
    """Refuse a move the lifecycle does not allow.

    Raises:
        ValueError: Such as resolved -> acknowledged.
    """
    if new not in _TRANSITIONS[old]:
        msg = f"an alert cannot go from {old.value} to {new.value}"
        raise ValueError(msg)


def audit_entry(
    time: datetime, actor: str, action: str, note: str = ""
) -> dict[str, Any]:
    """One line of an alert's audit trail: who did what, when.

    Times are kept as ISO 8601 text in UTC so that the trail is plain JSON
    wherever the alert goes (store, MQTT, 112 interface).
    """
    text = time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {"time": text, "actor": actor, "action": action, "note": note}


def rules_from_mapping(table: Mapping[str, Any]) -> LifecycleRules:
    """Lifecycle rules from a TOML table; what is not given keeps its default.

    The table looks like::

        [alerts.lifecycle.cooldown_s]
        sudden_stop = 600
        [alerts.lifecycle.clear_hold_s]
        drifting = 180
        [alerts.lifecycle.suppress_in]
        collision_risk = ["harbour", "lane"]

    Raises:
        ConfigError: An unknown kind or section, a negative time, or a rule
            that would suppress a distress beacon.
    """
    hold = dict(_CLEAR_HOLD_S)
    cooldown = dict(_COOLDOWN_S)
    suppress = dict(_SUPPRESS_IN)
    for section, values in table.items():
        if section not in ("clear_hold_s", "cooldown_s", "suppress_in"):
            raise ConfigError(
                f"alerts.lifecycle.{section}",
                values,
                "clear_hold_s, cooldown_s or suppress_in",
            )
        for name, value in dict(values).items():
            key = f"alerts.lifecycle.{section}.{name}"
            kind = _kind(key, name)
            if section == "suppress_in":
                suppress[kind] = _zone_kinds(key, kind, value)
                continue
            if kind in BEACON_KINDS:
                # A hold or a cooldown would keep a distress beacon's alert
                # from the desk for a while: suppression by another name.
                raise ConfigError(
                    key, value, "nothing: distress beacons are never held back"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(key, value, "seconds, a number")
            if value < 0:
                raise ConfigError(key, value, "zero or more seconds")
            (hold if section == "clear_hold_s" else cooldown)[kind] = float(value)
    return LifecycleRules(hold, cooldown, suppress)


def _kind(key: str, name: str) -> AlertKind:
    try:
        return AlertKind(name)
    except ValueError:
        raise ConfigError(key, name, "an alert kind") from None


def _zone_kinds(key: str, kind: AlertKind, value: Any) -> frozenset[str]:
    if kind in BEACON_KINDS:
        raise ConfigError(key, value, "nothing: distress beacons are never suppressed")
    known = sorted(ZONE_KINDS | {"berth"})
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, value, f"a list of zone kinds among {known}")
    # A misspelt kind ("harbor") would match no zone and silently lift the
    # suppression the site meant to keep.
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ConfigError(
            key, value, f"zone kinds among {known} ({', '.join(unknown)} is not one)"
        )
    return frozenset(value)
