"""Bad input never crashes or blocks the service, and memory stays bounded."""

from __future__ import annotations

import asyncio
import os
import random
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyais.encode import encode_dict

from pantaulaut.config import (
    Config,
    DashboardConfig,
    IngestConfig,
    SourceConfig,
    StoreConfig,
)
from pantaulaut.ingest.sources import LineSplitter
from pantaulaut.ingest.stream import AisStream
from pantaulaut.service import Service

pytestmark = pytest.mark.network

NOW = datetime(2026, 6, 17, tzinfo=UTC)
GOOD = encode_dict(
    {"type": 1, "mmsi": 525_000_001, "lat": -7.1, "lon": 114.0}, "AI", "VDM", "A"
)[0]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listener_config(tmp_path: Path, kind: str, port: int, **ingest: int) -> Config:
    source = SourceConfig(
        name="listener", kind=kind, port=port, allow=("127.0.0.1",), idle_timeout_s=2.0
    )
    return Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'h.db'}"),
        dashboard=DashboardConfig(enabled=False),
        ingest=IngestConfig(**ingest),  # type: ignore[arg-type]
        sources=(source,),
    )


async def start(service: Service) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.sleep(0.3)
    return stop, task


def test_a_10_mb_line_without_newline_is_cut_and_the_feed_goes_on(
    tmp_path: Path,
) -> None:
    port = free_port()
    service = Service(listener_config(tmp_path, "tcp-server", port))

    async def scenario() -> None:
        stop, task = await start(service)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        chunk = b"A" * 65536
        for _ in range(160):  # 10 MiB, no line terminator
            writer.write(chunk)
            await writer.drain()
        writer.write(b"\n" + GOOD.encode() + b"\n")
        await writer.drain()
        for _ in range(100):
            if service.pipeline.stream.messages:
                break
            await asyncio.sleep(0.05)
        writer.close()
        stop.set()
        await task

    asyncio.run(scenario())
    assert service.pipeline.stream.messages == 1
    assert service.pipeline.stream.rejected["line_too_long"] == 1


def test_binary_garbage_over_tcp_and_udp_is_counted_and_survived(
    tmp_path: Path,
) -> None:
    tcp_port, udp_port = free_port(), free_port(socket.SOCK_DGRAM)
    config = listener_config(tmp_path, "tcp-server", tcp_port)
    udp = SourceConfig(name="udp", kind="udp", port=udp_port, allow=("127.0.0.1",))
    config = Config(
        store=config.store, dashboard=config.dashboard, sources=(*config.sources, udp)
    )
    service = Service(config)
    noise = random.Random(7)

    async def scenario() -> None:
        stop, task = await start(service)
        _, writer = await asyncio.open_connection("127.0.0.1", tcp_port)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(200):
            blob = bytes(noise.getrandbits(8) for _ in range(noise.randint(1, 1200)))
            writer.write(blob)
            sender.sendto(blob, ("127.0.0.1", udp_port))
            # Paced so that the kernel's receive buffer does not overflow:
            # a lost datagram is UDP's nature, not the listener's fault.
            await asyncio.sleep(0.002)
        writer.write(b"\n" + GOOD.encode() + b"\r\n")
        await writer.drain()
        await asyncio.sleep(0.2)
        sender.sendto(GOOD.encode(), ("127.0.0.1", udp_port))
        sender.close()
        for _ in range(100):
            if service.pipeline.stream.messages >= 2:
                break
            await asyncio.sleep(0.05)
        writer.close()
        stop.set()
        await task

    asyncio.run(scenario())
    assert service.pipeline.stream.messages == 2
    assert sum(service.pipeline.stream.rejected.values()) > 0


def test_a_flood_of_orphan_fragments_keeps_memory_bounded() -> None:
    stream = AisStream()
    bound = stream.assembler.max_pending
    first = (
        "!AIVDM,2,1,{seq},{ch},"
        "55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0"
    )
    now = datetime(2026, 6, 17, tzinfo=UTC)
    for n in range(100_000):
        body = first.format(seq=n % 10, ch="AB"[n % 2])[1:]
        checksum = 0
        for char in body.encode():
            checksum ^= char
        # Each flood line comes from another "source", as from many senders.
        stream.feed(f"!{body}*{checksum:02X}", f"sender-{n}", now)
        assert stream.assembler.pending <= bound
    stream.finish()
    assert stream.pending == 0
    lost = stream.rejected["fragment_overflow"] + stream.rejected["incomplete_message"]
    assert lost == 100_000


def test_a_client_that_sends_nothing_is_closed_and_blocks_no_one(
    tmp_path: Path,
) -> None:
    port = free_port()
    service = Service(listener_config(tmp_path, "tcp-server", port))

    async def scenario() -> bytes:
        stop, task = await start(service)
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(GOOD.encode() + b"\n")
        await writer.drain()
        closed = await asyncio.wait_for(silent[0][0].read(), 10)
        for _, w in silent:
            w.close()
        writer.close()
        stop.set()
        await task
        return closed

    assert asyncio.run(scenario()) == b""
    assert service.pipeline.stream.messages == 1


def test_connections_beyond_the_bound_are_refused(tmp_path: Path) -> None:
    port = free_port()
    config = listener_config(tmp_path, "tcp-server", port)
    source = config.sources[0]
    bounded = SourceConfig(
        name=source.name,
        kind=source.kind,
        port=port,
        allow=source.allow,
        max_connections=2,
    )
    service = Service(
        Config(store=config.store, dashboard=config.dashboard, sources=(bounded,))
    )

    async def scenario() -> None:
        stop, task = await start(service)
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
        await asyncio.sleep(0.3)
        for _, w in held:
            w.close()
        stop.set()
        await task

    asyncio.run(scenario())
    assert service.pipeline.stream.rejected["connection_limit"] == 2


def test_line_splitter_never_holds_more_than_its_bound() -> None:
    splitter = LineSplitter(max_chars=100)
    lines: list[str] = []
    for _ in range(1000):
        lines += splitter.feed(
            os.urandom(997).replace(b"\n", b"x").replace(b"\r", b"x")
        )
        assert len(splitter._buffer) <= 100
    assert len(lines) == 1
    assert len(lines[0]) == 101


def tagged(sentence: str, **fields: str) -> str:
    body = ",".join(f"{k}:{v}" for k, v in fields.items())
    checksum = 0
    for char in body.encode():
        checksum ^= char
    return f"\\{body}*{checksum:02X}\\{sentence}"


def test_a_line_of_backslashes_is_rejected_and_the_sentence_after_it_read() -> None:
    # Regression: the tag-block pattern backtracked over every backslash,
    # so such lines took seconds each and stalled every source.
    stream = AisStream()
    now = datetime.now(UTC)
    stream.feed("\\" * 4096, "hostile", now)
    (message,) = stream.feed("\\" * 3000 + GOOD, "hostile", now)
    assert message.mmsi == 525_000_001
    assert stream.rejected["tag_block_without_sentence"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        b'{"nmea": 5}',
        b'{"nmea": null}',
        b'{"nmea": [1, 2]}',
        b'{"nmea": [], "rxuxtime": 1e300}',
        b'{"nmea": [], "rxuxtime": Infinity}',
        b'{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        b'["!AIVDM"]',
        b'{"nmea": ["x"], "station": "x,c:99999999999"}',
    ],
)
def test_hostile_mqtt_payloads_never_raise(payload: bytes) -> None:
    from pantaulaut.ingest.mqtt import lines_from_payload

    lines, received = lines_from_payload(payload)
    assert all(len(line) <= 4097 for line in lines)
    assert received is None or received.year < 3000
    for line in lines:
        assert ",c:" not in line


def test_a_receive_time_far_in_the_future_is_not_believed() -> None:
    stream = AisStream()
    now = datetime(2026, 6, 17, tzinfo=UTC)
    future = str(int(now.timestamp()) + 20 * 86400)
    (message,) = stream.feed(tagged(GOOD, c=future), "hostile", now)
    assert message.time == now
    assert stream.warnings["implausible_time"] == 1


def test_non_ascii_digits_in_fields_are_rejected_not_raised() -> None:
    stream = AisStream()
    stream.feed("!AIVDM,\u00b2,1,,A,1>M4nfNP0089I91sswH00?v1P000,0*2F", "x", NOW)
    assert stream.rejected == {"checksum_mismatch": 1} or stream.rejected == {
        "malformed_sentence": 1
    }


def test_station_names_are_bounded_in_number_and_length() -> None:
    stream = AisStream()
    for n in range(1500):
        stream.feed(tagged(GOOD, s=f"st{n}" + "x" * 100), "hostile", NOW)
    assert len(stream.stations) <= 1001
    assert all(len(name) <= 64 for name in stream.stations)
    assert stream.messages == 1500
