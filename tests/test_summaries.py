"""Alert summaries in the desk's language, filled in from what detectors record."""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import flask
import pytest

from pantaulaut.alerts.book import AlertChange
from pantaulaut.alerts.incidents import create_incident
from pantaulaut.alerts.wording import wording
from pantaulaut.dashboard.i18n import LANGUAGES, alert_summary
from pantaulaut.evaluate import default_scenarios
from pantaulaut.geofence.zones import load_zones
from pantaulaut.model import Alert, AlertKind, Severity
from pantaulaut.pipeline import Pipeline
from pantaulaut.simulate import load_scenario, simulate

# Scenarios that raise no alert add nothing here but minutes of replay.
QUIET = {"normal-day-regency", "pagerungan-transfer"}


def in_language(language: str) -> Any:
    return flask.Flask(__name__).test_request_context(
        headers={"Cookie": f"lang={language}"}
    )


@pytest.fixture(scope="module")
def scenario_alerts() -> list[Alert]:
    """Every alert the shipped scenarios raise, as their detectors wrote it."""
    zones = load_zones()
    alerts: dict[str, Alert] = {}

    def keep(change: AlertChange) -> None:
        alerts[change.alert.id] = change.alert

    for path in default_scenarios():
        scenario = load_scenario(path, zones)
        if scenario.name in QUIET:
            continue
        pipeline = Pipeline(None, zones)
        pipeline.sinks.append(keep)
        arrival = datetime.now(UTC)
        for _, line in simulate(scenario).lines:
            pipeline.feed(line, scenario.name, arrival)
        pipeline.finish()
    return list(alerts.values())


@pytest.fixture(params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    with in_language(request.param):
        yield request.param


def test_both_wordings_hold_the_same_keys_and_fields() -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    indonesian, english = wording("id"), wording("en")
    assert indonesian.keys() == english.keys()
    for key, text in indonesian.items():
        assert fields(text) == fields(english[key]), key


def test_every_alert_kind_has_a_summary_in_both_languages() -> None:
    for language in LANGUAGES:
        texts = wording(language)
        missing = [k for k in AlertKind if f"summary.{k.value}" not in texts]
        assert not missing, (language, missing)


def test_every_scenario_alert_reads_in_the_desk_language(
    scenario_alerts: list[Alert], language: str
) -> None:
    kinds = {a.kind for a in scenario_alerts}
    assert len(kinds) >= 15, kinds
    for alert in scenario_alerts:
        text = alert_summary(alert)
        template = wording(language)[f"summary.{alert.kind.value}"]
        # The catalogue's words are there, so the text was filled in rather
        # than left as the detector's English.
        pieces = [piece for piece, _, _, _ in string.Formatter().parse(template)]
        longest = max((p.strip() for p in pieces), key=len)
        assert longest in text, (alert.kind, text)
        assert "{" not in text
        if alert.mmsi is not None:
            assert str(alert.mmsi) in text
        if "other_name" in alert.detail:
            assert alert.detail["other_name"] in text
    assert any("other_name" in a.detail for a in scenario_alerts)


def test_indonesian_summaries_are_not_the_english_ones(
    scenario_alerts: list[Alert],
) -> None:
    with in_language("id"):
        for alert in scenario_alerts:
            assert alert_summary(alert) != alert.summary, alert.kind


def test_a_collision_risk_names_both_vessels_and_the_figures() -> None:
    alert = Alert(
        id="a",
        kind=AlertKind.COLLISION_RISK,
        severity=Severity.HIGH,
        time=datetime(2026, 6, 17, tzinfo=UTC),
        mmsi=525301014,
        vessel_name="KM DUA PUTRI",
        summary="525301014 and 525000002: closest approach 0.05 nm",
        detail={
            "cpa_nm": 0.05,
            "tcpa_s": 300,
            "range_nm": 1.234,
            "other_mmsi": 525000002,
        },
    )
    with in_language("id"):
        assert alert_summary(alert) == (
            "KM DUA PUTRI (MMSI 525301014) dan MMSI 525000002: jarak terdekat "
            "0.05 nm dalam 5.0 menit, kini berjarak 1.23 nm"
        )


def test_an_alert_without_the_figures_keeps_the_detector_summary() -> None:
    alert = Alert(
        id="a",
        kind=AlertKind.AIS_GAP,
        severity=Severity.HIGH,
        time=datetime(2026, 6, 17, tzinfo=UTC),
        mmsi=525301014,
        summary="525301014 silent for 12.0 min at sea",
        detail={"silent_s": 720},
    )
    with in_language("id"):
        assert alert_summary(alert) == alert.summary


def test_a_caller_report_reads_with_its_counts(language: str) -> None:
    alert = create_incident(
        -5.83,
        114.4,
        time=datetime(2026, 6, 17, tzinfo=UTC),
        people=7,
        people_in_water=True,
        vessel_description="perahu motor biru",
    )
    text = alert_summary(alert)
    assert "perahu motor biru" in text
    assert "7" in text
    expected = {"id": "ada orang di air", "en": "people in the water"}[language]
    assert expected in text


@pytest.mark.parametrize("kind", [AlertKind.ZONE_ENTRY, AlertKind.FOREIGN_FISHING])
def test_zone_alerts_name_the_zone(kind: AlertKind, language: str) -> None:
    alert = Alert(
        id="a",
        kind=kind,
        severity=Severity.HIGH,
        time=datetime(2026, 6, 17, tzinfo=UTC),
        mmsi=412000001,
        zone="Masalembu 4 nm",
        summary="412000001 in Masalembu 4 nm",
        detail={"rule": "foreign_fishing", "flag_code": "CN", "ship_type": 30},
    )
    text = alert_summary(alert)
    assert "Masalembu 4 nm" in text
    assert "412000001" in text
    if kind is AlertKind.FOREIGN_FISHING:
        assert "CN" in text
