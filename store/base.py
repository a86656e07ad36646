"""The narrow storage interface every backend implements.

The pipeline writes in batches, one transaction per batch, so that a batch is
stored whole or not at all. Readers (dashboard, exports, tests) use a handful
of queries. The contract tests in ``tests/test_store_contract.py`` run the
same checks against every backend.
"""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)


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


def open_store(url: str, *, retention_days: int = 0) -> Store:
    """Open the store a URL names.

    ``sqlite:///relative.db``, ``sqlite:////absolute.db`` and
    ``sqlite://:memory:`` are the embedded default; ``postgresql://`` and
    ``postgres://`` URLs (libpq syntax) open PostgreSQL, with TimescaleDB
    when the server has it (the ``postgres`` extra installs the driver).

    Args:
        url: The ``store.url`` setting.
        retention_days: Keep positions and messages this many days (0: for
            ever). Only the PostgreSQL store trims history so far.

    Raises:
        ConfigError: The URL names no known backend, or its driver is missing.
        StoreError: The server cannot be reached or refused the schema.
    """
    if url.startswith("sqlite://"):
        from pantaulaut.store.sqlite import SqliteStore

        if retention_days:
            log.warning(
                "store.retention_days=%d is not applied to SQLite stores: "
                "history is kept",
                retention_days,
            )
        return SqliteStore.from_url(url)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from pantaulaut.store.postgres import PostgresStore
        except ImportError as exc:
            raise ConfigError(
                "store.url",
                url.split("@")[-1],
                "a store whose driver is installed: pip install "
                f"'pantaulaut[postgres]' for PostgreSQL ({exc})",
            ) from exc
        return PostgresStore.from_url(url, retention_days=retention_days)
    raise ConfigError(
        "store.url",
        url,
        "a URL starting with sqlite:// (e.g. sqlite:///pantaulaut.db) "
        "or postgresql:// (e.g. postgresql://pantaulaut@127.0.0.1/pantaulaut)",
    )
