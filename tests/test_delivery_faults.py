"""Delivery survives every failure on the way: each test ends with every alert
received exactly once, after the receiver drops repeats.

The receiver is ``tests/receiver.py`` (signature, replay window and
de-duplication checked as a 112 system should). Faults: the receiver down
for a while, answering 500, answering past the timeout; the delivering
process killed with SIGKILL and started again; the MQTT broker restarted
(a Mosquitto of the test's own, on a free loopback port, with persistence,
so that the system broker other tests use is left alone).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from conftest import DESK_PASSWORD, DESK_USER, add_desk_user_to_file
from pyais.encode import encode_dict
from receiver import Receiver

from pantaulaut.alerts.book import AlertChange
from pantaulaut.alerts.cap import CAP_NS, validate_cap
from pantaulaut.alerts.delivery import (
    DeliveryConfig,
    MqttDeliveryConfig,
    WebhookConfig,
)
from pantaulaut.alerts.outbox import DeliveryService, build_service
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.model import Alert, AlertKind, AlertState, Severity
from pantaulaut.store.base import DeliveryState
from pantaulaut.store.sqlite import SqliteStore

pytestmark = pytest.mark.network

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
NS = {"cap": CAP_NS}
KINDS = [
    AlertKind.SART_ACTIVE,
    AlertKind.MOB_ACTIVE,
    AlertKind.COLLISION_RISK,
    AlertKind.DRIFTING,
    AlertKind.ZONE_ENTRY,
    AlertKind.STATION_DOWN,
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_config(url: str, **changes: object) -> DeliveryConfig:
    webhook: dict[str, object] = {
        "url": url,
        "secret": SECRET,
        "timeout_s": 0.5,
        "connect_timeout_s": 0.5,
        "backoff_base_s": 0.1,
        "backoff_max_s": 0.4,
        "max_attempts": 200,
    }
    webhook.update(changes)
    return DeliveryConfig(
        sender="pantaulaut@112.example",
        identifier_prefix="pl",
        lease_s=2.0,
        poll_interval_s=0.05,
        webhook=WebhookConfig(**webhook),  # type: ignore[arg-type]
    )


def raise_alerts(service: DeliveryService, count: int) -> list[str]:
    """``count`` alerts of several kinds, each opened, updated and resolved."""
    ids = []
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        alert = Alert(
            id=f"alert-{n}",
            kind=kind,
            severity=[Severity.CRITICAL, Severity.HIGH, Severity.LOW][n % 3],
            time=T0 + timedelta(seconds=n),
            mmsi=525000000 + n,
            lat_deg=-7.04 + n * 0.001,
            lon_deg=114.26,
            station="SMP-KALIANGET",
            summary=f"test alert {n}",
            updated=T0 + timedelta(seconds=n),
        )
        service.sink(AlertChange(alert, new=True, action="opened"))
        alert.updated = alert.time + timedelta(minutes=1)
        service.sink(AlertChange(alert, new=False, action="escalated"))
        alert.state = AlertState.RESOLVED
        alert.updated = alert.time + timedelta(minutes=2)
        service.sink(AlertChange(alert, new=False, action="resolved"))
        ids.append(alert.id)
    return ids


def identifier(body: bytes) -> str:
    root = ET.fromstring(body)
    return root.findtext("cap:identifier", namespaces=NS) or ""


def assert_each_received_once(receiver: Receiver, store: SqliteStore) -> None:
    """Every message of the outbox arrived, once, intact, alerts in order."""
    rows = store.deliveries(limit=100_000)
    assert rows
    assert {r.state for r in rows} == {DeliveryState.DELIVERED}
    received = receiver.messages
    assert set(received) == {r.message_id for r in rows}
    for row in rows:
        got = received[row.message_id]
        assert got.body.decode() == row.body
        assert identifier(got.body) == row.message_id
        assert got.content_type.startswith("application/cap+xml")
        assert validate_cap(got.body) == []
    assert receiver.rejected == []
    # The messages of one alert arrived in their order.
    seqs: dict[str, list[int]] = {}
    by_id = {r.message_id: r for r in rows}
    for message_id in receiver.order:
        row = by_id[message_id]
        seqs.setdefault(row.alert_id, []).append(row.seq)
    for alert_id, order in seqs.items():
        assert order == sorted(order), alert_id


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    opened = SqliteStore(":memory:")
    yield opened
    opened.close()


def test_the_receiver_refuses_bad_signatures_and_replayed_timestamps() -> None:
    import urllib.error
    import urllib.request

    from pantaulaut.alerts.webhook import signature_headers

    body = b"<alert/>"
    with Receiver(SECRET) as receiver:

        def post(headers: dict[str, str]) -> int:
            request = urllib.request.Request(
                receiver.url, data=body, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return int(answer.status)
            except urllib.error.HTTPError as exc:
                return exc.code

        good = signature_headers(SECRET, "m1", body)
        assert post(good) == 204
        assert post(good) == 204  # a repeat is taken and dropped
        stale = signature_headers(SECRET, "m2", body, int(time.time()) - 301)
        assert post(stale) == 401
        forged = dict(good, **{"webhook-id": "m3"})
        assert post(forged) == 401
        assert list(receiver.messages) == ["m1"]
        assert receiver.duplicates == 1
        assert len(receiver.rejected) == 2


def test_receiver_down_for_the_first_seconds(store: SqliteStore) -> None:
    with Receiver(SECRET) as receiver:
        service = build_service(store, webhook_config(receiver.url))
        raise_alerts(service, 8)
        receiver.down_for(2.0)
        started = time.monotonic()
        left = asyncio.run(service.drain(30.0))
        took = time.monotonic() - started
        assert left == 0
        assert took >= 1.8
        assert_each_received_once(receiver, store)
        assert len(receiver.messages) == 24
    retried = [r for r in store.deliveries() if r.attempts > 1]
    assert retried  # the first attempts met a closed port


def test_receiver_answering_500(store: SqliteStore) -> None:
    with Receiver(SECRET) as receiver:
        service = build_service(store, webhook_config(receiver.url))
        raise_alerts(service, 6)
        receiver.fail(12, status=500)
        left = asyncio.run(service.drain(30.0))
        assert left == 0
        assert receiver.state.failed == 12
        assert_each_received_once(receiver, store)


def test_receiver_answering_503_with_retry_after(store: SqliteStore) -> None:
    with Receiver(SECRET) as receiver:
        # Retry-After is followed up to backoff_max_s, never beyond it.
        config = webhook_config(receiver.url, backoff_max_s=2.0)
        service = build_service(store, config)
        raise_alerts(service, 1)
        receiver.fail(1, status=503, retry_after="1")
        started = time.monotonic()
        assert asyncio.run(service.drain(30.0)) == 0
        # The receiver asked for a second; the backoff alone was shorter.
        assert time.monotonic() - started >= 0.9
        assert_each_received_once(receiver, store)


def test_receiver_answering_past_the_timeout(store: SqliteStore) -> None:
    with Receiver(SECRET) as receiver:
        service = build_service(store, webhook_config(receiver.url))
        raise_alerts(service, 6)
        # Kept by the receiver, answered after the sender gave up: sent again.
        receiver.slow(5, 1.2)
        left = asyncio.run(service.drain(30.0))
        assert left == 0
        assert receiver.duplicates >= 1
        assert_each_received_once(receiver, store)


def test_dead_letters_are_listed_and_sent_again_from_the_command_line(
    tmp_path: Path,
) -> None:
    db = tmp_path / "dead.db"
    url = f"sqlite:///{db}"
    with Receiver(SECRET) as receiver:
        config_file = write_config(tmp_path, receiver.url, max_attempts=2)
        store = SqliteStore(str(db))
        service = build_service(store, webhook_config(receiver.url, max_attempts=2))
        raise_alerts(service, 1)
        receiver.fail(100)
        assert asyncio.run(service.drain(10.0)) == 0  # nothing pending: all dead
        store.close()
        listing = cli("deliveries", "list", "--config", config_file, "--store", url)
        assert listing.returncode == 0
        dead = [line.split()[1] for line in listing.stdout.splitlines()]
        assert dead == [
            "webhook:pl.alert-0.1",
            "webhook:pl.alert-0.2",
            "webhook:pl.alert-0.3",
        ]
        assert "dead" in listing.stdout
        receiver.fail(0)
        again = cli(
            "deliveries", "retry", "--config", config_file, "--store", url, dead[0]
        )
        assert again.returncode == 0, again.stderr
        missing = cli("deliveries", "retry", "--store", url, "webhook:nothing")
        assert missing.returncode == 1
        assert "no dead letter webhook:nothing" in missing.stderr
        every = cli(
            "deliveries", "retry", "--config", config_file, "--store", url, "--all-dead"
        )
        assert every.returncode == 0
        run = cli("deliveries", "run", "--config", config_file, "--store", url)
        assert run.returncode == 0, run.stderr
        store = SqliteStore(str(db))
        try:
            assert_each_received_once(receiver, store)
        finally:
            store.close()


# --- the delivering process killed and started again ---------------------------


def tagged(sentence: str, when: datetime) -> str:
    body = f"s:SMP-KALIANGET,c:{int(when.timestamp())}"
    return f"\\{body}*{nmea_checksum(body):02X}\\{sentence}"


def beacon_recording(path: Path, beacons: int) -> Path:
    """Distress beacons (SART, MOB, EPIRB) east of Madura, a minute of them."""
    prefixes = (970, 972, 974)
    lines = []
    for step in range(3):
        when = T0 + timedelta(seconds=20 * step)
        for n in range(beacons):
            mmsi = prefixes[n % 3] * 1_000_000 + 1 + n
            data = {
                "type": 1,
                "mmsi": mmsi,
                "status": 14,
                "lat": -7.04 - 0.01 * n,
                "lon": 114.26 + 0.002 * step,
            }
            lines += [tagged(s, when) for s in encode_dict(data, "AI", "VDM", "A")]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def write_config(
    tmp_path: Path,
    url: str,
    *,
    max_attempts: int = 200,
    timeout_s: float = 2.0,
    lease_s: float = 4.5,
    concurrency: int = 1,
) -> Path:
    path = tmp_path / "pantaulaut.toml"
    path.write_text(
        f"""
[delivery]
sender = "pantaulaut@112.example"
identifier_prefix = "pl"
lease_s = {lease_s}
poll_interval_s = 0.05

[delivery.webhook]
url = "{url}"
secret = "{SECRET}"
timeout_s = {timeout_s}
connect_timeout_s = 1.0
backoff_base_s = 0.1
backoff_max_s = 0.5
max_attempts = {max_attempts}
concurrency = {concurrency}
""",
        encoding="utf-8",
    )
    return path


def pantaulaut(*args: object) -> list[str]:
    return [sys.executable, "-P", "-m", "pantaulaut", *map(str, args)]


def cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pantaulaut(*args), capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_delivering_process_killed_mid_delivery_and_started_again(
    tmp_path: Path,
) -> None:
    recording = beacon_recording(tmp_path / "beacons.nmea", beacons=9)
    db = tmp_path / "store.db"
    with Receiver(SECRET) as receiver:
        config = write_config(tmp_path, receiver.url)
        receiver.slow(10_000, 0.4)  # slow, but within the timeout: no retries
        process = subprocess.Popen(
            pantaulaut(
                "replay",
                recording,
                "--config",
                config,
                "--store",
                f"sqlite:///{db}",
                "--deliver",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert receiver.wait_for(3, timeout_s=60), process.stderr
            assert process.poll() is None, "finished before it could be killed"
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
            assert process.stdout is not None
            assert process.stderr is not None
            process.stdout.close()
            process.stderr.close()
        assert process.returncode == -signal.SIGKILL
        before = len(receiver.messages)
        store = SqliteStore(str(db))
        try:
            assert store.pending_deliveries() > 0  # it died with work left
        finally:
            store.close()

        receiver.slow(0, 0.0)
        again = cli(
            "deliveries",
            "run",
            "--config",
            config,
            "--store",
            f"sqlite:///{db}",
            "--time-limit",
            "60",
        )
        assert again.returncode == 0, again.stderr
        assert len(receiver.messages) > before
        store = SqliteStore(str(db))
        try:
            assert_each_received_once(receiver, store)
            alerts = store.alerts(states=list(AlertState), limit=1000)
            assert len(alerts) >= 9
            got = {
                ET.fromstring(r.body).findtext(
                    "cap:info/cap:parameter[cap:valueName='AlertId']/cap:value",
                    namespaces=NS,
                )
                for r in receiver.messages.values()
            }
            assert got == {a.id for a in alerts}
            assert {a.kind for a in alerts} >= {
                AlertKind.SART_ACTIVE,
                AlertKind.MOB_ACTIVE,
                AlertKind.EPIRB_ACTIVE,
            }
            # A replay delivers drills, not real distress.
            statuses = {
                ET.fromstring(r.body).findtext("cap:status", namespaces=NS)
                for r in receiver.messages.values()
            }
            assert statuses == {"Exercise"}
        finally:
            store.close()


def test_replay_delivers_only_when_asked_and_exits_when_the_outbox_is_empty(
    tmp_path: Path,
) -> None:
    recording = beacon_recording(tmp_path / "beacons.nmea", beacons=3)
    with Receiver(SECRET) as receiver:
        config = write_config(tmp_path, receiver.url, concurrency=4)
        quiet = cli("replay", recording, "--config", config)
        assert quiet.returncode == 0, quiet.stderr
        assert receiver.requests == 0
        loud = cli(
            "replay",
            recording,
            "--config",
            config,
            "--deliver",
            "--cap-status",
            "Actual",
        )
        assert loud.returncode == 0, loud.stderr
        assert len(receiver.messages) >= 3
        statuses = {
            ET.fromstring(r.body).findtext("cap:status", namespaces=NS)
            for r in receiver.messages.values()
        }
        assert statuses == {"Actual"}


def test_replay_reports_what_it_could_not_deliver(tmp_path: Path) -> None:
    recording = beacon_recording(tmp_path / "beacons.nmea", beacons=1)
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}/nobody")
    result = cli(
        "replay",
        recording,
        "--config",
        config,
        "--deliver",
        "--deliver-time-limit",
        "1",
    )
    assert result.returncode == 3
    assert "not yet delivered" in result.stderr


# --- MQTT: the broker restarted -------------------------------------------------


class Broker:
    """A Mosquitto of the test's own, on loopback, keeping sessions on disk."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        # Run as root, Mosquitto drops to its own user, which must reach and
        # write this folder: pytest's tmp_path (mode 0700) will not do.
        directory.chmod(0o777)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory}/\n",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # saves the sessions, as a restart would
            self.process.wait(10)
        self.process = None


@pytest.fixture
def broker() -> Iterator[Broker]:
    if not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")):
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto is not installed (scripts/services installs it)")
        pytest.skip("mosquitto is not installed")
    directory = Path(tempfile.mkdtemp(prefix="pantaulaut-broker-"))
    started = Broker(directory)
    started.start()
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(directory, ignore_errors=True)


async def subscriber(
    port: int, topic: str, got: dict[str, int], ready: asyncio.Event
) -> None:
    """A 112 system's persistent subscription: drops repeats by identifier."""
    while True:
        try:
            async with aiomqtt.Client(
                "127.0.0.1", port, identifier="receiver-112", clean_session=False
            ) as client:
                await client.subscribe(topic, qos=1)
                ready.set()
                async for message in client.messages:
                    assert isinstance(message.payload, bytes)
                    key = identifier(message.payload)
                    got[key] = got.get(key, 0) + 1
        except aiomqtt.MqttError:
            await asyncio.sleep(0.2)


def test_mqtt_delivery_through_a_broker_restart(
    broker: Broker, store: SqliteStore
) -> None:
    config = DeliveryConfig(
        sender="pantaulaut@112.example",
        identifier_prefix="pl",
        lease_s=3.0,
        poll_interval_s=0.05,
        mqtt=MqttDeliveryConfig(
            enabled=True,
            port=broker.port,
            topic_prefix="pl-test",
            client_id="pantaulaut-delivery-test",
            timeout_s=1.0,
            backoff_base_s=0.1,
            backoff_max_s=0.5,
            max_attempts=500,
        ),
    )
    got: dict[str, int] = {}

    async def scenario() -> int:
        ready = asyncio.Event()
        listening = asyncio.create_task(
            subscriber(broker.port, "pl-test/112/#", got, ready)
        )
        await asyncio.wait_for(ready.wait(), 10)
        service = build_service(store, config)
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop))
        first = raise_alerts(service, 4)
        await wait_until(lambda: len(got) >= 12, 15)
        # More alerts, and the broker goes away while they are being sent.
        for n in range(len(first)):
            service.sink(
                AlertChange(
                    Alert(
                        id=f"late-{n}",
                        kind=AlertKind.EPIRB_ACTIVE,
                        severity=Severity.CRITICAL,
                        time=T0,
                        lat_deg=-7.0,
                        lon_deg=114.3,
                    ),
                    new=True,
                    action="opened",
                )
            )
        await asyncio.to_thread(broker.stop)
        assert (broker.directory / "mosquitto.db").exists()  # sessions kept
        await asyncio.sleep(1.0)
        await asyncio.to_thread(broker.start)
        await wait_until(lambda: len(got) >= 16, 30)
        await wait_until(lambda: store.pending_deliveries() == 0, 10)
        stop.set()
        await running
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        return store.pending_deliveries()

    assert asyncio.run(asyncio.wait_for(scenario(), 90)) == 0
    rows = store.deliveries(limit=1000)
    assert {r.state for r in rows} == {DeliveryState.DELIVERED}
    assert set(got) == {r.message_id for r in rows}
    assert len(got) == 16
    assert any(r.attempts > 1 for r in rows)  # the restart was felt
    topics = {r.topic for r in rows if r.alert_id.startswith("late-")}
    assert topics == {"pl-test/112/cap/critical/epirb_active"}
    assert all(r.topic.startswith("pl-test/112/cap/") for r in rows)


async def wait_until(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_the_live_service_delivers_and_serves_the_feed(tmp_path: Path) -> None:
    import urllib.request

    from pantaulaut.config import Config, DashboardConfig, SourceConfig, StoreConfig
    from pantaulaut.service import Service

    recording = beacon_recording(tmp_path / "beacons.nmea", beacons=3)
    port = free_port()
    # The feed wants a log-in: a 112 poller sends an account's Basic credentials.
    add_desk_user_to_file(tmp_path / "live.db", role="viewer")
    credentials = base64.b64encode(f"{DESK_USER}:{DESK_PASSWORD}".encode()).decode()
    with Receiver(SECRET) as receiver:
        config = Config(
            store=StoreConfig(url=f"sqlite:///{tmp_path / 'live.db'}"),
            dashboard=DashboardConfig(port=port),
            sources=(SourceConfig(name="file", kind="file", path=str(recording)),),
            delivery=webhook_config(receiver.url),
        )
        service = Service(config)

        async def scenario() -> bytes:
            stop = asyncio.Event()
            task = asyncio.create_task(service.run(stop))
            for _ in range(200):
                if len(receiver.messages) >= 3:
                    break
                await asyncio.sleep(0.05)
            feed_request = urllib.request.Request(
                f"http://127.0.0.1:{port}/feeds/alerts.atom",
                headers={"Authorization": f"Basic {credentials}"},
            )
            for _ in range(100):
                body = await asyncio.to_thread(
                    lambda: urllib.request.urlopen(feed_request, timeout=5).read()
                )
                if body.count(b"<entry>") >= 3:
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await task
            return bytes(body)

        feed = asyncio.run(scenario())
        assert len(receiver.messages) >= 3
        root = ET.fromstring(feed)
        atom = "{http://www.w3.org/2005/Atom}"
        entries = root.findall(f"{atom}entry")
        assert len(entries) >= 3
        pushed = set(receiver.messages)
        for entry in entries:
            cap = entry.find(f"{atom}content/{{{CAP_NS}}}alert")
            assert cap is not None
            assert validate_cap(ET.tostring(cap)) == []
            # The feed and the pushes name the same messages.
            assert cap.findtext(f"{{{CAP_NS}}}identifier") in pushed
