"""Tests for the synthetic traffic generator and the data it ships."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from pyais import decode
from shapely.geometry import shape

from pantaulaut.traffic import (
    Event,
    PlanError,
    SartActivation,
    SartTest,
    VesselPlan,
    Waypoint,
    format_tag_block,
    generate,
    report_interval_s,
    track_point,
    write_recording,
)

START = datetime(2026, 6, 17, tzinfo=UTC)
# The region every shipped position must stay in: lon 112.6-116.6 E,
# lat 7.6-4.3 S.
REGION = (112.6, -7.6, 116.6, -4.3)
LINE = re.compile(r"^\\(?P<tag>[^\\*]*)\*(?P<tag_sum>[0-9A-F]{2})\\(?P<sentence>!.*)$")
ZONE_KINDS = {"regency_waters", "provincial_waters", "harbour", "lane", "other"}


def _plan(
    mmsi: int = 525019101,
    vessel_class: str = "A",
    speed_kn: float = 10.0,
    route: tuple[Waypoint, ...] = (Waypoint(-7.05, 114.0), Waypoint(-7.05, 114.6)),
    **extra: Any,
) -> VesselPlan:
    fields: dict[str, Any] = {
        "name": "UJI COBA",
        "callsign": "YBUC1",
        "ship_type": 60 if vessel_class == "A" else 30,
        "start_s": -60.0,
        "station": "SMP-TEST",
        **extra,
    }
    return VesselPlan(
        mmsi=mmsi,
        vessel_class=vessel_class,  # type: ignore[arg-type]
        route=route,
        speed_kn=speed_kn,
        **fields,
    )


def _sart() -> SartActivation:
    return SartActivation(
        970016231, 120.0, Waypoint(-7.03, 114.25), "SMP-TEST", drift_kn=0.4
    )


def _scenario(seed: int = 1) -> list[tuple[datetime, str]]:
    plans = [
        _plan(),
        _plan(525301001, "B", 3.0, loop=True, callsign=""),
        _plan(525008815, "A", 0.0, route=(Waypoint(-7.03, 114.03),), rest_status=1),
    ]
    events: list[Event] = [
        _sart(),
        SartTest(970039417, 30.0, Waypoint(-7.05, 113.96), "SMP-T2"),
    ]
    return list(generate(plans, events, START, 900.0, seed))


def _checksum(text: str) -> int:
    value = 0
    for char in text:
        value ^= ord(char)
    return value


def _decoded(
    pairs: Iterable[tuple[datetime, str]],
) -> Iterator[tuple[datetime, dict[str, str], dict[str, Any]]]:
    """Time, tag fields and decoded message, fragments joined."""
    fragments: list[str] = []
    for when, line in pairs:
        match = LINE.match(line)
        assert match is not None, line
        tags = dict(item.split(":", 1) for item in match["tag"].split(","))
        sentence = match["sentence"]
        fields = sentence.split(",")
        fragments.append(sentence)
        if fields[1] != fields[2]:
            continue
        message = decode(*fragments).asdict()
        fragments = []
        yield when, tags, message


def _messages(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for _when, _tags, message in _decoded((START, line) for line in lines):
        yield message


def _times_by(
    pairs: list[tuple[datetime, str]], mmsi: int, msg_type: int, **match: int
) -> list[datetime]:
    return [
        when
        for when, _tags, message in _decoded(pairs)
        if message["mmsi"] == mmsi
        and message["msg_type"] == msg_type
        and all(message[key] == value for key, value in match.items())
    ]


def _gaps_s(times: list[datetime]) -> set[float]:
    return {
        round((later - earlier).total_seconds(), 3)
        for earlier, later in itertools.pairwise(times)
    }


def _shipped_lines() -> list[str]:
    resource = files("pantaulaut.data") / "sumenep-demo.nmea.gz"
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        return text.read().splitlines()


def _polygons(geometry: Any) -> list[Any]:
    return list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]


# --- generator -------------------------------------------------------------


def test_same_seed_gives_same_lines() -> None:
    assert _scenario(seed=7) == _scenario(seed=7)


def test_other_seed_gives_other_noise() -> None:
    assert _scenario(seed=7) != _scenario(seed=8)


def test_lines_come_in_time_order_within_the_duration() -> None:
    times = [when for when, _line in _scenario()]
    assert times == sorted(times)
    assert times[0] >= START
    assert times[-1] < START + timedelta(seconds=900)
    assert all(when.tzinfo is not None for when in times)


def test_every_line_has_valid_tag_block_and_sentence_checksum() -> None:
    for when, line in _scenario():
        match = LINE.match(line)
        assert match is not None, line
        assert _checksum(match["tag"]) == int(match["tag_sum"], 16)
        tags = dict(item.split(":", 1) for item in match["tag"].split(","))
        assert tags["s"].startswith("SMP-")
        assert int(tags["c"]) == int(when.timestamp())
        body, _star, given = match["sentence"][1:].rpartition("*")
        assert body.startswith("AIVDM,")
        assert _checksum(body) == int(given, 16)


def test_tag_block_checksum_is_two_uppercase_hex_digits() -> None:
    block = format_tag_block("SMP-KALIANGET", 1781654400, (1, 2, 42))
    assert block.startswith("\\s:SMP-KALIANGET,c:1781654400,g:1-2-42*")
    body, given = block.strip("\\").split("*")
    assert re.fullmatch("[0-9A-F]{2}", given)
    assert _checksum(body) == int(given, 16)


def test_multipart_static_message_has_group_tag_on_each_fragment() -> None:
    lines = [line for _when, line in _scenario() if ",2,1," in line or ",2,2," in line]
    assert lines, "expected at least one two-sentence message 5"
    for first, second in zip(lines[::2], lines[1::2], strict=True):
        group_1 = re.search(r"g:1-2-(\d+)", first)
        group_2 = re.search(r"g:2-2-(\d+)", second)
        assert group_1 is not None
        assert group_2 is not None
        assert group_1[1] == group_2[1]


def test_generated_messages_decode_with_the_planned_identity() -> None:
    decoded = list(_messages(line for _, line in _scenario()))
    statics = {m["mmsi"]: m for m in decoded if m["msg_type"] == 5}
    assert statics[525019101]["shipname"] == "UJI COBA"
    assert statics[525019101]["callsign"] == "YBUC1"
    names = {m["shipname"] for m in decoded if m["msg_type"] == 24 and m["partno"] == 0}
    assert names == {"UJI COBA"}


@pytest.mark.parametrize(
    ("speed_kn", "expected_s"), [(10.0, 10.0), (18.0, 6.0), (25.0, 2.0)]
)
def test_class_a_under_way_reports_at_the_speed_interval(
    speed_kn: float, expected_s: float
) -> None:
    lines = list(generate([_plan(speed_kn=speed_kn)], [], START, 300.0, 3))
    assert _gaps_s(_times_by(lines, 525019101, 1)) == {expected_s}


def test_class_a_at_anchor_reports_every_three_minutes() -> None:
    plan = _plan(speed_kn=0.0, route=(Waypoint(-7.03, 114.03),), rest_status=1)
    lines = list(generate([plan], [], START, 1200.0, 3))
    times = _times_by(lines, 525019101, 1)
    assert len(times) >= 6
    assert _gaps_s(times) == {180.0}


def test_class_a_leaving_the_berth_reports_at_once_then_every_10_s() -> None:
    lines = list(generate([_plan(start_s=400.0)], [], START, 600.0, 3))
    times = [(t - START).total_seconds() for t in _times_by(lines, 525019101, 1)]
    assert 400.0 in times
    after = [t for t in times if t >= 400.0]
    assert {round(b - a, 3) for a, b in itertools.pairwise(after)} == {10.0}


@pytest.mark.parametrize(("speed_kn", "expected_s"), [(3.0, 30.0), (1.5, 180.0)])
def test_class_b_reports_every_30_s_above_2_kn_else_3_min(
    speed_kn: float, expected_s: float
) -> None:
    plan = _plan(vessel_class="B", speed_kn=speed_kn, loop=True)
    lines = list(generate([plan], [], START, 1800.0, 3))
    assert _gaps_s(_times_by(lines, 525019101, 18)) == {expected_s}


def test_static_data_comes_every_six_minutes() -> None:
    lines = list(generate([_plan()], [], START, 3600.0, 3))
    assert _gaps_s(_times_by(lines, 525019101, 5)) == {360.0}
    b_lines = list(generate([_plan(vessel_class="B")], [], START, 3600.0, 3))
    part_a = _times_by(b_lines, 525019101, 24, partno=0)
    part_b = _times_by(b_lines, 525019101, 24, partno=1)
    assert _gaps_s(part_a) == {360.0}
    # Part B follows part A within a minute (it may fall past the end).
    for sent_a, sent_b in zip(part_a, part_b, strict=False):
        assert timedelta(0) < sent_b - sent_a < timedelta(minutes=1)


def test_interval_scale_thins_out_reports() -> None:
    lines = list(generate([_plan()], [], START, 300.0, 3, interval_scale=3.0))
    assert _gaps_s(_times_by(lines, 525019101, 1)) == {30.0}


def test_report_interval_follows_itu_tables() -> None:
    assert report_interval_s("A", 0.0, 5) == 180.0
    assert report_interval_s("A", 4.0, 1) == 10.0  # dragging anchor: not resting
    assert report_interval_s("A", 14.0) == 10.0
    assert report_interval_s("A", 14.1) == 6.0
    assert report_interval_s("A", 23.1) == 2.0
    assert report_interval_s("B", 2.0) == 180.0
    assert report_interval_s("B", 2.1) == 30.0


def test_vessel_sails_the_leg_at_planned_speed_and_course() -> None:
    plan = _plan(start_s=0.0, route=(Waypoint(-7.0, 114.0), Waypoint(-6.0, 114.0)))
    point = track_point(plan, 1800.0)
    assert point.under_way
    assert point.course_deg == pytest.approx(0.0, abs=1e-9)
    assert point.lat_deg == pytest.approx(-7.0 + 5.0 / 60.0)  # 5 nm north
    assert track_point(plan, -1.0).under_way is False


def test_vessel_rests_at_the_last_waypoint_unless_looping() -> None:
    route = (Waypoint(-7.0, 114.0), Waypoint(-7.0, 114.01))
    done = track_point(_plan(start_s=0.0, route=route), 3600.0)
    assert (done.under_way, done.lon_deg) == (False, 114.01)
    assert track_point(_plan(start_s=0.0, route=route, loop=True), 3600.0).under_way


def test_silenced_vessel_stops_transmitting() -> None:
    lines = list(generate([_plan(stop_s=100.0)], [], START, 600.0, 3))
    assert max(_times_by(lines, 525019101, 1)) < START + timedelta(seconds=100)


def test_sart_activation_sends_status_14_in_bursts_of_eight_and_sart_active() -> None:
    lines = list(generate([], [_sart()], START, 300.0, 5))
    messages = list(_messages(line for _, line in lines))
    reports = [m for m in messages if m["msg_type"] == 1]
    assert reports
    assert all(str(m["mmsi"]).startswith("970") for m in reports)
    assert all(m["status"] == 14 for m in reports)
    assert all(m["heading"] == 511 for m in reports)
    assert len(reports) == 8 * 3  # bursts at 120, 180 and 240 s
    texts = [m for m in messages if m["msg_type"] == 14]
    assert [m["text"] for m in texts] == ["SART ACTIVE"]
    assert texts[0]["mmsi"] == 970016231


def test_sart_test_sends_sart_test_text_and_status_15() -> None:
    event = SartTest(970039417, 10.0, Waypoint(-7.05, 113.96), "SMP-TEST")
    lines = list(generate([], [event], START, 300.0, 5))
    messages = list(_messages(line for _, line in lines))
    assert [m["text"] for m in messages if m["msg_type"] == 14] == ["SART TEST"]
    assert {m["status"] for m in messages if m["msg_type"] == 1} == {15}


def test_plans_and_events_reject_impossible_values() -> None:
    with pytest.raises(PlanError):
        _plan(mmsi=12345)
    with pytest.raises(PlanError):
        _plan(name="A NAME MUCH LONGER THAN TWENTY")
    with pytest.raises(PlanError):
        SartActivation(525000001, 0.0, Waypoint(-7.0, 114.0), "SMP-TEST")
    with pytest.raises(PlanError):
        list(generate([], [], datetime(2026, 6, 17), 60.0, 1))


def test_write_recording_gzips_by_suffix_and_counts_lines(tmp_path: Path) -> None:
    lines = _scenario()
    packed = tmp_path / "out.nmea.gz"
    plain = tmp_path / "out.nmea"
    assert write_recording(packed, lines) == len(lines)
    assert write_recording(plain, lines) == len(lines)
    expected = "".join(line + "\n" for _when, line in lines)
    assert gzip.decompress(packed.read_bytes()).decode("ascii") == expected
    assert plain.read_text(encoding="ascii") == expected


# --- shipped data -------------------------------------------------------------


def test_shipped_recording_positions_decode_inside_the_region() -> None:
    west, south, east, north = REGION
    positions = 0
    for message in _messages(_shipped_lines()):
        if message["msg_type"] in (1, 18):
            positions += 1
            assert west <= message["lon"] <= east, message
            assert south <= message["lat"] <= north, message
    assert positions > 5000


def test_shipped_recording_covers_one_hour_from_three_stations() -> None:
    lines = _shipped_lines()
    stamps = [int(re.search(r"c:(\d+)", line)[1]) for line in lines]  # type: ignore[index]
    start = int(datetime(2026, 6, 17, tzinfo=UTC).timestamp())
    assert stamps == sorted(stamps)
    assert start <= stamps[0] < start + 60
    assert start + 3500 < stamps[-1] < start + 3600
    stations = {re.search(r"s:([^,*]+)", line)[1] for line in lines}  # type: ignore[index]
    assert stations == {"SMP-KALIANGET", "SMP-KANGEAN", "SMP-MASALEMBU"}


def test_shipped_recording_has_sart_test_and_sart_activation() -> None:
    texts: dict[str, set[int]] = defaultdict(set)
    statuses: dict[int, set[int]] = defaultdict(set)
    for message in _messages(_shipped_lines()):
        if message["msg_type"] == 14:
            texts[message["text"]].add(message["mmsi"])
        elif message["msg_type"] == 1 and message["mmsi"] // 1_000_000 == 970:
            statuses[message["mmsi"]].add(int(message["status"]))
    assert texts.keys() == {"SART TEST", "SART ACTIVE"}
    assert texts["SART TEST"].isdisjoint(texts["SART ACTIVE"])
    assert {statuses[mmsi].pop() for mmsi in texts["SART ACTIVE"]} == {14}


def test_shipped_recording_has_foreign_and_domestic_vessels() -> None:
    mmsis = {message["mmsi"] for message in _messages(_shipped_lines())}
    vessels = {mmsi for mmsi in mmsis if mmsi // 1_000_000 != 970}
    assert 25 <= len(vessels) <= 40
    mids = {mmsi // 1_000_000 for mmsi in vessels}
    assert {525, 412, 533, 574} <= mids


def test_zones_file_loads_and_every_polygon_is_valid() -> None:
    text = (files("pantaulaut.data") / "zones.geojson").read_text(encoding="utf-8")
    collection = json.loads(text)
    assert collection["type"] == "FeatureCollection"
    ids = [feature["properties"]["id"] for feature in collection["features"]]
    assert len(ids) == len(set(ids))
    kinds = {feature["properties"]["kind"] for feature in collection["features"]}
    assert kinds <= ZONE_KINDS
    assert {"regency_waters", "harbour"} <= kinds
    for feature in collection["features"]:
        props = feature["properties"]
        assert set(props["alert_on"]) <= {"entry", "exit"}
        assert props["severity"] == "info"
        geometry = shape(feature["geometry"])
        assert geometry.geom_type in ("Polygon", "MultiPolygon")
        for polygon in _polygons(geometry):
            assert polygon.is_valid, props["id"]
            assert polygon.exterior.is_ccw, props["id"]
            assert polygon.exterior.coords[0] == polygon.exterior.coords[-1]
            west, south, east, north = polygon.bounds
            assert REGION[0] <= west <= east <= REGION[2], props["id"]
            assert REGION[1] <= south <= north <= REGION[3], props["id"]


def test_harbour_zones_are_24_point_circles_inside_regency_waters() -> None:
    text = (files("pantaulaut.data") / "zones.geojson").read_text(encoding="utf-8")
    features = json.loads(text)["features"]
    waters = [
        shape(f["geometry"])
        for f in features
        if f["properties"]["kind"] == "regency_waters"
    ]
    harbours = [f for f in features if f["properties"]["kind"] == "harbour"]
    assert len(waters) == 1
    assert len(harbours) == 9
    for feature in harbours:
        polygon = shape(feature["geometry"])
        assert len(polygon.exterior.coords) == 25  # 24 points, closed
        assert feature["properties"]["alert_on"] == ["entry", "exit"]
        assert feature["properties"]["approximate"] is True
        assert waters[0].contains(polygon), feature["properties"]["id"]
