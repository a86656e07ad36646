r"""Scale-out router: the stations' feeds in, one MQTT topic per partition out.

Several pipeline workers share the load when each vessel is always handled by
the same worker: its track, its open alerts and the state its detectors keep
then live in one process. The router is the one process that reads every
station (any source kind: TCP, UDP, files, MQTT); it frames, assembles and
decodes each message just far enough to know its MMSI (with
:class:`~pantaulaut.ingest.stream.AisStream`, so every rejection is counted
once, here), and republishes the message's raw sentences, QoS 1, to

``<prefix>/raw/<k>``, with ``k = MMSI mod partitions``.

Worker ``k`` subscribes to its topic as an ordinary MQTT source and runs the
whole pipeline into the shared store. Nothing else is needed on the wire: the
sentences travel as received, tag blocks included. Where a sentence did not
carry its station (``s:``) or its receive time (``c:``) itself, the router
puts an NMEA 4.10 tag block with the station and the time it decided on in
front of it (``\s:kalianget,c:1781654400.250000*hh\``), so that the worker
files the message under the same station and time as a single process
would; what the sentence did carry always wins, as later tag blocks override
earlier ones.

All fragments of a multi-sentence message travel in one MQTT message, so a
worker never waits for fragments. Messages bound for one partition are
batched, in order, into one MQTT message per :meth:`Router.flush` (the
service flushes 10 ms after its input queue runs empty, and a partition that
reaches ``max_lines`` at once), so a station's one line per MQTT message does
not become one publish per line. Distress traffic (beacon identities,
status 14, safety texts) is marked to be kept: when the broker is away and
the spool is full, other traffic is dropped first, and distress traffic
never.

Per-station statistics are the router's: it sees every line of every
station, where a worker sees a share of them.
"""

from __future__ import annotations

import logging
import time as _time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.ingest.identity import MmsiKind, mmsi_kind
from pantaulaut.ingest.stream import AisMessage, AisStream
from pantaulaut.publish import MqttQueue
from pantaulaut.store.base import Batch

__all__ = [
    "Router",
    "is_distress",
    "partition_of",
    "raw_topic",
    "routed_lines",
]

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BEACONS = frozenset({MmsiKind.SART, MmsiKind.MOB, MmsiKind.EPIRB})
_SAFETY_TEXT_TYPES = frozenset({12, 14})
_POSITION_TYPES_A = frozenset({1, 2, 3})
_AIS_SART_ACTIVE = 14
# Characters that end a tag field or start a sentence; a station name holding
# one would break the tag block it travels in.
_TAG_UNSAFE = str.maketrans(dict.fromkeys(",*\\!$", "_"))


def partition_of(mmsi: int, partitions: int) -> int:
    """The partition (and worker) of a vessel: its MMSI modulo the count.

    MMSIs end in serial digits, so the remainder spreads vessels evenly, and
    anyone can work out by hand which worker has a given vessel.
    """
    return mmsi % partitions


def raw_topic(prefix: str, partition: int) -> str:
    """The topic the router publishes a partition's raw NMEA to."""
    return f"{prefix}/raw/{partition}"


def _epoch_text(time: datetime) -> str:
    # Exact digits from integers: a float would round some microseconds.
    delta = time.astimezone(UTC) - _EPOCH
    seconds = delta // timedelta(seconds=1)
    micro = delta.microseconds
    return str(seconds) if not micro else f"{seconds}.{micro:06d}"


def routed_lines(message: AisMessage) -> list[str]:
    """The message's sentences as lines a worker reads back identically.

    A sentence that lacks its station or receive time gets a tag block with
    the ones the router gave the message in front of it.
    """
    station = message.station.translate(_TAG_UNSAFE)
    time_text = _epoch_text(message.time)
    lines = []
    for sentence in message.sentences:
        fields = []
        if sentence.station is None:
            fields.append(f"s:{station}")
        if sentence.receiver_time is None:
            fields.append(f"c:{time_text}")
        if fields:
            body = ",".join(fields)
            lines.append(f"\\{body}*{nmea_checksum(body):02X}\\{sentence.raw}")
        else:
            lines.append(sentence.raw)
    return lines


def is_distress(message: AisMessage) -> bool:
    """True for traffic that may raise a distress or safety alert.

    Beacon identities (AIS-SART, MOB, EPIRB-AIS), any position report with
    status 14, and safety texts: these are never dropped on the way to the
    workers.
    """
    if mmsi_kind(message.mmsi) in _BEACONS:
        return True
    if message.msg_type in _SAFETY_TEXT_TYPES:
        return True
    return (
        message.msg_type in _POSITION_TYPES_A
        and message.payload.value("status") == _AIS_SART_ACTIVE
    )


class _Pending:
    """Lines waiting for one partition, with what a drop warning needs."""

    __slots__ = ("first", "keep", "last", "lines", "messages", "stations")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.messages = 0
        self.keep = False
        self.stations: Counter[str] = Counter()
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, message: AisMessage, lines: list[str], keep: bool) -> None:
        self.lines.extend(lines)
        self.messages += 1
        self.keep = self.keep or keep
        self.stations[message.station] += 1
        if self.first is None or message.time < self.first:
            self.first = message.time
        if self.last is None or message.time > self.last:
            self.last = message.time

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"rows": self.messages, "stations": dict(self.stations)}
        if self.first is not None and self.last is not None:
            meta["first"] = self.first.isoformat()
            meta["last"] = self.last.isoformat()
        return meta


class Router:
    """Routes every decoded message to the partition of its MMSI.

    Args:
        queue: The broker queue the partitions are published through.
        prefix: Topic prefix (``<prefix>/raw/<k>``).
        partitions: How many workers share the load.
        stream: Framing, assembly and decoding, with their counters; a
            default one if None.
        max_lines: Most lines in one MQTT message; a partition that reaches
            it is published at once.

    Attributes:
        routed: Messages routed, by partition.
        clock: The latest message time seen (the data clock).
    """

    def __init__(
        self,
        queue: MqttQueue,
        prefix: str,
        partitions: int,
        stream: AisStream | None = None,
        max_lines: int = 500,
    ) -> None:
        if partitions < 1:
            msg = f"partitions must be 1 or more, not {partitions}"
            raise ValueError(msg)
        self.queue = queue
        self.prefix = prefix.rstrip("/")
        self.partitions = partitions
        self.stream = stream or AisStream()
        self.max_lines = max_lines
        self.routed: Counter[int] = Counter()
        self.clock: datetime | None = None
        self._pending = [_Pending() for _ in range(partitions)]
        self._topics = [raw_topic(self.prefix, k) for k in range(partitions)]
        self._stations_written = (-1, -1)
        self._started = _time.perf_counter()

    def feed(self, text: str, source: str, arrival: datetime) -> None:
        """Take one received line; route the messages it completes."""
        for message in self.stream.feed(text, source, arrival):
            self.route(message)

    def route(self, message: AisMessage) -> None:
        """Queue one decoded message for its partition."""
        k = partition_of(message.mmsi, self.partitions)
        pending = self._pending[k]
        pending.add(message, routed_lines(message), is_distress(message))
        self.routed[k] += 1
        if self.clock is None or message.time > self.clock:
            self.clock = message.time
        if len(pending.lines) >= self.max_lines:
            self._publish(k)

    def flush(self) -> None:
        """Hand every partition's waiting lines to the broker queue."""
        for k in range(self.partitions):
            if self._pending[k].lines:
                self._publish(k)

    def finish(self) -> None:
        """End of input: count fragments that never completed, then flush."""
        self.stream.finish()
        self.flush()

    def station_batch(self) -> Batch:
        """Station statistics to store, when anything arrived since the last."""
        seen = (self.stream.lines, sum(self.stream.rejected.values()))
        if seen == self._stations_written:
            return Batch()
        self._stations_written = seen
        return Batch(stations=dict(self.stream.stations))

    def report(self) -> dict[str, Any]:
        """What the router saw and where it sent it."""
        return {
            "lines": self.stream.lines,
            "sentences": self.stream.sentences,
            "messages": self.stream.messages,
            "rejected": dict(sorted(self.stream.rejected.items())),
            "warnings": dict(sorted(self.stream.warnings.items())),
            "routed": {str(k): self.routed[k] for k in range(self.partitions)},
            "seconds": round(_time.perf_counter() - self._started, 3),
        }

    def _publish(self, k: int) -> None:
        pending = self._pending[k]
        self._pending[k] = _Pending()
        payload = "\n".join(pending.lines).encode("ascii", "replace")
        self.queue.put(
            self._topics[k], payload, qos=1, keep=pending.keep, meta=pending.meta()
        )
