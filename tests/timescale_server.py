"""A private TimescaleDB server for tests that kill and restart it.

``scripts/services`` runs one TimescaleDB server (PostgreSQL 17 in a Debian
13 root made with debootstrap) for every test. A test that kills the server
must not take it away from the others, so it gets a cluster of its own: made
with ``initdb`` in the same root, on a free loopback port, and removed
afterwards. Killing is ``pg_ctl stop -m immediate`` (every backend quits at
once, no checkpoint; the restart runs crash recovery), which is what a
crashed or fenced-off database host looks like to the service.

Needs root (``chroot``), or ``sudo -n`` when the tests do not run as root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

from conftest import service_missing

ROOT = Path(
    os.environ.get("PANTAULAUT_TIMESCALE_ROOT", "/var/lib/pantaulaut-test/trixie")
)
BIN = "/usr/lib/postgresql/17/bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateTimescale:
    """One TimescaleDB cluster of a test's own, inside the Debian 13 root."""

    def __init__(self) -> None:
        if not (ROOT / BIN.lstrip("/") / "initdb").exists():
            service_missing(
                "TimescaleDB (the Debian 13 root)",
                f"no {BIN}/initdb under {ROOT}; scripts/services makes it",
            )
        self._sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        if self._sudo and shutil.which("sudo") is None:
            service_missing("TimescaleDB (private)", "chroot needs root or sudo")
        self.port = _free_port()
        self.data = f"/var/lib/postgresql/pl-test-{uuid.uuid4().hex[:12]}"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _in_root(self, *args: str, as_postgres: bool = False) -> list[str]:
        command = [
            *self._sudo,
            "chroot",
            str(ROOT),
            "/usr/bin/env",
            "-i",
            "HOME=/root",
            "LANG=C.UTF-8",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        if as_postgres:
            # setpriv switches user without PAM, which a minimal root lacks.
            command += [
                "setpriv",
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "/usr/bin/env",
                "HOME=/var/lib/postgresql",
            ]
        return command + list(args)

    def _run(self, *args: str, as_postgres: bool = True) -> None:
        done = subprocess.run(
            self._in_root(*args, as_postgres=as_postgres),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            service_missing(
                "TimescaleDB (private)",
                f"{' '.join(args[:2])} failed: {done.stderr.strip()[-500:]}",
            )

    def create(self) -> None:
        """Make the cluster and start it."""
        self._run("install", "-d", "-o", "postgres", "-g", "postgres", "-m", "700",
                  self.data, as_postgres=False)  # fmt: skip
        self._run(f"{BIN}/initdb", "-D", self.data, "--username=postgres",
                  "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")  # fmt: skip
        config = (
            f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
            "unix_socket_directories = ''\n"
            "shared_preload_libraries = 'timescaledb'\n"
            "timescaledb.telemetry_level = off\n"
        )
        # Written inside the root as its owner: the tests may not be root.
        self._run("sh", "-c", 'printf "%s" "$1" >> "$2"', "sh", config,
                  f"{self.data}/postgresql.conf")  # fmt: skip
        self.start()

    def start(self) -> None:
        """Start (or restart) the server and wait until it takes connections."""
        self._run(f"{BIN}/pg_ctl", "start", "-D", self.data, "-l",
                  f"{self.data}/server.log", "-w", "-t", "60")  # fmt: skip

    def kill(self) -> None:
        """Stop the server the hard way: every backend quits at once."""
        self._run(f"{BIN}/pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w")

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        subprocess.run(
            self._in_root(f"{BIN}/pg_ctl", "stop", "-D", self.data, "-m", "immediate",
                          as_postgres=True),
            capture_output=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        subprocess.run(
            self._in_root("rm", "-rf", self.data),
            capture_output=True,
            timeout=60,
            check=False,
        )
