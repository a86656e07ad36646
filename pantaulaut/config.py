"""Configuration: one TOML file, every key also settable from the environment.

An environment variable ``PANTAULAUT_<SECTION>__<KEY>`` overrides
``[section] key``; ``PANTAULAUT_SOURCES__0__PORT`` reaches into the first
``[[sources]]`` table. Values from the environment are read as TOML values
when they parse as one (``8050``, ``true``, ``["127.0.0.1"]``) and as plain
text otherwise.

Every key is checked at start-up. A wrong key or value stops the service with
a :class:`~pantaulaut.errors.ConfigError` that names the key, the value found
and what is expected.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pantaulaut.errors import ConfigError

__all__ = [
    "Config",
    "DashboardConfig",
    "IngestConfig",
    "MqttConfig",
    "SourceConfig",
    "StoreConfig",
    "ZonesConfig",
    "load_config",
]

ENV_PREFIX = "PANTAULAUT_"
SOURCE_KINDS = ("tcp-client", "tcp-server", "udp", "file", "mqtt")


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """``[store]``: where history is kept.

    Attributes:
        url: ``sqlite:///path.db`` or ``postgresql://user@host/db``.
        retention_days: Keep positions and messages this many days; 0 keeps
            them for ever (PostgreSQL / TimescaleDB stores).
    """

    url: str = "sqlite:///pantaulaut.db"
    retention_days: int = 0


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    """``[dashboard]``: the operators' page."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8050
    refresh_s: float = 5.0
    tile_url: str = ""
    recent_minutes: float = 60.0


@dataclass(frozen=True, slots=True)
class ZonesConfig:
    """``[zones]``: the zone file (empty: the regency default) and extra ones."""

    file: str = ""
    extra: tuple[str, ...] = ()

    def paths(self) -> list[str]:
        """Every zone file to load, the main one (or the default) first."""
        from pantaulaut.geofence.zones import default_zones_path

        return [self.file or str(default_zones_path()), *self.extra]


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """``[ingest]``: bounds and timing of the ingest stage."""

    fragment_timeout_s: float = 30.0
    max_pending_fragments: int = 2048
    max_line_chars: int = 4096
    batch_size: int = 5000
    flush_interval_s: float = 1.0
    keep_messages: bool = True


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """``[mqtt]``: publish vessel reports and alerts to a broker."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    topic_prefix: str = "pantaulaut"
    publish_vessels: bool = True


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One ``[[sources]]`` table: a receiver feed.

    Attributes:
        kind: ``tcp-client`` (connect to a station), ``tcp-server`` (stations
            connect to us), ``udp`` (stations send datagrams), ``mqtt``
            (subscribe to ``topics`` on a broker at host:port) or ``file``.
        allow: Addresses or networks a listener accepts; nothing else gets in.
        station: Station name for feeds whose lines carry no ``s:`` tag.
        speed: For files, a multiple of real time on the data's own clock
            (0: as fast as possible).
    """

    name: str
    kind: str
    host: str = "127.0.0.1"
    port: int = 0
    path: str = ""
    allow: tuple[str, ...] = ()
    station: str = ""
    max_connections: int = 16
    idle_timeout_s: float = 300.0
    reconnect_max_s: float = 60.0
    speed: float = 0.0
    topics: tuple[str, ...] = ()
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration."""

    store: StoreConfig = field(default_factory=StoreConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    zones: ZonesConfig = field(default_factory=ZonesConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    sources: tuple[SourceConfig, ...] = ()


_SECTIONS: dict[str, type] = {
    "store": StoreConfig,
    "dashboard": DashboardConfig,
    "zones": ZonesConfig,
    "ingest": IngestConfig,
    "mqtt": MqttConfig,
}


def load_config(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read the TOML file (if any), apply the environment, check every key.

    Raises:
        ConfigError: Naming the key, the value and what is expected.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                "--config", str(path), f"a readable file ({exc})"
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("--config", str(path), f"valid TOML ({exc})") from exc
    _apply_environment(data, os.environ if environ is None else environ)
    return _build(data)


def _apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [p.lower() for p in name.removeprefix(ENV_PREFIX).split("__")]
        _set_path(data, path, _env_value(text), name)


def _env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _set_path(data: Any, path: list[str], value: Any, env_name: str) -> None:
    node = data
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, list):
            if not part.isdigit():
                raise ConfigError(env_name, part, "a list index such as 0")
            index = int(part)
            while len(node) <= index:
                node.append({})
            if last:
                node[index] = value
            else:
                node = node[index]
            continue
        if last:
            node[part] = value
        else:
            default: Any = [] if part == "sources" else {}
            node = node.setdefault(part, default)


def _build(data: dict[str, Any]) -> Config:
    known = set(_SECTIONS) | {"sources"}
    for key in data:
        if key not in known:
            raise ConfigError(key, data[key], f"one of the sections {sorted(known)}")
    sections = {
        name: _section(name, cls, data.get(name, {})) for name, cls in _SECTIONS.items()
    }
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise ConfigError("sources", raw_sources, "an array of tables ([[sources]])")
    sources = tuple(_source(i, s) for i, s in enumerate(raw_sources))
    names = [s.name for s in sources]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("sources.name", name, "a name used by one source only")
    return Config(sources=sources, **sections)


def _section(name: str, cls: type, values: Any) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(name, values, f"a table [{name}]")
    allowed = {f.name: f for f in fields(cls)}
    converted: dict[str, Any] = {}
    for key, value in values.items():
        if key not in allowed:
            raise ConfigError(
                f"{name}.{key}", value, f"one of the keys {sorted(allowed)}"
            )
        converted[key] = _convert(f"{name}.{key}", value, allowed[key].type)
    instance = cls(**converted)
    _check_section(name, instance)
    return instance


def _convert(key: str, value: Any, type_name: Any) -> Any:
    text = str(type_name)
    if text == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(key, value, "true or false")
    if text == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(key, value, "a whole number")
    if text == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(key, value, "a number")
    if text.startswith("tuple"):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(key, value, "a list of strings")
    if isinstance(value, str):
        return value
    raise ConfigError(key, value, "a string")


def _check_section(name: str, section: Any) -> None:
    if isinstance(section, MqttConfig):
        _check_port("mqtt.port", section.port)
    if isinstance(section, DashboardConfig):
        _check_port("dashboard.port", section.port)
        if section.refresh_s <= 0:
            raise ConfigError(
                "dashboard.refresh_s", section.refresh_s, "a number above 0"
            )
    if isinstance(section, StoreConfig) and not section.url.startswith(
        ("sqlite://", "postgresql://", "postgres://")
    ):
        raise ConfigError(
            "store.url", section.url, "sqlite:///path.db or postgresql://user@host/db"
        )
    if isinstance(section, StoreConfig) and section.retention_days < 0:
        raise ConfigError(
            "store.retention_days",
            section.retention_days,
            "a number of days, 0 or more (0 keeps history for ever)",
        )
    if isinstance(section, IngestConfig):
        for key in ("fragment_timeout_s", "max_pending_fragments", "max_line_chars"):
            if getattr(section, key) <= 0:
                raise ConfigError(
                    f"ingest.{key}", getattr(section, key), "a number above 0"
                )


def _check_port(key: str, port: int) -> None:
    if not 0 <= port <= 65535:
        raise ConfigError(key, port, "a TCP/UDP port number 0-65535")


def _source(index: int, values: Any) -> SourceConfig:
    prefix = f"sources[{index}]"
    if not isinstance(values, dict):
        raise ConfigError(prefix, values, "a table with name and kind")
    for required in ("name", "kind"):
        if required not in values:
            raise ConfigError(f"{prefix}.{required}", None, "a value (it is required)")
    if values["kind"] not in SOURCE_KINDS:
        raise ConfigError(
            f"{prefix}.kind", values["kind"], f"one of {list(SOURCE_KINDS)}"
        )
    allowed = {f.name: f for f in fields(SourceConfig)}
    converted: dict[str, Any] = {}
    for key, value in values.items():
        if key not in allowed:
            raise ConfigError(
                f"{prefix}.{key}", value, f"one of the keys {sorted(allowed)}"
            )
        converted[key] = _convert(f"{prefix}.{key}", value, allowed[key].type)
    source = SourceConfig(**converted)
    _check_source(prefix, source)
    return source


def _check_source(prefix: str, source: SourceConfig) -> None:
    _check_port(f"{prefix}.port", source.port)
    if source.kind == "file" and not source.path:
        raise ConfigError(f"{prefix}.path", source.path, "the path of an NMEA file")
    if source.kind not in ("file", "mqtt") and source.port == 0:
        raise ConfigError(
            f"{prefix}.port", source.port, "the port to connect to or listen on"
        )
    if source.kind == "mqtt" and not source.topics:
        raise ConfigError(
            f"{prefix}.topics", list(source.topics), "a list of topics, e.g. ['ais/#']"
        )
    if source.kind in ("tcp-server", "udp"):
        if not source.allow:
            raise ConfigError(
                f"{prefix}.allow",
                list(source.allow),
                "the addresses of the stations allowed to send (e.g. ['10.1.2.3']); "
                "a listener open to anyone would let a forged beacon in",
            )
        for item in source.allow:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(
                    f"{prefix}.allow",
                    item,
                    "an IP address or network such as 10.0.0.0/24",
                ) from None
