"""Decode an assembled AIS payload, with the checks an emergency desk needs.

pyais does the bit-level decoding. Around it this module adds what pyais
leaves lenient (see the project's notes on its defaults):

- the payload's characters must be six-bit armour (ITU-R M.1371-5, annex 8,
  table 44) and its length must fit the message type (table ``_BIT_LENGTHS``);
- "not available" values (lat 91, lon 181, speed 102.3, heading 511, ...) are
  listed in ``not_available`` so that nothing downstream mistakes them for
  numbers;
- flags come out as 0/1 as transmitted, binary data as hex, and a few
  application-specific messages pyais keeps as raw bits are decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyais.bit_vector import bit_vector
from pyais.exceptions import AISBaseException
from pyais.messages import MSG_CLASS

from pantaulaut.errors import DecodeError
from pantaulaut.ingest.identity import mmsi_is_valid

__all__ = ["DecodedPayload", "decode_payload", "payload_bits"]

# (minimum, maximum) payload length in bits per message type, from the
# message tables of ITU-R M.1371-5 annex 8. The minimum is the nominal
# length, or for variable messages the shortest that still carries every
# field the desk uses. Transmitters that pad with up to six bits without
# counting them as fill bits are common (162-bit type 24 part A, 426-bit
# type 5), so up to one six-bit character over the maximum is accepted.
_BIT_LENGTHS: dict[int, tuple[int, int]] = {
    1: (168, 168),
    2: (168, 168),
    3: (168, 168),
    4: (168, 168),
    5: (420, 424),  # some class A units send 420 bits (last two bits lost)
    6: (88, 1008),
    7: (72, 168),
    8: (56, 1008),
    9: (168, 168),
    10: (72, 72),
    11: (168, 168),
    12: (72, 1008),
    13: (72, 168),
    14: (40, 1008),
    15: (88, 160),
    16: (96, 144),
    17: (80, 816),
    18: (168, 168),
    19: (312, 312),
    20: (72, 160),
    21: (260, 360),  # shorter than 272 only loses the trailing flags
    22: (168, 168),
    23: (160, 160),
    24: (160, 168),
    25: (40, 168),
    26: (60, 1064),
    27: (96, 168),  # many units pad it to a full slot of 168 bits
}
_PAD_TOLERANCE_BITS = 6

# Six-bit armour: ASCII 48-87 and 96-119 map to 0-63.
_ARMOUR = frozenset(chr(c) for c in (*range(48, 88), *range(96, 120)))

_POSITION_TYPES = frozenset({1, 2, 3, 4, 9, 11, 17, 18, 19, 21, 27})


@dataclass(frozen=True, slots=True)
class DecodedPayload:
    """Fields of one AIS message, as transmitted.

    Attributes:
        msg_type: Message id 1-27.
        mmsi: Source MMSI (30-bit user id).
        bits: Payload length in bits after fill bits.
        fields: Decoded fields in gpsd/pyais names; numbers as decoded.
        not_available: Names of fields holding a "not available" value.
    """

    msg_type: int
    mmsi: int
    bits: int
    fields: dict[str, Any]
    not_available: frozenset[str]

    def value(self, name: str) -> Any:
        """A field's value, or None when absent or not available."""
        if name in self.not_available:
            return None
        return self.fields.get(name)


def payload_bits(payload: str, fill_bits: int) -> int:
    """Length of a six-bit payload in bits."""
    return len(payload) * 6 - fill_bits


def _armour_value(char: str) -> int:
    value = ord(char) - 48
    return value - 8 if value > 40 else value


def decode_payload(payload: str, fill_bits: int, raw: str = "") -> DecodedPayload:
    """Check and decode one assembled payload.

    Args:
        payload: The joined six-bit payload of all fragments.
        fill_bits: Fill bits of the last fragment.
        raw: The sentences, for error messages.

    Raises:
        DecodeError: With reason ``empty_payload``, ``bad_payload_char``,
            ``unknown_message_type``, ``payload_too_short``,
            ``payload_too_long`` or ``decode_error``.
    """
    if not payload:
        raise DecodeError("empty_payload", "sentence carries no payload", raw)
    bad = next((c for c in payload if c not in _ARMOUR), None)
    if bad is not None:
        raise DecodeError(
            "bad_payload_char", f"{bad!r} is not a six-bit armour character", raw
        )
    msg_type = _armour_value(payload[0])
    limits = _BIT_LENGTHS.get(msg_type)
    if limits is None:
        raise DecodeError(
            "unknown_message_type", f"unknown message type {msg_type}", raw
        )
    bits = payload_bits(payload, fill_bits)
    _check_length(msg_type, bits, limits, raw)

    try:
        vector = bit_vector(payload.encode(), fill_bits)
        if msg_type in (25, 26):
            _check_binary_mode_length(msg_type, bits, vector.get(38, 2), raw)
        message = MSG_CLASS[msg_type].from_vector(vector)
        fields = message.asdict(enum_as_int=True)
    except (AISBaseException, ValueError, KeyError, IndexError, TypeError) as exc:
        raise DecodeError(
            "decode_error", f"type {msg_type} payload does not decode: {exc}", raw
        ) from exc

    fields = _plain_fields(fields)
    _codes_as_transmitted(msg_type, fields, vector)
    if msg_type == 21:
        _aton_name(fields, vector)
    if msg_type in _TEXT_START and fields.get("text") is not None:
        text = _sixbit_text(vector, _TEXT_START[msg_type], len(vector))
        fields["text"] = text.rstrip("@ ").strip()
    if msg_type == 17:
        _dgnss_position(fields, vector)
    if msg_type in (1, 2, 3):
        _rate_of_turn(fields, vector.get(42, 8))
    if msg_type == 27 and "gnss" in fields:
        # ITU-R M.1371-5 table 84 names bit 94 "position latency" (0: under
        # 5 s); pyais keeps the older name "gnss".
        fields["position_latency"] = fields["gnss"]
    _decode_application(msg_type, fields)
    mmsi = int(fields.get("mmsi") or 0)
    fields["mmsi_valid"] = mmsi_is_valid(mmsi)
    return DecodedPayload(
        msg_type=msg_type,
        mmsi=mmsi,
        bits=bits,
        fields=fields,
        not_available=frozenset(not_available_fields(msg_type, fields)),
    )


def _check_length(msg_type: int, bits: int, limits: tuple[int, int], raw: str) -> None:
    low, high = limits
    if bits < low:
        raise DecodeError(
            "payload_too_short",
            f"payload too short for message type {msg_type}: {bits} bits, need {low}",
            raw,
        )
    if bits > high + _PAD_TOLERANCE_BITS:
        raise DecodeError(
            "payload_too_long",
            f"payload too long for message type {msg_type}: {bits} bits, "
            f"at most {high}",
            raw,
        )


def _check_binary_mode_length(msg_type: int, bits: int, flags: int, raw: str) -> None:
    """Types 25 and 26: the length the addressing and structure flags need.

    ITU-R M.1371-5 tables 86 and 87: bit 38 announces a 30-bit destination,
    bit 39 a 16-bit application identifier; type 26 ends with a 20-bit
    communication state. A message shorter than that is cut off.
    """
    addressed, structured = flags >> 1, flags & 1
    need = 40 + 30 * addressed + 16 * structured + (20 if msg_type == 26 else 0)
    if bits < need:
        raise DecodeError(
            "payload_too_short",
            f"payload too short for message type {msg_type}: {bits} bits, "
            f"need {need} (addressed {addressed}, structured {structured})",
            raw,
        )


# Code fields that pyais maps through enums, which turn codes it does not
# list into another value (ship type 39 becomes 0, 78 becomes 75, epfd 14
# becomes 0): (message type, part number or None) -> (name, start, width),
# from the message tables of ITU-R M.1371-5 annex 8.
_CODE_FIELDS: dict[tuple[int, int | None], tuple[tuple[str, int, int], ...]] = {
    (4, None): (("epfd", 134, 4),),
    (5, None): (("ship_type", 232, 8), ("epfd", 270, 4)),
    (11, None): (("epfd", 134, 4),),
    (19, None): (("ship_type", 263, 8), ("epfd", 301, 4)),
    (21, None): (("aid_type", 38, 5), ("epfd", 249, 4)),
    (23, None): (("station_type", 110, 4), ("ship_type", 114, 8), ("interval", 146, 4)),
    (24, 1): (("ship_type", 40, 8),),
}


def _codes_as_transmitted(msg_type: int, fields: dict[str, Any], vector: Any) -> None:
    """Put back the transmitted number of each code field pyais decoded."""
    part = fields.get("partno") if msg_type == 24 else None
    for name, start, width in _CODE_FIELDS.get((msg_type, part), ()):
        if fields.get(name) is not None and start + width <= len(vector):
            fields[name] = vector.get(start, width)


def _sixbit_text(vector: Any, start: int, end: int) -> str:
    """Six-bit ASCII (table 47) of the whole characters in bits start..end."""
    codes = (vector.get(i, 6) for i in range(start, end - 5, 6))
    return "".join(chr(c + 64) if c < 32 else chr(c) for c in codes)


# Where the free text of safety messages starts (tables 72 and 75). It is
# whole six-bit characters: pyais turns the spare bits after the last one
# into a character too ("SART ACTIVE" + 4 bits became "SART ACTIVEG").
_TEXT_START = {12: 72, 14: 40}


def _dgnss_position(fields: dict[str, Any], vector: Any) -> None:
    """Type 17 reference position (table 77): signed, in 1/10 minute.

    pyais reads both as unsigned tenths of a minute, so they come out as
    minutes, and southern or western positions as large positive numbers.
    """
    if len(vector) >= 75:
        fields["lon"] = round(vector.get_signed(40, 18) / 600, 6)
        fields["lat"] = round(vector.get_signed(58, 17) / 600, 6)


def _aton_name(fields: dict[str, Any], vector: Any) -> None:
    """Type 21 ``name_ext`` and ``full_name`` (ITU-R M.1371-5, table 82).

    The extension (bit 272 on, whole characters only) continues the name
    only when all 20 characters of the name are used, none of them trailing
    ``@`` or space padding; otherwise it should not be there and is not part
    of the name. The extension is sent without ``@`` padding, so one ends it.
    pyais joins the two regardless, keeps a last partial character and strips
    the extension's leading space ("FORT PIERCE INLET LB" + " 6").
    """
    if fields.get("name_ext") is None:
        return
    name = _sixbit_text(vector, 43, 163)
    extension = _sixbit_text(vector, 272, len(vector)).partition("@")[0]
    fields["name_ext"] = extension.strip()
    full = name + extension if name[-1] not in "@ " else name
    fields["full_name"] = full.rstrip("@ ").strip()


def _plain_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Flags as 0/1, bytes as hex, text without trailing padding."""
    plain: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, bool):
            plain[name] = int(value)
        elif isinstance(value, bytes):
            plain[f"{name}_hex"] = value.hex()
        elif isinstance(value, str):
            plain[name] = value.rstrip("@ ")
        else:
            plain[name] = value
    return plain


def not_available_fields(msg_type: int, fields: dict[str, Any]) -> list[str]:
    """Names of fields whose value means "not available" (ITU-R M.1371-5).

    The sentinels differ by message: speed 1023 (102.3 kn) in types 1-3/18/19
    but 1023 kn in type 9 and 63 kn in type 27; course 3600 (360.0) except
    511 in type 27; the 1/10 minute positions of type 27 use the same 181/91
    degrees after scaling.
    """
    missing: list[str] = []

    def check(name: str, test: Callable[[Any], bool]) -> None:
        value = fields.get(name)
        if value is not None and test(value):
            missing.append(name)

    if msg_type in _POSITION_TYPES:
        check("lon", lambda v: v == 181)
        check("lat", lambda v: v == 91)
        check("second", lambda v: v >= 60)
    if msg_type in (1, 2, 3, 18, 19):
        check("speed", lambda v: v >= 102.3)
        check("course", lambda v: v >= 360)
        check("heading", lambda v: v == 511)
    if msg_type in (1, 2, 3):
        # ROT: -128 is "not available"; +-127 is "turning faster than 5 deg
        # per 30 s, no turn indicator", i.e. no usable rate either.
        check("turn_raw", lambda v: v in (-128, 127, -127))
        if "turn_raw" in missing:
            missing[missing.index("turn_raw")] = "turn"
    if msg_type == 9:
        check("speed", lambda v: v >= 1023)
        check("course", lambda v: v >= 360)
        check("alt", lambda v: v >= 4095)
    if msg_type == 27:
        check("speed", lambda v: v >= 63)
        check("course", lambda v: v >= 511)
    if msg_type == 5:
        check("month", lambda v: v == 0)
        check("day", lambda v: v == 0)
        check("hour", lambda v: v >= 24)
        check("minute", lambda v: v >= 60)
        check("draught", lambda v: v == 0)
        check("imo", lambda v: v == 0)
    for text in ("shipname", "callsign", "destination"):
        check(text, lambda v: v == "")
    return missing


def _rate_of_turn(fields: dict[str, Any], unsigned: int) -> None:
    """Set ``turn_raw`` (the signed ROT field) and ``turn`` in degrees/minute.

    ITU-R M.1371-5 table 45: ROT_AIS = 4.733 * sqrt(ROT_sensor), signed;
    -128 means not available and +-127 a turn faster than 5 deg/30 s with no
    turn indicator. pyais rounds the rate to whole degrees; it is recomputed
    here to one decimal from the raw field.
    """
    raw = unsigned - 256 if unsigned >= 128 else unsigned
    fields["turn_raw"] = raw
    if abs(raw) <= 126:
        rate = (raw / 4.733) ** 2
        fields["turn"] = round(rate if raw >= 0 else -rate, 1)
    else:
        fields["turn"] = float(raw)


def _decode_application(msg_type: int, fields: dict[str, Any]) -> None:
    """Decode binary application payloads pyais keeps as raw data."""
    if msg_type not in (6, 8) or "data_hex" not in fields:
        return
    decoder = _APPLICATIONS.get(
        (int(fields.get("dac", -1)), int(fields.get("fid", -1)))
    )
    if decoder is None:
        return
    data = bytes.fromhex(fields["data_hex"])
    fields.update(decoder(int.from_bytes(data, "big"), len(data) * 8))


def _bits(value: int, total: int, start: int, width: int) -> int:
    return (value >> (total - start - width)) & ((1 << width) - 1)


def _persons_on_board(value: int, total: int) -> dict[str, Any]:
    # IMO SN.1/Circ.289, DAC 1 FI 40: number of persons on board, 13 bits
    # (8191 = not available), then 3 spare bits.
    if total < 13:
        return {}
    return {"persons": _bits(value, total, 0, 13)}


def _aton_monitoring(value: int, total: int) -> dict[str, Any]:
    # GLA AtoN monitoring, DAC 235 (UK) / 250 (Ireland) FI 10: analogue
    # internal 10 bits (0.05 V steps), two external analogue 10 bits, racon
    # status 2, light status 2, health alarm 1, external digital 8, off
    # position 1, spare 4.
    if total < 36:
        return {}
    internal = _bits(value, total, 0, 10)
    return {
        "ana_int_raw": internal,
        "ana_int_volts": round(internal * 0.05, 2),
        "ana_ext1_raw": _bits(value, total, 10, 10),
        "ana_ext2_raw": _bits(value, total, 20, 10),
        "racon": _bits(value, total, 30, 2),
        "light": _bits(value, total, 32, 2),
        "health": _bits(value, total, 34, 1),
    }


_APPLICATIONS: dict[tuple[int, int], Callable[[int, int], dict[str, Any]]] = {
    (1, 40): _persons_on_board,
    (235, 10): _aton_monitoring,
    (250, 10): _aton_monitoring,
}
