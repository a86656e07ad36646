"""The desk's map, vessel pages and playback without a browser.

The store is filled with synthetic vessels written in batches, the way the
pipeline writes them; the pages' plain functions and the app's callbacks
(over Flask's test client, logged in) are checked against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import flask
import pytest
from conftest import add_desk_user, login_test_client, router_request

from pantaulaut.config import Config, DashboardConfig
from pantaulaut.dashboard.app import create_app
from pantaulaut.dashboard.figures import (
    LAYER_GROUPS,
    SLOT_COUNT,
    base_figure,
    declutter,
    layer_indices,
    load_map_layers,
    slot_index,
    view_from_relayout,
    zone_overlay,
)
from pantaulaut.dashboard.pages import DeskContext, discover, find_page
from pantaulaut.dashboard.pages.map import (
    clip_track,
    layer_patch,
    map_refresh,
    open_ended,
    track_slider,
)
from pantaulaut.dashboard.pages.playback import (
    Window,
    advance,
    area_bbox,
    parse_wib,
    playback_frame,
    view_area,
)
from pantaulaut.dashboard.pages.vessels import vessel_facts
from pantaulaut.geofence.zones import ZoneSet, load_zones
from pantaulaut.model import (
    Alert,
    AlertKind,
    AlertState,
    PositionReport,
    Severity,
    Vessel,
)
from pantaulaut.store.base import Batch, Store
from pantaulaut.store.sqlite import SqliteStore

NOW = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)  # 07:00 WIB
STATION = "SMP-KALIANGET"

FERRY = 525000101
TUG = 525000102
SART = 970000101
ALERTED = 525000103
FOREIGN = 563000101


def vessel(mmsi: int, lat: float, lon: float, **extra: Any) -> Vessel:
    fields: dict[str, Any] = {
        "vessel_class": "A",
        "lat_deg": lat,
        "lon_deg": lon,
        "last_seen": NOW,
        "position_time": NOW,
        "station": STATION,
    }
    fields.update(extra)
    return Vessel(mmsi=mmsi, **fields)


def report(mmsi: int, minutes: float, lat: float, lon: float) -> PositionReport:
    return PositionReport(
        mmsi=mmsi,
        time=NOW + timedelta(minutes=minutes),
        lat_deg=lat,
        lon_deg=lon,
        speed_kn=8.0,
        course_deg=90.0,
        heading_deg=90.0,
        nav_status=0,
        msg_type=1,
        station=STATION,
    )


def crowd(count: int, lat: float, lon: float, first_mmsi: int) -> list[Vessel]:
    """``count`` fishing boats within about 100 m of one point."""
    return [
        vessel(
            first_mmsi + i,
            lat + (i % 10) * 0.0001,
            lon + (i // 10) * 0.0001,
            ship_type=30,
            last_seen=NOW - timedelta(seconds=i),
        )
        for i in range(count)
    ]


def fill(store: Store) -> None:
    ferry_track = [
        report(FERRY, -60 + 10 * i, -7.05, 113.95 + 0.02 * i) for i in range(7)
    ]
    vessels = {
        FERRY: vessel(
            FERRY,
            -7.05,
            114.07,
            name="KMP DHARMA BAHARI SUMEKAR",
            callsign="YBDS",
            imo=9123456,
            ship_type=60,
            ship_type_text="Passenger",
            flag="Indonesia",
            flag_code="ID",
            length_m=62.0,
            beam_m=12.0,
            draught_m=2.8,
            destination="KANGEAN",
            speed_kn=8.0,
            course_deg=90.0,
            heading_deg=90.0,
        ),
        TUG: vessel(TUG, -7.06, 113.95, name="TB 100% SAPUDI", ship_type=52),
        SART: vessel(SART, -6.95, 115.3, vessel_class="SART"),
        ALERTED: vessel(ALERTED, -6.9, 114.5, name="KM ARIM JAYA", ship_type=30),
        FOREIGN: vessel(
            FOREIGN, -6.7, 115.0, name="FV LAUT BIRU", flag="Singapore", callsign="9V1"
        ),
    }
    for item in crowd(200, -6.8, 114.8, 525100000):
        vessels[item.mmsi] = item
    alerts = {
        "a1": Alert(
            "a1",
            AlertKind.SART_ACTIVE,
            Severity.CRITICAL,
            NOW,
            mmsi=SART,
            summary="AIS-SART active",
        ),
        "a2": Alert(
            "a2",
            AlertKind.SUDDEN_STOP,
            Severity.HIGH,
            NOW,
            mmsi=ALERTED,
            summary="stop",
        ),
        "a3": Alert(
            "a3",
            AlertKind.ZONE_ENTRY,
            Severity.INFO,
            NOW - timedelta(hours=2),
            mmsi=FERRY,
            state=AlertState.RESOLVED,
            summary="entered Kalianget",
        ),
    }
    positions = [*ferry_track, report(TUG, 0, -7.06, 113.95)]
    store.write(Batch(positions=positions, vessels=vessels, alerts=alerts))


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with flask.Flask(__name__).test_request_context(headers={"Cookie": "lang=en"}):
        yield


@pytest.fixture(scope="module")
def zones() -> ZoneSet:
    return load_zones()


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    store = SqliteStore(":memory:")
    fill(store)
    yield store
    store.close()


@pytest.fixture
def context(store: SqliteStore, zones: ZoneSet) -> DeskContext:
    config = Config(dashboard=DashboardConfig(recent_minutes=60))
    return DeskContext(
        store, config, zones, zone_overlay(zones), load_map_layers(zones)
    )


def drawn_mmsis(slots: list[dict[str, Any]]) -> set[int]:
    return {m for s in slots for m in (s.get("customdata") or [])}


# --- view filtering and decluttering ---------------------------------------


def test_refresh_reads_only_the_vessels_in_view(context: DeskContext) -> None:
    # A harbour view round Kalianget: the ferry and the tug, nothing else.
    view = {"map.center": {"lat": -7.05, "lon": 114.0}, "map.zoom": 11.5}
    result = map_refresh(context, view)
    assert drawn_mmsis(result.slots) == {FERRY, TUG}
    assert len(result.slots) == SLOT_COUNT
    assert {v.mmsi for v in result.snapshot.mapped} == {FERRY, TUG}
    # Every open alert is still listed, even of vessels out of view.
    assert {a.mmsi for a in result.snapshot.alerts} == {SART, ALERTED}


def test_zoomed_out_crowds_are_decluttered_but_beacons_and_alerts_stay(
    context: DeskContext,
) -> None:
    result = map_refresh(
        context, {"map.center": {"lat": -6.8, "lon": 114.6}, "map.zoom": 7}
    )
    drawn = drawn_mmsis(result.slots)
    assert {SART, ALERTED, FERRY, FOREIGN} <= drawn
    crowd_drawn = [m for m in drawn if 525100000 <= m < 525100200]
    assert len(crowd_drawn) == 1  # 200 boats within 100 m: one square
    assert result.drawn == len(drawn)
    legend = [
        s["name"] for s in result.slots if s.get("name", "").startswith("Fishing")
    ]
    assert legend == ["Fishing (30): 201"]  # counts what is in view, not drawn
    beacon = result.slots[slot_index("points-beacon")]
    assert beacon["customdata"] == [SART]
    assert (
        beacon["marker"]["size"]
        > result.slots[slot_index("points-fishing")]["marker"]["size"]
    )


def test_declutter_keeps_every_vessel_when_zoomed_in() -> None:
    boats = crowd(50, -7.0, 114.0, 525200000)
    assert declutter(boats, 13.0) == boats
    kept = declutter(boats, 8.0, keep={525200049})
    assert {v.mmsi for v in kept} == {525200000, 525200049}  # newest, and the kept


def test_declutter_caps_the_markers() -> None:
    spread = [
        vessel(525300000 + i, -8.0 + (i // 100) * 0.03, 112.0 + (i % 100) * 0.03)
        for i in range(10_000)
    ]
    beacon = vessel(970000555, -7.0, 114.0, vessel_class="SART")
    kept = declutter([*spread, beacon], 10.5, max_markers=500)
    assert beacon in kept
    assert 1 < len(kept) <= 501


def test_view_box_comes_from_the_map_or_from_centre_and_zoom() -> None:
    derived = {
        "map.center": {"lat": -7.0, "lon": 114.0},
        "map.zoom": 9.0,
        "map._derived": {
            "coordinates": [[113.5, -6.7], [114.5, -6.7], [114.5, -7.3], [113.5, -7.3]]
        },
    }
    view = view_from_relayout(derived, {"lat": 0.0, "lon": 0.0}, 5.0)
    assert view.bbox == (113.5, -7.3, 114.5, -6.7)
    assert view.zoom == 9.0
    plain = view_from_relayout(
        {"map.center": {"lat": -7.0, "lon": 114.0}, "map.zoom": 10.0},
        {"lat": 0.0, "lon": 0.0},
        5.0,
    )
    west, south, east, north = plain.bbox
    assert west < 114.0 < east
    assert south < -7.0 < north
    assert east - west == pytest.approx(1600 * 360 / (512 * 2**10))
    fallback = view_from_relayout({"autosize": True}, {"lat": -6.6, "lon": 115.0}, 7.0)
    assert fallback.center == {"lat": -6.6, "lon": 115.0}
    assert fallback.zoom == 7.0


# --- layers -----------------------------------------------------------------


def test_layers_from_data_are_drawn_and_switch_without_touching_vessels(
    context: DeskContext,
) -> None:
    figure = base_figure(context.overlay, context.layers)
    layers, traces = layer_indices(figure)
    assert {"land", "bands", "harbours", "lanes", "alki"} <= set(layers)
    assert set(layers) | set(traces) <= set(LAYER_GROUPS)
    land = figure.layout.map.layers[layers["land"][0]]
    assert land.type == "fill"
    assert len(land.source["features"]) > 50  # Madura and the islands
    assert figure.layout.map.style == "white-bg"
    assert all(
        layer.sourcetype == "geojson" for layer in figure.layout.map.layers
    )  # nothing fetched from a server
    frame = {
        "slot_start": len(figure.data) - SLOT_COUNT,
        "layers": layers,
        "traces": traces,
    }
    patch = layer_patch(frame, {"bands", "harbours"}).to_plotly_json()
    changed = {
        tuple(op["location"]): op["params"]["value"] for op in patch["operations"]
    }
    land_key = ("layout", "map", "layers", layers["land"][0], "visible")
    assert changed[land_key] is False
    for index in layers["bands"]:
        assert changed[("layout", "map", "layers", index, "visible")] is True
    for index in traces["lanes"]:
        assert changed[("data", index, "visible")] is False
    # Only visibility changes: no vessel slot, no data.
    assert all(key[-1] == "visible" for key in changed)
    assert all(key[0] == "layout" or key[1] < frame["slot_start"] for key in changed)


def test_hidden_layers_start_hidden(context: DeskContext) -> None:
    figure = base_figure(context.overlay, context.layers, visible={"land"})
    layers, traces = layer_indices(figure)
    for group, indexes in layers.items():
        for index in indexes:
            assert figure.layout.map.layers[index].visible is (group == "land")
    for indexes in traces.values():
        assert all(figure.data[i].visible is False for i in indexes)


# --- the selected vessel's track --------------------------------------------


def test_track_slider_spans_the_track_in_wib(store: SqliteStore) -> None:
    track = store.track(FERRY, NOW - timedelta(hours=2), NOW + timedelta(hours=1))
    assert len(track) == 7
    slider = track_slider(track)
    assert slider["min"] == int(track[0].time.timestamp())
    assert slider["max"] == int(track[-1].time.timestamp())
    assert slider["value"] == [slider["min"], slider["max"]]
    assert slider["disabled"] is False
    assert sorted(slider["marks"].values()) == ["06:00", "07:00"]  # WIB
    middle = clip_track(track, [slider["min"] + 1200, slider["max"] - 1200])
    assert [p.time for p in middle] == [p.time for p in track[2:5]]
    assert clip_track(track, None) == track
    # Scrubbed to its end, the track keeps the reports that come later.
    growing = open_ended([slider["min"] + 1200, slider["max"]], slider["max"])
    assert clip_track(track, growing) == track[2:]
    assert open_ended([1, 5], 9) == [1.0, 5.0]
    assert track_slider([])["disabled"] is True


def test_selected_vessel_track_is_drawn(context: DeskContext) -> None:
    view = {"map.center": {"lat": -7.05, "lon": 114.0}, "map.zoom": 11.0}
    lo = int((NOW - timedelta(minutes=30)).timestamp())
    result = map_refresh(context, view, selected=FERRY, track_range_s=[lo, lo + 3600])
    track = result.slots[slot_index("track")]
    assert len(track["lat"]) == 4  # -30, -20, -10 and 0 minutes
    assert track["text"][0] == "2026-06-17 06:30 WIB"
    ring = result.slots[slot_index("selected")]
    assert ring["lat"] == [-7.05]


# --- search and detail ------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "sqlite":
        store: Store = SqliteStore(":memory:")
    else:
        from pantaulaut.store.postgres import PostgresStore

        store = PostgresStore.from_url(request.getfixturevalue("postgres_schema_url"))
    fill(store)
    yield store
    store.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dharma", {FERRY}),
        ("  Bahari  Sumekar ", {FERRY}),
        ("5250001", {FERRY, TUG, ALERTED}),
        ("525000101", {FERRY}),
        ("ybds", {FERRY}),
        ("9V1", {FOREIGN}),
        ("9123456", {FERRY}),
        ("IMO 912345", {FERRY}),
        ("100%", {TUG}),
        ("%", {TUG}),  # literally, not "anything"
        ("_", set()),
        ("nothing like it", set()),
        ("   ", set()),
    ],
)
def test_search_finds_name_mmsi_call_sign_and_imo(
    any_store: Store, text: str, expected: set[int]
) -> None:
    found = {v.mmsi for v in any_store.search_vessels(text, limit=50)}
    assert found == expected


def test_search_is_limited_and_latest_first(any_store: Store) -> None:
    found = any_store.search_vessels("5251000", limit=5)
    assert [v.mmsi for v in found] == [525100000 + i for i in range(5)]


def test_vessel_marks_are_light_and_filtered_like_vessels(any_store: Store) -> None:
    box = (113.9, -7.1, 114.1, -7.0)
    marks = any_store.vessel_marks(seen_since=NOW - timedelta(minutes=5), bbox=box)
    assert {m.mmsi for m in marks} == {
        v.mmsi
        for v in any_store.vessels(seen_since=NOW - timedelta(minutes=5), bbox=box)
    }
    ferry = next(m for m in marks if m.mmsi == FERRY)
    assert (ferry.lat_deg, ferry.lon_deg, ferry.ship_type) == (-7.05, 114.07, 60)
    assert ferry.vessel_class == "A"
    assert ferry.last_seen == NOW
    assert ferry.name is None  # not read
    every = any_store.vessel_marks()
    assert len(every) == any_store.count("vessels")
    assert next(m for m in every if m.mmsi == SART).vessel_class == "SART"
    found = any_store.vessels_by_mmsi([TUG, FERRY, TUG, 1])
    assert sorted(v.name or "" for v in found) == [
        "KMP DHARMA BAHARI SUMEKAR",
        "TB 100% SAPUDI",
    ]
    assert any_store.vessels_by_mmsi([]) == []


def test_positions_in_box_and_window(any_store: Store) -> None:
    box = (113.9, -7.1, 114.0, -7.0)
    found = any_store.positions_in(box, NOW - timedelta(minutes=60), NOW)
    assert [(p.mmsi, p.time) for p in found] == [
        (FERRY, NOW - timedelta(minutes=60)),
        (FERRY, NOW - timedelta(minutes=50)),
        (FERRY, NOW - timedelta(minutes=40)),
        (TUG, NOW),
    ]
    everywhere = any_store.positions_in(None, NOW - timedelta(hours=2), NOW, limit=3)
    assert len(everywhere) == 3
    assert everywhere[0].time == NOW - timedelta(minutes=60)


def test_vessel_facts_show_flag_size_and_station(store: SqliteStore) -> None:
    found = store.vessel(FERRY)
    assert found is not None
    facts = dict(vessel_facts(found))
    assert facts["Flag"] == "Indonesia (ID)"
    times = "\u00d7"
    assert facts[f"Size (length {times} beam)"] == f"62 {times} 12 m"
    assert facts["Last heard"] == "2026-06-17 07:00 WIB"
    assert facts["By station"] == STATION
    assert facts["IMO"] == "9123456"
    assert facts["Call sign"] == "YBDS"
    assert facts["Type"] == "Passenger (60)"


# --- playback ---------------------------------------------------------------


def test_playback_frame_shows_each_vessel_at_its_latest_report() -> None:
    positions = [
        report(FERRY, 0, -7.0, 114.0),
        report(TUG, 1, -7.1, 113.9),
        report(FERRY, 2, -7.0, 114.1),
        report(FERRY, 4, -7.0, 114.2),
    ]
    statics = {FERRY: Vessel(FERRY, name="KMP DHARMA", ship_type=60)}
    cursor = (NOW + timedelta(minutes=3)).timestamp()
    frame = {v.mmsi: v for v in playback_frame(positions, statics, cursor)}
    assert frame[FERRY].lon_deg == 114.1
    assert frame[FERRY].name == "KMP DHARMA"
    assert frame[TUG].name is None
    # The tug's report is older than the trail at the later cursor.
    later = (NOW + timedelta(minutes=18)).timestamp()
    assert {v.mmsi for v in playback_frame(positions, statics, later, 900)} == {FERRY}


def test_playback_advances_at_its_speed_and_stops_at_the_end() -> None:
    window = Window(0.0, 3600.0, 0.0, running=True)
    window = advance(window, 600)
    assert window.cursor_s == 600.0
    assert window.running
    for _ in range(10):
        window = advance(window, 600)
    assert window.cursor_s == 3600.0
    assert not window.running
    assert Window.from_data(window.as_data()) == window
    assert Window.from_data({"start_s": "x"}) is None


def test_playback_area_is_a_zone_the_map_view_or_everything(
    context: DeskContext,
) -> None:
    harbour = next(z for z in context.zones.zones if z.kind == "harbour")
    assert area_bbox(context, harbour.id) == pytest.approx(harbour.geometry.bounds)
    view = view_area((113.9, -7.1, 114.0, -7.0))
    assert view == "bbox:113.9000,-7.1000,114.0000,-7.0000"
    assert area_bbox(context, view) == (113.9, -7.1, 114.0, -7.0)
    assert area_bbox(context, "all") is None
    assert area_bbox(context, "bbox:1,2,x,4") is None
    assert area_bbox(context, "bbox:114,-7,113,-6") is None  # west of east


def test_playback_start_is_read_in_wib() -> None:
    assert parse_wib("2026-06-17 07:00") == NOW
    assert parse_wib("2026-06-17T07:30") == NOW + timedelta(minutes=30)
    assert parse_wib("17/06/2026") is None
    assert parse_wib("") is None


# --- pages and the app over HTTP --------------------------------------------


def test_pages_are_found_by_path() -> None:
    pages = discover()
    paths = [p.path for p in pages]
    assert paths[0] == "/"
    assert {"/vessels", "/playback"} <= set(paths)
    found = find_page(pages, "/vessels/525000101")
    assert found is not None
    assert found[0].path == "/vessels"
    assert found[1] == "525000101"
    root = find_page(pages, "/")
    assert root is not None
    assert root[0].path == "/"
    assert find_page(pages, "/nowhere") is None


def logged_in(app: Any, store: Any) -> tuple[Any, dict[str, str]]:
    """A test client with a session, and the headers a callback needs."""
    add_desk_user(store)
    client = app.server.test_client()
    token = login_test_client(client)
    return client, {"X-CSRFToken": token}


def call(
    client: Any,
    headers: dict[str, str],
    outputs: str,
    inputs: list[dict[str, Any]],
    state: list[dict[str, Any]] | None = None,
) -> Any:
    parts = [
        {"id": p.split(".")[0], "property": p.split(".")[1].split("@")[0]}
        for p in outputs.strip(".").split("...")
    ]
    body = {
        "output": outputs,
        "outputs": parts if outputs.startswith("..") else parts[0],
        "inputs": inputs,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
        "state": state or [],
    }
    answer = client.post("/_dash-update-component", json=body, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["response"]


def route(client: Any, headers: dict[str, str], path: str) -> str:
    result = call(
        client,
        headers,
        "..page.children...nav.children...counts.className..",
        [
            {"id": "url", "property": "pathname", "value": path},
            {"id": "url", "property": "search", "value": ""},
        ],
    )
    return json.dumps(result, ensure_ascii=False)


@pytest.fixture
def app_client(store: SqliteStore, zones: ZoneSet) -> tuple[Any, Any, dict[str, str]]:
    settings = DashboardConfig(
        recent_minutes=60, secret_key="test-signing-key-0123456789"
    )
    app = create_app(store, Config(dashboard=settings), zones)
    client, headers = logged_in(app, store)
    client.set_cookie("lang", "en")
    return app, client, headers


def test_navigation_routes_to_every_page(app_client: Any) -> None:
    _app, client, headers = app_client
    page = route(client, headers, "/")
    for label in ("Map", "Vessels", "Playback"):
        assert f'"children": "{label}"' in page
    assert '"id": "map"' in page
    assert '"id": "map-layers"' in page
    assert '"id": "vessel-query"' in route(client, headers, "/vessels")
    assert '"id": "playback-map"' in route(client, headers, "/playback")
    assert "Page not found." in route(client, headers, "/nowhere")


def test_a_pan_remembers_the_view_and_links_it_to_playback(app_client: Any) -> None:
    _app, client, headers = app_client
    relayout = {
        "map.center": {"lat": -7.05, "lon": 114.0},
        "map.zoom": 12.0,
        "map._derived": {
            "coordinates": [[113.9, -7.0], [114.1, -7.0], [114.1, -7.1], [113.9, -7.1]]
        },
    }
    result = call(
        client,
        headers,
        "..map-view.data...replay-view.href..",
        [{"id": "map", "property": "relayoutData", "value": relayout}],
    )
    assert result["map-view"]["data"] == relayout
    href = result["replay-view"]["href"]
    assert href == "/playback?area=bbox%3A113.9000%2C-7.1000%2C114.1000%2C-7.0000"
    page = route(client, headers, "/playback")
    assert "The map's view" not in page
    body = router_request("/playback", href.split("?")[1])
    answer = client.post("/_dash-update-component", json=body, headers=headers)
    assert "The map's view" in answer.get_data(as_text=True)


def test_vessel_detail_page(app_client: Any) -> None:
    _app, client, headers = app_client
    page = route(client, headers, f"/vessels/{FERRY}")
    assert f"KMP DHARMA BAHARI SUMEKAR · MMSI {FERRY}" in page
    assert "Indonesia (ID)" in page
    assert STATION in page
    assert "Zone entry" in page  # the kind in words
    assert "resolved" in page
    assert "Track: 7 positions in the last 24 h" in page
    assert "Vessel 525999999 is not known." in route(
        client, headers, "/vessels/525999999"
    )


def test_search_callback_lists_links_to_details(app_client: Any) -> None:
    _app, client, headers = app_client
    result = call(
        client,
        headers,
        "..vessel-results.children...vessel-count.children..",
        [{"id": "vessel-query", "property": "value", "value": "ybds"}],
    )
    text = json.dumps(result)
    assert f'"/vessels/{FERRY}"' in text
    assert "1 vessels found" in text


def test_refresh_sends_only_the_vessel_slots(
    app_client: Any, context: DeskContext
) -> None:
    _app, client, headers = app_client
    start = len(base_figure(context.overlay, context.layers).data) - SLOT_COUNT
    frame = {"slot_start": start, "layers": {}, "traces": {}}
    result = call(
        client,
        headers,
        "..map.figure...alerts.children...alert-title.children...counts.children..",
        [
            {"id": "tick", "property": "n_intervals", "value": 1},
            {"id": "map-view", "property": "data", "value": None},
            {"id": "map-selection", "property": "data", "value": None},
        ],
        [
            {"id": "track-slider", "property": "value", "value": [0, 1]},
            {"id": "track-slider", "property": "max", "value": 1},
            {"id": "map-frame", "property": "data", "value": frame},
        ],
    )
    operations = result["map"]["figure"]["operations"]
    assert [op["location"] for op in operations] == [
        ["data", start + i] for i in range(SLOT_COUNT)
    ]
    assert result["alerts"]["children"][0]["props"]["data-kind"] == "sart_active"
    counts = json.dumps(result["counts"])
    assert "vessels shown" in counts
    assert "drawn" in counts
