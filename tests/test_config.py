"""Configuration: TOML, environment overrides, and errors that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pantaulaut.cli import main
from pantaulaut.config import load_config
from pantaulaut.errors import ConfigError
from pantaulaut.model import AlertKind


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pantaulaut.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_file() -> None:
    config = load_config(None, environ={})
    assert config.store.url == "sqlite:///pantaulaut.db"
    assert (config.dashboard.host, config.dashboard.port) == ("127.0.0.1", 8050)
    assert config.sources == ()


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[store]
url = "sqlite:///history.db"

[dashboard]
port = 9000

[[sources]]
name = "kalianget"
kind = "tcp-client"
host = "127.0.0.1"
port = 5631

[[sources]]
name = "stations"
kind = "udp"
port = 5632
allow = ["10.20.0.0/16"]
""",
    )
    config = load_config(path, environ={})
    assert config.store.url == "sqlite:///history.db"
    assert config.dashboard.port == 9000
    assert [s.name for s in config.sources] == ["kalianget", "stations"]
    assert config.sources[1].allow == ("10.20.0.0/16",)


def test_environment_overrides_every_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sources]]\nname = "a"\nkind = "tcp-client"\nport = 1\n')
    environ = {
        "PANTAULAUT_STORE__URL": "sqlite:///env.db",
        "PANTAULAUT_DASHBOARD__PORT": "8123",
        "PANTAULAUT_DASHBOARD__ENABLED": "false",
        "PANTAULAUT_SOURCES__0__PORT": "5000",
        "PANTAULAUT_INGEST__FRAGMENT_TIMEOUT_S": "12.5",
        "UNRELATED": "x",
    }
    config = load_config(path, environ=environ)
    assert config.store.url == "sqlite:///env.db"
    assert config.dashboard.port == 8123
    assert config.dashboard.enabled is False
    assert config.sources[0].port == 5000
    assert config.ingest.fragment_timeout_s == 12.5


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[dashboard]\nport = 70000\n", "dashboard.port", "0-65535"),
        ('[dashboard]\nport = "http"\n', "dashboard.port", "whole number"),
        ('[store]\nurll = "x"\n', "store.urll", "one of the keys"),
        ('[store]\nurl = "mysql://x"\n', "store.url", "sqlite:///"),
        ("[store]\nretention_days = -1\n", "store.retention_days", "0 or more"),
        ('[stroe]\nurl = "x"\n', "stroe", "sections"),
        ("[dashboard]\nrefresh_s = nan\n", "dashboard.refresh_s", "finite"),
        ("[ingest]\nflush_interval_s = 0\n", "ingest.flush_interval_s", "above 0"),
        (
            "[ingest]\nmax_line_chars = 99999999999\n",
            "ingest.max_line_chars",
            "at most",
        ),
        ('[[sources]]\nname = "a"\nkind = "serial"\n', "sources[0].kind", "tcp-client"),
        (
            '[[sources]]\nname = "a"\nkind = "udp"\nport = 5000\n',
            "sources[0].allow",
            "forged beacon",
        ),
        (
            '[[sources]]\nname = "a"\nkind = "tcp-server"\nport = 1\nallow = ["x.y"]\n',
            "sources[0].allow",
            "IP address",
        ),
    ],
)
def test_bad_value_names_key_value_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ={})
    assert caught.value.key == key
    assert expected in str(caught.value)
    assert key in str(caught.value)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[store\n")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_config(path, environ={})


def test_bad_configuration_stops_start_up_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "[dashboard]\nport = -1\n")
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "dashboard.port" in err
    assert "-1" in err


def test_detector_thresholds_and_lifecycle_are_read_from_alerts(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "[alerts.detectors]\ncpa_nm = 0.3\nstation_min_messages = 50\n"
        "[alerts.lifecycle.cooldown_s]\nsudden_stop = 120\n",
    )
    config = load_config(path, environ={"PANTAULAUT_ALERTS__DETECTORS__TCPA_S": "600"})
    assert config.alerts.detectors.cpa_nm == 0.3
    assert config.alerts.detectors.station_min_messages == 50
    assert config.alerts.detectors.tcpa_s == 600.0
    assert config.alerts.lifecycle.cooldown_s[AlertKind.SUDDEN_STOP] == 120.0
    assert load_config(None, environ={}).alerts.detectors.cpa_nm == 0.5


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[alerts.detectors]\ncpa_mn = 0.3\n", "alerts.detectors.cpa_mn"),
        ("[alerts.detectors]\ncpa_nm = -1\n", "alerts.detectors.cpa_nm"),
        ("[alerts.thresholds]\ncpa_nm = 1\n", "alerts.thresholds"),
        ("[alerts.lifecycle.cooldown_s]\nsart_actve = 1\n", "sart_actve"),
    ],
)
def test_a_wrong_alerts_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(write(tmp_path, text), environ={})


def test_the_pairs_process_takes_no_sources(tmp_path: Path) -> None:
    pairs = '[scaleout]\nrole = "pairs"\npartitions = 3\n'
    assert load_config(write(tmp_path, pairs), environ={}).scaleout.role == "pairs"
    with_source = pairs + '[[sources]]\nname = "k"\nkind = "file"\npath = "x"\n'
    with pytest.raises(ConfigError, match="no \\[\\[sources\\]\\] on a pairs"):
        load_config(write(tmp_path, with_source), environ={})
