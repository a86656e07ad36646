"""What the PostgreSQL store does beyond the contract: migrations, TimescaleDB
detection, hypertables, retention, errors.

Runs against the servers of ``scripts/services`` (see ``conftest.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pantaulaut.errors import ConfigError, StoreError
from pantaulaut.model import PositionReport, StoredMessage, Vessel
from pantaulaut.store import postgres
from pantaulaut.store.base import Batch, open_store
from pantaulaut.store.postgres import PostgresStore

pytestmark = pytest.mark.services

NOW = datetime.now(UTC).replace(microsecond=0)


def position(mmsi: int, age: timedelta) -> PositionReport:
    return PositionReport(
        mmsi=mmsi,
        time=NOW - age,
        lat_deg=-7.05,
        lon_deg=113.95,
        speed_kn=8.0,
        course_deg=90.0,
        heading_deg=None,
        nav_status=0,
        msg_type=1,
        station="SMP-KALIANGET",
    )


def message(mmsi: int, age: timedelta) -> StoredMessage:
    return StoredMessage(NOW - age, mmsi, 1, "SMP-KALIANGET", "!AIVDM,...", {})


def history(mmsi: int = 525000001) -> Batch:
    """Positions and messages 40, 20 and 10 days old, and one hour old."""
    ages = [timedelta(days=d) for d in (40, 20, 10)] + [timedelta(hours=1)]
    return Batch(
        positions=[position(mmsi, age) for age in ages],
        messages=[message(mmsi, age) for age in ages],
    )


@pytest.fixture
def opened() -> Iterator[Callable[..., PostgresStore]]:
    """Opens stores and closes them after the test."""
    stores: list[PostgresStore] = []

    def open_(url: str, **options: Any) -> PostgresStore:
        store = PostgresStore(url, **options)
        stores.append(store)
        return store

    yield open_
    for store in stores:
        store.close()


def rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


# --- plain PostgreSQL --------------------------------------------------------


def test_plain_postgresql_is_detected_without_timescaledb(
    postgres_schema_url: str, opened: Callable[..., PostgresStore]
) -> None:
    store = opened(postgres_schema_url)
    assert store.features.timescaledb is None
    assert store.features.licence is None
    assert not store.features.hypertables
    assert "without TimescaleDB" in store.features.describe()


def test_open_store_opens_postgresql_and_postgres_urls(
    postgres_schema_url: str,
) -> None:
    for url in (
        postgres_schema_url,
        postgres_schema_url.replace("postgresql://", "postgres://", 1),
    ):
        store = open_store(url)
        try:
            assert isinstance(store, PostgresStore)
        finally:
            store.close()


def test_migrations_run_once_and_keep_the_data(
    postgres_schema_url: str, opened: Callable[..., PostgresStore]
) -> None:
    first = opened(postgres_schema_url)
    first.write(history())
    first.close()
    again = opened(postgres_schema_url)
    assert again.count("positions") == 4
    versions = rows(postgres_schema_url, "SELECT version FROM schema_migrations")
    assert versions == [(v,) for v, _, _ in postgres.MIGRATIONS]


def test_stores_opening_at_once_migrate_once(postgres_schema_url: str) -> None:
    # Several workers share one database; the advisory lock serialises them.
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            stores.append(PostgresStore(postgres_schema_url))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    assert rows(postgres_schema_url, "SELECT count(*) FROM schema_migrations") == [
        (len(postgres.MIGRATIONS),)
    ]


def test_a_schema_from_a_newer_version_is_refused(
    postgres_schema_url: str, opened: Callable[..., PostgresStore]
) -> None:
    opened(postgres_schema_url).close()
    with psycopg.connect(postgres_schema_url) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'x')")
    with pytest.raises(StoreError, match=r"\[999\].*upgrade pantaulaut"):
        PostgresStore(postgres_schema_url)


def test_requiring_timescaledb_on_plain_postgresql_fails(
    postgres_schema_url: str,
) -> None:
    with pytest.raises(StoreError, match="TimescaleDB was required"):
        PostgresStore(postgres_schema_url, timescaledb=True)


def test_plain_postgresql_retention_deletes_old_rows(
    postgres_schema_url: str, opened: Callable[..., PostgresStore]
) -> None:
    store = opened(postgres_schema_url, retention_days=15)
    store.enforce_retention()  # nothing yet; no error on empty tables
    with psycopg.connect(postgres_schema_url) as conn, conn.cursor() as cur:
        # Written behind the store's back, so its own schedule does not run.
        for p in history().positions:
            cur.execute(
                "INSERT INTO positions (time, mmsi, lat_deg, lon_deg, msg_type, "
                "station) VALUES (%s, %s, 0, 0, 1, 'x')",
                (p.time, p.mmsi),
            )
    removed = store.enforce_retention()
    assert removed == {"positions": 2, "messages": 0}
    kept = store.track(525000001, NOW - timedelta(days=100), NOW)
    assert [NOW - p.time for p in kept] == [timedelta(days=10), timedelta(hours=1)]


def test_retention_runs_on_its_own_schedule_after_writes(
    postgres_schema_url: str, opened: Callable[..., PostgresStore]
) -> None:
    store = opened(postgres_schema_url, retention_days=15, retention_interval_s=3600)
    store.write(history())  # the first batch runs it
    assert store.count("positions") == 2
    store.write(history())  # within the hour: not again
    assert store.count("positions") == 6


def test_a_failed_batch_stores_nothing_and_says_where(
    postgres_schema_url: str, opened: Callable[..., PostgresStore]
) -> None:
    store = opened(postgres_schema_url)
    ferry = Vessel(mmsi=525000001, last_seen=NOW)
    # The positions are copied first, then the upsert fails on the server:
    # 2**40 does not fit the vessels' mmsi column. Nothing may stay.
    bad = Vessel(mmsi=2**40, last_seen=NOW)
    batch = Batch(positions=history().positions, vessels={1: ferry, 2: bad})
    with pytest.raises(StoreError) as caught:
        store.write(batch)
    text = str(caught.value)
    assert "write of 4 positions, 0 messages, 2 vessels" in text
    assert "SQLSTATE 22003" in text  # numeric_value_out_of_range
    assert store.where in text
    assert "pantaulaut_test:" not in text  # no password
    assert store.count("positions") == 0
    assert store.count("vessels") == 0
    store.write(Batch(vessels={ferry.mmsi: ferry}))  # the pool is still usable
    assert store.count("vessels") == 1


def test_integers_a_column_cannot_hold_are_refused_not_wrapped(
    postgres_schema_url: str, opened: Callable[..., PostgresStore]
) -> None:
    store = opened(postgres_schema_url)
    with pytest.raises(StoreError, match="out of range"):
        store.write(Batch(positions=[position(2**32 + 5, timedelta(0))]))
    assert store.count("positions") == 0


def test_one_info_line_per_batch(
    postgres_schema_url: str,
    opened: Callable[..., PostgresStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = opened(postgres_schema_url)
    with caplog.at_level(logging.INFO, logger="pantaulaut.store.postgres"):
        store.write(history())
    lines = [r for r in caplog.records if r.name == "pantaulaut.store.postgres"]
    assert len(lines) == 1
    assert lines[0].levelno == logging.INFO
    assert "wrote 4 positions, 4 messages" in lines[0].getMessage()


def test_nul_characters_do_not_cost_the_batch(
    postgres_schema_url: str, opened: Callable[..., PostgresStore]
) -> None:
    store = opened(postgres_schema_url)
    hostile = StoredMessage(NOW, 525000001, 1, "S\x00", "!AIVDM\x00", {"t": "a\x00"})
    store.write(Batch(messages=[hostile]))
    (kept,) = store.messages(525000001)
    assert (kept.station, kept.raw, kept.fields) == (
        "S\ufffd",
        "!AIVDM\ufffd",
        {"t": "a\ufffd"},
    )


def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    # Port 1 on loopback: nothing listens there.
    url = "postgresql://pantaulaut:s3cret@127.0.0.1:1/pantaulaut?connect_timeout=2"
    with pytest.raises(StoreError) as caught:
        PostgresStore(url, timeout_s=2)
    assert "pantaulaut@127.0.0.1:1/pantaulaut" in str(caught.value)
    assert "Connection refused" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_an_invalid_url_names_the_key_without_the_password() -> None:
    with pytest.raises(ConfigError, match=r"store\.url") as caught:
        open_store("postgresql://pantaulaut:s3cret@127.0.0.1/db?nosuchparameter=1")
    assert "s3cret" not in str(caught.value)


def test_a_refused_login_says_who_where_and_why(postgres_url: str) -> None:
    # Whatever the server's authentication method, an unknown role is refused.
    url = postgres_url.replace("pantaulaut_test:pantaulaut_test@", "nobody:x@", 1)
    with pytest.raises(StoreError) as caught:
        PostgresStore(url, timeout_s=2)
    text = str(caught.value)
    assert "PostgreSQL open on nobody@127.0.0.1:5432/" in text
    assert "nobody" in text.split("failed", 1)[1]


# --- TimescaleDB -----------------------------------------------------------


def hypertables(url: str) -> dict[str, timedelta]:
    if not rows(url, "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"):
        return {}
    return dict(
        rows(
            url,
            "SELECT hypertable_name, time_interval "
            "FROM timescaledb_information.dimensions WHERE column_name = 'time'",
        )
    )


def chunks(url: str, table: str) -> int:
    return len(rows(url, "SELECT show_chunks(%s::regclass)", table))


def test_timescaledb_is_detected_with_its_licence(
    timescale_database_url: str, opened: Callable[..., PostgresStore]
) -> None:
    store = opened(timescale_database_url)
    expected = rows(
        timescale_database_url,
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
    )
    assert store.features.timescaledb == expected[0][0]
    # Debian's build (what scripts/services runs) is the Apache-licensed one.
    assert store.features.licence == "apache"
    assert store.features.hypertables
    assert not store.features.policies
    assert "(apache licence)" in store.features.describe()
    # Detection holds when the extension already exists (a second open).
    assert opened(timescale_database_url).features == store.features


def test_positions_and_messages_are_hypertables_of_one_day_chunks(
    timescale_database_url: str, opened: Callable[..., PostgresStore]
) -> None:
    opened(timescale_database_url)
    assert hypertables(timescale_database_url) == {
        "positions": timedelta(days=1),
        "messages": timedelta(days=1),
    }
    indexes = {
        name
        for (name,) in rows(
            timescale_database_url,
            "SELECT indexname FROM pg_indexes WHERE tablename = 'positions'",
        )
    }
    assert {"positions_mmsi_time", "positions_time"} <= indexes


def test_timescaledb_retention_drops_old_chunks(
    timescale_database_url: str, opened: Callable[..., PostgresStore]
) -> None:
    store = opened(timescale_database_url, retention_days=15)
    with psycopg.connect(timescale_database_url) as conn, conn.cursor() as cur:
        # Behind the store's back, so that its own schedule does not run first.
        for p in history().positions:
            cur.execute(
                "INSERT INTO positions (time, mmsi, lat_deg, lon_deg, msg_type, "
                "station) VALUES (%s, %s, 0, 0, 1, 'x')",
                (p.time, p.mmsi),
            )
    assert chunks(timescale_database_url, "positions") == 4
    removed = store.enforce_retention()
    assert removed == {"positions": 2, "messages": 0}
    assert chunks(timescale_database_url, "positions") == 2
    kept = store.track(525000001, NOW - timedelta(days=100), NOW)
    assert [NOW - p.time for p in kept] == [timedelta(days=10), timedelta(hours=1)]


def test_timescaledb_retention_runs_after_a_write(
    timescale_database_url: str, opened: Callable[..., PostgresStore]
) -> None:
    store = opened(timescale_database_url, retention_days=15)
    store.write(history())
    assert chunks(timescale_database_url, "positions") == 2
    assert chunks(timescale_database_url, "messages") == 2
    assert store.count("messages") == 2


def test_plain_tables_become_hypertables_with_their_history(
    timescale_database_url: str, opened: Callable[..., PostgresStore]
) -> None:
    plain = opened(timescale_database_url, timescaledb=False)
    assert plain.features.timescaledb is None
    plain.write(history())
    plain.close()
    assert hypertables(timescale_database_url) == {}
    upgraded = opened(timescale_database_url)
    assert upgraded.features.hypertables
    assert set(hypertables(timescale_database_url)) == {"positions", "messages"}
    assert upgraded.count("positions") == 4
    assert chunks(timescale_database_url, "positions") == 4


def test_a_role_that_may_not_enable_timescaledb_gets_plain_tables(
    timescale_url: str,
    timescale_database_url: str,
    opened: Callable[..., PostgresStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # TimescaleDB is a trusted extension: a role with CREATE on the database
    # may enable it. This role may create tables in public, nothing more.
    role = f"pl_role_{timescale_database_url.rsplit('_', 1)[-1]}"
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        with psycopg.connect(timescale_database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(role))
            )
        url = timescale_database_url.replace("postgres@", f"{role}@", 1)
        with caplog.at_level(logging.WARNING, logger="pantaulaut.store.postgres"):
            store = opened(url)
        assert store.features.timescaledb is None
        assert "could not be enabled" in caplog.text
        store.write(history())
        assert store.count("positions") == 4
        store.close()
    finally:
        with psycopg.connect(timescale_database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with psycopg.connect(timescale_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


class _LicenceProbe:
    """A connection that runs each statement in a savepoint and records the
    errors, so that every statement of the Timescale-licence set-up reaches
    the server even where the Apache build refuses the one before."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.refused: list[tuple[str, str]] = []
        self.ran: list[str] = []

    def execute(self, query: Any, params: Any = None) -> Any:
        text = query.as_string(self.conn) if hasattr(query, "as_string") else query
        self.ran.append(text)
        try:
            with self.conn.transaction():
                return self.conn.execute(query, params)
        except psycopg.Error as exc:
            self.refused.append((text, f"{exc.sqlstate}: {exc}"))
            return self.conn.execute("SELECT 1 WHERE false")


def test_timescale_licence_setup_calls_functions_that_exist(
    timescale_database_url: str, opened: Callable[..., PostgresStore]
) -> None:
    # No Timescale-licensed server runs here, so the policy set-up runs
    # against the Apache build: every statement must get as far as the
    # licence check, proving names, arguments and views are right.
    opened(timescale_database_url)
    with psycopg.connect(timescale_database_url) as conn:
        probe = _LicenceProbe(conn)
        postgres._set_policies(probe, retention_days=30, compress_after_days=7)  # type: ignore[arg-type]
        conn.rollback()
    assert any("add_retention_policy" in q for q in probe.ran)
    assert any("add_compression_policy" in q for q in probe.ran)
    assert probe.refused
    for query, error in probe.refused:
        assert "license" in error, (query, error)
