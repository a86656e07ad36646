"""Alerts on quiet real traffic: alerts per 1,000 vessel-hours, per kind.

Real recordings with no known incident are replayed, each through a
pipeline of its own, and every alert opened is kept. The exposure is
counted in vessel-hours on the data clock: for each vessel, the time between
consecutive messages, each interval capped at 10 min (a vessel unheard for
longer is not being watched; OpenCPN calls a target lost after 8 min and the
datAcron detectors a gap after 600 s, domain.md 2.3).

A file whose lines carry no receive times (no tag block ``c:``, trailer or
``$PGHP`` header) runs on arrival time: replayed at full speed, its whole
span is a second, time-based detectors cannot work on it and its
vessel-hours are meaningless. Such files are replayed and their alerts
listed, but they are left out of the rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pantaulaut.geofence.zones import ZoneSet, load_zones
from pantaulaut.ingest.sources import read_file_lines
from pantaulaut.ingest.stream import AisMessage
from pantaulaut.model import Alert
from pantaulaut.pipeline import Pipeline

__all__ = ["NMEA_SUFFIXES_SKIPPED", "FileExposure", "replay_for_exposure"]

# Decoded exports and notes in the corpus, not NMEA.
NMEA_SUFFIXES_SKIPPED = frozenset({".csv", ".jsonl", ".md", ".json"})
_INTERVAL_CAP_S = 600.0
_TIMED_SHARE = 0.9


@dataclass(slots=True)
class FileExposure:
    """One replayed file: how long vessels were watched and what alerted.

    Attributes:
        path: The recording.
        messages: Decoded messages.
        timed_messages: Messages that carried their own receive time.
        vessel_hours: Exposure on the data clock (capped intervals).
        alerts: Every alert opened, as first raised.
    """

    path: Path
    messages: int = 0
    timed_messages: int = 0
    vessel_hours: float = 0.0
    alerts: list[Alert] = field(default_factory=list)

    @property
    def timed(self) -> bool:
        """True when nearly all messages carry their own receive time."""
        return self.messages > 0 and self.timed_messages >= (
            _TIMED_SHARE * self.messages
        )


def replay_for_exposure(path: Path, zones: ZoneSet | None = None) -> FileExposure:
    """Replay one recording through a fresh pipeline; count exposure and alerts."""
    pipeline = Pipeline(None, zones if zones is not None else load_zones())
    exposure = FileExposure(path)
    last_heard: dict[int, datetime] = {}
    seconds = 0.0
    arrival = datetime.now(UTC)

    def opened(change: object) -> None:
        alert = getattr(change, "alert", None)
        if getattr(change, "new", False) and isinstance(alert, Alert):
            exposure.alerts.append(alert)

    pipeline.sinks.append(opened)
    for line in read_file_lines(path):
        for message in pipeline.stream.feed(line, path.name, arrival):
            exposure.messages += 1
            if _timed(message, arrival):
                exposure.timed_messages += 1
                seconds += _watched_s(last_heard, message)
            pipeline.process(message)
    pipeline.finish()
    exposure.vessel_hours = seconds / 3600.0
    return exposure


def _timed(message: AisMessage, arrival: datetime) -> bool:
    return message.time != arrival


def _watched_s(last_heard: dict[int, datetime], message: AisMessage) -> float:
    before = last_heard.get(message.mmsi)
    if before is None or message.time > before:
        last_heard[message.mmsi] = message.time
    if before is None or message.time <= before:
        return 0.0
    return min((message.time - before).total_seconds(), _INTERVAL_CAP_S)
