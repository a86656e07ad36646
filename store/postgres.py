"""The production store: PostgreSQL, and TimescaleDB when the server has it.

One schema serves three kinds of server, detected when the store opens:

* **TimescaleDB, Timescale licence**: ``positions`` and ``messages`` are
  hypertables with one-day chunks; chunks are compressed after
  ``compress_after_days`` (segmented by MMSI, so a vessel's track stays
  cheap to read) and dropped after ``retention_days`` by the extension's own
  background jobs (``add_compression_policy``, ``add_retention_policy``).
* **TimescaleDB, Apache licence** (what Debian packages): hypertables as
  above, but compression and policies are not part of that build, so the
  store drops old chunks itself (``drop_chunks``) at most once an hour, after
  a batch is written.
* **Plain PostgreSQL**: ordinary tables; old rows are deleted on the same
  hourly schedule.

When the server offers the extension (``pg_available_extensions``) but this
database lacks it, the store runs ``CREATE EXTENSION timescaledb``; that
needs CREATE on the database (TimescaleDB is a trusted extension). If it is
refused, or the library is not in ``shared_preload_libraries``, the store
logs a warning and keeps to plain tables; a later open converts them, with
their rows, once the extension is there.

The schema is created by versioned migrations recorded in
``schema_migrations``; they run in one transaction under an advisory lock,
so several workers can start at once. Tables are created in the first schema
of the connection's ``search_path`` (set it with
``?options=-csearch_path%3Dname`` in the URL to keep several stores in one
database).

Positions and messages are written with binary ``COPY``; vessels, alerts and
stations are upserted. A batch is one transaction. Times are ``timestamptz``
and every session runs in UTC.
"""

from __future__ import annotations

import json
import logging
import time as monotonic_clock
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from pantaulaut.errors import ConfigError, StoreError
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

__all__ = ["MIGRATIONS", "PostgresStore", "ServerFeatures"]

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key for migrations and TimescaleDB set-up: "PANTAULA"
# in ASCII, so that it is recognisable in pg_locks.
_LOCK_KEY = 0x50414E5441554C41

# One day per chunk: a regency's day of positions is a few hundred thousand
# rows at most, and retention then trims with a granularity of one day.
_CHUNK_INTERVAL = timedelta(days=1)

_HYPERTABLES = ("positions", "messages")
_INT4 = (-(2**31), 2**31 - 1)
_INT2 = (-(2**15), 2**15 - 1)
_TABLES = ("positions", "messages", "vessels", "alerts", "stations", "port_calls")

MIGRATIONS: tuple[tuple[int, str, LiteralString], ...] = (
    (
        1,
        "positions, messages, vessels, alerts, stations",
        """
        CREATE TABLE IF NOT EXISTS positions (
            time timestamptz NOT NULL,
            mmsi integer NOT NULL,
            lat_deg double precision NOT NULL,
            lon_deg double precision NOT NULL,
            speed_kn double precision,
            course_deg double precision,
            heading_deg double precision,
            nav_status smallint,
            msg_type smallint NOT NULL,
            station text NOT NULL
        );
        -- A vessel's track; also DISTINCT ON (mmsi) for latest positions.
        CREATE INDEX IF NOT EXISTS positions_mmsi_time
            ON positions (mmsi, time DESC);
        -- Time-range scans and retention on plain PostgreSQL; TimescaleDB
        -- uses it as the hypertable's time index.
        CREATE INDEX IF NOT EXISTS positions_time ON positions (time DESC);

        CREATE TABLE IF NOT EXISTS messages (
            time timestamptz NOT NULL,
            mmsi integer NOT NULL,
            msg_type smallint NOT NULL,
            station text NOT NULL,
            raw text NOT NULL,
            fields jsonb NOT NULL
        );
        CREATE INDEX IF NOT EXISTS messages_mmsi_time
            ON messages (mmsi, time DESC);
        CREATE INDEX IF NOT EXISTS messages_time ON messages (time DESC);

        -- The latest state of every vessel, one row each: the live map reads
        -- this instead of scanning positions.
        CREATE TABLE IF NOT EXISTS vessels (
            mmsi integer PRIMARY KEY,
            last_seen timestamptz,
            lat_deg double precision,
            lon_deg double precision,
            data jsonb NOT NULL
        );
        CREATE INDEX IF NOT EXISTS vessels_last_seen
            ON vessels (last_seen DESC NULLS LAST);

        CREATE TABLE IF NOT EXISTS alerts (
            id text PRIMARY KEY,
            kind text NOT NULL,
            severity text NOT NULL,
            severity_rank smallint NOT NULL,
            state text NOT NULL,
            time timestamptz NOT NULL,
            mmsi integer,
            data jsonb NOT NULL
        );
        CREATE INDEX IF NOT EXISTS alerts_state
            ON alerts (state, severity_rank, time DESC);

        CREATE TABLE IF NOT EXISTS stations (
            station text PRIMARY KEY,
            data jsonb NOT NULL
        );
        """,
    ),
    (
        2,
        "delivery outbox",
        """
        -- Messages for 112 (CAP or JSON, per destination) until delivered;
        -- see store.base.Outbox.
        CREATE TABLE IF NOT EXISTS outbox (
            id text PRIMARY KEY,
            message_id text NOT NULL,
            destination text NOT NULL,
            alert_id text NOT NULL,
            seq integer NOT NULL,
            msg_type text NOT NULL,
            reference text NOT NULL,
            priority smallint NOT NULL,
            created timestamptz NOT NULL,
            content_type text NOT NULL,
            topic text NOT NULL,
            body text NOT NULL,
            state text NOT NULL,
            attempts integer NOT NULL,
            next_attempt_at timestamptz NOT NULL,
            last_error text NOT NULL,
            delivered_at timestamptz
        );
        -- Due messages; delivered ones are the bulk and stay out of it.
        CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at)
            WHERE state = 'pending';
        CREATE INDEX IF NOT EXISTS outbox_chain
            ON outbox (alert_id, destination, seq);
        CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, created);
        """,
    ),
    (
        3,
        "port calls",
        """
        -- Arrivals and departures at harbours (geofence.portcalls); an open
        -- call (departure NULL) is upserted again when the vessel leaves.
        CREATE TABLE IF NOT EXISTS port_calls (
            mmsi integer NOT NULL,
            harbour_id text NOT NULL,
            arrival timestamptz NOT NULL,
            departure timestamptz,
            harbour_name text NOT NULL,
            vessel_name text,
            ship_type smallint,
            ship_type_text text,
            positions integer NOT NULL,
            station text,
            lat_deg double precision,
            lon_deg double precision,
            PRIMARY KEY (mmsi, harbour_id, arrival)
        );
        CREATE INDEX IF NOT EXISTS port_calls_arrival ON port_calls (arrival);
        """,
    ),
    (
        4,
        "desk accounts",
        """
        -- Log-in accounts of the desk; password_hash is an argon2id PHC
        -- string, role is viewer, operator or admin.
        CREATE TABLE IF NOT EXISTS users (
            name text PRIMARY KEY,
            password_hash text NOT NULL,
            role text NOT NULL,
            created timestamptz NOT NULL DEFAULT now(),
            changed timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
)

_COPY_POSITIONS: LiteralString = (
    "COPY positions (time, mmsi, lat_deg, lon_deg, speed_kn, course_deg, "
    "heading_deg, nav_status, msg_type, station) FROM STDIN (FORMAT BINARY)"
)
_POSITION_TYPES = [
    "timestamptz",
    "int4",
    "float8",
    "float8",
    "float8",
    "float8",
    "float8",
    "int2",
    "int2",
    "text",
]
_COPY_MESSAGES: LiteralString = (
    "COPY messages (time, mmsi, msg_type, station, raw, fields) "
    "FROM STDIN (FORMAT BINARY)"
)
_MESSAGE_TYPES = ["timestamptz", "int4", "int2", "text", "text", "jsonb"]

_UPSERT_VESSEL: LiteralString = (
    "INSERT INTO vessels (mmsi, last_seen, lat_deg, lon_deg, data) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (mmsi) DO UPDATE SET "
    "last_seen = excluded.last_seen, lat_deg = excluded.lat_deg, "
    "lon_deg = excluded.lon_deg, data = excluded.data"
)
_UPSERT_ALERT: LiteralString = (
    "INSERT INTO alerts (id, kind, severity, severity_rank, state, time, mmsi, "
    "data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
    "severity = excluded.severity, severity_rank = excluded.severity_rank, "
    "state = excluded.state, data = excluded.data"
)
_UPSERT_STATION: LiteralString = (
    "INSERT INTO stations (station, data) VALUES (%s, %s) "
    "ON CONFLICT (station) DO UPDATE SET data = excluded.data"
)


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    """What the server offers, as detected when the store opened.

    Attributes:
        server_version: ``server_version_num``, such as 170012.
        timescaledb: Version of the TimescaleDB extension in this database,
            such as ``2.19.3``; None on plain PostgreSQL.
        licence: ``timescaledb.license``: ``apache`` (hypertables and
            ``time_bucket``) or ``timescale`` (also compression, continuous
            aggregates and policies); None without the extension.
    """

    server_version: int
    timescaledb: str | None = None
    licence: str | None = None

    @property
    def hypertables(self) -> bool:
        """Positions and messages are hypertables."""
        return self.timescaledb is not None

    @property
    def policies(self) -> bool:
        """Compression and retention run as TimescaleDB background jobs."""
        return self.licence == "timescale"

    def describe(self) -> str:
        """One phrase for the logs, such as ``TimescaleDB 2.19.3 (apache)``."""
        if self.timescaledb is None:
            return f"PostgreSQL {self.server_version // 10000} without TimescaleDB"
        return f"TimescaleDB {self.timescaledb} ({self.licence or 'unknown'} licence)"


class PostgresStore:
    """Store in PostgreSQL, using TimescaleDB when the server has it.

    Args:
        url: ``postgresql://user:password@host:port/database`` (or
            ``postgres://``); any libpq parameter may follow as a query.
        retention_days: Keep positions and messages this many days; 0 keeps
            them for ever. Vessels, alerts and stations are never trimmed:
            an incident's record outlives the track that led to it.
        compress_after_days: With the Timescale licence, compress chunks
            older than this.
        timescaledb: True to require the extension (open fails without it),
            False to use plain tables even where it is available, None to
            use it when the server offers it.
        pool_size: Most connections held open at once.
        timeout_s: How long to wait for a connection before failing.
        retention_interval_s: How often the store trims old history itself
            (Apache licence and plain PostgreSQL).

    Attributes:
        where: ``user@host:port/database``, for messages (no password).
        features: What the server offered when the store opened.
    """

    def __init__(
        self,
        url: str,
        *,
        retention_days: int = 0,
        compress_after_days: int = 7,
        timescaledb: bool | None = None,
        pool_size: int = 4,
        timeout_s: float = 30.0,
        retention_interval_s: float = 3600.0,
    ) -> None:
        if retention_days < 0:
            raise ConfigError("store.retention_days", retention_days, "0 or more")
        self.where = _describe_url(url)
        try:
            given = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise ConfigError(
                "store.url",
                self.where,
                f"a libpq connection URI such as postgresql://user@host/db ({exc})",
            ) from exc
        self.retention_days = retention_days
        self.compress_after_days = compress_after_days
        self._retention_interval_s = retention_interval_s
        self._last_retention: float | None = None
        kwargs: dict[str, Any] = {}
        if "application_name" not in given:
            # Lets a DBA see in pg_stat_activity whose connections these are.
            kwargs["application_name"] = "pantaulaut"
        if "connect_timeout" not in given:
            # libpq would otherwise wait for ever on an unreachable host.
            kwargs["connect_timeout"] = max(2, round(timeout_s))
        try:
            # One plain connection first: its error says what is wrong
            # (refused, authentication, no such database), where the pool
            # would only report a timeout.
            with psycopg.connect(url, **kwargs) as conn:
                _configure(conn)
                self.features = _prepare(
                    conn, timescaledb, retention_days, compress_after_days
                )
        except psycopg.Error as exc:
            raise _store_error("open", self.where, exc) from exc
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs=kwargs,
            configure=_configure,
            # A connection broken by a server restart is replaced on checkout
            # instead of failing the next batch.
            check=ConnectionPool.check_connection,
            timeout=timeout_s,
            name="pantaulaut",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=timeout_s)
        except psycopg.Error as exc:
            self._pool.close()
            raise _store_error("open", self.where, exc) from exc
        log.info("opened PostgreSQL store %s: %s", self.where, self.features.describe())

    @classmethod
    def from_url(cls, url: str, **options: Any) -> PostgresStore:
        """Open a ``postgresql://`` or ``postgres://`` URL.

        Args:
            url: The ``store.url`` setting.
            **options: Keyword arguments of the class.

        Raises:
            ConfigError: The URL is not a valid libpq connection URI.
            StoreError: The server cannot be reached or refused the schema.
        """
        return cls(url, **options)

    @contextmanager
    def _connection(self, doing: str) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise _store_error(doing, self.where, exc) from exc

    def _query(
        self, query: LiteralString | sql.SQL | sql.Composed, params: Any = ()
    ) -> Any:
        with self._connection("query") as conn:
            return conn.execute(query, params).fetchall()

    def write(self, batch: Batch) -> None:
        """Store a batch in one transaction.

        Raises:
            StoreError: Nothing of the batch was stored.
        """
        if batch.is_empty():
            return
        started = monotonic_clock.monotonic()
        what = (
            f"write of {len(batch.positions)} positions, {len(batch.messages)} "
            f"messages, {len(batch.vessels)} vessels, {len(batch.alerts)} alerts"
        )
        with self._connection(what) as conn, conn.transaction(), conn.cursor() as cur:
            if batch.positions:
                with cur.copy(_COPY_POSITIONS) as copy:
                    copy.set_types(_POSITION_TYPES)
                    for p in batch.positions:
                        _check_ints(p, p.mmsi, p.nav_status, p.msg_type)
                        copy.write_row(
                            (
                                p.time,
                                p.mmsi,
                                p.lat_deg,
                                p.lon_deg,
                                p.speed_kn,
                                p.course_deg,
                                p.heading_deg,
                                p.nav_status,
                                p.msg_type,
                                _text(p.station),
                            )
                        )
            if batch.messages:
                with cur.copy(_COPY_MESSAGES) as copy:
                    copy.set_types(_MESSAGE_TYPES)
                    for m in batch.messages:
                        _check_ints(m, m.mmsi, 0, m.msg_type)
                        copy.write_row(
                            (
                                m.time,
                                m.mmsi,
                                m.msg_type,
                                _text(m.station),
                                _text(m.raw),
                                _jsonb(m.fields),
                            )
                        )
            if batch.vessels:
                cur.executemany(
                    _UPSERT_VESSEL,
                    [
                        (
                            v.mmsi,
                            v.last_seen,
                            v.lat_deg,
                            v.lon_deg,
                            _jsonb(records.fields_of(v)),
                        )
                        for v in batch.vessels.values()
                    ],
                )
            if batch.alerts:
                cur.executemany(
                    _UPSERT_ALERT,
                    [
                        (
                            a.id,
                            a.kind.value,
                            a.severity.value,
                            a.severity.rank,
                            a.state.value,
                            a.time,
                            a.mmsi,
                            _jsonb(records.fields_of(a)),
                        )
                        for a in batch.alerts.values()
                    ],
                )
            if batch.stations:
                cur.executemany(
                    _UPSERT_STATION,
                    [
                        (_text(s.station), _jsonb(records.fields_of(s)))
                        for s in batch.stations.values()
                    ],
                )
            if batch.deliveries:
                cur.executemany(_INSERT_DELIVERY, _delivery_rows(batch.deliveries))
            if batch.port_calls:
                cur.executemany(_UPSERT_PORT_CALL, _port_call_rows(batch))
        log.info(
            "wrote %d positions, %d messages, %d vessels, %d alerts, %d stations "
            "to %s in %.3f s",
            len(batch.positions),
            len(batch.messages),
            len(batch.vessels),
            len(batch.alerts),
            len(batch.stations),
            self.where,
            monotonic_clock.monotonic() - started,
        )
        self._retention_if_due()

    def _retention_if_due(self) -> None:
        if self.retention_days == 0 or self.features.policies:
            return
        now = monotonic_clock.monotonic()
        if (
            self._last_retention is not None
            and now - self._last_retention < self._retention_interval_s
        ):
            return
        self._last_retention = now
        try:
            self.enforce_retention()
        except StoreError as exc:
            # The batch is stored; trimming is retried at the next interval.
            log.warning("retention on %s failed: %s", self.where, exc)

    def enforce_retention(self, now: datetime | None = None) -> dict[str, int]:
        """Remove positions and messages older than ``retention_days`` now.

        TimescaleDB drops whole chunks that end before the cut-off (so up to
        a day more than asked may stay); plain PostgreSQL deletes rows.

        Args:
            now: The clock to measure age from; the current time if None.

        Returns:
            Per table, the chunks dropped (TimescaleDB) or rows deleted.

        Raises:
            StoreError: The server refused.
        """
        if self.retention_days == 0:
            return {}
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.retention_days)
        removed: dict[str, int] = {}
        with self._connection("retention") as conn, conn.transaction():
            for table in _HYPERTABLES:
                if self.features.hypertables:
                    rows = conn.execute(
                        "SELECT drop_chunks(%s::regclass, older_than => %s)",
                        (table, cutoff),
                    ).fetchall()
                    removed[table] = len(rows)
                else:
                    cur = conn.execute(
                        sql.SQL("DELETE FROM {} WHERE time < %s").format(
                            sql.Identifier(table)
                        ),
                        (cutoff,),
                    )
                    removed[table] = max(cur.rowcount, 0)
        unit = "chunks dropped" if self.features.hypertables else "rows deleted"
        log.info(
            "retention on %s: before %s, %s: %s",
            self.where,
            cutoff.isoformat(timespec="seconds"),
            unit,
            ", ".join(f"{table} {n}" for table, n in removed.items()),
        )
        return removed

    def vessels(
        self,
        *,
        seen_since: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int | None = None,
    ) -> list[Vessel]:
        """Vessels, latest first, optionally within a time and a box."""
        conditions, params = _vessel_filter(sql.SQL("TRUE"), seen_since, bbox)
        query = sql.SQL(
            "SELECT data FROM vessels WHERE {} ORDER BY last_seen DESC NULLS LAST"
        ).format(sql.SQL(" AND ").join(conditions))
        if limit is not None:
            query = sql.SQL("{} LIMIT %s").format(query)
            params.append(limit)
        return [records.vessel_from(row[0]) for row in self._query(query, params)]

    def vessel(self, mmsi: int) -> Vessel | None:
        """One vessel by MMSI."""
        rows = self._query("SELECT data FROM vessels WHERE mmsi = %s", (mmsi,))
        return records.vessel_from(rows[0][0]) if rows else None

    def track(self, mmsi: int, start: datetime, end: datetime) -> list[PositionReport]:
        """A vessel's positions in [start, end], oldest first."""
        rows = self._query(
            "SELECT mmsi, time, lat_deg, lon_deg, speed_kn, course_deg, heading_deg, "
            "nav_status, msg_type, station FROM positions "
            "WHERE mmsi = %s AND time >= %s AND time <= %s ORDER BY time",
            (mmsi, start, end),
        )
        return [_position_from(r) for r in rows]

    def messages(self, mmsi: int, limit: int = 100) -> list[StoredMessage]:
        """A vessel's latest decoded messages with their raw sentences."""
        rows = self._query(
            "SELECT time, mmsi, msg_type, station, raw, fields FROM messages "
            "WHERE mmsi = %s ORDER BY time DESC LIMIT %s",
            (mmsi, limit),
        )
        return [StoredMessage(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def alerts(
        self, *, states: Sequence[AlertState] = (AlertState.OPEN,), limit: int = 200
    ) -> list[Alert]:
        """Alerts in the given states, most severe first, then newest."""
        rows = self._query(
            "SELECT data FROM alerts WHERE state = ANY(%s) "
            "ORDER BY severity_rank, time DESC LIMIT %s",
            ([s.value for s in states], limit),
        )
        return [records.alert_from(r[0]) for r in rows]

    def stations(self) -> list[StationStats]:
        """Per-station statistics, by station name."""
        rows = self._query("SELECT data FROM stations ORDER BY station")
        return [records.station_from(r[0]) for r in rows]

    def vessel_marks(
        self,
        *,
        seen_since: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> list[Vessel]:
        """Vessels with a position: identity, class, type, place and time only."""
        placed = sql.SQL("lat_deg IS NOT NULL AND lon_deg IS NOT NULL")
        conditions, params = _vessel_filter(placed, seen_since, bbox)
        query = sql.SQL(
            "SELECT mmsi, data->>'vessel_class', (data->>'ship_type')::integer, "
            "lat_deg, lon_deg, last_seen FROM vessels WHERE {} "
            "ORDER BY last_seen DESC NULLS LAST"
        ).format(sql.SQL(" AND ").join(conditions))
        return [
            Vessel(
                mmsi=r[0],
                vessel_class=r[1] or "unknown",
                ship_type=r[2],
                lat_deg=r[3],
                lon_deg=r[4],
                last_seen=r[5],
            )
            for r in self._query(query, params)
        ]

    def vessels_by_mmsi(self, mmsis: Sequence[int]) -> list[Vessel]:
        """The vessels with these MMSIs, latest first."""
        if not mmsis:
            return []
        rows = self._query(
            "SELECT data FROM vessels WHERE mmsi = ANY(%s) "
            "ORDER BY last_seen DESC NULLS LAST",
            (sorted(set(mmsis)),),
        )
        return [records.vessel_from(row[0]) for row in rows]

    def search_vessels(self, text: str, limit: int = 50) -> list[Vessel]:
        """Vessels by name or call sign (holding ``text``), MMSI or IMO (prefix)."""
        words = search_terms(text)
        if words is None:
            return []
        contains, prefix = words
        rows = self._query(
            "SELECT data FROM vessels WHERE mmsi::text LIKE %s ESCAPE '\\' "
            "OR upper(coalesce(data->>'name', '')) LIKE %s ESCAPE '\\' "
            "OR upper(coalesce(data->>'callsign', '')) LIKE %s ESCAPE '\\' "
            "OR coalesce(data->>'imo', '') LIKE %s ESCAPE '\\' "
            "ORDER BY last_seen DESC NULLS LAST LIMIT %s",
            (prefix, contains, contains, prefix, limit),
        )
        return [records.vessel_from(row[0]) for row in rows]

    def positions_in(
        self,
        bbox: tuple[float, float, float, float] | None,
        start: datetime,
        end: datetime,
        limit: int = 100_000,
    ) -> list[PositionReport]:
        """Positions in [start, end] inside ``bbox``, oldest first."""
        query = (
            "SELECT mmsi, time, lat_deg, lon_deg, speed_kn, course_deg, heading_deg, "
            "nav_status, msg_type, station FROM positions "
            "WHERE time >= %s AND time <= %s"
        )
        params: list[Any] = [start, end]
        if bbox is not None:
            west, south, east, north = bbox
            query += " AND lon_deg BETWEEN %s AND %s AND lat_deg BETWEEN %s AND %s"
            params += [west, east, south, north]
        query += " ORDER BY time LIMIT %s"
        params.append(limit)
        return [_position_from(r) for r in self._query(query, params)]

    def port_calls(
        self,
        start: datetime,
        end: datetime,
        *,
        mmsi: int | None = None,
        harbour_id: str | None = None,
    ) -> list[PortCall]:
        """Port calls in port at some time in [start, end], by arrival."""
        conditions: list[sql.Composable] = [
            sql.SQL("arrival <= %s AND (departure IS NULL OR departure >= %s)")
        ]
        params: list[Any] = [end, start]
        if mmsi is not None:
            conditions.append(sql.SQL("mmsi = %s"))
            params.append(mmsi)
        if harbour_id is not None:
            conditions.append(sql.SQL("harbour_id = %s"))
            params.append(harbour_id)
        query = sql.SQL(
            "SELECT {} FROM port_calls WHERE {} ORDER BY arrival, mmsi, harbour_id"
        ).format(sql.SQL(_PORT_CALL_COLUMNS), sql.SQL(" AND ").join(conditions))
        return [records.port_call_from(row) for row in self._query(query, params)]

    def station_activity(self, start: datetime, end: datetime) -> list[StationStats]:
        """Position reports stored per station in [start, end), by station."""
        rows = self._query(
            "SELECT station, count(*), min(time), max(time) FROM positions "
            "WHERE time >= %s AND time < %s GROUP BY station ORDER BY station",
            (start, end),
        )
        return [
            StationStats(station=r[0], messages=r[1], first_seen=r[2], last_seen=r[3])
            for r in rows
        ]

    def last_heard(
        self, queries: Sequence[tuple[int, datetime]]
    ) -> list[datetime | None]:
        """Each vessel's latest position time before the instant asked."""
        if not queries:
            return []
        rows = self._query(
            "SELECT q.n, p.time FROM unnest(%s::integer[], %s::timestamptz[]) "
            "WITH ORDINALITY AS q(mmsi, before, n) LEFT JOIN LATERAL ("
            "SELECT time FROM positions WHERE positions.mmsi = q.mmsi "
            "AND positions.time < q.before ORDER BY time DESC LIMIT 1"
            ") AS p ON true ORDER BY q.n",
            ([m for m, _ in queries], [b for _, b in queries]),
        )
        return [r[1] for r in rows]

    def count(self, table: str) -> int:
        """Rows in one of the tables."""
        if table not in _TABLES:
            msg = f"unknown table {table!r}"
            raise StoreError(msg)
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        return int(self._query(query)[0][0])

    def close(self) -> None:
        """Close every connection of the pool."""
        self._pool.close()

    # The delivery outbox (see store.base.Outbox).

    def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        """Add messages to the outbox; ids already there are left alone."""
        if not deliveries:
            return 0
        added = 0
        with (
            self._connection("outbox enqueue") as conn,
            conn.transaction(),
            conn.cursor() as cur,
        ):
            for row in _delivery_rows(deliveries):
                cur.execute(_INSERT_DELIVERY, row)
                added += max(cur.rowcount, 0)
        return added

    def claim_due_deliveries(
        self,
        now: datetime,
        limit: int,
        *,
        destination: str | None = None,
        lease_s: float = 60.0,
    ) -> list[Delivery]:
        """Take up to ``limit`` due messages, heads of their alert's chain.

        ``FOR UPDATE SKIP LOCKED``: workers claiming at the same moment take
        different messages instead of waiting for each other.
        """
        until = now + timedelta(seconds=lease_s)
        query = sql.SQL(
            "WITH due AS (SELECT o.id FROM outbox o WHERE o.state = 'pending' "
            "AND o.next_attempt_at <= %s {} "
            "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.alert_id = o.alert_id "
            "AND p.destination = o.destination AND p.seq < o.seq "
            "AND p.state = 'pending') "
            "ORDER BY o.priority, o.created, o.seq LIMIT %s "
            "FOR UPDATE OF o SKIP LOCKED) "
            "UPDATE outbox o SET attempts = o.attempts + 1, next_attempt_at = %s "
            "FROM due WHERE o.id = due.id RETURNING {}"
        ).format(
            sql.SQL("AND o.destination = %s" if destination is not None else ""),
            sql.SQL(_OUTBOX_COLUMNS),
        )
        params: list[Any] = [now]
        if destination is not None:
            params.append(destination)
        params += [limit, until]
        with self._connection("outbox claim") as conn, conn.transaction():
            rows = conn.execute(query, params).fetchall()
        claimed = [records.delivery_from(row) for row in rows]
        claimed.sort(key=lambda d: (d.priority, d.created, d.seq))
        return claimed

    def mark_delivered(self, delivery_id: str, when: datetime) -> None:
        """The destination took the message."""
        with self._connection("outbox update") as conn, conn.transaction():
            conn.execute(
                "UPDATE outbox SET state = 'delivered', delivered_at = %s, "
                "last_error = '' WHERE id = %s",
                (when, delivery_id),
            )

    def mark_failed(
        self, delivery_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        """Retry at ``next_attempt_at``, or make it a dead letter (None)."""
        with self._connection("outbox update") as conn, conn.transaction():
            if next_attempt_at is None:
                conn.execute(
                    "UPDATE outbox SET state = 'dead', last_error = %s "
                    "WHERE id = %s AND state = 'pending'",
                    (_text(error), delivery_id),
                )
            else:
                conn.execute(
                    "UPDATE outbox SET next_attempt_at = %s, last_error = %s "
                    "WHERE id = %s AND state = 'pending'",
                    (next_attempt_at, _text(error), delivery_id),
                )

    def dead_letters(self, limit: int = 100) -> list[Delivery]:
        """Messages every attempt failed for, oldest first."""
        return self.deliveries(states=[DeliveryState.DEAD], limit=limit)

    def retry_dead_letter(self, delivery_id: str, now: datetime) -> bool:
        """Make a dead letter pending again with fresh attempts."""
        with self._connection("outbox retry") as conn, conn.transaction():
            cur = conn.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, "
                "next_attempt_at = %s WHERE id = %s AND state = 'dead'",
                (now, delivery_id),
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
        conditions: list[sql.Composable] = [sql.SQL("TRUE")]
        params: list[Any] = []
        if states is not None:
            conditions.append(sql.SQL("o.state = ANY(%s)"))
            params.append([DeliveryState(s).value for s in states])
        if alert_id is not None:
            conditions.append(sql.SQL("o.alert_id = %s"))
            params.append(alert_id)
        if destination is not None:
            conditions.append(sql.SQL("o.destination = %s"))
            params.append(destination)
        query = sql.SQL(
            "SELECT {} FROM outbox o WHERE {} "
            "ORDER BY o.created, o.alert_id, o.seq, o.destination LIMIT %s"
        ).format(sql.SQL(_OUTBOX_COLUMNS), sql.SQL(" AND ").join(conditions))
        params.append(limit)
        return [records.delivery_from(row) for row in self._query(query, params)]

    def pending_deliveries(self, destination: str | None = None) -> int:
        """How many messages wait to be delivered."""
        if destination is None:
            rows = self._query("SELECT count(*) FROM outbox WHERE state = 'pending'")
        else:
            rows = self._query(
                "SELECT count(*) FROM outbox WHERE state = 'pending' "
                "AND destination = %s",
                (destination,),
            )
        return int(rows[0][0])

    # The desk's accounts (see store.base.Accounts).

    def add_user(self, name: str, password_hash: str, role: str) -> None:
        """Add a desk account; a taken name raises :class:`StoreError`."""
        try:
            with self._connection("add account") as conn:
                conn.execute(
                    "INSERT INTO users (name, password_hash, role) VALUES (%s, %s, %s)",
                    (name, password_hash, role),
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                msg = f"an account named {name!r} exists"
                raise StoreError(msg) from exc
            raise

    def set_password(self, name: str, password_hash: str) -> bool:
        """Replace an account's password hash; False when there is none."""
        with self._connection("change password") as conn:
            cur = conn.execute(
                "UPDATE users SET password_hash = %s, changed = now() WHERE name = %s",
                (password_hash, name),
            )
            return cur.rowcount > 0

    def set_role(self, name: str, role: str) -> bool:
        """Change an account's role; False when there is none."""
        with self._connection("change role") as conn:
            cur = conn.execute(
                "UPDATE users SET role = %s, changed = now() WHERE name = %s",
                (role, name),
            )
            return cur.rowcount > 0

    def remove_user(self, name: str) -> bool:
        """Remove an account; False when there was none."""
        with self._connection("remove account") as conn:
            cur = conn.execute("DELETE FROM users WHERE name = %s", (name,))
            return cur.rowcount > 0

    def get_user(self, name: str) -> UserRecord | None:
        """One account by name."""
        rows = self._query(
            "SELECT name, password_hash, role, created, changed FROM users "
            "WHERE name = %s",
            (name,),
        )
        return UserRecord(*rows[0]) if rows else None

    def list_users(self) -> list[UserRecord]:
        """Every account, by name."""
        rows = self._query(
            "SELECT name, password_hash, role, created, changed FROM users "
            "ORDER BY name"
        )
        return [UserRecord(*row) for row in rows]


_OUTBOX_COLUMNS: LiteralString = (
    "o.id, o.message_id, o.destination, o.alert_id, o.seq, o.body, "
    "o.content_type, o.created, o.msg_type, o.reference, o.topic, o.priority, "
    "o.state, o.attempts, o.next_attempt_at, o.last_error, o.delivered_at"
)
_INSERT_DELIVERY: LiteralString = (
    "INSERT INTO outbox (id, message_id, destination, alert_id, seq, msg_type, "
    "reference, priority, created, content_type, topic, body, state, attempts, "
    "next_attempt_at, last_error, delivered_at) VALUES "
    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (id) DO NOTHING"
)


def _delivery_rows(deliveries: Sequence[Delivery]) -> list[tuple[Any, ...]]:
    return [
        (
            _text(d.id),
            _text(d.message_id),
            _text(d.destination),
            _text(d.alert_id),
            d.seq,
            d.msg_type,
            _text(d.reference),
            d.priority,
            d.created,
            d.content_type,
            _text(d.topic),
            _text(d.body),
            DeliveryState(d.state).value,
            d.attempts,
            d.next_attempt_at or d.created,
            _text(d.last_error),
            d.delivered_at,
        )
        for d in deliveries
    ]


_PORT_CALL_COLUMNS: LiteralString = (
    "mmsi, harbour_id, arrival, departure, harbour_name, vessel_name, ship_type, "
    "ship_type_text, positions, station, lat_deg, lon_deg"
)
# A departure once known is kept and the count of positions only grows, so a
# batch written again after an outage, or an older state of a call written
# after a newer one, leaves the newest.
_UPSERT_PORT_CALL: LiteralString = (
    "INSERT INTO port_calls (mmsi, harbour_id, arrival, departure, harbour_name, "
    "vessel_name, ship_type, ship_type_text, positions, station, lat_deg, lon_deg) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (mmsi, harbour_id, arrival) DO UPDATE SET "
    "departure = coalesce(excluded.departure, port_calls.departure), "
    "positions = greatest(excluded.positions, port_calls.positions), "
    "vessel_name = coalesce(port_calls.vessel_name, excluded.vessel_name), "
    "ship_type = coalesce(port_calls.ship_type, excluded.ship_type), "
    "ship_type_text = coalesce(port_calls.ship_type_text, excluded.ship_type_text)"
)


def _position_from(r: Sequence[Any]) -> PositionReport:
    """A row of the positions' ten columns, in the order the queries name them."""
    return PositionReport(
        mmsi=r[0],
        time=r[1],
        lat_deg=r[2],
        lon_deg=r[3],
        speed_kn=r[4],
        course_deg=r[5],
        heading_deg=r[6],
        nav_status=r[7],
        msg_type=r[8],
        station=r[9],
    )


def _vessel_filter(
    first: sql.Composable,
    seen_since: datetime | None,
    bbox: tuple[float, float, float, float] | None,
) -> tuple[list[sql.Composable], list[Any]]:
    """A vessel query's conditions and their parameters.

    ``first``, then the time and the box when given.
    """
    conditions: list[sql.Composable] = [first]
    params: list[Any] = []
    if seen_since is not None:
        conditions.append(sql.SQL("last_seen >= %s"))
        params.append(seen_since)
    if bbox is not None:
        west, south, east, north = bbox
        conditions.append(
            sql.SQL("lon_deg BETWEEN %s AND %s AND lat_deg BETWEEN %s AND %s")
        )
        params += [west, east, south, north]
    return conditions, params


def _port_call_rows(batch: Batch) -> list[tuple[Any, ...]]:
    return [
        (
            c.mmsi,
            _text(c.harbour_id),
            c.arrival,
            c.departure,
            _text(c.harbour_name),
            None if c.vessel_name is None else _text(c.vessel_name),
            c.ship_type,
            c.ship_type_text,
            c.positions,
            None if c.station is None else _text(c.station),
            c.lat_deg,
            c.lon_deg,
        )
        for c in batch.port_calls.values()
    ]


def _configure(conn: psycopg.Connection[Any]) -> None:
    # Times come back as UTC datetimes whatever the server's TimeZone is.
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()


def _prepare(
    conn: psycopg.Connection[Any],
    timescaledb: bool | None,
    retention_days: int,
    compress_after_days: int,
) -> ServerFeatures:
    """Migrate the schema and set up TimescaleDB, under one advisory lock."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        _migrate(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        features = _detect(conn, timescaledb)
        if features.hypertables:
            _make_hypertables(conn, features)
        if features.policies:
            _set_policies(conn, retention_days, compress_after_days)
    return features


def _migrate(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version integer PRIMARY KEY, name text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    known = {version for version, _, _ in MIGRATIONS}
    if done - known:
        # Written by a newer pantaulaut: refuse rather than misread it.
        msg = (
            f"the database schema has migrations {sorted(done - known)} that this "
            f"version of pantaulaut does not know (it knows up to {max(known)}); "
            "upgrade pantaulaut"
        )
        raise StoreError(msg)
    for version, name, statements in MIGRATIONS:
        if version in done:
            continue
        conn.execute(statements)
        conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
            (version, name),
        )
        log.info("applied schema migration %d: %s", version, name)


def _detect(conn: psycopg.Connection[Any], timescaledb: bool | None) -> ServerFeatures:
    server_version = int(conn.execute("SHOW server_version_num").fetchall()[0][0])
    if timescaledb is False:
        return ServerFeatures(server_version)
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchall()
    if available and not _extension_version(conn):
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except psycopg.Error as exc:
            # Typically not preloaded (shared_preload_libraries) or not allowed
            # for this role: the store still works in plain tables.
            if timescaledb:
                raise
            log.warning(
                "TimescaleDB is installed on the server but could not be enabled "
                "(%s); using plain PostgreSQL tables",
                str(exc).strip(),
            )
    version = _extension_version(conn)
    if version is None:
        if timescaledb:
            msg = "TimescaleDB was required but the server does not offer it"
            raise StoreError(msg)
        return ServerFeatures(server_version)
    licence = conn.execute(
        "SELECT current_setting('timescaledb.license', true)"
    ).fetchall()[0][0]
    return ServerFeatures(server_version, version, licence or None)


def _extension_version(conn: psycopg.Connection[Any]) -> str | None:
    rows = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchall()
    return str(rows[0][0]) if rows else None


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _make_hypertables(conn: psycopg.Connection[Any], features: ServerFeatures) -> None:
    for table in _HYPERTABLES:
        exists = conn.execute(
            "SELECT 1 FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = current_schema() AND hypertable_name = %s",
            (table,),
        ).fetchall()
        if exists:
            continue
        # migrate_data: a store that began on plain tables keeps its history
        # when the extension is added later. The time index exists already.
        if _version_tuple(features.timescaledb or "0") >= (2, 13):
            conn.execute(
                "SELECT create_hypertable(%s::regclass, by_range('time', %s), "
                "create_default_indexes => false, if_not_exists => true, "
                "migrate_data => true)",
                (table, _CHUNK_INTERVAL),
            )
        else:
            conn.execute(
                "SELECT create_hypertable(%s::regclass, 'time', "
                "chunk_time_interval => %s, create_default_indexes => false, "
                "if_not_exists => true, migrate_data => true)",
                (table, _CHUNK_INTERVAL),
            )
        log.info("made %s a hypertable (chunks of %d day)", table, _CHUNK_INTERVAL.days)


def _set_policies(
    conn: psycopg.Connection[Any], retention_days: int, compress_after_days: int
) -> None:
    """Compression and retention as TimescaleDB jobs (Timescale licence only)."""
    for table in _HYPERTABLES:
        compressed = conn.execute(
            "SELECT compression_enabled FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = current_schema() AND hypertable_name = %s",
            (table,),
        ).fetchall()
        if not (compressed and compressed[0][0]):
            # Segmenting by MMSI keeps one vessel's rows together, so a
            # track read from a compressed chunk decompresses only them.
            conn.execute(
                sql.SQL(
                    "ALTER TABLE {} SET (timescaledb.compress, "
                    "timescaledb.compress_segmentby = 'mmsi', "
                    "timescaledb.compress_orderby = 'time DESC')"
                ).format(sql.Identifier(table))
            )
        conn.execute(
            "SELECT add_compression_policy(%s::regclass, compress_after => %s, "
            "if_not_exists => true)",
            (table, timedelta(days=compress_after_days)),
        )
        current = conn.execute(
            "SELECT (config ->> 'drop_after')::interval FROM "
            "timescaledb_information.jobs WHERE proc_name = 'policy_retention' "
            "AND hypertable_schema = current_schema() AND hypertable_name = %s",
            (table,),
        ).fetchall()
        wanted = timedelta(days=retention_days) if retention_days else None
        if current and current[0][0] == wanted:
            continue
        if current:
            # add_retention_policy keeps an existing policy whatever its
            # interval, so a changed setting replaces it.
            conn.execute(
                "SELECT remove_retention_policy(%s::regclass, if_exists => true)",
                (table,),
            )
        if wanted is not None:
            conn.execute(
                "SELECT add_retention_policy(%s::regclass, drop_after => %s)",
                (table, wanted),
            )
            log.info("retention policy on %s: drop chunks after %s", table, wanted)


def _check_ints(
    record: PositionReport | StoredMessage,
    mmsi: int,
    small: int | None,
    msg_type: int,
) -> None:
    """Refuse integers the COPY columns cannot hold.

    Binary COPY sends integers at the column's width without a range check,
    so an out-of-range value would be stored wrapped around, silently.
    """
    if not (
        _INT4[0] <= mmsi <= _INT4[1]
        and (small is None or _INT2[0] <= small <= _INT2[1])
        and _INT2[0] <= msg_type <= _INT2[1]
    ):
        msg = f"value out of range for the store's integer columns: {record!r}"
        raise StoreError(msg)


def _describe_url(url: str) -> str:
    """``user@host:port/db`` for messages: never the password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable PostgreSQL URL>"
    user = str(info.get("user") or "")
    host = info.get("host") or "localhost"
    port = info.get("port") or 5432
    database = info.get("dbname") or user or "?"
    return f"{user + '@' if user else ''}{host}:{port}/{database}"


def _store_error(doing: str, where: str, exc: psycopg.Error) -> StoreError:
    code = f" [SQLSTATE {exc.sqlstate}]" if exc.sqlstate else ""
    detail = str(exc).strip() or type(exc).__name__
    msg = f"PostgreSQL {doing} on {where} failed{code}: {detail}"
    return StoreError(msg)


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; one hostile byte must not cost a batch.
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _dumps(data: Any) -> str:
    text = json.dumps(data, default=records.json_default, separators=(",", ":"))
    # jsonb rejects the \u0000 escape, for the same reason as _text.
    return text.replace("\\u0000", "\\ufffd")


def _jsonb(data: Any) -> Jsonb:
    return Jsonb(data, dumps=_dumps)
