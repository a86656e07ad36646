"""Publish to an MQTT broker without losing what matters while it is away.

Topics, under a configurable prefix (default ``pantaulaut``):

``<prefix>/vessels/<mmsi>``
    The vessel's state after each position report, JSON, QoS 0 and retained
    (a subscriber that joins late gets every vessel's latest state).
``<prefix>/alerts/<severity>/<kind>``
    Every alert raised or updated, JSON, QoS 1 (at least once; the ``id``
    and ``count`` let a subscriber drop repeats).
``<prefix>/raw/<partition>``
    Raw NMEA from the scale-out router to its workers (see
    :mod:`pantaulaut.ingest.router`), QoS 1.

Publishing never holds the pipeline up: records go to an :class:`MqttQueue`
that a background task drains in order, waiting for the broker's
acknowledgement of every QoS 1 message before it lets go of it. While the
broker is away the queue moves what waits to a bounded spool on disk
(:class:`~pantaulaut.store.spool.Spool`) once a second, and sends it, oldest
first, when the broker is back. At the bound, droppable records go first
(raw traffic, oldest first); alerts and distress traffic are never dropped.
A vessel's state is only ever its latest: one per vessel waits, in memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import aiomqtt

from pantaulaut.alerts.book import AlertChange
from pantaulaut.ingest.mqtt import MqttSettings, reraise_if_cancelling
from pantaulaut.model import Alert, Vessel
from pantaulaut.store.spool import Spool, SpoolEntry

__all__ = ["MqttPublisher", "MqttQueue", "alert_topic", "vessel_topic"]

log = logging.getLogger(__name__)

# While the broker is away, what waits in memory goes to the disk spool this
# often: a crash then loses at most this much.
_SPILL_EVERY_S = 1.0


def vessel_topic(prefix: str, mmsi: int) -> str:
    """Topic of one vessel's state."""
    return f"{prefix}/vessels/{mmsi}"


def alert_topic(prefix: str, alert: Alert) -> str:
    """Topic of an alert: by severity, then kind, so that 112 can pick."""
    return f"{prefix}/alerts/{alert.severity.value}/{alert.kind.value}"


def _json(record: Any) -> bytes:
    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value)

    return json.dumps(record, default=default, separators=(",", ":")).encode()


@dataclass(slots=True)
class _Item:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    keep: bool
    meta: dict[str, Any] = field(default_factory=dict)

    def entry(self) -> SpoolEntry:
        meta = {"topic": self.topic, "qos": self.qos, "retain": self.retain}
        return SpoolEntry(
            "mqtt",
            self.payload,
            int(self.meta.get("rows", 1)),
            keep=self.keep,
            meta={**self.meta, **meta},
        )

    @classmethod
    def from_entry(cls, entry: SpoolEntry) -> _Item:
        meta = entry.meta
        return cls(
            str(meta["topic"]),
            entry.data,
            int(meta.get("qos", 1)),
            bool(meta.get("retain", False)),
            entry.keep,
        )


class MqttQueue:
    """An ordered, acknowledged, spilling queue of messages for one broker.

    Args:
        settings: The broker.
        name: How log lines name this queue, such as ``MQTT output``.
        spool: Where messages wait while the broker is away; None keeps
            them in memory only (bounded by ``max_memory``).
        max_memory: Messages held in memory before they go to the spool
            (or, without one, before the oldest droppable ones are dropped).
        max_latest: Latest-state messages held (one per key).
        window: QoS 1 messages in flight at once.

    Attributes:
        published: Messages the broker acknowledged (QoS 1) or took (QoS 0).
        dropped: Messages dropped from memory at the bound (the spool
            counts its own drops in ``spool.dropped``).
    """

    def __init__(
        self,
        settings: MqttSettings,
        name: str = "MQTT output",
        *,
        spool: Spool | None = None,
        max_memory: int = 50_000,
        max_latest: int = 200_000,
        window: int = 32,
    ) -> None:
        self.settings = settings
        self.name = name
        self.spool = spool
        self.max_memory = max_memory
        self.max_latest = max_latest
        self.window = max(1, window)
        self._memory: deque[_Item] = deque()
        self._latest: OrderedDict[Any, _Item] = OrderedDict()
        self._ready = asyncio.Event()
        self._closed = False
        self.connected = asyncio.Event()
        self.published = 0
        self.dropped = 0

    # --- producers ------------------------------------------------------------

    def put(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        keep: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Queue a message; those of one queue are published in this order.

        Args:
            topic: Where to publish.
            payload: What.
            qos: 0 or 1.
            retain: Ask the broker to retain it.
            keep: Never drop it at a bound (alerts, distress traffic).
            meta: Facts for the drop warning: ``rows``, ``stations``,
                ``first`` and ``last`` (ISO times).
        """
        self._memory.append(_Item(topic, payload, qos, retain, keep, meta or {}))
        if self.spool is None and len(self._memory) > self.max_memory:
            self._drop_from_memory()
        self._ready.set()

    def put_latest(
        self, key: Any, topic: str, payload: bytes, *, qos: int = 0, retain: bool = True
    ) -> None:
        """Queue a state that supersedes the one queued before under ``key``.

        Latest states go after every ordered message and never to disk: a
        state lost in a crash is replaced by the next report.
        """
        self._latest.pop(key, None)
        self._latest[key] = _Item(topic, payload, qos, retain, keep=False)
        while len(self._latest) > self.max_latest:
            self._latest.popitem(last=False)
            self.dropped += 1
        self._ready.set()

    @property
    def pending(self) -> int:
        """Messages waiting, in memory and in the spool."""
        spooled = len(self.spool) if self.spool is not None else 0
        return len(self._memory) + len(self._latest) + spooled

    def close(self) -> None:
        """Ask :meth:`run` to return once what is queued has been sent.

        The service closes the queue rather than only cancelling it: a
        cancellation that lands inside aiomqtt's own timeouts can be absorbed
        on Python 3.11, and the service must always stop.
        """
        self._closed = True
        self._ready.set()

    def spill(self) -> None:
        """Move what waits in memory to the spool (on stop, or broker away).

        Only call it while no group is being published (:meth:`run` does so
        itself); what is in the spool is always older than what is in memory.
        """
        if self.spool is None or not self._memory:
            return
        items = list(self._memory)
        self.spool.append([item.entry() for item in items])
        self._memory.clear()
        log.info(
            "%s: %d messages moved to the spool %s while the broker is away",
            self.name,
            len(items),
            self.spool.path,
        )

    # --- the publishing task ------------------------------------------------------

    async def run(self, reconnect_max_s: float = 60.0) -> None:
        """Publish until closed or cancelled, reconnecting with backoff."""
        delay_s = 1.0
        while not self._closed:
            # A cancellation may arrive while aiomqtt is publishing or
            # disconnecting, where it can be absorbed; check before looping.
            reraise_if_cancelling()
            try:
                client = self.settings.client()
                # aiomqtt warns above 10 unacknowledged publishes; a window
                # of them in flight is what this queue wants.
                client.pending_calls_threshold = self.window + 1
                async with client:
                    log.info(
                        "%s: connected to %s:%d",
                        self.name,
                        self.settings.host,
                        self.settings.port,
                    )
                    self.connected.set()
                    delay_s = 1.0
                    await self._drain(client)
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                reraise_if_cancelling()
                log.warning(
                    "%s: broker %s:%d unreachable (%s); %d messages wait; "
                    "retry in %.0f s",
                    self.name,
                    self.settings.host,
                    self.settings.port,
                    exc,
                    self.pending,
                    delay_s,
                )
                await self._wait_away(delay_s)
                delay_s = min(delay_s * 2, reconnect_max_s)
            finally:
                self.connected.clear()
        if self._memory and self.spool is not None:
            # Closed while the broker was away: what waits survives on disk.
            self.spill()

    async def _wait_away(self, delay_s: float) -> None:
        """Wait before reconnecting, moving new messages to disk as they come."""
        loop = asyncio.get_running_loop()
        until = loop.time() + delay_s
        while not self._closed:
            self.spill()
            left = until - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, _SPILL_EVERY_S))

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            if self.spool is not None and len(self.spool):
                head = self.spool.head(self.window)
                await self._publish(client, [_Item.from_entry(e.entry) for e in head])
                self.spool.remove([e.seq for e in head])
                continue
            if self._memory:
                group = [
                    self._memory[i] for i in range(min(self.window, len(self._memory)))
                ]
                await self._publish(client, group)
                for _ in group:
                    self._memory.popleft()
                if self.spool is not None and len(self._memory) > self.max_memory:
                    # The broker takes less than comes in: keep memory bounded.
                    self.spill()
                continue
            if self._latest:
                _, item = self._latest.popitem(last=False)
                await self._publish(client, [item])
                continue
            if self._closed:
                return
            self._ready.clear()
            await self._ready.wait()

    async def _publish(self, client: aiomqtt.Client, group: list[_Item]) -> None:
        # Every publish is handed to paho in order before the first await,
        # so the broker receives them in order; all must be acknowledged
        # before any is let go, or all are sent again after a reconnect.
        results = await asyncio.gather(
            *(
                client.publish(
                    item.topic, item.payload, qos=item.qos, retain=item.retain
                )
                for item in group
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        self.published += len(group)

    def _drop_from_memory(self) -> None:
        """Drop the oldest droppable message (no spool): alerts stay."""
        for index, item in enumerate(self._memory):
            if not item.keep:
                del self._memory[index]
                self.dropped += 1
                if self.dropped % 1000 == 1:
                    log.warning(
                        "%s: queue full while the broker is away: %d messages "
                        "dropped so far, oldest first (alerts are kept)",
                        self.name,
                        self.dropped,
                    )
                return


class MqttPublisher:
    """Publishes vessel states and alerts in the background.

    Args:
        settings: The broker.
        prefix: Topic prefix.
        max_queued: Alerts and other ordered messages held in memory before
            they go to the spool.
        spool: Where alerts wait on disk while the broker is away; None keeps
            them in memory (they are never dropped either way).
    """

    def __init__(
        self,
        settings: MqttSettings,
        prefix: str = "pantaulaut",
        max_queued: int = 50_000,
        spool: Spool | None = None,
    ) -> None:
        self.settings = settings
        self.prefix = prefix.rstrip("/")
        self.queue = MqttQueue(
            settings, "MQTT output", spool=spool, max_memory=max_queued
        )

    @property
    def published(self) -> int:
        """Messages the broker took."""
        return self.queue.published

    @property
    def dropped(self) -> int:
        """Vessel states dropped (more vessels waiting than the bound)."""
        return self.queue.dropped

    def vessel(self, vessel: Vessel) -> None:
        """Queue a vessel's state (superseding one still waiting)."""
        self.queue.put_latest(
            vessel.mmsi, vessel_topic(self.prefix, vessel.mmsi), _json(asdict(vessel))
        )

    def alert(self, change: AlertChange) -> None:
        """Queue an alert that was raised or updated; it is never dropped."""
        record = asdict(change.alert)
        record["new"] = change.new
        self.queue.put(
            alert_topic(self.prefix, change.alert), _json(record), qos=1, keep=True
        )

    def close(self) -> None:
        """Ask :meth:`run` to return once what is queued has been sent."""
        self.queue.close()

    async def run(self, reconnect_max_s: float = 60.0) -> None:
        """Publish queued records until closed or cancelled, reconnecting."""
        await self.queue.run(reconnect_max_s)
