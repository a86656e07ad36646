"""Publish decoded vessel reports and alerts to an MQTT broker.

Topics, under a configurable prefix (default ``pantaulaut``):

``<prefix>/vessels/<mmsi>``
    The vessel's state after each position report, JSON, QoS 0 and retained
    (a subscriber that joins late gets every vessel's latest state).
``<prefix>/alerts/<severity>/<kind>``
    Every alert raised or updated, JSON, QoS 1 (at least once; the ``id``
    and ``count`` let a subscriber drop repeats).

Publishing never holds the pipeline up: records go on a bounded queue that a
background task drains; if the broker is away the queue fills, and what
overflows is counted and logged, oldest vessel reports first, alerts last.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import asdict
from datetime import datetime
from typing import Any

import aiomqtt

from pantaulaut.alerts.book import AlertChange
from pantaulaut.ingest.mqtt import MqttSettings, reraise_if_cancelling
from pantaulaut.model import Alert, Vessel

__all__ = ["MqttPublisher", "alert_topic", "vessel_topic"]

log = logging.getLogger(__name__)


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


class MqttPublisher:
    """Queues vessel reports and alerts and publishes them in the background.

    Args:
        settings: The broker.
        prefix: Topic prefix.
        max_queued: Most records waiting while the broker is away.
    """

    def __init__(
        self,
        settings: MqttSettings,
        prefix: str = "pantaulaut",
        max_queued: int = 50_000,
    ) -> None:
        self.settings = settings
        self.prefix = prefix.rstrip("/")
        self.max_queued = max_queued
        self._vessels: deque[tuple[str, bytes]] = deque()
        self._alerts: deque[tuple[str, bytes]] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self.published = 0
        self.dropped = 0

    def vessel(self, vessel: Vessel) -> None:
        """Queue a vessel's state."""
        self._push(
            self._vessels, vessel_topic(self.prefix, vessel.mmsi), asdict(vessel)
        )

    def alert(self, change: AlertChange) -> None:
        """Queue an alert that was raised or updated."""
        record = asdict(change.alert)
        record["new"] = change.new
        self._push(self._alerts, alert_topic(self.prefix, change.alert), record)

    def _push(self, queue: deque[tuple[str, bytes]], topic: str, record: Any) -> None:
        queue.append((topic, _json(record)))
        while len(self._vessels) + len(self._alerts) > self.max_queued:
            # Vessel states are superseded by the next report; alerts are not.
            victim = self._vessels if self._vessels else self._alerts
            victim.popleft()
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("MQTT output queue full: %d records dropped", self.dropped)
        self._ready.set()

    def close(self) -> None:
        """Ask :meth:`run` to return once what is queued has been sent.

        The service closes the publisher rather than only cancelling it:
        a cancellation that lands inside aiomqtt's own timeouts can be
        absorbed on Python 3.11, and the service must always stop.
        """
        self._closed = True
        self._ready.set()

    async def run(self, reconnect_max_s: float = 60.0) -> None:
        """Publish queued records until closed or cancelled, reconnecting."""
        delay_s = 1.0
        while not self._closed:
            # A cancellation may arrive while aiomqtt is publishing or
            # disconnecting, where it can be absorbed; check before looping.
            reraise_if_cancelling()
            try:
                async with self.settings.client() as client:
                    log.info(
                        "publishing to MQTT %s:%d under %s/",
                        self.settings.host,
                        self.settings.port,
                        self.prefix,
                    )
                    delay_s = 1.0
                    await self._drain(client)
            except aiomqtt.MqttError as exc:
                reraise_if_cancelling()
                log.warning(
                    "MQTT output: broker %s:%d unreachable (%s); retry in %.0f s",
                    self.settings.host,
                    self.settings.port,
                    exc,
                    delay_s,
                )
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, reconnect_max_s)

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            await self._ready.wait()
            if self._closed and not self._alerts and not self._vessels:
                return
            while self._alerts:
                topic, payload = self._alerts[0]
                await client.publish(topic, payload, qos=1)
                self._alerts.popleft()
                self.published += 1
            while self._vessels and not self._alerts:
                topic, payload = self._vessels[0]
                await client.publish(topic, payload, qos=0, retain=True)
                self._vessels.popleft()
                self.published += 1
            if not self._alerts and not self._vessels:
                self._ready.clear()
