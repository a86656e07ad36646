"""TimescaleDB killed mid-replay and restarted: every position and alert arrives.

``pantaulaut run`` replays a recording at 60 times real time into a
TimescaleDB server of the test's own (see ``timescale_server.py``); a few
seconds in, the server is killed (``pg_ctl stop -m immediate``), left down
for several seconds and started again. The service spools meanwhile and
writes the spool once the server is back. The stored positions, messages,
vessels and alerts must then be those of a reference run of the same
recording with no outage.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import recordings
from timescale_server import PrivateTimescale

from pantaulaut.config import load_config
from pantaulaut.service import pipeline_for, replay_files
from pantaulaut.store.sqlite import SqliteStore

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def server() -> Iterator[PrivateTimescale]:
    private = PrivateTimescale()
    try:
        private.create()
        with psycopg.connect(private.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE pl_durability")
        private.url = private.url.rsplit("/", 1)[0] + "/pl_durability"
        yield private
    finally:
        private.remove()


def count(url: str, table: str) -> int:
    with psycopg.connect(url, connect_timeout=5) as conn:
        query = f"SELECT count(*) FROM {table}"
        return int(conn.execute(query).fetchall()[0][0])  # type: ignore[arg-type]


def reference(scene: Path) -> dict[str, Any]:
    """Counts and position keys of the same replay with no outage."""
    store = SqliteStore(":memory:")
    pipeline = pipeline_for(load_config(None, environ={}), store)
    replay_files(pipeline, [scene])
    keys = {
        (m, datetime.fromisoformat(t), lat, lon)
        for m, t, lat, lon in store._query(
            "SELECT mmsi, time, lat_deg, lon_deg FROM positions"
        )
    }
    alerts = sorted(
        (k, m, datetime.fromisoformat(t))
        for k, m, t in store._query("SELECT kind, mmsi, time FROM alerts")
    )
    counts = {t: store.count(t) for t in ("positions", "messages", "vessels", "alerts")}
    store.close()
    return {"counts": counts, "keys": keys, "alerts": alerts}


def test_a_timescaledb_outage_mid_replay_loses_nothing(
    tmp_path: Path, server: PrivateTimescale
) -> None:
    scene = tmp_path / "scene.nmea"
    recordings.separated_traffic(scene, minutes=20, passers=30)
    expected = reference(scene)

    config = tmp_path / "service.toml"
    config.write_text(
        f"""
[store]
url = "{server.url}"
timeout_s = 2.0
[dashboard]
enabled = false
[spool]
dir = "{tmp_path / "spool"}"
[[sources]]
name = "scene"
kind = "file"
path = "{scene}"
speed = 60.0
"""
    )
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        service = subprocess.Popen(
            [sys.executable, "-P", "-m", "pantaulaut", "run", "--config", str(config)],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "opened PostgreSQL store" in log.read_text() and count(
                server.url, "positions"
            ):
                break
            time.sleep(0.2)
        time.sleep(2.0)
        before = count(server.url, "positions")
        assert 0 < before < expected["counts"]["positions"] / 2

        server.kill()
        time.sleep(8.0)
        assert "spooling to" in log.read_text(), log.read_text()[-3000:]
        server.start()

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            text = log.read_text()
            if (
                "source scene: read" in text
                and "drained" in text
                and count(server.url, "positions") >= expected["counts"]["positions"]
            ):
                break
            time.sleep(0.5)
        service.send_signal(signal.SIGTERM)
        assert service.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()

    text = log.read_text()
    got = {t: count(server.url, t) for t in expected["counts"]}
    assert got == expected["counts"], text[-3000:]
    with psycopg.connect(server.url) as conn:
        keys = set(conn.execute("SELECT mmsi, time, lat_deg, lon_deg FROM positions"))
        alerts = sorted(conn.execute("SELECT kind, mmsi, time FROM alerts"))
    assert keys == expected["keys"]
    assert [(k, m, t.astimezone(UTC)) for k, m, t in alerts] == expected["alerts"]
    assert "store write failed" in text
    assert "still wait" not in text  # nothing was left in the spool at stop
    assert "dropped" not in text
