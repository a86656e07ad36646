"""What detectors report: a condition seen (raised) or seen to clear.

Detectors know nothing of the alert book, zones' suppression rules or the
store; they return :class:`Finding` records and the pipeline turns them into
alert changes through the :class:`~pantaulaut.alerts.book.AlertBook`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pantaulaut.ingest.framing import Sentence
from pantaulaut.model import AlertKind, Severity

__all__ = ["NOTHING", "Finding", "evidence_of"]


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's verdict on one vessel, pair or station.

    Attributes:
        kind: The alert kind.
        mmsi: The vessel; for a pair the first of the two; None for a station.
        time: The data clock when it was seen.
        active: True: the condition holds (raise or confirm the alert).
            False: it cleared (the alert may resolve).
        summary: One line for the operator.
        partner: The other vessel of a pair.
        station: The station concerned (the one that heard it, or the one
            that went down).
        lat_deg: Where, when the detector knows better than the latest fix.
        lon_deg: Where.
        evidence: Raw sentences behind the verdict.
        detail: Figures behind it, plain JSON.
        severity: None for the kind's default.
    """

    kind: AlertKind
    mmsi: int | None
    time: datetime
    active: bool = True
    summary: str = ""
    partner: int | None = None
    station: str | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    evidence: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None


# Most messages find nothing; they all share this empty result.
NOTHING: tuple[Finding, ...] = ()


def evidence_of(sentences: Iterable[Sentence]) -> tuple[str, ...]:
    """The raw text of the sentences of a message, for an alert's evidence."""
    return tuple(s.raw for s in sentences)
