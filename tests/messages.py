r"""A catalogue of AIS sentences for the tests, made here rather than copied.

Each sample is built either with pyais's encoder (``encode_dict``) or, where
the exact bits matter (codes pyais would remap, short or padded layouts,
binary application data), from bit fields typed from the message tables of
ITU-R M.1371-5 annex 8 with :func:`pack`. The sentence layer (fragments,
checksums, NMEA 4.10 tag blocks) follows IEC 61162-1.

Values are chosen around Sumenep regency (lat about -7, lon about 114, MID
525 Indonesia), so that southern and eastern coordinates exercise the signed
fields. Names are invented.

>>> with_checksum("!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0")
'!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A'
>>> tag_block(c=1428884269, s="b003669952", n=80677)
'\\c:1428884269,s:b003669952,n:80677*2A\\'
"""

from __future__ import annotations

from typing import Any, Final

from pyais.encode import encode_dict

__all__ = [
    "armour",
    "checksum",
    "encoded",
    "fragments",
    "pack",
    "sixbit",
    "tag_block",
    "with_checksum",
]

Field = tuple[int, int]
"""One bit field: (value, width in bits); negative values are two's complement."""


# --- the sentence layer -------------------------------------------------


def checksum(text: str) -> int:
    """NMEA 0183 checksum: XOR of the characters between the delimiters."""
    value = 0
    for char in text.encode("ascii"):
        value ^= char
    return value


def with_checksum(body: str) -> str:
    """Append ``*hh`` to a sentence written from its ``!`` or ``$`` on.

    Args:
        body: The sentence without checksum, such as ``!AIVDM,1,1,,A,...,0``.
    """
    return f"{body}*{checksum(body[1:]):02X}"


def tag_block(**fields: str | int) -> str:
    r"""An NMEA 4.10 tag block with its checksum, fields in the order given.

    >>> tag_block(g="1-2-4372", s="rSUMENEP")
    '\\g:1-2-4372,s:rSUMENEP*1E\\'
    """
    body = ",".join(f"{key}:{value}" for key, value in fields.items())
    return f"\\{body}*{checksum(body):02X}\\"


def fragments(
    payload: str,
    fill_bits: int,
    *,
    talker: str = "AI",
    formatter: str = "VDM",
    channel: str = "A",
    seq_id: int | None = None,
    chars_per_sentence: int = 60,
) -> list[str]:
    """Split an armoured payload into checksummed VDM/VDO sentences.

    The fill bits go on the last fragment only; a multi-sentence message
    without an explicit ``seq_id`` gets 0.
    """
    parts = [
        payload[i : i + chars_per_sentence]
        for i in range(0, len(payload), chars_per_sentence)
    ] or [""]
    count = len(parts)
    if seq_id is None and count > 1:
        seq_id = 0
    sequence = "" if seq_id is None else str(seq_id)
    return [
        with_checksum(
            f"!{talker}{formatter},{count},{number},{sequence},{channel},{part},"
            f"{fill_bits if number == count else 0}"
        )
        for number, part in enumerate(parts, start=1)
    ]


def encoded(
    data: dict[str, Any],
    *,
    talker: str = "AI",
    formatter: str = "VDM",
    channel: str = "A",
    seq_id: int | None = None,
) -> list[str]:
    """Sentences for ``data`` from pyais's encoder (field names as pyais's)."""
    return list(
        encode_dict(
            data,
            talker_id=talker,
            sentence_type=formatter,
            radio_channel=channel,
            seq_id=seq_id,
        )
    )


# --- the payload layer ----------------------------------------------------


def sixbit(text: str, chars: int | None = None) -> Field:
    """Text as six-bit ASCII (table 47), padded with ``@`` to ``chars``."""
    text = text.upper().ljust(chars or len(text), "@")
    value = 0
    for char in text:
        code = ord(char)
        if not 32 <= code <= 95:
            msg = f"{char!r} has no six-bit code"
            raise ValueError(msg)
        value = (value << 6) | (code - 64 if code >= 64 else code)
    return value, 6 * len(text)


def armour(bits: str) -> tuple[str, int]:
    """Six-bit armoured payload of a string of 0/1, and its fill bits."""
    fill = -len(bits) % 6
    bits += "0" * fill
    chars = []
    for i in range(0, len(bits), 6):
        value = int(bits[i : i + 6], 2)
        chars.append(chr(value + 48 if value < 40 else value + 56))
    return "".join(chars), fill


def pack(*fields: Field) -> tuple[str, int]:
    """Armoured payload and fill bits of bit fields given in order."""
    bits = "".join(
        format(value & ((1 << width) - 1), f"0{width}b") for value, width in fields
    )
    return armour(bits)


# --- the catalogue --------------------------------------------------------
# Class A, class B and SAR aircraft positions (types 1, 18, 9), with the
# values the tests expect after decoding.

CLASS_A_MMSI: Final = 525019145
CLASS_A_FIELDS: Final[dict[str, Any]] = {
    "type": 1,
    "mmsi": CLASS_A_MMSI,
    "status": 0,
    "turn": -120.7,  # encodes as ROT_AIS -52
    "speed": 12.3,
    "accuracy": 1,
    "lon": 113.862345,
    "lat": -7.045678,
    "course": 224.5,
    "heading": 215,
    "second": 33,
}
CLASS_A_POSITION: Final = encoded(CLASS_A_FIELDS)


def class_a(**changes: Any) -> list[str]:
    """A class A position report (type 1) with some fields changed."""
    return encoded({**CLASS_A_FIELDS, **changes})


def class_a_turn(turn_raw: int) -> list[str]:
    """Type 1 with the signed ROT field (ROT_AIS, table 45) as given."""
    if abs(turn_raw) >= 127:
        return class_a(turn=turn_raw)  # pyais passes the special values as is
    rate = (turn_raw / 4.733) ** 2
    return class_a(turn=rate if turn_raw >= 0 else -rate)


# Every field at its "not available" value (ITU-R M.1371-5 table 45).
CLASS_A_NOT_AVAILABLE: Final = class_a(
    mmsi=525019146,
    status=15,
    turn=-128,
    speed=102.3,
    lon=181,
    lat=91,
    course=360,
    heading=511,
    second=60,
)

CLASS_B_FIELDS: Final[dict[str, Any]] = {
    "type": 18,
    "mmsi": 525600001,
    "speed": 5.4,
    "accuracy": 0,
    "lon": 113.95,
    "lat": -7.0125,
    "course": 90.0,
    "heading": 88,
    "second": 12,
    "cs": 1,
    "display": 0,
    "dsc": 1,
    "band": 1,
    "msg22": 1,
}
CLASS_B_POSITION: Final = encoded(CLASS_B_FIELDS, channel="B")

CLASS_B_NOT_AVAILABLE: Final = encoded(
    {
        **CLASS_B_FIELDS,
        "mmsi": 525600002,
        "speed": 102.3,
        "lon": 181,
        "lat": 91,
        "course": 360,
        "heading": 511,
        "second": 63,
    }
)

SAR_AIRCRAFT_FIELDS: Final[dict[str, Any]] = {
    "type": 9,
    "mmsi": 111525001,
    "alt": 360,
    "speed": 127,  # whole knots in type 9
    "accuracy": 1,
    "lon": 113.5,
    "lat": -6.75,
    "course": 175.1,
    "second": 43,
}
SAR_AIRCRAFT: Final = encoded(SAR_AIRCRAFT_FIELDS)


def sar_aircraft(speed_kn: int, alt_m: int) -> list[str]:
    """Type 9 with raw speed (knots) and altitude (metres), bits as sent."""
    payload, fill = pack(
        (9, 6),
        (0, 2),
        (111525002, 30),
        (alt_m, 12),
        (speed_kn, 10),
        (1, 1),
        (round(113.5 * 600_000), 28),
        (round(-6.75 * 600_000), 27),
        (1751, 12),
        (43, 6),
        (0, 8),
        (1, 1),
        (0, 3),
        (0, 1),
        (0, 1),
        (0, 20),
    )
    return fragments(payload, fill)


# Class B extended position report (type 19), 312 bits.
CLASS_B_EXTENDED: Final = encoded(
    {
        "type": 19,
        "mmsi": 525600003,
        "speed": 7.1,
        "accuracy": 1,
        "lon": 114.1,
        "lat": -7.1,
        "course": 49.7,
        "heading": 511,
        "second": 15,
        "shipname": "KM SUMENEP JAYA",
        "ship_type": 30,
        "to_bow": 16,
        "to_stern": 8,
        "to_port": 4,
        "to_starboard": 4,
        "epfd": 1,
        "dte": 1,
    },
    channel="B",
)

# Long-range position (type 27): 1/10 minute positions, whole knots and
# degrees.
LONG_RANGE_FIELDS: Final[dict[str, Any]] = {
    "type": 27,
    "mmsi": 525019147,
    "accuracy": 1,
    "raim": 0,
    "status": 0,
    "lon": 114.05,
    "lat": -6.9,
    "speed": 12,
    "course": 45,
    "gnss": 0,
}
LONG_RANGE: Final = encoded(LONG_RANGE_FIELDS, channel="B")


def long_range(
    *, speed_kn: int = 12, course_deg: int = 45, padded_to_slot: bool = False
) -> list[str]:
    """Type 27 from its bit fields (table 84), 96 bits or padded to 168."""
    fields: list[Field] = [
        (27, 6),
        (0, 2),
        (525019148, 30),
        (1, 1),
        (0, 1),
        (0, 4),
        (round(114.05 * 600), 18),
        (round(-6.9 * 600), 17),
        (speed_kn, 6),
        (course_deg, 9),
        (0, 1),
        (0, 1),
    ]
    if padded_to_slot:
        fields.append((0, 72))
    return fragments(*pack(*fields), channel="B")


# Static and voyage data (type 5): 424 bits, two sentences.
STATIC_FIELDS: Final[dict[str, Any]] = {
    "type": 5,
    "mmsi": CLASS_A_MMSI,
    "ais_version": 2,
    "imo": 9123456,
    "callsign": "YBAB2",
    "shipname": "KMP DHARMA BAHARI",
    "ship_type": 60,
    "to_bow": 40,
    "to_stern": 10,
    "to_port": 6,
    "to_starboard": 6,
    "epfd": 1,
    "month": 6,
    "day": 17,
    "hour": 8,
    "minute": 30,
    "draught": 3.2,
    "destination": "KALIANGET",
    "dte": 0,
}
STATIC_VOYAGE: Final = encoded(STATIC_FIELDS, seq_id=3)
STATIC_VOYAGE_ETA_NOT_AVAILABLE: Final = encoded(
    {**STATIC_FIELDS, "month": 0, "day": 0, "hour": 24, "minute": 60}, seq_id=4
)


def static_voyage(ship_type: int, epfd: int, *, seq_id: int = 5) -> list[str]:
    """Type 5 with a ship type and EPFD code as transmitted (any 8/4 bits)."""
    payload, fill = pack(
        (5, 6),
        (0, 2),
        (525019149, 30),
        (2, 2),
        (9123457, 30),
        sixbit("YBAB3", 7),
        sixbit("KM KANGEAN", 20),
        (ship_type, 8),
        (30, 9),
        (8, 9),
        (4, 6),
        (4, 6),
        (epfd, 4),
        (6, 4),
        (17, 5),
        (8, 5),
        (30, 6),
        (25, 8),
        sixbit("SAPEKEN", 20),
        (0, 1),
        (0, 1),
    )
    return fragments(payload, fill, seq_id=seq_id)


# Static data report (type 24), part A (name) and part B (the rest).
STATIC_PART_A: Final = encoded(
    {"type": 24, "mmsi": 525600001, "partno": 0, "shipname": "NELAYAN MAJU"}
)
STATIC_PART_B: Final = encoded(
    {
        "type": 24,
        "mmsi": 525600001,
        "partno": 1,
        "ship_type": 30,
        "vendorid": "ABC",
        "model": 3,
        "serial": 12345,
        "callsign": "YD1234",
        "to_bow": 8,
        "to_stern": 4,
        "to_port": 2,
        "to_starboard": 2,
    }
)

# AIS-SART (MMSI 970xxyyyy): safety text (type 14) and its position report
# with navigational status 14 (IEC 61097-14).
SART_MMSI: Final = 970012345
SART_ACTIVE: Final = encoded({"type": 14, "mmsi": SART_MMSI, "text": "SART ACTIVE"})
SART_TEST: Final = encoded({"type": 14, "mmsi": SART_MMSI, "text": "SART TEST"})
SART_POSITION: Final = class_a(
    mmsi=SART_MMSI, status=14, turn=-128, speed=0, course=360, heading=511
)

# Base station report (type 4).
BASE_STATION: Final = encoded(
    {
        "type": 4,
        "mmsi": 5250001,
        "year": 2026,
        "month": 6,
        "day": 17,
        "hour": 0,
        "minute": 5,
        "second": 30,
        "accuracy": 1,
        "lon": 113.9135,
        "lat": -7.0585,
        "epfd": 7,
    },
    channel="B",
)


# Aids to navigation (type 21): 272 bits plus an optional name extension.
def aid_to_navigation(
    name: str, extension: str = "", *, trailing_flags: bool = True
) -> list[str]:
    """Type 21 (table 82) with a name and the extension, as given.

    Args:
        name: Up to 20 characters; shorter names are padded with ``@``.
        extension: Characters sent after bit 272 (the spec sends only the
            characters needed; anything can be passed here).
        trailing_flags: False sends the 268-bit variant some AtoNs use,
            without RAIM, virtual, assigned and spare bits (and no extension).
    """
    fields: list[Field] = [
        (21, 6),
        (0, 2),
        (995250001, 30),
        (19, 5),
        sixbit(name, 20),
        (1, 1),
        (round(113.9213 * 600_000), 28),
        (round(-7.0642 * 600_000), 27),
        (0, 9),
        (0, 9),
        (0, 6),
        (0, 6),
        (7, 4),
        (24, 6),
        (0, 1),
        (0, 8),
    ]
    if trailing_flags:
        fields += [(0, 1), (1, 1), (0, 1), (0, 1)]
        if extension:
            fields.append(sixbit(extension))
    return fragments(*pack(*fields))


# Binary messages: DAC 1 FI 40 (persons on board, IMO SN.1/Circ.289) as a
# broadcast (type 8) and DAC 235 FI 10 (GLA AtoN monitoring) addressed
# (type 6).
def persons_on_board(persons: int) -> list[str]:
    """Type 8, DAC 1 FI 40: 13 bits of persons and 3 spare bits."""
    payload, fill = pack(
        (8, 6), (0, 2), (525019150, 30), (0, 2), (1, 10), (40, 6), (persons, 13), (0, 3)
    )
    return fragments(payload, fill, channel="B")


def aton_monitoring(
    *, volts_raw: int = 250, racon: int = 2, light: int = 1, health: int = 0
) -> list[str]:
    """Type 6 to a base station, DAC 235 FI 10 (136 bits)."""
    payload, fill = pack(
        (6, 6),
        (0, 2),
        (995250002, 30),
        (0, 2),
        (5250001, 30),
        (0, 1),
        (0, 1),
        (235, 10),
        (10, 6),
        (volts_raw, 10),
        (1, 10),
        (1, 10),
        (racon, 2),
        (light, 2),
        (health, 1),
        (0, 8),
        (0, 1),
        (0, 4),
    )
    return fragments(payload, fill, channel="B", seq_id=4)


# Message type 29 does not exist (ITU-R M.1371-5 defines 1-27).
UNKNOWN_TYPE: Final = fragments(*pack((29, 6), (0, 2), (525019145, 30), (0, 58)))
