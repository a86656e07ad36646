"""The package builds as a wheel that works anywhere, and the code is clean."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("pantaulaut-*.whl")
    return built


def test_wheel_holds_every_stage_and_its_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (
        "pantaulaut/cli.py",
        "pantaulaut/ingest/framing.py",
        "pantaulaut/geofence/zones.py",
        "pantaulaut/alerts/beacons.py",
        "pantaulaut/store/sqlite.py",
        "pantaulaut/dashboard/app.py",
        "pantaulaut/data/zones.geojson",
        "pantaulaut/data/sumenep-demo.nmea.gz",
        "pantaulaut/py.typed",
    ):
        assert module in names
    assert not any(n.startswith(("ingest/", "tests/", "alerts/")) for n in names)


def test_wheel_decodes_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            site,
            wheel,
        ],
        check=True,
    )
    line = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n"
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-P", "-m", "pantaulaut", "decode"],
        input=line,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    )
    assert '"mmsi": 371798000' in done.stdout
    where = subprocess.run(
        [
            sys.executable,
            "-P",
            "-c",
            "import pantaulaut.geofence.zones as z; print(z.default_zones_path())",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    )
    assert where.stdout.startswith(str(site))


def test_ruff_finds_nothing_to_fix() -> None:
    ruff = BIN / "ruff"
    subprocess.run([ruff, "check", "--quiet", "."], cwd=ROOT, check=True)
    subprocess.run([ruff, "format", "--check", "--quiet", "."], cwd=ROOT, check=True)


def test_mypy_strict_passes_on_the_package() -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [ROOT / "scripts" / "typecheck"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
