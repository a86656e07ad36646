"""Zone rules: filters and triggers at their edges, the defaults, a replay.

Engine tests place vessels in two small zones (a band and a harbour inside
it) with rules read from TOML written here; the default rules are tested on
the regency's own zones and land; the replay test builds an NMEA recording
with pyais's encoder and runs ``pantaulaut replay`` on it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais.encode import encode_dict
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from pantaulaut.geofence.rules import (
    RuleEngine,
    RuleEvent,
    RuleSet,
    flag_class,
    land_core,
    load_rules,
)
from pantaulaut.geofence.zones import Zone, ZoneSet, load_zones
from pantaulaut.ingest.identity import flag_of
from pantaulaut.model import AlertKind, PositionReport, Severity, Vessel
from pantaulaut.pipeline import Pipeline

# 10:00 WIB
T0 = datetime(2026, 6, 17, 3, 0, tzinfo=UTC)
FOREIGN = 412_440_731  # MID 412, China
DOMESTIC = 525_040_702  # MID 525, Indonesia
BAND = (-6.10, 114.10)  # inside the test band, outside its harbour
HARBOUR = (-6.01, 114.01)
OUTSIDE = (-6.50, 114.10)
REGENCY = load_zones()


@pytest.fixture(scope="module")
def zones() -> ZoneSet:
    return ZoneSet(
        [
            Zone(
                "band", "Test band", "regency_waters", shapely.box(114, -6.2, 114.2, -6)
            ),
            Zone("port", "Test port", "harbour", shapely.box(114, -6.02, 114.02, -6)),
        ]
    )


@pytest.fixture(scope="module")
def regency() -> ZoneSet:
    return load_zones()


def rules_from(text: str, zones: ZoneSet, tmp_path: Path) -> RuleSet:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path, zones)


def ship(mmsi: int = FOREIGN, cls: str = "A", ship_type: int | None = 30) -> Vessel:
    flag = flag_of(mmsi)
    return Vessel(
        mmsi=mmsi,
        vessel_class=cls,
        ship_type=ship_type,
        flag_code=flag[0] if flag else None,
        flag=flag[1] if flag else None,
    )


def report(
    engine: RuleEngine,
    vessel: Vessel,
    t_s: float,
    where: tuple[float, float] = BAND,
    speed_kn: float | None = 8.0,
) -> list[RuleEvent]:
    lat, lon = where
    fix = PositionReport(
        vessel.mmsi,
        T0 + timedelta(seconds=t_s),
        lat,
        lon,
        speed_kn,
        90.0,
        90.0,
        0,
        1,
        "SMP-TEST",
    )
    return engine.on_fix(vessel, fix, engine.rules.zones.at(lon, lat))


def raised(events: list[RuleEvent]) -> list[AlertKind]:
    return [e.kind for e in events if e.active]


RULE = """
[[rules]]
id = "r"
alert = "zone_dwell"
zones = ["band"]
{body}
"""


def engine_for(body: str, zones: ZoneSet, tmp_path: Path) -> RuleEngine:
    return RuleEngine(rules_from(RULE.format(body=body), zones, tmp_path))


# --- triggers at their edges ----------------------------------------------------


@pytest.mark.parametrize(("speed_kn", "alerts"), [(10.0, False), (10.1, True)])
def test_speed_above_raises_only_over_the_limit(
    zones: ZoneSet, tmp_path: Path, speed_kn: float, alerts: bool
) -> None:
    engine = engine_for('trigger = "speed_above"\nspeed_kn = 10', zones, tmp_path)
    events = report(engine, ship(), 0, speed_kn=speed_kn)
    assert bool(raised(events)) is alerts


def test_speed_above_ignores_a_speed_not_available(
    zones: ZoneSet, tmp_path: Path
) -> None:
    engine = engine_for('trigger = "speed_above"\nspeed_kn = 10', zones, tmp_path)
    assert report(engine, ship(), 0, speed_kn=None) == []


@pytest.mark.parametrize(("last_s", "alerts"), [(599, False), (600, True)])
def test_dwell_raises_once_the_time_inside_reaches_t(
    zones: ZoneSet, tmp_path: Path, last_s: float, alerts: bool
) -> None:
    engine = engine_for('trigger = "dwell"\ndwell_s = 600', zones, tmp_path)
    vessel = ship()
    events = []
    for t_s in (0, 200, 400, last_s):
        events += report(engine, vessel, t_s)
    assert raised(events) == ([AlertKind.ZONE_DWELL] if alerts else [])


def test_dwell_starts_again_after_leaving(zones: ZoneSet, tmp_path: Path) -> None:
    engine = engine_for('trigger = "dwell"\ndwell_s = 600', zones, tmp_path)
    vessel = ship()
    report(engine, vessel, 0)
    report(engine, vessel, 300, OUTSIDE)
    assert raised(report(engine, vessel, 400)) == []
    assert raised(report(engine, vessel, 999)) == []
    assert raised(report(engine, vessel, 1000)) == [AlertKind.ZONE_DWELL]


@pytest.mark.parametrize(
    ("speed_kn", "held_s", "alerts"),
    [(1.9, 3599, False), (1.9, 3600, True), (2.0, 7200, False)],
)
def test_default_loitering_is_under_2_kn_for_an_hour(
    regency: ZoneSet, speed_kn: float, held_s: float, alerts: bool
) -> None:
    engine = RuleEngine(load_rules(None, regency))
    vessel = ship(ship_type=70)
    off_sapudi = (-7.00, 114.30)  # in the regency's band, at sea
    events = []
    t_s = 0.0
    while t_s < held_s:
        events += report(engine, vessel, t_s, off_sapudi, speed_kn)
        t_s += 180.0  # class B and anchored class A: every 3 min
    events += report(engine, vessel, held_s, off_sapudi, speed_kn)
    loiter = [e for e in events if e.kind is AlertKind.FOREIGN_LOITERING]
    assert bool(loiter) is alerts
    if alerts:
        (event,) = loiter
        assert event.severity is Severity.LOW
        assert event.detail["lasted_s"] == 3600


def test_loitering_is_not_raised_in_a_harbour(regency: ZoneSet) -> None:
    engine = RuleEngine(load_rules(None, regency))
    kalianget = regency.by_id["harbour-kalianget"].geometry.centroid
    events = [
        e
        for t_s in range(0, 7201, 180)
        for e in report(engine, ship(), t_s, (kalianget.y, kalianget.x), 0.0)
    ]
    assert AlertKind.FOREIGN_LOITERING not in raised(events)


def test_entry_and_exit_each_raise_their_own_alert(
    zones: ZoneSet, tmp_path: Path
) -> None:
    text = """
[[rules]]
id = "in"
alert = "zone_entry"
zones = ["band"]
trigger = "entry"
[[rules]]
id = "out"
alert = "zone_exit"
zones = ["band"]
trigger = "exit"
"""
    engine = RuleEngine(rules_from(text, zones, tmp_path))
    vessel = ship()
    assert report(engine, vessel, 0, OUTSIDE) == []
    (entry,) = report(engine, vessel, 60)
    assert (entry.kind, entry.repeat, entry.zone) == (
        AlertKind.ZONE_ENTRY,
        True,
        "Test band",
    )
    (exit_,) = report(engine, vessel, 120, OUTSIDE)
    assert exit_.kind is AlertKind.ZONE_EXIT
    assert raised(report(engine, vessel, 180)) == [AlertKind.ZONE_ENTRY]


def test_the_first_report_inside_is_no_entry(zones: ZoneSet, tmp_path: Path) -> None:
    text = (
        '[[rules]]\nid = "in"\nalert = "zone_entry"\nzones = ["band"]\n'
        'trigger = "entry"\n'
    )
    engine = RuleEngine(rules_from(text, zones, tmp_path))
    assert report(engine, ship(), 0) == []


# --- filters at their edges -----------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "alerts"),
    [
        ("10:59", False),  # 17:59 WIB
        ("11:00", True),  # 18:00 WIB
        ("22:59", True),  # 05:59 WIB
        ("23:00", False),  # 06:00 WIB
    ],
)
def test_hours_are_read_in_wib_across_midnight(
    zones: ZoneSet, tmp_path: Path, utc: str, alerts: bool
) -> None:
    engine = engine_for(
        'trigger = "inside"\nfilter = { hours_wib = "18:00-06:00" }', zones, tmp_path
    )
    hour, minute = (int(x) for x in utc.split(":"))
    t_s = (hour - T0.hour) * 3600 + minute * 60
    assert bool(raised(report(engine, ship(), t_s))) is alerts


@pytest.mark.parametrize(
    ("speed_kn", "alerts"),
    [(1.9, False), (2.0, True), (4.9, True), (5.0, False), (None, False)],
)
def test_speed_range_includes_its_minimum_and_excludes_its_maximum(
    zones: ZoneSet, tmp_path: Path, speed_kn: float | None, alerts: bool
) -> None:
    engine = engine_for(
        'trigger = "inside"\nfilter = { min_speed_kn = 2, max_speed_kn = 5 }',
        zones,
        tmp_path,
    )
    assert bool(raised(report(engine, ship(), 0, speed_kn=speed_kn))) is alerts


@pytest.mark.parametrize(
    ("mmsi", "flag"),
    [
        (FOREIGN, "foreign"),
        (533_180_294, "foreign"),
        (DOMESTIC, "domestic"),
        (123_456_789, None),  # MID 123 is no country's
        (970_012_345, None),  # an AIS-SART has no flag
    ],
)
def test_flag_is_foreign_unless_the_mid_is_indonesia(
    mmsi: int, flag: str | None
) -> None:
    assert flag_class(mmsi) == flag


@pytest.mark.parametrize(
    ("flag", "raises_for"), [("foreign", FOREIGN), ("domestic", DOMESTIC)]
)
def test_flag_filter_tells_foreign_from_domestic(
    zones: ZoneSet, tmp_path: Path, flag: str, raises_for: int
) -> None:
    engine = engine_for(
        f'trigger = "inside"\nfilter = {{ flag = "{flag}" }}', zones, tmp_path
    )
    for mmsi in (FOREIGN, DOMESTIC, 123_456_789):
        assert bool(raised(report(engine, ship(mmsi), 0))) is (mmsi == raises_for)


@pytest.mark.parametrize(("cls", "alerts"), [("A", False), ("B", True)])
def test_class_filter(zones: ZoneSet, tmp_path: Path, cls: str, alerts: bool) -> None:
    engine = engine_for(
        'trigger = "inside"\nfilter = { class = ["B"] }', zones, tmp_path
    )
    assert bool(raised(report(engine, ship(cls=cls), 0))) is alerts


@pytest.mark.parametrize(
    ("ship_type", "alerts"),
    [(59, False), (60, True), (69, True), (70, False), (30, True), (None, False)],
)
def test_ship_type_filter_takes_codes_and_ranges(
    zones: ZoneSet, tmp_path: Path, ship_type: int | None, alerts: bool
) -> None:
    engine = engine_for(
        'trigger = "inside"\nfilter = { ship_type = [30, "60-69"] }', zones, tmp_path
    )
    assert bool(raised(report(engine, ship(ship_type=ship_type), 0))) is alerts


def test_outside_keeps_a_rule_out_of_harbours(zones: ZoneSet, tmp_path: Path) -> None:
    engine = engine_for('trigger = "inside"\noutside = ["harbour"]', zones, tmp_path)
    assert report(engine, ship(), 0, HARBOUR) == []
    assert raised(report(engine, ship(), 60)) == [AlertKind.ZONE_DWELL]


# --- episodes -------------------------------------------------------------------


def test_a_condition_raises_once_per_episode_and_clears_after_it_ends(
    zones: ZoneSet, tmp_path: Path
) -> None:
    engine = engine_for('trigger = "inside"\nclear_after_s = 600', zones, tmp_path)
    vessel = ship()
    events = [e for t in range(0, 3600, 10) for e in report(engine, vessel, t)]
    assert raised(events) == [AlertKind.ZONE_DWELL]
    # Out of the zone: still the same episode for 10 min (an edge is noisy).
    assert report(engine, vessel, 3600, OUTSIDE) == []
    assert report(engine, vessel, 3700) == []
    assert report(engine, vessel, 3800, OUTSIDE) == []
    (cleared,) = report(engine, vessel, 4400, OUTSIDE)
    assert not cleared.active
    assert cleared.zone == "Test band"
    assert raised(report(engine, vessel, 4500)) == [AlertKind.ZONE_DWELL]


def test_a_tick_clears_a_condition_when_no_report_comes(
    zones: ZoneSet, tmp_path: Path
) -> None:
    engine = engine_for('trigger = "inside"', zones, tmp_path)
    vessel = ship()
    report(engine, vessel, 0)
    report(engine, vessel, 60, OUTSIDE)
    # Over once it has not held for clear_after_s (600 s) since its last report.
    assert engine.on_tick(T0 + timedelta(seconds=599)) == []
    (cleared,) = engine.on_tick(T0 + timedelta(seconds=600))
    assert (cleared.kind, cleared.active) == (AlertKind.ZONE_DWELL, False)


def test_a_vessel_silent_for_six_hours_ends_its_episode(
    zones: ZoneSet, tmp_path: Path
) -> None:
    engine = engine_for('trigger = "inside"', zones, tmp_path)
    report(engine, ship(), 0)
    assert engine.on_tick(T0 + timedelta(hours=5)) == []
    (cleared,) = engine.on_tick(T0 + timedelta(hours=6))
    assert "not heard" in cleared.summary


def test_beacons_and_aircraft_are_not_judged_by_rules(
    zones: ZoneSet, tmp_path: Path
) -> None:
    engine = engine_for('trigger = "inside"', zones, tmp_path)
    assert report(engine, ship(970_012_345, cls="SART"), 0) == []
    assert report(engine, ship(111_525_001, cls="SAR aircraft"), 0) == []


# --- the default rules ----------------------------------------------------------


def test_foreign_fishing_is_raised_in_either_band_for_foreign_fishing_only(
    regency: ZoneSet,
) -> None:
    engine = RuleEngine(load_rules(None, regency))
    five_nm_off_masalembu = (-5.56, 114.31)  # provincial band only
    near_kangean = (-6.80, 115.30)  # regency band too
    for where in (five_nm_off_masalembu, near_kangean):
        kinds = [e.kind for e in report(engine, ship(FOREIGN), 0, where, 3.0)]
        assert kinds == [AlertKind.FOREIGN_FISHING]
        assert report(engine, ship(DOMESTIC), 0, where, 3.0) == []
        assert report(engine, ship(533_000_001, ship_type=70), 0, where, 3.0) == []
        engine = RuleEngine(load_rules(None, regency))
    far_out = (-4.50, 114.30)
    assert report(engine, ship(FOREIGN), 0, far_out, 3.0) == []


def _inland_by(depth_m: float, regency: ZoneSet) -> tuple[float, float]:
    """A point of Madura about ``depth_m`` from the coast, no harbour near."""
    town = shapely.Point(113.87, -7.0)  # Sumenep, inland
    coast = load_land().boundary
    target = shapely.shortest_line(town, coast).coords[1]
    # Walk from the town towards the nearest coast until the depth is right.
    for k in np.linspace(0.0, 1.0, 2001):
        x = town.x + k * (target[0] - town.x)
        y = town.y + k * (target[1] - town.y)
        if coast.distance(shapely.Point(x, y)) * 111_320.0 <= depth_m:
            assert all(z.kind != "harbour" for z in regency.at(x, y))
            return y, x
    raise AssertionError("no such point")


def load_land() -> BaseGeometry:
    text = (resources.files("pantaulaut.data") / "land.geojson").read_text()
    return shapely.union_all(
        [shape(f["geometry"]) for f in json.loads(text)["features"]]
    )


@pytest.mark.parametrize(("depth_m", "alerts"), [(450.0, False), (700.0, True)])
def test_position_on_land_needs_500_m_inland_for_60_s(
    regency: ZoneSet, depth_m: float, alerts: bool
) -> None:
    engine = RuleEngine(load_rules(None, regency))
    where = _inland_by(depth_m, regency)
    first = report(engine, ship(DOMESTIC, ship_type=60), 0, where, 0.0)
    assert first == []  # one report alone is not enough
    assert report(engine, ship(DOMESTIC, ship_type=60), 59, where, 0.0) == []
    events = report(engine, ship(DOMESTIC, ship_type=60), 60, where, 0.0)
    assert raised(events) == ([AlertKind.POSITION_ON_LAND] if alerts else [])
    # Once per episode: more reports on land raise nothing more.
    later = [report(engine, ship(DOMESTIC), t, where, 0.0) for t in (240, 420)]
    assert later == [[], []]


def test_land_core_lies_500_m_inside_the_coast() -> None:
    core = land_core(500.0)
    land = load_land()
    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(113.6, 114.1, 4000), rng.uniform(-7.2, -6.9, 4000)
    inside = shapely.intersects_xy(core, xs, ys)
    assert inside.sum() > 100
    boundary = land.boundary
    for x, y in zip(xs[inside], ys[inside], strict=True):
        lat_scale = math.cos(math.radians(y))
        nearest = shapely.shortest_line(shapely.Point(x, y), boundary)
        (x0, y0), (x1, y1) = nearest.coords
        metres = math.hypot((x1 - x0) * lat_scale, y1 - y0) * 111_320.0
        assert metres >= 495.0


# --- geometry invariant ---------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(113.5, 116.5, allow_nan=False),
            st.floats(-7.6, -4.8, allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_batch_point_in_zone_agrees_with_one_by_one_and_with_contains(
    points: list[tuple[float, float]],
) -> None:
    zones = REGENCY
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    batch = zones.at_many(lons, lats)
    for (lon, lat), found in zip(points, batch, strict=True):
        one = zones.at(lon, lat)
        naive = [
            z for z in zones.zones if z.geometry.intersects(shapely.Point(lon, lat))
        ]
        assert [z.id for z in found] == [z.id for z in one] == [z.id for z in naive]


# --- through the pipeline and the CLI --------------------------------------------


def test_rule_alerts_resolve_when_the_vessel_has_left(regency: ZoneSet) -> None:
    pipeline = Pipeline(None, regency)
    seen = []
    pipeline.sinks.append(
        lambda change: seen.append((change.alert.kind, change.action))
    )
    lines = _trawler_lines(FOREIGN, "FV JIN HAI 77", [(-5.56, 114.31)] * 3)
    lines += _trawler_lines(
        FOREIGN, "FV JIN HAI 77", [(-4.5, 114.3)] * 80, start_s=60, static=False
    )
    for line in lines:
        # Arrival after the tagged times: the data clock is the tags'.
        pipeline.feed(line, "test", T0 + timedelta(days=1))
    pipeline.finish()
    assert (AlertKind.FOREIGN_FISHING, "opened") in seen
    assert (AlertKind.FOREIGN_FISHING, "resolved") in seen


STATION = "SMP-MASALEMBU"


def _tagged(sentence: str, when: datetime) -> str:
    body = f"s:{STATION},c:{int(when.timestamp())}"
    check = 0
    for char in body.encode("ascii"):
        check ^= char
    return f"\\{body}*{check:02X}\\{sentence}"


def _trawler_lines(
    mmsi: int,
    name: str,
    track: list[tuple[float, float]],
    start_s: float = 0.0,
    static: bool = True,
    every_s: float = 10.0,
) -> list[str]:
    lines = []
    if static:
        fields = {
            "type": 5,
            "mmsi": mmsi,
            "ais_version": 0,
            "shipname": name,
            "callsign": "XYZ12",
            "ship_type": 30,  # fishing (ITU-R M.1371-5 table 53)
            "to_bow": 20,
            "to_stern": 18,
            "to_port": 3,
            "to_starboard": 4,
            "draught": 3.5,
        }
        when = T0 + timedelta(seconds=start_s)
        for sentence in encode_dict(fields, talker_id="AI", sentence_type="VDM"):
            lines.append(_tagged(sentence, when))
        start_s += 1.0
    for i, (lat, lon) in enumerate(track):
        when = T0 + timedelta(seconds=start_s + i * every_s)
        fields = {
            "type": 1,
            "mmsi": mmsi,
            "status": 7,  # engaged in fishing
            "lat": lat,
            "lon": lon,
            "speed": 3.5,
            "course": 45.0,
            "heading": 45,
            "second": when.second,
        }
        for sentence in encode_dict(fields, talker_id="AI", sentence_type="VDM"):
            lines.append(_tagged(sentence, when))
    return lines


def _tow(lat0: float, lon0: float, reports: int) -> list[tuple[float, float]]:
    """A trawler's zig-zag tows at 3.5 kn, a report every 10 s."""
    step_deg = 3.5 * 10.0 / 3600.0 / 60.0
    out = []
    for i in range(reports):
        leg, along = divmod(i, 60)
        sign = 1 if leg % 2 == 0 else -1
        out.append((lat0 + sign * along * step_deg, lon0 + leg * 0.002))
    return out


def test_replay_raises_foreign_fishing_for_the_foreign_trawler_only(
    tmp_path: Path,
) -> None:
    # About 5 nm west of Masalembu (its west coast is at 114.40 E): inside
    # the provincial 12 nm band, outside the regency's 4 nm band.
    foreign = _trawler_lines(FOREIGN, "FV JIN HAI 77", _tow(-5.56, 114.31, 240))
    domestic = _trawler_lines(
        DOMESTIC, "KM MINA BAHARI 7", _tow(-5.62, 114.29, 240), start_s=3.0
    )
    lines = sorted(foreign + domestic, key=lambda line: line.split("c:")[1][:10])
    recording = tmp_path / "masalembu.nmea"
    recording.write_text("\n".join(lines) + "\n", encoding="ascii")
    out = tmp_path / "r.json"
    done = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "pantaulaut",
            "replay",
            str(recording),
            "--report",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report_ = json.loads(out.read_text())
    assert report_["rejected"] == {}
    fishing = [a for a in report_["alert_log"] if a["kind"] == "foreign_fishing"]
    assert [(a["mmsi"], a["severity"], a["station"]) for a in fishing] == [
        (FOREIGN, "medium", STATION)
    ]
    assert fishing[0]["zone"] == "East Java provincial waters off Sumenep (12 nm)"
    assert not [a for a in report_["alert_log"] if a["mmsi"] == DOMESTIC]


def test_a_zone_redrawn_over_a_vessel_is_no_entry(
    zones: ZoneSet, tmp_path: Path
) -> None:
    text = '[[rules]]\nid = "in"\nalert = "zone_entry"\nzones = ["band"]\n'
    text += 'trigger = "entry"\n'
    engine = RuleEngine(rules_from(text, zones, tmp_path))
    vessel = ship()
    assert report(engine, vessel, 0, OUTSIDE) == []
    wider = ZoneSet(
        [Zone("band", "Test band", "regency_waters", shapely.box(114, -7, 115, -6))]
    )
    rules = rules_from(text, wider, tmp_path)
    blind = RuleEngine(rules_from(text, zones, tmp_path))
    report(blind, vessel, 0, OUTSIDE)
    blind.use(rules)
    assert raised(report(blind, vessel, 60, OUTSIDE)) == [AlertKind.ZONE_ENTRY]
    engine.use(rules, {vessel.mmsi: frozenset({"band"})})
    assert report(engine, vessel, 60, OUTSIDE) == []


def test_many_zones_are_found_through_the_tree_as_through_the_loop() -> None:
    boxes = [
        Zone(
            f"z{i}-{j}",
            "",
            "other",
            shapely.box(114 + i / 10, -7 + j / 10, 114.15 + i / 10, -6.85 + j / 10),
        )
        for i in range(10)
        for j in range(10)
    ]
    many = ZoneSet(boxes)
    rng = np.random.default_rng(9)
    xs, ys = rng.uniform(113.9, 115.2, 3000), rng.uniform(-7.1, -5.8, 3000)
    batch = many.at_many(xs, ys)
    for x, y, found in zip(xs.tolist(), ys.tolist(), batch, strict=True):
        naive = [z.id for z in boxes if z.geometry.intersects(shapely.Point(x, y))]
        assert [z.id for z in many.at(x, y)] == [z.id for z in found] == naive
