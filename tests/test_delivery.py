"""Delivery to 112: which changes become which messages, signatures, retries, feed.

The fault tests with a real receiver, a killed process and a restarted
broker are in ``test_delivery_faults.py``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask
import httpx
import pytest

from pantaulaut.alerts.book import AlertChange
from pantaulaut.alerts.cap import CAP_NS, CapSettings, validate_cap
from pantaulaut.alerts.delivery import (
    DeliveryConfig,
    DeliverySink,
    Destination,
    WebhookConfig,
    current_message,
    parse_delivery,
)
from pantaulaut.alerts.feed import ATOM_NS, FEED_PATH, register_feed
from pantaulaut.alerts.outbox import (
    DeliveryService,
    DestinationWorker,
    RetryPolicy,
)
from pantaulaut.alerts.webhook import (
    WebhookSender,
    new_secret,
    sign,
    signature_headers,
    verify,
)
from pantaulaut.config import load_config
from pantaulaut.errors import ConfigError, DeliveryError, StoreError
from pantaulaut.model import Alert, AlertKind, AlertState, Severity, Vessel
from pantaulaut.store.base import Delivery, DeliveryState, Outbox
from pantaulaut.store.sqlite import SqliteStore

T0 = datetime(2026, 6, 17, 0, 35, tzinfo=UTC)
CAP = CapSettings(sender="pantaulaut@112.example", identifier_prefix="pl")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    opened = SqliteStore(":memory:")
    yield opened
    opened.close()


def sart(alert_id: str = "a1", **changes: object) -> Alert:
    data: dict[str, object] = {
        "id": alert_id,
        "kind": AlertKind.SART_ACTIVE,
        "severity": Severity.CRITICAL,
        "time": T0,
        "mmsi": 970012345,
        "lat_deg": -7.04,
        "lon_deg": 114.26,
        "station": "SMP-KALIANGET",
        "summary": "AIS-SART 970012345 is transmitting: distress",
        "updated": T0,
    }
    data.update(changes)
    return Alert(**data)  # type: ignore[arg-type]


def sink_for(outbox: Outbox, *destinations: Destination) -> DeliverySink:
    return DeliverySink(
        outbox,
        destinations or [Destination("webhook", "cap")],
        CAP,
        update_interval_s=300,
        update_move_nm=0.1,
        vessel_lookup=lambda mmsi: Vessel(mmsi, callsign="PLTEST", name="SART"),
    )


def change(alert: Alert, action: str, new: bool = False) -> AlertChange:
    return AlertChange(alert, new=new, action=action)


# --- which changes become which messages ------------------------------------


def test_an_alert_its_updates_and_its_cancel_form_one_chain(
    store: SqliteStore,
) -> None:
    sink = sink_for(store)
    alert = sart()
    sink(change(alert, "opened", new=True))
    alert.severity = Severity.CRITICAL
    alert.history.append({"action": "acknowledged", "actor": "op1", "note": "seen"})
    alert.updated = T0 + timedelta(minutes=1)
    sink(change(alert, "acknowledged"))
    alert.state = AlertState.RESOLVED
    alert.updated = T0 + timedelta(minutes=9)
    sink(change(alert, "resolved"))
    sink(change(alert, "updated"))  # nothing after a Cancel
    rows = store.deliveries()
    assert [(r.seq, r.msg_type) for r in rows] == [
        (1, "Alert"),
        (2, "Update"),
        (3, "Cancel"),
    ]
    assert [r.message_id for r in rows] == ["pl.a1.1", "pl.a1.2", "pl.a1.3"]
    assert rows[0].reference == (
        "pantaulaut@112.example,pl.a1.1,2026-06-17T07:35:00+07:00"
    )
    for item in rows:
        assert validate_cap(item.body) == []
        assert item.priority == 0
        assert item.content_type == "application/cap+xml"
    cancel = ET.fromstring(rows[2].body)
    refs = cancel.findtext(f"{{{CAP_NS}}}references")
    assert refs == f"{rows[0].reference} {rows[1].reference}"
    update = ET.fromstring(rows[1].body)
    assert "op1: seen" in (update.findtext(f"{{{CAP_NS}}}note") or "")
    assert "PLTEST" in rows[0].body
    assert sink.enqueued == 3


def test_new_reports_give_an_update_only_when_due_and_moved(
    store: SqliteStore,
) -> None:
    sink = sink_for(store)
    alert = sart()
    sink(change(alert, "opened", new=True))
    alert.updated = T0 + timedelta(minutes=2)
    alert.lat_deg = -7.10
    sink(change(alert, "updated"))  # too soon
    alert.updated = T0 + timedelta(minutes=6)
    sink(change(alert, "updated"))  # due, and it moved from the first message
    alert.updated = T0 + timedelta(minutes=12)
    sink(change(alert, "updated"))  # due, but it has not moved since
    alert.updated = T0 + timedelta(minutes=13)
    sink(change(alert, "escalated"))  # lifecycle changes always count
    assert [r.msg_type for r in store.deliveries()] == ["Alert", "Update", "Update"]


def test_what_112_never_heard_of_starts_a_chain_and_is_not_cancelled(
    store: SqliteStore,
) -> None:
    sink = sink_for(store)
    sink(change(sart("seen-late"), "updated"))
    sink(change(sart("gone", state=AlertState.RESOLVED), "resolved"))
    assert [(r.alert_id, r.msg_type) for r in store.deliveries()] == [
        ("seen-late", "Alert")
    ]


def test_a_restarted_sink_continues_the_chain_from_the_outbox(
    store: SqliteStore,
) -> None:
    alert = sart()
    sink_for(store)(change(alert, "opened", new=True))
    again = sink_for(store)
    alert.updated = T0 + timedelta(minutes=1)
    again(change(alert, "escalated"))
    first, second = store.deliveries()
    assert (second.seq, second.msg_type) == (2, "Update")
    root = ET.fromstring(second.body)
    assert root.findtext(f"{{{CAP_NS}}}references") == first.reference


def test_one_row_per_destination_in_its_format_and_topic(store: SqliteStore) -> None:
    sink = sink_for(
        store,
        Destination("webhook", "json"),
        Destination("mqtt", "cap", "pantaulaut"),
    )
    sink(change(sart(), "opened", new=True))
    webhook, mqtt = sorted(store.deliveries(), key=lambda r: r.destination)[::-1]
    assert webhook.id == "webhook:pl.a1.1"
    assert json.loads(webhook.body)["identifier"] == "pl.a1.1"
    assert webhook.content_type == "application/json"
    assert mqtt.topic == "pantaulaut/112/cap/critical/sart_active"
    assert validate_cap(mqtt.body) == []
    assert webhook.message_id == mqtt.message_id


class FlakyOutbox:
    """Refuses the first enqueue; good enough for the sink."""

    def __init__(self, inner: SqliteStore) -> None:
        self.inner = inner
        self.refuse = 1

    def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        if self.refuse:
            self.refuse -= 1
            raise StoreError("disk full")
        return self.inner.enqueue_deliveries(deliveries)

    def deliveries(self, **kwargs: object) -> list[Delivery]:
        return self.inner.deliveries(**kwargs)  # type: ignore[arg-type]


def test_messages_the_store_refused_are_stored_with_the_next_change(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = FlakyOutbox(store)
    sink = sink_for(flaky)  # type: ignore[arg-type]
    sink(change(sart("a1"), "opened", new=True))
    assert store.deliveries() == []
    assert "not yet stored" in caplog.text
    sink(change(sart("a2"), "opened", new=True))
    assert [r.alert_id for r in store.deliveries()] == ["a1", "a2"]


def test_the_feed_message_follows_the_latest_pushed_message(
    store: SqliteStore,
) -> None:
    alert = sart()
    assert current_message(alert, CAP, store).identifier == "pl.a1.1"
    sink = sink_for(store)
    sink(change(alert, "opened", new=True))
    alert.updated = T0 + timedelta(minutes=1)
    sink(change(alert, "escalated"))
    now = current_message(alert, CAP, store)
    assert (now.identifier, now.msg_type, now.seq) == ("pl.a1.2", "Update", 2)
    assert len(now.references) == 1


# --- configuration ------------------------------------------------------------


def test_delivery_configuration_from_toml_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[delivery]\nstatus = 'Exercise'\n"
        "[delivery.webhook]\nurl = 'https://112.example/cap'\n"
        f"secret = '{SECRET}'\nformat = 'json'\ntimeout_s = 3\n"
        "[delivery.mqtt]\nenabled = true\nport = 1884\n",
        encoding="utf-8",
    )
    config = load_config(
        path, environ={"PANTAULAUT_DELIVERY__MQTT__TOPIC_PREFIX": "sumenep"}
    ).delivery
    assert config.status == "Exercise"
    assert config.webhook.format == "json"
    assert config.webhook.timeout_s == 3.0
    assert config.mqtt.port == 1884
    assert config.mqtt.topic_prefix == "sumenep"
    assert config.active
    assert config.cap_settings("Test").status == "Test"
    assert not load_config(None, environ={}).delivery.active


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"webhook": {"url": "https://x.example/"}}, "delivery.webhook.secret"),
        (
            {"webhook": {"url": "https://x.example/", "secret": "whsec_c2hvcnQ="}},
            "delivery.webhook.secret",
        ),
        (
            {"webhook": {"url": "ftp://x.example/", "secret": SECRET}},
            "delivery.webhook.url",
        ),
        ({"webhook": {"format": "xml"}}, "delivery.webhook.format"),
        ({"webhook": {"colour": "red"}}, "delivery.webhook.colour"),
        ({"status": "Real"}, "delivery.status"),
        ({"sender": "a b"}, "delivery.sender"),
        ({"scope": "Private"}, "delivery.addresses"),
        ({"mqtt": {"topic_prefix": "a/#"}}, "delivery.mqtt.topic_prefix"),
        ({"mqtt": {"max_attempts": 0}}, "delivery.mqtt.max_attempts"),
        (
            {
                "lease_s": 5.0,
                "webhook": {"url": "http://127.0.0.1:1/", "secret": SECRET},
            },
            "delivery.lease_s",
        ),
    ],
)
def test_a_wrong_delivery_setting_is_named(values: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_delivery(values)
    assert caught.value.key == key
    assert "MfKQ9" not in str(caught.value)  # secrets never shown


# --- Standard Webhooks signatures ----------------------------------------------


def test_signature_matches_the_conventions_published_example() -> None:
    body = b'{"test": 2432232314}'
    assert sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_verify_accepts_good_requests_and_refuses_tampered_or_stale_ones() -> None:
    body = b"<alert/>"
    headers = signature_headers(SECRET, "pl.a1.1", body, timestamp=1_781_654_400)
    assert verify(SECRET, headers, body, now=1_781_654_410) == "pl.a1.1"
    rotated = dict(headers)
    rotated["webhook-signature"] = "v1,b2xk " + headers["webhook-signature"]
    assert verify(SECRET, rotated, body, now=1_781_654_410) == "pl.a1.1"
    with pytest.raises(ValueError, match="no signature matches"):
        verify(SECRET, headers, b"<alert>x</alert>", now=1_781_654_410)
    with pytest.raises(ValueError, match="more than 300 s off"):
        verify(SECRET, headers, body, now=1_781_654_400 + 301)
    with pytest.raises(ValueError, match="no signature matches"):
        verify(new_secret(), headers, body, now=1_781_654_410)
    with pytest.raises(ValueError, match="missing header webhook-id"):
        verify(SECRET, {}, body)


def test_sender_posts_signed_cap_and_reports_failures() -> None:
    seen: list[httpx.Request] = []
    answers = iter(
        [httpx.Response(503, headers={"retry-after": "7"}), httpx.Response(204)]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    config = WebhookConfig(url="https://112.example/in", secret=SECRET)
    sender = WebhookSender(config, transport=httpx.MockTransport(handler))
    delivery = Delivery(
        id="webhook:pl.a1.1",
        message_id="pl.a1.1",
        destination="webhook",
        alert_id="a1",
        seq=1,
        body="<alert>ü</alert>",
        content_type="application/cap+xml",
        created=T0,
    )

    async def scenario() -> DeliveryError:
        with pytest.raises(DeliveryError) as caught:
            await sender.send(delivery)
        await sender.send(delivery)
        await sender.aclose()
        return caught.value

    error = asyncio.run(scenario())
    assert error.retry_after_s == 7.0
    assert "HTTP 503" in str(error)
    first, second = seen
    assert first.headers["content-type"] == "application/cap+xml; charset=utf-8"
    assert first.content == "<alert>ü</alert>".encode()
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "pl.a1.1"
    verify(SECRET, dict(second.headers), second.content)


# --- retries and dead letters ----------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_the_ceiling() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=2.0, max_s=60.0)
    rng = random.Random(7)
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (9, 60.0)]:
        delays = [policy.delay_s(attempts, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4  # it is jittered


class ScriptedSender:
    name = "webhook"
    timeout_s = 1.0

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[str] = []

    async def send(self, delivery: Delivery) -> None:
        self.sent.append(delivery.id)
        if self.failures:
            self.failures -= 1
            raise DeliveryError(self.name, "HTTP 500")

    async def aclose(self) -> None:
        pass


def test_a_message_failing_every_attempt_becomes_a_dead_letter(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    sink_for(store)(change(sart(), "opened", new=True))
    sender = ScriptedSender(failures=3)
    worker = DestinationWorker(
        store, sender, RetryPolicy(max_attempts=3, base_s=0.01, max_s=0.02)
    )

    async def scenario() -> None:
        for _ in range(50):
            await worker.run_once()
            if not store.pending_deliveries():
                return
            await asyncio.sleep(0.02)

    with caplog.at_level(logging.INFO, "pantaulaut.alerts.outbox"):
        asyncio.run(scenario())
    (dead,) = store.dead_letters()
    assert dead.attempts == 3
    assert dead.last_error == "webhook: HTTP 500"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "deliveries retry webhook:pl.a1.1" in warnings[0].getMessage()
    assert store.retry_dead_letter(dead.id, datetime.now(UTC))
    asyncio.run(worker.run_once())
    (delivered,) = store.deliveries(states=[DeliveryState.DELIVERED])
    assert delivered.attempts == 1
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert sum(m.startswith("delivered Alert pl.a1.1") for m in infos) == 0
    assert sender.sent == ["webhook:pl.a1.1"] * 4


def test_one_info_line_per_message_delivered(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    sink = sink_for(store)
    for n in range(3):
        sink(change(sart(f"a{n}"), "opened", new=True))
    config = DeliveryConfig(poll_interval_s=0.05)
    service = DeliveryService(store, config, [ScriptedSender(failures=1)], sink)
    with caplog.at_level(logging.INFO, "pantaulaut.alerts.outbox"):
        left = asyncio.run(service.drain(10.0))
    assert left == 0
    delivered = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("delivered Alert")
    ]
    assert len(delivered) == 3


# --- the Atom feed ------------------------------------------------------------------


def test_the_feed_lists_open_alerts_with_their_cap_messages(
    store: SqliteStore,
) -> None:
    from pantaulaut.store.base import Batch

    sink = sink_for(store)
    open_alert, closed = sart("open1"), sart("closed1", state=AlertState.RESOLVED)
    sink(change(open_alert, "opened", new=True))
    sink(change(replace(closed, state=AlertState.OPEN), "opened", new=True))
    sink(change(closed, "resolved"))
    store.write(Batch(alerts={a.id: a for a in (open_alert, closed)}))
    app = flask.Flask("test")
    register_feed(app, store, DeliveryConfig(sender=CAP.sender, identifier_prefix="pl"))
    client = app.test_client()

    response = client.get(FEED_PATH)
    assert response.status_code == 200
    assert response.content_type.startswith("application/atom+xml")
    feed = ET.fromstring(response.data)
    entries = feed.findall(f"{{{ATOM_NS}}}entry")
    assert len(entries) == 1
    cap = entries[0].find(f"{{{ATOM_NS}}}content/{{{CAP_NS}}}alert")
    assert cap is not None
    assert validate_cap(ET.tostring(cap)) == []
    assert cap.findtext(f"{{{CAP_NS}}}identifier") == "pl.open1.1"
    link = entries[0].find(f"{{{ATOM_NS}}}link[@rel='alternate']")
    assert link is not None
    assert link.get("href", "").endswith("/feeds/alerts/open1.xml")

    one = client.get("/feeds/alerts/open1.xml")
    assert one.status_code == 200
    assert validate_cap(one.data) == []
    gone = client.get("/feeds/alerts/closed1.xml")
    assert gone.status_code == 200
    assert b"<msgType>Cancel</msgType>" in gone.data
    assert client.get("/feeds/alerts/nothing.xml").status_code == 404


class BrokenSender(ScriptedSender):
    async def send(self, delivery: Delivery) -> None:
        self.sent.append(delivery.id)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("a bug in a sender")


def test_a_failing_sender_does_not_stop_delivery(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    sink = sink_for(store)
    sink(change(sart(), "opened", new=True))
    config = DeliveryConfig(poll_interval_s=0.05)
    sender = BrokenSender(failures=1)
    service = DeliveryService(store, config, [sender], sink)
    service.workers[0].retry = RetryPolicy(max_attempts=5, base_s=0.01, max_s=0.02)
    assert asyncio.run(service.drain(10.0)) == 0
    (row,) = store.deliveries()
    assert (row.state, row.attempts) == (DeliveryState.DELIVERED, 2)
    assert "RuntimeError: a bug in a sender" in caplog.text


class BlindOutbox(FlakyOutbox):
    """Takes messages but cannot read them back (its server is away)."""

    def deliveries(self, **kwargs: object) -> list[Delivery]:
        raise StoreError("server away")


def test_a_chain_that_cannot_be_read_back_is_not_guessed(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    blind = BlindOutbox(store)
    blind.refuse = 0
    sink = sink_for(blind)  # type: ignore[arg-type]
    sink(change(sart("known"), "opened", new=True))
    sink(change(sart("known"), "escalated"))  # remembered: no need to read
    sink(change(sart("unknown"), "escalated"))  # would reuse an identifier
    assert [(r.alert_id, r.seq) for r in store.deliveries()] == [
        ("known", 1),
        ("known", 2),
    ]
    assert "cannot be read" in caplog.text
