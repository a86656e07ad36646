"""The embedded store: one SQLite file, no server.

Write-ahead logging lets the dashboard read while the pipeline writes. Times
are stored as UTC ISO 8601 text, which sorts in time order; positions are
indexed for a vessel's track and for the latest position of every vessel.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pantaulaut.errors import StoreError
from pantaulaut.model import (
    Alert,
    AlertState,
    PortCall,
    PositionReport,
    StationStats,
    StoredMessage,
    Vessel,
)
from pantaulaut.store import records
from pantaulaut.store.base import (
    Batch,
    Delivery,
    DeliveryState,
    UserRecord,
    search_terms,
)

__all__ = ["SqliteStore"]

log = logging.getLogger(__name__)

# One statement per column an account's update may change.
_UPDATE_USER = {
    "password_hash": "UPDATE users SET password_hash = ?, changed = ? WHERE name = ?",
    "role": "UPDATE users SET role = ?, changed = ? WHERE name = ?",
}
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created TEXT NOT NULL,
    changed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
    mmsi INTEGER NOT NULL,
    time TEXT NOT NULL,
    lat_deg REAL NOT NULL,
    lon_deg REAL NOT NULL,
    speed_kn REAL,
    course_deg REAL,
    heading_deg REAL,
    nav_status INTEGER,
    msg_type INTEGER NOT NULL,
    station TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS positions_mmsi_time ON positions (mmsi, time);
CREATE INDEX IF NOT EXISTS positions_time ON positions (time);
CREATE TABLE IF NOT EXISTS messages (
    time TEXT NOT NULL,
    mmsi INTEGER NOT NULL,
    msg_type INTEGER NOT NULL,
    station TEXT NOT NULL,
    raw TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_mmsi_time ON messages (mmsi, time);
CREATE TABLE IF NOT EXISTS vessels (
    mmsi INTEGER PRIMARY KEY,
    last_seen TEXT,
    lat_deg REAL,
    lon_deg REAL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vessels_last_seen ON vessels (last_seen);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    state TEXT NOT NULL,
    time TEXT NOT NULL,
    mmsi INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state, severity_rank, time);
CREATE TABLE IF NOT EXISTS stations (
    station TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    msg_type TEXT NOT NULL,
    reference TEXT NOT NULL,
    priority INTEGER NOT NULL,
    created TEXT NOT NULL,
    content_type TEXT NOT NULL,
    topic TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_chain ON outbox (alert_id, destination, seq);
CREATE TABLE IF NOT EXISTS port_calls (
    mmsi INTEGER NOT NULL,
    harbour_id TEXT NOT NULL,
    arrival TEXT NOT NULL,
    departure TEXT,
    harbour_name TEXT NOT NULL,
    vessel_name TEXT,
    ship_type INTEGER,
    ship_type_text TEXT,
    positions INTEGER NOT NULL,
    station TEXT,
    lat_deg REAL,
    lon_deg REAL,
    PRIMARY KEY (mmsi, harbour_id, arrival)
);
CREATE INDEX IF NOT EXISTS port_calls_arrival ON port_calls (arrival);
"""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


class SqliteStore:
    """Store backed by one SQLite file (or memory).

    Args:
        path: File path, or ``:memory:``.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            msg = f"cannot open SQLite store {path!r}: {exc}"
            raise StoreError(msg) from exc
        # One connection shared by the pipeline and the dashboard's threads.
        self._lock = threading.Lock()
        log.info("opened SQLite store %s", path)

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        """Open ``sqlite:///rel.db``, ``sqlite:////abs.db`` or ``sqlite://:memory:``."""
        rest = url.removeprefix("sqlite://")
        if rest in (":memory:", "/:memory:"):
            return cls(":memory:")
        return cls(rest[1:] if rest.startswith("/") else rest)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._db.cursor()
            try:
                cursor.execute("BEGIN")
                yield cursor
                cursor.execute("COMMIT")
            except sqlite3.Error as exc:
                cursor.execute("ROLLBACK")
                msg = f"SQLite write to {self.path!r} failed: {exc}"
                raise StoreError(msg) from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                msg = f"SQLite query on {self.path!r} failed: {exc}"
                raise StoreError(msg) from exc

    def write(self, batch: Batch) -> None:
        """Store a batch in one transaction."""
        if batch.is_empty():
            return
        with self._transaction() as cur:
            cur.executemany(
                "INSERT INTO positions VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        p.mmsi,
                        _iso(p.time),
                        p.lat_deg,
                        p.lon_deg,
                        p.speed_kn,
                        p.course_deg,
                        p.heading_deg,
                        p.nav_status,
                        p.msg_type,
                        p.station,
                    )
                    for p in batch.positions
                ],
            )
            cur.executemany(
                "INSERT INTO messages VALUES (?,?,?,?,?,?)",
                [
                    (
                        _iso(m.time),
                        m.mmsi,
                        m.msg_type,
                        m.station,
                        m.raw,
                        _dumps(m.fields),
                    )
                    for m in batch.messages
                ],
            )
            cur.executemany(
                "INSERT INTO vessels VALUES (?,?,?,?,?) ON CONFLICT (mmsi) "
                "DO UPDATE SET last_seen=excluded.last_seen, lat_deg=excluded.lat_deg, "
                "lon_deg=excluded.lon_deg, data=excluded.data",
                [
                    (
                        v.mmsi,
                        _iso(v.last_seen),
                        v.lat_deg,
                        v.lon_deg,
                        _dumps(records.fields_of(v)),
                    )
                    for v in batch.vessels.values()
                ],
            )
            cur.executemany(
                "INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (id) "
                "DO UPDATE SET severity=excluded.severity, "
                "severity_rank=excluded.severity_rank, "
                "state=excluded.state, data=excluded.data",
                [
                    (
                        a.id,
                        a.kind.value,
                        a.severity.value,
                        a.severity.rank,
                        a.state.value,
                        _iso(a.time),
                        a.mmsi,
                        _dumps(records.fields_of(a)),
                    )
                    for a in batch.alerts.values()
                ],
            )
            cur.executemany(
                "INSERT INTO stations VALUES (?,?) ON CONFLICT (station) DO UPDATE "
                "SET data=excluded.data",
                [
                    (s.station, _dumps(records.fields_of(s)))
                    for s in batch.stations.values()
                ],
            )
            _insert_deliveries(cur, batch.deliveries)
            cur.executemany(_UPSERT_PORT_CALL, _port_call_rows(batch))
        log.info(
            "wrote %d positions, %d messages, %d vessels, %d alerts to %s",
            len(batch.positions),
            len(batch.messages),
            len(batch.vessels),
            len(batch.alerts),
            self.path,
        )

    def vessels(
        self,
        *,
        seen_since: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int | None = None,
    ) -> list[Vessel]:
        """Vessels, latest first, optionally within a time and a box."""
        where, params = _vessel_filter(seen_since, bbox)
        # Only fixed conditions with "?" marks are formatted in.
        sql = f"SELECT data FROM vessels WHERE 1=1{where}"  # noqa: S608
        sql += " ORDER BY last_seen DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            records.vessel_from(json.loads(row[0])) for row in self._query(sql, params)
        ]

    def vessel(self, mmsi: int) -> Vessel | None:
        """One vessel by MMSI."""
        rows = self._query("SELECT data FROM vessels WHERE mmsi = ?", (mmsi,))
        return records.vessel_from(json.loads(rows[0][0])) if rows else None

    def track(self, mmsi: int, start: datetime, end: datetime) -> list[PositionReport]:
        """A vessel's positions in [start, end], oldest first."""
        rows = self._query(
            "SELECT mmsi, time, lat_deg, lon_deg, speed_kn, course_deg, heading_deg, "
            "nav_status, msg_type, station FROM positions "
            "WHERE mmsi = ? AND time >= ? AND time <= ? ORDER BY time",
            (mmsi, _iso(start), _iso(end)),
        )
        return [_position_from(r) for r in rows]

    def messages(self, mmsi: int, limit: int = 100) -> list[StoredMessage]:
        """A vessel's latest decoded messages with their raw sentences."""
        rows = self._query(
            "SELECT time, mmsi, msg_type, station, raw, fields FROM messages "
            "WHERE mmsi = ? ORDER BY time DESC LIMIT ?",
            (mmsi, limit),
        )
        return [
            StoredMessage(
                datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5])
            )
            for r in rows
        ]

    def alerts(
        self, *, states: Sequence[AlertState] = (AlertState.OPEN,), limit: int = 200
    ) -> list[Alert]:
        """Alerts in the given states, most severe first, then newest."""
        marks = ",".join("?" for _ in states)
        rows = self._query(
            # Only "?" marks are formatted in; the values are parameters.
            f"SELECT data FROM alerts WHERE state IN ({marks}) "  # noqa: S608
            "ORDER BY severity_rank, time DESC LIMIT ?",
            [s.value for s in states] + [limit],
        )
        return [records.alert_from(json.loads(r[0])) for r in rows]

    def stations(self) -> list[StationStats]:
        """Per-station statistics, by station name."""
        rows = self._query("SELECT data FROM stations ORDER BY station")
        return [records.station_from(json.loads(r[0])) for r in rows]

    def vessel_marks(
        self,
        *,
        seen_since: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> list[Vessel]:
        """Vessels with a position: identity, class, type, place and time only."""
        where, params = _vessel_filter(seen_since, bbox)
        # Only fixed conditions with "?" marks are formatted in.
        sql = (
            "SELECT mmsi, json_extract(data, '$.vessel_class'), "  # noqa: S608
            "json_extract(data, '$.ship_type'), lat_deg, lon_deg, last_seen "
            "FROM vessels WHERE lat_deg IS NOT NULL AND lon_deg IS NOT NULL"
            f"{where} ORDER BY last_seen DESC"
        )
        return [
            Vessel(
                mmsi=r[0],
                vessel_class=r[1] or "unknown",
                ship_type=r[2],
                lat_deg=r[3],
                lon_deg=r[4],
                last_seen=records.from_iso(r[5]),
            )
            for r in self._query(sql, params)
        ]

    def vessels_by_mmsi(self, mmsis: Sequence[int]) -> list[Vessel]:
        """The vessels with these MMSIs, latest first."""
        if not mmsis:
            return []
        wanted = json.dumps(sorted(set(mmsis)))
        rows = self._query(
            "SELECT data FROM vessels WHERE mmsi IN "
            "(SELECT value FROM json_each(?)) ORDER BY last_seen DESC",
            (wanted,),
        )
        return [records.vessel_from(json.loads(row[0])) for row in rows]

    def search_vessels(self, text: str, limit: int = 50) -> list[Vessel]:
        """Vessels by name or call sign (holding ``text``), MMSI or IMO (prefix)."""
        words = search_terms(text)
        if words is None:
            return []
        contains, prefix = words
        rows = self._query(
            "SELECT data FROM vessels WHERE CAST(mmsi AS TEXT) LIKE ? ESCAPE '\\' "
            "OR upper(coalesce(json_extract(data, '$.name'), '')) LIKE ? "
            "ESCAPE '\\' "
            "OR upper(coalesce(json_extract(data, '$.callsign'), '')) LIKE ? "
            "ESCAPE '\\' "
            "OR CAST(json_extract(data, '$.imo') AS TEXT) LIKE ? ESCAPE '\\' "
            "ORDER BY last_seen DESC LIMIT ?",
            (prefix, contains, contains, prefix, limit),
        )
        return [records.vessel_from(json.loads(row[0])) for row in rows]

    def positions_in(
        self,
        bbox: tuple[float, float, float, float] | None,
        start: datetime,
        end: datetime,
        limit: int = 100_000,
    ) -> list[PositionReport]:
        """Positions in [start, end] inside ``bbox``, oldest first."""
        sql = (
            "SELECT mmsi, time, lat_deg, lon_deg, speed_kn, course_deg, heading_deg, "
            "nav_status, msg_type, station FROM positions "
            "WHERE time >= ? AND time <= ?"
        )
        params: list[Any] = [_iso(start), _iso(end)]
        if bbox is not None:
            west, south, east, north = bbox
            sql += " AND lon_deg BETWEEN ? AND ? AND lat_deg BETWEEN ? AND ?"
            params += [west, east, south, north]
        sql += " ORDER BY time LIMIT ?"
        params.append(limit)
        return [_position_from(r) for r in self._query(sql, params)]

    def port_calls(
        self,
        start: datetime,
        end: datetime,
        *,
        mmsi: int | None = None,
        harbour_id: str | None = None,
    ) -> list[PortCall]:
        """Port calls in port at some time in [start, end], by arrival."""
        sql = (
            f"SELECT {_PORT_CALL_COLUMNS} FROM port_calls "  # noqa: S608
            "WHERE arrival <= ? AND (departure IS NULL OR departure >= ?)"
        )
        params: list[Any] = [_iso(end), _iso(start)]
        if mmsi is not None:
            sql += " AND mmsi = ?"
            params.append(mmsi)
        if harbour_id is not None:
            sql += " AND harbour_id = ?"
            params.append(harbour_id)
        sql += " ORDER BY arrival, mmsi, harbour_id"
        return [records.port_call_from(row) for row in self._query(sql, params)]

    def station_activity(self, start: datetime, end: datetime) -> list[StationStats]:
        """Position reports stored per station in [start, end), by station."""
        rows = self._query(
            "SELECT station, count(*), min(time), max(time) FROM positions "
            "WHERE time >= ? AND time < ? GROUP BY station ORDER BY station",
            (_iso(start), _iso(end)),
        )
        return [
            StationStats(
                station=r[0],
                messages=r[1],
                first_seen=records.from_iso(r[2]),
                last_seen=records.from_iso(r[3]),
            )
            for r in rows
        ]

    def last_heard(
        self, queries: Sequence[tuple[int, datetime]]
    ) -> list[datetime | None]:
        """Each vessel's latest position time before the instant asked."""
        return [
            records.from_iso(
                self._query(
                    "SELECT max(time) FROM positions WHERE mmsi = ? AND time < ?",
                    (mmsi, _iso(before)),
                )[0][0]
            )
            for mmsi, before in queries
        ]

    def count(self, table: str) -> int:
        """Rows in one of the tables."""
        if table not in (
            "positions",
            "messages",
            "vessels",
            "alerts",
            "stations",
            "port_calls",
        ):
            msg = f"unknown table {table!r}"
            raise StoreError(msg)
        return int(self._query(f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    # The desk's accounts (see store.base.Accounts).

    def add_user(self, name: str, password_hash: str, role: str) -> None:
        """Add a desk account; a taken name raises :class:`StoreError`."""
        now = _iso(datetime.now(UTC))
        try:
            with self._transaction() as cur:
                cur.execute(
                    "INSERT INTO users (name, password_hash, role, created, changed) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, password_hash, role, now, now),
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                msg = f"an account named {name!r} exists"
                raise StoreError(msg) from exc
            raise

    def _update_user(self, name: str, column: str, value: str) -> bool:
        with self._transaction() as cur:
            cur.execute(_UPDATE_USER[column], (value, _iso(datetime.now(UTC)), name))
            return cur.rowcount > 0

    def set_password(self, name: str, password_hash: str) -> bool:
        """Replace an account's password hash; False when there is none."""
        return self._update_user(name, "password_hash", password_hash)

    def set_role(self, name: str, role: str) -> bool:
        """Change an account's role; False when there is none."""
        return self._update_user(name, "role", role)

    def remove_user(self, name: str) -> bool:
        """Remove an account; False when there was none."""
        with self._transaction() as cur:
            cur.execute("DELETE FROM users WHERE name = ?", (name,))
            return cur.rowcount > 0

    def get_user(self, name: str) -> UserRecord | None:
        """One account by name."""
        rows = self._query(
            "SELECT name, password_hash, role, created, changed FROM users "
            "WHERE name = ?",
            (name,),
        )
        return _user_from(rows[0]) if rows else None

    def list_users(self) -> list[UserRecord]:
        """Every account, by name."""
        rows = self._query(
            "SELECT name, password_hash, role, created, changed FROM users "
            "ORDER BY name"
        )
        return [_user_from(row) for row in rows]

    # The delivery outbox (see store.base.Outbox).

    @contextmanager
    def _immediate(self, doing: str) -> Iterator[sqlite3.Cursor]:
        """A write transaction that takes the file's write lock at once.

        Another process claiming from the same file waits (busy_timeout)
        instead of failing on a lock upgrade half-way through.
        """
        with self._lock:
            cursor = self._db.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                cursor.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    cursor.execute("ROLLBACK")
                msg = f"SQLite {doing} on {self.path!r} failed: {exc}"
                raise StoreError(msg) from exc

    def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        """Add messages to the outbox; ids already there are left alone."""
        if not deliveries:
            return 0
        with self._immediate("outbox enqueue") as cur:
            added = _insert_deliveries(cur, deliveries)
        log.debug("outbox: %d of %d messages added", added, len(deliveries))
        return added

    def claim_due_deliveries(
        self,
        now: datetime,
        limit: int,
        *,
        destination: str | None = None,
        lease_s: float = 60.0,
    ) -> list[Delivery]:
        """Take up to ``limit`` due messages, heads of their alert's chain."""
        sql = (
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox o "  # noqa: S608
            "WHERE o.state = 'pending' "
            "AND o.next_attempt_at <= ? "
            "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.alert_id = o.alert_id "
            "AND p.destination = o.destination AND p.seq < o.seq "
            "AND p.state = 'pending')"
        )
        params: list[Any] = [_iso(now)]
        if destination is not None:
            sql += " AND o.destination = ?"
            params.append(destination)
        sql += " ORDER BY o.priority, o.created, o.seq LIMIT ?"
        params.append(limit)
        until = _iso(now + timedelta(seconds=lease_s))
        with self._immediate("outbox claim") as cur:
            claimed = [records.delivery_from(row) for row in cur.execute(sql, params)]
            cur.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? "
                "WHERE id = ?",
                [(until, d.id) for d in claimed],
            )
        for item in claimed:
            item.attempts += 1
            item.next_attempt_at = records.from_iso(until)
        return claimed

    def mark_delivered(self, delivery_id: str, when: datetime) -> None:
        """The destination took the message."""
        with self._immediate("outbox update") as cur:
            cur.execute(
                "UPDATE outbox SET state = 'delivered', delivered_at = ?, "
                "last_error = '' WHERE id = ?",
                (_iso(when), delivery_id),
            )

    def mark_failed(
        self, delivery_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        """Retry at ``next_attempt_at``, or make it a dead letter (None)."""
        with self._immediate("outbox update") as cur:
            if next_attempt_at is None:
                cur.execute(
                    "UPDATE outbox SET state = 'dead', last_error = ? "
                    "WHERE id = ? AND state = 'pending'",
                    (error, delivery_id),
                )
            else:
                cur.execute(
                    "UPDATE outbox SET next_attempt_at = ?, last_error = ? "
                    "WHERE id = ? AND state = 'pending'",
                    (_iso(next_attempt_at), error, delivery_id),
                )

    def dead_letters(self, limit: int = 100) -> list[Delivery]:
        """Messages every attempt failed for, oldest first."""
        return self.deliveries(states=[DeliveryState.DEAD], limit=limit)

    def retry_dead_letter(self, delivery_id: str, now: datetime) -> bool:
        """Make a dead letter pending again with fresh attempts."""
        with self._immediate("outbox retry") as cur:
            cur.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, "
                "next_attempt_at = ? WHERE id = ? AND state = 'dead'",
                (_iso(now), delivery_id),
            )
            return cur.rowcount > 0

    def deliveries(
        self,
        *,
        states: Sequence[DeliveryState] | None = None,
        alert_id: str | None = None,
        destination: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Messages in the outbox, oldest first, filtered as asked."""
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox o WHERE 1=1"  # noqa: S608
        params: list[Any] = []
        if states is not None:
            sql += f" AND o.state IN ({','.join('?' for _ in states)})"
            params += [DeliveryState(s).value for s in states]
        if alert_id is not None:
            sql += " AND o.alert_id = ?"
            params.append(alert_id)
        if destination is not None:
            sql += " AND o.destination = ?"
            params.append(destination)
        sql += " ORDER BY o.created, o.alert_id, o.seq, o.destination LIMIT ?"
        params.append(limit)
        return [records.delivery_from(row) for row in self._query(sql, params)]

    def pending_deliveries(self, destination: str | None = None) -> int:
        """How many messages wait to be delivered."""
        if destination is None:
            rows = self._query("SELECT count(*) FROM outbox WHERE state = 'pending'")
        else:
            rows = self._query(
                "SELECT count(*) FROM outbox WHERE state = 'pending' "
                "AND destination = ?",
                (destination,),
            )
        return int(rows[0][0])


_OUTBOX_COLUMNS = (
    "o.id, o.message_id, o.destination, o.alert_id, o.seq, o.body, "
    "o.content_type, o.created, o.msg_type, o.reference, o.topic, o.priority, "
    "o.state, o.attempts, o.next_attempt_at, o.last_error, o.delivered_at"
)


def _user_from(row: Sequence[Any]) -> UserRecord:
    return UserRecord(
        row[0],
        row[1],
        row[2],
        datetime.fromisoformat(row[3]),
        datetime.fromisoformat(row[4]),
    )


def _insert_deliveries(cur: sqlite3.Cursor, deliveries: Sequence[Delivery]) -> int:
    before = cur.connection.total_changes
    cur.executemany(
        "INSERT INTO outbox (id, message_id, destination, alert_id, seq, msg_type, "
        "reference, priority, created, content_type, topic, body, state, attempts, "
        "next_attempt_at, last_error, delivered_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING",
        [
            (
                d.id,
                d.message_id,
                d.destination,
                d.alert_id,
                d.seq,
                d.msg_type,
                d.reference,
                d.priority,
                _iso(d.created),
                d.content_type,
                d.topic,
                d.body,
                DeliveryState(d.state).value,
                d.attempts,
                _iso(d.next_attempt_at or d.created),
                d.last_error,
                _iso(d.delivered_at),
            )
            for d in deliveries
        ],
    )
    return cur.connection.total_changes - before


_PORT_CALL_COLUMNS = (
    "mmsi, harbour_id, arrival, departure, harbour_name, vessel_name, ship_type, "
    "ship_type_text, positions, station, lat_deg, lon_deg"
)
# The same call comes again as it changes: a departure once known is kept and
# the count of positions only grows, so a batch written twice, or an older
# state of the call written after a newer one, leaves the newest.
_UPSERT_PORT_CALL = (
    f"INSERT INTO port_calls ({_PORT_CALL_COLUMNS}) "  # noqa: S608
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (mmsi, harbour_id, arrival) DO UPDATE SET "
    "departure = coalesce(excluded.departure, port_calls.departure), "
    "positions = max(excluded.positions, port_calls.positions), "
    "vessel_name = coalesce(port_calls.vessel_name, excluded.vessel_name), "
    "ship_type = coalesce(port_calls.ship_type, excluded.ship_type), "
    "ship_type_text = coalesce(port_calls.ship_type_text, excluded.ship_type_text)"
)


def _vessel_filter(
    seen_since: datetime | None, bbox: tuple[float, float, float, float] | None
) -> tuple[str, list[Any]]:
    """The ``AND ...`` conditions of a vessel query, and their parameters."""
    where = ""
    params: list[Any] = []
    if seen_since is not None:
        where += " AND last_seen >= ?"
        params.append(_iso(seen_since))
    if bbox is not None:
        west, south, east, north = bbox
        where += " AND lon_deg BETWEEN ? AND ? AND lat_deg BETWEEN ? AND ?"
        params += [west, east, south, north]
    return where, params


def _port_call_rows(batch: Batch) -> list[tuple[Any, ...]]:
    return [
        (
            c.mmsi,
            c.harbour_id,
            _iso(c.arrival),
            _iso(c.departure),
            c.harbour_name,
            c.vessel_name,
            c.ship_type,
            c.ship_type_text,
            c.positions,
            c.station,
            c.lat_deg,
            c.lon_deg,
        )
        for c in batch.port_calls.values()
    ]


def _position_from(r: Sequence[Any]) -> PositionReport:
    return PositionReport(
        mmsi=r[0],
        time=datetime.fromisoformat(r[1]),
        lat_deg=r[2],
        lon_deg=r[3],
        speed_kn=r[4],
        course_deg=r[5],
        heading_deg=r[6],
        nav_status=r[7],
        msg_type=r[8],
        station=r[9],
    )


def _dumps(data: Any) -> str:
    return json.dumps(data, default=records.json_default, separators=(",", ":"))
