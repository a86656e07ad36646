"""Operators' acts on live alerts: the bridge from the desk to the pipeline.

A real :class:`~pantaulaut.pipeline.Pipeline` runs on an asyncio loop in a
thread of its own, as in the service, writing through the service's
spooling store; the test's thread plays the dashboard. Also: the inbox's
pure parts (order, filters, the critical cue, the tone file), the station
health rules, the export form's checks, and the inbox's act callback
refusing a viewer on the server.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import inbox_act_request
from pyais.encode import encode_dict

from pantaulaut.alerts.book import AlertChange
from pantaulaut.config import Config
from pantaulaut.dashboard.i18n import catalogue
from pantaulaut.dashboard.pages.exports import ExportRequest, parse_request
from pantaulaut.dashboard.pages.inbox import (
    TONE_FILE,
    alert_tone_wav,
    critical_unacknowledged,
    filter_alerts,
)
from pantaulaut.dashboard.pages.stations import (
    RateMemory,
    decode_error_rate,
    station_health,
)
from pantaulaut.desk import DeskActions
from pantaulaut.errors import DeskActionError
from pantaulaut.geofence.zones import ZoneSet
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.model import Alert, AlertKind, AlertState, Severity, StationStats
from pantaulaut.pipeline import Pipeline
from pantaulaut.service import open_service_store
from pantaulaut.store.spool import SpoolingStore
from pantaulaut.store.sqlite import SqliteStore

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
SART_MMSI = 970_123_456
ASSETS = Path(__file__).resolve().parent.parent / "dashboard" / "assets"


def sart_lines(seconds: int = 0) -> list[str]:
    tag = f"s:SMP-T,c:{int((T0 + timedelta(seconds=seconds)).timestamp())}"
    prefix = f"\\{tag}*{nmea_checksum(tag):02X}\\"
    data = {"type": 1, "mmsi": SART_MMSI, "status": 14, "lat": -7.02, "lon": 114.2}
    return [prefix + s for s in encode_dict(data, talker_id="AI", sentence_type="VDM")]


@dataclass
class Live:
    """A pipeline on a running loop, its store, and what it emitted."""

    loop: asyncio.AbstractEventLoop
    pipeline: Pipeline
    store: SpoolingStore
    actions: DeskActions
    changes: list[AlertChange]
    alert_id: str

    def stored(self, state: AlertState) -> list[Alert]:
        return self.store.alerts(states=(state,))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-loop", daemon=True)
    thread.start()
    store = open_service_store(
        Config(), SqliteStore(str(tmp_path / "desk.db")), tmp_path
    )
    pipeline = Pipeline(store, ZoneSet([]))
    changes: list[AlertChange] = []
    pipeline.sinks.append(changes.append)

    async def feed() -> None:
        for line in sart_lines():
            pipeline.feed(line, "test", T0)
        pipeline.flush()

    asyncio.run_coroutine_threadsafe(feed(), loop).result(10)
    assert store.flush(10)
    (alert,) = store.alerts()
    try:
        yield Live(
            loop,
            pipeline,
            store,
            DeskActions(pipeline, loop, store, timeout_s=5.0),
            changes,
            alert.id,
        )
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        store.close()


def test_operator_acts_reach_the_store_with_actor_and_time_in_the_history(
    live: Live,
) -> None:
    acknowledged = live.actions.acknowledge(live.alert_id, "sari", "calling SAR")
    # The bridge returns once the change is written: the desk reads it now.
    assert acknowledged.stored
    (seen,) = live.stored(AlertState.ACKNOWLEDGED)
    assert seen.history[-1]["actor"] == "sari"
    assert seen.history[-1]["note"] == "calling SAR"

    live.actions.assign(live.alert_id, "sari", " budi ")
    live.actions.comment(live.alert_id, "budi", "KN SAR Kalianget under way")
    (seen,) = live.stored(AlertState.ACKNOWLEDGED)
    assert seen.detail["assignee"] == "budi"

    resolved = live.actions.resolve(live.alert_id, "budi", "crew rescued")
    assert resolved.alert.state is AlertState.RESOLVED
    assert live.stored(AlertState.ACKNOWLEDGED) == []
    (done,) = live.stored(AlertState.RESOLVED)
    trail = [(e["action"], e["actor"], e["note"]) for e in done.history]
    assert trail == [
        ("opened", "system", trail[0][2]),
        ("acknowledged", "sari", "calling SAR"),
        ("assigned", "sari", "budi"),
        ("commented", "budi", "KN SAR Kalianget under way"),
        ("resolved", "budi", "crew rescued"),
    ]
    # Each entry has its time, in UTC, on the pipeline's clock.
    times = [
        datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in done.history
    ]
    assert all(t.tzinfo is not None and t >= T0 for t in times)
    assert times == sorted(times)
    # Every act was emitted like any change: stored, published, sent to 112.
    actions = [c.action for c in live.changes if c.alert.id == live.alert_id]
    assert actions[-4:] == ["acknowledged", "assigned", "commented", "resolved"]


def test_acknowledging_twice_is_refused_as_not_allowed(live: Live) -> None:
    live.actions.acknowledge(live.alert_id, "sari")
    with pytest.raises(DeskActionError) as refused:
        live.actions.acknowledge(live.alert_id, "budi")
    assert refused.value.reason == "not_allowed"
    assert "acknowledged" in str(refused.value)
    (seen,) = live.stored(AlertState.ACKNOWLEDGED)
    assert [e["actor"] for e in seen.history] == ["system", "sari"]


def test_an_unknown_or_resolved_alert_is_refused_with_its_id(live: Live) -> None:
    with pytest.raises(DeskActionError) as refused:
        live.actions.acknowledge("no-such-alert", "sari")
    assert refused.value.reason == "unknown_alert"
    assert "no-such-alert" in str(refused.value)
    live.actions.resolve(live.alert_id, "sari")
    with pytest.raises(DeskActionError) as again:
        live.actions.comment(live.alert_id, "sari", "too late")
    assert again.value.reason == "unknown_alert"


@pytest.mark.parametrize(
    ("verb", "args", "reason"),
    [
        ("assign", ("sari", "  "), "empty_assignee"),
        ("comment", ("sari", ""), "empty_comment"),
        ("acknowledge", ("", ""), "empty_actor"),
    ],
)
def test_empty_names_and_texts_are_refused_before_reaching_the_pipeline(
    live: Live, verb: str, args: tuple[str, str], reason: str
) -> None:
    with pytest.raises(DeskActionError) as refused:
        getattr(live.actions, verb)(live.alert_id, *args)
    assert refused.value.reason == reason
    # The desk has a sentence for it in each language.
    assert f"inbox.refused_{reason}" in catalogue("id")
    (seen,) = live.stored(AlertState.OPEN)
    assert len(seen.history) == 1


def test_a_stopped_pipeline_loop_refuses_acts_as_unavailable(live: Live) -> None:
    live.loop.call_soon_threadsafe(live.loop.stop)
    for _ in range(100):
        if not live.loop.is_running():
            break
        threading.Event().wait(0.05)
    with pytest.raises(DeskActionError) as refused:
        live.actions.acknowledge(live.alert_id, "sari")
    assert refused.value.reason == "unavailable"


def test_a_pipeline_that_does_not_answer_in_time_is_refused_as_timeout(
    live: Live,
) -> None:
    slow = DeskActions(live.pipeline, live.loop, live.store, timeout_s=0.2)
    blocked = threading.Event()
    release = threading.Event()

    def hold_the_loop() -> None:
        blocked.set()
        release.wait(5)

    live.loop.call_soon_threadsafe(hold_the_loop)
    assert blocked.wait(5)
    try:
        with pytest.raises(DeskActionError) as refused:
            slow.acknowledge(live.alert_id, "sari")
    finally:
        release.set()
    assert refused.value.reason == "timeout"
    # The act given up on is not carried out later.
    threading.Event().wait(0.2)
    (seen,) = live.stored(AlertState.OPEN)
    assert len(seen.history) == 1


# --- the inbox's rules --------------------------------------------------------


def alert(
    ident: str,
    severity: Severity,
    minutes: int,
    *,
    state: AlertState = AlertState.OPEN,
    kind: AlertKind = AlertKind.SART_ACTIVE,
    zone: str | None = None,
) -> Alert:
    return Alert(
        id=ident,
        kind=kind,
        severity=severity,
        time=T0 + timedelta(minutes=minutes),
        state=state,
        zone=zone,
    )


def test_inbox_lists_most_severe_first_then_newest() -> None:
    alerts = [
        alert("low-new", Severity.LOW, 30),
        alert("crit-old", Severity.CRITICAL, 1),
        alert("crit-new", Severity.CRITICAL, 20),
        alert("high", Severity.HIGH, 40),
    ]
    order = [a.id for a in filter_alerts(alerts, states=())]
    assert order == ["crit-new", "crit-old", "high", "low-new"]


def test_inbox_filters_by_kind_zone_and_state() -> None:
    alerts = [
        alert("a", Severity.HIGH, 1, kind=AlertKind.AIS_GAP, zone="Kalianget"),
        alert("b", Severity.HIGH, 2, kind=AlertKind.AIS_GAP, zone="Sapeken"),
        alert("c", Severity.HIGH, 3, kind=AlertKind.DRIFTING, zone="Kalianget"),
        alert("d", Severity.HIGH, 4, state=AlertState.RESOLVED, zone="Kalianget"),
    ]
    assert [a.id for a in filter_alerts(alerts, kinds=["ais_gap"])] == ["b", "a"]
    assert [a.id for a in filter_alerts(alerts, zones=["Kalianget"])] == ["c", "a"]
    resolved = filter_alerts(alerts, states=["resolved"])
    assert [a.id for a in resolved] == ["d"]


def test_only_critical_alerts_nobody_has_acknowledged_give_the_cue() -> None:
    alerts = [
        alert("sart", Severity.CRITICAL, 1),
        alert("taken", Severity.CRITICAL, 2, state=AlertState.ACKNOWLEDGED),
        alert("gap", Severity.HIGH, 3),
    ]
    assert critical_unacknowledged(alerts) == ["sart"]


def test_the_alert_tone_in_assets_is_the_one_the_code_makes() -> None:
    data = (ASSETS / TONE_FILE).read_bytes()
    assert data == alert_tone_wav()
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WAVE"
    assert len(data) < 16_000


# --- station health -----------------------------------------------------------


def stats(name: str, last_s: float, messages: int = 6000) -> StationStats:
    return StationStats(
        station=name,
        lines=messages,
        messages=messages,
        rejected={"checksum_mismatch": 30, "blank_line": 500},
        vessel_count=42,
        first_seen=T0,
        last_seen=T0 + timedelta(seconds=last_s),
    )


def test_a_silent_station_is_down_and_listed_first() -> None:
    # 6000 messages over an hour: a gap of 0.6 s; silence limit 60 s.
    now = T0 + timedelta(hours=1, seconds=10)
    rows, reference, live = station_health(
        [stats("a-kalianget", 3600), stats("b-sapeken", 3600 - 300)], [], now=now
    )
    assert live
    assert reference == now
    assert [(r.station, r.down) for r in rows] == [
        ("b-sapeken", True),
        ("a-kalianget", False),
    ]
    assert rows[1].messages_per_min == pytest.approx(100.0)
    assert rows[0].limit_s == pytest.approx(60.0)
    assert rows[1].vessels == 42


def test_a_station_with_an_open_station_down_alert_stands_out() -> None:
    down = Alert(
        id="s",
        kind=AlertKind.STATION_DOWN,
        severity=Severity.HIGH,
        time=T0,
        station="z-raas",
    )
    rows, _, _ = station_health(
        [stats("a-kalianget", 3600), stats("z-raas", 3600)],
        [down],
        now=T0 + timedelta(hours=1),
    )
    assert [(r.station, r.down, r.alert_open) for r in rows] == [
        ("z-raas", True, True),
        ("a-kalianget", False, False),
    ]


def test_a_recording_played_back_is_judged_on_its_own_clock() -> None:
    rows, reference, live = station_health(
        [stats("a", 3600), stats("b", 3500)], [], now=T0 + timedelta(days=400)
    )
    assert not live
    assert reference == T0 + timedelta(seconds=3600)
    assert [(r.station, r.down) for r in rows] == [("b", True), ("a", False)]


def test_decode_error_rate_leaves_out_lines_that_are_no_radio_fault() -> None:
    assert decode_error_rate(stats("a", 10, messages=970)) == pytest.approx(0.03)


def test_messages_per_minute_follow_the_latest_readings() -> None:
    memory = RateMemory()
    first = stats("a", 3600, messages=6000)
    assert memory.rate_per_min(first) == pytest.approx(100.0)
    later = stats("a", 3660, messages=6030)
    assert memory.rate_per_min(later) == pytest.approx(30.0)


# --- the export form ----------------------------------------------------------


def test_the_export_period_is_read_in_wib_and_checked() -> None:
    request = parse_request(
        "tracks", "csv", "2026-06-17 07:00", "2026-06-17 09:30", "525000001"
    )
    assert request == ExportRequest(
        "tracks",
        "csv",
        T0,
        T0 + timedelta(hours=2, minutes=30),
        525_000_001,
    )
    assert parse_request("tracks", "csv", "17/06", "x", None) == "exports.error_period"
    assert (
        parse_request("vessels", "csv", "2026-06-17 09:00", "2026-06-17 08:00", "")
        == "exports.error_order"
    )
    assert (
        parse_request("vessels", "csv", "2026-06-17 07:00", "2026-06-17 08:00", "12")
        == "exports.error_mmsi"
    )
    assert parse_request("ships", "csv", None, None, None) == "exports.error_what"


# --- the act callback on the server ---------------------------------------------


@pytest.mark.parametrize(("role", "refused"), [("viewer", True), ("operator", False)])
def test_the_act_callback_checks_the_role_on_the_server(
    live: Live, role: str, refused: bool
) -> None:
    from conftest import add_desk_user, login_test_client

    from pantaulaut.dashboard.app import create_app
    from pantaulaut.dashboard.auth import install_auth
    from pantaulaut.dashboard.pages.inbox import PAGE

    config = Config()
    app = create_app(
        live.store, config, ZoneSet([]), desk_actions=live.actions, pages=[PAGE]
    )
    if "pantaulaut_login" not in app.server.view_functions:
        install_auth(app.server, live.store, config)
    add_desk_user(live.store, f"desk-{role}", role=role)
    client = app.server.test_client()
    login_test_client(client, f"desk-{role}")
    answer = client.post(
        "/_dash-update-component", json=inbox_act_request(live.alert_id)
    )
    states = [a.state for a in live.store.alerts(states=tuple(AlertState))]
    if refused:
        assert answer.status_code == 403, answer.get_data(as_text=True)
        assert states == [AlertState.OPEN]
    else:
        assert answer.status_code == 200, answer.get_data(as_text=True)
        body = json.loads(answer.get_data(as_text=True))
        assert "ok" in body["response"]["inbox-feedback"]["className"]
        assert states == [AlertState.ACKNOWLEDGED]
        (seen,) = live.stored(AlertState.ACKNOWLEDGED)
        assert seen.history[-1]["actor"] == "desk-operator"


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/inbox", {"id": "Kotak peringatan", "en": "Alert inbox"}),
        ("/stations", {"id": "Kesehatan stasiun", "en": "Station health"}),
        ("/exports?what=tracks&mmsi=525000001", {"id": "Lintasan", "en": "Tracks"}),
    ],
)
def test_each_page_is_built_in_both_languages(
    live: Live, path: str, expected: dict[str, str], language: str
) -> None:
    from conftest import add_desk_user, login_test_client, router_request

    from pantaulaut.dashboard.app import create_app
    from pantaulaut.dashboard.auth import install_auth
    from pantaulaut.dashboard.pages import discover

    config = Config()
    pages = [
        p for p in discover() if p.path in ("/", "/inbox", "/stations", "/exports")
    ]
    app = create_app(
        live.store, config, ZoneSet([]), desk_actions=live.actions, pages=pages
    )
    if "pantaulaut_login" not in app.server.view_functions:
        install_auth(app.server, live.store, config)
    add_desk_user(live.store, "desk-operator", role="operator")
    client = app.server.test_client()
    login_test_client(client, "desk-operator")
    client.set_cookie("lang", language)
    pathname, _, search = path.partition("?")
    answer = client.post(
        "/_dash-update-component", json=router_request(pathname, search)
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert expected[language] in answer.get_data(as_text=True)


def test_a_dashboard_without_a_pipeline_refuses_acts_and_says_why(
    live: Live,
) -> None:
    from conftest import add_desk_user, login_test_client

    from pantaulaut.dashboard.app import create_app
    from pantaulaut.dashboard.auth import install_auth
    from pantaulaut.dashboard.pages.inbox import PAGE

    config = Config()
    app = create_app(live.store, config, ZoneSet([]), desk_actions=None, pages=[PAGE])
    if "pantaulaut_login" not in app.server.view_functions:
        install_auth(app.server, live.store, config)
    add_desk_user(live.store, "desk-operator", role="operator")
    client = app.server.test_client()
    login_test_client(client, "desk-operator")
    client.set_cookie("lang", "en")
    answer = client.post(
        "/_dash-update-component", json=inbox_act_request(live.alert_id)
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    feedback = json.loads(answer.get_data(as_text=True))["response"]["inbox-feedback"]
    assert "error" in feedback["className"]
    assert "no pipeline runs in this process" in feedback["children"]
    (seen,) = live.stored(AlertState.OPEN)
    assert len(seen.history) == 1


def test_the_alert_book_records_assignments_and_comments_in_the_trail() -> None:
    from pantaulaut.alerts.book import AlertBook

    book = AlertBook()
    opened = book.raise_alert(AlertKind.SART_ACTIVE, T0, mmsi=SART_MMSI)
    assert opened is not None
    ident = opened.alert.id
    later = T0 + timedelta(minutes=2)
    assigned = book.assign(ident, later, "sari", "budi")
    assert (assigned.action, assigned.alert.detail["assignee"]) == ("assigned", "budi")
    remarked = book.comment(ident, later, "budi", "on the radio with the skipper")
    assert remarked.action == "commented"
    assert remarked.alert.state is AlertState.OPEN
    assert remarked.alert.history[-2:] == [
        {
            "time": "2026-06-17T00:02:00Z",
            "actor": "sari",
            "action": "assigned",
            "note": "budi",
        },
        {
            "time": "2026-06-17T00:02:00Z",
            "actor": "budi",
            "action": "commented",
            "note": "on the radio with the skipper",
        },
    ]
    with pytest.raises(ValueError, match="user's name"):
        book.assign(ident, later, "sari", " ")
    with pytest.raises(ValueError, match="text"):
        book.comment(ident, later, "sari", "")
    book.resolve(ident, later, "sari")
    with pytest.raises(KeyError):
        book.comment(ident, later, "sari", "after the end")


def test_the_cap_web_address_opens_the_alert_in_the_inbox(live: Live) -> None:
    # Regression: CAP messages sent 112 to <web_base_url>/alerts/<id>, which
    # the desk did not serve; a call-taker following it got "not found".
    from urllib.parse import urlsplit

    from conftest import add_desk_user, login_test_client, router_request

    from pantaulaut.alerts.cap import alert_url
    from pantaulaut.dashboard.app import create_app

    (sart,) = live.store.alerts()
    app = create_app(live.store, Config(), ZoneSet([]), desk_actions=live.actions)
    add_desk_user(live.store, "desk-viewer", role="viewer")
    client = app.server.test_client()
    path = urlsplit(alert_url("https://desk.sumenep.example", sart.id)).path
    assert client.get(path).status_code in (302, 401)  # the log-in comes first
    login_test_client(client, "desk-viewer")

    answer = client.get(path)
    assert answer.status_code == 302
    target = answer.headers["Location"]
    assert target == f"/inbox?alert={sart.id}"

    # The inbox opened at that address has the alert selected, and shows it.
    page = client.post(
        "/_dash-update-component", json=router_request("/inbox", f"alert={sart.id}")
    )
    assert page.status_code == 200
    assert f'"id":"inbox-selected","data":"{sart.id}"' in page.get_data(
        as_text=True
    ).replace(" ", "")


@pytest.mark.parametrize(
    ("assignee", "said"),
    [
        ("budi", "tidak ada pengguna meja bernama budi"),
        ("  ", "ketik nama pengguna petugas"),
    ],
)
def test_an_alert_is_assigned_only_to_a_desk_user(
    live: Live, assignee: str, said: str
) -> None:
    from conftest import add_desk_user, login_test_client

    from pantaulaut.dashboard.app import create_app
    from pantaulaut.dashboard.pages.inbox import PAGE

    app = create_app(
        live.store, Config(), ZoneSet([]), desk_actions=live.actions, pages=[PAGE]
    )
    add_desk_user(live.store, "desk-operator", role="operator")
    client = app.server.test_client()
    login_test_client(client, "desk-operator")
    payload = inbox_act_request(live.alert_id, "inbox-assign", assignee)
    answer = client.post("/_dash-update-component", json=payload)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    feedback = json.loads(answer.get_data(as_text=True))["response"]["inbox-feedback"]
    # In the desk's language, with no English detail mixed in.
    assert said in feedback["children"]
    assert "must not" not in feedback["children"]
    (seen,) = live.stored(AlertState.OPEN)
    assert "assignee" not in seen.detail

    # A desk user's name is taken, and the field is emptied for the next.
    payload = inbox_act_request(live.alert_id, "inbox-assign", "desk-operator")
    answer = client.post("/_dash-update-component", json=payload)
    body = json.loads(answer.get_data(as_text=True))["response"]
    assert "ok" in body["inbox-feedback"]["className"]
    assert body["inbox-assignee"]["value"] == ""
    (seen,) = live.stored(AlertState.OPEN)
    assert seen.detail["assignee"] == "desk-operator"


def test_the_systems_notes_in_the_audit_trail_read_in_the_desk_language() -> None:
    # Regression: the trail showed the detectors' English on the Indonesian
    # desk ("AIS-SART 970016231 is transmitting: distress").
    import flask

    from pantaulaut.dashboard.pages.inbox import audit_rows

    sart = Alert(
        id="a",
        kind=AlertKind.SART_ACTIVE,
        severity=Severity.CRITICAL,
        time=T0,
        mmsi=970_016_231,
        summary="AIS-SART 970016231 is transmitting: distress",
        history=[
            {
                "time": "2026-06-17T00:00:00Z",
                "actor": "system",
                "action": "opened",
                "note": "AIS-SART 970016231 is transmitting: distress",
            },
            {
                "time": "2026-06-17T00:05:00Z",
                "actor": "sari",
                "action": "commented",
                "note": "KN SAR dikirim",
            },
            {
                "time": "2026-06-17T00:09:00Z",
                "actor": "system",
                "action": "resolved",
                "note": "the beacon has stopped",
            },
        ],
    )
    with flask.Flask(__name__).test_request_context(headers={"Cookie": "lang=id"}):
        rows = audit_rows(sart)
    notes = [row.children[3] for row in rows]
    assert notes[0].children == "MMSI 970016231 memancar: marabahaya (AIS-SART)"
    assert notes[0].title == "AIS-SART 970016231 is transmitting: distress"
    assert notes[1].children == "KN SAR dikirim"  # people's words stay theirs
    assert notes[2].children == "kondisinya sudah berakhir"
    assert notes[2].title == "the beacon has stopped"
