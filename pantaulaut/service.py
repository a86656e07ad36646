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
to its partition and runs the pipeline on it, but for the pair detectors;
one ``pairs`` process subscribes to every partition and runs only those
(collision risk and encounters need both vessels of a pair in one process).
The default role ``all`` is
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pantaulaut.alerts.outbox import DeliveryService, attach_delivery
from pantaulaut.config import Config, SourceConfig, StoreConfig
from pantaulaut.desk import DeskActions
from pantaulaut.errors import ConfigError, PantaulautError, SourceError
from pantaulaut.geofence.rules import RuleSet, ZoneFiles, load_rules
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
# After this long without a line, the data clock follows the wall clock.
_SILENT_TICK_S = 5.0


def pipeline_for(
    config: Config,
    store: Store | None,
    zones: ZoneSet | None = None,
    rules: RuleSet | None = None,
) -> Pipeline:
    """A pipeline set up from the configuration (zones and rules given or read)."""
    if zones is None:
        zones = load_zones(config.zones.paths())
    if rules is None:
        rules = load_rules(config.zones.rules_path(), zones)
    ingest = config.ingest
    settings = PipelineSettings(
        fragment_timeout_s=ingest.fragment_timeout_s,
        max_pending_fragments=ingest.max_pending_fragments,
        max_line_chars=ingest.max_line_chars,
        batch_size=ingest.batch_size,
        keep_messages=ingest.keep_messages,
        duplicate_window_s=ingest.duplicate_window_s,
        detectors=config.alerts.detectors,
        lifecycle=config.alerts.lifecycle,
        duty=_duty(config),
    )
    return Pipeline(store, zones, settings, rules=rules)


def _duty(config: Config) -> str:
    """What the pipeline of this process does (see ``PipelineSettings.duty``)."""
    scaleout = config.scaleout
    if scaleout.role == "pairs":
        return "pairs"
    if scaleout.role == "worker" and scaleout.partitions > 1:
        return "partition"
    return "all"


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

    Raises:
        SourceError: A file could not be read in full. The lines read
            before the fault were fed, the fault is counted as an
            ``unreadable_file`` rejection, the next files were replayed and
            the pipeline finished before this is raised; it names every
            such file.
    """
    pacer = _Pacer(speed)
    failures: list[str] = []
    for path in paths:
        source = path.name
        try:
            for line in read_file_lines(path, max_chars):
                pipeline.feed(line, source, datetime.now(UTC))
                pacer.wait(pipeline)
        except SourceError as exc:
            pipeline.stream.rejected["unreadable_file"] += 1
            log.warning("%s; the rest of this file is lost", exc)
            failures.append(str(exc))
    pipeline.finish()
    if failures:
        raise SourceError("; ".join(failures))


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

    def __init__(
        self,
        store: Store,
        config: Config,
        zones: ZoneSet,
        desk_actions: DeskActions | None = None,
    ) -> None:
        from werkzeug.serving import make_server

        from pantaulaut.dashboard.app import create_app

        app = create_app(store, config, zones, desk_actions=desk_actions)
        _warn_without_accounts(store)
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


def _warn_without_accounts(store: Store) -> None:
    """Say so when nobody could log in to the dashboard."""
    from pantaulaut.store.base import Accounts

    try:
        empty = isinstance(store, Accounts) and not store.list_users()
    except PantaulautError as exc:
        log.warning("cannot list the dashboard's accounts: %s", exc)
        return
    if empty:
        log.warning(
            "the dashboard has no accounts: add one with "
            "`pantaulaut user add NAME --role admin`"
        )


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
        # Zones and rules in force; edited files are swapped in while running.
        self.zone_files = ZoneFiles(config.zones.paths(), config.zones.rules_path())
        self.zones, rules = self.zone_files.load()
        self._reload_now = asyncio.Event()
        self.pipeline = pipeline_for(config, self.store, self.zones, rules)
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
        # Live feeds move the data clock while silent (_tick_while_silent).
        self._live = self.role in ("worker", "pairs") or any(
            s.kind != "file" for s in config.sources
        )
        self._fed_at_s = time.monotonic()
        self._silent_from: tuple[float, datetime] | None = None
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
            if config.mqtt.publish_vessels and self.role != "pairs":
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
            # Operators act on the alerts of this process's pipeline, on
            # this loop; a router has none to act on.
            actions = (
                None
                if self.router is not None
                else DeskActions(self.pipeline, asyncio.get_running_loop(), self.store)
            )
            self.dashboard = DashboardThread(
                self.store, self.config, self.zones, actions
            )
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
            k = self.config.scaleout.worker
            work.append(asyncio.create_task(self._partition(k), name="partition"))
        elif self.role == "pairs":
            partitions = range(self.config.scaleout.partitions)
            self.pipeline.expect_sources(f"partition-{k}" for k in partitions)
            work.extend(
                asyncio.create_task(self._partition(k), name=f"partition-{k}")
                for k in range(self.config.scaleout.partitions)
            )
        work.append(asyncio.create_task(self._consume(), name="pipeline"))
        work.append(asyncio.create_task(self._flush_timer(), name="flush"))
        if self.router is None:
            work.append(asyncio.create_task(self._watch_zones(), name="zones"))
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

    def request_reload(self) -> None:
        """Read the zone and rule files again now (SIGHUP)."""
        self._reload_now.set()

    async def reload_zones(self, force: bool = False) -> bool:
        """Swap in edited zone and rule files; True when new ones are in force.

        A refused file is logged (ERROR, naming file, feature and fault) and
        the zones and rules in force stay.
        """
        loaded = await asyncio.to_thread(self.zone_files.reload, force)
        if loaded is None:
            return False
        zones, rules = loaded
        self.pipeline.use_zones(zones, rules)
        self.zones = zones
        return True

    async def _watch_zones(self) -> None:
        every_s = self.config.zones.reload_s
        log.info(
            "watching the zone files for changes (%s, and on SIGHUP): %s",
            f"every {every_s:g} s" if every_s else "not polled",
            ", ".join(str(p) for p in self.zone_files.files()),
        )
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reload_now.wait(), every_s or None)
            force = self._reload_now.is_set()
            self._reload_now.clear()
            try:
                await self.reload_zones(force)
            except Exception:
                log.exception("reloading zones failed; the zones in force stay")

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
                self._fed_at_s = time.monotonic()
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
            self._tick_while_silent()
            try:
                self._flush()
            except Exception:
                log.exception("writing to the store failed; will retry")

    def _tick_while_silent(self) -> None:
        """Move the data clock on with the wall clock while no line arrives.

        The detectors run on the data clock, which only messages move: with
        every station silent, no ``station_down`` or ``ais_gap`` would ever
        be judged. A live feed's clock is the wall clock, so silence counts
        from the last line at the wall clock's pace. Recorded files are not
        live: their clock stops where the recording ends.
        """
        if not self._live or self.router is not None:
            return
        clock = self.pipeline.clock
        silent_s = time.monotonic() - self._fed_at_s
        if clock is None or silent_s < _SILENT_TICK_S:
            return
        if self._silent_from is None or self._silent_from[0] != self._fed_at_s:
            self._silent_from = (self._fed_at_s, clock)
        try:
            self.pipeline.tick(self._silent_from[1] + timedelta(seconds=silent_s))
        except Exception:
            log.exception("judging silence on the wall clock failed")

    async def _partition(self, k: int) -> None:
        """Partition ``k`` on the broker: a worker's one source.

        The pairs process reads each partition as a source of its own, so
        that its pipeline knows how far each one has got.
        """
        prefix = self.config.mqtt.topic_prefix.rstrip("/")
        if self.role == "pairs":
            client_id = pairs_client_id(prefix, k)
        else:
            client_id = worker_client_id(prefix, k)
        settings = replace(
            _mqtt_settings(self.config), client_id=client_id, persistent=True
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


def pairs_client_id(prefix: str, partition: int) -> str:
    """The pairs process's MQTT client id for a partition: fixed, like a worker's."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in prefix)
    return f"pantaulaut-{safe}-pairs-{partition}"


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
    write_stations = config.scaleout.role not in ("worker", "pairs")
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
            # SIGHUP: read the zone and rule files again (as daemons do).
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, service.request_reload
            )
        await service.run(stop)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        log.info("stopped by the operator")
    report = service.report()
    service.close()
    return report
