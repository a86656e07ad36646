"""The alert lifecycle: update, auto-resolve with hold, cooldown, suppression.

Also the operator's API (acknowledge, resolve), the audit trail on the
alert, its round trip through the SQLite store, and the lifecycle rules read
from a TOML table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pantaulaut.alerts.book import AlertBook
from pantaulaut.alerts.lifecycle import LifecycleRules, rules_from_mapping
from pantaulaut.errors import ConfigError
from pantaulaut.model import AlertKind, AlertState, Severity
from pantaulaut.store.base import Batch
from pantaulaut.store.sqlite import SqliteStore

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
FERRY = 525_000_001
BOAT = 525_000_002


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_raising_an_open_alert_updates_it_instead_of_repeating() -> None:
    book = AlertBook()
    first = book.raise_alert(AlertKind.SUDDEN_STOP, T0, mmsi=FERRY, summary="a")
    second = book.raise_alert(AlertKind.SUDDEN_STOP, at(60), mmsi=FERRY, summary="b")
    assert first is not None
    assert second is not None
    assert (first.new, second.new) == (True, False)
    assert (first.action, second.action) == ("opened", "updated")
    (alert,) = book.open_alerts()
    assert (alert.count, alert.updated, alert.summary) == (2, at(60), "b")
    assert [h["action"] for h in alert.history] == ["opened"]


def test_other_vessel_or_kind_is_its_own_alert() -> None:
    book = AlertBook()
    book.raise_alert(AlertKind.SUDDEN_STOP, T0, mmsi=FERRY)
    book.raise_alert(AlertKind.SUDDEN_STOP, T0, mmsi=BOAT)
    book.raise_alert(AlertKind.DRIFTING, T0, mmsi=FERRY)
    assert len(book) == 3


def test_a_pair_alert_is_one_per_pair() -> None:
    book = AlertBook()
    book.raise_alert(AlertKind.COLLISION_RISK, T0, mmsi=FERRY, partner=BOAT)
    book.raise_alert(AlertKind.COLLISION_RISK, at(30), mmsi=FERRY, partner=BOAT)
    book.raise_alert(AlertKind.COLLISION_RISK, at(30), mmsi=FERRY, partner=3)
    assert len(book) == 2
    alert = book.get(AlertKind.COLLISION_RISK, FERRY, partner=BOAT)
    assert alert is not None
    assert (alert.count, alert.detail["other_mmsi"]) == (2, BOAT)


def test_station_down_is_one_per_station() -> None:
    book = AlertBook()
    book.raise_alert(AlertKind.STATION_DOWN, T0, station="SMP-KANGEAN")
    book.raise_alert(AlertKind.STATION_DOWN, T0, station="SMP-DUNGKEK")
    assert len(book) == 2


def test_a_cleared_condition_resolves_after_its_hold_time() -> None:
    rules = LifecycleRules(clear_hold_s={AlertKind.SUDDEN_STOP: 120.0})
    book = AlertBook(rules)
    book.raise_alert(AlertKind.SUDDEN_STOP, T0, mmsi=FERRY)
    assert book.clear(AlertKind.SUDDEN_STOP, at(100), mmsi=FERRY) is None
    assert book.tick(at(219)) == []  # 119 s clear: still open
    (change,) = book.tick(at(220))
    assert change.action == "resolved"
    assert change.alert.state is AlertState.RESOLVED
    assert change.alert.history[-1]["actor"] == "system"
    assert change.alert.history[-1]["action"] == "resolved"
    assert len(book) == 0


def test_the_condition_coming_back_during_the_hold_keeps_the_alert() -> None:
    """Hysteresis in time: a ferry that creeps and stops again keeps one alert."""
    rules = LifecycleRules(clear_hold_s={AlertKind.SUDDEN_STOP: 120.0})
    book = AlertBook(rules)
    book.raise_alert(AlertKind.SUDDEN_STOP, T0, mmsi=FERRY)
    book.clear(AlertKind.SUDDEN_STOP, at(100), mmsi=FERRY)
    book.raise_alert(AlertKind.SUDDEN_STOP, at(150), mmsi=FERRY)
    assert book.tick(at(400)) == []
    (alert,) = book.open_alerts()
    assert alert.count == 2


def test_zero_hold_resolves_at_once() -> None:
    book = AlertBook()
    book.raise_alert(AlertKind.AIS_GAP, T0, mmsi=FERRY)
    change = book.clear(AlertKind.AIS_GAP, at(30), mmsi=FERRY, note="heard again")
    assert change is not None
    assert change.alert.history[-1]["note"] == "heard again"


def test_cooldown_keeps_the_same_kind_from_reopening_for_that_vessel() -> None:
    rules = LifecycleRules(
        clear_hold_s={AlertKind.AIS_GAP: 0.0},
        cooldown_s={AlertKind.AIS_GAP: 600.0},
    )
    book = AlertBook(rules)
    book.raise_alert(AlertKind.AIS_GAP, T0, mmsi=FERRY)
    book.clear(AlertKind.AIS_GAP, at(10), mmsi=FERRY)
    assert book.raise_alert(AlertKind.AIS_GAP, at(609), mmsi=FERRY) is None
    assert book.held["ais_gap"] == 1
    # Another vessel is not held by this vessel's cooldown.
    assert book.raise_alert(AlertKind.AIS_GAP, at(20), mmsi=BOAT) is not None
    change = book.raise_alert(AlertKind.AIS_GAP, at(610), mmsi=FERRY)
    assert change is not None
    assert change.new


def test_suppressed_kinds_are_not_raised_inside_a_harbour() -> None:
    book = AlertBook()
    in_harbour = frozenset({"regency_waters", "harbour"})
    change = book.raise_alert(
        AlertKind.COLLISION_RISK, T0, mmsi=FERRY, partner=BOAT, zone_kinds=in_harbour
    )
    assert change is None
    assert book.suppressed["collision_risk"] == 1
    at_sea = frozenset({"regency_waters"})
    change = book.raise_alert(
        AlertKind.COLLISION_RISK, T0, mmsi=FERRY, partner=BOAT, zone_kinds=at_sea
    )
    assert change is not None


@pytest.mark.parametrize(
    "kind",
    [
        AlertKind.SART_ACTIVE,
        AlertKind.MOB_ACTIVE,
        AlertKind.EPIRB_ACTIVE,
        AlertKind.BEACON_TEST,
    ],
)
def test_beacons_are_never_suppressed_held_or_resolved_by_the_system(
    kind: AlertKind,
) -> None:
    everywhere = {k: frozenset({"harbour"}) for k in AlertKind}
    rules = LifecycleRules(
        suppress_in=everywhere,
        cooldown_s=dict.fromkeys(AlertKind, 3600.0),
        auto_resolve=frozenset(AlertKind),
    )
    book = AlertBook(rules)
    change = book.raise_alert(kind, T0, mmsi=970_000_001, zone_kinds={"harbour"})
    assert change is not None
    assert change.new
    assert book.clear(kind, at(10), mmsi=970_000_001) is None
    book.resolve(change.alert.id, at(20), "operator-1")
    again = book.raise_alert(kind, at(30), mmsi=970_000_001, zone_kinds={"harbour"})
    assert again is not None
    assert again.new


def test_a_rule_that_would_suppress_a_beacon_is_refused() -> None:
    with pytest.raises(ConfigError, match="never suppressed"):
        rules_from_mapping({"suppress_in": {"sart_active": ["harbour"]}})


@pytest.mark.parametrize("section", ["cooldown_s", "clear_hold_s"])
def test_a_rule_that_would_hold_back_a_beacon_is_refused(section: str) -> None:
    with pytest.raises(ConfigError, match="never held back"):
        rules_from_mapping({section: {"sart_active": 60}})


def test_a_misspelt_zone_kind_in_suppress_in_is_refused() -> None:
    # "harbor" matches no zone: accepted, it would lift harbour suppression.
    with pytest.raises(ConfigError, match="harbor is not one"):
        rules_from_mapping({"suppress_in": {"collision_risk": ["harbor"]}})
    rules = rules_from_mapping({"suppress_in": {"collision_risk": ["berth"]}})
    assert rules.suppressed(AlertKind.COLLISION_RISK, ["berth"])


def test_rules_from_toml_table() -> None:
    rules = rules_from_mapping(
        {
            "cooldown_s": {"sudden_stop": 60},
            "clear_hold_s": {"drifting": 30},
            "suppress_in": {"collision_risk": ["harbour", "lane"]},
        }
    )
    assert rules.cooldown_for_s(AlertKind.SUDDEN_STOP) == 60.0
    assert rules.hold_s(AlertKind.DRIFTING) == 30.0
    assert rules.suppressed(AlertKind.COLLISION_RISK, ["lane"])
    assert rules.hold_s(AlertKind.AGROUND) == 120.0  # defaults kept
    with pytest.raises(ConfigError):
        rules_from_mapping({"cooldown_s": {"no_such_kind": 1}})
    with pytest.raises(ConfigError):
        rules_from_mapping({"cooldown_s": {"ais_gap": -1}})
    with pytest.raises(ConfigError):
        rules_from_mapping({"cooldowns": {}})


def test_operator_acknowledges_then_resolves_with_an_audit_trail() -> None:
    book = AlertBook()
    opened = book.raise_alert(AlertKind.DRIFTING, T0, mmsi=FERRY, summary="drift")
    assert opened is not None
    alert_id = opened.alert.id
    ack = book.acknowledge(alert_id, at(60), "desk-ani", "calling the ferry")
    assert ack.alert.state is AlertState.ACKNOWLEDGED
    # Still open for updates while acknowledged.
    book.raise_alert(AlertKind.DRIFTING, at(90), mmsi=FERRY)
    assert book.find(alert_id) is not None
    with pytest.raises(ValueError, match="acknowledged"):
        book.acknowledge(alert_id, at(100), "desk-budi")
    done = book.resolve(alert_id, at(120), "desk-ani", "towed in")
    assert done.alert.state is AlertState.RESOLVED
    assert book.find(alert_id) is None
    assert [(h["actor"], h["action"], h["note"]) for h in done.alert.history] == [
        ("system", "opened", "drift"),
        ("desk-ani", "acknowledged", "calling the ferry"),
        ("desk-ani", "resolved", "towed in"),
    ]
    assert done.alert.history[1]["time"] == "2026-06-17T00:01:00Z"
    with pytest.raises(KeyError):
        book.resolve(alert_id, at(130), "desk-ani")


def test_higher_severity_escalates_and_is_recorded() -> None:
    book = AlertBook()
    book.raise_alert(AlertKind.SAFETY_BROADCAST, T0, mmsi=FERRY, severity=Severity.HIGH)
    change = book.raise_alert(
        AlertKind.SAFETY_BROADCAST, at(30), mmsi=FERRY, severity=Severity.CRITICAL
    )
    assert change is not None
    assert change.action == "escalated"
    assert change.alert.severity is Severity.CRITICAL
    assert change.alert.history[-1]["action"] == "escalated"


def test_distress_texts_wait_for_an_operator() -> None:
    book = AlertBook()
    book.raise_alert(AlertKind.SAFETY_BROADCAST, T0, mmsi=FERRY)
    assert book.clear(AlertKind.SAFETY_BROADCAST, at(10), mmsi=FERRY) is None
    assert book.tick(at(100_000)) == []
    assert len(book) == 1


def test_history_and_detail_survive_the_store(tmp_path: Path) -> None:
    book = AlertBook()
    change = book.raise_alert(
        AlertKind.COLLISION_RISK,
        T0,
        mmsi=FERRY,
        partner=BOAT,
        detail={"cpa_nm": 0.05, "speeds_kn": [11.0, 6.0]},
    )
    assert change is not None
    book.acknowledge(change.alert.id, at(30), "desk-ani")
    store = SqliteStore(str(tmp_path / "s.db"))
    store.write(Batch(alerts={change.alert.id: change.alert}))
    (back,) = store.alerts(states=[AlertState.ACKNOWLEDGED])
    assert back == change.alert
    assert back.detail == {"cpa_nm": 0.05, "speeds_kn": [11.0, 6.0], "other_mmsi": BOAT}
    assert [h["action"] for h in back.history] == ["opened", "acknowledged"]
    store.close()
