"""The live service: sources, pipeline, store and dashboard in one process.

Sources run as asyncio tasks and put lines on a bounded queue; one consumer
task runs the pipeline; a timer writes a batch to the store every
``ingest.flush_interval_s``. The dashboard runs in a thread of its own and
reads from the store.

The store is always wrapped in a :class:`~pantaulaut.store.spool.SpoolingStore`:
when its server is away, batches wait in a bounded spool file and are
written, in order, once it is back; a store failure never stops the service
or loses an alert.

With ``[scaleout]`` the same service plays one role of several processes
(see :mod:`pantaulaut.ingest.router`): a ``router`` reads the sources and
publishes each message to the partition of its MMSI; a ``worker`` subscribes
to its partition and runs the pipeline on it. The default role ``all`` is
the one process of the embedded default and needs no broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pantaulaut.alerts.outbox import DeliveryService, attach_delivery
from pantaulaut.config import Config, SourceConfig, StoreConfig
from pantaulaut.errors import ConfigError, SourceError
from pantaulaut.geofence.zones import ZoneSet, load_zones
from pantaulaut.ingest.assembly import Assembler
from pantaulaut.ingest.mqtt import MqttSettings, run_mqtt_source
from pantaulaut.ingest.router import Router, raw_topic
from pantaulaut.ingest.sources import (
    AddressFilter,
    read_file_lines,
    run_tcp_client,
    run_tcp_server,
    run_udp_listener,
)
from pantaulaut.ingest.stream import AisStream
from pantaulaut.pipeline import Pipeline, PipelineSettings
from pantaulaut.publish import MqttPublisher, MqttQueue
from pantaulaut.store.base import Store, open_store
from pantaulaut.store.spool import Spool, SpoolingStore

__all__ = [
    "DashboardThread",
    "Service",
    "open_service_store",
    "pipeline_for",
    "replay_files",
    "spool_dir",
]

log = logging.getLogger(__name__)

_QUEUE_BOUND = 200_000
# How long MQTT outputs may take at shutdown to send what waits (alerts).
_OUTPUT_GRACE_S = 5.0
# Lines the consumer works off before it lets the sources read again.
_YIELD_EVERY = 50
# A router waits this long for more lines before it publishes a partition's
# batch: at a station's one line per MQTT message, a publish (and its QoS 1
# acknowledgement) per line would cost the router more than decoding does.
_ROUTER_LINGER_S = 0.01


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

    def delay_s(self, clock: datetime | None) -> float:
        """How long to wait before the next line to keep to the pace."""
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
        delay_s = self.delay_s(pipeline.clock)
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
    """The live service of ``pantaulaut run`` and ``pantaulaut demo``.

    Args:
        config: The configuration; ``[scaleout] role`` decides what the
            lines from the sources go to: the pipeline (``all``, ``worker``)
            or the router (``router``).
        store: A store to use instead of opening ``store.url``; it is
            wrapped in a spooling store like an opened one.
    """

    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self.role = config.scaleout.role
        self.spool_dir = spool_dir(config)
        self.store = open_service_store(config, store, self.spool_dir)
        self.zones = load_zones(config.zones.paths())
        self.pipeline = pipeline_for(config, self.store, self.zones)
        for source in config.sources:
            if source.station:
                self.pipeline.stream.source_stations[source.name] = source.station
        self.queue: asyncio.Queue[tuple[str, str, datetime]] = asyncio.Queue(
            _QUEUE_BOUND
        )
        self.dropped = 0
        self.failed_lines = 0
        self.dashboard: DashboardThread | None = None
        self.publisher: MqttPublisher | None = None
        self.router: Router | None = None
        self._linger: asyncio.TimerHandle | None = None
        # Alerts to 112 through the store's outbox ([delivery]).
        self.delivery: DeliveryService | None = None
        if self.role == "router":
            # A router raises no alerts and keeps no vessels: nothing to
            # deliver or publish but the partitions.
            self.router = _router(config, self.spool_dir)
            return
        if config.delivery.active:
            self.delivery = attach_delivery(self.pipeline, config.delivery, self.store)
        if config.mqtt.enabled:
            self.publisher = _publisher(config, self.spool_dir)
            self.pipeline.sinks.append(self.publisher.alert)
            if config.mqtt.publish_vessels:
                self.pipeline.vessel_sinks.append(self.publisher.vessel)

    @property
    def stream(self) -> AisStream:
        """Where lines are framed and counted: the router's or the pipeline's."""
        return self.router.stream if self.router is not None else self.pipeline.stream

    def sink(self, text: str, source: str, arrival: datetime) -> None:
        """Take one line from a source."""
        try:
            self.queue.put_nowait((text, source, arrival))
        except asyncio.QueueFull:
            self.dropped += 1
            self.stream.rejected["queue_full"] += 1
            if self.dropped % 1000 == 1:
                log.warning("ingest queue full: %d lines dropped so far", self.dropped)

    def refused(
        self, source: str, address: str, reason: str = "sender_not_allowed"
    ) -> None:
        """Count a connection or datagram refused (not allowed, or over the bound)."""
        self.stream.rejected[reason] += 1

    def report(self) -> dict[str, Any]:
        """The pipeline's report (the router's for a router), with the spools."""
        report = self.router.report() if self.router else self.pipeline.report()
        spools: dict[str, Any] = {"store": self.store.stats()}
        for name, queue in self._queues():
            if queue.spool is not None:
                spools[name] = {
                    "path": str(queue.spool.path),
                    "queued": len(queue.spool),
                    "dropped": dict(queue.spool.dropped),
                    "dropped_by_station": dict(queue.spool.dropped_stations),
                    "dropped_from_memory": queue.dropped,
                }
        report["spool"] = spools
        return report

    def close(self) -> None:
        """Close the store (waiting a little for its spool to drain)."""
        self.store.close()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set or the task is cancelled."""
        stop = stop or asyncio.Event()
        if self.config.dashboard.enabled:
            self.dashboard = DashboardThread(self.store, self.config, self.zones)
            self.dashboard.start()
        work = [
            asyncio.create_task(self._source(s), name=f"source-{s.name}")
            for s in self.config.sources
        ]
        for task in work:
            # A source that cannot start (port taken, file missing) must be
            # reported when it fails, not when the service stops.
            task.add_done_callback(_report_source_failure)
        if self.role == "worker":
            work.append(asyncio.create_task(self._partition(), name="partition"))
        work.append(asyncio.create_task(self._consume(), name="pipeline"))
        work.append(asyncio.create_task(self._flush_timer(), name="flush"))
        outputs = [
            (queue, asyncio.create_task(queue.run(), name=name))
            for name, queue in self._queues()
        ]
        others = []
        if self.delivery is not None:
            others.append(asyncio.create_task(self.delivery.run(), name="delivery"))
        try:
            await stop.wait()
        finally:
            # Inputs first, then what they left, then the outputs, so that
            # the alerts of the last lines still reach the broker.
            await _cancel(work)
            self._drain()
            self._finish()
            # Readers after run() (reports, tests) see every batch stored.
            await asyncio.to_thread(self.store.flush)
            await self._stop_outputs(outputs)
            await _cancel(others)
            if self.dashboard is not None:
                self.dashboard.stop()

    def _queues(self) -> list[tuple[str, MqttQueue]]:
        queues = []
        if self.router is not None:
            queues.append(("mqtt-router", self.router.queue))
        if self.publisher is not None:
            queues.append(("mqtt-output", self.publisher.queue))
        return queues

    async def _stop_outputs(
        self, outputs: list[tuple[MqttQueue, asyncio.Task[None]]]
    ) -> None:
        for queue, _ in outputs:
            queue.close()
        tasks = [task for _, task in outputs]
        if tasks:
            with contextlib.suppress(TimeoutError, SourceError):
                # What is queued gets a few seconds to reach the broker;
                # the rest is moved to the spool when the task ends.
                await asyncio.wait_for(
                    asyncio.shield(asyncio.gather(*tasks, return_exceptions=True)),
                    _OUTPUT_GRACE_S,
                )
        for queue, task in outputs:
            if not task.done():
                queue.spill()
        await _cancel(tasks)

    def _feed(self, text: str, source: str, arrival: datetime) -> None:
        try:
            if self.router is not None:
                self.router.feed(text, source, arrival)
            else:
                self.pipeline.feed(text, source, arrival)
        except Exception:
            # One line that trips a bug must not stop the desk's whole feed.
            self.failed_lines += 1
            if self.failed_lines <= 10 or self.failed_lines % 1000 == 0:
                log.exception(
                    "line from %s could not be processed (%d so far): %r",
                    source,
                    self.failed_lines,
                    text[:200],
                )

    def _drain(self) -> None:
        while not self.queue.empty():
            self._feed(*self.queue.get_nowait())

    def _finish(self) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        try:
            if self.router is not None:
                self.router.finish()
                self.store.write(self.router.station_batch())
            else:
                self.pipeline.finish()
        except Exception:
            log.exception("finishing the %s failed", self.role)

    def _clock(self) -> datetime | None:
        return self.router.clock if self.router is not None else self.pipeline.clock

    def _flush(self) -> None:
        """Write what waits: the pipeline's batch, or the router's partitions."""
        if self.router is not None:
            self.router.flush()
            self.store.write(self.router.station_batch())
        else:
            self.pipeline.flush()

    async def _consume(self) -> None:
        fed = 0
        while True:
            text, source, arrival = await self.queue.get()
            self._feed(text, source, arrival)
            fed += 1
            if self.queue.empty():
                if self.router is not None and self._linger is None:
                    self._linger = asyncio.get_running_loop().call_later(
                        _ROUTER_LINGER_S, self._publish_partitions
                    )
            elif fed % _YIELD_EVERY == 0:
                # get() on a queue that is not empty never yields: without
                # this the sources would not read while a backlog is worked
                # off, and a broker drops what overflows its queue for us.
                await asyncio.sleep(0)

    def _publish_partitions(self) -> None:
        self._linger = None
        if self.router is not None:
            self.router.flush()

    async def _flush_timer(self) -> None:
        while True:
            await asyncio.sleep(self.config.ingest.flush_interval_s)
            self._drain()
            try:
                self._flush()
            except Exception:
                log.exception("writing to the store failed; will retry")

    async def _partition(self) -> None:
        """A worker's one source: its partition on the broker."""
        k = self.config.scaleout.worker
        prefix = self.config.mqtt.topic_prefix.rstrip("/")
        settings = replace(
            _mqtt_settings(self.config),
            client_id=worker_client_id(prefix, k),
            persistent=True,
        )
        await run_mqtt_source(
            f"partition-{k}",
            settings,
            [raw_topic(prefix, k)],
            self.sink,
            max_chars=self.config.ingest.max_line_chars,
            reconnect_max_s=30.0,
        )

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
                idle_timeout_s=source.idle_timeout_s,
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
        # A file is fed to the pipeline (or router) directly, on the loop's
        # thread, so that its pace can follow the data clock it keeps.
        pacer = _Pacer(source.speed)
        count = 0
        for line in read_file_lines(Path(source.path), max_chars):
            self._drain()
            self._feed(line, source.name, datetime.now(UTC))
            count += 1
            delay_s = pacer.delay_s(self._clock())
            if delay_s > 0:
                # What was read goes out before the pause; a router's
                # station counters wait for the flush timer.
                if self.router is not None:
                    self.router.flush()
                else:
                    self.pipeline.flush()
                await asyncio.sleep(delay_s)
            elif count % 500 == 0:
                if self.router is not None:
                    self.router.flush()
                await asyncio.sleep(0)
        self._flush()
        log.info("source %s: read %d lines from %s", source.name, count, source.path)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, stuck = await asyncio.wait(tasks, timeout=10.0)
    for task in stuck:
        log.warning("task %s did not stop within 10 s", task.get_name())
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.warning("task %s ended with %r", task.get_name(), task.exception())


def _mqtt_settings(config: Config) -> MqttSettings:
    mqtt = config.mqtt
    return MqttSettings(
        host=mqtt.host,
        port=mqtt.port,
        username=mqtt.username,
        password=mqtt.password,
        tls=mqtt.tls,
        ca_file=mqtt.ca_file,
    )


def _spool(config: Config, directory: Path, name: str, what: str) -> Spool:
    return Spool(
        directory / f"{name}-{config.scaleout.ident}.spool",
        int(config.spool.max_mb * 1_000_000),
        what=what,
    )


def _publisher(config: Config, directory: Path) -> MqttPublisher:
    return MqttPublisher(
        _mqtt_settings(config),
        config.mqtt.topic_prefix,
        spool=_spool(config, directory, "mqtt", "MQTT output spool"),
    )


def _router(config: Config, directory: Path) -> Router:
    ingest = config.ingest
    stream = AisStream(
        Assembler(
            timeout_s=ingest.fragment_timeout_s,
            max_pending=ingest.max_pending_fragments,
        ),
        max_line_chars=ingest.max_line_chars,
    )
    queue = MqttQueue(
        _mqtt_settings(config),
        "scale-out router",
        spool=_spool(config, directory, "mqtt", "router spool"),
    )
    return Router(queue, config.mqtt.topic_prefix, config.scaleout.partitions, stream)


def worker_client_id(prefix: str, partition: int) -> str:
    """The MQTT client id of a worker: fixed, so that its session persists."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in prefix)
    return f"pantaulaut-{safe}-worker-{partition}"


def spool_dir(config: Config) -> Path:
    """Where the spool files go: ``[spool] dir``, beside a SQLite file, or here.

    Raises:
        ConfigError: The folder (or the nearest one that exists above it)
            cannot be written by this process.
    """
    if config.spool.dir:
        directory = Path(config.spool.dir)
    else:
        directory = Path.cwd()
        url = config.store.url
        if url.startswith("sqlite://"):
            rest = url.removeprefix("sqlite://")
            if rest not in (":memory:", "/:memory:"):
                directory = Path(rest[1:] if rest.startswith("/") else rest).parent
    existing = directory.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        raise ConfigError(
            "spool.dir",
            str(directory),
            "a folder this process may write: batches wait there while the "
            "store or the broker is away",
        )
    return directory


def _open_store(settings: StoreConfig) -> Store:
    if settings.url.startswith(("postgresql://", "postgres://")):
        try:
            from pantaulaut.store.postgres import PostgresStore
        except ImportError:
            pass  # open_store names the missing driver
        else:
            # A short timeout: while a write waits, so does the input.
            return PostgresStore.from_url(
                settings.url,
                retention_days=settings.retention_days,
                timeout_s=settings.timeout_s,
            )
    return open_store(settings.url, retention_days=settings.retention_days)


def _store_type(url: str) -> type | None:
    if url.startswith("sqlite://"):
        from pantaulaut.store.sqlite import SqliteStore

        return SqliteStore
    try:
        from pantaulaut.store.postgres import PostgresStore
    except ImportError:
        return None
    return PostgresStore


def open_service_store(
    config: Config, store: Store | None = None, directory: Path | None = None
) -> SpoolingStore:
    """The service's store, spooling to disk while its server is away.

    Args:
        config: ``[store]``, ``[spool]`` and ``[scaleout]``.
        store: An open store to wrap instead of opening ``store.url``.
        directory: Where the spool goes (default: :func:`spool_dir`).

    Raises:
        ConfigError: The store URL is wrong.
        StoreError: The store refused to open for a reason waiting would
            not cure (a refused login, a schema from a newer version).
    """
    if isinstance(store, SpoolingStore):
        return store
    spool = _spool(config, directory or spool_dir(config), "store", "store spool")
    # A worker's station counts are a share of the station's; the router
    # writes the whole.
    write_stations = config.scaleout.role != "worker"
    # Written from a thread of its own: the event loop, and the alerts of
    # the lines it reads, never wait for the database.
    if store is not None:
        return SpoolingStore(
            store, spool, write_stations=write_stations, background=True
        )
    opener: Callable[[], Store] = functools.partial(_open_store, config.store)
    return SpoolingStore.open(
        opener,
        spool,
        write_stations=write_stations,
        store_type=_store_type(config.store.url),
        background=True,
    )


def _report_source_failure(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("%s stopped: %s", task.get_name(), error)


def run_forever(service: Service) -> dict[str, Any]:
    """Run a service until interrupted or terminated; return its report.

    SIGTERM (systemd, Docker) stops it as Ctrl-C does: the last batch is
    written or spooled, and MQTT outputs get a few seconds to send.
    """

    async def main() -> None:
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await service.run(stop)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        log.info("stopped by the operator")
    report = service.report()
    service.close()
    return report
