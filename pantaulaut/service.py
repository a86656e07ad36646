"""The live service: sources, pipeline, store and dashboard in one process.

Sources run as asyncio tasks and put lines on a bounded queue; one consumer
task runs the pipeline; a timer writes a batch to the store every
``ingest.flush_interval_s``. The dashboard runs in a thread of its own and
reads from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pantaulaut.config import Config, SourceConfig
from pantaulaut.errors import SourceError
from pantaulaut.geofence.zones import ZoneSet, load_zones
from pantaulaut.ingest.mqtt import MqttSettings, run_mqtt_source
from pantaulaut.ingest.sources import (
    AddressFilter,
    read_file_lines,
    run_tcp_client,
    run_tcp_server,
    run_udp_listener,
)
from pantaulaut.pipeline import Pipeline, PipelineSettings
from pantaulaut.publish import MqttPublisher
from pantaulaut.store.base import Store, open_store

__all__ = ["DashboardThread", "Service", "pipeline_for", "replay_files"]

log = logging.getLogger(__name__)

_QUEUE_BOUND = 200_000


def pipeline_for(
    config: Config, store: Store | None, zones: ZoneSet | None = None
) -> Pipeline:
    """A pipeline set up from the configuration."""
    if zones is None:
        zones = load_zones(config.zones.paths())
    ingest = config.ingest
    settings = PipelineSettings(
        fragment_timeout_s=ingest.fragment_timeout_s,
        max_pending_fragments=ingest.max_pending_fragments,
        max_line_chars=ingest.max_line_chars,
        batch_size=ingest.batch_size,
        keep_messages=ingest.keep_messages,
    )
    return Pipeline(store, zones, settings)


def replay_files(
    pipeline: Pipeline, paths: Iterable[Path], speed: float = 0.0, max_chars: int = 4096
) -> None:
    """Feed recorded files through the pipeline, then finish it.

    Args:
        pipeline: The pipeline to feed.
        paths: Plain or gzip NMEA files, in order.
        speed: 0 for as fast as possible, else a multiple of real time
            measured on the data's own clock (tag block or trailer times).
        max_chars: Longest line accepted.
    """
    pacer = _Pacer(speed)
    for path in paths:
        source = path.name
        for line in read_file_lines(path, max_chars):
            pipeline.feed(line, source, datetime.now(UTC))
            pacer.wait(pipeline)
    pipeline.finish()


class _Pacer:
    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._start_data: datetime | None = None
        self._start_wall = 0.0

    def delay_s(self, pipeline: Pipeline) -> float:
        """How long to wait before the next line to keep to the pace."""
        clock = pipeline.clock
        if self.speed <= 0 or clock is None:
            return 0.0
        if self._start_data is None:
            self._start_data = clock
            self._start_wall = time.monotonic()
            return 0.0
        due = (clock - self._start_data).total_seconds() / self.speed
        ahead = due - (time.monotonic() - self._start_wall)
        return min(ahead, 5.0) if ahead > 0.05 else 0.0

    def wait(self, pipeline: Pipeline) -> None:
        """Sleep as long as the pace asks (for synchronous replay)."""
        delay_s = self.delay_s(pipeline)
        if delay_s > 0:
            pipeline.flush()
            time.sleep(delay_s)


class DashboardThread:
    """Serves the Dash app from a background thread until stopped."""

    def __init__(self, store: Store, config: Config, zones: ZoneSet) -> None:
        from werkzeug.serving import make_server

        from pantaulaut.dashboard.app import create_app

        app = create_app(store, config, zones)
        self._server = make_server(
            config.dashboard.host, config.dashboard.port, app.server, threaded=True
        )
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dashboard", daemon=True
        )

    def start(self) -> None:
        """Start serving."""
        self._thread.start()
        log.info("dashboard on http://%s:%d/", self._server.host, self.port)

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()


class Service:
    """The live service of ``pantaulaut run`` and ``pantaulaut demo``."""

    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self.store = store or open_store(
            config.store.url, retention_days=config.store.retention_days
        )
        self.zones = load_zones(config.zones.paths())
        self.pipeline = pipeline_for(config, self.store, self.zones)
        self.queue: asyncio.Queue[tuple[str, str, datetime]] = asyncio.Queue(
            _QUEUE_BOUND
        )
        self.dropped = 0
        self.dashboard: DashboardThread | None = None
        self.publisher: MqttPublisher | None = None
        if config.mqtt.enabled:
            self.publisher = _publisher(config)
            self.pipeline.sinks.append(self.publisher.alert)
            if config.mqtt.publish_vessels:
                self.pipeline.vessel_sinks.append(self.publisher.vessel)

    def sink(self, text: str, source: str, arrival: datetime) -> None:
        """Take one line from a source."""
        try:
            self.queue.put_nowait((text, source, arrival))
        except asyncio.QueueFull:
            self.dropped += 1
            self.pipeline.stream.rejected["queue_full"] += 1
            if self.dropped % 1000 == 1:
                log.warning("ingest queue full: %d lines dropped so far", self.dropped)

    def refused(self, source: str, address: str) -> None:
        """Count a connection or datagram from an address not allowed."""
        self.pipeline.stream.rejected["sender_not_allowed"] += 1

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set or the task is cancelled."""
        stop = stop or asyncio.Event()
        if self.config.dashboard.enabled:
            self.dashboard = DashboardThread(self.store, self.config, self.zones)
            self.dashboard.start()
        tasks = [
            asyncio.create_task(self._source(s), name=f"source-{s.name}")
            for s in self.config.sources
        ]
        tasks.append(asyncio.create_task(self._consume(), name="pipeline"))
        tasks.append(asyncio.create_task(self._flush_timer(), name="flush"))
        if self.publisher is not None:
            tasks.append(asyncio.create_task(self.publisher.run(), name="mqtt-output"))
        try:
            await stop.wait()
        finally:
            await self._stop_tasks(tasks)
            self._drain()
            self.pipeline.finish()
            if self.dashboard is not None:
                self.dashboard.stop()

    async def _stop_tasks(self, tasks: list[asyncio.Task[None]]) -> None:
        if self.publisher is not None:
            self.publisher.close()
            publishing = tasks.pop()
            with contextlib.suppress(TimeoutError, SourceError):
                # Alerts still queued get a few seconds to reach the broker.
                await asyncio.wait_for(asyncio.shield(publishing), 5.0)
            tasks.append(publishing)
        for task in tasks:
            task.cancel()
        _, stuck = await asyncio.wait(tasks, timeout=10.0)
        for task in stuck:
            log.warning("task %s did not stop within 10 s", task.get_name())
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.warning("task %s ended with %r", task.get_name(), task.exception())

    def _drain(self) -> None:
        while not self.queue.empty():
            self.pipeline.feed(*self.queue.get_nowait())

    async def _consume(self) -> None:
        while True:
            text, source, arrival = await self.queue.get()
            self.pipeline.feed(text, source, arrival)

    async def _flush_timer(self) -> None:
        while True:
            await asyncio.sleep(self.config.ingest.flush_interval_s)
            self._drain()
            try:
                self.pipeline.flush()
            except Exception:
                log.exception("writing to the store failed; will retry")

    async def _source(self, source: SourceConfig) -> None:
        max_chars = self.config.ingest.max_line_chars
        if source.kind == "tcp-client":
            await run_tcp_client(
                source.name,
                source.host,
                source.port,
                self.sink,
                max_chars=max_chars,
                reconnect_max_s=source.reconnect_max_s,
            )
        elif source.kind == "tcp-server":
            await run_tcp_server(
                source.name,
                source.host,
                source.port,
                AddressFilter(source.allow),
                self.sink,
                refused=self.refused,
                max_connections=source.max_connections,
                idle_timeout_s=source.idle_timeout_s,
                max_chars=max_chars,
            )
        elif source.kind == "mqtt":
            settings = MqttSettings(
                host=source.host,
                port=source.port or 1883,
                username=source.username,
                password=source.password,
                tls=source.tls,
                ca_file=source.ca_file,
            )
            await run_mqtt_source(
                source.name,
                settings,
                source.topics,
                self.sink,
                max_chars=max_chars,
                reconnect_max_s=source.reconnect_max_s,
            )
        elif source.kind == "udp":
            await run_udp_listener(
                source.name,
                source.host,
                source.port,
                AddressFilter(source.allow),
                self.sink,
                refused=self.refused,
                max_chars=max_chars,
            )
        else:
            await self._file_source(source, max_chars)

    async def _file_source(self, source: SourceConfig, max_chars: int) -> None:
        # A file is fed to the pipeline directly, on the loop's thread, so
        # that its pace can follow the data clock the pipeline keeps.
        pacer = _Pacer(source.speed)
        count = 0
        for line in read_file_lines(Path(source.path), max_chars):
            self._drain()
            self.pipeline.feed(line, source.station or source.name, datetime.now(UTC))
            count += 1
            delay_s = pacer.delay_s(self.pipeline)
            if delay_s > 0:
                self.pipeline.flush()
                await asyncio.sleep(delay_s)
            elif count % 500 == 0:
                await asyncio.sleep(0)
        self.pipeline.flush()
        log.info("source %s: read %d lines from %s", source.name, count, source.path)


def _publisher(config: Config) -> MqttPublisher:
    mqtt = config.mqtt
    settings = MqttSettings(
        host=mqtt.host,
        port=mqtt.port,
        username=mqtt.username,
        password=mqtt.password,
        tls=mqtt.tls,
        ca_file=mqtt.ca_file,
    )
    return MqttPublisher(settings, mqtt.topic_prefix)


def run_forever(service: Service) -> dict[str, Any]:
    """Run a service until interrupted; return the pipeline's report."""
    try:
        asyncio.run(service.run())
    except KeyboardInterrupt:
        log.info("stopped by the operator")
    return service.pipeline.report()
