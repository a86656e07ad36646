r"""NMEA 0183 framing: from one received line to checked AIS sentences.

A line as it arrives from a station may hold, in this order, text the
receiver put in front (a time stamp, a log prefix), one or more NMEA 4.10 tag
blocks (``\\s:station,c:1700000000*hh\\``), the sentence itself
(``!AIVDM,1,1,,A,<payload>,0*hh``), and receiver fields after the checksum
(``,1630526405`` or the USCG ``,d-109,S2105,...,r003669946,1325394060``).
Some feeds also run several sentences together with no line break.

The characters ``!``, ``$`` and ``\\`` never occur inside a sentence body or a
six-bit payload (ITU-R M.1371-5 annex 8, table 44 uses ASCII 48-87 and 96-119),
so each of them safely marks where a new sentence or tag block starts.

This module only frames and checks; assembling fragments and decoding the
payload happen in :mod:`pantaulaut.ingest.assembly` and
:mod:`pantaulaut.ingest.decode`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pantaulaut.errors import FramingError

__all__ = [
    "Sentence",
    "TagBlock",
    "frame_line",
    "gatehouse_time",
    "line_outcome_without_sentence",
    "nmea_checksum",
    "parse_tag_blocks",
]

# Where a sentence starts: its tag blocks, then "!" or "$" and an address
# field (talker and formatter, or a proprietary "P..." address) up to the
# first comma. A "!" inside a damaged payload is not followed by an address
# and stays part of the sentence, whose checksum then fails.
_ADDRESS = re.compile(r"[!$][^,!$\\*\s]{2,8},")
_TAGS_PREFIX = re.compile(r"(?:\\[^\\]*\\)*")
_TAG_BLOCK = re.compile(r"\\([^\\]*)\\")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_EPOCH = re.compile(r"\d{10}(?:\d{3})?(?:\.\d+)?")

# Unix times in milliseconds have 13 digits until the year 2286; seconds
# have 10 until then. Anything above this bound is read as milliseconds.
_MS_THRESHOLD = 100_000_000_000

_AIS_FORMATTERS = frozenset({"VDM", "VDO"})


def nmea_checksum(text: str) -> int:
    r"""XOR of the characters between the start delimiter and ``*``.

    NMEA 0183 section 5.2.1: the checksum covers every character after
    ``$``/``!`` (or after the opening ``\\`` of a tag block) up to, not
    including, the ``*``.

    >>> hex(nmea_checksum("AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0"))
    '0x4a'
    """
    value = 0
    for char in text.encode("ascii", "replace"):
        value ^= char
    return value


@dataclass(frozen=True, slots=True)
class TagBlock:
    """Fields of the NMEA 4.10 tag blocks in front of one sentence.

    Attributes:
        fields: Every ``key:value`` pair, later blocks overriding earlier ones.
        receiver_time: ``c:`` as a UTC datetime (seconds or milliseconds).
        station: ``s:``, the source station that received the sentence.
        group: ``g:`` as (sentence number, sentence count, group id).
        bad_checksum: True when a block failed its checksum; its fields were
            discarded and the fault is counted as a warning.
    """

    fields: dict[str, str] = field(default_factory=dict)
    receiver_time: datetime | None = None
    station: str | None = None
    group: tuple[int, int, str] | None = None
    bad_checksum: bool = False

    def as_output(self) -> dict[str, str | int]:
        """Tag fields as ``tag.<key>`` entries, numbers where the spec says so."""
        out: dict[str, str | int] = {}
        for key, value in self.fields.items():
            if key in ("c", "n", "r") and _is_digits(value):
                out[f"tag.{key}"] = int(value)
            elif key == "g" and self.group is not None:
                out["tag.g"] = self.group[2]
            else:
                out[f"tag.{key}"] = value
        return out


def _epoch_to_datetime(text: str) -> datetime | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if value >= _MS_THRESHOLD:
        value /= 1000.0
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_tag_blocks(text: str) -> TagBlock:
    """Parse the tag blocks that stand in front of a sentence.

    Each block's checksum is verified (NMEA 4.10 section 7.10). A block that
    fails it, or that has no checksum, is left out; the sentence behind it is
    still used, since it carries its own checksum.

    Args:
        text: The tag blocks, backslashes included (may be empty).

    Returns:
        The merged fields; ``bad_checksum`` tells whether a block was dropped.
    """
    fields: dict[str, str] = {}
    bad = False
    for match in _TAG_BLOCK.finditer(text):
        body, star, given = match.group(1).rpartition("*")
        if not star or not _HEX2.fullmatch(given):
            bad = True
            continue
        if nmea_checksum(body) != int(given, 16):
            bad = True
            continue
        for item in body.split(","):
            key, colon, value = item.partition(":")
            if colon and key:
                fields[key] = value
    return _tag_block_from_fields(fields, bad)


def _tag_block_from_fields(fields: dict[str, str], bad: bool) -> TagBlock:
    receiver_time = None
    if "c" in fields:
        receiver_time = _epoch_to_datetime(fields["c"])
    group = None
    if "g" in fields:
        # g:<sentence number>-<sentence count>-<group id> (NMEA 4.10, 7.10.4)
        parts = fields["g"].split("-")
        if len(parts) == 3 and _is_digits(parts[0]) and _is_digits(parts[1]):
            group = (int(parts[0]), int(parts[1]), parts[2])
    return TagBlock(
        fields=fields,
        receiver_time=receiver_time,
        station=fields.get("s") or None,
        group=group,
        bad_checksum=bad,
    )


@dataclass(frozen=True, slots=True)
class Sentence:
    """One checked AIS sentence (VDM or VDO), not yet assembled or decoded.

    Attributes:
        raw: The text as received: tag blocks, sentence and trailer.
        talker: Two-character talker, such as ``AI``, ``AB`` or ``BS``.
        own_ship: True for VDO (the receiving station's own vessel).
        fragment_count: Sentences in the message (field 1, 1-9).
        fragment_number: This sentence's place (field 2).
        sequence_id: Sequential message id (field 3), None when empty.
        channel: AIS channel as given (``A``, ``B``, ``1``, ``2`` or empty).
        payload: Six-bit armoured payload (field 5).
        fill_bits: Fill bits of the last six-bit character (field 6, 0-5).
        tags: The tag blocks in front of the sentence.
        trailer: Receiver fields after the checksum, if any.
        trailer_time: Receive time read from the trailer, if any.
        trailer_station: Station id read from a USCG ``r`` trailer field.
    """

    raw: str
    talker: str
    own_ship: bool
    fragment_count: int
    fragment_number: int
    sequence_id: int | None
    channel: str
    payload: str
    fill_bits: int
    tags: TagBlock
    trailer: str = ""
    trailer_time: datetime | None = None
    trailer_station: str | None = None

    @property
    def receiver_time(self) -> datetime | None:
        """Receive time from the tag block, else from the trailer."""
        return self.tags.receiver_time or self.trailer_time

    @property
    def station(self) -> str | None:
        """Receiving station from the tag block, else from the trailer."""
        return self.tags.station or self.trailer_station


@dataclass(slots=True)
class FramedLine:
    """What one received line holds.

    Attributes:
        sentences: AIS sentences that passed framing checks.
        rejected: Errors, one per segment that could not be used.
        warnings: Faults that did not cost the sentence (reason keys).
    """

    sentences: list[Sentence] = field(default_factory=list)
    rejected: list[FramingError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def line_outcome_without_sentence(text: str) -> FramingError:
    """Name why a line that holds no sentence at all was not used."""
    stripped = text.strip()
    if not stripped:
        return FramingError("blank_line", "empty line", text)
    if stripped.startswith("#"):
        return FramingError("comment", "comment line", text)
    if _TAG_BLOCK.search(stripped):
        return FramingError(
            "tag_block_without_sentence", "tag block with no sentence after it", text
        )
    return FramingError("no_sentence", "no NMEA sentence in the line", text)


def frame_line(text: str) -> FramedLine:
    """Find and check every sentence in one received line.

    Args:
        text: The line without its terminator (CR, LF or CRLF). Bytes that
            are not ASCII should have been replaced before the call.

    Returns:
        The AIS sentences found, and one error per unusable segment. A line
        with no sentence at all yields exactly one error.
    """
    framed = FramedLine()
    starts = _sentence_starts(text)
    if text.lstrip().startswith("#"):
        # A comment in recordings and decoder test logs (gpsd, pyais); a
        # sentence quoted in it is an example, not traffic.
        starts = []
    if not starts:
        framed.rejected.append(line_outcome_without_sentence(text))
        return framed
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        segment = text[start:end]
        prefix = _TAGS_PREFIX.match(segment)
        tags_end = prefix.end() if prefix else 0
        tags_text, body = segment[:tags_end], segment[tags_end:]
        try:
            sentence = _parse_segment(tags_text, body)
        except FramingError as exc:
            framed.rejected.append(exc)
            continue
        if sentence.tags.bad_checksum:
            framed.warnings.append("tag_block_checksum")
        framed.sentences.append(sentence)
    return framed


def _sentence_starts(text: str) -> list[int]:
    """Where each sentence, with the tag blocks right in front of it, starts.

    The address field is found first and the tag blocks are then walked
    backwards from it, never past the previous sentence, so the work stays
    linear in the line's length whatever it holds (a regular expression
    with the tag blocks in front backtracks quadratically on a line of
    backslashes).
    """
    starts: list[int] = []
    floor = 0
    for match in _ADDRESS.finditer(text):
        start = match.start()
        while start > floor and text[start - 1] == "\\":
            opening = text.rfind("\\", floor, start - 1)
            if opening < 0:
                break
            start = opening
        starts.append(start)
        floor = match.end()
    return starts


def _is_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²" and other digits."""
    return text.isascii() and text.isdigit()


def gatehouse_time(raw: str) -> datetime | None:
    """Receive time from a Gatehouse ``$PGHP,1,...`` header, if ``raw`` is one.

    Gatehouse (DMA) feeds put ``$PGHP,1,<year>,<month>,<day>,<hour>,<minute>,
    <second>,<millisecond>,...`` on the line before each sentence; it is the
    only receive time those recordings carry.
    """
    start = raw.find("$PGHP,1,")
    if start < 0:
        return None
    fields = raw[start:].split(",")[2:9]
    if len(fields) < 7 or not all(_is_digits(f) for f in fields):
        return None
    year, month, day, hour, minute, second, milli = (int(f) for f in fields)
    try:
        return datetime(
            year, month, day, hour, minute, second, milli * 1000, tzinfo=UTC
        )
    except ValueError:
        return None


def _split_checksum(raw: str, body: str) -> tuple[str, str]:
    """Return (content, trailer) after checking the sentence checksum."""
    content, star, rest = body[1:].partition("*")
    if not star:
        raise FramingError("missing_checksum", "sentence has no '*hh' checksum", raw)
    given = rest[:2]
    if not _HEX2.fullmatch(given):
        raise FramingError("missing_checksum", f"checksum {given!r} is not hex", raw)
    computed = nmea_checksum(content)
    if computed != int(given, 16):
        raise FramingError(
            "checksum_mismatch",
            f"computed {computed:02X}, sentence says {given.upper()}",
            raw,
        )
    return content, rest[2:]


def _parse_segment(tags_text: str, body: str) -> Sentence:
    raw = (tags_text + body).rstrip()
    body = body.rstrip()
    address = body[1:6]
    if len(address) < 5 or address[2:] not in _AIS_FORMATTERS:
        # Checked before the checksum: a $GPRMC between AIS sentences is not
        # an error of the AIS feed, only something else on the same wire.
        raise FramingError(
            "non_ais_sentence", f"{address or body!r} is not VDM/VDO", raw
        )
    content, trailer = _split_checksum(raw, body)
    fields = content.split(",")
    if len(fields) != 7:
        raise FramingError(
            "malformed_sentence", f"{len(fields) - 1} fields, VDM/VDO has 6", raw
        )
    tags = parse_tag_blocks(tags_text) if tags_text else TagBlock()
    trailer_time, trailer_station = _read_trailer(trailer)
    count, number, sequence = _fragment_fields(raw, fields[1], fields[2], fields[3])
    return Sentence(
        raw=raw,
        talker=address[:2],
        own_ship=address[2:] == "VDO",
        fragment_count=count,
        fragment_number=number,
        sequence_id=sequence,
        channel=_channel(raw, fields[4]),
        payload=fields[5],
        fill_bits=_fill_bits(raw, fields[6]),
        tags=tags,
        trailer=trailer,
        trailer_time=trailer_time,
        trailer_station=trailer_station,
    )


def _fragment_fields(
    raw: str, count_text: str, number_text: str, sequence_text: str
) -> tuple[int, int, int | None]:
    # IEC 61162-1 VDM: fragment count 1-9, fragment number 1-count,
    # sequential message id 0-9 or empty for single-sentence messages.
    if not (_is_digits(count_text) and _is_digits(number_text)):
        raise FramingError(
            "malformed_sentence",
            f"fragment fields {count_text!r},{number_text!r} are not numbers",
            raw,
        )
    count, number = int(count_text), int(number_text)
    if not 1 <= count <= 9 or not 1 <= number <= count:
        raise FramingError(
            "bad_fragment_number", f"fragment {number} of {count} is impossible", raw
        )
    if sequence_text == "":
        return count, number, None
    if not _is_digits(sequence_text) or len(sequence_text) > 2:
        raise FramingError(
            "malformed_sentence", f"sequence id {sequence_text!r} is not 0-9", raw
        )
    return count, number, int(sequence_text)


def _channel(raw: str, text: str) -> str:
    if len(text) > 2:
        raise FramingError("malformed_sentence", f"channel {text!r} is too long", raw)
    return text


def _fill_bits(raw: str, text: str) -> int:
    if not (len(text) == 1 and _is_digits(text) and int(text) <= 5):
        raise FramingError("bad_fill_bits", f"fill bits {text!r} are not 0-5", raw)
    return int(text)


def _read_trailer(trailer: str) -> tuple[datetime | None, str | None]:
    """Read a receive time and a station id from receiver trailer fields.

    Seen in the wild: ``,1630526405,1630526406`` (raishub: receive and
    forward time), ``,1327992119173`` (exactEarth: milliseconds) and the USCG
    form ``,d-109,S2105,t050056.00,T56.13,r003669946,1325394060,1325394001``
    where ``r`` names the receiver.
    """
    if not trailer:
        return None, None
    time = None
    station = None
    for item in trailer.split(","):
        if time is None and _EPOCH.fullmatch(item):
            time = _epoch_to_datetime(item)
        elif station is None and len(item) > 1 and item[0] == "r":
            station = item[1:]
    return time, station
