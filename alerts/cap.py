"""Alerts as OASIS CAP 1.2 messages, and a checker of the standard's rules.

Every alert becomes a chain of CAP messages: an ``Alert`` when it opens, an
``Update`` for each change worth telling 112 about, and a ``Cancel`` when it
is resolved. Later messages cite the earlier ones in ``references``
(CAP 1.2 §3.2.1 "references": ``sender,identifier,sent`` triples separated
by whitespace). Which change gives which message is decided by
:mod:`pantaulaut.alerts.delivery`; this module only writes and checks them.

Each message carries two ``info`` blocks (CAP 1.2 §3.2.2), Bahasa Indonesia
(``id-ID``) first and English (``en-US``), with the same category, urgency,
severity and certainty; the texts differ only in language. The mapping per
alert kind is :data:`PROFILES`; severity follows the design card
(critical → Extreme, high → Severe, medium → Moderate, low → Minor,
info → Unknown).

Times are written in WIB (``+07:00``): CAP 1.2 §3.3.2 forbids ``Z`` and
requires an explicit offset. :func:`validate_cap` checks a message against
the rules of CAP 1.2 as this project reads them from the standard's text
(element order and cardinality of the XML schema in §3.4, the value lists
of §3.2, the DateTime rules of §3.3.2, polygon and circle forms of §3.2.4);
it is not a copy of the OASIS schema.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from pantaulaut.alerts.wording import summary_in
from pantaulaut.model import Alert, AlertKind, Severity

__all__ = [
    "CAP_CONTENT_TYPE",
    "CAP_NS",
    "CAP_SEVERITY",
    "JSON_CONTENT_TYPE",
    "PROFILES",
    "PROFILE_CODE",
    "WIB",
    "CapMessage",
    "CapSettings",
    "KindProfile",
    "cap_time",
    "format_position",
    "message_identifier",
    "polygons_of",
    "profile_problems",
    "to_json",
    "to_xml",
    "validate_cap",
    "zone_polygon_lookup",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_CONTENT_TYPE = "application/cap+xml"
JSON_CONTENT_TYPE = "application/json"
# Waktu Indonesia Barat: the desk's clock and the offset of every CAP time.
WIB = timezone(timedelta(hours=7), "WIB")

# CAP 1.2 §3.2.1 and §3.2.2: the value lists.
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPES = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

# The design card's mapping of pantaulaut severities (CAP 1.2 §3.2.2 severity).
CAP_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "Extreme",
    Severity.HIGH: "Severe",
    Severity.MEDIUM: "Moderate",
    Severity.LOW: "Minor",
    Severity.INFO: "Unknown",
}

_KM_PER_NM = 1.852
# CAP <code> naming pantaulaut's profile: two info blocks (id-ID, en-US),
# eventCode "pantaulaut" = the alert kind, the parameters listed in README.
PROFILE_CODE = "profile:pantaulaut:1.0"


@dataclass(frozen=True, slots=True)
class KindProfile:
    """How one alert kind reads in CAP.

    Attributes:
        category: CAP ``category`` (§3.2.2).
        urgency: CAP ``urgency``: how soon 112 must act.
        certainty: CAP ``certainty``: how sure the detection is.
        response: CAP ``responseType`` for an open alert.
        event_id: ``event`` in Bahasa Indonesia.
        event_en: ``event`` in English.
        instruction_id: ``instruction`` for the 112 desk, Bahasa Indonesia.
        instruction_en: The same in English.
    """

    category: str
    urgency: str
    certainty: str
    response: str
    event_id: str
    event_en: str
    instruction_id: str
    instruction_en: str


_SAR_ID = (
    "Segera teruskan ke Basarnas (Kantor SAR Surabaya / Unit Siaga SAR "
    "Sumenep) dan Satpolairud. Minta kapal terdekat menuju posisi. "
    "Pantau posisi terbaru di dasbor."
)
_SAR_EN = (
    "Pass on at once to Basarnas (SAR Office Surabaya / Sumenep SAR unit) and "
    "the water police. Ask the nearest vessels to proceed to the position. "
    "Follow the latest position on the dashboard."
)
_WATCH_ID = "Pantau kapal di dasbor; hubungi kapal atau KSOP Kalianget bila perlu."
_WATCH_EN = "Watch the vessel on the dashboard; call it or KSOP Kalianget if needed."
_CHECK_ID = (
    "Periksa data AIS; kemungkinan kesalahan perangkat atau pemalsuan. "
    "Tidak perlu tindakan darurat."
)
_CHECK_EN = (
    "Check the AIS data: a device fault or spoofing is possible. "
    "No emergency action needed."
)
_PATROL_ID = "Laporkan ke PSDKP dan Bakamla/Satpolairud untuk pemeriksaan."
_PATROL_EN = "Report to PSDKP and Bakamla / the water police for inspection."

PROFILES: dict[AlertKind, KindProfile] = {
    AlertKind.SART_ACTIVE: KindProfile(
        "Rescue",
        "Immediate",
        "Observed",
        "Execute",
        "AIS-SART aktif (tanda bahaya)",
        "AIS-SART active (distress)",
        _SAR_ID,
        _SAR_EN,
    ),
    AlertKind.MOB_ACTIVE: KindProfile(
        "Rescue",
        "Immediate",
        "Observed",
        "Execute",
        "Orang jatuh ke laut (AIS-MOB aktif)",
        "Person overboard (AIS MOB device active)",
        _SAR_ID,
        _SAR_EN,
    ),
    AlertKind.EPIRB_ACTIVE: KindProfile(
        "Rescue",
        "Immediate",
        "Observed",
        "Execute",
        "EPIRB-AIS aktif (tanda bahaya)",
        "EPIRB-AIS active (distress)",
        _SAR_ID,
        _SAR_EN,
    ),
    AlertKind.BEACON_TEST: KindProfile(
        "Safety",
        "Past",
        "Observed",
        "None",
        "Uji suar darurat (bukan keadaan bahaya)",
        "Distress beacon test (no distress)",
        "Tidak perlu tindakan; dicatat untuk arsip.",
        "No action needed; recorded for the log.",
    ),
    AlertKind.AGROUND: KindProfile(
        "Transport",
        "Immediate",
        "Likely",
        "Assess",
        "Kapal kandas",
        "Vessel aground",
        "Hubungi kapal dan KSOP Kalianget; siapkan bantuan SAR bila ada "
        "penumpang atau kebocoran.",
        "Call the vessel and KSOP Kalianget; prepare SAR help if it carries "
        "passengers or is taking water.",
    ),
    AlertKind.NOT_UNDER_COMMAND: KindProfile(
        "Transport",
        "Expected",
        "Likely",
        "Monitor",
        "Kapal tidak dapat diolah gerak",
        "Vessel not under command",
        "Hubungi kapal untuk menanyakan keadaan; pantau hanyutnya.",
        "Call the vessel to ask how it is; watch its drift.",
    ),
    AlertKind.SAFETY_BROADCAST: KindProfile(
        "Safety",
        "Expected",
        "Likely",
        "Assess",
        "Siaran keselamatan AIS",
        "AIS safety broadcast",
        "Baca isi pesan di dasbor dan nilai apakah perlu tindakan.",
        "Read the message on the dashboard and judge whether to act.",
    ),
    AlertKind.SUDDEN_STOP: KindProfile(
        "Safety",
        "Expected",
        "Possible",
        "Assess",
        "Kapal berhenti mendadak di laut",
        "Vessel stopped suddenly at sea",
        "Hubungi kapal; bila tidak ada jawaban, anggap kemungkinan kecelakaan.",
        "Call the vessel; if it does not answer, treat it as a possible accident.",
    ),
    AlertKind.DRIFTING: KindProfile(
        "Safety",
        "Expected",
        "Possible",
        "Monitor",
        "Kapal hanyut",
        "Vessel drifting",
        "Hubungi kapal; pantau arah hanyut terhadap karang dan pantai.",
        "Call the vessel; watch its drift towards reefs and the shore.",
    ),
    AlertKind.AIS_GAP: KindProfile(
        "Safety",
        "Expected",
        "Possible",
        "Monitor",
        "Sinyal AIS kapal hilang di laut",
        "Vessel's AIS fell silent at sea",
        "Coba hubungi kapal; periksa apakah stasiun penerima masih bekerja.",
        "Try to reach the vessel; check that the receiving station still works.",
    ),
    AlertKind.COLLISION_RISK: KindProfile(
        "Transport",
        "Immediate",
        "Likely",
        "Monitor",
        "Risiko tabrakan kapal",
        "Risk of collision",
        "Peringatkan kedua kapal melalui radio VHF kanal 16 bila memungkinkan.",
        "Warn both vessels on VHF channel 16 where possible.",
    ),
    AlertKind.ZONE_ENTRY: KindProfile(
        "Transport",
        "Past",
        "Observed",
        "Monitor",
        "Kapal memasuki zona",
        "Vessel entered a zone",
        _WATCH_ID,
        _WATCH_EN,
    ),
    AlertKind.ZONE_EXIT: KindProfile(
        "Transport",
        "Past",
        "Observed",
        "Monitor",
        "Kapal keluar dari zona",
        "Vessel left a zone",
        _WATCH_ID,
        _WATCH_EN,
    ),
    AlertKind.ZONE_DWELL: KindProfile(
        "Transport",
        "Expected",
        "Observed",
        "Monitor",
        "Kapal lama berada di zona",
        "Vessel lingering in a zone",
        _WATCH_ID,
        _WATCH_EN,
    ),
    AlertKind.FOREIGN_FISHING: KindProfile(
        "Security",
        "Expected",
        "Likely",
        "Monitor",
        "Kapal ikan asing di perairan",
        "Foreign fishing vessel in regency waters",
        _PATROL_ID,
        _PATROL_EN,
    ),
    AlertKind.FOREIGN_LOITERING: KindProfile(
        "Security",
        "Expected",
        "Possible",
        "Monitor",
        "Kapal asing berlama-lama di perairan",
        "Foreign vessel loitering in regency waters",
        _PATROL_ID,
        _PATROL_EN,
    ),
    AlertKind.ENCOUNTER: KindProfile(
        "Security",
        "Expected",
        "Possible",
        "Monitor",
        "Pertemuan dua kapal di laut",
        "Two vessels meeting at sea",
        _PATROL_ID,
        _PATROL_EN,
    ),
    AlertKind.POSITION_JUMP: KindProfile(
        "Other",
        "Unknown",
        "Possible",
        "Assess",
        "Lompatan posisi AIS",
        "AIS position jump",
        _CHECK_ID,
        _CHECK_EN,
    ),
    AlertKind.POSITION_ON_LAND: KindProfile(
        "Other",
        "Unknown",
        "Possible",
        "Assess",
        "Posisi AIS di daratan",
        "AIS position on land",
        _CHECK_ID,
        _CHECK_EN,
    ),
    AlertKind.INVALID_MMSI: KindProfile(
        "Other",
        "Unknown",
        "Observed",
        "Assess",
        "MMSI tidak sah",
        "Invalid MMSI",
        _CHECK_ID,
        _CHECK_EN,
    ),
    AlertKind.STATION_DOWN: KindProfile(
        "Infra",
        "Immediate",
        "Observed",
        "Assess",
        "Stasiun penerima AIS mati",
        "AIS receiving station down",
        "Hubungi teknisi stasiun; selama mati, kapal di wilayahnya tidak terpantau.",
        "Call the station's technician; while it is down, vessels in its area "
        "are not watched.",
    ),
    AlertKind.INCIDENT: KindProfile(
        "Rescue",
        "Immediate",
        "Likely",
        "Execute",
        "Kejadian di laut dilaporkan penelepon",
        "Incident at sea reported by a caller",
        _SAR_ID,
        _SAR_EN,
    ),
}

# What each lifecycle action reads as in the texts of an Update or Cancel.
_ACTIONS: dict[str, tuple[str, str]] = {
    "opened": ("dibuka", "opened"),
    "updated": ("diperbarui", "updated"),
    "escalated": ("dinaikkan tingkatnya", "escalated"),
    "acknowledged": ("ditangani operator", "acknowledged by the desk"),
    "assigned": ("diserahkan kepada petugas", "assigned to a desk officer"),
    "commented": ("diberi catatan operator", "annotated by the desk"),
    "resolved": ("selesai", "resolved"),
}


@dataclass(frozen=True, slots=True)
class CapSettings:
    """What every CAP message of this installation says about its origin.

    Attributes:
        sender: CAP ``sender`` (§3.2.1): globally unique, e.g. an address
            under the regency's domain; no spaces, commas, ``<`` or ``&``.
        sender_name: CAP ``senderName``, shown to people.
        identifier_prefix: Start of every ``identifier``; an OID of the
            alerting authority where it has one (WMO register of alerting
            authorities), else any stable name. The identifier is
            ``<prefix>.<alert id>.<sequence>``.
        status: ``Actual``, or ``Exercise`` for drills (``Test``,
            ``System`` and ``Draft`` are allowed by CAP too).
        scope: ``Restricted`` (the default: for the 112 desk and SAR, with
            ``restriction``), ``Public`` or ``Private`` (with ``addresses``).
        restriction: Who may see a Restricted message.
        addresses: Recipients of a Private message, space-separated.
        web_base_url: The dashboard; ``web`` is ``<this>/alerts/<id>``.
        contact: CAP ``contact``: how to reach the desk.
        circle_radius_km: Radius of the circle drawn at an alert's position.
    """

    sender: str = "pantaulaut@112.sumenep.invalid"
    sender_name: str = "NTPD 112 Kabupaten Sumenep (pantaulaut)"
    identifier_prefix: str = "pantaulaut.sumenep"
    status: str = "Actual"
    scope: str = "Restricted"
    restriction: str = (
        "Untuk petugas 112, SAR dan instansi terkait / for 112, SAR and "
        "partner agencies only"
    )
    addresses: str = ""
    web_base_url: str = "http://127.0.0.1:8050"
    contact: str = "112"
    circle_radius_km: float = 1.0


@dataclass(frozen=True, slots=True)
class CapMessage:
    """One CAP message about one alert, before it is written out.

    Attributes:
        identifier: CAP ``identifier``, unique per message.
        sender: CAP ``sender``.
        sent: When the message was made (data clock).
        status: CAP ``status``.
        msg_type: ``Alert``, ``Update`` or ``Cancel``.
        alert: The alert as it is at this message.
        seq: Place of the message in the alert's chain (1 for ``Alert``).
        references: ``sender,identifier,sent`` of the earlier messages.
        action: The lifecycle action behind it (``opened``, ``escalated``,
            ``acknowledged``, ``updated``, ``resolved``, ...).
        note: Who did it and why (from the alert's history).
        callsign: The vessel's call sign, when known.
        ship_type: The vessel's type in words, when known.
    """

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    alert: Alert
    seq: int = 1
    references: tuple[str, ...] = ()
    action: str = "opened"
    note: str = ""
    callsign: str | None = None
    ship_type: str | None = None

    @property
    def reference(self) -> str:
        """How later messages cite this one (CAP 1.2 §3.2.1 references)."""
        return f"{self.sender},{self.identifier},{cap_time(self.sent)}"


# Polygons of a zone by its name, as CAP "lat,lon ..." strings.
ZonePolygons = Callable[[str], list[str]]


def cap_time(value: datetime) -> str:
    """A time as CAP 1.2 §3.3.2 writes it: whole seconds, ``+07:00``, no ``Z``."""
    if value.tzinfo is None:
        msg = f"naive datetime {value!r}: pantaulaut keeps every time UTC-aware"
        raise ValueError(msg)
    return value.astimezone(WIB).replace(microsecond=0).isoformat()


def message_identifier(prefix: str, alert_id: str, seq: int) -> str:
    """``<prefix>.<alert id>.<seq>``, safe for CAP 1.2 §3.2.1 identifier.

    Spaces, commas, ``<`` and ``&`` (forbidden there) become ``-``.
    """
    return _safe_token(f"{prefix}.{alert_id}.{seq}")


def _safe_token(text: str) -> str:
    return re.sub(r"[\s,<&]", "-", text)


def format_position(lat_deg: float, lon_deg: float, language: str = "en") -> str:
    """Degrees and decimal minutes, as seamen read them out.

    ``7°02.50'S 114°15.20'E`` in English; ``7°02,50' LS 114°15,20' BT``
    (lintang selatan, bujur timur, decimal comma) in Bahasa Indonesia.
    """

    def part(value: float) -> tuple[int, float]:
        minutes = round(abs(value) * 60, 2)
        return int(minutes // 60), minutes - 60 * int(minutes // 60)

    lat_d, lat_m = part(lat_deg)
    lon_d, lon_m = part(lon_deg)
    if language == "id":
        ns = "LU" if lat_deg >= 0 else "LS"
        ew = "BT" if lon_deg >= 0 else "BB"
        lat_text = f"{lat_d}°{lat_m:05.2f}'".replace(".", ",")
        lon_text = f"{lon_d}°{lon_m:05.2f}'".replace(".", ",")
        return f"{lat_text} {ns} {lon_text} {ew}"
    ns = "N" if lat_deg >= 0 else "S"
    ew = "E" if lon_deg >= 0 else "W"
    return f"{lat_d}°{lat_m:05.2f}'{ns} {lon_d}°{lon_m:05.2f}'{ew}"


def polygons_of(geometry: Any, max_points: int = 64) -> list[str]:
    """A zone's outline as CAP polygons (CAP 1.2 §3.2.4 polygon).

    Each part of a (Multi)Polygon gives one closed ring of "lat,lon" pairs;
    holes are dropped (CAP has none). Detailed coastlines are simplified
    until a ring has at most ``max_points`` pairs, so that a message stays
    small.
    """
    parts = list(getattr(geometry, "geoms", [geometry]))
    rings: list[str] = []
    for part in parts:
        exterior = getattr(part, "exterior", None)
        if exterior is None:
            continue
        ring = part
        tolerance = 0.0005
        while len(ring.exterior.coords) > max_points and tolerance < 1.0:
            ring = part.simplify(tolerance, preserve_topology=True)
            tolerance *= 2
        coords = list(ring.exterior.coords)
        if len(coords) < 4:
            continue
        if coords[0] != coords[-1]:
            coords.append(coords[0])
        rings.append(" ".join(f"{lat:.5f},{lon:.5f}" for lon, lat in coords))
    return rings


def _el(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        child.text = text
    return child


def _pair(parent: ET.Element, tag: str, name: str, value: str) -> None:
    holder = _el(parent, tag)
    _el(holder, "valueName", name)
    _el(holder, "value", value)


def to_xml(
    message: CapMessage,
    settings: CapSettings,
    zone_polygons: ZonePolygons | None = None,
) -> bytes:
    """The message as CAP 1.2 XML (UTF-8, with an XML declaration).

    Args:
        message: What to write.
        settings: Scope, restriction, links and circle radius.
        zone_polygons: Outline of a zone by name, for zone alerts.
    """
    alert = message.alert
    root = ET.Element(f"{{{CAP_NS}}}alert")
    # CAP 1.2 §3.2.1 <alert>, in the schema's order.
    _el(root, "identifier", message.identifier)
    _el(root, "sender", message.sender)
    _el(root, "sent", cap_time(message.sent))
    _el(root, "status", message.status)
    _el(root, "msgType", message.msg_type)
    _el(root, "source", "pantaulaut AIS")
    _el(root, "scope", settings.scope)
    if settings.scope == "Restricted":
        _el(root, "restriction", settings.restriction)
    if settings.addresses:
        _el(root, "addresses", settings.addresses)
    # CAP 1.2 §3.2.1 code: the profile these messages follow.
    _el(root, "code", PROFILE_CODE)
    if message.note:
        _el(root, "note", message.note)
    if message.references:
        _el(root, "references", " ".join(message.references))
    # Messages of one alert form one incident for the receiver.
    _el(root, "incidents", _safe_token(f"{settings.identifier_prefix}.{alert.id}"))
    for language in ("id", "en"):
        _info(root, message, settings, language, zone_polygons)
    ET.indent(root)
    data: bytes = ET.tostring(
        root, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS
    )
    return data


def _info(
    root: ET.Element,
    message: CapMessage,
    settings: CapSettings,
    language: str,
    zone_polygons: ZonePolygons | None,
) -> None:
    alert = message.alert
    profile = PROFILES[alert.kind]
    english = language == "en"
    cancel = message.msg_type == "Cancel"
    # CAP 1.2 §3.2.2 <info>, in the schema's order.
    info = _el(root, "info")
    _el(info, "language", "en-US" if english else "id-ID")
    _el(info, "category", profile.category)
    _el(info, "event", profile.event_en if english else profile.event_id)
    _el(info, "responseType", "AllClear" if cancel else profile.response)
    _el(info, "urgency", "Past" if cancel else profile.urgency)
    _el(info, "severity", CAP_SEVERITY[alert.severity])
    _el(info, "certainty", profile.certainty)
    _el(info, "audience", "112, SAR")
    _pair(info, "eventCode", "pantaulaut", alert.kind.value)
    _el(info, "effective", cap_time(message.sent))
    _el(info, "onset", cap_time(alert.time))
    _el(info, "senderName", settings.sender_name)
    _el(info, "headline", _headline(message, english))
    _el(info, "description", _description(message, english))
    _el(info, "instruction", _instruction(message, profile, english))
    _el(info, "web", alert_url(settings.web_base_url, alert.id))
    _el(info, "contact", settings.contact)
    for name, value in _parameters(message):
        _pair(info, "parameter", name, value)
    _areas(info, message, settings, english, zone_polygons)


def alert_url(base_url: str, alert_id: str) -> str:
    """The alert's page on the dashboard (CAP ``web``)."""
    return f"{base_url.rstrip('/')}/alerts/{alert_id}"


def _vessel_label(alert: Alert, english: bool) -> str:
    if alert.mmsi is None:
        return ""
    name = (alert.vessel_name or "").strip()
    return f"{name} (MMSI {alert.mmsi})" if name else f"MMSI {alert.mmsi}"


def _headline(message: CapMessage, english: bool) -> str:
    alert = message.alert
    profile = PROFILES[alert.kind]
    event = profile.event_en if english else profile.event_id
    subject = _vessel_label(alert, english)
    if alert.kind is AlertKind.STATION_DOWN and alert.station:
        subject = alert.station
    if alert.kind in (AlertKind.ZONE_ENTRY, AlertKind.ZONE_EXIT, AlertKind.ZONE_DWELL):
        subject = f"{subject}, {alert.zone}" if alert.zone else subject
    if alert.kind is AlertKind.INCIDENT:
        subject = str(alert.detail.get("vessel_description") or subject)
    text = f"{event} — {subject}" if subject else event
    if message.msg_type == "Cancel":
        text = ("Resolved: " if english else "Selesai: ") + text
    elif message.msg_type == "Update":
        text = ("Update: " if english else "Pembaruan: ") + text
    # CAP 1.2 §3.2.2 headline: "SHOULD be less than 160 characters".
    return text if len(text) <= 159 else text[:158] + "…"


def _wib(value: datetime, english: bool) -> str:
    local = value.astimezone(WIB)
    if english:
        return local.strftime("%Y-%m-%d %H:%M WIB (UTC+7)")
    return local.strftime("%d-%m-%Y %H:%M WIB")


def _description(message: CapMessage, english: bool) -> str:
    alert = message.alert
    lines = []
    if alert.summary:
        # The detectors write in English; the Indonesian block says the same
        # in Indonesian, filled in from the figures they recorded.
        summary = alert.summary if english else summary_in(alert, "id")
        lines.append(summary if english else f"Ringkasan: {summary}")
    if english:
        lines.append(f"First observed: {_wib(alert.time, True)}")
    else:
        lines.append(f"Pertama terdeteksi: {_wib(alert.time, False)}")
    if alert.updated is not None and alert.updated != alert.time:
        label = "Latest report" if english else "Laporan terakhir"
        lines.append(f"{label}: {_wib(alert.updated, english)}")
    if alert.lat_deg is not None and alert.lon_deg is not None:
        label = "Position" if english else "Posisi"
        where = format_position(alert.lat_deg, alert.lon_deg, "en" if english else "id")
        lines.append(f"{label}: {where} ({alert.lat_deg:.5f}, {alert.lon_deg:.5f})")
    vessel = _vessel_label(alert, english)
    if vessel:
        extra = []
        if message.callsign:
            extra.append(
                f"call sign {message.callsign}"
                if english
                else f"tanda panggil {message.callsign}"
            )
        if message.ship_type:
            extra.append(message.ship_type)
        label = "Vessel" if english else "Kapal"
        lines.append(f"{label}: {vessel}" + (f", {', '.join(extra)}" if extra else ""))
    if alert.zone:
        lines.append(f"{'Zone' if english else 'Zona'}: {alert.zone}")
    if alert.station:
        lines.append(f"{'Station' if english else 'Stasiun'}: {alert.station}")
    if alert.count > 1:
        label = "Reports" if english else "Jumlah laporan"
        lines.append(f"{label}: {alert.count}")
    lines += _incident_lines(alert, english)
    if message.msg_type != "Alert":
        done = _ACTIONS.get(message.action, (message.action, message.action))
        state = done[1] if english else done[0]
        lines.append(
            f"Status: {state}" + (f" — {message.note}" if message.note else "")
        )
    return "\n".join(lines)


def _incident_lines(alert: Alert, english: bool) -> list[str]:
    if alert.kind is not AlertKind.INCIDENT:
        return []
    detail = alert.detail
    labels = {
        "people": ("People involved", "Jumlah orang"),
        "people_in_water": ("People in the water", "Orang di air"),
        "vessel_description": ("Vessel", "Perahu/kapal"),
        "caller_notes": ("Caller's notes", "Catatan penelepon"),
        "caller": ("Caller", "Penelepon"),
    }
    lines = []
    for key, (en, id_) in labels.items():
        value = detail.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, bool):
            value = (
                ("yes" if value else "no") if english else ("ya" if value else "tidak")
            )
        lines.append(f"{en if english else id_}: {value}")
    area = detail.get("search_area")
    if isinstance(area, dict):
        lines.append(
            (
                "Search area (estimate): radius {r:.1f} nm around {p} at {t}"
                if english
                else "Area pencarian (perkiraan): radius {r:.1f} nm di sekitar {p} "
                "pada {t}"
            ).format(
                r=float(area.get("radius_nm", 0.0)),
                p=format_position(
                    float(area["lat_deg"]),
                    float(area["lon_deg"]),
                    "en" if english else "id",
                ),
                t=_wib(datetime.fromisoformat(str(area["valid_at"])), english),
            )
        )
    return lines


def _instruction(message: CapMessage, profile: KindProfile, english: bool) -> str:
    if message.msg_type == "Cancel":
        return (
            "The alert is closed; no further action unless told otherwise."
            if english
            else "Peringatan ditutup; tidak perlu tindakan lanjut kecuali ada "
            "perintah lain."
        )
    return profile.instruction_en if english else profile.instruction_id


def _parameters(message: CapMessage) -> list[tuple[str, str]]:
    alert = message.alert
    params: list[tuple[str, str]] = [
        ("AlertId", alert.id),
        ("AlertKind", alert.kind.value),
        ("AlertSeverity", alert.severity.value),
        ("AlertState", alert.state.value),
    ]
    if alert.mmsi is not None:
        params.append(("MMSI", str(alert.mmsi)))
    if alert.vessel_name:
        params.append(("VesselName", alert.vessel_name.strip()))
    if message.callsign:
        params.append(("CallSign", message.callsign))
    if message.ship_type:
        params.append(("ShipType", message.ship_type))
    if alert.station:
        params.append(("Station", alert.station))
    if alert.zone:
        params.append(("Zone", alert.zone))
    if alert.lat_deg is not None and alert.lon_deg is not None:
        params.append(("Position", f"{alert.lat_deg:.5f},{alert.lon_deg:.5f}"))
    params.append(("ReportCount", str(alert.count)))
    for key, value in sorted(alert.detail.items()):
        if isinstance(value, bool | int | float | str) and str(value) != "":
            params.append((f"detail.{key}", str(value)))
    return params


def _areas(
    info: ET.Element,
    message: CapMessage,
    settings: CapSettings,
    english: bool,
    zone_polygons: ZonePolygons | None,
) -> None:
    """CAP 1.2 §3.2.4 <area>: a circle at the position, or the zone outline."""
    alert = message.alert
    zone_kind = alert.kind in (
        AlertKind.ZONE_ENTRY,
        AlertKind.ZONE_EXIT,
        AlertKind.ZONE_DWELL,
    )
    polygons = (
        zone_polygons(alert.zone)
        if zone_polygons is not None
        and alert.zone
        and (zone_kind or alert.lat_deg is None)
        else []
    )
    area = _el(info, "area")
    if alert.lat_deg is not None and alert.lon_deg is not None:
        where = format_position(alert.lat_deg, alert.lon_deg, "en" if english else "id")
        desc = f"Position {where}" if english else f"Posisi {where}"
        if alert.zone:
            desc += f", {alert.zone}"
    elif alert.zone:
        desc = alert.zone
    elif alert.station:
        desc = (
            f"Coverage of station {alert.station}"
            if english
            else f"Cakupan stasiun {alert.station}"
        )
    else:
        desc = "Sumenep regency waters" if english else "Perairan Kabupaten Sumenep"
    _el(area, "areaDesc", desc)
    for polygon in polygons:
        _el(area, "polygon", polygon)
    if alert.lat_deg is not None and alert.lon_deg is not None:
        _el(
            area,
            "circle",
            f"{alert.lat_deg:.5f},{alert.lon_deg:.5f} {settings.circle_radius_km:g}",
        )
    search = alert.detail.get("search_area")
    if isinstance(search, dict):
        # A second area: where people in the water may have drifted to.
        estimate = _el(info, "area")
        _el(
            estimate,
            "areaDesc",
            "Search area, drift estimate"
            if english
            else "Area pencarian, perkiraan hanyut",
        )
        radius_km = float(search["radius_nm"]) * _KM_PER_NM
        _el(
            estimate,
            "circle",
            f"{float(search['lat_deg']):.5f},{float(search['lon_deg']):.5f} "
            f"{radius_km:.2f}",
        )


def to_json(message: CapMessage, settings: CapSettings) -> bytes:
    """The message as JSON, for receivers that prefer it to XML.

    The envelope repeats the CAP header (``identifier``, ``sender``,
    ``sent``, ``status``, ``msgType``, ``scope``, ``references``) and the
    CAP terms of the kind, then the alert itself with its figures.
    """
    alert = message.alert
    profile = PROFILES[alert.kind]
    document: dict[str, Any] = {
        "identifier": message.identifier,
        "sender": message.sender,
        "sent": cap_time(message.sent),
        "status": message.status,
        "msgType": message.msg_type,
        "scope": settings.scope,
        "references": list(message.references),
        "incident": f"{settings.identifier_prefix}.{alert.id}",
        "seq": message.seq,
        "action": message.action,
        "note": message.note,
        "category": profile.category,
        "urgency": "Past" if message.msg_type == "Cancel" else profile.urgency,
        "severity": CAP_SEVERITY[alert.severity],
        "certainty": profile.certainty,
        "event": {"id-ID": profile.event_id, "en-US": profile.event_en},
        "headline": {
            "id-ID": _headline(message, False),
            "en-US": _headline(message, True),
        },
        "instruction": {
            "id-ID": _instruction(message, profile, False),
            "en-US": _instruction(message, profile, True),
        },
        "web": alert_url(settings.web_base_url, alert.id),
        "alert": {
            "id": alert.id,
            "kind": alert.kind.value,
            "severity": alert.severity.value,
            "state": alert.state.value,
            "time": cap_time(alert.time),
            "updated": cap_time(alert.updated) if alert.updated else None,
            "mmsi": alert.mmsi,
            "vessel_name": alert.vessel_name,
            "callsign": message.callsign,
            "ship_type": message.ship_type,
            "lat_deg": alert.lat_deg,
            "lon_deg": alert.lon_deg,
            "zone": alert.zone,
            "station": alert.station,
            "summary": alert.summary,
            "count": alert.count,
            "detail": alert.detail,
            "evidence": alert.evidence,
        },
    }
    return json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")


# ---------------------------------------------------------------------------
# The rules of CAP 1.2, as read from the standard's text.

# Children of each element in the schema's order: (name, min, max); max None
# is unbounded (CAP 1.2 §3.4 and the tables of §3.2).
_ORDER: dict[str, tuple[tuple[str, int, int | None], ...]] = {
    "alert": (
        ("identifier", 1, 1),
        ("sender", 1, 1),
        ("sent", 1, 1),
        ("status", 1, 1),
        ("msgType", 1, 1),
        ("source", 0, 1),
        ("scope", 1, 1),
        ("restriction", 0, 1),
        ("addresses", 0, 1),
        ("code", 0, None),
        ("note", 0, 1),
        ("references", 0, 1),
        ("incidents", 0, 1),
        ("info", 0, None),
    ),
    "info": (
        ("language", 0, 1),
        ("category", 1, None),
        ("event", 1, 1),
        ("responseType", 0, None),
        ("urgency", 1, 1),
        ("severity", 1, 1),
        ("certainty", 1, 1),
        ("audience", 0, 1),
        ("eventCode", 0, None),
        ("effective", 0, 1),
        ("onset", 0, 1),
        ("expires", 0, 1),
        ("senderName", 0, 1),
        ("headline", 0, 1),
        ("description", 0, 1),
        ("instruction", 0, 1),
        ("web", 0, 1),
        ("contact", 0, 1),
        ("parameter", 0, None),
        ("resource", 0, None),
        ("area", 0, None),
    ),
    "resource": (
        ("resourceDesc", 1, 1),
        ("mimeType", 1, 1),
        ("size", 0, 1),
        ("uri", 0, 1),
        ("derefUri", 0, 1),
        ("digest", 0, 1),
    ),
    "area": (
        ("areaDesc", 1, 1),
        ("polygon", 0, None),
        ("circle", 0, None),
        ("geocode", 0, None),
        ("altitude", 0, 1),
        ("ceiling", 0, 1),
    ),
    "eventCode": (("valueName", 1, 1), ("value", 1, 1)),
    "parameter": (("valueName", 1, 1), ("value", 1, 1)),
    "geocode": (("valueName", 1, 1), ("value", 1, 1)),
}

_ENUMS: dict[str, tuple[str, ...]] = {
    "status": STATUSES,
    "msgType": MSG_TYPES,
    "scope": SCOPES,
    "category": CATEGORIES,
    "responseType": RESPONSE_TYPES,
    "urgency": URGENCIES,
    "severity": SEVERITIES,
    "certainty": CERTAINTIES,
}

# CAP 1.2 §3.3.2: "YYYY-MM-DDThh:mm:ssXzh:zm"; no alphabetic zone.
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
_DATETIME_FIELDS = frozenset({"sent", "effective", "onset", "expires"})
# RFC 3066 language tags (CAP 1.2 §3.2.2 language).
_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_PAIR = re.compile(rf"^({_NUMBER}),({_NUMBER})$")


def validate_cap(document: bytes | str) -> list[str]:
    """Problems of a CAP 1.2 message, as sentences; empty when it is valid.

    Checked, from the standard's text: the namespace; required elements,
    their order and how often they may appear; the value lists; that
    identifier, sender and references hold no forbidden characters; the
    DateTime form (whole seconds, explicit offset, no ``Z``); restriction
    with scope Restricted, addresses with Private; references as
    ``sender,identifier,sent`` triples; language tags; absolute ``web``
    URIs; polygons of at least four pairs, closed; circles as
    ``lat,lon radius``; coordinates on the globe; ceiling only with
    altitude.
    """
    try:
        root = ET.fromstring(document)  # noqa: S314 (our own output, or a test's)
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    problems: list[str] = []
    if root.tag != f"{{{CAP_NS}}}alert":
        problems.append(f"root element is {root.tag!r}, not alert in {CAP_NS}")
        return problems
    _check_element(root, "alert", "alert", problems)
    return problems


def _local(tag: str) -> str | None:
    prefix = f"{{{CAP_NS}}}"
    return tag[len(prefix) :] if tag.startswith(prefix) else None


def _check_element(
    element: ET.Element, name: str, path: str, problems: list[str]
) -> None:
    order = _ORDER[name]
    names = [spec[0] for spec in order]
    position = 0
    counts: dict[str, int] = {}
    for child in element:
        local = _local(child.tag)
        if local is None or local not in names:
            problems.append(f"{path}: unexpected element {child.tag!r}")
            continue
        index = names.index(local)
        if index < position:
            problems.append(
                f"{path}: {local} is out of order (it must come before "
                f"{names[position]})"
            )
        position = max(position, index)
        counts[local] = counts.get(local, 0) + 1
        child_path = f"{path}/{local}[{counts[local]}]"
        if local in _ORDER:
            _check_element(child, local, child_path, problems)
        else:
            _check_value(local, (child.text or "").strip(), child_path, problems)
    for child_name, low, high in order:
        seen = counts.get(child_name, 0)
        if seen < low:
            problems.append(f"{path}: required element {child_name} is missing")
        if high is not None and seen > high:
            problems.append(
                f"{path}: {child_name} appears {seen} times (at most {high})"
            )
    if name == "alert":
        _check_alert_rules(element, problems)
    if name == "area" and counts.get("ceiling") and not counts.get("altitude"):
        problems.append(f"{path}: ceiling is used without altitude")


def _text_of(element: ET.Element, name: str) -> str | None:
    child = element.find(f"{{{CAP_NS}}}{name}")
    return None if child is None else (child.text or "").strip()


def _check_alert_rules(alert: ET.Element, problems: list[str]) -> None:
    scope = _text_of(alert, "scope")
    if scope == "Restricted" and not _text_of(alert, "restriction"):
        problems.append("alert: scope Restricted needs a restriction")
    if scope == "Private" and not _text_of(alert, "addresses"):
        problems.append("alert: scope Private needs addresses")
    msg_type = _text_of(alert, "msgType")
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not _text_of(
        alert, "references"
    ):
        problems.append(f"alert: msgType {msg_type} must reference earlier messages")


def _check_value(name: str, text: str, path: str, problems: list[str]) -> None:
    if name in _ENUMS and text not in _ENUMS[name]:
        problems.append(f"{path}: {text!r} is not one of {', '.join(_ENUMS[name])}")
    elif name in ("identifier", "sender"):
        if not text or re.search(r"[\s,<&]", text):
            problems.append(
                f"{path}: {text!r} is empty or holds a space, comma, < or &"
            )
    elif name in _DATETIME_FIELDS:
        _check_datetime(text, path, problems)
    elif name == "references":
        _check_references(text, path, problems)
    elif name == "language":
        if not _LANGUAGE.match(text):
            problems.append(f"{path}: {text!r} is not an RFC 3066 language tag")
    elif name in ("web", "uri"):
        parts = urlsplit(text)
        if not (parts.scheme and (parts.netloc or parts.path)):
            problems.append(f"{path}: {text!r} is not a full absolute URI")
    elif name == "polygon":
        _check_polygon(text, path, problems)
    elif name == "circle":
        _check_circle(text, path, problems)
    elif (
        name in ("event", "areaDesc", "valueName", "resourceDesc", "mimeType")
        and not text
    ):
        problems.append(f"{path}: must not be empty")


def _check_datetime(text: str, path: str, problems: list[str]) -> bool:
    if not _DATETIME.match(text):
        problems.append(
            f"{path}: {text!r} is not a CAP DateTime "
            "(YYYY-MM-DDThh:mm:ss+hh:mm, no Z, no fractions)"
        )
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{path}: {text!r} is not a real date and time")
        return False
    return True


def _check_references(text: str, path: str, problems: list[str]) -> None:
    triples = text.split()
    if not triples:
        problems.append(f"{path}: empty references")
    for triple in triples:
        parts = triple.split(",")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            problems.append(f"{path}: {triple!r} is not sender,identifier,sent")
            continue
        _check_datetime(parts[2], path, problems)


def _coordinate(
    pair: str, path: str, problems: list[str]
) -> tuple[float, float] | None:
    match = _PAIR.match(pair)
    if match is None:
        problems.append(f"{path}: {pair!r} is not a lat,lon pair")
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        problems.append(f"{path}: {pair!r} is off the globe (lat,lon order?)")
    return lat, lon


def _check_polygon(text: str, path: str, problems: list[str]) -> None:
    pairs = text.split()
    if len(pairs) < 4:
        problems.append(f"{path}: a polygon needs at least 4 pairs, has {len(pairs)}")
    points = [_coordinate(p, path, problems) for p in pairs]
    if pairs and points[0] != points[-1]:
        problems.append(f"{path}: polygon is not closed (first pair != last pair)")


def _check_circle(text: str, path: str, problems: list[str]) -> None:
    parts = text.split()
    if len(parts) != 2:
        problems.append(f"{path}: {text!r} is not 'lat,lon radius'")
        return
    _coordinate(parts[0], path, problems)
    try:
        radius = float(parts[1])
    except ValueError:
        problems.append(f"{path}: radius {parts[1]!r} is not a number of km")
        return
    if radius < 0:
        problems.append(f"{path}: negative radius {radius}")


def profile_problems(document: bytes | str) -> list[str]:
    """Rules of pantaulaut's own CAP profile, beyond the standard.

    Two ``info`` blocks, ``id-ID`` then ``en-US``, agreeing on category,
    urgency, severity and certainty; a ``web`` link and an ``area`` in each.
    """
    problems = validate_cap(document)
    if problems:
        return problems
    root = ET.fromstring(document)  # noqa: S314
    infos = root.findall(f"{{{CAP_NS}}}info")
    languages = [_text_of(i, "language") for i in infos]
    if languages != ["id-ID", "en-US"]:
        problems.append(f"info languages are {languages}, not ['id-ID', 'en-US']")
    terms = {
        tuple(_text_of(i, t) for t in ("category", "urgency", "severity", "certainty"))
        for i in infos
    }
    if len(terms) > 1:
        problems.append(f"info blocks disagree on the CAP terms: {sorted(terms)}")
    for info in infos:
        if not _text_of(info, "web"):
            problems.append("an info block has no web link")
        if info.find(f"{{{CAP_NS}}}area") is None:
            problems.append("an info block has no area")
    return problems


def zone_polygon_lookup(zones: Sequence[Any], max_points: int = 64) -> ZonePolygons:
    """A :data:`ZonePolygons` for zones (objects with ``name`` and ``geometry``).

    Outlines are computed once per zone, when first asked for.
    """
    by_name = {zone.name: zone for zone in zones}
    cache: dict[str, list[str]] = {}

    def lookup(name: str) -> list[str]:
        if name not in cache:
            zone = by_name.get(name)
            cache[name] = [] if zone is None else polygons_of(zone.geometry, max_points)
        return cache[name]

    return lookup
