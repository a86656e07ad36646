"""MQTT as a source of AIS lines and as an output of vessels and alerts.

Stations and receivers such as AIS-catcher publish to a broker; pantaulaut
subscribes (QoS 1, so a message the broker accepted is not lost between it
and us) and hands each NMEA line on like any other source. Two payload forms
are understood:

- raw NMEA: one or more sentences, one per line, as a TCP feed would send;
- AIS-catcher JSON: an object whose ``nmea`` field holds the sentences
  (a list or one string), optionally with ``rxuxtime`` (Unix seconds of
  reception) and ``station``.

A lost broker connection is waited out: the client reconnects with a delay
that doubles up to a bound. The :class:`MqttPublisher` sends decoded vessel
reports and alerts back to the broker for other systems.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiomqtt

from pantaulaut.errors import SourceError
from pantaulaut.ingest.sources import LineSink, LineSplitter

__all__ = [
    "MqttSettings",
    "lines_from_payload",
    "reraise_if_cancelling",
    "run_mqtt_source",
]

log = logging.getLogger(__name__)

_QOS_AT_LEAST_ONCE = 1


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """How to reach a broker.

    Attributes:
        host: Broker address.
        port: Broker port (1883, or 8883 with TLS).
        username: User name, or empty for none.
        password: Password, or empty for none.
        tls: Use TLS; ``ca_file`` names the CA bundle (system CAs if empty).
        client_id: MQTT client identifier; empty lets the broker choose.
    """

    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    client_id: str = ""

    def client(self) -> aiomqtt.Client:
        """An aiomqtt client for these settings (not yet connected)."""
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=self.ca_file or None)
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username or None,
            password=self.password or None,
            identifier=self.client_id or None,
            tls_context=context,
            timeout=10.0,
        )


def lines_from_payload(payload: bytes, max_chars: int = 4096) -> tuple[list[str], Any]:
    """NMEA lines in one MQTT message, and its reception time if it gives one.

    Returns:
        The lines, and a UTC datetime or None.
    """
    text = payload.lstrip()
    if text.startswith(b"{"):
        try:
            document = json.loads(text)
        except ValueError:
            return [payload.decode("ascii", "replace")[: max_chars + 1]], None
        return _aiscatcher_lines(document), _received(document)
    splitter = LineSplitter(max_chars)
    return [*splitter.feed(payload), *splitter.close()], None


def _aiscatcher_lines(document: Any) -> list[str]:
    if not isinstance(document, dict):
        return [json.dumps(document)[:200]]
    nmea = document.get("nmea", [])
    sentences = [nmea] if isinstance(nmea, str) else list(nmea)
    station = document.get("station")
    if isinstance(station, str | int) and str(station):
        # The station travels as an NMEA 4.10 tag block, as a receiver
        # that supports them would have sent it.
        return [_tagged(str(s), str(station)) for s in sentences]
    return [str(s) for s in sentences]


def _tagged(sentence: str, station: str) -> str:
    if sentence.startswith("\\"):
        return sentence
    body = f"s:{station}"
    checksum = 0
    for char in body.encode("ascii", "replace"):
        checksum ^= char
    return f"\\{body}*{checksum:02X}\\{sentence}"


def _received(document: Any) -> datetime | None:
    if not isinstance(document, dict):
        return None
    value = document.get("rxuxtime")
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(float(value), tz=UTC)
    return None


async def run_mqtt_source(
    name: str,
    settings: MqttSettings,
    topics: Iterable[str],
    sink: LineSink,
    *,
    max_chars: int = 4096,
    reconnect_max_s: float = 60.0,
    subscribed: asyncio.Event | None = None,
) -> None:
    """Subscribe to topics and hand every NMEA line to ``sink``; until cancelled."""
    topics = list(topics)
    if not topics:
        msg = f"source {name}: no MQTT topics to subscribe to"
        raise SourceError(msg)
    delay_s = 1.0
    while True:
        reraise_if_cancelling()  # see MqttPublisher.run
        try:
            async with settings.client() as client:
                for topic in topics:
                    await client.subscribe(topic, qos=_QOS_AT_LEAST_ONCE)
                log.info(
                    "source %s: subscribed to %s on %s:%d",
                    name,
                    ", ".join(topics),
                    settings.host,
                    settings.port,
                )
                delay_s = 1.0
                if subscribed is not None:
                    subscribed.set()
                async for message in client.messages:
                    _deliver(name, message, sink, max_chars)
        except aiomqtt.MqttError as exc:
            reraise_if_cancelling()
            log.warning(
                "source %s: broker %s:%d unreachable (%s); retry in %.0f s",
                name,
                settings.host,
                settings.port,
                exc,
                delay_s,
            )
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, reconnect_max_s)


def reraise_if_cancelling() -> None:
    """Re-raise the cancellation a broker error stands in for, if any.

    Leaving ``async with aiomqtt.Client`` on cancellation disconnects, and a
    failing disconnect raises ``MqttError``, which would otherwise be taken for
    a lost broker and retried for ever, and the service would never stop.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _deliver(
    name: str, message: aiomqtt.Message, sink: LineSink, max_chars: int
) -> None:
    payload = message.payload
    if not isinstance(payload, bytes | bytearray):
        payload = str(payload).encode()
    lines, received = lines_from_payload(bytes(payload), max_chars)
    arrival = received or datetime.now(UTC)
    source = f"{name}:{message.topic.value}"
    for line in lines:
        sink(line, source, arrival)
