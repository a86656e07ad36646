"""Zones and rules reload while running; a bad file is refused, the old stay.

The operator's files here are an extra zone file (one small zone, "watch",
east of Kalianget) beside the regency's default zones, and a rule file with
the default rules plus one on that zone. Each refusal names the file, the
feature (or rule) and the fault.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyais.encode import encode_dict

from pantaulaut.config import Config, DashboardConfig, StoreConfig, ZonesConfig
from pantaulaut.errors import RuleError, ZoneError
from pantaulaut.geofence.rules import ZoneFiles, default_rules_path, load_rules
from pantaulaut.geofence.zones import default_zones_path, load_zones
from pantaulaut.ingest.framing import nmea_checksum
from pantaulaut.service import Service

START = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
WATCH = [[114.00, -7.10], [114.05, -7.10], [114.05, -7.05], [114.00, -7.05]]
INSIDE_WATCH = (-7.08, 114.02)
INSIDE_MOVED = (-7.08, 114.12)
WATCH_RULE = """
[[rules]]
id = "watch-dwell"
alert = "zone_dwell"
severity = "high"
zones = ["watch"]
trigger = "inside"
"""


def feature(
    ring: list[list[float]], zone_id: str = "watch", name: str = "Watch box"
) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": {"id": zone_id, "name": name, "kind": "other"},
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
    }


def collection(*features: dict[str, object]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


_stamp = [1_700_000_000]


def write(path: Path, text: str) -> None:
    """Write and give the file a later modification time than any before."""
    path.write_text(text, encoding="utf-8")
    _stamp[0] += 10
    os.utime(path, (_stamp[0], _stamp[0]))


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    extra = tmp_path / "extra.geojson"
    rules = tmp_path / "rules.toml"
    write(extra, collection(feature(WATCH)))
    write(rules, default_rules_path().read_text() + WATCH_RULE)
    return extra, rules


def zone_files(files: tuple[Path, Path]) -> ZoneFiles:
    extra, rules = files
    return ZoneFiles([default_zones_path(), extra], rules)


def shift(ring: list[list[float]], dlon: float) -> list[list[float]]:
    return [[lon + dlon, lat] for lon, lat in ring]


# --- the reload component -------------------------------------------------------


def test_an_edited_zone_file_is_swapped_in_once_it_stops_changing(
    files: tuple[Path, Path],
) -> None:
    watched = zone_files(files)
    zones, _ = watched.load()
    assert watched.reload() is None  # nothing changed
    write(files[0], collection(feature(shift(WATCH, 0.10))))
    assert watched.reload() is None  # changed since the last look: wait one
    loaded = watched.reload()
    assert loaded is not None
    new_zones, new_rules = loaded
    assert [z.id for z in new_zones.at(*INSIDE_MOVED[::-1])][-1] == "watch"
    assert zones.at(*INSIDE_MOVED[::-1]) != new_zones.at(*INSIDE_MOVED[::-1])
    assert "watch-dwell" in new_rules.by_id
    assert watched.reload() is None


def test_sighup_reads_at_once(files: tuple[Path, Path]) -> None:
    watched = zone_files(files)
    watched.load()
    write(files[1], default_rules_path().read_text())
    loaded = watched.reload(force=True)
    assert loaded is not None
    assert "watch-dwell" not in loaded[1].by_id


BOWTIE = [[114.00, -7.10], [114.05, -7.05], [114.05, -7.10], [114.00, -7.05]]
SWAPPED = [[-7.10, 114.00], [-7.10, 114.05], [-7.05, 114.05], [-7.05, 114.00]]
FAR = [[100.0, 10.0], [100.1, 10.0], [100.1, 10.1], [100.0, 10.1]]


@pytest.mark.parametrize(
    ("ring", "fault"),
    [
        (BOWTIE, r"geometry intersects itself: Self-intersection\[114\.025 -7\.075\]"),
        (SWAPPED, "longitude and latitude are swapped"),
        (FAR, "nowhere near the regency"),
    ],
)
def test_a_bad_zone_is_refused_naming_file_feature_and_fault(
    files: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
    ring: list[list[float]],
    fault: str,
) -> None:
    watched = zone_files(files)
    watched.load()
    good = collection(feature(WATCH))
    write(files[0], collection(feature(WATCH, "ok", "Fine"), feature(ring)))
    with caplog.at_level(logging.ERROR, logger="pantaulaut.geofence.rules"):
        assert watched.reload(force=True) is None
    (record,) = caplog.records
    text = record.getMessage()
    assert str(files[0]) in text
    assert "feature #2 (index 1, id 'watch', name 'Watch box')" in text
    assert re.search(fault, text), text
    assert isinstance(watched.error, ZoneError)
    # Refused once: the same file is not read (nor logged) again.
    caplog.clear()
    assert watched.reload() is None
    assert watched.reload() is None
    assert not caplog.records
    # A corrected file is read.
    write(files[0], good)
    watched.reload()
    assert watched.reload() is not None


@pytest.mark.parametrize(
    ("rule", "fault"),
    [
        ('flagg = "foreign"', "unknown rule key 'flagg'"),
        ("filter = { flagg = 'foreign' }", "unknown filter key 'flagg'"),
        ('alert = "foreign_fisihng"', "unknown alert kind 'foreign_fisihng'"),
        ('alert = "sart_active"', "alert kind 'sart_active' is not raised by rules"),
        ('zones = ["nowhere"]', "zone 'nowhere' is not in the zone files in force"),
        ('trigger = "loiter"', "trigger 'loiter' is not one of"),
        ('trigger = "dwell"', "trigger 'dwell' needs dwell_s"),
        ("filter = { hours_wib = '18-06' }", "hours_wib '18-06' must read"),
        ('severity = "urgent"', "severity 'urgent' is not one of"),
    ],
)
def test_a_bad_rule_is_refused_naming_file_rule_and_fault(
    files: tuple[Path, Path], rule: str, fault: str
) -> None:
    extra, rules = files
    zones = load_zones([default_zones_path(), extra])
    table = {"alert": '"zone_dwell"', "zones": '["watch"]', "trigger": '"inside"'}
    key = rule.split(" = ")[0]
    table[key] = rule.split(" = ", 1)[1]
    body = "\n".join(f"{k} = {v}" for k, v in table.items())
    write(
        rules, default_rules_path().read_text() + f'\n[[rules]]\nid = "mine"\n{body}\n'
    )
    with pytest.raises(RuleError) as caught:
        load_rules(rules, zones)
    message = str(caught.value)
    assert message.startswith(f"{rules}: rule #4 (index 3, id 'mine'): ")
    assert fault in message


def test_a_rule_file_that_is_not_toml_is_refused(files: tuple[Path, Path]) -> None:
    write(files[1], "[[rules]\n")
    with pytest.raises(RuleError, match=r"rules\.toml: not valid TOML"):
        load_rules(files[1], load_zones())


def test_a_zone_id_that_a_rule_needs_cannot_be_removed(
    files: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    watched = zone_files(files)
    watched.load()
    write(files[0], collection(feature(WATCH, "renamed")))
    with caplog.at_level(logging.ERROR):
        assert watched.reload(force=True) is None
    assert "zone 'watch' is not in the zone files in force" in caplog.text
    assert "rule #4 (index 3, id 'watch-dwell')" in caplog.text


# --- a running service ----------------------------------------------------------


def _tagged(sentence: str, when: datetime) -> str:
    body = f"s:SMP-TEST,c:{int(when.timestamp())}"
    return f"\\{body}*{nmea_checksum(body):02X}\\{sentence}"


def position(mmsi: int, where: tuple[float, float], t_s: float) -> list[str]:
    when = START + timedelta(seconds=t_s)
    data = {
        "type": 1,
        "mmsi": mmsi,
        "lat": where[0],
        "lon": where[1],
        "speed": 5.0,
        "course": 90.0,
        "heading": 90,
        "second": when.second,
    }
    return [
        _tagged(s, when) for s in encode_dict(data, talker_id="AI", sentence_type="VDM")
    ]


def test_a_running_service_swaps_zones_in_and_keeps_them_when_refused(
    files: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    extra, rules = files
    entry_rule = (
        '[[rules]]\nid = "watch-entry"\nalert = "zone_entry"\nzones = ["watch"]\n'
        'trigger = "entry"\n'
    )
    write(rules, default_rules_path().read_text() + WATCH_RULE + entry_rule)
    config = Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'live.db'}"),
        dashboard=DashboardConfig(enabled=False),
        zones=ZonesConfig(extra=(str(extra),), rules=str(rules), reload_s=0.05),
    )

    async def scenario() -> Service:
        service = Service(config)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        feed = service.pipeline.feed
        arrival = START + timedelta(days=1)
        for line in position(525_000_001, INSIDE_MOVED, 0):
            feed(line, "test", arrival)
        write(extra, collection(feature(shift(WATCH, 0.10))))
        await _until(lambda: service.zones.by_id["watch"].geometry.bounds[0] > 114.05)
        for line in position(525_000_001, INSIDE_MOVED, 60):
            feed(line, "test", arrival)
        # A bad edit: refused, the moved zone stays in force.
        write(extra, collection(feature(BOWTIE)))
        await _until(lambda: service.zone_files.error is not None)
        for line in position(525_000_002, INSIDE_MOVED, 120):
            feed(line, "test", arrival)
        stop.set()
        await task
        return service

    with caplog.at_level(logging.INFO):
        service = asyncio.run(scenario())
    log_text = caplog.text
    assert "zones reloaded" in log_text
    assert "geometry intersects itself" in log_text
    assert str(extra) in log_text
    dwell = [a for a in service.pipeline.alert_log if a["kind"] == "zone_dwell"]
    assert [(a["mmsi"], a["severity"]) for a in dwell] == [
        (525_000_001, "high"),
        (525_000_002, "high"),
    ]
    # Moving the zone over the first vessel is no entry: it did not move.
    assert not [a for a in service.pipeline.alert_log if a["kind"] == "zone_entry"]


async def _until(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def test_sighup_makes_pantaulaut_run_read_its_rules_again(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    extra, rules = files
    config = tmp_path / "pantaulaut.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "run.db"}"\n'
        "[dashboard]\nenabled = false\n"
        f'[zones]\nextra = ["{extra}"]\nrules = "{rules}"\nreload_s = 0\n',
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-P",
            "-m",
            "pantaulaut",
            "--log-level",
            "info",
            "run",
            "--config",
            str(config),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _wait_for(proc, "watching the zone files")
        write(rules, default_rules_path().read_text() + 'flagg = "foreign"\n')
        proc.send_signal(signal.SIGHUP)
        lines += _wait_for(proc, "zone files refused")
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    refused = next(line for line in lines if "zone files refused" in line)
    assert "ERROR" in refused
    assert (
        f"{rules}: rule #3 (index 2, id 'position-on-land'): unknown rule key 'flagg'"
        in (refused)
    )
    assert proc.returncode == 0, rest


def _wait_for(proc: subprocess.Popen[str], text: str) -> list[str]:
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} not logged; got {''.join(seen)}")
