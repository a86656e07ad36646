"""The narrow storage interface every backend implements.

The pipeline writes in batches, one transaction per batch, so that a batch is
stored whole or not at all. Readers (dashboard, exports, tests) use a handful
of queries. The contract tests in ``tests/test_store_contract.py`` run the
same checks against every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pantaulaut.errors import ConfigError
from pantaulaut.model import (
    Alert,
    AlertState,
    PositionReport,
    StationStats,
    StoredMessage,
    Vessel,
)

__all__ = ["Batch", "Store", "open_store"]


@dataclass(slots=True)
class Batch:
    """What the pipeline hands to the store in one transaction."""

    positions: list[PositionReport] = field(default_factory=list)
    messages: list[StoredMessage] = field(default_factory=list)
    vessels: dict[int, Vessel] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    stations: dict[str, StationStats] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.positions) + len(self.messages) + len(self.alerts)

    def is_empty(self) -> bool:
        """True when there is nothing to write."""
        return not (
            self.positions
            or self.messages
            or self.vessels
            or self.alerts
            or self.stations
        )


class Store(Protocol):
    """A place where vessels, their tracks and the alerts are kept."""

    def write(self, batch: Batch) -> None:
        """Store a batch in one transaction (vessels and alerts are upserted)."""
        ...

    def vessels(
        self,
        *,
        seen_since: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int | None = None,
    ) -> list[Vessel]:
        """Vessels, latest first; ``bbox`` is (west, south, east, north) degrees."""
        ...

    def vessel(self, mmsi: int) -> Vessel | None:
        """One vessel by MMSI."""
        ...

    def track(self, mmsi: int, start: datetime, end: datetime) -> list[PositionReport]:
        """A vessel's positions in [start, end], oldest first."""
        ...

    def messages(self, mmsi: int, limit: int = 100) -> list[StoredMessage]:
        """A vessel's latest decoded messages with their raw sentences."""
        ...

    def alerts(
        self, *, states: Sequence[AlertState] = (AlertState.OPEN,), limit: int = 200
    ) -> list[Alert]:
        """Alerts in the given states, most severe first, then newest."""
        ...

    def stations(self) -> list[StationStats]:
        """Per-station statistics."""
        ...

    def count(self, table: str) -> int:
        """Rows in ``positions``, ``messages``, ``vessels`` or ``alerts``."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def open_store(url: str) -> Store:
    """Open the store a URL names.

    ``sqlite:///relative.db``, ``sqlite:////absolute.db`` and
    ``sqlite://:memory:`` are the embedded default.

    Raises:
        ConfigError: The URL names no known backend.
    """
    if url.startswith("sqlite://"):
        from pantaulaut.store.sqlite import SqliteStore

        return SqliteStore.from_url(url)
    raise ConfigError(
        "store.url", url, "a URL starting with sqlite:// (e.g. sqlite:///pantaulaut.db)"
    )
