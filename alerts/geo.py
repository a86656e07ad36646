"""Small, fast geometry for detectors: distances, angles, CPA/TCPA, grid cells.

Detectors work within a few tens of nautical miles, so a local flat earth
(equirectangular: one degree of latitude is 60 nm, longitude shrinks with
the cosine of latitude) is accurate to well under one per cent and far
cheaper than a geodesic. Units are in the names; angles are degrees true.
"""

from __future__ import annotations

import math

__all__ = [
    "M_PER_NM",
    "NM_PER_DEG",
    "angle_diff_deg",
    "cell_of",
    "cpa_tcpa",
    "dead_reckon",
    "distance_nm",
    "offset_nm",
    "velocity_kn",
]

M_PER_NM = 1852.0
NM_PER_DEG = 60.0


def offset_nm(
    lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float
) -> tuple[float, float]:
    """East and north distance from point 1 to point 2.

    >>> [round(v, 3) for v in offset_nm(0.0, 0.0, 1.0, 0.0)]
    [0.0, 60.0]
    """
    cos_lat = math.cos(math.radians((lat1_deg + lat2_deg) / 2.0))
    east = (lon2_deg - lon1_deg) * NM_PER_DEG * cos_lat
    north = (lat2_deg - lat1_deg) * NM_PER_DEG
    return east, north


def distance_nm(
    lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float
) -> float:
    """Distance between two points on a local flat earth.

    >>> round(distance_nm(-7.0, 114.0, -7.0, 114.1), 2)
    5.96
    """
    east, north = offset_nm(lat1_deg, lon1_deg, lat2_deg, lon2_deg)
    return math.hypot(east, north)


def angle_diff_deg(a_deg: float, b_deg: float) -> float:
    """Smallest angle between two directions, 0 to 180.

    >>> angle_diff_deg(350.0, 20.0), angle_diff_deg(90.0, 270.0)
    (30.0, 180.0)
    """
    diff = abs(a_deg - b_deg) % 360.0
    return 360.0 - diff if diff > 180.0 else diff


def velocity_kn(speed_kn: float, course_deg: float) -> tuple[float, float]:
    """East and north components of a velocity over ground."""
    course = math.radians(course_deg)
    return speed_kn * math.sin(course), speed_kn * math.cos(course)


def dead_reckon(
    lat_deg: float, lon_deg: float, speed_kn: float, course_deg: float, dt_s: float
) -> tuple[float, float]:
    """Where a vessel is ``dt_s`` later at constant speed and course."""
    east_kn, north_kn = velocity_kn(speed_kn, course_deg)
    hours = dt_s / 3600.0
    lat = lat_deg + north_kn * hours / NM_PER_DEG
    cos_lat = max(math.cos(math.radians(lat_deg)), 1e-6)
    return lat, lon_deg + east_kn * hours / (NM_PER_DEG * cos_lat)


def cpa_tcpa(
    rel_east_nm: float, rel_north_nm: float, rel_east_kn: float, rel_north_kn: float
) -> tuple[float, float]:
    """Closest point of approach of two vessels at constant velocity.

    Args:
        rel_east_nm: East offset of vessel 2 from vessel 1 now.
        rel_north_nm: North offset of vessel 2 from vessel 1 now.
        rel_east_kn: East velocity of vessel 2 relative to vessel 1.
        rel_north_kn: North velocity of vessel 2 relative to vessel 1.

    Returns:
        (CPA in nm, TCPA in seconds); TCPA is negative when the closest point
        is already past, and 0 (CPA = present range) when they do not close.

    >>> cpa, tcpa = cpa_tcpa(0.0, 2.0, 0.0, -12.0)
    >>> round(cpa, 3), round(tcpa)
    (0.0, 600)
    """
    speed2 = rel_east_kn * rel_east_kn + rel_north_kn * rel_north_kn
    if speed2 < 1e-9:
        return math.hypot(rel_east_nm, rel_north_nm), 0.0
    t_h = -(rel_east_nm * rel_east_kn + rel_north_nm * rel_north_kn) / speed2
    east = rel_east_nm + rel_east_kn * t_h
    north = rel_north_nm + rel_north_kn * t_h
    return math.hypot(east, north), t_h * 3600.0


def cell_of(lat_deg: float, lon_deg: float, size_deg: float) -> tuple[int, int]:
    """The grid cell of a point, for a dictionary-of-cells spatial index."""
    return math.floor(lat_deg / size_deg), math.floor(lon_deg / size_deg)
