"""What vessels say about themselves: navigational status, texts, identity.

- ``aground`` and ``not_under_command``: navigational status 6 and 2 of a
  class A position report (ITU-R M.1371-5 table 45; domain.md 2.2). Class B
  units send no status, so these only ever come from class A. A status that
  changes away clears the alert (the lifecycle holds it two minutes).
  Harbours suppress both (lifecycle rules): a vessel on the slip is no news.
- ``safety_broadcast``: a safety-related text (message 12 addressed, 14
  broadcast) that reads as distress or urgency, in English or Indonesian.
  A text that says it is a test, drill or exercise never alerts. Beacon
  texts ("SART ACTIVE", ...) are the beacon detector's.
- ``invalid_mmsi``: an identity with no valid structure or MID (ITU-R
  M.585-9; :func:`pantaulaut.ingest.identity.mmsi_is_valid`), raised once
  per MMSI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pantaulaut.alerts.findings import NOTHING, Finding, evidence_of
from pantaulaut.ingest.framing import Sentence
from pantaulaut.ingest.identity import MmsiKind, mmsi_is_valid, mmsi_kind
from pantaulaut.model import AlertKind, PositionReport, Severity

__all__ = [
    "IdentityDetector",
    "NavStatusDetector",
    "SafetyTextDetector",
    "read_safety_text",
]

# Navigational status codes (ITU-R M.1371-5 table 45).
_STATUS_KIND = {6: AlertKind.AGROUND, 2: AlertKind.NOT_UNDER_COMMAND}
_STATUS_WORDS = {
    AlertKind.AGROUND: "reports itself aground (navigational status 6)",
    AlertKind.NOT_UNDER_COMMAND: "reports not under command (status 2)",
}

# Words of distress (critical) and urgency (high), English and Indonesian.
# Indonesian: tolong = help, tenggelam = sinking, karam = wrecked,
# terbalik = capsized, kebakaran / terbakar = fire / burning, bocor = leak,
# orang jatuh (ke laut) = man overboard, darurat = emergency, bantuan = help,
# bahaya = danger, mati mesin = engine dead, hanyut = adrift, kandas =
# aground, tabrakan = collision, medis = medical.
_DISTRESS = (
    "MAYDAY",
    "SOS",
    "DISTRESS",
    "SINKING",
    "CAPSIZED",
    "CAPSIZING",
    "ABANDON SHIP",
    "ABANDONING",
    "MAN OVERBOARD",
    "FIRE",
    "EXPLOSION",
    "FLOODING",
    "TOLONG",
    "TENGGELAM",
    "KARAM",
    "TERBALIK",
    "KEBAKARAN",
    "TERBAKAR",
    "BOCOR",
    "ORANG JATUH",
    "DARURAT",
    "MINTA BANTUAN",
    "PERLU BANTUAN",
)
_URGENCY = (
    "PAN PAN",
    "PANPAN",
    "URGENT",
    "EMERGENCY",
    "DANGER",
    "BAHAYA",
    "AGROUND",
    "KANDAS",
    "ADRIFT",
    "HANYUT",
    "NOT UNDER COMMAND",
    "MATI MESIN",
    "MESIN MATI",
    "COLLISION",
    "TABRAKAN",
    "MEDICAL",
    "MEDIS",
    "HELP",
    "BANTUAN",
)
# A text about a test, drill or exercise (uji, ujicoba, percobaan = test,
# trial; latihan = exercise) is never an alert.
_NOT_REAL: tuple[str, ...] = (
    "TEST",
    "TESTING",
    "DRILL",
    "EXERCISE",
    "LATIHAN",
    "UJI",
    "UJICOBA",
    "PERCOBAAN",
    "SIMULASI",
    "SIMULATION",
)


def _words(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
    return re.compile(rf"(?<![A-Z0-9])(?:{alternatives})(?![A-Z0-9])")


_DISTRESS_RE = _words(_DISTRESS)
_URGENCY_RE = _words(_URGENCY)
_NOT_REAL_RE = _words(_NOT_REAL)
_BEACONS = frozenset({MmsiKind.SART, MmsiKind.MOB, MmsiKind.EPIRB})


def read_safety_text(text: str) -> tuple[Severity, list[str]] | None:
    """How serious a safety text is, and the words that say so.

    Returns:
        (critical or high, words found), or None for an ordinary text, a
        test, a drill or an exercise.

    >>> read_safety_text("KAPAL TENGGELAM DEKAT SAPUDI, TOLONG")
    (<Severity.CRITICAL: 'critical'>, ['TENGGELAM', 'TOLONG'])
    >>> read_safety_text("MAYDAY TEST") is None
    True
    """
    upper = " ".join(text.upper().split())
    if not upper or _NOT_REAL_RE.search(upper):
        return None
    distress = _DISTRESS_RE.findall(upper)
    if distress:
        return Severity.CRITICAL, distress
    urgency = _URGENCY_RE.findall(upper)
    if urgency:
        return Severity.HIGH, urgency
    return None


class SafetyTextDetector:
    """Distress and urgency in messages 12 and 14."""

    def on_text(
        self,
        mmsi: int,
        msg_type: int,
        text: str,
        to_mmsi: int | None,
        time: datetime,
        sentences: tuple[Sentence, ...],
    ) -> tuple[Finding, ...]:
        """Judge one safety text."""
        if mmsi_kind(mmsi) in _BEACONS:
            return NOTHING
        verdict = read_safety_text(text)
        if verdict is None:
            return NOTHING
        severity, words = verdict
        shown = " ".join(text.split())
        summary = f"safety text from {mmsi}: {shown!r}"
        detail: dict[str, object] = {"text": shown, "words": words, "type": msg_type}
        if to_mmsi is not None:
            detail["to_mmsi"] = to_mmsi
        return (
            Finding(
                AlertKind.SAFETY_BROADCAST,
                mmsi,
                time,
                summary=summary,
                evidence=evidence_of(sentences),
                detail=detail,
                severity=severity,
            ),
        )


@dataclass(slots=True)
class _Declared:
    kind: AlertKind
    asserted: datetime


class NavStatusDetector:
    """``aground`` and ``not_under_command`` from a class A's own status.

    Args:
        reassert_s: A status still held is re-confirmed this often.
    """

    def __init__(self, reassert_s: float) -> None:
        self.reassert_s = reassert_s
        self._declared: dict[int, _Declared] = {}

    def declared(self, mmsi: int) -> bool:
        """True while the vessel says it is aground or not under command."""
        return mmsi in self._declared

    def on_fix(
        self, fix: PositionReport, sentences: tuple[Sentence, ...]
    ) -> list[Finding]:
        """Judge the status of one position report."""
        status = fix.nav_status
        kind = _STATUS_KIND.get(status) if status is not None else None
        held = self._declared.get(fix.mmsi)
        out: list[Finding] = []
        if held is not None and held.kind is not kind and status is not None:
            del self._declared[fix.mmsi]
            note = f"navigational status now {status}"
            out.append(
                Finding(held.kind, fix.mmsi, fix.time, active=False, summary=note)
            )
            held = None
        if kind is None:
            return out
        if held is not None and (fix.time - held.asserted).total_seconds() < (
            self.reassert_s
        ):
            return out
        self._declared[fix.mmsi] = _Declared(kind, fix.time)
        out.append(
            Finding(
                kind,
                fix.mmsi,
                fix.time,
                summary=f"{fix.mmsi} {_STATUS_WORDS[kind]}",
                station=fix.station,
                lat_deg=fix.lat_deg,
                lon_deg=fix.lon_deg,
                evidence=evidence_of(sentences),
                detail={"nav_status": status},
            )
        )
        return out


class IdentityDetector:
    """``invalid_mmsi``, once per MMSI heard."""

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def on_message(
        self, mmsi: int, time: datetime, station: str, sentences: tuple[Sentence, ...]
    ) -> tuple[Finding, ...]:
        """Judge the identity of a sender the first time it is heard."""
        if mmsi in self._seen:
            return NOTHING
        self._seen.add(mmsi)
        if mmsi_is_valid(mmsi):
            return NOTHING
        return (
            Finding(
                AlertKind.INVALID_MMSI,
                mmsi,
                time,
                summary=f"MMSI {mmsi:09d} has no valid structure or country (MID)",
                station=station,
                evidence=evidence_of(sentences),
                detail={"mmsi_text": f"{mmsi:09d}"},
            ),
        )
