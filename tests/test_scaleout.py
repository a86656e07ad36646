"""Three workers and a router, as separate processes, give what one process gives.

Real services: the Mosquitto and TimescaleDB of ``scripts/services``. The
reference replays the recording through one pipeline into a TimescaleDB
database of its own; the scaled-out run starts three ``pantaulaut run``
workers, the pairs process and a router on the same recording into another
database. Stored positions are compared by (mmsi, time, lat, lon), alerts by
(kind, mmsi, time), station statistics by their counters.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
import pytest
import recordings
from conftest import service_missing, with_database
from psycopg import sql

from pantaulaut.config import load_config
from pantaulaut.service import (
    pairs_client_id,
    pipeline_for,
    replay_files,
    worker_client_id,
)
from pantaulaut.store.postgres import PostgresStore

pytestmark = [pytest.mark.services, pytest.mark.network, pytest.mark.slow]

BROKER = os.environ.get("PANTAULAUT_TEST_MQTT", "127.0.0.1:1883")
HOST, PORT = BROKER.rsplit(":", 1)[0], int(BROKER.rsplit(":", 1)[1])
WORKERS = 3


@pytest.fixture
def broker() -> None:
    try:
        socket.create_connection((HOST, PORT), timeout=1).close()
    except OSError as exc:
        service_missing("Mosquitto", f"{BROKER}: {exc}")


@pytest.fixture
def databases(timescale_url: str) -> Iterator[Callable[[], str]]:
    """Makes new TimescaleDB databases; drops them after the test."""
    made: list[str] = []

    def make() -> str:
        name = f"pl_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(timescale_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        return with_database(timescale_url, name)

    yield make
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        for name in made:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


class Process:
    """A ``pantaulaut run`` subprocess with its log in a file."""

    def __init__(self, name: str, config: Path, workdir: Path) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        with self.log.open("wb") as out:
            # -P: the source folders in the working directory must not
            # shadow the installed package.
            self.popen = subprocess.Popen(
                [
                    sys.executable,
                    "-P",
                    "-m",
                    "pantaulaut",
                    "run",
                    "--config",
                    str(config),
                ],
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, words: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if words in self.text():
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.1)
        pytest.fail(f"{self.name} never logged {words!r}:\n{self.text()[-3000:]}")

    def stop(self, timeout_s: float = 60.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            pytest.fail(f"{self.name} did not stop on SIGTERM:\n{self.text()[-3000:]}")


def toml_config(path: Path, text: str) -> Path:
    path.write_text(text)
    load_config(path, environ={})  # fails here, with its message, if wrong
    return path


def common(url: str, prefix: str, spool: Path) -> str:
    return f"""
[store]
url = "{url}"
[dashboard]
enabled = false
[mqtt]
host = "{HOST}"
port = {PORT}
topic_prefix = "{prefix}"
[spool]
dir = "{spool}"
"""


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def positions(url: str) -> list[tuple[Any, ...]]:
    return sorted(rows(url, "SELECT mmsi, time, lat_deg, lon_deg FROM positions"))


def alerts(url: str) -> list[tuple[Any, ...]]:
    return sorted(rows(url, "SELECT kind, mmsi, time FROM alerts"))


def stations(url: str) -> list[tuple[Any, ...]]:
    found = rows(url, "SELECT station, data FROM stations")
    return sorted(
        (name, d["lines"], d["messages"], d["vessel_count"], d["rejected"])
        for name, d in found
    )


def forget_sessions(prefix: str) -> None:
    """Drop the workers' persistent sessions from the broker."""
    ids = [worker_client_id(prefix, k) for k in range(WORKERS)]
    ids += [pairs_client_id(prefix, k) for k in range(WORKERS)]
    for client_id in ids:
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=True,
        )
        try:
            client.connect(HOST, PORT)
            client.loop_start()
            time.sleep(0.2)
            client.disconnect()
            client.loop_stop()
        except OSError:
            pass


@pytest.mark.usefixtures("broker")
def test_three_workers_give_the_positions_and_alerts_of_one_process(
    tmp_path: Path, databases: Callable[[], str]
) -> None:
    scene = tmp_path / "scene.nmea"
    lines = recordings.separated_traffic(scene, minutes=20, passers=30)

    # Reference: the plain pipeline, one process, into its own database.
    reference = databases()
    config = load_config(None, environ={})
    store = PostgresStore(reference)
    pipeline = pipeline_for(config, store)
    replay_files(pipeline, [scene])
    store.close()
    expected_positions = positions(reference)
    expected_alerts = alerts(reference)
    assert len(expected_positions) > 3000
    assert {kind for kind, _, _ in expected_alerts} >= {
        "sart_active",
        "mob_active",
        "beacon_test",
        "zone_entry",
        "zone_exit",
        "collision_risk",
    }
    # The pair is split between workers: only the pairs process sees both.
    pair = {mmsi for kind, mmsi, _ in expected_alerts if kind == "collision_risk"}
    assert pair <= set(recordings.CROSSERS)
    assert len({mmsi % WORKERS for mmsi in recordings.CROSSERS}) == 2

    # Scaled out: three workers and a router, through the broker.
    scaled = databases()
    prefix = f"pantaulaut-test/{uuid.uuid4().hex[:12]}"
    spool = tmp_path / "spool"
    processes: list[Process] = []
    try:
        for k in range(WORKERS):
            path = toml_config(
                tmp_path / f"worker-{k}.toml",
                common(scaled, prefix, spool)
                + f'[scaleout]\nrole = "worker"\npartitions = {WORKERS}\n'
                f"worker = {k}\n",
            )
            processes.append(Process(f"worker-{k}", path, tmp_path))
        for k, worker in enumerate(processes):
            worker.wait_for(f"source partition-{k}: subscribed to {prefix}/raw/{k}")
        pairs = Process(
            "pairs",
            toml_config(
                tmp_path / "pairs.toml",
                common(scaled, prefix, spool)
                + f'[scaleout]\nrole = "pairs"\npartitions = {WORKERS}\n',
            ),
            tmp_path,
        )
        processes.append(pairs)
        for k in range(WORKERS):
            pairs.wait_for(f"source partition-{k}: subscribed to {prefix}/raw/{k}")
        router_config = toml_config(
            tmp_path / "router.toml",
            common(scaled, prefix, spool)
            + f'[scaleout]\nrole = "router"\npartitions = {WORKERS}\n'
            f'[[sources]]\nname = "scene"\nkind = "file"\npath = "{scene}"\n',
        )
        router = Process("router", router_config, tmp_path)
        processes.append(router)
        router.wait_for(f"source scene: read {lines} lines")
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            count = rows(scaled, "SELECT count(*) FROM positions")[0][0]
            # The pairs process reads every partition: it may finish last.
            raised = rows(scaled, "SELECT count(*) FROM alerts")[0][0]
            if count >= len(expected_positions) and raised >= len(expected_alerts):
                break
            time.sleep(0.2)
        codes = [process.stop() for process in processes]
    finally:
        for process in processes:
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait()
        forget_sessions(prefix)
    assert codes == [0] * (WORKERS + 2), [p.text()[-2000:] for p in processes]

    assert positions(scaled) == expected_positions
    assert alerts(scaled) == expected_alerts
    assert rows(scaled, "SELECT count(*) FROM vessels") == rows(
        reference, "SELECT count(*) FROM vessels"
    )
    # Station statistics are the router's, whole; no worker wrote its share.
    assert stations(scaled) == stations(reference)
    # Every worker had its share of the vessels.
    shares = dict(
        rows(scaled, f"SELECT mmsi % {WORKERS}, count(*) FROM positions GROUP BY 1")
    )
    assert sorted(shares) == list(range(WORKERS))
    assert min(shares.values()) > len(expected_positions) / (2 * WORKERS)
    for process in processes:
        assert "pending publish calls" not in process.text()
    assert not list(spool.glob("*.spool")), "nothing should have been spooled"
