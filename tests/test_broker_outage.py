"""The broker goes away mid-replay: the router spools, and the worker gets it all.

A Mosquitto of the test's own on a free loopback port (with persistence, as
a production broker has, so that the worker's session survives its restart);
a router and one worker as ``pantaulaut run`` processes; the broker is
stopped a few seconds into a replay at 60 times real time and started again.
The router keeps what it could not publish in its spool file and sends it,
in order, once the broker is back; the worker's store must then hold what a
single process stores from the same recording.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import recordings
from conftest import service_missing

from pantaulaut.config import load_config
from pantaulaut.model import AlertState
from pantaulaut.service import pipeline_for, replay_files
from pantaulaut.store.sqlite import SqliteStore

pytestmark = [pytest.mark.network, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """A private Mosquitto, on loopback only."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            service_missing(
                "Mosquitto", "no mosquitto binary (scripts/services installs it)"
            )
        self.binary = binary
        self.port = free_port()
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {workdir}/\n"
            "max_queued_messages 100000\n"
        )
        self.log = workdir / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        service_missing(
            "Mosquitto", f"a private broker did not start: {self.log.read_text()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    private = Broker(tmp_path)
    private.start()
    try:
        yield private
    finally:
        private.stop()


def run(name: str, config: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", "pantaulaut", "run", "--config", str(config)],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log


def wait_for(log: Path, words: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if words in log.read_text():
            return
        time.sleep(0.1)
    pytest.fail(f"{log.name} never logged {words!r}:\n{log.read_text()[-3000:]}")


def test_a_broker_outage_mid_replay_loses_nothing(
    tmp_path: Path, broker: Broker
) -> None:
    scene = tmp_path / "scene.nmea"
    recordings.separated_traffic(scene, minutes=12, passers=30)
    reference = SqliteStore(":memory:")
    replay_files(pipeline_for(load_config(None, environ={}), reference), [scene])

    def config(name: str, role: str, extra: str = "") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f"""
[store]
url = "sqlite:///{tmp_path / name}.db"
[dashboard]
enabled = false
[mqtt]
port = {broker.port}
topic_prefix = "pl-outage"
[spool]
dir = "{tmp_path / "spool"}"
[scaleout]
role = "{role}"
partitions = 1
{extra}
"""
        )
        load_config(path, environ={})
        return path

    worker, worker_log = run("worker", config("worker", "worker"), tmp_path)
    router = None
    try:
        wait_for(worker_log, "source partition-0: subscribed")
        router, router_log = run(
            "router",
            config(
                "router",
                "router",
                f'[[sources]]\nname = "scene"\nkind = "file"\npath = "{scene}"\n'
                "speed = 60.0\n",
            ),
            tmp_path,
        )
        wait_for(router_log, "scale-out router: connected")
        time.sleep(2.0)
        broker.stop()
        time.sleep(4.0)
        broker.start()
        wait_for(router_log, "source scene: read", 60.0)
        store = SqliteStore(str(tmp_path / "worker.db"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if store.count("positions") >= reference.count("positions"):
                break
            time.sleep(0.3)
        time.sleep(1.5)  # a last flush interval: nothing more should come
        for process in (router, worker):
            process.send_signal(signal.SIGTERM)
            assert process.wait(60) == 0
    finally:
        for process in (router, worker):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()

    text = router_log.read_text()
    assert "unreachable" in text
    assert "moved to the spool" in text  # the disk spool, not only memory
    for table in ("positions", "messages", "vessels", "alerts"):
        assert store.count(table) == reference.count(table), table
    every = tuple(AlertState)
    got = sorted((a.kind.value, a.mmsi, a.time) for a in store.alerts(states=every))
    want = sorted(
        (a.kind.value, a.mmsi, a.time) for a in reference.alerts(states=every)
    )
    assert got == want
    store.close()
