"""Distress beacons: AIS-SART, MOB and EPIRB-AIS.

ITU-R M.1371-5 gives these devices their own MMSI series (970 SART,
972 MOB, 974 EPIRB; ITU-R M.585-9 annex 2). An active device sends position
reports with navigational status 14 and a safety text "SART ACTIVE",
"MOB ACTIVE" or "EPIRB ACTIVE" (type 14); a device under test sends
"... TEST" instead, with status 15. The rule implementers agree on:
active = beacon MMSI and (status 14 or an "ACTIVE" text); test = a "TEST"
text. The first message that shows it raises the alert: a beacon is never
held back, suppressed or rate-limited.
"""

from __future__ import annotations

import re

from pantaulaut.ingest.decode import DecodedPayload
from pantaulaut.ingest.identity import MmsiKind, mmsi_kind
from pantaulaut.model import AlertKind

__all__ = ["beacon_alert_kind"]

_ACTIVE_KIND = {
    MmsiKind.SART: AlertKind.SART_ACTIVE,
    MmsiKind.MOB: AlertKind.MOB_ACTIVE,
    MmsiKind.EPIRB: AlertKind.EPIRB_ACTIVE,
}
_BEACON_STATUS = 14
_TEST = re.compile(r"\b(SART|MOB|EPIRB)\s*TEST\b")
_ACTIVE = re.compile(r"\b(SART|MOB|EPIRB)\s*ACTIVE\b")


def beacon_alert_kind(payload: DecodedPayload) -> AlertKind | None:
    """The beacon alert one message raises, if any.

    >>> from pantaulaut.ingest.decode import decode_payload
    >>> beacon_alert_kind(decode_payload("1>M;`h>P008:i21swah00?v1P000", 0))
    <AlertKind.SART_ACTIVE: 'sart_active'>
    """
    kind = _ACTIVE_KIND.get(mmsi_kind(payload.mmsi))
    if kind is None:
        return None
    if payload.msg_type == 14:
        text = str(payload.value("text") or "").upper()
        if _TEST.search(text):
            return AlertKind.BEACON_TEST
        if _ACTIVE.search(text):
            return kind
        return None
    if payload.msg_type in (1, 2, 3) and payload.value("status") == _BEACON_STATUS:
        return kind
    return None
