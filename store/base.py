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
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pantaulaut.errors import ConfigError
from pantaulaut.model import (
    Alert,
    AlertState,
    PortCall,
    PositionReport,
    StationStats,
    StoredMessage,
    Vessel,
)

__all__ = [
    "Accounts",
    "Batch",
    "Delivery",
    "DeliveryState",
    "Outbox",
    "Store",
    "UserRecord",
    "open_store",
    "port_call_key",
    "search_terms",
]

log = logging.getLogger(__name__)


class DeliveryState(StrEnum):
    """Where a message in the delivery outbox is."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(slots=True)
class Delivery:
    """One message for one destination, kept in the outbox until delivered.

    The outbox makes delivery to 112 durable: a message is stored before
    anything is sent, and leaves the ``pending`` state only when the
    destination has taken it (``delivered``) or every attempt has failed
    (``dead``, for the operator to see and retry).

    Attributes:
        id: Row id: ``<destination>:<message_id>``.
        message_id: The message's stable id, the same for every destination
            and every attempt (the CAP identifier; the ``webhook-id`` header);
            receivers de-duplicate on it.
        destination: ``webhook``, ``mqtt``, ...
        alert_id: The alert the message is about.
        seq: Its place among the alert's messages (1 for the first); the
            messages of one alert go to one destination in this order.
        body: What is sent, as text (CAP XML or JSON).
        content_type: Its media type, such as ``application/cap+xml``.
        created: When it was put in the outbox (UTC, wall clock).
        msg_type: CAP ``msgType``: ``Alert``, ``Update`` or ``Cancel``.
        reference: ``sender,identifier,sent`` of the message, which later
            messages of the alert cite in CAP ``references``.
        topic: Where to publish it (MQTT destinations).
        priority: Lower goes first (the alert's severity rank).
        state: Pending, delivered or dead.
        attempts: Attempts made (or started) so far.
        next_attempt_at: Not to be tried before this (UTC); None: now.
        last_error: Why the latest attempt failed.
        delivered_at: When the destination took it.
    """

    id: str
    message_id: str
    destination: str
    alert_id: str
    seq: int
    body: str
    content_type: str
    created: datetime
    msg_type: str = "Alert"
    reference: str = ""
    topic: str = ""
    priority: int = 4
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    delivered_at: datetime | None = None


@dataclass(slots=True)
class Batch:
    """What the pipeline hands to the store in one transaction."""

    positions: list[PositionReport] = field(default_factory=list)
    messages: list[StoredMessage] = field(default_factory=list)
    vessels: dict[int, Vessel] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    stations: dict[str, StationStats] = field(default_factory=dict)
    # Outbox rows stored in the same transaction as the alerts they are about.
    deliveries: list[Delivery] = field(default_factory=list)
    # Port calls by port_call_key(): an open call is upserted again as it
    # changes and when it closes.
    port_calls: dict[str, PortCall] = field(default_factory=dict)

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
            or self.deliveries
            or self.port_calls
        )

    def add_port_call(self, call: PortCall) -> None:
        """Add a port call, replacing an earlier state of the same call."""
        self.port_calls[port_call_key(call)] = call


def port_call_key(call: PortCall) -> str:
    """The identity of a port call: MMSI, harbour and arrival time (UTC)."""
    return f"{call.mmsi}|{call.harbour_id}|{call.arrival.astimezone(UTC).isoformat()}"


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

    def vessel_marks(
        self,
        *,
        seen_since: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> list[Vessel]:
        """Vessels with a position, as :meth:`vessels` finds them, read lightly.

        Only ``mmsi``, ``vessel_class``, ``ship_type``, ``lat_deg``,
        ``lon_deg`` and ``last_seen`` are filled: enough to place, colour and
        thin out many markers before reading the few drawn in full
        (:meth:`vessels_by_mmsi`). Latest first.
        """
        ...

    def vessels_by_mmsi(self, mmsis: Sequence[int]) -> list[Vessel]:
        """The vessels with these MMSIs (those known), latest first."""
        ...

    def search_vessels(self, text: str, limit: int = 50) -> list[Vessel]:
        """Vessels found by name, call sign, MMSI or IMO number.

        Name and call sign match when they hold ``text`` in any case; MMSI
        and IMO number when they start with it. Latest heard first.
        """
        ...

    def positions_in(
        self,
        bbox: tuple[float, float, float, float] | None,
        start: datetime,
        end: datetime,
        limit: int = 100_000,
    ) -> list[PositionReport]:
        """Every vessel's positions in [start, end] inside a box, oldest first.

        ``bbox`` is (west, south, east, north) in degrees; None: anywhere.
        At most ``limit`` positions are returned (the oldest ones).
        """
        ...

    def port_calls(
        self,
        start: datetime,
        end: datetime,
        *,
        mmsi: int | None = None,
        harbour_id: str | None = None,
    ) -> list[PortCall]:
        """Port calls in port at some time in [start, end], by arrival.

        A call counts when it arrived by ``end`` and departed at or after
        ``start`` or is still open.
        """
        ...

    def station_activity(self, start: datetime, end: datetime) -> list[StationStats]:
        """Position reports stored per station in [start, end), by station.

        Only ``station``, ``messages`` (the position reports credited to the
        station), ``first_seen`` and ``last_seen`` (the first and last of
        them) are filled; stations with none in the window are left out.
        """
        ...

    def last_heard(
        self, queries: Sequence[tuple[int, datetime]]
    ) -> list[datetime | None]:
        """For each ``(mmsi, before)``: the vessel's latest position time before it.

        The time of the latest stored position report strictly before
        ``before``, or None when there is none; in the order asked.
        """
        ...

    def count(self, table: str) -> int:
        """Rows in ``positions``, ``messages``, ``vessels`` or ``alerts``."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class Outbox(Protocol):
    """The delivery outbox: messages for 112 kept until delivered.

    Every method is one transaction. Several processes may claim from one
    PostgreSQL outbox at once; a claimed message is leased to its claimer
    for ``lease_s``, and one whose claimer died is claimed again after that.
    """

    def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        """Add messages to the outbox; ids already there are left alone.

        Returns:
            How many were added.
        """
        ...

    def claim_due_deliveries(
        self,
        now: datetime,
        limit: int,
        *,
        destination: str | None = None,
        lease_s: float = 60.0,
    ) -> list[Delivery]:
        """Take up to ``limit`` pending messages that are due, to send them.

        Only the earliest pending message of each alert and destination is
        due, so that an alert's messages arrive in order; the most severe
        come first. Each one claimed has its ``attempts`` counted and is not
        due again before ``now + lease_s``.
        """
        ...

    def mark_delivered(self, delivery_id: str, when: datetime) -> None:
        """The destination took the message."""
        ...

    def mark_failed(
        self, delivery_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        """An attempt failed: try again at ``next_attempt_at``, or never (None).

        With None the message becomes a dead letter.
        """
        ...

    def dead_letters(self, limit: int = 100) -> list[Delivery]:
        """Messages every attempt failed for, oldest first."""
        ...

    def retry_dead_letter(self, delivery_id: str, now: datetime) -> bool:
        """Make a dead letter pending again with fresh attempts.

        Returns:
            False when no dead letter has this id.
        """
        ...

    def deliveries(
        self,
        *,
        states: Sequence[DeliveryState] | None = None,
        alert_id: str | None = None,
        destination: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Messages in the outbox, oldest first, filtered as asked."""
        ...

    def pending_deliveries(self, destination: str | None = None) -> int:
        """How many messages wait to be delivered."""
        ...


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A desk account as stored.

    Attributes:
        name: The log-in name (unique).
        password_hash: The password's argon2id hash (PHC string), never the
            password.
        role: ``viewer``, ``operator`` or ``admin``.
        created: When the account was made (UTC).
        changed: When its password or role last changed (UTC).
    """

    name: str
    password_hash: str
    role: str
    created: datetime
    changed: datetime


@runtime_checkable
class Accounts(Protocol):
    """The desk's accounts (the ``users`` table)."""

    def add_user(self, name: str, password_hash: str, role: str) -> None:
        """Add an account.

        Raises:
            StoreError: An account of that name exists.
        """
        ...

    def set_password(self, name: str, password_hash: str) -> bool:
        """Replace an account's password hash; False when there is no such user."""
        ...

    def set_role(self, name: str, role: str) -> bool:
        """Change an account's role; False when there is no such user."""
        ...

    def remove_user(self, name: str) -> bool:
        """Remove an account; False when there was no such user."""
        ...

    def get_user(self, name: str) -> UserRecord | None:
        """One account by name."""
        ...

    def list_users(self) -> list[UserRecord]:
        """Every account, by name."""
        ...


def search_terms(text: str) -> tuple[str, str] | None:
    r"""LIKE patterns for a vessel search, with ``\`` as the escape character.

    Returns:
        (upper-case "contains" pattern, "starts with" pattern), or None for
        blank text. A leading ``IMO`` before digits is dropped, so that
        ``IMO 9123456`` finds the number.
    """
    clean = " ".join(text.split()).upper()
    if clean.startswith("IMO") and clean[3:].strip().isdigit():
        clean = clean[3:].strip()
    if not clean:
        return None
    escaped = clean.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%", f"{escaped}%"


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
