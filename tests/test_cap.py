"""CAP 1.2: a message for every alert kind, checked against the standard's rules.

The rules are those of :func:`pantaulaut.alerts.cap.validate_cap`, written
by the project from the text of CAP 1.2; the negative tests below show that
each rule catches what it is for.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import shapely

from pantaulaut.alerts.cap import (
    CAP_NS,
    PROFILES,
    CapMessage,
    CapSettings,
    cap_time,
    format_position,
    message_identifier,
    polygons_of,
    profile_problems,
    to_json,
    to_xml,
    validate_cap,
    zone_polygon_lookup,
)
from pantaulaut.geofence.zones import load_zones
from pantaulaut.model import ALERT_SEVERITY, Alert, AlertKind, AlertState, Severity

T0 = datetime(2026, 6, 17, 0, 35, tzinfo=UTC)
NS = {"cap": CAP_NS}
SETTINGS = CapSettings(
    sender="pantaulaut@112.sumenepkab.example",
    identifier_prefix="2.49.0.0.360.99",
    web_base_url="http://127.0.0.1:8050",
)


def alert_of(kind: AlertKind, **changes: object) -> Alert:
    data: dict[str, object] = {
        "id": f"a-{kind.value}",
        "kind": kind,
        "severity": ALERT_SEVERITY[kind],
        "time": T0,
        "mmsi": 525000001,
        "vessel_name": "KM BAHARI TEST",
        "lat_deg": -7.04,
        "lon_deg": 114.26,
        "zone": "Perairan Kabupaten Sumenep",
        "station": "SMP-KALIANGET",
        "summary": f"{kind.value} for KM BAHARI TEST",
        "updated": T0 + timedelta(minutes=1),
    }
    data.update(changes)
    return Alert(**data)  # type: ignore[arg-type]


def message(alert: Alert, msg_type: str = "Alert", **changes: object) -> CapMessage:
    data: dict[str, object] = {
        "identifier": message_identifier(SETTINGS.identifier_prefix, alert.id, 1),
        "sender": SETTINGS.sender,
        "sent": alert.updated or alert.time,
        "status": "Actual",
        "msg_type": msg_type,
        "alert": alert,
        "callsign": "YBAB",
        "ship_type": "Passenger",
    }
    data.update(changes)
    return CapMessage(**data)  # type: ignore[arg-type]


def text(root: ET.Element, path: str) -> list[str]:
    return [e.text or "" for e in root.findall(path, NS)]


@pytest.mark.parametrize("kind", list(AlertKind), ids=lambda k: k.value)
def test_every_alert_kind_gives_a_valid_cap_message(kind: AlertKind) -> None:
    assert kind in PROFILES
    document = to_xml(message(alert_of(kind)), SETTINGS)
    assert validate_cap(document) == []
    assert profile_problems(document) == []
    root = ET.fromstring(document)
    assert text(root, "cap:info/cap:language") == ["id-ID", "en-US"]
    assert text(root, "cap:info/cap:eventCode/cap:value") == [kind.value] * 2
    # Both languages have their own event name and headline.
    events = text(root, "cap:info/cap:event")
    assert events[0] != events[1]


def test_a_sart_alert_is_extreme_immediate_observed_rescue() -> None:
    root = ET.fromstring(to_xml(message(alert_of(AlertKind.SART_ACTIVE)), SETTINGS))
    for info in root.findall("cap:info", NS):
        assert text(info, "cap:category") == ["Rescue"]
        assert text(info, "cap:urgency") == ["Immediate"]
        assert text(info, "cap:severity") == ["Extreme"]
        assert text(info, "cap:certainty") == ["Observed"]
        assert text(info, "cap:area/cap:circle") == ["-7.04000,114.26000 1"]


@pytest.mark.parametrize(
    ("severity", "cap"),
    [
        (Severity.CRITICAL, "Extreme"),
        (Severity.HIGH, "Severe"),
        (Severity.MEDIUM, "Moderate"),
        (Severity.LOW, "Minor"),
        (Severity.INFO, "Unknown"),
    ],
)
def test_severities_map_as_the_design_says(severity: Severity, cap: str) -> None:
    alert = alert_of(AlertKind.DRIFTING, severity=severity)
    root = ET.fromstring(to_xml(message(alert), SETTINGS))
    assert text(root, "cap:info/cap:severity") == [cap, cap]


def test_header_identifier_sender_times_scope_and_links() -> None:
    alert = alert_of(AlertKind.MOB_ACTIVE)
    root = ET.fromstring(to_xml(message(alert), SETTINGS))
    assert text(root, "cap:identifier") == [f"2.49.0.0.360.99.{alert.id}.1"]
    assert text(root, "cap:sender") == [SETTINGS.sender]
    # 00:36 UTC is 07:36 WIB, written with its offset and never with Z.
    assert text(root, "cap:sent") == ["2026-06-17T07:36:00+07:00"]
    assert text(root, "cap:scope") == ["Restricted"]
    assert text(root, "cap:restriction")[0]
    assert (
        text(root, "cap:info/cap:web")
        == [f"http://127.0.0.1:8050/alerts/{alert.id}"] * 2
    )
    params = dict(
        zip(
            text(root, "cap:info[1]/cap:parameter/cap:valueName"),
            text(root, "cap:info[1]/cap:parameter/cap:value"),
            strict=True,
        )
    )
    assert params["MMSI"] == "525000001"
    assert params["VesselName"] == "KM BAHARI TEST"
    assert params["CallSign"] == "YBAB"
    assert params["AlertKind"] == "mob_active"
    assert params["Station"] == "SMP-KALIANGET"


def test_times_are_whole_seconds_in_wib() -> None:
    assert cap_time(datetime(2026, 6, 17, 23, 0, 5, 999, tzinfo=UTC)) == (
        "2026-06-18T06:00:05+07:00"
    )
    with pytest.raises(ValueError, match="naive"):
        cap_time(datetime(2026, 6, 17))


def test_identifiers_hold_no_forbidden_characters() -> None:
    assert message_identifier("a b", "x,y<z&", 3) == "a-b.x-y-z-.3"


def test_update_and_cancel_cite_earlier_messages() -> None:
    alert = alert_of(AlertKind.SART_ACTIVE)
    first = message(alert)
    update = message(
        alert,
        "Update",
        identifier=message_identifier(SETTINGS.identifier_prefix, alert.id, 2),
        seq=2,
        references=(first.reference,),
        action="acknowledged",
        note="operator1: KN SAR Widura tasked",
    )
    alert.state = AlertState.RESOLVED
    cancel = message(
        alert,
        "Cancel",
        identifier=message_identifier(SETTINGS.identifier_prefix, alert.id, 3),
        seq=3,
        references=(first.reference, update.reference),
        action="resolved",
    )
    for item in (update, cancel):
        document = to_xml(item, SETTINGS)
        assert validate_cap(document) == []
    root = ET.fromstring(to_xml(cancel, SETTINGS))
    refs = text(root, "cap:references")[0].split()
    assert refs == [
        f"{SETTINGS.sender},{first.identifier},2026-06-17T07:36:00+07:00",
        f"{SETTINGS.sender},{update.identifier},2026-06-17T07:36:00+07:00",
    ]
    assert text(root, "cap:msgType") == ["Cancel"]
    assert text(root, "cap:info/cap:responseType") == ["AllClear", "AllClear"]
    update_root = ET.fromstring(to_xml(update, SETTINGS))
    description = text(update_root, "cap:info[2]/cap:description")[0]
    assert "acknowledged by the desk — operator1: KN SAR Widura tasked" in description


def test_zone_alerts_carry_the_zone_outline_as_closed_polygons() -> None:
    zones = load_zones()
    harbour = next(z for z in zones.zones if z.kind == "harbour")
    lookup = zone_polygon_lookup(zones.zones, max_points=40)
    alert = alert_of(AlertKind.ZONE_ENTRY, zone=harbour.name)
    document = to_xml(message(alert), SETTINGS, lookup)
    assert validate_cap(document) == []
    root = ET.fromstring(document)
    polygons = text(root, "cap:info[1]/cap:area/cap:polygon")
    assert polygons
    for polygon in polygons:
        pairs = polygon.split()
        assert 4 <= len(pairs) <= 40
        assert pairs[0] == pairs[-1]
        lat, lon = map(float, pairs[0].split(","))
        assert -8 < lat < -5
        assert 112 < lon < 117


def test_a_detailed_outline_is_simplified_and_holes_dropped() -> None:
    ring = [(114 + 0.1 * (i % 2) * 0.01, -7 + i * 0.001) for i in range(500)]
    shape = shapely.Polygon(
        [(114.0, -7.0), *[(114.2 + x - 114, y) for x, y in ring], (114.0, -6.4)],
        holes=[[(114.05, -6.9), (114.06, -6.9), (114.06, -6.8), (114.05, -6.8)]],
    )
    (polygon,) = polygons_of(shape, max_points=30)
    pairs = polygon.split()
    assert len(pairs) <= 30
    assert pairs[0] == pairs[-1]


def test_position_in_degrees_and_minutes_both_languages() -> None:
    assert format_position(-7.04, 114.26) == "7°02.40'S 114°15.60'E"
    assert format_position(-7.04, 114.26, "id") == "7°02,40' LS 114°15,60' BT"
    assert format_position(-6.99999, 114.0) == "7°00.00'S 114°00.00'E"


def test_alert_without_position_still_names_an_area() -> None:
    alert = alert_of(
        AlertKind.STATION_DOWN, mmsi=None, lat_deg=None, lon_deg=None, zone=None
    )
    document = to_xml(message(alert), SETTINGS)
    assert validate_cap(document) == []
    root = ET.fromstring(document)
    assert text(root, "cap:info[2]/cap:area/cap:areaDesc") == [
        "Coverage of station SMP-KALIANGET"
    ]


def test_exercise_status_and_public_scope() -> None:
    settings = CapSettings(scope="Public", restriction="")
    alert = alert_of(AlertKind.BEACON_TEST)
    document = to_xml(message(alert, status="Exercise"), settings)
    assert validate_cap(document) == []
    root = ET.fromstring(document)
    assert text(root, "cap:status") == ["Exercise"]
    assert root.find("cap:restriction", NS) is None


def test_json_form_repeats_the_cap_header_and_the_alert() -> None:
    alert = alert_of(AlertKind.COLLISION_RISK, detail={"cpa_nm": 0.2})
    document = json.loads(to_json(message(alert), SETTINGS))
    assert document["msgType"] == "Alert"
    assert document["severity"] == "Severe"
    assert document["sent"] == "2026-06-17T07:36:00+07:00"
    assert document["alert"]["detail"] == {"cpa_nm": 0.2}
    assert document["alert"]["callsign"] == "YBAB"
    assert document["headline"]["id-ID"] != document["headline"]["en-US"]


# --- the rules catch what they are for -------------------------------------


def good() -> str:
    return to_xml(message(alert_of(AlertKind.SART_ACTIVE)), SETTINGS).decode()


def broken(old: str, new: str, count: int = 1) -> str:
    document = good()
    assert old in document, old
    return document.replace(old, new, count)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("+07:00</sent>", "Z</sent>", "not a CAP DateTime"),
        ("07:36:00+07:00</sent>", "07:36:00.5+07:00</sent>", "not a CAP DateTime"),
        ("07:36:00+07:00</sent>", "07:36:00</sent>", "not a CAP DateTime"),
        ("<status>Actual", "<status>Real", "not one of"),
        ("<msgType>Alert", "<msgType>Notice", "not one of"),
        ("<category>Rescue", "<category>Maritime", "not one of"),
        ("<urgency>Immediate", "<urgency>Now", "not one of"),
        ("<certainty>Observed", "<certainty>Very Likely", "not one of"),
        (
            "<identifier>2.49",
            "<identifier>a b 2.49",
            "holds a space, comma",
        ),
        ("<sender>pantaulaut@", "<sender>x,pantaulaut@", "holds a space, comma"),
        ("-7.04000,114.26000 1</circle>", "-7.04000 114.26000</circle>", "lat,lon"),
        ("-7.04000,114.26000 1</circle>", "-97.0,114.26 1</circle>", "off the globe"),
        ("<language>id-ID", "<language>id_ID", "RFC 3066"),
        ("<web>http://", "<web>//", "absolute URI"),
    ],
)
def test_the_rules_catch_a_broken_field(old: str, new: str, expected: str) -> None:
    problems = validate_cap(broken(old, new))
    assert any(expected in p for p in problems), problems


def test_the_rules_catch_missing_and_misplaced_elements() -> None:
    document = good()
    missing = re.sub(r"\s*<sender>[^<]*</sender>", "", document)
    assert "alert: required element sender is missing" in validate_cap(missing)
    swapped = re.sub(
        r"(<status>[^<]*</status>)(\s*)(<msgType>[^<]*</msgType>)",
        r"\3\2\1",
        document,
    )
    assert any("out of order" in p for p in validate_cap(swapped))
    no_event = re.sub(r"\s*<event>[^<]*</event>", "", document, count=1)
    assert any("required element event" in p for p in validate_cap(no_event))
    twice = document.replace("</scope>", "</scope><scope>Public</scope>")
    assert any("scope appears 2 times" in p for p in validate_cap(twice))
    stranger = document.replace("</scope>", "</scope><colour>red</colour>")
    assert any("unexpected element" in p for p in validate_cap(stranger))


def test_the_rules_on_scope_references_and_areas() -> None:
    document = good()
    no_restriction = re.sub(r"\s*<restriction>[^<]*</restriction>", "", document)
    assert "alert: scope Restricted needs a restriction" in validate_cap(no_restriction)
    update = document.replace("<msgType>Alert", "<msgType>Update")
    assert any("must reference" in p for p in validate_cap(update))
    bad_refs = update.replace(
        "<incidents>",
        "<references>sender,id,2026-06-17T07:00:00Z</references><incidents>",
    )
    assert any("not a CAP DateTime" in p for p in validate_cap(bad_refs))
    short_refs = update.replace(
        "<incidents>", "<references>sender,id</references><incidents>"
    )
    assert any("sender,identifier,sent" in p for p in validate_cap(short_refs))
    open_ring = document.replace(
        "<circle>",
        "<polygon>-7.0,114.0 -7.0,114.1 -7.1,114.1 -7.1,114.0</polygon><circle>",
        1,
    )
    assert any("not closed" in p for p in validate_cap(open_ring))
    three = document.replace(
        "<circle>", "<polygon>-7.0,114.0 -7.0,114.1 -7.0,114.0</polygon><circle>", 1
    )
    assert any("at least 4 pairs" in p for p in validate_cap(three))
    ceiling = document.replace("</circle>", "</circle><ceiling>100</ceiling>", 1)
    assert any("ceiling is used without altitude" in p for p in validate_cap(ceiling))
    wrong_ns = document.replace(CAP_NS, "urn:oasis:names:tc:emergency:cap:1.1")
    assert any("not alert in" in p for p in validate_cap(wrong_ns))
    assert validate_cap("<alert") == [
        "not well-formed XML: unclosed token: line 1, column 0"
    ]


@pytest.mark.parametrize(
    ("action", "english", "indonesian"),
    [
        ("assigned", "assigned to a desk officer", "diserahkan kepada petugas"),
        ("commented", "annotated by the desk", "diberi catatan operator"),
    ],
)
def test_desk_acts_read_as_words_in_both_languages(
    action: str, english: str, indonesian: str
) -> None:
    alert = alert_of(AlertKind.SART_ACTIVE)
    first = message(alert)
    update = message(
        alert,
        "Update",
        identifier=message_identifier(SETTINGS.identifier_prefix, alert.id, 2),
        seq=2,
        references=(first.reference,),
        action=action,
        note="operator1: note",
    )
    root = ET.fromstring(to_xml(update, SETTINGS))
    descriptions = " ".join(text(root, "cap:info/cap:description"))
    assert english in descriptions
    assert indonesian in descriptions


def test_the_indonesian_block_says_the_summary_in_indonesian() -> None:
    # Regression: the id-ID description carried the detector's English line.
    alert = alert_of(
        AlertKind.AIS_GAP,
        summary="525000001 silent for 12.0 min at sea (expected a report every 10 s)",
        detail={"silent_s": 720, "expected_s": 10, "coverage": "confirmed"},
    )
    root = ET.fromstring(to_xml(message(alert), SETTINGS))
    indonesian, english = text(root, "cap:info/cap:description")
    assert "Ringkasan: KM BAHARI TEST (MMSI 525000001) tidak terdengar 12.0 menit" in (
        indonesian
    )
    assert "silent for" not in indonesian
    assert alert.summary in english
