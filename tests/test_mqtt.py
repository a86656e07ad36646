"""MQTT: stations publish NMEA to a real Mosquitto; vessels and alerts go back."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from pathlib import Path

import aiomqtt
import pytest
from pyais.encode import encode_dict

from pantaulaut.config import (
    Config,
    DashboardConfig,
    MqttConfig,
    SourceConfig,
    StoreConfig,
)
from pantaulaut.ingest.framing import frame_line
from pantaulaut.ingest.mqtt import lines_from_payload
from pantaulaut.service import Service

pytestmark = pytest.mark.network

BROKER = os.environ.get("PANTAULAUT_TEST_MQTT", "127.0.0.1:1883")
HOST, PORT = BROKER.rsplit(":", 1)[0], int(BROKER.rsplit(":", 1)[1])


def broker_up() -> bool:
    try:
        socket.create_connection((HOST, PORT), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def broker() -> None:
    if broker_up():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"no MQTT broker on {BROKER} (scripts/services starts Mosquitto)")
    pytest.skip(f"no MQTT broker on {BROKER}")


def sentence(data: dict[str, object]) -> str:
    return str(encode_dict(data, "AI", "VDM", "A")[0])


def test_raw_payload_may_hold_several_lines() -> None:
    a = sentence({"type": 1, "mmsi": 525000001, "lat": -7.0, "lon": 114.0})
    b = sentence({"type": 1, "mmsi": 525000002, "lat": -7.0, "lon": 114.0})
    lines, received = lines_from_payload(f"{a}\r\n{b}".encode())
    assert (lines, received) == ([a, b], None)


def test_aiscatcher_json_gives_sentences_station_and_time() -> None:
    a = sentence({"type": 1, "mmsi": 525000001, "lat": -7.0, "lon": 114.0})
    document = {"class": "AIS", "nmea": [a], "rxuxtime": 1781654400, "station": 7}
    lines, received = lines_from_payload(json.dumps(document).encode())
    (line,) = lines
    (framed,) = frame_line(line).sentences
    assert (framed.station, framed.raw.endswith(a)) == ("7", True)
    assert received is not None
    assert received.timestamp() == 1781654400


def test_broken_json_is_handed_on_to_be_counted() -> None:
    lines, _ = lines_from_payload(b"{not json")
    assert lines == ["{not json"]


def config(tmp_path: Path, prefix: str, **mqtt: object) -> Config:
    source = SourceConfig(
        name="broker", kind="mqtt", host=HOST, port=PORT, topics=(f"{prefix}/in/#",)
    )
    return Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'm.db'}"),
        dashboard=DashboardConfig(enabled=False),
        mqtt=MqttConfig(enabled=True, host=HOST, port=PORT, topic_prefix=prefix),
        sources=(source,),
    )


@pytest.mark.usefixtures("broker")
def test_station_feed_over_mqtt_and_alerts_published_back(tmp_path: Path) -> None:
    prefix = f"pantaulaut-test/{uuid.uuid4().hex}"
    ferry = sentence({"type": 1, "mmsi": 525000001, "lat": -7.1, "lon": 114.0})
    sart = sentence(
        {"type": 1, "mmsi": 970000001, "status": 14, "lat": -7.02, "lon": 114.2}
    )
    catcher = json.dumps({"class": "AIS", "nmea": [sart], "station": "SMP-RAAS"})

    async def scenario() -> tuple[Service, dict[str, object]]:
        service = Service(config(tmp_path, prefix))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        async with aiomqtt.Client(HOST, PORT) as listener:
            await listener.subscribe(f"{prefix}/alerts/#", qos=1)
            await asyncio.sleep(1.0)  # the service subscribes meanwhile
            async with aiomqtt.Client(HOST, PORT) as station:
                await station.publish(f"{prefix}/in/raw", ferry.encode(), qos=1)
                await station.publish(f"{prefix}/in/json", catcher.encode(), qos=1)
            async with asyncio.timeout(15):
                message = await anext(aiter(listener.messages))
        stop.set()
        await task
        assert message.topic.value == f"{prefix}/alerts/critical/sart_active"
        assert isinstance(message.payload, bytes)
        return service, json.loads(message.payload)

    service, alert = asyncio.run(scenario())
    assert alert["kind"] == "sart_active"
    assert alert["mmsi"] == 970000001
    assert alert["station"] == "SMP-RAAS"
    assert alert["new"] is True
    assert service.pipeline.stream.messages == 2


@pytest.mark.usefixtures("broker")
def test_vessel_reports_are_published_retained(tmp_path: Path) -> None:
    prefix = f"pantaulaut-test/{uuid.uuid4().hex}"
    ferry = sentence({"type": 1, "mmsi": 525000003, "lat": -7.1, "lon": 114.0})

    async def scenario() -> dict[str, object]:
        service = Service(config(tmp_path, prefix))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.sleep(1.0)
        async with aiomqtt.Client(HOST, PORT) as station:
            await station.publish(f"{prefix}/in/raw", ferry.encode(), qos=1)
        await asyncio.sleep(1.0)
        stop.set()
        await task
        # Joining late still gives the vessel's state: it was retained.
        async with aiomqtt.Client(HOST, PORT) as late:
            await late.subscribe(f"{prefix}/vessels/#", qos=0)
            async with asyncio.timeout(10):
                message = await anext(aiter(late.messages))
            await late.publish(message.topic.value, b"", retain=True)  # tidy up
        assert isinstance(message.payload, bytes)
        return dict(json.loads(message.payload))

    vessel = asyncio.run(scenario())
    assert vessel["mmsi"] == 525000003
    assert vessel["lat_deg"] == pytest.approx(-7.1)


def test_an_unreachable_broker_is_retried_without_stopping_the_service(
    tmp_path: Path,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = int(sock.getsockname()[1])
    source = SourceConfig(
        name="gone", kind="mqtt", port=dead, topics=("x/#",), reconnect_max_s=0.5
    )
    service = Service(
        Config(
            store=StoreConfig(url=f"sqlite:///{tmp_path / 'd.db'}"),
            dashboard=DashboardConfig(enabled=False),
            sources=(source,),
        )
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.sleep(2.0)
        assert not task.done()
        stop.set()
        await task

    asyncio.run(scenario())
