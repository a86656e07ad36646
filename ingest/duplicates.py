"""Copies of one transmission heard by more than one coastal station.

The regency's stations overlap: a ferry between Kalianget and Sapudi is heard
by both, and so is every message it sends. Each copy carries the same bits
(ITU-R M.1371-5 gives every report its own UTC second and communication
state, so two reports of one vessel within seconds differ, while two copies
of one report do not). The first copy to arrive moves the vessel; the later
ones still count for the station that heard them (its rate, its coverage) but
are not stored or judged again, so that tracks, counts and detectors see
each transmission once.

A station whose feed repeats a line (a reconnecting TCP server that sends its
buffer again) is caught by the same check.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

__all__ = ["DuplicateFilter"]

# Copies of one transmission reach the desk within seconds of each other;
# a vessel's own reports repeat their bits only minutes apart (a moored
# class A every 3 min, static data every 6 min).
DEFAULT_WINDOW_S = 10.0
# Data time may run backwards (a station's backlog after an outage), when
# nothing ages out; the oldest remembered go first past this many.
MAX_REMEMBERED = 100_000


class DuplicateFilter:
    """Which messages are copies of one already seen.

    Args:
        window_s: How far apart in data time two copies may be. 0 turns
            the filter off.
        max_remembered: Most messages held at once, whatever their times.
    """

    def __init__(
        self, window_s: float = DEFAULT_WINDOW_S, max_remembered: int = MAX_REMEMBERED
    ) -> None:
        self.window = timedelta(seconds=window_s)
        self.max_remembered = max_remembered
        self._seen: OrderedDict[tuple[str, int], datetime] = OrderedDict()
        self.copies = 0

    def is_copy(self, payload: str, fill_bits: int, time: datetime) -> bool:
        """Whether these bits were seen within the window; remembers them.

        Args:
            payload: The message's armoured payload, all fragments joined.
            fill_bits: Its fill bits (NMEA 0183 field 6 of the last part).
            time: Its data time.
        """
        if not self.window:
            return False
        self._forget(time)
        key = (payload, fill_bits)
        first = self._seen.get(key)
        if first is not None and abs(time - first) <= self.window:
            self.copies += 1
            return True
        self._seen[key] = time
        self._seen.move_to_end(key)
        if len(self._seen) > self.max_remembered:
            self._seen.popitem(last=False)
        return False

    def _forget(self, now: datetime) -> None:
        """Drop bits older than the window (the oldest are first)."""
        limit = now - self.window
        while self._seen:
            key, first = next(iter(self._seen.items()))
            if first >= limit:
                return
            del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)
