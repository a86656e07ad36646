"""Zone rules: who, where and what raises which alert, from an editable file.

A rule file is TOML (the default is ``data/rules.toml``), one ``[[rules]]``
table per rule::

    [[rules]]
    id = "foreign-fishing"            # unique; names the rule in messages
    title = "Foreign fishing vessel"  # first words of the alert's summary
    alert = "foreign_fishing"         # the alert kind raised
    severity = "medium"               # default: the kind's own
    zone_kinds = ["regency_waters", "provincial_waters"]
    trigger = "inside"
    filter = { flag = "foreign", ship_type = [30] }

Where a rule applies: ``zones`` (zone ids) and/or ``zone_kinds``; or
``land = true`` with ``inland_m``, on the land of ``data/land.geojson`` at
least that far from its coast. ``outside`` lists zone kinds where the rule
does not apply (``["harbour"]``).

Filters (``filter``), all of which must hold: ``flag`` (``foreign``: a ship
MMSI whose MID is not Indonesia's 525; ``domestic``: MID 525), ``ship_type``
(codes and ranges of ITU-R M.1371-5 table 53, such as ``[30, "60-69"]``),
``class`` (``["A"]``, ``["B"]``), ``min_speed_kn`` (speed at or above),
``max_speed_kn`` (speed below) and ``hours_wib`` (``"18:00-06:00"``, start
included, end excluded, in WIB = UTC+7). A filter on a value the vessel has
not (yet) sent, such as its ship type before its first static report, does
not hold.

Triggers (``trigger``): ``entry`` and ``exit`` (crossing the zone's edge;
each crossing its own alert), ``inside`` (any report inside), ``dwell``
(inside for ``dwell_s`` or longer), ``speed_above`` (speed over ``speed_kn``)
and ``stopped`` (speed under ``below_kn``, default 0.5, for ``for_s`` or
longer, default 0). Times are the data's own clock.

Conditions (every trigger but ``entry`` and ``exit``) raise one alert per
vessel and episode: the alert opens when the condition first holds and is
cleared when it has not held for ``clear_after_s`` (default 600 s; a vessel
on the edge of a zone does not open and close an alert with every report),
or when the vessel has not been heard for 6 h. The pipeline's alert book then
resolves it.

:func:`load_rules` refuses a file with an unknown key, alert kind, zone id,
zone kind, trigger or value, naming the file, the rule and the fault;
:class:`ZoneFiles` reloads zones and rules together when their files change
and keeps the ones in force when the new ones are refused.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from pantaulaut.alerts.lifecycle import LifecycleRules
from pantaulaut.errors import RuleError, ZoneError
from pantaulaut.geofence.zones import Zone, ZoneSet, load_zones, zone_kinds
from pantaulaut.ingest.identity import MmsiKind, mmsi_kind
from pantaulaut.model import ALERT_SEVERITY, AlertKind, PositionReport, Severity, Vessel

__all__ = [
    "CONDITION_KINDS",
    "RULE_KINDS",
    "Filters",
    "Rule",
    "RuleEngine",
    "RuleEvent",
    "RuleSet",
    "ZoneFiles",
    "default_rules_path",
    "land_core",
    "load_rules",
    "with_rule_kinds",
]

log = logging.getLogger(__name__)

# MID of Indonesia (ITU-R M.585, Maritime Identification Digits table).
INDONESIA_MID = 525
# Kinds a rule may raise: the zone family of DESIGN.md. Distress, motion and
# identity kinds belong to their detectors.
RULE_KINDS = frozenset(
    {
        AlertKind.ZONE_ENTRY,
        AlertKind.ZONE_EXIT,
        AlertKind.ZONE_DWELL,
        AlertKind.FOREIGN_FISHING,
        AlertKind.FOREIGN_LOITERING,
        AlertKind.POSITION_ON_LAND,
    }
)
# Kinds that rules raise as conditions and clear themselves.
CONDITION_KINDS = RULE_KINDS - {AlertKind.ZONE_ENTRY, AlertKind.ZONE_EXIT}
# One open alert per zone for these (as in the alert book).
_PER_ZONE = frozenset({AlertKind.ZONE_ENTRY, AlertKind.ZONE_EXIT, AlertKind.ZONE_DWELL})
_EVENT_TRIGGERS = frozenset({"entry", "exit"})
_TRIGGERS = frozenset({"entry", "exit", "inside", "dwell", "speed_above", "stopped"})
_RULE_KEYS = frozenset(
    {
        "id",
        "title",
        "alert",
        "severity",
        "zones",
        "zone_kinds",
        "land",
        "inland_m",
        "outside",
        "trigger",
        "dwell_s",
        "speed_kn",
        "below_kn",
        "for_s",
        "clear_after_s",
        "filter",
    }
)
_FILTER_KEYS = frozenset(
    {"flag", "ship_type", "class", "min_speed_kn", "max_speed_kn", "hours_wib"}
)
_TOP_KEYS = frozenset({"rules"})
_CLASSES = frozenset({"A", "B"})
# Positions of these are not of a vessel under way: beacons, aids to
# navigation, base stations and SAR aircraft (which fly over land).
_NOT_VESSELS = frozenset(
    {
        MmsiKind.SART,
        MmsiKind.MOB,
        MmsiKind.EPIRB,
        MmsiKind.ATON,
        MmsiKind.COAST,
        MmsiKind.SAR_AIRCRAFT,
        MmsiKind.GROUP,
    }
)
# Where the MID sits in each kind of MMSI (ITU-R M.585 annex 1).
_MID_OFFSET = {MmsiKind.SHIP: 0, MmsiKind.HANDHELD: 1, MmsiKind.CRAFT: 2}
_WIB_OFFSET_MIN = 7 * 60
_DAY_MIN = 24 * 60
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_RANGE = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_DEFAULT_CLEAR_AFTER_S = 600.0
_DEFAULT_STOPPED_KN = 0.5  # MarineTraffic STOPPED (domain.md 2.3)
# A vessel silent this long ends its episodes; one heard again later starts
# a new one. [derived: a working day of a fishing trip]
FORGET_S = 6 * 3600.0
_M_PER_DEG = 111_320.0


def default_rules_path() -> Path:
    """The regency's default rule file shipped in ``pantaulaut.data``."""
    return Path(str(resources.files("pantaulaut.data").joinpath("rules.toml")))


def _land_path() -> Path:
    return Path(str(resources.files("pantaulaut.data").joinpath("land.geojson")))


@dataclass(frozen=True, slots=True)
class Filters:
    """Who a rule is about; every filter given must hold.

    Attributes:
        flag: ``foreign``, ``domestic`` or None for any.
        ship_types: Inclusive ranges of ship type codes; empty for any.
        classes: ``A`` and/or ``B``; empty for any.
        min_speed_kn: Speed at or above this.
        max_speed_kn: Speed below this.
        hours_wib: Start and end minute of the day in WIB (end excluded).
    """

    flag: str | None = None
    ship_types: tuple[tuple[int, int], ...] = ()
    classes: frozenset[str] = frozenset()
    min_speed_kn: float | None = None
    max_speed_kn: float | None = None
    hours_wib: tuple[int, int] | None = None

    def hold(self, vessel: Vessel, fix: PositionReport) -> bool:
        """True when the vessel, at this fix, passes every filter."""
        if self.flag is not None and flag_class(vessel.mmsi) != self.flag:
            return False
        if self.classes and vessel.vessel_class not in self.classes:
            return False
        if self.ship_types:
            code = vessel.ship_type
            if code is None or not any(a <= code <= b for a, b in self.ship_types):
                return False
        speed = fix.speed_kn
        if self.min_speed_kn is not None and (
            speed is None or speed < self.min_speed_kn
        ):
            return False
        if self.max_speed_kn is not None and (
            speed is None or speed >= self.max_speed_kn
        ):
            return False
        return self.hours_wib is None or in_hours(fix.time, self.hours_wib)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: where, who, which trigger, and the alert it raises.

    Attributes:
        id: Unique name of the rule.
        kind: The alert kind raised.
        severity: Its severity.
        trigger: ``entry``, ``exit``, ``inside``, ``dwell``, ``speed_above``
            or ``stopped``.
        zones: Zone ids it applies in.
        zone_kinds: Zone kinds it applies in.
        land: True: it applies on land, ``inland_m`` from the coast.
        inland_m: How far inland a position must be.
        outside: Zone kinds where it does not apply.
        dwell_s: For ``dwell``: how long inside.
        speed_kn: For ``speed_above``: the limit.
        below_kn: For ``stopped``: under this speed.
        for_s: For ``stopped``: this long.
        clear_after_s: A condition not seen this long is over.
        filters: Who.
        title: First words of the summary.
    """

    id: str
    kind: AlertKind
    severity: Severity
    trigger: str
    zones: frozenset[str] = frozenset()
    zone_kinds: frozenset[str] = frozenset()
    land: bool = False
    inland_m: float = 0.0
    outside: frozenset[str] = frozenset()
    dwell_s: float = 0.0
    speed_kn: float = 0.0
    below_kn: float = _DEFAULT_STOPPED_KN
    for_s: float = 0.0
    clear_after_s: float = _DEFAULT_CLEAR_AFTER_S
    filters: Filters = field(default_factory=Filters)
    title: str = ""

    def applies_in(self, zone: Zone) -> bool:
        """True when the rule applies inside this zone."""
        return zone.id in self.zones or zone.kind in self.zone_kinds

    @property
    def timed(self) -> bool:
        """True for triggers that need a condition to last."""
        return self.trigger == "dwell" or (self.trigger == "stopped" and self.for_s > 0)


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """A rule raised (``active``) or cleared an alert.

    Attributes:
        kind: The alert kind.
        mmsi: The vessel.
        time: Data clock.
        active: True to raise, False to clear.
        zone: The zone's name for the alert (the zone of the rule, or for a
            rule on land the first zone the vessel is in).
        severity: The rule's severity.
        summary: One line for the operator.
        rule: The rule's id.
        repeat: True for a crossing: each is its own alert.
        lat_deg: Where.
        lon_deg: Where.
        detail: Figures behind it.
    """

    kind: AlertKind
    mmsi: int
    time: datetime
    active: bool
    zone: str | None
    severity: Severity
    summary: str
    rule: str
    repeat: bool = False
    lat_deg: float | None = None
    lon_deg: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class RuleSet:
    """Rules checked, bound to a zone set, with their land geometry.

    Args:
        rules: The rules.
        zones: The zones they refer to.
        path: Where they were read from, for messages.
    """

    def __init__(
        self, rules: Sequence[Rule], zones: ZoneSet, path: str | None = None
    ) -> None:
        self.rules = list(rules)
        self.zones = zones
        self.path = path
        self.by_id = {r.id: r for r in self.rules}
        # Per zone id, the rules that apply in it: the per-message work is a
        # dictionary lookup for each zone the vessel is in.
        self.in_zone: dict[str, list[Rule]] = {}
        for zone in zones.zones:
            found = [r for r in self.rules if not r.land and r.applies_in(zone)]
            if found:
                self.in_zone[zone.id] = found
        self.on_land = [r for r in self.rules if r.land]
        self.land: dict[float, BaseGeometry] = {
            r.inland_m: land_core(r.inland_m) for r in self.on_land
        }

    def __len__(self) -> int:
        return len(self.rules)

    def land_rules_at(self, lon_deg: float, lat_deg: float) -> list[Rule]:
        """Land rules whose inland area holds the point."""
        return [
            r
            for r in self.on_land
            if shapely.intersects_xy(self.land[r.inland_m], lon_deg, lat_deg)
        ]


def flag_class(mmsi: int) -> str | None:
    """``domestic`` (MID 525), ``foreign`` (another valid MID) or None."""
    kind = mmsi_kind(mmsi)
    offset = _MID_OFFSET.get(kind)
    if offset is None:
        return None
    mid = int(f"{mmsi:09d}"[offset : offset + 3])
    return "domestic" if mid == INDONESIA_MID else "foreign"


def in_hours(time: datetime, hours: tuple[int, int]) -> bool:
    """True when ``time`` falls in the WIB window (start in, end out)."""
    minute = (time.hour * 60 + time.minute + _WIB_OFFSET_MIN) % _DAY_MIN
    start, end = hours
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


@lru_cache(maxsize=8)
def land_core(inland_m: float, path: str | None = None) -> BaseGeometry:
    """Land at least ``inland_m`` from the coast of ``data/land.geojson``.

    The land is shrunk by ``inland_m`` on a local flat earth: longitudes are
    scaled by the cosine of each polygon's mean latitude first (between 4 and
    8 degrees south the scale changes by under 0.4 %, a metre or two of
    500), so the buffer is the same distance north-south and east-west.
    """
    source = Path(path) if path else _land_path()
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        geoms = [shape(f["geometry"]) for f in document["features"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"cannot read the land file: {exc}"
        raise ZoneError(msg, path=str(source)) from exc
    parts = []
    reach_deg = inland_m / _M_PER_DEG
    for geom in geoms:
        lat0 = (geom.bounds[1] + geom.bounds[3]) / 2.0
        k = math.cos(math.radians(lat0))
        scale = np.array([k, 1.0])
        flat = shapely.transform(geom, lambda c, s=scale: c * s)
        core = flat.buffer(-reach_deg)
        if not core.is_empty:
            parts.append(shapely.transform(core, lambda c, s=scale: c / s))
    union = shapely.union_all(parts) if parts else shapely.Polygon()
    shapely.prepare(union)
    return union


# --------------------------------------------------------------------------
# Reading


def load_rules(path: Path | str | None, zones: ZoneSet) -> RuleSet:
    """Read and check a rule file against the zones it refers to.

    Args:
        path: The TOML file; None or empty for ``data/rules.toml``.
        zones: The zones in force with these rules.

    Raises:
        RuleError: Naming the file, the rule (index and id) and the fault:
            an unknown key, alert kind, zone id or kind, trigger, or a value
            out of range.
    """
    source = Path(path) if path else default_rules_path()
    name = str(source)
    try:
        document = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"cannot read the rule file: {exc}", path=name) from exc
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"not valid TOML: {exc}", path=name) from exc
    for key in document:
        if key not in _TOP_KEYS:
            msg = f"unknown key {key!r}: a rule file holds [[rules]] tables only"
            raise RuleError(msg, path=name)
    tables = document.get("rules", [])
    if not isinstance(tables, list):
        raise RuleError("'rules' must be an array of tables [[rules]]", path=name)
    rules: list[Rule] = []
    for index, table in enumerate(tables):
        label = _rule_label(index, table)
        try:
            rules.append(_rule(index, table, zones))
        except RuleError as exc:
            raise RuleError(exc.problem, label, name) from None
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.id in seen:
            msg = "id is used by more than one rule"
            raise RuleError(msg, _rule_label(index, tables[index]), name)
        seen.add(rule.id)
    log.info("loaded %d zone rules from %s", len(rules), source)
    return RuleSet(rules, zones, name)


def _rule_label(index: int, table: Any) -> str:
    # Counted from 1, as a person reads the file; the index for programs.
    if isinstance(table, dict) and "id" in table:
        return f"rule #{index + 1} (index {index}, id {str(table['id'])!r})"
    return f"rule #{index + 1} (index {index})"


def _rule(index: int, table: Any, zones: ZoneSet) -> Rule:
    if not isinstance(table, dict):
        raise RuleError("is not a table")
    for key in table:
        if key not in _RULE_KEYS:
            msg = f"unknown rule key {key!r}; known keys: {sorted(_RULE_KEYS)}"
            raise RuleError(msg)
    kind = _alert_kind(table.get("alert"))
    trigger = table.get("trigger")
    if trigger not in _TRIGGERS:
        msg = f"trigger {trigger!r} is not one of {sorted(_TRIGGERS)}"
        raise RuleError(msg)
    land = table.get("land", False)
    if not isinstance(land, bool):
        raise RuleError(f"land {land!r} must be true or false")
    ids = _strings(table, "zones")
    kinds = _strings(table, "zone_kinds")
    outside = _strings(table, "outside")
    for zone_id in sorted(ids):
        if zone_id not in zones.by_id:
            msg = f"zone {zone_id!r} is not in the zone files in force"
            raise RuleError(msg)
    for zone_kind in sorted(kinds | outside):
        if zone_kind not in zone_kinds():
            msg = f"zone kind {zone_kind!r} is not one of {sorted(zone_kinds())}"
            raise RuleError(msg)
    if land and (ids or kinds):
        raise RuleError("land = true excludes zones and zone_kinds")
    if not land and not (ids or kinds):
        raise RuleError("says nowhere: give zones, zone_kinds or land = true")
    if land and trigger in _EVENT_TRIGGERS:
        raise RuleError(f"trigger {trigger!r} needs a zone, not land")
    if "inland_m" in table and not land:
        raise RuleError("inland_m goes with land = true")
    rule = Rule(
        id=str(table.get("id", index)),
        kind=kind,
        severity=_severity(table.get("severity"), kind),
        trigger=str(trigger),
        zones=ids,
        zone_kinds=kinds,
        land=land,
        inland_m=_number(table, "inland_m", 0.0),
        outside=outside,
        dwell_s=_number(table, "dwell_s", 0.0),
        speed_kn=_number(table, "speed_kn", 0.0),
        below_kn=_number(table, "below_kn", _DEFAULT_STOPPED_KN),
        for_s=_number(table, "for_s", 0.0),
        clear_after_s=_number(table, "clear_after_s", _DEFAULT_CLEAR_AFTER_S),
        filters=_filters(table.get("filter", {})),
        title=str(table.get("title", "")),
    )
    _check_trigger(rule, table)
    if rule.kind in _PER_ZONE and rule.land:
        raise RuleError(f"alert {rule.kind.value!r} is about a zone, not land")
    return rule


def _check_trigger(rule: Rule, table: Mapping[str, Any]) -> None:
    needs = {"dwell": "dwell_s", "speed_above": "speed_kn"}.get(rule.trigger)
    if needs is not None and needs not in table:
        raise RuleError(f"trigger {rule.trigger!r} needs {needs}")
    if rule.trigger == "dwell" and rule.dwell_s <= 0:
        raise RuleError(f"dwell_s {rule.dwell_s} must be above 0")
    if rule.trigger == "stopped" and rule.below_kn <= 0:
        raise RuleError(f"below_kn {rule.below_kn} must be above 0")
    params = {"dwell_s": "dwell", "speed_kn": "speed_above"}
    params |= {"below_kn": "stopped", "for_s": "stopped"}
    for key, trigger in params.items():
        if key in table and rule.trigger != trigger:
            raise RuleError(f"{key} goes with trigger {trigger!r}")
    if rule.kind in (AlertKind.ZONE_ENTRY, AlertKind.ZONE_EXIT) and (
        rule.trigger not in _EVENT_TRIGGERS
    ):
        msg = f"alert {rule.kind.value!r} is raised by an entry or exit trigger"
        raise RuleError(msg)


def _alert_kind(value: Any) -> AlertKind:
    allowed = sorted(k.value for k in RULE_KINDS)
    try:
        kind = AlertKind(value)
    except ValueError:
        msg = f"unknown alert kind {value!r}; rules raise one of {allowed}"
        raise RuleError(msg) from None
    if kind not in RULE_KINDS:
        msg = f"alert kind {value!r} is not raised by rules; one of {allowed}"
        raise RuleError(msg)
    return kind


def _severity(value: Any, kind: AlertKind) -> Severity:
    if value is None:
        return ALERT_SEVERITY[kind]
    try:
        return Severity(value)
    except ValueError:
        msg = f"severity {value!r} is not one of {[s.value for s in Severity]}"
        raise RuleError(msg) from None


def _strings(table: Mapping[str, Any], key: str) -> frozenset[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{key} {value!r} must be a list of strings")
    return frozenset(value)


def _number(table: Mapping[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise RuleError(f"{key} {value!r} must be a number, 0 or more")
    return float(value)


def _filters(table: Any) -> Filters:
    if not isinstance(table, dict):
        raise RuleError(f"filter {table!r} must be a table")
    for key in table:
        if key not in _FILTER_KEYS:
            msg = f"unknown filter key {key!r}; known keys: {sorted(_FILTER_KEYS)}"
            raise RuleError(msg)
    flag = table.get("flag")
    if flag not in (None, "foreign", "domestic"):
        raise RuleError(f"filter flag {flag!r} must be 'foreign' or 'domestic'")
    classes = _strings(table, "class")
    if not classes <= _CLASSES:
        raise RuleError(f"filter class {sorted(classes)} must be 'A' and/or 'B'")
    speeds = {
        k: _number(table, k, 0.0) if k in table else None
        for k in ("min_speed_kn", "max_speed_kn")
    }
    return Filters(
        flag=flag,
        ship_types=_ship_types(table.get("ship_type", [])),
        classes=classes,
        min_speed_kn=speeds["min_speed_kn"],
        max_speed_kn=speeds["max_speed_kn"],
        hours_wib=_hours(table.get("hours_wib")),
    )


def _ship_types(value: Any) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list):
        raise RuleError(f"filter ship_type {value!r} must be a list")
    out = []
    for item in value:
        # Ship type codes are 0-99 (ITU-R M.1371-5 table 53).
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 99:
            out.append((item, item))
            continue
        match = _RANGE.match(item) if isinstance(item, str) else None
        if match is None or int(match[1]) > int(match[2]):
            msg = (
                f"filter ship_type {item!r} must be a code 0-99 or a range "
                "such as '60-69'"
            )
            raise RuleError(msg)
        out.append((int(match[1]), int(match[2])))
    return tuple(out)


def _hours(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    match = _HOURS.match(value) if isinstance(value, str) else None
    if match is None or match.group(1, 2) == match.group(3, 4):
        msg = f"filter hours_wib {value!r} must read 'HH:MM-HH:MM', such as 18:00-06:00"
        raise RuleError(msg)
    return int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])


# --------------------------------------------------------------------------
# The engine


@dataclass(slots=True)
class _Episode:
    """A condition of one vessel: since when, and whether it still holds."""

    kind: AlertKind
    zone: str | None
    rule: str
    clear_after_s: float
    held_at: datetime
    holding: bool = True


_EpisodeKey = tuple[AlertKind, str | None]
_TimerKey = tuple[str, str]
_Timer = tuple[datetime, datetime]


class RuleEngine:
    """Applies a rule set to each vessel's fixes, keeping per-vessel state.

    Args:
        rules: The rules in force.
    """

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._inside: dict[int, frozenset[str]] = {}
        self._timers: dict[int, dict[_TimerKey, _Timer]] = {}
        self._episodes: dict[int, dict[_EpisodeKey, _Episode]] = {}
        self._heard: dict[int, datetime] = {}
        self._next_forget: datetime | None = None

    def use(
        self, rules: RuleSet, inside: Mapping[int, frozenset[str]] | None = None
    ) -> None:
        """Apply other rules from now on; conditions already open carry on.

        Open episodes are kept (the next report confirms or starts to clear
        them under the new rules); timers of rules no longer there, or whose
        trigger changed, are dropped.

        Args:
            rules: The new rules.
            inside: Zone ids each vessel is in under the new zones, so that
                a zone redrawn over a vessel is no entry.
        """
        old = self.rules
        self.rules = rules
        if inside is not None:
            known = self._inside
            known.update({m: ids for m, ids in inside.items() if m in known})
        for timers in self._timers.values():
            for key in list(timers):
                before, now = old.by_id.get(key[0]), rules.by_id.get(key[0])
                if now is None or before is None or before.trigger != now.trigger:
                    del timers[key]

    def on_fix(
        self, vessel: Vessel, fix: PositionReport, here: Sequence[Zone]
    ) -> list[RuleEvent]:
        """Events from one position report of a vessel inside ``here``."""
        mmsi = vessel.mmsi
        if mmsi_kind(mmsi) in _NOT_VESSELS or vessel.vessel_class == "SAR aircraft":
            return []
        rules = self.rules
        now_ids = frozenset(z.id for z in here)
        before = self._inside.get(mmsi)
        self._inside[mmsi] = now_ids
        self._heard[mmsi] = fix.time
        episodes = self._episodes.get(mmsi)
        if not rules.rules and not episodes:
            return []
        kinds_here = frozenset(z.kind for z in here)
        first = here[0].name if here else None
        out: list[RuleEvent] = []
        hits: set[_EpisodeKey] = set()
        timers = self._timers.get(mmsi, {})
        kept: dict[_TimerKey, _Timer] = {}

        for zone in here:
            for rule in rules.in_zone.get(zone.id, ()):
                if rule.trigger in _EVENT_TRIGGERS:
                    continue
                self._condition(
                    rule, zone, first, vessel, fix, kinds_here, timers, kept, hits, out
                )
        if rules.on_land:
            for rule in rules.land_rules_at(fix.lon_deg, fix.lat_deg):
                self._condition(
                    rule, None, first, vessel, fix, kinds_here, timers, kept, hits, out
                )
        if before is not None and before != now_ids:
            out.extend(self._crossings(vessel, fix, before, now_ids, kinds_here))

        if kept:
            self._timers[mmsi] = kept
        else:
            self._timers.pop(mmsi, None)
        episodes = self._episodes.get(mmsi)
        if episodes:
            out.extend(self._age(mmsi, episodes, hits, fix.time))
        return out

    def on_tick(self, now: datetime) -> list[RuleEvent]:
        """Clear conditions that have not held for long enough, at ``now``."""
        out: list[RuleEvent] = []
        for mmsi, episodes in list(self._episodes.items()):
            heard = self._heard.get(mmsi)
            silent_s = math.inf if heard is None else (now - heard).total_seconds()
            for key, episode in list(episodes.items()):
                idle_s = (now - episode.held_at).total_seconds()
                if silent_s >= FORGET_S:
                    note = f"not heard for {silent_s / 3600:.1f} h"
                elif not episode.holding and idle_s >= episode.clear_after_s:
                    note = f"not seen for {idle_s / 60:.0f} min"
                else:
                    continue
                del episodes[key]
                out.append(self._cleared(mmsi, episode, now, note))
            if not episodes:
                del self._episodes[mmsi]
        if self._next_forget is None or now >= self._next_forget:
            # Vessels long gone are forgotten once an hour of data time.
            self._next_forget = now + timedelta(hours=1)
            self._forget(now - timedelta(seconds=FORGET_S))
        return out

    def open_episodes(self, mmsi: int) -> list[tuple[AlertKind, str | None]]:
        """Kinds and zones of the conditions open for a vessel."""
        return [(e.kind, e.zone) for e in self._episodes.get(mmsi, {}).values()]

    # -- internals ---------------------------------------------------------

    def _condition(
        self,
        rule: Rule,
        zone: Zone | None,
        first: str | None,
        vessel: Vessel,
        fix: PositionReport,
        kinds_here: frozenset[str],
        timers: Mapping[_TimerKey, _Timer],
        kept: dict[_TimerKey, _Timer],
        hits: set[_EpisodeKey],
        out: list[RuleEvent],
    ) -> None:
        if rule.outside & kinds_here or not rule.filters.hold(vessel, fix):
            return
        if not _holds(rule, fix):
            return
        zone_id = zone.id if zone is not None else ""
        lasted_s = 0.0
        if rule.timed:
            key = (rule.id, zone_id)
            since, last = timers.get(key, (fix.time, fix.time))
            if (fix.time - last).total_seconds() > rule.clear_after_s:
                # Silent longer than a condition is held: it starts again.
                since = fix.time
            kept[key] = (since, max(last, fix.time))
            lasted_s = (fix.time - since).total_seconds()
            need_s = rule.dwell_s if rule.trigger == "dwell" else rule.for_s
            if lasted_s < need_s:
                return
        zone_name = zone.name if zone is not None else first
        episode_key = (rule.kind, zone_id if rule.kind in _PER_ZONE else None)
        hits.add(episode_key)
        episodes = self._episodes.setdefault(vessel.mmsi, {})
        episode = episodes.get(episode_key)
        if episode is not None:
            episode.held_at = max(episode.held_at, fix.time)
            episode.holding = True
            return
        episodes[episode_key] = _Episode(
            rule.kind, zone_name, rule.id, rule.clear_after_s, fix.time
        )
        out.append(_raised(rule, vessel, fix, zone, zone_name, lasted_s))

    def _crossings(
        self,
        vessel: Vessel,
        fix: PositionReport,
        before: frozenset[str],
        now_ids: frozenset[str],
        kinds_here: frozenset[str],
    ) -> list[RuleEvent]:
        rules = self.rules
        out = []
        for trigger, ids in (("entry", now_ids - before), ("exit", before - now_ids)):
            for zone_id in sorted(ids):
                zone = rules.zones.by_id.get(zone_id)
                if zone is None:
                    continue
                for rule in rules.in_zone.get(zone_id, ()):
                    if rule.trigger != trigger or rule.outside & kinds_here:
                        continue
                    if not rule.filters.hold(vessel, fix):
                        continue
                    out.append(
                        _raised(rule, vessel, fix, zone, zone.name, 0.0, repeat=True)
                    )
        return out

    def _age(
        self,
        mmsi: int,
        episodes: dict[_EpisodeKey, _Episode],
        hits: set[_EpisodeKey],
        now: datetime,
    ) -> list[RuleEvent]:
        out = []
        for key, episode in list(episodes.items()):
            if key in hits:
                continue
            episode.holding = False
            idle_s = (now - episode.held_at).total_seconds()
            if idle_s >= episode.clear_after_s:
                del episodes[key]
                out.append(
                    self._cleared(mmsi, episode, now, f"not seen for {idle_s:.0f} s")
                )
        if not episodes:
            del self._episodes[mmsi]
        return out

    @staticmethod
    def _cleared(mmsi: int, episode: _Episode, now: datetime, note: str) -> RuleEvent:
        return RuleEvent(
            episode.kind,
            mmsi,
            now,
            False,
            episode.zone,
            ALERT_SEVERITY[episode.kind],
            f"condition of rule {episode.rule!r} over: {note}",
            episode.rule,
        )

    def _forget(self, limit: datetime) -> None:
        stale = [m for m, t in self._heard.items() if t < limit]
        for mmsi in stale:
            if mmsi in self._episodes:
                continue
            del self._heard[mmsi]
            self._inside.pop(mmsi, None)
            self._timers.pop(mmsi, None)


def _holds(rule: Rule, fix: PositionReport) -> bool:
    speed = fix.speed_kn
    if rule.trigger == "speed_above":
        return speed is not None and speed > rule.speed_kn
    if rule.trigger == "stopped":
        return speed is not None and speed < rule.below_kn
    return True


def _summary(
    rule: Rule, vessel: Vessel, fix: PositionReport, zone: Zone | None, lasted_s: float
) -> str:
    who = str(vessel.mmsi)
    if vessel.flag:
        who += f" ({vessel.flag})"
    place = zone.name if zone is not None else "land"
    speed = "?" if fix.speed_kn is None else f"{fix.speed_kn:.1f}"
    what = {
        "entry": f"entered {place}",
        "exit": f"left {place}",
        "inside": f"is in {place}",
        "dwell": f"has been in {place} for {lasted_s / 60:.0f} min",
        "speed_above": f"makes {speed} kn in {place} (over {rule.speed_kn:g} kn)",
        "stopped": (
            f"under {rule.below_kn:g} kn for {lasted_s / 60:.0f} min in {place}"
        ),
    }[rule.trigger]
    if rule.land:
        what = (
            f"reports a position on land, over {rule.inland_m:.0f} m from the "
            f"coast ({fix.lat_deg:.5f}, {fix.lon_deg:.5f})"
        )
    text = f"{who} {what}"
    return f"{rule.title}: {text}" if rule.title else text


def _raised(
    rule: Rule,
    vessel: Vessel,
    fix: PositionReport,
    zone: Zone | None,
    zone_name: str | None,
    lasted_s: float,
    *,
    repeat: bool = False,
) -> RuleEvent:
    """The event of a rule that now holds for a vessel at ``fix``."""
    return RuleEvent(
        rule.kind,
        vessel.mmsi,
        fix.time,
        True,
        zone_name,
        rule.severity,
        _summary(rule, vessel, fix, zone, lasted_s),
        rule.id,
        repeat=repeat,
        lat_deg=fix.lat_deg,
        lon_deg=fix.lon_deg,
        detail=_detail(rule, vessel, fix, lasted_s),
    )


def _detail(
    rule: Rule, vessel: Vessel, fix: PositionReport, lasted_s: float
) -> dict[str, Any]:
    detail: dict[str, Any] = {"rule": rule.id}
    if vessel.flag_code:
        detail["flag_code"] = vessel.flag_code
    if vessel.ship_type is not None:
        detail["ship_type"] = vessel.ship_type
    if fix.speed_kn is not None:
        detail["speed_kn"] = fix.speed_kn
    if rule.timed:
        detail["lasted_s"] = round(lasted_s)
    return detail


def with_rule_kinds(lifecycle: LifecycleRules) -> LifecycleRules:
    """Lifecycle rules under which the rules' conditions resolve themselves.

    The engine holds a cleared condition for the rule's ``clear_after_s``
    before it reports it, so the book may resolve at once.
    """
    return dataclasses.replace(
        lifecycle, auto_resolve=lifecycle.auto_resolve | CONDITION_KINDS
    )


# --------------------------------------------------------------------------
# Reloading


_Signature = tuple[tuple[str, int | None, int | None], ...]


class ZoneFiles:
    """The zone and rule files in force, read again when they change.

    Args:
        zone_paths: Zone files (the main one first); empty for the default.
        rules_path: The rule file; None or empty for the default.
    """

    def __init__(
        self, zone_paths: Sequence[Path | str], rules_path: Path | str | None
    ) -> None:
        self.zone_paths = [Path(p) for p in zone_paths]
        self.rules_path = Path(rules_path) if rules_path else default_rules_path()
        self.loaded: _Signature | None = None
        self.refused: _Signature | None = None
        self._seen: _Signature | None = None
        self.error: ZoneError | None = None

    def files(self) -> list[Path]:
        """Every file watched."""
        from pantaulaut.geofence.zones import default_zones_path

        return [*(self.zone_paths or [default_zones_path()]), self.rules_path]

    def signature(self) -> _Signature:
        """Modification time and size of every file (None when missing)."""
        out: list[tuple[str, int | None, int | None]] = []
        for path in self.files():
            try:
                stat = path.stat()
            except OSError:
                out.append((str(path), None, None))
            else:
                out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    def load(self) -> tuple[ZoneSet, RuleSet]:
        """Read zones and rules now.

        Raises:
            ZoneError: A zone file is refused (RuleError: the rule file).
        """
        signature = self.signature()
        zones = load_zones(self.zone_paths or None)
        rules = load_rules(self.rules_path, zones)
        self.loaded = signature
        self._seen = signature
        return zones, rules

    def reload(self, force: bool = False) -> tuple[ZoneSet, RuleSet] | None:
        """New zones and rules when a file changed and reads well, else None.

        A change is read once it has stayed the same for one call (an editor
        half-way through writing is not read), or at once with ``force``
        (SIGHUP). A refused change is logged as an ERROR once, naming the
        file, the feature or rule and the fault; the zones and rules in force
        stay.
        """
        signature = self.signature()
        seen, self._seen = self._seen, signature
        if signature in (self.loaded, self.refused) and not force:
            return None
        if signature != seen and not force:
            return None
        try:
            loaded = self.load()
        except ZoneError as exc:
            self.refused = signature
            self._seen = signature
            self.error = exc
            log.error("zone files refused, the zones in force stay: %s", exc)
            return None
        self.refused = None
        self.error = None
        zones, rules = loaded
        log.info(
            "zones reloaded: %d zones, %d rules from %s",
            len(zones),
            len(rules),
            ", ".join(str(p) for p in self.files()),
        )
        return loaded
