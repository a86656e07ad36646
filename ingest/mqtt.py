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
        persistent: Ask the broker to keep the session (subscriptions and
            QoS 1 messages not yet delivered) while the client is away; needs
            a ``client_id``. A scale-out worker uses it, so that its partition
            waits at the broker while it restarts.
    """

    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    client_id: str = ""
    persistent: bool = False

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
            clean_session=False if self.persistent and self.client_id else None,
            tls_context=context,
            timeout=10.0,
        )


def lines_from_payload(
    payload: bytes, max_chars: int = 4096
) -> tuple[list[str], datetime | None]:
    """NMEA lines in one MQTT message, and its reception time if it gives one.

    Never raises: a payload that is not what a station sends is handed on as
    one line, to be counted under its reason like any other bad line.
    """
    text = payload.lstrip()
    if text.startswith(b"{"):
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return [payload.decode("ascii", "replace")[: max_chars + 1]], None
        return _aiscatcher_lines(document, max_chars), _received(document)
    splitter = LineSplitter(max_chars)
    return [*splitter.feed(payload), *splitter.close()], None


def _aiscatcher_lines(document: Any, max_chars: int) -> list[str]:
    nmea = document.get("nmea") if isinstance(document, dict) else None
    if isinstance(nmea, str):
        nmea = [nmea]
    if not isinstance(nmea, list) or not all(isinstance(s, str) for s in nmea):
        return [json.dumps(document)[: max_chars + 1]]
    lines = [s[: max_chars + 1] for s in nmea]
    station = _station_name(document.get("station"))
    if station:
        # The station travels as an NMEA 4.10 tag block, as a receiver
        # that supports them would have sent it.
        return [_tagged(line, station) for line in lines]
    return lines


def _station_name(value: Any) -> str:
    """A station name safe to put in a tag block (no delimiters), or empty."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    text = str(value)
    return "".join(
        c for c in text if c.isascii() and c.isprintable() and c not in ",*\\!$:"
    )[:64]


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
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC) if value > 0 else None
    except (OverflowError, OSError, ValueError):
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
    if not settings.username and not settings.tls:
        log.warning(
            "source %s: broker %s:%d without user name or TLS: anyone who can "
            "publish there can inject sentences",
            name,
            settings.host,
            settings.port,
        )
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
    source = name
    for line in lines:
        sink(line, source, arrival)
