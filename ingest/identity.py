"""Who a transmitter is: MMSI kinds, flag from the MID, types in words.

MMSI structure follows ITU-R M.585-9 annex 1 and ITU-R M.1371-5:

=================  ============================================
``MIDxxxxxx``      ship station (MID 201-775)
``0MIDxxxxx``      group of ship stations
``00MIDxxxx``      coast station (an AIS base station)
``111MIDxxx``      SAR aircraft
``8MIDxxxxx``      hand-held VHF with DSC and GNSS
``98MIDxxxx``      craft associated with a parent ship
``99MIDxxxx``      aid to navigation
``970xxyyyy``      AIS-SART (search and rescue transmitter)
``972xxyyyy``      MOB (man overboard) device
``974xxyyyy``      EPIRB-AIS
=================  ============================================
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pyais.constants import COUNTRY_MAPPING

__all__ = [
    "MmsiKind",
    "flag_of",
    "mmsi_is_valid",
    "mmsi_kind",
    "nav_status_text",
    "ship_type_text",
]


class MmsiKind(StrEnum):
    """What kind of station an MMSI identifies."""

    SHIP = "ship"
    GROUP = "group"
    COAST = "coast_station"
    SAR_AIRCRAFT = "sar_aircraft"
    HANDHELD = "handheld"
    CRAFT = "craft_associated"
    ATON = "aid_to_navigation"
    SART = "sart"
    MOB = "mob"
    EPIRB = "epirb"
    INVALID = "invalid"


_BEACONS = {"970": MmsiKind.SART, "972": MmsiKind.MOB, "974": MmsiKind.EPIRB}


def _valid_mid(mid: int) -> bool:
    return 201 <= mid <= 775


@lru_cache(maxsize=65536)
def mmsi_kind(mmsi: int) -> MmsiKind:
    """Classify an MMSI by its digit pattern.

    >>> mmsi_kind(525019145), mmsi_kind(970123456), mmsi_kind(1000000000)
    (<MmsiKind.SHIP: 'ship'>, <MmsiKind.SART: 'sart'>, <MmsiKind.INVALID: 'invalid'>)
    """
    if not 0 < mmsi <= 999_999_999:
        return MmsiKind.INVALID
    text = f"{mmsi:09d}"
    if text[:3] in _BEACONS:
        return _BEACONS[text[:3]]
    patterns = (
        ("00", 2, MmsiKind.COAST),
        ("0", 1, MmsiKind.GROUP),
        ("111", 3, MmsiKind.SAR_AIRCRAFT),
        ("98", 2, MmsiKind.CRAFT),
        ("99", 2, MmsiKind.ATON),
        ("8", 1, MmsiKind.HANDHELD),
    )
    for prefix, width, kind in patterns:
        if text.startswith(prefix):
            mid = int(text[width : width + 3])
            return kind if _valid_mid(mid) else MmsiKind.INVALID
    return MmsiKind.SHIP if _valid_mid(int(text[:3])) else MmsiKind.INVALID


def mmsi_is_valid(mmsi: int) -> bool:
    """True when the MMSI has a known structure and a valid MID."""
    return mmsi_kind(mmsi) is not MmsiKind.INVALID


def flag_of(mmsi: int) -> tuple[str, str] | None:
    """ISO country code and name of the MID in an MMSI, if it has one.

    >>> flag_of(525019145)
    ('ID', 'Indonesia')
    """
    kind = mmsi_kind(mmsi)
    if kind in (MmsiKind.INVALID, MmsiKind.SART, MmsiKind.MOB, MmsiKind.EPIRB):
        return None
    text = f"{mmsi:09d}"
    offset = {
        MmsiKind.COAST: 2,
        MmsiKind.GROUP: 1,
        MmsiKind.SAR_AIRCRAFT: 3,
        MmsiKind.CRAFT: 2,
        MmsiKind.ATON: 2,
        MmsiKind.HANDHELD: 1,
    }.get(kind, 0)
    found = COUNTRY_MAPPING.get(int(text[offset : offset + 3]))
    return None if found is None else (str(found[0]), str(found[1]))


# ITU-R M.1371-5 annex 8, table 53 (type of ship and cargo).
_SHIP_TYPE_FIRST_DIGIT = {
    2: "Wing in ground",
    4: "High-speed craft",
    6: "Passenger",
    7: "Cargo",
    8: "Tanker",
}
_SHIP_TYPE_EXACT = {
    30: "Fishing",
    31: "Towing",
    32: "Towing, large",
    33: "Dredging or underwater operations",
    34: "Diving operations",
    35: "Military operations",
    36: "Sailing",
    37: "Pleasure craft",
    50: "Pilot vessel",
    51: "Search and rescue vessel",
    52: "Tug",
    53: "Port tender",
    54: "Anti-pollution equipment",
    55: "Law enforcement",
    56: "Local vessel",
    57: "Local vessel",
    58: "Medical transport",
    59: "Non-combatant ship",
}
_CARGO_CATEGORY = {
    1: "hazardous A",
    2: "hazardous B",
    3: "hazardous C",
    4: "hazardous D",
}


def ship_type_text(ship_type: int | None) -> str | None:
    """Ship type code in words, such as ``Passenger`` or ``Tanker, hazardous A``.

    >>> ship_type_text(30), ship_type_text(61), ship_type_text(0)
    ('Fishing', 'Passenger, hazardous A', None)
    """
    if ship_type is None or ship_type <= 0 or ship_type > 99:
        return None
    if ship_type in _SHIP_TYPE_EXACT:
        return _SHIP_TYPE_EXACT[ship_type]
    base = _SHIP_TYPE_FIRST_DIGIT.get(ship_type // 10)
    if base is None:
        return "Other" if ship_type // 10 == 9 else "Reserved"
    category = _CARGO_CATEGORY.get(ship_type % 10)
    return f"{base}, {category}" if category else base


# ITU-R M.1371-5 annex 8, table 45 (navigational status).
_NAV_STATUS = {
    0: "Under way using engine",
    1: "At anchor",
    2: "Not under command",
    3: "Restricted manoeuvrability",
    4: "Constrained by draught",
    5: "Moored",
    6: "Aground",
    7: "Engaged in fishing",
    8: "Under way sailing",
    11: "Power-driven vessel towing astern",
    12: "Power-driven vessel pushing ahead or towing alongside",
    14: "AIS-SART / MOB / EPIRB active",
}


def nav_status_text(status: int | None) -> str | None:
    """Navigational status in words; None for 15 (not defined)."""
    if status is None or status == 15:
        return None
    return _NAV_STATUS.get(status, "Reserved")
