"""The desk's page without a browser: figure, alert list, counts, HTTP wiring.

The store is filled the way the service fills it: NMEA sentences made by
pyais's encoder, with tag blocks, run through the real pipeline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

import flask
import pytest
from conftest import add_desk_user, login_test_client, router_request
from pyais.encode import encode_dict
from shapely.geometry import Polygon, box

from pantaulaut.config import Config, DashboardConfig
from pantaulaut.dashboard.app import alert_items, create_app, desk_view, header_counts
from pantaulaut.dashboard.figures import (
    DeskSnapshot,
    format_wib,
    heading_segment,
    load_snapshot,
    map_figure,
    ship_class,
    vessel_hover,
    zone_overlay,
    zoom_from_relayout,
)
from pantaulaut.dashboard.pages import discover
from pantaulaut.errors import StoreError
from pantaulaut.geofence.zones import Zone, ZoneSet, load_zones
from pantaulaut.model import Severity, Vessel
from pantaulaut.pipeline import Pipeline
from pantaulaut.store.sqlite import SqliteStore

T0 = 1781654400  # 2026-06-17 00:00:00 UTC = 07:00 WIB
STATION = "SMP-TEST"

PASSENGER = 525000001
FISHING = 525000002
CARGO = 525000003
TANKER = 525000004
TUG = 525000005
CLASS_B = 525000006
SILENT = 525000007  # last heard 90 minutes before the newest data
DRIFTER = 525000008  # no heading, moving: the course draws its line
FOREIGN = 563000001  # Singapore
SART = 970123456
EPIRB = 974123456  # active, but last heard two hours before the newest data
SART_TEST = 970654321


def tagged(sentence: str, time_s: int, station: str = STATION) -> str:
    """A sentence behind an NMEA 4.10 tag block with station and time."""
    body = f"s:{station},c:{time_s}"
    checksum = reduce(lambda acc, char: acc ^ ord(char), body, 0)
    return f"\\{body}*{checksum:02X}\\{sentence}"


def sentences(fields: dict[str, Any]) -> list[str]:
    # pyais 3.3 defaults to VDO (own ship); a station hears others as VDM.
    return encode_dict(fields, talker_id="AI", sentence_type="VDM", radio_channel="A")


def position(mmsi: int, lat: float, lon: float, **extra: Any) -> dict[str, Any]:
    fields = {"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "status": 0}
    fields.update({"speed": 0, "course": 0, "heading": 511})
    fields.update(extra)
    return fields


def static(mmsi: int, name: str, ship_type: int) -> dict[str, Any]:
    return {
        "type": 5,
        "mmsi": mmsi,
        "shipname": name,
        "ship_type": ship_type,
        "callsign": "YB" + str(mmsi)[-4:],
        "destination": "KALIANGET",
    }


# (seconds after T0, fields): what the test station heard.
TRAFFIC: list[tuple[int, dict[str, Any]]] = [
    (-7200, position(EPIRB, -5.55, 114.45, status=14)),
    (-5400, position(SILENT, -7.05, 114.3, speed=5, course=45, heading=45)),
    (0, static(PASSENGER, "KM DHARMA KENCANA", 60)),
    (10, position(PASSENGER, -7.1, 114.0, speed=10, course=90, heading=90)),
    (20, static(FISHING, "KM BAROKAH", 30)),
    (30, position(FISHING, -6.95, 114.2, speed=3.5, course=180, heading=175)),
    (40, static(CARGO, "MV MADURA JAYA", 70)),
    (50, position(CARGO, -6.9, 114.5, speed=9, course=270, heading=268)),
    (60, static(TANKER, "MT KANGEAN", 80)),
    (70, position(TANKER, -6.95, 115.3, speed=8, course=300, heading=300)),
    (80, static(TUG, "TB SAPUDI", 52)),
    (90, position(TUG, -7.0, 113.95, speed=4, course=10, heading=10)),
    (
        100,
        {
            "type": 18,
            "mmsi": CLASS_B,
            "lat": -6.8,
            "lon": 114.8,
            "speed": 6,
            "course": 120,
            "heading": 511,
        },
    ),
    (110, position(DRIFTER, -6.85, 114.9, speed=2, course=200)),
    (120, static(FOREIGN, "FV LAUT BIRU", 30)),
    (130, position(FOREIGN, -6.7, 115.0, speed=1, course=0, heading=90)),
    # The tug crosses into the harbour: a zone entry alert (low, by rule).
    (200, position(TUG, -7.05, 114.0, speed=4, course=180, heading=180)),
    (300, position(SART, -6.9, 115.3, status=14)),
    (310, {"type": 14, "mmsi": SART_TEST, "text": "SART TEST"}),
    (320, position(SART_TEST, -7.15, 114.05, status=15)),
    (600, position(PASSENGER, -7.1, 114.1, speed=10, course=90, heading=90)),
]
NEWEST = datetime.fromtimestamp(T0 + 600, UTC)


def desk_zones() -> ZoneSet:
    """A harbour and a waters band with an island cut out (a hole)."""
    band = Polygon(
        [(113.7, -7.4), (116.0, -7.4), (116.0, -6.5), (113.7, -6.5)],
        [[(114.6, -7.2), (115.0, -7.2), (115.0, -6.9), (114.6, -6.9)]],
    )
    return ZoneSet(
        [
            Zone("regency", "Sumenep regency waters", "regency_waters", band),
            Zone(
                "kalianget",
                "Kalianget 100% harbour",
                "harbour",
                box(113.9, -7.2, 114.1, -7.02),
                alert_on=frozenset({"entry"}),
                severity=Severity.LOW,
            ),
        ]
    )


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Texts in English, as the desk shows them with the ``lang=en`` cookie."""
    with flask.Flask(__name__).test_request_context(headers={"Cookie": "lang=en"}):
        yield


@pytest.fixture(scope="module")
def zones() -> ZoneSet:
    return desk_zones()


@pytest.fixture(scope="module")
def store(zones: ZoneSet) -> Iterator[SqliteStore]:
    store = SqliteStore(":memory:")
    pipeline = Pipeline(store, zones)
    for offset, fields in TRAFFIC:
        for sentence in sentences(fields):
            pipeline.feed(tagged(sentence, T0 + offset), "test", datetime.now(UTC))
    pipeline.finish()
    assert not pipeline.report()["rejected"], pipeline.report()
    yield store
    store.close()


@pytest.fixture(scope="module")
def snapshot(store: SqliteStore) -> DeskSnapshot:
    return load_snapshot(store, recent_minutes=60)


def trace(figure: Any, prefix: str) -> Any:
    found = [t for t in figure.data if (t.name or "").startswith(prefix)]
    assert len(found) == 1, [t.name for t in figure.data]
    return found[0]


def hover_of(figure: Any, mmsi: int) -> str:
    for item in figure.data:
        if item.customdata is not None and mmsi in item.customdata:
            return str(item.text[list(item.customdata).index(mmsi)])
    raise AssertionError(f"{mmsi} is not on the map")


def test_window_ends_at_the_data_clock_not_the_wall_clock(
    snapshot: DeskSnapshot,
) -> None:
    assert snapshot.latest == NEWEST
    assert snapshot.since == NEWEST - timedelta(minutes=60)
    shown = {v.mmsi for v in snapshot.mapped}
    assert {PASSENGER, FISHING, CARGO, TANKER, TUG, CLASS_B, DRIFTER, FOREIGN} <= shown
    assert {SART, SART_TEST} <= shown
    assert SILENT not in shown
    # Silent for two hours, but its distress alert is open: it stays.
    assert EPIRB in shown


def test_vessels_are_coloured_by_ship_type_with_a_legend(
    snapshot: DeskSnapshot, zones: ZoneSet
) -> None:
    figure = map_figure(snapshot, zone_overlay(zones))
    expected = {
        "Fishing": {FISHING, FOREIGN},
        "Passenger": {PASSENGER},
        "Cargo": {CARGO},
        "Tanker": {TANKER},
        "Tug / pilot / SAR": {TUG},
        "Other / unknown": {CLASS_B, DRIFTER},
        "Distress beacon": {SART, SART_TEST, EPIRB},
    }
    colours = set()
    for prefix, members in expected.items():
        points = trace(figure, prefix)
        assert set(points.customdata) == members, prefix
        assert points.showlegend is not False
        assert points.mode == "markers"
        colours.add(points.marker.color)
    assert len(colours) == len(expected)
    assert figure.layout.map.style == "white-bg"
    assert figure.layout.uirevision  # zoom and pan survive a refresh
    assert [layer.sourcetype for layer in figure.layout.map.layers] == ["geojson"] * 2


def test_hover_shows_what_the_operator_needs(
    snapshot: DeskSnapshot, zones: ZoneSet
) -> None:
    figure = map_figure(snapshot, zone_overlay(zones))
    text = hover_of(figure, PASSENGER)
    assert "KM DHARMA KENCANA" in text
    assert f"MMSI {PASSENGER}" in text
    assert "Indonesia" in text
    assert "Passenger" in text
    assert "Speed 10.0 kn" in text
    assert "Course 90°" in text
    assert "Last seen 2026-06-17 07:10 WIB" in text
    assert f"Station {STATION}" in text
    assert "Singapore" in hover_of(figure, FOREIGN)
    assert "Fishing" in hover_of(figure, FOREIGN)
    sart = hover_of(figure, SART)
    assert "AIS-SART" in sart
    assert "ALERT CRITICAL" in sart
    assert "AIS-SART active: distress" in sart  # the kind in words


def test_distress_beacons_and_alerts_stand_out_on_top(
    snapshot: DeskSnapshot, zones: ZoneSet
) -> None:
    figure = map_figure(snapshot, zone_overlay(zones))
    names = [t.name for t in figure.data]
    beacons = trace(figure, "Distress beacon")
    assert names[-1] == beacons.name  # drawn last: on top of everything
    assert beacons.marker.color == "#d40000"
    vessels = [t for t in figure.data if t.customdata is not None and t is not beacons]
    assert beacons.marker.size >= max(t.marker.size for t in vessels) + 4
    critical = trace(figure, "Open alert: critical")
    assert critical.marker.size >= 24
    assert {
        (round(lat, 3), round(lon, 3))
        for lat, lon in zip(critical.lat, critical.lon, strict=True)
    } == {(-6.9, 115.3), (-5.55, 114.45)}
    low = trace(figure, "Open alert: low")
    assert "TB SAPUDI" in low.text[0]  # the tug's harbour entry


def test_traces_have_stable_unique_ids(snapshot: DeskSnapshot, zones: ZoneSet) -> None:
    figure = map_figure(snapshot, zone_overlay(zones))
    uids = [t.uid for t in figure.data]
    assert all(uids)
    assert len(set(uids)) == len(uids)
    fewer = DeskSnapshot(snapshot.vessels[:3], [], snapshot.latest, snapshot.since)
    again = {t.uid: t.legendgroup for t in map_figure(fewer, zone_overlay(zones)).data}
    assert all(
        again[uid] == t.legendgroup for t in figure.data if (uid := t.uid) in again
    )


def test_heading_lines_point_the_right_way(
    snapshot: DeskSnapshot, zones: ZoneSet
) -> None:
    overlay = zone_overlay(zones)
    figure = map_figure(snapshot, overlay, zoom=10)
    lines = [t for t in figure.data if t.name == "heading"]
    assert lines
    assert all(t.mode == "lines" and t.hoverinfo == "skip" for t in lines)
    passenger = next(t for t in lines if t.legendgroup == "passenger")
    lat0, lat1, gap = passenger.lat[:3]
    lon0, lon1, _ = passenger.lon[:3]
    assert gap is None
    assert lat1 == pytest.approx(lat0)  # heading 090: due east
    assert lon1 > lon0
    # Drawn 18 screen pixels long: shorter in degrees as the map zooms in.
    assert lon1 - lon0 == pytest.approx(18 * 360 / (512 * 2**10), rel=1e-3)
    wide = map_figure(snapshot, overlay, zoom=8)
    passenger_wide = next(
        t for t in wide.data if t.name == "heading" and t.legendgroup == "passenger"
    )
    assert passenger_wide.lon[1] - passenger_wide.lon[0] == pytest.approx(
        4 * (lon1 - lon0), rel=1e-3
    )
    # A vessel with no heading that moves is drawn along its course.
    other = next(t for t in lines if t.legendgroup == "other")
    assert len(other.lat) == 6  # class B (course 120) and the drifter (200)


def test_heading_segment_follows_mercator() -> None:
    lat, lon = heading_segment(-7.0, 114.0, 0.0, 8.0, 18.0)
    assert lon == pytest.approx(114.0)
    px_per_deg = 512 * 2**8 / 360
    assert lat - -7.0 == pytest.approx(18 / px_per_deg * 0.99255, rel=1e-3)


def test_zones_are_drawn_with_holes_and_names(
    snapshot: DeskSnapshot, zones: ZoneSet
) -> None:
    overlay = zone_overlay(zones)
    figure = map_figure(snapshot, overlay)
    regency = trace(figure, "Regency waters")
    harbour = trace(figure, "Harbour")
    assert regency.line.color != harbour.line.color
    assert "Sumenep regency waters" in regency.hovertemplate
    # "%" would start a template field; it is doubled.
    assert "Kalianget 100%% harbour" in harbour.hovertemplate
    assert regency.lat.count(None) == 2  # outer ring and the island
    layers = {layer.name: layer for layer in figure.layout.map.layers}
    band = layers["zone-fill-regency_waters"].source["features"][0]["geometry"]
    assert band["type"] == "Polygon"
    assert len(band["coordinates"]) == 2  # the island stays a hole
    assert (
        layers["zone-fill-harbour"].opacity > layers["zone-fill-regency_waters"].opacity
    )
    assert all(layer.below == "traces" for layer in figure.layout.map.layers)
    # The first view is fitted to the zones.
    assert 113.7 < overlay.center["lon"] < 116.0
    assert 6.0 < overlay.zoom < 10.0


def test_tile_url_adds_a_raster_layer_below_the_zones(
    snapshot: DeskSnapshot, zones: ZoneSet
) -> None:
    url = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    figure = map_figure(snapshot, zone_overlay(zones), tile_url=url)
    first = figure.layout.map.layers[0]
    assert first.sourcetype == "raster"
    assert list(first.source) == [url]
    assert figure.layout.map.style == "white-bg"


def test_alert_list_puts_critical_first(snapshot: DeskSnapshot) -> None:
    kinds = [(a.kind.value, a.severity.value) for a in snapshot.alerts]
    assert kinds[:2] in (
        [("sart_active", "critical"), ("epirb_active", "critical")],
        [("epirb_active", "critical"), ("sart_active", "critical")],
    )
    assert kinds[0] == ("sart_active", "critical")  # the newer of the two
    assert ("zone_entry", "low") in kinds
    assert kinds[-1] == ("beacon_test", "info")
    items = alert_items(snapshot.alerts)
    first = items[0]
    assert first.className == "alert sev-critical"
    assert getattr(first, "data-kind") == "sart_active"
    text = json.dumps(first.to_plotly_json(), default=lambda c: c.to_plotly_json())
    assert "CRITICAL" in text
    assert f"MMSI {SART}" in text
    assert "2026-06-17 07:05 WIB" in text
    assert f"MMSI {SART} is transmitting: distress (AIS-SART)" in text
    entry = next(i for i in items if getattr(i, "data-kind") == "zone_entry")
    entry_text = json.dumps(
        entry.to_plotly_json(), default=lambda c: c.to_plotly_json()
    )
    assert "Zone: Kalianget 100% harbour" in entry_text
    assert "TB SAPUDI" in entry_text


def test_header_counts(snapshot: DeskSnapshot) -> None:
    spans = header_counts(snapshot)
    texts = [s.children for s in spans]
    assert texts[0] == f"{len(snapshot.mapped)} vessels shown"
    assert texts[1].startswith(f"{len(snapshot.alerts)} open alerts (2 critical)")
    assert texts[2] == "last data 2026-06-17 07:10 WIB"


def test_empty_store_draws_an_empty_map(zones: ZoneSet) -> None:
    empty = SqliteStore(":memory:")
    snapshot = load_snapshot(empty, 60)
    figure, items, title, counts = desk_view(snapshot, zone_overlay(zones))
    assert not [t for t in figure.data if t.mode == "markers"]
    assert items[0].children == "No open alerts."
    assert title == "Open alerts (0)"
    assert counts[0].children == "0 vessels shown"
    assert counts[2].children == "last data n/a"
    # No zones at all still gives a map of the regency.
    bare = map_figure(snapshot, zone_overlay(ZoneSet([])))
    assert bare.layout.map.center.lat == pytest.approx(-6.6)


def test_hover_text_is_escaped() -> None:
    vessel = Vessel(mmsi=525000099, vessel_class="B", name="A<B>&C", station="<x>")
    text = vessel_hover(vessel)
    assert "A&lt;B&gt;&amp;C" in text
    assert "&lt;x&gt;" in text
    assert "<B>" not in text


@pytest.mark.parametrize(
    ("ship_type", "vessel_class", "expected"),
    [
        (30, "A", "fishing"),
        (31, "A", "other"),
        (52, "A", "service"),
        (59, "B", "service"),
        (60, "A", "passenger"),
        (69, "A", "passenger"),
        (79, "A", "cargo"),
        (84, "A", "tanker"),
        (90, "A", "other"),
        (None, "B", "other"),
        (None, "SAR aircraft", "service"),
        (None, "SART", "beacon"),
        (None, "MOB", "beacon"),
        (None, "EPIRB", "beacon"),
        (None, "AtoN", "fixed"),
        (None, "base station", "fixed"),
    ],
)
def test_ship_class(ship_type: int | None, vessel_class: str, expected: str) -> None:
    vessel = Vessel(mmsi=525000100, vessel_class=vessel_class, ship_type=ship_type)
    assert ship_class(vessel) == expected


def test_times_are_shown_in_wib() -> None:
    assert (
        format_wib(datetime(2026, 6, 17, 0, 35, tzinfo=UTC)) == "2026-06-17 07:35 WIB"
    )
    assert (
        format_wib(datetime(2026, 6, 17, 20, 5, tzinfo=UTC)) == "2026-06-18 03:05 WIB"
    )
    assert format_wib(None) == "n/a"


def test_zoom_from_relayout() -> None:
    assert zoom_from_relayout(None, 7.0) == 7.0
    assert zoom_from_relayout({"autosize": True}, 7.0) == 7.0
    assert zoom_from_relayout({"map.zoom": 9.5, "map.center": {}}, 7.0) == 9.5
    assert zoom_from_relayout({"map.zoom": "x"}, 7.0) == 7.0


# --- the Dash app over HTTP (Flask's test client, no browser) ---------------


def config(refresh_s: float = 5.0) -> Config:
    return Config(
        dashboard=DashboardConfig(
            refresh_s=refresh_s, recent_minutes=60, secret_key="k" * 32
        )
    )


def desk_client(app: Any, store: SqliteStore) -> Any:
    """A test client logged in to the desk (as an operator), in English."""
    client = app.server.test_client()
    add_desk_user(store)
    login_test_client(client)
    client.set_cookie("lang", "en")
    return client


def callback_request(client: Any, zoom: float | None = None) -> Any:
    """The map page's refresh, as its interval fires (one of several callbacks)."""
    dependencies = client.get("/_dash-dependencies").get_json()
    [output] = [
        d["output"]
        for d in dependencies
        if d["inputs"][0] == {"id": "tick", "property": "n_intervals"}
    ]
    outputs = [
        {"id": part.split(".")[0], "property": part.split(".")[1]}
        for part in output.strip(".").split("...")
    ]
    relayout = {"map.zoom": zoom} if zoom is not None else None
    body = {
        "output": output,
        "outputs": outputs,
        "inputs": [
            {"id": "tick", "property": "n_intervals", "value": 3},
            {"id": "map-view", "property": "data", "value": relayout},
            {"id": "map-selection", "property": "data", "value": None},
        ],
        "changedPropIds": ["tick.n_intervals"],
        "state": [
            {"id": "track-slider", "property": "value", "value": [0, 1]},
            {"id": "track-slider", "property": "max", "value": 1},
            {"id": "map-frame", "property": "data", "value": {"slot_start": 2}},
        ],
    }
    return client.post("/_dash-update-component", json=body)


def map_page(client: Any) -> str:
    """The map page as the router sends it for ``/``."""
    return routed_page(client, "/")


def routed_page(client: Any, path: str) -> str:
    """The page at ``path`` as the router sends it, as JSON text."""
    body = router_request(path)
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200
    return json.dumps(answer.get_json()["response"], ensure_ascii=False)


def test_page_serves_everything_itself(store: SqliteStore, zones: ZoneSet) -> None:
    app = create_app(store, config(refresh_s=2.5), zones)
    client = desk_client(app, store)
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert sources
    assert all(s.startswith("/") for s in sources), sources
    assert "/assets/desk.css" in text
    assert client.get(next(s for s in sources if "desk.css" in s)).status_code == 200
    layout = json.dumps(client.get("/_dash-layout").get_json(), ensure_ascii=False)
    assert "pantaulaut — Sumenep 112 maritime desk" in layout
    assert '"interval": 2500' in map_page(client)


def test_pages_link_to_each_other_by_full_loads_not_client_routing(
    store: SqliteStore, zones: ZoneSet
) -> None:
    # Regression: with dcc.Link, a map refresh in flight when the operator
    # switched to Playback landed in the new page's layout and the renderer
    # logged an error (Dash's client-side routing race, plotly/dash#2397).
    app = create_app(store, config(refresh_s=2.5), zones)
    client = desk_client(app, store)
    mmsi = next(v.mmsi for v in store.vessels())
    paths = [p.path for p in discover() if "{" not in p.path]
    texts = [json.dumps(client.get("/_dash-layout").get_json())]
    texts += [routed_page(client, path) for path in [*paths, f"/vessels/{mmsi}"]]
    anchors = sum(text.count('"type": "A"') for text in texts)
    assert anchors >= len(paths)
    for text in texts:
        assert '"type": "Link"' not in text


def test_configured_tiles_are_in_the_page(store: SqliteStore, zones: ZoneSet) -> None:
    url = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    settings = DashboardConfig(tile_url=url, secret_key="k" * 32)
    app = create_app(store, Config(dashboard=settings), zones)
    layout = map_page(desk_client(app, store))
    assert json.dumps(url) in layout
    assert '"sourcetype": "raster"' in layout


def test_shipped_zones_are_drawn() -> None:
    zones = load_zones()
    overlay = zone_overlay(zones)
    kinds = {z.kind for z in zones.zones}
    assert {"regency_waters", "harbour"} <= kinds
    assert len(overlay.traces) == len(zones)
    harbours = [z for z in zones.zones if z.kind == "harbour"]
    # The first view holds every harbour (about 1600 by 900 pixels at most).
    for zone in harbours:
        x = zone.geometry.centroid.x
        assert abs(x - overlay.center["lon"]) * 512 * 2**overlay.zoom / 360 < 800


def test_refresh_callback_returns_map_alerts_and_counts(
    store: SqliteStore, zones: ZoneSet
) -> None:
    app = create_app(store, config(), zones)
    response = callback_request(desk_client(app, store), zoom=9.0)
    assert response.status_code == 200
    result = response.get_json()["response"]
    # Only the vessel traces are replaced: the operator's view (layout) and
    # the zones (the first two traces) are kept.
    patch = result["map"]["figure"]
    assert "__dash_patch_update" in patch
    operations = patch["operations"]
    assert all(op["operation"] == "Assign" for op in operations)
    assert [op["location"][0] for op in operations] == ["data"] * len(operations)
    assert min(op["location"][1] for op in operations) == 2
    traces = [op["params"]["value"] for op in operations]
    names = [t.get("name", "") for t in traces]
    assert any(n.startswith("Distress beacon") for n in names)
    assert not any(n.startswith("Regency waters") for n in names)
    # Heading lines follow the zoom the map reported.
    heading = next(
        t
        for t in traces
        if t.get("legendgroup") == "passenger" and t.get("name") == "heading"
    )
    assert heading["lon"][1] - heading["lon"][0] == pytest.approx(
        18 * 360 / (512 * 2**9), rel=1e-3
    )
    alerts = result["alerts"]["children"]
    assert alerts[0]["props"]["data-kind"] == "sart_active"
    assert alerts[0]["props"]["className"] == "alert sev-critical"
    assert result["alert-title"]["children"].startswith("Open alerts (")
    counts = result["counts"]["children"]
    assert counts[2]["props"]["children"] == "last data 2026-06-17 07:10 WIB"


def test_refresh_survives_a_store_failure(
    zones: ZoneSet, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = SqliteStore(":memory:")

    def vessels(**kwargs: Any) -> list[Vessel]:
        raise StoreError("disk is gone")

    monkeypatch.setattr(broken, "vessels", vessels)
    app = create_app(broken, config(), zones)
    response = callback_request(desk_client(app, broken))
    assert response.status_code == 200
    result = response.get_json()["response"]
    assert set(result) == {"counts"}  # map and alerts keep what they show
    assert "store unavailable" in json.dumps(result)
    assert "cannot read the store" in caplog.text


def test_the_map_keeps_acknowledged_alerts_and_leaves_resolved_ones() -> None:
    # Regression: acknowledging a still-transmitting SART took it off the map
    # and made the map's count disagree with the inbox's.
    from pantaulaut.model import Alert, AlertKind, AlertState
    from pantaulaut.store.base import Batch

    store = SqliteStore(":memory:")
    batch = Batch()
    for ident, state in (
        ("open", AlertState.OPEN),
        ("taken", AlertState.ACKNOWLEDGED),
        ("done", AlertState.RESOLVED),
    ):
        batch.alerts[ident] = Alert(
            id=ident,
            kind=AlertKind.SART_ACTIVE,
            severity=Severity.CRITICAL,
            time=datetime(2026, 6, 17, tzinfo=UTC),
            mmsi=970_000_001,
            state=state,
        )
    store.write(batch)
    snapshot = load_snapshot(store, recent_minutes=60)
    assert {a.id for a in snapshot.alerts} == {"open", "taken"}
    texts = json.dumps([c.to_plotly_json() for c in header_counts(snapshot)])
    assert "2 open alerts (2 critical)" in texts


def test_ship_types_and_statuses_read_in_the_desk_language() -> None:
    # Regression: the vessel page and the hover showed the stored English
    # ("Fishing", "Under way using engine") on the Indonesian desk.
    from pantaulaut.dashboard.figures import ship_type_words, status_words
    from pantaulaut.ingest.identity import nav_status_text, ship_type_text

    # In English the desk says what the register stores, for every code.
    for code in range(-1, 101):
        assert ship_type_words(code) == ship_type_text(code), code
    for status in range(16):
        assert status_words(status) == nav_status_text(status), status
    with flask.Flask(__name__).test_request_context(headers={"Cookie": "lang=id"}):
        assert ship_type_words(30) == "Penangkap ikan"
        assert ship_type_words(61) == "Penumpang, muatan berbahaya A"
        assert ship_type_words(95) == "Lainnya"
        assert status_words(0) == "Berlayar dengan mesin"
        assert status_words(15) is None
        for code in range(1, 100):
            assert ship_type_words(code) != ship_type_text(code) or code // 10 == 8
