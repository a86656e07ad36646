"""Bad input on the command line: one line naming the fault, exit code 2.

Each test runs the ``pantaulaut`` command as a user would and checks that it
stops with a single line on stderr that names what is wrong, without a
Python traceback, and that nothing read before a fault is lost.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from pantaulaut.cli import _level_of, _parser
from pantaulaut.errors import SourceError
from pantaulaut.ingest.sources import read_file_lines

DATA = Path(__file__).resolve().parent.parent / "data"
RECORDING = DATA / "sumenep-demo.nmea.gz"


def pantaulaut(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the command in ``cwd`` without any PANTAULAUT_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANTAULAUT_")}
    return subprocess.run(
        [sys.executable, "-P", "-m", "pantaulaut", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str], *names: str) -> str:
    """The one error line of a refused command, checked to name ``names``."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def demo_lines() -> list[bytes]:
    return gzip.decompress(RECORDING.read_bytes()).splitlines(keepends=True)


@pytest.fixture
def plain(tmp_path: Path, demo_lines: list[bytes]) -> Path:
    path = tmp_path / "other.nmea"
    path.write_bytes(b"".join(demo_lines[300:400]))
    return path


def test_unknown_log_level_is_refused_with_the_valid_choices(tmp_path: Path) -> None:
    done = pantaulaut(
        "--log-level", "verbose", "export", "vessels", "--out", "x.csv", cwd=tmp_path
    )
    line = one_line_error(done, "--log-level", "'verbose'", "debug", "warning")
    assert "usage:" not in line


def test_log_level_is_accepted_in_any_case(tmp_path: Path, plain: Path) -> None:
    done = pantaulaut("--log-level", "DEBUG", "decode", str(plain), cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_log_level_given_before_run_is_not_overridden_by_its_default() -> None:
    """Regression: ``--log-level debug run`` ran at info, run's own default."""
    parser = _parser()
    assert _level_of(parser.parse_args(["--log-level", "debug", "run"])) == "debug"
    assert _level_of(parser.parse_args(["run"])) == "info"
    assert _level_of(parser.parse_args(["decode"])) == "warning"


def test_report_in_a_missing_folder_is_refused_before_the_replay(
    tmp_path: Path, plain: Path
) -> None:
    report = tmp_path / "nowhere" / "r.json"
    done = pantaulaut("replay", str(plain), "--report", str(report), cwd=tmp_path)
    one_line_error(done, "--report", str(report), "does not exist")
    assert done.stdout == ""


def test_report_that_is_a_folder_is_refused_before_the_replay(
    tmp_path: Path, plain: Path
) -> None:
    done = pantaulaut("replay", str(plain), "--report", str(tmp_path), cwd=tmp_path)
    one_line_error(done, "--report", "folder")
    assert done.stdout == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_summary_is_printed_when_the_report_cannot_be_written(
    tmp_path: Path, plain: Path
) -> None:
    done = pantaulaut("replay", str(plain), "--report", "/dev/full", cwd=tmp_path)
    one_line_error(done, "--report", "/dev/full", "not written")
    assert done.stdout.startswith("100 lines, "), done.stdout


def test_simulate_into_a_missing_folder_is_refused(tmp_path: Path) -> None:
    scenario = DATA / "scenarios" / "ferry-grounding-raas.toml"
    out = tmp_path / "nowhere" / "x.nmea"
    done = pantaulaut("simulate", str(scenario), "--out", str(out), cwd=tmp_path)
    one_line_error(done, "--out", str(out), "does not exist")


def test_simulate_of_a_file_that_is_no_scenario_names_the_missing_key(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rules]]\nid = "x"\n', encoding="utf-8")
    done = pantaulaut("simulate", str(rules), "--out", "x.nmea", cwd=tmp_path)
    line = one_line_error(done, "scenario rules.toml: no 'start' key")
    assert "is this a scenario file?" in line
    assert "KeyError" not in line


def test_simulate_names_the_vessel_table_that_lacks_a_key(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        "start = 2026-06-17T00:00:00Z\nduration_s = 600\n"
        '[[vessels]]\nname = "KM A"\nroute = [[-7.05, 113.9], [-7.1, 114.0]]\n',
        encoding="utf-8",
    )
    done = pantaulaut("simulate", str(scenario), "--out", "x.nmea", cwd=tmp_path)
    one_line_error(done, "scenario s.toml", "[[vessels]] #1", "no 'mmsi' key")


def _zones(tmp_path: Path, name: str, features: list[object]) -> Path:
    document = json.loads((DATA / "zones.geojson").read_text(encoding="utf-8"))
    document["features"] = features
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_zone_feature_without_geometry_is_named_counting_from_one(
    tmp_path: Path, plain: Path
) -> None:
    shipped = json.loads((DATA / "zones.geojson").read_text(encoding="utf-8"))
    broken = {"type": "Feature", "properties": {"id": "x"}, "geometry": None}
    features = [*shipped["features"][:15], broken]
    zones = _zones(tmp_path, "null.geojson", features)
    done = pantaulaut("replay", str(plain), "--zones", str(zones), cwd=tmp_path)
    line = one_line_error(done, "null.geojson", "feature #16 (index 15, id 'x')")
    assert "no geometry" in line
    assert "NoneType" not in line


def test_duplicate_zone_id_names_both_features_and_files(
    tmp_path: Path, plain: Path
) -> None:
    shipped = json.loads((DATA / "zones.geojson").read_text(encoding="utf-8"))
    first = _zones(tmp_path, "a.geojson", shipped["features"][:2])
    second = _zones(tmp_path, "b.geojson", shipped["features"][1:2])
    done = pantaulaut(
        "replay",
        str(plain),
        "--zones",
        str(first),
        "--zones",
        str(second),
        cwd=tmp_path,
    )
    one_line_error(
        done, "'harbour-kalianget'", "feature #2 (index 1", "a.geojson", "b.geojson"
    )


def _truncated(tmp_path: Path, demo_lines: list[bytes]) -> tuple[Path, int]:
    """A .gz cut in half, and how many lines (the last one cut) it still holds."""
    packed = gzip.compress(b"".join(demo_lines[:300]))
    cut = packed[: len(packed) // 2]
    path = tmp_path / "trunc.nmea.gz"
    path.write_bytes(cut)
    readable = zlib.decompressobj(wbits=31).decompress(cut)
    return path, len(readable.splitlines())


def test_truncated_gzip_keeps_its_lines_and_the_next_files(
    tmp_path: Path, demo_lines: list[bytes], plain: Path
) -> None:
    """Regression: a cut .gz gave "0 lines" and the files after it were skipped."""
    truncated, readable = _truncated(tmp_path, demo_lines)
    assert readable > 100
    report = tmp_path / "r.json"
    done = pantaulaut(
        "replay", str(truncated), str(plain), "--report", str(report), cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [x for x in done.stderr.splitlines() if x.startswith("pantaulaut:")]
    assert len(errors) == 1, done.stderr
    assert "trunc.nmea.gz" in errors[0]
    assert f"past line {readable - 1}" in errors[0]
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["lines"] == readable + 100
    assert written["rejected"]["unreadable_file"] == 1
    assert "trunc.nmea.gz" in written["errors"][0]
    assert done.stdout.startswith(f"{readable + 100} lines, ")
    assert "unreadable_file: 1" in done.stdout


def test_read_file_lines_yields_every_line_before_the_damage(
    tmp_path: Path, demo_lines: list[bytes]
) -> None:
    truncated, readable = _truncated(tmp_path, demo_lines)
    lines: list[str] = []
    reader = read_file_lines(truncated)
    with pytest.raises(SourceError, match=r"trunc\.nmea\.gz"):
        lines.extend(reader)
    assert len(lines) == readable
    whole = [line.decode("ascii").rstrip("\r\n") for line in demo_lines]
    assert lines[: readable - 1] == whole[: readable - 1]


def test_decode_goes_on_after_a_damaged_file(
    tmp_path: Path, demo_lines: list[bytes], plain: Path
) -> None:
    truncated, _ = _truncated(tmp_path, demo_lines)
    done = pantaulaut("decode", str(truncated), str(plain), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "decode incomplete" in done.stderr
    alone = [pantaulaut("decode", str(p), cwd=tmp_path) for p in (truncated, plain)]
    decoded = sum(len(run.stdout.splitlines()) for run in alone)
    assert len(done.stdout.splitlines()) == decoded > 100


def test_missing_input_file_is_refused_before_any_summary(
    tmp_path: Path, plain: Path
) -> None:
    done = pantaulaut("replay", str(plain), "missing.nmea", cwd=tmp_path)
    one_line_error(done, "missing.nmea", "no such file")
    assert done.stdout == ""


def test_store_that_is_not_a_url_names_the_flag(tmp_path: Path, plain: Path) -> None:
    done = pantaulaut("replay", str(plain), "--store", "busy.db", cwd=tmp_path)
    line = one_line_error(done, "--store busy.db", "sqlite:///busy.db")
    assert "configuration key" not in line
    assert not (tmp_path / "busy.db").exists()


def test_negative_speed_is_refused(tmp_path: Path, plain: Path) -> None:
    done = pantaulaut("replay", str(plain), "--speed", "-1", cwd=tmp_path)
    one_line_error(done, "--speed", "'-1'")
    assert done.stdout == ""


def test_mmsi_without_nine_digits_is_refused_by_export(tmp_path: Path) -> None:
    done = pantaulaut(
        "export",
        "vessels",
        "--mmsi",
        "12",
        "--from",
        "2026-06-17",
        "--out",
        "v.csv",
        cwd=tmp_path,
    )
    one_line_error(done, "--mmsi 12", "9 digits")
    assert not (tmp_path / "v.csv").exists()
