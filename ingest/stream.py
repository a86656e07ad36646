"""From received lines to decoded AIS messages, with every rejection counted.

:class:`AisStream` joins framing, assembly and decoding. Each line fed in ends
up either in a decoded :class:`AisMessage` or under a named reason in
:attr:`AisStream.rejected`; a sentence still waiting for its other fragments
is in :attr:`AisStream.pending` until :meth:`AisStream.finish` counts it.
One bad line never stops the stream, and one source's faults never touch
another's fragments.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pantaulaut.errors import IngestError
from pantaulaut.ingest.assembly import Assembler
from pantaulaut.ingest.decode import DecodedPayload, decode_payload
from pantaulaut.ingest.framing import Sentence, frame_line, gatehouse_time
from pantaulaut.model import StationStats

__all__ = ["AisMessage", "AisStream", "Rejection"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AisMessage:
    """A decoded message with where, when and how it was received.

    Attributes:
        payload: The decoded fields.
        sentences: The sentences it was assembled from, as received.
        source: The connection or file it came through.
        time: The data clock: tag block ``c:`` or trailer time, else arrival.
    """

    payload: DecodedPayload
    sentences: tuple[Sentence, ...]
    source: str
    time: datetime
    default_station: str | None = None

    @property
    def mmsi(self) -> int:
        """Source MMSI."""
        return self.payload.mmsi

    @property
    def msg_type(self) -> int:
        """Message type 1-27."""
        return self.payload.msg_type

    @property
    def station(self) -> str:
        """Receiving station: tag block ``s:``, trailer ``r``, else the source."""
        return self.sentences[0].station or self.default_station or self.source

    @property
    def own_ship(self) -> bool:
        """True for VDO (the station's own vessel)."""
        return self.sentences[0].own_ship

    @property
    def raw(self) -> str:
        """The sentences as received, one per line."""
        return "\n".join(s.raw for s in self.sentences)

    def as_output(self) -> dict[str, Any]:
        """Fields for ``pantaulaut decode``: gpsd names, tag fields, receive time."""
        first = self.sentences[0]
        out: dict[str, Any] = dict(self.payload.fields)
        out["_not_available"] = sorted(self.payload.not_available)
        out["talker"] = first.talker
        out["channel"] = first.channel
        out["own_ship"] = int(first.own_ship)
        out["station"] = self.station
        for sentence in self.sentences:
            for key, value in sentence.tags.as_output().items():
                out.setdefault(key, value)
        received = first.receiver_time
        if received is not None:
            out["receiver_time"] = _iso_z(received)
        out["sentences"] = [s.raw for s in self.sentences]
        return out


_STATION_NAME_CHARS = 64
_MAX_STATIONS = 1000
_OTHER_STATIONS = "(other stations)"
# Receive times further ahead of the arrival clock than this, or before AIS
# existed, are taken for corruption.
_FUTURE_TOLERANCE = timedelta(minutes=10)
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _plausible(time: datetime, arrival: datetime) -> bool:
    return _EARLIEST <= time <= arrival + _FUTURE_TOLERANCE


def _iso_z(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    text = text.replace("+00:00", "Z")
    return text.replace(".000Z", "Z")


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected line or sentence, for logs and ``decode``'s stderr."""

    reason: str
    detail: str
    raw: str
    station: str
    sentences: int


class AisStream:
    """Frames, assembles and decodes lines from any number of sources.

    Args:
        assembler: Fragment assembly settings; a default one if None.
        on_reject: Called with every rejection (after it is counted).
        max_line_chars: Longer lines are rejected as ``line_too_long``.
    """

    def __init__(
        self,
        assembler: Assembler | None = None,
        on_reject: Callable[[Rejection], None] | None = None,
        max_line_chars: int = 4096,
    ) -> None:
        self.assembler = assembler or Assembler()
        self.on_reject = on_reject
        self.max_line_chars = max_line_chars
        self.lines = 0
        self.sentences = 0
        self.messages = 0
        self.sentences_in_messages = 0
        self.framing_rejected = 0
        self.rejected: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self.stations: dict[str, StationStats] = {}
        self.station_vessels: dict[str, set[int]] = {}
        self._header_time: dict[str, datetime] = {}
        self.source_stations: dict[str, str] = {}
        self._clock: dict[str, datetime] = {}

    @property
    def pending(self) -> int:
        """Sentences held for multi-sentence messages still incomplete."""
        return self.assembler.pending_sentences

    def feed(self, text: str, source: str, arrival: datetime) -> list[AisMessage]:
        """Process one received line (without its terminator).

        Args:
            text: The line; undecodable bytes already replaced.
            source: Name of the connection or file.
            arrival: When it arrived (UTC); the clock when it carries none.

        Returns:
            The messages completed by this line (none, one, or several).
        """
        self.lines += 1
        if len(text) > self.max_line_chars:
            self.framing_rejected += 1
            self._reject(
                IngestError("line_too_long", f"{len(text)} characters", text[:200]),
                source,
                arrival,
            )
            return []
        framed = frame_line(text)
        self.framing_rejected += len(framed.rejected)
        for error in framed.rejected:
            header = gatehouse_time(error.raw)
            if header is not None:
                self._header_time[source] = header
            self._reject(error, source, arrival)
        self.warnings.update(framed.warnings)
        out: list[AisMessage] = []
        for sentence in framed.sentences:
            message = self._sentence(sentence, source, arrival)
            if message is not None:
                out.append(message)
        return out

    def finish(self) -> None:
        """Count what is still waiting for fragments (end of input)."""
        for error, sentences, source in self.assembler.flush():
            station = sentences[0].station or self.station_of(source)
            self._reject(error, station, None, len(sentences))

    def _sentence(
        self, sentence: Sentence, source: str, arrival: datetime
    ) -> AisMessage | None:
        self.sentences += 1
        time = self._data_time(sentence, source, arrival)
        station = sentence.station or self.station_of(source)
        self._station(station, time).lines += 1

        parts = self.assembler.push(sentence, source, time.timestamp())
        for error, dropped, dropped_source in parts.errors:
            station_of_dropped = dropped[0].station or self.station_of(dropped_source)
            self._reject(error, station_of_dropped, None, len(dropped))
        if parts.complete is None:
            return None

        fragments = parts.complete
        payload_text = "".join(s.payload for s in fragments)
        raw = "\n".join(s.raw for s in fragments)
        try:
            payload = decode_payload(payload_text, fragments[-1].fill_bits, raw)
        except IngestError as exc:
            self._reject(exc, station, time, len(fragments))
            return None
        first = fragments[0].receiver_time
        first_time = first if first and _plausible(first, arrival) else time
        self.messages += 1
        self.sentences_in_messages += len(fragments)
        stats = self._station(station, first_time)
        stats.messages += 1
        heard = self.station_vessels.setdefault(stats.station, set())
        heard.add(payload.mmsi)
        stats.vessel_count = len(heard)
        return AisMessage(payload, tuple(fragments), source, first_time, station)

    def station_of(self, source: str) -> str:
        """The station a source stands for when its lines name none.

        ``source_stations`` maps a configured source name to its station;
        a listener's connections are named ``<source>:<address>`` and take
        the station of their listener.
        """
        station = self.source_stations.get(source)
        if station is None:
            station = self.source_stations.get(source.split(":", 1)[0])
        return station or source

    def _data_time(
        self, sentence: Sentence, source: str, arrival: datetime
    ) -> datetime:
        """The data clock for a sentence.

        A receive time in the tag block, the trailer or a Gatehouse header
        sets the source's clock. A sentence without one (often the second
        fragment of a message whose first carried the tag block) keeps the
        clock its source last gave; a source that never gave one runs on
        arrival time.
        """
        given = sentence.receiver_time or self._header_time.pop(source, None)
        if given is not None and not _plausible(given, arrival):
            # A corrupt or forged c: (its checksum is the sender's own) or a
            # trailer time (no checksum at all) far ahead would stop the data
            # clock's time-based checks; such a time is not believed.
            self.warnings["implausible_time"] += 1
            given = None
        if given is not None:
            self._clock[source] = given
            return given
        return self._clock.get(source, arrival)

    def _station(self, station: str, time: datetime | None) -> StationStats:
        station = station[:_STATION_NAME_CHARS]
        stats = self.stations.get(station)
        if stats is None and len(self.stations) >= _MAX_STATIONS:
            # Every new s: value would otherwise cost memory and a store row
            # for ever; past the bound they are pooled, and that is said.
            if _OTHER_STATIONS not in self.stations:
                log.warning(
                    "more than %d stations: further ones are counted as %r",
                    _MAX_STATIONS,
                    _OTHER_STATIONS,
                )
            station = _OTHER_STATIONS
            stats = self.stations.get(station)
        if stats is None:
            stats = self.stations[station] = StationStats(station)
        if time is not None:
            if stats.first_seen is None or time < stats.first_seen:
                stats.first_seen = time
            if stats.last_seen is None or time > stats.last_seen:
                stats.last_seen = time
        return stats

    def _reject(
        self,
        error: IngestError,
        station: str,
        time: datetime | None,
        sentences: int = 1,
    ) -> None:
        self.rejected[error.reason] += sentences
        stats = self._station(station, time)
        stats.rejected[error.reason] = stats.rejected.get(error.reason, 0) + sentences
        log.debug(
            "rejected (%s) from %s: %s: %r",
            error.reason,
            station,
            error.detail,
            error.raw,
        )
        if self.on_reject is not None:
            self.on_reject(
                Rejection(error.reason, error.detail, error.raw, station, sentences)
            )
