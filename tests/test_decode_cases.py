"""Decoding faults other AIS decoders have had, pinned with the project's own input.

Each group below is one kind of fault from public bug reports (signed fields,
"not available" values, units, layouts, multi-sentence assembly, six-bit text,
message lengths, type 24 parts, binary messages, unknown types, checksums,
stream framing, tag blocks, talkers). The sentences come from
:mod:`messages`, built with pyais's encoder or from the bit tables of
ITU-R M.1371-5; the expected numbers are the spec's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import messages as m
import pytest

from pantaulaut.alerts.beacons import beacon_alert_kind
from pantaulaut.ingest.decode import decode_payload
from pantaulaut.ingest.stream import AisMessage, AisStream, Rejection
from pantaulaut.model import AlertKind, Vessel
from pantaulaut.vessels import VesselRegistry

NOW = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)


@dataclass
class Run:
    """What an :class:`AisStream` made of some lines, after ``finish()``."""

    stream: AisStream
    messages: list[AisMessage] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [r.reason for r in self.rejections]

    def one(self) -> AisMessage:
        assert len(self.messages) == 1, (self.messages, self.rejections)
        return self.messages[0]


def run(lines: Iterable[str], source: str = "test") -> Run:
    rejections: list[Rejection] = []
    stream = AisStream(on_reject=rejections.append)
    result = Run(stream, rejections=rejections)
    for line in lines:
        result.messages += stream.feed(line, source, NOW)
    stream.finish()
    return result


def decode(lines: Iterable[str]) -> dict[str, Any]:
    """The one message in ``lines`` as ``pantaulaut decode`` prints it."""
    return run(lines).one().as_output()


def registered(lines: Iterable[str]) -> Vessel:
    """The vessel state after the one message in ``lines``."""
    message = run(lines).one()
    registry = VesselRegistry()
    return registry.update(message.payload, message.time, message.station).vessel


def cli(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run ``python -m pantaulaut decode`` on ``text``: (stdout, stderr) records."""
    done = subprocess.run(
        [sys.executable, "-P", "-m", "pantaulaut", "decode"],
        input=text.encode("ascii"),
        capture_output=True,
        timeout=60,
        check=True,
    )
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    err = [
        json.loads(line)
        for line in done.stderr.decode().splitlines()
        if line.startswith("{")
    ]
    return out, err


# --- signed field scaling ---------------------------------------------------


def test_south_and_east_positions_keep_their_sign() -> None:
    out = decode(m.CLASS_A_POSITION)
    assert out["lat"] == pytest.approx(-7.045678, abs=1e-6)
    assert out["lon"] == pytest.approx(113.862345, abs=1e-6)


def test_north_and_west_positions_keep_their_sign() -> None:
    out = decode(m.class_a(lat=48.381633, lon=-123.395383))
    assert out["lat"] == pytest.approx(48.381633, abs=1e-6)
    assert out["lon"] == pytest.approx(-123.395383, abs=1e-6)


@pytest.mark.parametrize(
    ("turn_raw", "turn"),
    [(-52, -120.7), (24, 25.7), (-24, -25.7), (1, 0.0), (0, 0.0), (126, 708.7)],
)
def test_rate_of_turn_keeps_sign_and_one_decimal(turn_raw: int, turn: float) -> None:
    # ITU-R M.1371-5 table 45: ROT_AIS = 4.733 sqrt(ROT), sign = direction.
    out = decode(m.class_a_turn(turn_raw))
    assert out["turn_raw"] == turn_raw
    assert out["turn"] == pytest.approx(turn, abs=0.05)
    assert "turn" not in out["_not_available"]


def test_long_range_position_in_tenth_minutes_keeps_sign() -> None:
    out = decode(m.LONG_RANGE)
    assert out["msg_type"] == 27
    assert out["lat"] == pytest.approx(-6.9, abs=1e-6)
    assert out["lon"] == pytest.approx(114.05, abs=1e-6)
    assert (out["speed"], out["course"], out["position_latency"]) == (12, 45, 0)


def test_class_b_position_keeps_sign() -> None:
    out = decode(m.CLASS_B_POSITION)
    assert out["lat"] == pytest.approx(-7.0125, abs=1e-6)
    assert out["lon"] == pytest.approx(113.95, abs=1e-6)
    assert (out["speed"], out["course"], out["heading"]) == (5.4, 90.0, 88)


def test_dgnss_reference_position_is_signed_degrees() -> None:
    # Type 17 (table 77): 18/17-bit signed positions in 1/10 minute.
    payload, fill = m.pack(
        (17, 6),
        (0, 2),
        (5250001, 30),
        (0, 2),
        (round(113.9 * 600), 18),
        (round(-7.05 * 600), 17),
        (0, 5),
        (0, 40),
    )
    out = decode(m.fragments(payload, fill, formatter="VDO"))
    assert out["lat"] == pytest.approx(-7.05, abs=1e-6)
    assert out["lon"] == pytest.approx(113.9, abs=1e-6)


# --- not-available values ---------------------------------------------------

_POSITION_SENTINELS = [
    pytest.param({"lat": 91}, "lat", id="lat-91"),
    pytest.param({"lon": 181}, "lon", id="lon-181"),
    pytest.param({"speed": 102.3}, "speed", id="speed-102.3"),
    pytest.param({"course": 360}, "course", id="course-360"),
    pytest.param({"heading": 511}, "heading", id="heading-511"),
    pytest.param({"turn": -128}, "turn", id="turn-minus-128"),
    pytest.param({"turn": 127}, "turn", id="turn-127-no-indicator"),
    pytest.param({"turn": -127}, "turn", id="turn-minus-127-no-indicator"),
    pytest.param({"second": 60}, "second", id="second-60"),
    pytest.param({"second": 61}, "second", id="second-61-manual"),
    pytest.param({"second": 62}, "second", id="second-62-dead-reckoning"),
    pytest.param({"second": 63}, "second", id="second-63-inoperative"),
]


@pytest.mark.parametrize(("change", "name"), _POSITION_SENTINELS)
def test_not_available_value_is_listed_not_used(
    change: dict[str, Any], name: str
) -> None:
    message = run(m.class_a(**change)).one()
    assert name in message.as_output()["_not_available"]
    assert message.payload.value(name) is None
    others = {"lat", "lon", "speed", "course", "heading", "turn", "second"} - {name}
    assert not others & message.payload.not_available


def test_vessel_state_stores_none_for_every_not_available_value() -> None:
    vessel = registered(m.CLASS_A_NOT_AVAILABLE)
    assert (vessel.lat_deg, vessel.lon_deg, vessel.position_time) == (None,) * 3
    assert (vessel.speed_kn, vessel.course_deg, vessel.heading_deg) == (None,) * 3


@pytest.mark.parametrize(
    ("change", "attribute"),
    [
        ({"speed": 102.3}, "speed_kn"),
        ({"course": 360}, "course_deg"),
        ({"heading": 511}, "heading_deg"),
    ],
)
def test_vessel_keeps_its_position_when_one_motion_field_is_not_available(
    change: dict[str, Any], attribute: str
) -> None:
    vessel = registered(m.class_a(**change))
    assert vessel.lat_deg == pytest.approx(-7.045678, abs=1e-6)
    assert getattr(vessel, attribute) is None


def test_class_b_not_available_values_are_listed_and_not_stored() -> None:
    out = decode(m.CLASS_B_NOT_AVAILABLE)
    assert set(out["_not_available"]) >= {
        "lat",
        "lon",
        "speed",
        "course",
        "heading",
        "second",
    }
    vessel = registered(m.CLASS_B_NOT_AVAILABLE)
    assert (vessel.lat_deg, vessel.speed_kn, vessel.heading_deg) == (None,) * 3


def test_eta_zero_month_zero_day_hour_24_minute_60_is_not_available() -> None:
    out = decode(m.STATIC_VOYAGE_ETA_NOT_AVAILABLE)
    assert (out["month"], out["day"], out["hour"], out["minute"]) == (0, 0, 24, 60)
    assert {"month", "day", "hour", "minute"} <= set(out["_not_available"])


def test_sar_aircraft_speed_1023_and_altitude_4095_are_not_available() -> None:
    message = run(m.sar_aircraft(speed_kn=1023, alt_m=4095)).one()
    assert {"speed", "alt"} <= message.payload.not_available
    vessel = registered(m.sar_aircraft(speed_kn=1023, alt_m=4095))
    assert vessel.speed_kn is None
    assert vessel.lat_deg == pytest.approx(-6.75)


def test_sar_aircraft_speed_1022_knots_is_a_speed() -> None:
    # Type 9: 1022 means 1022 knots or more; only 1023 is "not available".
    message = run(m.sar_aircraft(speed_kn=1022, alt_m=4094)).one()
    assert message.payload.value("speed") == 1022
    assert message.payload.value("alt") == 4094


def test_long_range_speed_63_and_course_511_are_not_available() -> None:
    message = run(m.long_range(speed_kn=63, course_deg=511)).one()
    assert {"speed", "course"} <= message.payload.not_available
    vessel = registered(m.long_range(speed_kn=63, course_deg=511))
    assert (vessel.speed_kn, vessel.course_deg) == (None, None)
    assert vessel.lat_deg == pytest.approx(-6.9)


# --- unit scaling -----------------------------------------------------------


def test_sar_aircraft_speed_is_whole_knots_and_altitude_metres() -> None:
    out = decode(m.SAR_AIRCRAFT)
    assert (out["speed"], out["alt"]) == (127, 360)
    assert out["course"] == pytest.approx(175.1)
    assert registered(m.SAR_AIRCRAFT).speed_kn == 127


def test_draught_is_in_tenths_of_a_metre() -> None:
    assert decode(m.STATIC_VOYAGE)["draught"] == pytest.approx(3.2)
    assert registered(m.STATIC_VOYAGE).draught_m == pytest.approx(3.2)


def test_class_a_speed_and_course_are_in_tenths() -> None:
    out = decode(m.CLASS_A_POSITION)
    assert (out["speed"], out["course"], out["heading"]) == (12.3, 224.5, 215)


# --- field layout -----------------------------------------------------------


def test_extended_class_b_report_has_the_type_19_layout() -> None:
    out = decode(m.CLASS_B_EXTENDED)
    assert out["msg_type"] == 19
    assert out["shipname"] == "KM SUMENEP JAYA"
    assert (out["speed"], out["course"]) == (7.1, 49.7)
    assert out["lat"] == pytest.approx(-7.1)
    assert out["lon"] == pytest.approx(114.1)
    dimensions = (out["to_bow"], out["to_stern"], out["to_port"], out["to_starboard"])
    assert dimensions == (16, 8, 4, 4)
    assert (out["ship_type"], out["epfd"], out["dte"]) == (30, 1, 1)
    assert out["_not_available"] == ["heading"]


def test_static_voyage_report_fields() -> None:
    out = decode(m.STATIC_VOYAGE)
    expected = {
        key: value
        for key, value in m.STATIC_FIELDS.items()
        if key not in ("type", "draught")
    }
    assert {key: out[key] for key in expected} == expected
    assert out["draught"] == pytest.approx(3.2)


@pytest.mark.parametrize(("ship_type", "epfd"), [(39, 14), (78, 9), (255, 15)])
def test_ship_type_and_epfd_come_out_as_transmitted(ship_type: int, epfd: int) -> None:
    # pyais maps codes missing from its enums to others (39 -> 0, 78 -> 75,
    # epfd 14 -> 0); the desk shows the code the ship sent.
    out = decode(m.static_voyage(ship_type, epfd))
    assert (out["ship_type"], out["epfd"]) == (ship_type, epfd)


def test_base_station_report_layout() -> None:
    out = decode(m.BASE_STATION)
    stamp = tuple(out[k] for k in ("year", "month", "day", "hour", "minute"))
    assert stamp == (2026, 6, 17, 0, 5)
    assert out["lat"] == pytest.approx(-7.0585)
    assert out["epfd"] == 7


# --- multi-part assembly ----------------------------------------------------


def test_fragments_out_of_order_are_joined() -> None:
    first, second = m.STATIC_VOYAGE
    assert run([second, first]).one().payload.fields["shipname"] == (
        "KMP DHARMA BAHARI"
    )


def test_interleaved_messages_with_two_sequence_ids_are_each_joined() -> None:
    a1, a2 = m.STATIC_VOYAGE  # sequence id 3
    b1, b2 = m.static_voyage(70, 1, seq_id=9)
    result = run([a1, b1, a2, b2])
    assert [x.mmsi for x in result.messages] == [525019145, 525019149]
    assert result.rejections == []


def test_same_sequence_id_on_two_channels_is_kept_apart() -> None:
    a1, a2 = m.encoded(m.STATIC_FIELDS, channel="A", seq_id=1)
    b1, b2 = m.encoded({**m.STATIC_FIELDS, "mmsi": 525019151}, channel="B", seq_id=1)
    result = run([a1, b1, b2, a2])
    assert sorted(x.mmsi for x in result.messages) == [525019145, 525019151]


def test_missing_second_fragment_is_counted_as_incomplete() -> None:
    result = run(m.STATIC_VOYAGE[:1])
    assert result.messages == []
    assert result.reasons == ["incomplete_message"]
    assert result.stream.rejected["incomplete_message"] == 1


def test_lone_second_fragments_make_no_message() -> None:
    result = run([m.static_voyage(70, 1, seq_id=4)[1], m.STATIC_VOYAGE[1]])
    assert result.messages == []
    assert result.stream.rejected["incomplete_message"] == 2


def test_second_fragment_with_other_sequence_id_is_not_joined() -> None:
    first, _ = m.STATIC_VOYAGE
    other = m.with_checksum(m.STATIC_VOYAGE[1].split("*")[0].replace(",3,", ",6,"))
    result = run([first, other])
    assert result.messages == []
    assert result.stream.rejected["incomplete_message"] == 2


def test_a_new_first_fragment_supersedes_one_that_lost_its_partner() -> None:
    first, second = m.STATIC_VOYAGE
    result = run([first, first, second])
    assert len(result.messages) == 1
    assert result.stream.rejected["incomplete_message"] == 1


def test_empty_second_fragment_completes_the_message() -> None:
    # Some transmitters put the whole payload in part 1 and an empty part 2
    # that carries only the fill bits.
    [whole] = m.persons_on_board(12)
    payload, fill = whole.split(",")[5], whole.split(",")[6][0]
    lines = [
        m.with_checksum(f"!AIVDM,2,1,7,B,{payload},0"),
        m.with_checksum(f"!AIVDM,2,2,7,B,,{fill}"),
    ]
    assert run(lines).one().payload.fields["persons"] == 12


def test_single_sentence_with_empty_payload_is_rejected() -> None:
    result = run([m.with_checksum("!AIVDM,1,1,0,A,,0")])
    assert result.messages == []
    assert result.reasons == ["empty_payload"]


def test_fragments_heard_by_two_stations_are_never_joined() -> None:
    first, second = m.STATIC_VOYAGE
    lines = [m.tag_block(s="rKALIANGET") + first, m.tag_block(s="rSAPEKEN") + second]
    result = run(lines)
    assert result.messages == []
    assert result.stream.rejected["incomplete_message"] == 2


def test_fragments_with_two_trailer_stations_are_never_joined() -> None:
    first, second = m.STATIC_VOYAGE
    result = run([first + ",r003669946", second + ",r003669947"])
    assert result.messages == []


def test_fragments_from_two_sources_are_never_joined() -> None:
    first, second = m.STATIC_VOYAGE
    stream = AisStream()
    out = stream.feed(first, "tcp:kalianget", NOW)
    out += stream.feed(second, "tcp:sapeken", NOW)
    stream.finish()
    assert out == []
    assert stream.rejected["incomplete_message"] == 2


def test_tag_block_group_joins_fragments_across_other_traffic() -> None:
    first, second = m.STATIC_VOYAGE
    lines = [
        m.tag_block(g="1-2-4372", s="rSUMENEP", c=1781654400) + first,
        m.tag_block(s="rKANGEAN", c=1781654400) + m.CLASS_A_POSITION[0],
        m.tag_block(g="2-2-4372") + second,
    ]
    result = run(lines)
    assert [x.msg_type for x in result.messages] == [1, 5]
    static = result.messages[1].as_output()
    assert static["tag.g"] == "4372"
    assert static["receiver_time"] == "2026-06-17T00:00:00Z"
    assert result.messages[1].station == "rSUMENEP"


def test_fragment_number_above_count_is_rejected() -> None:
    result = run([m.with_checksum("!AIVDM,2,3,1,A,55?MbV02;H;s<HtKR20EHE:0,0")])
    assert result.reasons == ["bad_fragment_number"]


def test_other_sentences_between_fragments_do_not_break_them() -> None:
    first, second = m.STATIC_VOYAGE
    gps = m.with_checksum("$GPRMC,104104.00,A,0702.5,S,11354.0,E,0.0,0.0,170626,,,A")
    result = run([first, gps, second])
    assert [x.msg_type for x in result.messages] == [5]
    assert result.reasons == ["non_ais_sentence"]


# --- six-bit text -------------------------------------------------------------


def test_text_loses_trailing_at_signs_and_spaces() -> None:
    payload, fill = m.pack(
        (24, 6), (0, 2), (525600004, 30), (0, 2), m.sixbit("PERAHU LAUT   ", 20)
    )
    assert decode(m.fragments(payload, fill))["shipname"] == "PERAHU LAUT"


def test_text_of_only_at_signs_is_not_available() -> None:
    payload, fill = m.pack((24, 6), (0, 2), (525600005, 30), (0, 2), m.sixbit("", 20))
    out = decode(m.fragments(payload, fill))
    assert out["shipname"] == ""
    assert "shipname" in out["_not_available"]


def test_aid_name_extension_continues_a_full_name() -> None:
    out = decode(m.aid_to_navigation("KALIANGET HARBOUR EN", "TRANCE LIGHT"))
    assert out["name"] == "KALIANGET HARBOUR EN"
    assert out["name_ext"] == "TRANCE LIGHT"
    assert out["full_name"] == "KALIANGET HARBOUR ENTRANCE LIGHT"
    assert registered(
        m.aid_to_navigation("KALIANGET HARBOUR EN", "TRANCE LIGHT")
    ).name == ("KALIANGET HARBOUR ENTRANCE LIGHT")


def test_aid_name_extension_keeps_the_space_between_words() -> None:
    # "RAMBU SUAR KALIANGET" fills the 20 characters; " 2" goes on.
    out = decode(m.aid_to_navigation("RAMBU SUAR KALIANGET", " 2"))
    assert out["full_name"] == "RAMBU SUAR KALIANGET 2"


def test_aid_name_extension_after_a_padded_name_is_not_part_of_it() -> None:
    # The extension is only for names longer than 20 characters.
    out = decode(m.aid_to_navigation("SUAR GILI", "X7"))
    assert out["full_name"] == "SUAR GILI"


def test_aid_name_extension_ends_at_padding_and_drops_a_partial_character() -> None:
    out = decode(m.aid_to_navigation("KALIANGET HARBOUR EN", "TRANCE@@Q"))
    assert out["full_name"] == "KALIANGET HARBOUR ENTRANCE"
    [sentence] = m.aid_to_navigation("KALIANGET HARBOUR EN", "TO")
    payload = sentence.split(",")[5]
    # Sent as 283 bits: "T" and the first 5 bits of "O", not a character.
    decoded = decode_payload(payload, 5)
    assert decoded.fields["name_ext"] == "T"
    assert decoded.fields["full_name"] == "KALIANGET HARBOUR ENT"


def test_short_aid_to_navigation_report_has_no_trailing_flags() -> None:
    out = decode(m.aid_to_navigation("SUAR GILI", trailing_flags=False))
    assert out["name"] == "SUAR GILI"
    assert (out["raim"], out["virtual_aid"], out["assigned"]) == (None,) * 3
    assert out["name_ext"] is None
    assert out["lat"] == pytest.approx(-7.0642)


def test_safety_text_ignores_spare_bits_after_the_last_character() -> None:
    # 40 + 66 + 4 bits: the 4 bits are no character, and "SART ACTIVEG"
    # would no longer match the SART alert.
    payload, fill = m.pack(
        (14, 6), (0, 2), (m.SART_MMSI, 30), (0, 2), m.sixbit("SART ACTIVE"), (15, 4)
    )
    message = run(m.fragments(payload, fill)).one()
    assert message.payload.fields["text"] == "SART ACTIVE"
    assert beacon_alert_kind(message.payload) is AlertKind.SART_ACTIVE


def test_sart_safety_texts_decode() -> None:
    assert decode(m.SART_ACTIVE)["text"] == "SART ACTIVE"
    assert decode(m.SART_TEST)["text"] == "SART TEST"
    sart = decode(m.SART_POSITION)
    assert (sart["mmsi"], sart["status"]) == (970012345, 14)


# --- fill bits / message length -----------------------------------------------


def _part_a(fill_bits: int) -> list[str]:
    # 162-bit part A (27 characters) as some class B units send it, with
    # its fill bits given as 0 or as the 2 that make it 160 bits.
    payload, _ = m.pack(
        (24, 6), (0, 2), (525600006, 30), (0, 2), m.sixbit("SWIFT SUMENEP", 20)
    )
    return m.fragments(payload, fill_bits)


@pytest.mark.parametrize("fill_bits", [0, 2])
def test_fill_bits_zero_and_two_decode_the_same_type_24(fill_bits: int) -> None:
    out = decode(_part_a(fill_bits))
    assert (out["partno"], out["shipname"]) == (0, "SWIFT SUMENEP")


def test_payload_shorter_than_its_type_needs_is_rejected() -> None:
    [sentence] = m.CLASS_A_POSITION
    payload = sentence.split(",")[5][:19]  # 114 bits of a 168-bit report
    result = run(m.fragments(payload, 2))
    assert result.reasons == ["payload_too_short"]


def test_one_character_of_padding_is_tolerated_more_is_rejected() -> None:
    payload = m.CLASS_A_POSITION[0].split(",")[5]
    assert len(run(m.fragments(payload + "0", 0)).messages) == 1
    assert run(m.fragments(payload + "00", 0)).reasons == ["payload_too_long"]


def test_long_range_report_padded_to_a_full_slot_is_accepted() -> None:
    out = decode(m.long_range(padded_to_slot=True))
    assert out["lat"] == pytest.approx(-6.9)
    assert (out["speed"], out["course"]) == (12, 45)


@pytest.mark.parametrize(
    ("flags", "bits", "accepted"),
    [
        (0b01, 60, False),  # structured: a 16-bit application id is needed
        (0b01, 76, True),
        (0b10, 60, False),  # addressed: a 30-bit destination is needed
        (0b11, 106, True),
        (0b00, 60, True),
    ],
)
def test_multi_slot_binary_message_needs_the_length_its_flags_announce(
    flags: int, bits: int, accepted: bool
) -> None:
    payload, fill = m.pack((26, 6), (0, 2), (525019152, 30), (flags, 2), (0, bits - 40))
    result = run(m.fragments(payload, fill))
    assert (len(result.messages) == 1) is accepted
    assert result.reasons == ([] if accepted else ["payload_too_short"])


def test_fill_bits_outside_0_to_5_are_rejected() -> None:
    body = m.CLASS_A_POSITION[0].split("*")[0][:-1] + "6"
    assert run([m.with_checksum(body)]).reasons == ["bad_fill_bits"]


# --- type 24 part A/B -----------------------------------------------------------


def test_type_24_parts_merge_into_one_static_record() -> None:
    out, err = cli("\n".join(m.STATIC_PART_A + m.STATIC_PART_B) + "\n")
    assert err == []
    assert [x["partno"] for x in out] == [0, 1]
    assert "merged_static" not in out[0]
    assert out[1]["merged_static"] == {
        "mmsi": 525600001,
        "shipname": "NELAYAN MAJU",
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


def test_type_24_parts_fill_one_vessel_in_either_order() -> None:
    for lines in (
        m.STATIC_PART_A + m.STATIC_PART_B,
        m.STATIC_PART_B + m.STATIC_PART_A,
    ):
        registry = VesselRegistry()
        for message in run(lines).messages:
            registry.update(message.payload, message.time, message.station)
        vessel = registry.get(525600001)
        assert vessel is not None
        assert (vessel.name, vessel.callsign, vessel.ship_type) == (
            "NELAYAN MAJU",
            "YD1234",
            30,
        )
        assert (vessel.length_m, vessel.beam_m) == (12.0, 4.0)


# --- binary messages 6/8 --------------------------------------------------------


def test_aton_monitoring_dac_235_fi_10_is_decoded() -> None:
    out = decode(m.aton_monitoring())
    assert (out["msg_type"], out["dac"], out["fid"]) == (6, 235, 10)
    assert out["dest_mmsi"] == 5250001
    assert (out["ana_int_raw"], out["ana_int_volts"]) == (250, 12.5)
    assert (out["racon"], out["light"], out["health"]) == (2, 1, 0)


def test_persons_on_board_dac_1_fi_40_is_decoded() -> None:
    out = decode(m.persons_on_board(27))
    assert (out["msg_type"], out["dac"], out["fid"], out["persons"]) == (8, 1, 40, 27)


# --- unknown message type -------------------------------------------------------


@pytest.mark.parametrize("msg_type", [0, 28, 29, 63])
def test_unknown_message_type_is_rejected(msg_type: int) -> None:
    payload, fill = m.pack((msg_type, 6), (0, 2), (525019145, 30), (0, 130))
    result = run(m.fragments(payload, fill))
    assert result.messages == []
    assert result.reasons == ["unknown_message_type"]
    assert str(msg_type) in result.rejections[0].detail


def test_unknown_message_type_is_reported_by_the_cli() -> None:
    out, err = cli(m.UNKNOWN_TYPE[0] + "\n")
    assert out == []
    assert [e["error"] for e in err] == ["unknown_message_type"]


# --- framing / checksum ---------------------------------------------------------


def test_checksum_mismatch_is_rejected_with_both_sums() -> None:
    sentence = m.CLASS_A_POSITION[0]
    damaged = sentence.replace("@k1s", "@k1t")
    result = run([damaged])
    assert result.reasons == ["checksum_mismatch"]
    assert sentence[-2:] in result.rejections[0].detail


def test_exclamation_mark_in_a_damaged_payload_fails_the_checksum() -> None:
    damaged = m.CLASS_A_POSITION[0].replace("@k1s", "@k!s")
    assert run([damaged]).reasons == ["checksum_mismatch"]


def test_sentence_without_checksum_is_rejected() -> None:
    body = m.CLASS_A_POSITION[0].split("*")[0]
    assert run([body]).reasons == ["missing_checksum"]
    assert run([body + "*"]).reasons == ["missing_checksum"]
    assert run([body + "*G1"]).reasons == ["missing_checksum"]


def test_lowercase_checksum_is_accepted() -> None:
    [sentence] = m.CLASS_B_EXTENDED
    assert sentence[-2:].lower() != sentence[-2:]  # the sum has letters
    run([sentence[:-2] + sentence[-2:].lower()]).one()


def test_empty_channel_and_numeric_channel_are_accepted() -> None:
    body = m.CLASS_A_POSITION[0].split("*")[0]
    for channel in ("", "1", "2"):
        line = m.with_checksum(body.replace(",,A,", f",,{channel},"))
        assert run([line]).one().as_output()["channel"] == channel


# --- stream framing ---------------------------------------------------------------


def test_sentences_run_together_without_line_break_all_decode() -> None:
    line = "".join(m.CLASS_A_POSITION + m.CLASS_B_POSITION + m.LONG_RANGE)
    assert [x.msg_type for x in run([line]).messages] == [1, 18, 27]


def test_sentences_run_together_in_one_datagram_through_the_cli() -> None:
    datagram = "".join(m.CLASS_A_POSITION + m.SART_ACTIVE) + "\r\n"
    datagram += "\r\n".join(m.STATIC_VOYAGE) + "\r\n"
    out, err = cli(datagram)
    assert [x["msg_type"] for x in out] == [1, 14, 5]
    assert err == []


def test_receiver_epoch_seconds_after_the_checksum_give_the_time() -> None:
    line = m.STATIC_PART_A[0] + ",1781654400,1781654401"
    out = decode([line])
    assert out["receiver_time"] == "2026-06-17T00:00:00Z"
    assert run([line]).one().time == datetime(2026, 6, 17, tzinfo=UTC)


def test_receiver_epoch_milliseconds_after_the_checksum_give_the_time() -> None:
    out = decode([m.CLASS_A_POSITION[0] + ",1781654400250"])
    assert out["receiver_time"] == "2026-06-17T00:00:00.250Z"


def test_uscg_trailer_names_the_receiving_station() -> None:
    line = (
        m.CLASS_A_POSITION[0]
        + ",d-109,S2105,t000056.00,T56.13,r003669946,1781654400,1781654401"
    )
    message = run([line]).one()
    assert message.station == "003669946"
    assert message.as_output()["receiver_time"] == "2026-06-17T00:00:00Z"


def test_text_before_the_sentence_is_ignored() -> None:
    line = "2026-06-17 07:00:00.123 receiver-3 " + m.CLASS_A_POSITION[0]
    assert run([line]).one().mmsi == m.CLASS_A_MMSI


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "blank_line"),
        ("   ", "blank_line"),
        ("# recorded 2026-06-17 at Kalianget", "comment"),
        ("garbage without any sentence", "no_sentence"),
        ("\\s:rSUMENEP*00\\", "tag_block_without_sentence"),
    ],
)
def test_line_without_sentence_is_counted_once(line: str, reason: str) -> None:
    result = run([line])
    assert result.reasons == [reason]
    assert result.stream.lines == 1


def test_sentence_quoted_in_a_comment_line_is_not_traffic() -> None:
    # gpsd's and pyais's sample logs quote sentences in "#" comments.
    result = run(["# " + m.SART_ACTIVE[0], "#" + m.CLASS_A_POSITION[0]])
    assert result.messages == []
    assert result.reasons == ["comment", "comment"]


def test_overlong_line_is_rejected_without_framing() -> None:
    line = "".join(m.CLASS_A_POSITION * 100)
    assert run([line]).reasons == ["line_too_long"]


# --- tag blocks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "iso"),
    [
        (1781654400, "2026-06-17T00:00:00Z"),
        (1781654400250, "2026-06-17T00:00:00.250Z"),
    ],
)
def test_tag_block_receive_time_in_seconds_or_milliseconds(
    stamp: int, iso: str
) -> None:
    out = decode([m.tag_block(c=stamp) + m.CLASS_A_POSITION[0]])
    assert out["tag.c"] == stamp
    assert out["receiver_time"] == iso


def test_tag_block_station_and_line_count() -> None:
    line = m.tag_block(s="rKALIANGET", n=27493, c=1781654400) + m.SART_ACTIVE[0]
    result = run([line])
    message = result.one()
    out = message.as_output()
    assert (message.station, out["tag.s"], out["tag.n"]) == (
        "rKALIANGET",
        "rKALIANGET",
        27493,
    )
    assert result.stream.stations["rKALIANGET"].messages == 1


def test_two_tag_blocks_in_a_row_are_both_read() -> None:
    line = m.tag_block(s="rSAPUDI") + m.tag_block(c=1781654400, n=7)
    out = decode([line + m.CLASS_A_POSITION[0]])
    assert (out["tag.s"], out["tag.n"]) == ("rSAPUDI", 7)
    assert out["receiver_time"] == "2026-06-17T00:00:00Z"


@pytest.mark.parametrize(
    "block", ["\\s:rSAPUDI,c:1781654400*00\\", "\\s:rSAPUDI,c:1781654400\\"]
)
def test_bad_tag_block_keeps_the_sentence_drops_its_fields(block: str) -> None:
    result = run([block + m.CLASS_A_POSITION[0]])
    out = result.one().as_output()
    assert not any(key.startswith("tag.") for key in out)
    assert "receiver_time" not in out
    assert result.stream.warnings["tag_block_checksum"] == 1
    assert result.rejections == []


# --- talkers and own ship -----------------------------------------------------------


@pytest.mark.parametrize("talker", ["AI", "AB", "BS", "SA", "AN", "AD", "AX"])
def test_ais_talkers_are_accepted(talker: str) -> None:
    message = run(m.encoded(m.CLASS_A_FIELDS, talker=talker)).one()
    assert message.as_output()["talker"] == talker
    assert not message.own_ship


def test_vdo_is_the_own_ship() -> None:
    message = run(m.encoded(m.CLASS_A_FIELDS, formatter="VDO")).one()
    assert message.own_ship
    assert message.as_output()["own_ship"] == 1
    update = VesselRegistry().update(
        message.payload, message.time, "test", own_ship=True
    )
    assert update.vessel.own_ship


# --- through the command line ---------------------------------------------------------


def test_cli_prints_not_available_fields_and_rejections() -> None:
    damaged = m.CLASS_A_POSITION[0][:-2] + "00"
    text = "\n".join([*m.CLASS_A_NOT_AVAILABLE, damaged, *m.STATIC_VOYAGE[:1]])
    out, err = cli(text + "\n")
    assert len(out) == 1
    assert set(out[0]["_not_available"]) == {
        "lat",
        "lon",
        "speed",
        "course",
        "heading",
        "turn",
        "second",
    }
    assert [e["error"] for e in err] == ["checksum_mismatch", "incomplete_message"]
    assert all(e["raw"] and e["detail"] for e in err)
