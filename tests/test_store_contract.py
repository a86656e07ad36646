"""The store contract: every backend must pass these.

SQLite (file and memory), plain PostgreSQL and TimescaleDB: the server
backends come from ``scripts/services`` (see ``conftest.py``); each test gets
an empty schema or database of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pantaulaut.model import (
    Alert,
    AlertKind,
    AlertState,
    PortCall,
    PositionReport,
    Severity,
    StationStats,
    StoredMessage,
    Vessel,
)
from pantaulaut.store.base import Batch, Store, open_store

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)

# Each backend gives the URL of an empty store; the server backends ask for
# the fixture that makes their schema or database, so that only their tests
# skip (or fail under CI) when the server is missing.
BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite-file": lambda request, tmp: f"sqlite:///{tmp / 'contract.db'}",
    "sqlite-memory": lambda request, tmp: "sqlite://:memory:",
    "postgres": lambda request, tmp: request.getfixturevalue("postgres_schema_url"),
    "timescaledb": lambda request, tmp: request.getfixturevalue(
        "timescale_database_url"
    ),
}
SERVER_BACKENDS = {"postgres", "timescaledb"}


@pytest.fixture(
    params=[
        pytest.param(
            name, marks=[pytest.mark.services] if name in SERVER_BACKENDS else []
        )
        for name in sorted(BACKENDS)
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(BACKENDS[request.param](request, tmp_path))
    yield opened
    opened.close()


def position(
    mmsi: int, minutes: int, lat: float = -7.1, lon: float = 114.0
) -> PositionReport:
    return PositionReport(
        mmsi=mmsi,
        time=T0 + timedelta(minutes=minutes),
        lat_deg=lat,
        lon_deg=lon,
        speed_kn=None,
        course_deg=123.4,
        heading_deg=None,
        nav_status=0,
        msg_type=1,
        station="SMP-KALIANGET",
    )


def test_track_returns_positions_in_time_order_within_the_window(store: Store) -> None:
    batch = Batch(positions=[position(525000001, m) for m in (5, 1, 3, 9)])
    store.write(batch)
    track = store.track(525000001, T0 + timedelta(minutes=2), T0 + timedelta(minutes=8))
    assert [p.time for p in track] == [T0 + timedelta(minutes=m) for m in (3, 5)]
    assert track[0].speed_kn is None
    assert track[0].course_deg == pytest.approx(123.4)
    assert track[0].time.tzinfo is not None


def test_vessels_are_upserted_and_filtered(store: Store) -> None:
    ferry = Vessel(mmsi=525000001, name="SUMEKAR", lat_deg=-7.0, lon_deg=114.0)
    ferry.last_seen = T0
    store.write(Batch(vessels={ferry.mmsi: ferry}))
    ferry.name = "SUMEKAR JAYA"
    ferry.last_seen = T0 + timedelta(minutes=5)
    far = Vessel(mmsi=412000001, lat_deg=5.0, lon_deg=120.0, last_seen=T0)
    store.write(Batch(vessels={ferry.mmsi: ferry, far.mmsi: far}))

    assert store.count("vessels") == 2
    got = store.vessel(525000001)
    assert got is not None
    assert got.name == "SUMEKAR JAYA"
    assert got.last_seen == T0 + timedelta(minutes=5)
    in_box = store.vessels(bbox=(113.0, -8.0, 115.0, -6.0))
    assert [v.mmsi for v in in_box] == [525000001]
    recent = store.vessels(seen_since=T0 + timedelta(minutes=1))
    assert [v.mmsi for v in recent] == [525000001]
    assert store.vessel(1) is None


def test_alerts_keep_state_and_sort_by_severity_then_time(store: Store) -> None:
    sart = Alert("a1", AlertKind.SART_ACTIVE, Severity.CRITICAL, T0, mmsi=970000001)
    entry = Alert("a2", AlertKind.ZONE_ENTRY, Severity.INFO, T0 + timedelta(minutes=1))
    sart.evidence = ["!AIVDM,1,1,,A,x,0*00"]
    store.write(Batch(alerts={a.id: a for a in (entry, sart)}))
    assert [a.id for a in store.alerts()] == ["a1", "a2"]
    assert store.alerts()[0].evidence == ["!AIVDM,1,1,,A,x,0*00"]

    entry.state = AlertState.RESOLVED
    store.write(Batch(alerts={entry.id: entry}))
    assert [a.id for a in store.alerts()] == ["a1"]
    resolved = store.alerts(states=[AlertState.RESOLVED])
    assert [a.kind for a in resolved] == [AlertKind.ZONE_ENTRY]


def test_messages_keep_raw_sentences_and_station(store: Store) -> None:
    raw = (
        "\\s:SMP-KANGEAN,c:1781654400*7F\\"
        "!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"
    )
    message = StoredMessage(T0, 525000001, 1, "SMP-KANGEAN", raw, {})
    store.write(Batch(messages=[message]))
    kept = store.messages(525000001)
    assert [(m.raw, m.station, m.msg_type) for m in kept] == [(raw, "SMP-KANGEAN", 1)]


def test_station_statistics_are_replaced_not_added(store: Store) -> None:
    stats = StationStats("SMP-KALIANGET", lines=10, messages=9, rejected={"x": 1})
    store.write(Batch(stations={stats.station: stats}))
    stats.messages = 19
    store.write(Batch(stations={stats.station: stats}))
    (kept,) = store.stations()
    assert (kept.messages, kept.rejected) == (19, {"x": 1})


def test_an_empty_batch_writes_nothing(store: Store) -> None:
    store.write(Batch())
    assert store.count("positions") == 0


def test_unknown_store_url_names_the_key() -> None:
    from pantaulaut.errors import ConfigError

    with pytest.raises(ConfigError, match=r"store\.url"):
        open_store("mysql://db")


def test_a_position_comes_back_exactly_as_written(store: Store) -> None:
    exact = PositionReport(
        mmsi=525000001,
        time=T0 + timedelta(seconds=12, microseconds=345678),
        lat_deg=-7.123456789012,
        lon_deg=113.987654321098,
        speed_kn=10.1,
        course_deg=359.9,
        heading_deg=511.0,
        nav_status=15,
        msg_type=3,
        station="SMP-SAPEKEN",
    )
    store.write(Batch(positions=[exact]))
    assert store.track(exact.mmsi, T0, T0 + timedelta(minutes=1)) == [exact]


def test_a_vessel_comes_back_field_for_field(store: Store) -> None:
    ferry = Vessel(
        mmsi=525000001,
        vessel_class="A",
        name="SUMEKAR",
        callsign="YBAB2",
        imo=9123456,
        ship_type=60,
        ship_type_text="Passenger",
        flag="Indonesia",
        flag_code="ID",
        destination="KALIANGET",
        draught_m=3.2,
        length_m=62.0,
        beam_m=12.5,
        lat_deg=-7.05,
        lon_deg=113.95,
        speed_kn=11.3,
        course_deg=87.5,
        heading_deg=88.0,
        nav_status=0,
        nav_status_text="Under way using engine",
        position_time=T0,
        last_seen=T0 + timedelta(minutes=1),
        station="SMP-KALIANGET",
        own_ship=False,
    )
    store.write(Batch(vessels={ferry.mmsi: ferry}))
    assert store.vessel(ferry.mmsi) == ferry


def test_an_alert_comes_back_field_for_field(store: Store) -> None:
    alert = Alert(
        "sart-970012345",
        AlertKind.SART_ACTIVE,
        Severity.CRITICAL,
        T0,
        mmsi=970012345,
        vessel_name="SART ACTIVE",
        lat_deg=-6.9,
        lon_deg=115.3,
        zone="Perairan Kabupaten Sumenep",
        station="SMP-KANGEAN",
        summary="AIS-SART aktif dekat Kangean",
        evidence=["!AIVDM,1,1,,A,x,0*00", "!AIVDM,1,1,,B,y,0*00"],
        state=AlertState.ACKNOWLEDGED,
        updated=T0 + timedelta(minutes=3),
        count=4,
    )
    store.write(Batch(alerts={alert.id: alert}))
    assert store.alerts(states=[AlertState.ACKNOWLEDGED]) == [alert]


def test_vessels_come_latest_first_and_up_to_the_limit(store: Store) -> None:
    fleet = {
        mmsi: Vessel(mmsi=mmsi, last_seen=T0 + timedelta(minutes=minutes))
        for mmsi, minutes in ((525000001, 1), (525000002, 3), (525000003, 2))
    }
    store.write(Batch(vessels=fleet))
    assert [v.mmsi for v in store.vessels()] == [525000002, 525000003, 525000001]
    assert [v.mmsi for v in store.vessels(limit=2)] == [525000002, 525000003]


def test_messages_come_newest_first_up_to_the_limit(store: Store) -> None:
    store.write(
        Batch(
            messages=[
                StoredMessage(
                    T0 + timedelta(minutes=m), 525000001, 1, "SMP", f"raw{m}", {"m": m}
                )
                for m in (1, 3, 2)
            ]
        )
    )
    kept = store.messages(525000001, limit=2)
    assert [(m.raw, m.fields) for m in kept] == [("raw3", {"m": 3}), ("raw2", {"m": 2})]


def test_counting_an_unknown_table_is_a_store_error(store: Store) -> None:
    from pantaulaut.errors import StoreError

    with pytest.raises(StoreError, match="unknown table"):
        store.count("pg_authid")


def port_call(
    mmsi: int,
    harbour: str,
    arrival_min: int,
    departure_min: int | None = None,
    positions: int = 2,
) -> PortCall:
    return PortCall(
        mmsi=mmsi,
        harbour_id=f"harbour-{harbour}",
        harbour_name=f"{harbour.title()} harbour",
        arrival=T0 + timedelta(minutes=arrival_min),
        departure=(
            None if departure_min is None else T0 + timedelta(minutes=departure_min)
        ),
        vessel_name="KM DHARMA",
        ship_type=60,
        ship_type_text="Passenger",
        positions=positions,
        station="SMP-KALIANGET",
        lat_deg=-7.054,
        lon_deg=113.948,
    )


def test_a_port_call_is_completed_in_place_when_the_vessel_departs(
    store: Store,
) -> None:
    opened = Batch()
    opened.add_port_call(port_call(525000001, "kalianget", 0))
    store.write(opened)
    closed = Batch()
    closed.add_port_call(port_call(525000001, "kalianget", 0, 90, positions=31))
    store.write(closed)
    (call,) = store.port_calls(T0, T0 + timedelta(days=1))
    assert call == port_call(525000001, "kalianget", 0, 90, positions=31)
    assert call.arrival.utcoffset() == timedelta(0)
    assert store.count("port_calls") == 1


def test_an_older_state_of_a_port_call_written_again_does_not_reopen_it(
    store: Store,
) -> None:
    closed = Batch()
    closed.add_port_call(port_call(525000001, "kalianget", 0, 90, positions=31))
    stale = Batch()
    stale.add_port_call(port_call(525000001, "kalianget", 0, positions=5))
    # At least once: a batch may be written twice, and out of order.
    for batch in (closed, closed, stale):
        store.write(batch)
    (call,) = store.port_calls(T0, T0 + timedelta(days=1))
    assert call.departure == T0 + timedelta(minutes=90)
    assert call.positions == 31


def test_port_calls_are_those_in_port_during_the_period_by_arrival(
    store: Store,
) -> None:
    batch = Batch()
    for call in (
        port_call(525000002, "dungkek", 200),  # still in port
        port_call(525000001, "kalianget", 0, 50),  # left before the period
        port_call(525000001, "batu-guluk", 300, 400),
        port_call(525000003, "kalianget", 100, 130),
        port_call(525000001, "kalianget", 600, 700),  # arrives after it
    ):
        batch.add_port_call(call)
    store.write(batch)
    start, end = T0 + timedelta(minutes=60), T0 + timedelta(minutes=500)
    found = store.port_calls(start, end)
    assert [(c.mmsi, c.harbour_id) for c in found] == [
        (525000003, "harbour-kalianget"),
        (525000002, "harbour-dungkek"),
        (525000001, "harbour-batu-guluk"),
    ]
    assert found[1].departure is None
    assert [c.harbour_id for c in store.port_calls(start, end, mmsi=525000001)] == [
        "harbour-batu-guluk"
    ]
    kalianget = store.port_calls(
        T0, T0 + timedelta(days=1), harbour_id="harbour-kalianget"
    )
    assert [c.arrival for c in kalianget] == [
        T0,
        T0 + timedelta(minutes=100),
        T0 + timedelta(minutes=600),
    ]


def test_station_activity_counts_the_position_reports_of_the_window(
    store: Store,
) -> None:
    batch = Batch()
    batch.positions = [position(1, m) for m in (0, 5, 10)] + [position(2, 60)]
    batch.positions[1] = dataclasses.replace(batch.positions[1], station="SMP-SAPEKEN")
    store.write(batch)
    activity = store.station_activity(T0, T0 + timedelta(minutes=60))
    assert [(s.station, s.messages) for s in activity] == [
        ("SMP-KALIANGET", 2),
        ("SMP-SAPEKEN", 1),
    ]
    assert activity[0].first_seen == T0
    assert activity[0].last_seen == T0 + timedelta(minutes=10)
    assert store.station_activity(T0 - timedelta(days=1), T0) == []


def test_last_heard_is_the_latest_position_before_each_instant(store: Store) -> None:
    batch = Batch()
    batch.positions = [position(1, m) for m in (0, 5, 10)]
    store.write(batch)
    assert store.last_heard(
        [
            (1, T0 + timedelta(minutes=10)),
            (1, T0 + timedelta(days=1)),
            (1, T0),
            (2, T0 + timedelta(days=1)),
        ]
    ) == [T0 + timedelta(minutes=5), T0 + timedelta(minutes=10), None, None]
    assert store.last_heard([]) == []
