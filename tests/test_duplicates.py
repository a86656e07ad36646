"""Copies of one transmission from several stations are applied once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from messages import tag_block
from pyais.encode import encode_dict

from pantaulaut.config import ConfigError, load_config
from pantaulaut.evaluate import default_scenarios
from pantaulaut.geofence.zones import load_zones
from pantaulaut.ingest.duplicates import DuplicateFilter
from pantaulaut.model import AlertKind
from pantaulaut.pipeline import Pipeline, PipelineSettings
from pantaulaut.simulate import load_scenario, simulate
from pantaulaut.store.sqlite import SqliteStore

T0 = datetime(2026, 6, 17, tzinfo=UTC)
ARRIVAL = datetime(2026, 6, 17, 2, 0, tzinfo=UTC)  # after every report
T_SCENARIO = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def report(
    mmsi: int, seconds: float, station: str, lat: float = -7.1, delay_s: float = 0
) -> str:
    """One class A report sent ``seconds`` after T0, heard ``delay_s`` later."""
    time = T0 + timedelta(seconds=seconds)
    data = {
        "type": 1,
        "mmsi": mmsi,
        "lat": lat,
        "lon": 114.0,
        "speed": 9.0,
        "course": 90.0,
        "second": time.second,
    }
    (sentence,) = encode_dict(data, "AI", "VDM", "A")
    heard = time + timedelta(seconds=delay_s)
    return tag_block(s=station, c=int(heard.timestamp())) + sentence


def run(lines: list[str], window_s: float | None = None) -> Pipeline:
    settings = (
        PipelineSettings()
        if window_s is None
        else PipelineSettings(duplicate_window_s=window_s)
    )
    pipeline = Pipeline(SqliteStore(":memory:"), load_zones(), settings)
    for line in lines:
        pipeline.feed(line, "test", ARRIVAL)
    pipeline.finish()
    return pipeline


def test_a_copy_within_the_window_is_a_copy() -> None:
    copies = DuplicateFilter(10.0)
    assert not copies.is_copy("15RTgt0PAso;90TKcjM8h6g208CQ", 0, T0)
    assert copies.is_copy("15RTgt0PAso;90TKcjM8h6g208CQ", 0, T0 + timedelta(seconds=10))
    assert copies.copies == 1


@pytest.mark.parametrize("seconds", [10.5, -10.5])
def test_the_same_bits_outside_the_window_are_a_new_message(seconds: float) -> None:
    copies = DuplicateFilter(10.0)
    assert not copies.is_copy("15RTgt", 0, T0)
    assert not copies.is_copy("15RTgt", 0, T0 + timedelta(seconds=seconds))


def test_other_fill_bits_are_another_message() -> None:
    copies = DuplicateFilter(10.0)
    assert not copies.is_copy("15RTgt", 0, T0)
    assert not copies.is_copy("15RTgt", 2, T0)


def test_a_zero_window_keeps_every_copy() -> None:
    copies = DuplicateFilter(0.0)
    assert not copies.is_copy("15RTgt", 0, T0)
    assert not copies.is_copy("15RTgt", 0, T0)


def test_old_messages_are_forgotten() -> None:
    copies = DuplicateFilter(10.0)
    for n in range(1000):
        copies.is_copy(f"msg{n}", 0, T0 + timedelta(seconds=n))
    assert len(copies) <= 11


def test_a_backlog_running_backwards_stays_bounded() -> None:
    copies = DuplicateFilter(10.0, max_remembered=100)
    copies.is_copy("now", 0, T0)
    for n in range(1000):
        copies.is_copy(f"backlog{n}", 0, T0 - timedelta(hours=1) + timedelta(seconds=n))
    assert len(copies) <= 100


def test_two_stations_hearing_one_vessel_give_one_track() -> None:
    lines = []
    for n in range(6):
        lines.append(report(525_000_001, 10 * n, "SMP-KALIANGET", -7.1 + n / 1000))
        lines.append(report(525_000_001, 10 * n, "SMP-SAPUDI", -7.1 + n / 1000, 1))
    pipeline = run(lines)
    assert pipeline.store is not None
    assert pipeline.store.count("positions") == 6
    assert pipeline.report()["duplicates"] == 6
    # Each station still counts what it heard.
    stations = {s.station: s for s in pipeline.store.stations()}
    assert stations["SMP-SAPUDI"].messages == 6
    assert stations["SMP-SAPUDI"].vessel_count == 1


def test_reports_seconds_apart_are_not_copies() -> None:
    # A fast ferry reports every 2 s: the same place at 0 and 2 s would be
    # a copy only if its bits matched, and its time stamp makes them differ.
    lines = [report(525_000_002, 2 * n, "SMP-KALIANGET") for n in range(5)]
    pipeline = run(lines)
    assert pipeline.store is not None
    assert pipeline.store.count("positions") == 5
    assert pipeline.report()["duplicates"] == 0


def test_a_station_whose_vessels_a_neighbour_hears_first_is_not_down() -> None:
    # Regression: after its own vessel leaves, SMP-SAPUDI hears only vessels
    # SMP-KALIANGET hears too, and always second; its copies must still show
    # that it is alive.
    # Long enough for its own rate to be known (station_min_known_s).
    lines = [report(525_000_013, 10 * n, "SMP-SAPUDI", -7.25) for n in range(240)]
    for n in range(240, 480):
        for mmsi in (525_000_010, 525_000_011, 525_000_012):
            lines.append(report(mmsi, 10 * n, "SMP-KALIANGET", -7.1 + n / 5000))
            lines.append(report(mmsi, 10 * n, "SMP-SAPUDI", -7.1 + n / 5000, 1))
    pipeline = run(lines)
    raised = pipeline.report()["alerts"]
    assert AlertKind.STATION_DOWN.value not in raised
    assert pipeline.report()["duplicates"] == 720


def test_scenario_copies_change_no_alert_and_no_station_count() -> None:
    # The simulator has several stations hear each vessel, as the regency's
    # overlapping stations do.
    zones = load_zones()
    path = next(p for p in default_scenarios() if "saredeng" in p.name)
    lines = [line for _, line in simulate(load_scenario(path, zones)).lines]
    once = run(lines)
    every = run(lines, window_s=0)
    assert once.report()["duplicates"] > 0
    assert every.report()["duplicates"] == 0

    def alerts(pipeline: Pipeline) -> list[tuple[str, int | None, datetime]]:
        return sorted(
            (e["kind"], e["mmsi"], e["time"]) for e in pipeline.report()["alert_log"]
        )

    assert alerts(once) == alerts(every)
    assert once.store is not None
    assert every.store is not None
    counts = {(s.station, s.messages, s.vessel_count) for s in once.store.stations()}
    assert counts == {
        (s.station, s.messages, s.vessel_count) for s in every.store.stations()
    }
    # Every place and time a vessel was heard is kept, each once.
    start, end = T_SCENARIO
    for vessel in every.store.vessels():
        heard = every.store.track(vessel.mmsi, start, end)
        kept = once.store.track(vessel.mmsi, start, end)
        assert {(p.time, p.lat_deg, p.lon_deg) for p in heard} == {
            (p.time, p.lat_deg, p.lon_deg) for p in kept
        }
        assert len(kept) == len({(p.time, p.lat_deg, p.lon_deg) for p in kept})
    assert once.store.count("positions") < every.store.count("positions")


def test_a_window_out_of_range_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[ingest]\nduplicate_window_s = 600\n")
    with pytest.raises(ConfigError, match=r"ingest\.duplicate_window_s"):
        load_config(path)
