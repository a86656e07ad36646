"""The live service consumes recordings over real TCP and UDP sockets."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import re
import socket
import urllib.request
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import add_desk_user_to_file, desk_opener
from pyais.encode import encode_dict

from pantaulaut.config import Config, DashboardConfig, SourceConfig, StoreConfig
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.service import Service
from pantaulaut.store.sqlite import SqliteStore

pytestmark = pytest.mark.network

START = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)


def _tagged(sentence: str, station: str, time: datetime) -> str:
    body = f"s:{station},c:{int(time.timestamp())}"
    return f"\\{body}*{nmea_checksum(body):02X}\\{sentence}"


def recording(vessels: int = 30, reports: int = 4) -> list[str]:
    """Class A and B traffic off Kalianget, made with pyais's encoder."""
    lines = []
    for step in range(reports):
        for n in range(vessels):
            mmsi = 525_000_100 + n
            data = {
                "type": 1 if n % 2 else 18,
                "mmsi": mmsi,
                "lat": -7.1 - 0.01 * n,
                "lon": 113.95 + 0.01 * n + 0.001 * step,
                "speed": 8.0,
                "course": 90.0,
                "heading": 90,
            }
            time = START + timedelta(seconds=10 * step)
            for sentence in encode_dict(data, "AI", "VDM", "A"):
                lines.append(_tagged(sentence, "SMP-TEST", time))
    return lines


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config_with(
    tmp_path: Path, *sources: SourceConfig, dashboard_port: int = 0
) -> Config:
    if dashboard_port:
        add_desk_user_to_file(tmp_path / "live.db")
    return Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'live.db'}"),
        dashboard=DashboardConfig(
            enabled=bool(dashboard_port), port=dashboard_port, refresh_s=1.0
        ),
        sources=sources,
    )


def dashboard_refresh(port: int) -> str:
    """What the page's refresh callback returns, fetched as the browser does."""
    base = f"http://127.0.0.1:{port}"
    opener = desk_opener(base)
    with opener.open(f"{base}/_dash-dependencies", timeout=10) as answer:
        callbacks = json.load(answer)
    # The map page's components as first served, for the callback's values.
    with opener.open(f"{base}/_dash-layout", timeout=10) as answer:
        components: dict[str, dict[str, Any]] = {}
        pending = [json.load(answer)]
    routed = urllib.request.Request(
        f"{base}/_dash-update-component",
        data=json.dumps(page_body(callbacks)).encode(),
        headers={"Content-Type": "application/json"},
    )
    with opener.open(routed, timeout=10) as answer:
        pending.append(json.load(answer))
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and isinstance(props.get("id"), str):
                components[props["id"]] = props
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)

    def initial(given: dict[str, str]) -> Any:
        return components.get(given["id"], {}).get(given["property"])

    # The map page's refresh: the one driven by its interval.
    (callback,) = [
        c for c in callbacks if {"id": "tick", "property": "n_intervals"} in c["inputs"]
    ]
    output = callback["output"]
    body = {
        "output": output,
        "outputs": [
            {"id": part.split(".")[0], "property": part.split(".")[1]}
            for part in output.strip(".").split("...")
        ],
        "inputs": [
            {**given, "value": 1 if given["id"] == "tick" else initial(given)}
            for given in callback["inputs"]
        ],
        "changedPropIds": ["tick.n_intervals"],
        "state": [{**given, "value": initial(given)} for given in callback["state"]],
    }
    request = urllib.request.Request(
        f"{base}/_dash-update-component",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with opener.open(request, timeout=10) as answer:
        return str(answer.read().decode())


def assert_map_shows_the_30_vessels(page: str) -> None:
    """All 30 in view are counted; those drawn at region zoom are theirs.

    At region zoom the map draws one vessel per few pixels (decluttering),
    so only the count holds every vessel.
    """
    counts = json.loads(page)["response"]["counts"]["children"]
    (shown,) = [
        c["props"]["children"] for c in counts if c["props"]["id"] == "count-vessels"
    ]
    assert shown.startswith("30 ")
    drawn = {int(m) for m in re.findall(r"MMSI (\d+)", page)}
    assert drawn
    assert drawn <= set(range(525_000_100, 525_000_130))


def page_body(callbacks: list[dict[str, Any]]) -> dict[str, Any]:
    """The request that routes the desk to its map page ("/")."""
    (router,) = [
        c for c in callbacks if {"id": "url", "property": "pathname"} in c["inputs"]
    ]
    output = router["output"]
    return {
        "output": output,
        "outputs": [
            {"id": part.split(".")[0], "property": part.split(".")[1]}
            for part in output.strip(".").split("...")
        ],
        "inputs": [
            {**given, "value": "/" if given["property"] == "pathname" else ""}
            for given in router["inputs"]
        ],
        "changedPropIds": ["url.pathname"],
        "state": [],
    }


async def run_until(
    service: Service, done: Callable[[], bool], timeout_s: float = 20.0
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not done() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    await task


@contextlib.asynccontextmanager
async def station_server(lines: list[str]) -> AsyncIterator[int]:
    """A coastal station: serves lines over TCP to whoever connects."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(("\r\n".join(lines) + "\r\n").encode())
        await writer.drain()
        await reader.read()  # keep the connection open until the client goes
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port


def test_run_consumes_a_station_feed_over_tcp(tmp_path: Path) -> None:
    lines = recording()

    web_port = free_port()

    async def scenario() -> tuple[Service, str]:
        async with station_server(lines) as port:
            source = SourceConfig(name="kalianget", kind="tcp-client", port=port)
            service = Service(config_with(tmp_path, source, dashboard_port=web_port))
            stop = asyncio.Event()
            task = asyncio.create_task(service.run(stop))
            for _ in range(200):
                if service.pipeline.stream.messages >= len(lines):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.5)  # one flush interval: the store has it
            page = await asyncio.to_thread(dashboard_refresh, web_port)
            stop.set()
            await task
            return service, page

    service, page = asyncio.run(scenario())
    assert_map_shows_the_30_vessels(page)
    store = SqliteStore(str(tmp_path / "live.db"))
    assert service.pipeline.stream.messages == len(lines)
    assert store.count("vessels") == 30
    assert store.count("positions") == 120
    assert {s.station for s in store.stations()} == {"SMP-TEST"}


def test_run_consumes_datagrams_with_several_sentences_each(tmp_path: Path) -> None:
    lines = recording()
    port = free_port(socket.SOCK_DGRAM)
    source = SourceConfig(name="udp", kind="udp", port=port, allow=("127.0.0.1",))

    web_port = free_port()

    async def scenario() -> tuple[Service, str]:
        service = Service(config_with(tmp_path, source, dashboard_port=web_port))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.sleep(0.3)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for start in range(0, len(lines), 4):
            # Four sentences per datagram, the way AIS-catcher batches them.
            datagram = "\n".join(lines[start : start + 4]).encode()
            sender.sendto(datagram, ("127.0.0.1", port))
            await asyncio.sleep(0.002)
        sender.close()
        for _ in range(100):
            if service.pipeline.stream.messages >= len(lines):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # one flush interval: the store has it
        page = await asyncio.to_thread(dashboard_refresh, web_port)
        stop.set()
        await task
        return service, page

    service, page = asyncio.run(scenario())
    assert service.pipeline.stream.messages == len(lines)
    assert SqliteStore(str(tmp_path / "live.db")).count("vessels") == 30
    assert_map_shows_the_30_vessels(page)


def test_tcp_listener_refuses_a_station_not_on_the_allow_list(tmp_path: Path) -> None:
    port = free_port()
    source = SourceConfig(
        name="listener", kind="tcp-server", port=port, allow=("192.0.2.7",)
    )
    forged = encode_dict(
        {"type": 1, "mmsi": 970_123_456, "status": 14, "lat": -7.0, "lon": 114.2},
        talker_id="AI",
    )[0]

    async def scenario() -> Service:
        service = Service(config_with(tmp_path, source))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.sleep(0.3)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write((forged + "\r\n").encode())
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await asyncio.sleep(0.3)
        stop.set()
        await task
        return service

    service = asyncio.run(scenario())
    assert service.pipeline.stream.messages == 0
    assert service.pipeline.alert_counts == {}
    assert service.pipeline.stream.rejected["sender_not_allowed"] == 1


def test_tcp_listener_accepts_allowed_station_and_closes_silent_ones(
    tmp_path: Path,
) -> None:
    port = free_port()
    lines = recording(vessels=5, reports=2)
    source = SourceConfig(
        name="listener",
        kind="tcp-server",
        port=port,
        allow=("127.0.0.1",),
        idle_timeout_s=0.5,
    )

    async def scenario() -> tuple[Service, bytes]:
        service = Service(config_with(tmp_path, source))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.sleep(0.3)
        silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", port)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(("\n".join(lines) + "\n").encode())
        await writer.drain()
        # The silent client is closed by the server after its idle timeout.
        closed = await asyncio.wait_for(silent_reader.read(), 5)
        silent_writer.close()
        writer.close()
        await asyncio.sleep(0.2)
        stop.set()
        await task
        return service, closed

    service, closed = asyncio.run(scenario())
    assert closed == b""
    assert service.pipeline.stream.messages == len(lines)


def test_file_source_plays_gzip_recordings(tmp_path: Path) -> None:
    lines = recording(vessels=10, reports=3)
    path = tmp_path / "feed.nmea.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    source = SourceConfig(name="file", kind="file", path=str(path))
    service = Service(config_with(tmp_path, source))
    asyncio.run(run_until(service, lambda: service.pipeline.stream.lines >= 30, 10))
    assert service.pipeline.stream.messages == 30


def test_a_station_that_is_down_at_start_is_waited_out(tmp_path: Path) -> None:
    lines = recording(vessels=5, reports=2)
    port = free_port()
    source = SourceConfig(
        name="late", kind="tcp-client", port=port, reconnect_max_s=1.0
    )

    async def scenario() -> Service:
        service = Service(config_with(tmp_path, source))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.sleep(2.5)  # the station is down: connects are refused

        async def serve(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(("\n".join(lines) + "\n").encode())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", port)
        async with server:
            for _ in range(100):
                if service.pipeline.stream.messages >= len(lines):
                    break
                await asyncio.sleep(0.1)
        stop.set()
        await task
        return service

    assert asyncio.run(scenario()).pipeline.stream.messages == len(lines)


def test_a_configured_station_names_lines_that_carry_none(tmp_path: Path) -> None:
    lines = [
        line.split("\\")[-1]  # the sentences without their tag blocks
        for line in recording(vessels=3, reports=1)
    ]
    port = free_port(socket.SOCK_DGRAM)
    source = SourceConfig(
        name="udp", kind="udp", port=port, allow=("127.0.0.1",), station="SMP-RAAS"
    )

    async def scenario() -> Service:
        service = Service(config_with(tmp_path, source))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.sleep(0.3)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto("\n".join(lines).encode(), ("127.0.0.1", port))
        for _ in range(50):
            if service.pipeline.stream.messages >= 3:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task
        return service

    service = asyncio.run(scenario())
    assert set(service.pipeline.stream.stations) == {"SMP-RAAS"}
    vessel = SqliteStore(str(tmp_path / "live.db")).vessel(525_000_100)
    assert vessel is not None
    assert vessel.station == "SMP-RAAS"


def test_a_silent_half_open_station_is_reconnected(tmp_path: Path) -> None:
    lines = recording(vessels=1, reports=1)
    connections = 0

    async def scenario() -> None:
        nonlocal connections

        async def serve(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            nonlocal connections
            connections += 1
            writer.write((lines[0] + "\n").encode())
            await writer.drain()
            await reader.read()  # then silence, connection held open

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        source = SourceConfig(
            name="quiet",
            kind="tcp-client",
            port=port,
            idle_timeout_s=0.5,
            reconnect_max_s=0.5,
        )
        async with server:
            service = Service(config_with(tmp_path, source))
            await run_until(service, lambda: connections >= 2, 10)

    asyncio.run(scenario())
    assert connections >= 2
