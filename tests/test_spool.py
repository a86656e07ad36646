"""The spool: batches wait on disk while the store is away, bounded, alerts kept."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import recordings
from psycopg_pool import PoolTimeout

from pantaulaut.config import (
    Config,
    DashboardConfig,
    SourceConfig,
    SpoolConfig,
    StoreConfig,
)
from pantaulaut.errors import StoreError
from pantaulaut.model import (
    Alert,
    AlertKind,
    PositionReport,
    Severity,
    StationStats,
    StoredMessage,
    Vessel,
)
from pantaulaut.service import Service, open_service_store
from pantaulaut.store.base import Batch
from pantaulaut.store.spool import (
    Spool,
    SpoolEntry,
    SpoolingStore,
    batch_entries,
    batch_from_entries,
    is_retryable,
)
from pantaulaut.store.sqlite import SqliteStore

START = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)


def position(
    n: int, mmsi: int = 525000001, station: str = "SMP-KALIANGET"
) -> PositionReport:
    return PositionReport(
        mmsi, START + timedelta(seconds=n), -7.05, 113.95 + n * 1e-4, 8.0, 90.0,
        None, 0, 1, station,
    )  # fmt: skip


def alert(n: int) -> Alert:
    return Alert(
        f"sart-{n}",
        AlertKind.SART_ACTIVE,
        Severity.CRITICAL,
        START + timedelta(seconds=n),
        mmsi=970000000 + n,
        evidence=["!AIVDM,1,1,,A,x,0*00"],
    )


def history(
    first: int,
    count: int,
    mmsi: int = 525000001,
    station: str = "SMP-KALIANGET",
) -> Batch:
    return Batch(positions=[position(first + i, mmsi, station) for i in range(count)])


class FlakyStore(SqliteStore):
    """A SQLite store whose server can be "away", and which refuses an MMSI."""

    def __init__(self, path: str = ":memory:") -> None:
        super().__init__(path)
        self.away = False
        self.refused_mmsi: int | None = None
        self.writes = 0

    def write(self, batch: Batch) -> None:
        if self.away:
            try:
                raise sqlite3.OperationalError("unable to open database file")
            except sqlite3.OperationalError as exc:
                raise StoreError("the store is away") from exc
        if self.refused_mmsi is not None and any(
            p.mmsi == self.refused_mmsi for p in batch.positions
        ):
            raise StoreError(f"value out of range: {self.refused_mmsi}")
        self.writes += 1
        super().write(batch)


def positions_in(store: SqliteStore) -> list[tuple[int, str]]:
    return [
        (int(r[0]), str(r[1]))
        for r in store._query("SELECT mmsi, time FROM positions ORDER BY rowid")
    ]


@pytest.fixture
def flaky() -> FlakyStore:
    return FlakyStore()


# --- the spool file ----------------------------------------------------------------


def test_a_batch_survives_the_spool_and_a_reopen(tmp_path: Path) -> None:
    vessel = Vessel(525000001, name="SUMEKAR", last_seen=START, position_time=START)
    station = StationStats("SMP-KALIANGET", lines=3, rejected={"checksum_mismatch": 1})
    message = StoredMessage(START, 525000001, 1, "SMP-KALIANGET", "!AIVDM", {"a": 1})
    batch = Batch(
        positions=[position(0), position(1)],
        messages=[message],
        vessels={vessel.mmsi: vessel},
        alerts={"sart-1": alert(1)},
        stations={station.station: station},
    )
    spool = Spool(tmp_path / "s.spool", 10_000_000)
    spool.append(batch_entries(batch))
    spool.close()
    again = Spool(tmp_path / "s.spool", 10_000_000)
    again.open()
    assert (len(again), again.rows) == (5, 6)
    back = batch_from_entries([e.entry for e in again.head(1000)])
    assert back == batch
    again.close()


def test_no_file_until_something_must_wait(tmp_path: Path) -> None:
    store = SpoolingStore(FlakyStore(), Spool(tmp_path / "s.spool", 1_000_000))
    store.write(history(0, 10))
    assert not (tmp_path / "s.spool").exists()
    store.close()


def test_latest_state_replaces_the_one_before(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.spool", 10_000_000)
    for n in range(3):
        vessel = Vessel(525000001, name=f"NAME {n}")
        spool.append(batch_entries(Batch(vessels={vessel.mmsi: vessel})))
    (only,) = spool.head(100)
    assert batch_from_entries([only.entry]).vessels[525000001].name == "NAME 2"
    spool.close()


def test_a_second_process_cannot_take_the_same_spool(tmp_path: Path) -> None:
    first = Spool(tmp_path / "s.spool", 1_000_000)
    first.open()
    with pytest.raises(StoreError, match="in use by another process"):
        Spool(tmp_path / "s.spool", 1_000_000).open()
    first.close()
    Spool(tmp_path / "s.spool", 1_000_000).open()


def test_at_the_bound_oldest_positions_go_first_and_alerts_never(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path / "s.spool", 30_000)
    with caplog.at_level(logging.WARNING, logger="pantaulaut.store.spool"):
        for n in range(20):
            spool.append(batch_entries(history(100 * n, 50)))
            spool.append(batch_entries(Batch(alerts={f"a{n}": alert(n)})))
    kept = batch_from_entries([e.entry for e in spool.head(10**6)])
    assert len(kept.alerts) == 20  # every alert, whatever the bound
    assert spool.dropped["positions"] > 0
    assert spool.dropped["positions"] + len(kept.positions) == 20 * 50
    # What is left is the newest: the oldest went first.
    assert kept.positions[-1] == position(100 * 19 + 49)
    assert min(p.time for p in kept.positions) > START
    assert spool.dropped_stations["SMP-KALIANGET"] == spool.dropped["positions"]
    assert spool.bytes <= 30_000
    warnings = [r.getMessage() for r in caplog.records]
    assert any(
        "dropped the oldest 50 positions from 2026-06-17T00:00:00+00:00" in w
        for w in warnings
    ), warnings
    spool.close()


def test_alerts_beyond_the_bound_are_kept_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path / "s.spool", 2_000)
    with caplog.at_level(logging.WARNING, logger="pantaulaut.store.spool"):
        spool.append(
            batch_entries(Batch(alerts={f"a{n}": alert(n) for n in range(10)}))
        )
    assert spool.queued() == {"alerts": 10}
    assert spool.bytes > 2_000
    assert "never dropped" in caplog.text
    spool.close()


def test_retryable_errors_are_told_from_refusals() -> None:
    def wrapped(cause: BaseException) -> StoreError:
        try:
            raise cause
        except BaseException as exc:
            try:
                raise StoreError("failed") from exc
            except StoreError as error:
                return error

    assert is_retryable(wrapped(PoolTimeout("couldn't get a connection")))
    assert is_retryable(wrapped(psycopg.OperationalError("connection refused")))
    assert is_retryable(wrapped(psycopg.errors.AdminShutdown()))
    assert is_retryable(wrapped(sqlite3.OperationalError("database is locked")))
    assert not is_retryable(wrapped(psycopg.errors.NumericValueOutOfRange()))
    assert not is_retryable(wrapped(psycopg.errors.InvalidPassword()))
    assert not is_retryable(StoreError("value out of range"))


# --- the spooling store -------------------------------------------------------------


def test_batches_wait_while_the_store_is_away_then_arrive_in_order(
    tmp_path: Path, flaky: FlakyStore, caplog: pytest.LogCaptureFixture
) -> None:
    store = SpoolingStore(flaky, Spool(tmp_path / "s.spool", 10_000_000), retry_s=0.05)
    store.write(history(0, 10))
    flaky.away = True
    with caplog.at_level(logging.WARNING, logger="pantaulaut.store.spool"):
        for n in range(1, 6):
            store.write(history(100 * n, 10))
    store.write(Batch(alerts={"sart-1": alert(1)}))
    assert store.spooling
    assert "spooling to" in caplog.text
    assert store.spool.rows == 51
    flaky.away = False
    assert store.wait_drained(10.0)
    store.write(history(1000, 10))  # straight through again
    expected = [0, *range(100, 600, 100), 1000]
    times = [int((START + timedelta(seconds=s)).timestamp()) for s in expected]
    got = positions_in(flaky)
    assert len(got) == 70
    assert [datetime.fromisoformat(t).timestamp() for _, t in got[::10]] == times
    assert flaky.count("alerts") == 1
    assert len(store.spool) == 0
    store.close()


def test_a_full_spool_drops_positions_but_delivers_every_alert(
    tmp_path: Path, flaky: FlakyStore
) -> None:
    store = SpoolingStore(flaky, Spool(tmp_path / "s.spool", 40_000), retry_s=0.05)
    flaky.away = True
    for n in range(30):
        store.write(history(100 * n, 40))
        store.write(Batch(alerts={f"sart-{n}": alert(n)}))
    stats = store.stats()
    assert stats["dropped"]["positions"] > 0
    flaky.away = False
    assert store.wait_drained(10.0)
    assert flaky.count("alerts") == 30
    assert flaky.count("positions") == 30 * 40 - stats["dropped"]["positions"]
    store.close()


def test_a_refused_record_is_kept_aside_and_the_rest_written(
    tmp_path: Path, flaky: FlakyStore, caplog: pytest.LogCaptureFixture
) -> None:
    store = SpoolingStore(flaky, Spool(tmp_path / "s.spool", 10_000_000))
    flaky.refused_mmsi = 525000099
    batch = history(0, 16)
    batch.positions[5] = position(5, mmsi=525000099)
    batch.alerts["sart-1"] = alert(1)
    with caplog.at_level(logging.ERROR, logger="pantaulaut.store.spool"):
        store.write(batch)
    assert flaky.count("positions") == 15
    assert flaky.count("alerts") == 1
    assert store.spool.refused() == 1
    assert "value out of range: 525000099" in caplog.text
    assert not store.spooling
    store.close()


def test_a_store_away_at_start_is_opened_later(tmp_path: Path) -> None:
    attempts: list[int] = []
    real = FlakyStore()

    def opener() -> FlakyStore:
        attempts.append(1)
        if len(attempts) < 3:
            try:
                raise sqlite3.OperationalError("unable to open database file")
            except sqlite3.OperationalError as exc:
                raise StoreError("cannot open") from exc
        return real

    store = SpoolingStore.open(
        opener,
        Spool(tmp_path / "s.spool", 1_000_000),
        retry_s=0.05,
        store_type=FlakyStore,
    )
    assert store.spooling
    with pytest.raises(StoreError, match="not been reachable"):
        store.vessels()
    store.write(history(0, 5))
    assert store.wait_drained(10.0)
    assert real.count("positions") == 5
    store.close()


def test_a_refused_login_stops_the_start(tmp_path: Path) -> None:
    def opener() -> SqliteStore:
        raise StoreError("password authentication failed")

    with pytest.raises(StoreError, match="password"):
        SpoolingStore.open(opener, Spool(tmp_path / "s.spool", 1_000_000))


def test_what_is_left_at_stop_is_written_by_the_next_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.spool"
    first = FlakyStore(str(tmp_path / "a.db"))
    store = SpoolingStore(first, Spool(path, 1_000_000), retry_s=0.05)
    first.away = True
    store.write(history(0, 7))
    with caplog.at_level(logging.WARNING, logger="pantaulaut.store.spool"):
        store.close(drain_wait_s=0.1)
    assert "7 positions still wait" in caplog.text
    second = FlakyStore(str(tmp_path / "a.db"))
    store = SpoolingStore(second, Spool(path, 1_000_000), retry_s=0.05)
    assert store.wait_drained(10.0)
    assert second.count("positions") == 7
    store.close()


def test_a_worker_leaves_station_counts_to_the_router(
    tmp_path: Path, flaky: FlakyStore
) -> None:
    store = SpoolingStore(
        flaky, Spool(tmp_path / "s.spool", 1_000_000), write_stations=False
    )
    store.write(Batch(stations={"S": StationStats("S", lines=1)}))
    assert flaky.count("stations") == 0
    store.close()


def test_methods_beyond_the_protocol_pass_through(
    tmp_path: Path, flaky: FlakyStore
) -> None:
    store = SpoolingStore(flaky, Spool(tmp_path / "s.spool", 1_000_000))
    assert store.pending_deliveries() == 0  # the outbox is the store's
    with pytest.raises(AttributeError):
        store.no_such_method()
    store.close()


def test_written_behind_in_order_and_flush_waits_for_it(
    tmp_path: Path, flaky: FlakyStore
) -> None:
    store = SpoolingStore(
        flaky, Spool(tmp_path / "s.spool", 1_000_000), background=True
    )
    for n in range(20):
        store.write(history(10 * n, 10))
    assert store.flush(10.0)
    got = positions_in(flaky)
    assert len(got) == 200
    assert got == sorted(got, key=lambda row: row[1])
    store.close()


def test_the_writer_stores_the_batch_as_it_was_handed_over(
    tmp_path: Path, flaky: FlakyStore
) -> None:
    store = SpoolingStore(
        flaky, Spool(tmp_path / "s.spool", 1_000_000), background=True
    )
    vessel = Vessel(525000001, name="BEFORE", last_seen=START)
    stats = StationStats("S", lines=1)
    store.write(Batch(vessels={vessel.mmsi: vessel}, stations={"S": stats}))
    # The pipeline goes on changing its live records at once.
    vessel.name = "AFTER"
    stats.rejected["checksum_mismatch"] = 5
    assert store.flush(10.0)
    stored = flaky.vessel(525000001)
    assert stored is not None
    assert stored.name == "BEFORE"
    assert flaky.stations()[0].rejected == {}
    store.close()


# --- the service's flush path --------------------------------------------------------


def test_the_service_keeps_every_position_through_a_store_outage(
    tmp_path: Path,
) -> None:
    lines = recordings.positions(vessels=20, reports=30)
    path = tmp_path / "feed.nmea"
    path.write_text("\n".join(lines) + "\n")
    flaky = FlakyStore(str(tmp_path / "live.db"))
    config = Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'live.db'}"),
        dashboard=DashboardConfig(enabled=False),
        spool=SpoolConfig(dir=str(tmp_path / "spool")),
        sources=(SourceConfig(name="file", kind="file", path=str(path), speed=300.0),),
    )
    service = Service(config, store=flaky)
    assert isinstance(service.store, SpoolingStore)
    service.store.retry_s = 0.05

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.sleep(0.3)
        flaky.away = True
        await asyncio.sleep(0.6)
        assert service.store.spooling
        flaky.away = False
        for _ in range(100):
            if service.pipeline.stream.messages >= len(lines):
                break
            await asyncio.sleep(0.1)
        stop.set()
        await task

    asyncio.run(scenario())
    assert service.store.wait_drained(10.0)
    assert flaky.count("positions") == len(lines)
    assert (tmp_path / "spool" / "store-all.spool").exists()
    report = service.report()
    assert report["spool"]["store"]["spooled_batches"] > 0
    assert report["spool"]["store"]["dropped"] == {}
    service.close()


def test_the_service_store_is_spooled_beside_the_sqlite_file(tmp_path: Path) -> None:
    config = Config(store=StoreConfig(url=f"sqlite:///{tmp_path / 'x' / 'p.db'}"))
    store = open_service_store(config)
    assert store.spool.path == tmp_path / "x" / "store-all.spool"
    store.close()


def test_entries_of_unknown_kind_are_left_out(tmp_path: Path) -> None:
    batch = batch_from_entries([SpoolEntry("nonsense", b"{}")])
    assert batch.is_empty()
