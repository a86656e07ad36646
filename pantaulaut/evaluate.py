"""Scoring detectors on scenarios: recall, precision and time-to-alert per kind.

Each scenario is simulated (:mod:`pantaulaut.simulate`), replayed through a
fresh :class:`~pantaulaut.pipeline.Pipeline` with the regency's zones, and
every alert opened is matched against the scenario's ground truth:

- an expected alert is **detected** by the first alert of its kind for its
  vessel (either vessel, for a pair; its station, for ``station_down``) that
  opens after the event and no later than its deadline; its **time-to-alert**
  is the alert's time minus the time the event became observable in the data
  (:func:`pantaulaut.simulate.ground_truth` says when that is);
- a later alert of the same kind for the same subject is a **repeat**
  (counted, neither right nor wrong);
- an alert matching an ``[[allow]]`` rule, or a zone crossing (information
  the zones ask for, not a detector), is **allowed**;
- any other alert is a **false alarm**, and one matching a ``[[forbid]]``
  rule is a **violation** as well.

The targets of issue 5: every beacon detected on its first message, at least
95 % recall for every other kind with a median time-to-alert under 2 min,
and no violation.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pantaulaut.alerts.book import AlertChange
from pantaulaut.alerts.lifecycle import BEACON_KINDS
from pantaulaut.geofence.zones import ZoneSet, load_zones
from pantaulaut.model import AlertKind
from pantaulaut.pipeline import Pipeline
from pantaulaut.simulate import Rule, Scenario, ground_truth, simulate

__all__ = [
    "KindScore",
    "Outcome",
    "ScenarioResult",
    "print_report",
    "run_scenario",
    "score",
    "shortfalls",
    "variants",
]

_ALWAYS_ALLOWED = frozenset({AlertKind.ZONE_ENTRY.value, AlertKind.ZONE_EXIT.value})
_RECALL_TARGET = 0.95
_MEDIAN_TTA_TARGET_S = 120.0


@dataclass(frozen=True, slots=True)
class Opened:
    """An alert as it was when it opened, and when (if) it was resolved."""

    id: str
    kind: str
    mmsi: int | None
    other_mmsi: int | None
    station: str | None
    time_s: float


@dataclass(slots=True)
class Outcome:
    """One expected alert and what became of it."""

    kind: str
    mmsi: int | None
    other_mmsi: int | None
    observable_s: float
    deadline_s: float
    alert_s: float | None = None
    resolved_s: float | None = None
    resolved_by_s: float | None = None

    @property
    def detected(self) -> bool:
        """True when an alert came in time."""
        return self.alert_s is not None

    @property
    def tta_s(self) -> float | None:
        """Seconds from observable to alert."""
        return None if self.alert_s is None else self.alert_s - self.observable_s

    @property
    def resolved_ok(self) -> bool | None:
        """Resolved in time, when the scenario asks for it."""
        if self.resolved_by_s is None:
            return None
        return self.resolved_s is not None and self.resolved_s <= self.resolved_by_s


@dataclass
class ScenarioResult:
    """Everything one scenario's replay produced, matched to its truth."""

    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    false_alarms: list[Opened] = field(default_factory=list)
    violations: list[Opened] = field(default_factory=list)
    repeats: list[Opened] = field(default_factory=list)
    allowed: list[Opened] = field(default_factory=list)
    alerts: list[Opened] = field(default_factory=list)
    messages: int = 0


@dataclass
class KindScore:
    """Recall, precision and time-to-alert of one kind over many scenarios."""

    kind: str
    expected: int = 0
    detected: int = 0
    false_alarms: int = 0
    violations: int = 0
    tta_s: list[float] = field(default_factory=list)
    first_message: int = 0

    @property
    def recall(self) -> float | None:
        """Share of expected alerts detected."""
        return self.detected / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        """Share of alerts (not repeats, not allowed) that were expected."""
        raised = self.detected + self.false_alarms
        return self.detected / raised if raised else None

    @property
    def median_tta_s(self) -> float | None:
        """Median time-to-alert of the detected ones."""
        return statistics.median(self.tta_s) if self.tta_s else None


def run_scenario(scenario: Scenario, zones: ZoneSet | None = None) -> ScenarioResult:
    """Simulate, replay and match one scenario."""
    sim = simulate(scenario)
    truth = ground_truth(scenario, sim)
    pipeline = Pipeline(None, zones if zones is not None else load_zones())
    start = scenario.start
    opened: list[Opened] = []
    resolved: dict[str, float] = {}

    def seconds(when: datetime) -> float:
        return (when - start).total_seconds()

    def watch(change: AlertChange) -> None:
        alert = change.alert
        if change.new:
            other = alert.detail.get("other_mmsi")
            opened.append(
                Opened(
                    alert.id,
                    alert.kind.value,
                    alert.mmsi,
                    None if other is None else int(other),
                    alert.station,
                    seconds(alert.time),
                )
            )
        elif change.action == "resolved" and pipeline.clock is not None:
            resolved.setdefault(alert.id, seconds(pipeline.clock))

    pipeline.sinks.append(watch)
    arrival = datetime.now(UTC)
    for _, line in sim.lines:
        pipeline.feed(line, scenario.name, arrival)
    pipeline.finish()
    result = ScenarioResult(scenario.name, alerts=opened)
    result.messages = pipeline.stream.messages
    _match(result, truth, opened, resolved, scenario)
    return result


def _subject_matches(
    alert: Opened, kind: str, mmsi: int | None, other: int | None, station: str | None
) -> bool:
    if alert.kind != kind:
        return False
    if kind == AlertKind.STATION_DOWN.value:
        return station is None or alert.station == station
    if other is not None:
        return {alert.mmsi, alert.other_mmsi} == {mmsi, other}
    return mmsi is None or alert.mmsi == mmsi or alert.other_mmsi == mmsi


def _match(
    result: ScenarioResult,
    truth: dict[str, Any],
    opened: list[Opened],
    resolved: dict[str, float],
    scenario: Scenario,
) -> None:
    used: set[str] = set()
    for e in sorted(truth["expect"], key=lambda x: x["observable_s"]):
        outcome = Outcome(
            e["kind"],
            e["mmsi"],
            e["other_mmsi"],
            e["observable_s"],
            e["deadline_s"],
            resolved_by_s=e["resolved_by_s"],
        )
        for alert in opened:
            if alert.id in used or not _subject_matches(
                alert, e["kind"], e["mmsi"], e["other_mmsi"], e["station"]
            ):
                continue
            if e["after_s"] <= alert.time_s <= e["deadline_s"]:
                used.add(alert.id)
                outcome.alert_s = alert.time_s
                outcome.resolved_s = resolved.get(alert.id)
                break
        result.outcomes.append(outcome)
    for alert in opened:
        if alert.id in used:
            continue
        expected_subject = any(
            _subject_matches(alert, e["kind"], e["mmsi"], e["other_mmsi"], e["station"])
            for e in truth["expect"]
        )
        if expected_subject and alert.time_s >= min(
            e["after_s"] for e in truth["expect"] if e["kind"] == alert.kind
        ):
            result.repeats.append(alert)
        elif alert.kind in _ALWAYS_ALLOWED or _ruled(alert, scenario.allow):
            result.allowed.append(alert)
        else:
            result.false_alarms.append(alert)
        if _ruled(alert, scenario.forbid) and alert not in result.allowed:
            result.violations.append(alert)


def _ruled(alert: Opened, rules: Iterable[Rule]) -> bool:
    for rule in rules:
        if rule.kind not in ("*", alert.kind):
            continue
        if rule.mmsi is not None and rule.mmsi not in (alert.mmsi, alert.other_mmsi):
            continue
        if rule.other_mmsi is not None and rule.other_mmsi not in (
            alert.mmsi,
            alert.other_mmsi,
        ):
            continue
        if rule.from_s is not None and alert.time_s < rule.from_s:
            continue
        if rule.until_s is not None and alert.time_s > rule.until_s:
            continue
        return True
    return False


def score(results: Iterable[ScenarioResult]) -> dict[str, KindScore]:
    """Per-kind scores over all results."""
    scores: dict[str, KindScore] = {}

    def of(kind: str) -> KindScore:
        return scores.setdefault(kind, KindScore(kind))

    for result in results:
        for outcome in result.outcomes:
            s = of(outcome.kind)
            s.expected += 1
            if outcome.detected and outcome.tta_s is not None:
                s.detected += 1
                s.tta_s.append(outcome.tta_s)
                if outcome.tta_s <= 0.0:
                    s.first_message += 1
        for alert in result.false_alarms:
            of(alert.kind).false_alarms += 1
        for alert in result.violations:
            of(alert.kind).violations += 1
    return dict(sorted(scores.items()))


def shortfalls(
    results: Sequence[ScenarioResult], scores: dict[str, KindScore]
) -> list[str]:
    """What misses the targets of issue 5; empty when every target is met."""
    out = []
    beacons = {k.value for k in BEACON_KINDS}
    for kind, s in scores.items():
        if s.expected == 0:
            continue
        if kind in beacons:
            if s.detected < s.expected or s.first_message < s.expected:
                out.append(f"{kind}: beacons must all alert on their first message")
            continue
        if (s.recall or 0.0) < _RECALL_TARGET:
            out.append(f"{kind}: recall {100 * (s.recall or 0):.0f}% < 95%")
        median = s.median_tta_s
        if median is not None and median >= _MEDIAN_TTA_TARGET_S:
            out.append(f"{kind}: median time-to-alert {median:.0f} s >= 120 s")
    for result in results:
        for alert in result.violations:
            out.append(
                f"{result.name}: forbidden {alert.kind} for {alert.mmsi} "
                f"at {alert.time_s:.0f} s"
            )
        for outcome in result.outcomes:
            if outcome.resolved_ok is False:
                out.append(
                    f"{result.name}: {outcome.kind} for {outcome.mmsi} not "
                    f"resolved by {outcome.resolved_by_s:.0f} s"
                )
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_report(results: Sequence[ScenarioResult], out: TextIO) -> list[str]:
    """Print the per-scenario lines and the per-kind table; return shortfalls."""
    print(
        f"{'scenario':34} {'msgs':>6} {'expect':>6} {'found':>6} "
        f"{'false':>6} {'forbid':>6} {'repeat':>6}",
        file=out,
    )
    for r in results:
        found = sum(o.detected for o in r.outcomes)
        print(
            f"{r.name:34} {r.messages:6d} {len(r.outcomes):6d} {found:6d} "
            f"{len(r.false_alarms):6d} {len(r.violations):6d} {len(r.repeats):6d}",
            file=out,
        )
        for o in r.outcomes:
            if not o.detected:
                print(f"  MISSED {o.kind} for {o.mmsi}", file=out)
        for a in r.false_alarms:
            print(f"  false alarm {a.kind} for {a.mmsi} at {a.time_s:.0f} s", file=out)
    scores = score(results)
    print(file=out)
    print(
        f"{'kind':18} {'expected':>8} {'found':>6} {'recall':>7} {'false':>6} "
        f"{'precision':>9} {'median TTA s':>12} {'max TTA s':>9} {'forbidden':>9}",
        file=out,
    )
    for kind, s in scores.items():
        print(
            f"{kind:18} {s.expected:8d} {s.detected:6d} {_pct(s.recall):>7} "
            f"{s.false_alarms:6d} {_pct(s.precision):>9} "
            f"{_s(s.median_tta_s):>12} {_s(max(s.tta_s) if s.tta_s else None):>9} "
            f"{s.violations:9d}",
            file=out,
        )
    missing = shortfalls(results, scores)
    print(file=out)
    if missing:
        print("targets NOT met:", file=out)
        for line in missing:
            print(f"  {line}", file=out)
    else:
        print(
            "targets met: beacons on their first message, recall >= 95% and "
            "median time-to-alert < 2 min for every other kind, nothing forbidden",
            file=out,
        )
    return missing


def variants(scenario: Scenario, count: int) -> list[Scenario]:
    """The scenario under ``count`` seeds: other noise, losses and phases.

    The first is the scenario as shipped; the others are named
    ``name#k``. Running each scenario under several seeds shows whether a
    detector passes by luck.
    """
    out = [scenario]
    for k in range(1, count):
        seed = scenario.seed * 100 + k
        out.append(
            dataclasses.replace(scenario, seed=seed, name=f"{scenario.name}#{k}")
        )
    return out


def default_scenarios() -> list[Path]:
    """The scenarios shipped in ``pantaulaut.data/scenarios``."""
    from importlib import resources

    folder = Path(str(resources.files("pantaulaut.data").joinpath("scenarios")))
    return sorted(folder.glob("*.toml"))
