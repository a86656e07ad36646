"""A live feed's data clock follows the wall clock while every station is silent.

The detectors run on the data clock, which messages move. A desk with one
station that stops sending must still learn it, from the wall clock; a
recorded file that ends is not a station going down.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from pyais.encode import encode_dict

from pantaulaut.alerts.settings import DetectorSettings
from pantaulaut.config import (
    AlertsConfig,
    Config,
    DashboardConfig,
    IngestConfig,
    SourceConfig,
    StoreConfig,
)
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.model import AlertKind
from pantaulaut.service import Service

# A station is judged after 10 messages over 1 s, and is down after 1 s of
# silence: small enough for a test, the same code as the cited defaults.
QUICK = DetectorSettings(
    station_min_messages=10,
    station_min_known_s=1.0,
    station_floor_s=1.0,
    station_silence_gaps=1.0,
)


def sentences(count: int) -> list[str]:
    lines = []
    for n in range(count):
        data = {
            "type": 1,
            "mmsi": 525_000_300 + n,
            "lat": -7.2,
            "lon": 114.0 + 0.01 * n,
            "speed": 8.0,
            "course": 90.0,
        }
        lines.extend(encode_dict(data, "AI", "VDM", "A"))
    return lines


def config(tmp_path: Path, source: SourceConfig) -> Config:
    return Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'live.db'}"),
        dashboard=DashboardConfig(enabled=False),
        ingest=IngestConfig(flush_interval_s=0.5),
        sources=(source,),
        alerts=AlertsConfig(detectors=QUICK),
    )


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def watch(service: Service, feed: object, wait_s: float) -> list[str]:
    """Run the service, feed it, then wait; the kinds of the alerts raised."""
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.sleep(0.3)
    if callable(feed):
        await feed()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while loop.time() < deadline and not service.pipeline.alert_counts:
        await asyncio.sleep(0.2)
    stop.set()
    await task
    return [entry["kind"] for entry in service.pipeline.alert_log]


def test_a_live_station_that_falls_silent_is_reported_down(tmp_path: Path) -> None:
    port = free_udp_port()
    source = SourceConfig(
        name="udp", kind="udp", port=port, allow=("127.0.0.1",), station="SMP-RAAS"
    )
    service = Service(config(tmp_path, source))

    async def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for line in sentences(12):
                sender.sendto(line.encode(), ("127.0.0.1", port))
                await asyncio.sleep(0.15)

    # Nothing arrives after the last line: only the wall clock moves.
    kinds = asyncio.run(watch(service, send, wait_s=20.0))
    assert kinds == [AlertKind.STATION_DOWN.value]
    (entry,) = service.pipeline.alert_log
    assert entry["station"] == "SMP-RAAS"


def test_a_recording_that_ends_is_not_a_station_down(tmp_path: Path) -> None:
    # Received a second apart, up to a minute ago: had the clock followed the
    # wall clock after the file's end, the station would be down at once.
    start = int(time.time()) - 60
    lines = []
    for n, sentence in enumerate(sentences(12)):
        tag = f"c:{start + n}"
        lines.append(f"\\{tag}*{nmea_checksum(tag):02X}\\{sentence}")
    path = tmp_path / "short.nmea"
    path.write_text("\n".join(lines) + "\n")
    source = SourceConfig(name="file", kind="file", path=str(path), station="SMP-RAAS")
    service = Service(config(tmp_path, source))

    kinds = asyncio.run(watch(service, None, wait_s=8.0))
    assert service.pipeline.stream.messages == 12
    assert kinds == []
