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
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pantaulaut.alerts.delivery import DeliveryConfig, parse_delivery
from pantaulaut.alerts.lifecycle import LifecycleRules, rules_from_mapping
from pantaulaut.alerts.settings import DetectorSettings, settings_from_mapping
from pantaulaut.errors import ConfigError

__all__ = [
    "Config",
    "DashboardConfig",
    "DeliveryConfig",
    "IngestConfig",
    "MqttConfig",
    "ScaleoutConfig",
    "SourceConfig",
    "SpoolConfig",
    "StoreConfig",
    "ZonesConfig",
    "load_config",
]

ENV_PREFIX = "PANTAULAUT_"
_MAX_LIST_INDEX = 999
_INGEST_CEILINGS = {"max_line_chars": 1_048_576, "max_pending_fragments": 1_000_000}
# Copies of one transmission arrive within seconds; a longer window only
# holds more messages in memory (every message of the window is kept).
_MAX_DUPLICATE_WINDOW_S = 120.0
SOURCE_KINDS = ("tcp-client", "tcp-server", "udp", "file", "mqtt")
ROLES = ("all", "router", "worker", "pairs")
# More partitions than this would be more workers than one regency's traffic
# could keep busy, and as many topics and spool files.
MAX_PARTITIONS = 1024


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """``[store]``: where history is kept.

    Attributes:
        url: ``sqlite:///path.db`` or ``postgresql://user@host/db``.
        retention_days: Keep positions and messages this many days; 0 keeps
            them for ever (PostgreSQL / TimescaleDB stores).
        timeout_s: How long a write waits for a PostgreSQL server before
            its batch goes to the spool instead (the service's input waits
            meanwhile, so keep it short).
    """

    url: str = "sqlite:///pantaulaut.db"
    retention_days: int = 0
    timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    """``[dashboard]``: the operators' page.

    Attributes:
        secret_key: Signs the session cookies; empty: a random key kept in
            ``dashboard-secret.key`` in the state folder (0600), so restarts
            keep sessions.
        session_minutes: A log-in lasts this long at most (a desk shift).
        idle_minutes: A session unused this long ends.
        secure_cookies: Send cookies over HTTPS only (behind a TLS proxy).
        proxy_fix: Reverse proxies in front whose ``X-Forwarded-*`` headers
            are trusted (0: none).
    """

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8050
    refresh_s: float = 5.0
    tile_url: str = ""
    recent_minutes: float = 60.0
    secret_key: str = ""
    session_minutes: float = 480.0
    idle_minutes: float = 60.0
    secure_cookies: bool = False
    proxy_fix: int = 0


@dataclass(frozen=True, slots=True)
class ZonesConfig:
    """``[zones]``: zone files, their rules, and how often to look for edits.

    Attributes:
        file: The zone file; empty: the regency default.
        extra: More zone files, such as the installed ``alki2.geojson``.
        rules: The zone rule file (TOML); empty: the shipped ``rules.toml``.
        reload_s: The live service looks at the files' modification times
            this often and reloads what changed (0: only on SIGHUP).
    """

    file: str = ""
    extra: tuple[str, ...] = ()
    rules: str = ""
    reload_s: float = 5.0

    def paths(self) -> list[str]:
        """Every zone file to load, the main one (or the default) first."""
        from pantaulaut.geofence.zones import default_zones_path

        return [self.file or str(default_zones_path()), *self.extra]

    def rules_path(self) -> str:
        """The rule file to load: the one given, or the shipped default."""
        from pantaulaut.geofence.rules import default_rules_path

        return self.rules or str(default_rules_path())


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """``[ingest]``: bounds and timing of the ingest stage."""

    fragment_timeout_s: float = 30.0
    max_pending_fragments: int = 2048
    max_line_chars: int = 4096
    batch_size: int = 5000
    flush_interval_s: float = 1.0
    keep_messages: bool = True
    duplicate_window_s: float = 10.0


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
class SpoolConfig:
    """``[spool]``: where batches wait while the store or the broker is away.

    Attributes:
        dir: Folder of the spool files (``store-<role>.spool``,
            ``mqtt-<role>.spool``); empty: beside a SQLite store's file,
            else the working directory. Files appear only when needed.
        max_mb: Bound of each spool file; beyond it the oldest positions and
            raw traffic are dropped (with a WARNING), alerts never.
    """

    dir: str = ""
    max_mb: float = 256.0


@dataclass(frozen=True, slots=True)
class ScaleoutConfig:
    """``[scaleout]``: several processes share the load through the broker.

    The broker is the one of ``[mqtt]`` (host, port, credentials, TLS) and
    the topics are ``<mqtt.topic_prefix>/raw/<k>``.

    Attributes:
        role: ``all`` (default: this process does everything, no broker
            needed), ``router`` (reads the ``[[sources]]`` and publishes each
            message to the partition of its MMSI), ``worker`` (runs the
            pipeline on one partition, without the pair detectors) or
            ``pairs`` (reads every partition and runs only the pair
            detectors, collision risk and encounters, which need both
            vessels in one process; it writes alerts and nothing else).
        partitions: How many workers share the load (MMSI mod partitions).
        worker: Which partition this worker takes, 0 to partitions - 1.
    """

    role: str = "all"
    partitions: int = 1
    worker: int = 0

    @property
    def ident(self) -> str:
        """``all``, ``router`` or ``worker-<k>``: names spool files and clients."""
        return f"worker-{self.worker}" if self.role == "worker" else self.role


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
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    scaleout: ScaleoutConfig = field(default_factory=ScaleoutConfig)
    sources: tuple[SourceConfig, ...] = ()
    # [delivery] with [delivery.webhook] and [delivery.mqtt]: alerts to 112.
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    # [alerts.detectors] thresholds and [alerts.lifecycle] rules.
    alerts: AlertsConfig = field(default_factory=lambda: AlertsConfig())


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """``[alerts]``: the detectors' thresholds and the alerts' lifecycle.

    Attributes:
        detectors: ``[alerts.detectors]``, keys of
            :class:`~pantaulaut.alerts.settings.DetectorSettings`.
        lifecycle: ``[alerts.lifecycle.clear_hold_s]``, ``.cooldown_s`` and
            ``.suppress_in``, per alert kind.
    """

    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    lifecycle: LifecycleRules = field(default_factory=LifecycleRules)


def _alerts(values: Any) -> AlertsConfig:
    if not isinstance(values, dict):
        raise ConfigError("alerts", values, "a table ([alerts.detectors] ...)")
    for key in values:
        if key not in ("detectors", "lifecycle"):
            raise ConfigError(
                f"alerts.{key}", values[key], "[alerts.detectors] or [alerts.lifecycle]"
            )
    detectors = values.get("detectors", {})
    lifecycle = values.get("lifecycle", {})
    for key, table in (("detectors", detectors), ("lifecycle", lifecycle)):
        if not isinstance(table, dict):
            raise ConfigError(f"alerts.{key}", table, f"a table ([alerts.{key}])")
    return AlertsConfig(settings_from_mapping(detectors), rules_from_mapping(lifecycle))


_SECTIONS: dict[str, type] = {
    "store": StoreConfig,
    "dashboard": DashboardConfig,
    "zones": ZonesConfig,
    "ingest": IngestConfig,
    "mqtt": MqttConfig,
    "spool": SpoolConfig,
    "scaleout": ScaleoutConfig,
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
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                "--config", str(path), f"a readable UTF-8 file ({exc})"
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
            if not (part.isascii() and part.isdigit()) or int(part) > _MAX_LIST_INDEX:
                raise ConfigError(
                    env_name, part, f"a list index from 0 to {_MAX_LIST_INDEX}"
                )
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
    known = set(_SECTIONS) | {"sources", "delivery", "alerts"}
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
    delivery = parse_delivery(data.get("delivery", {}))
    alerts = _alerts(data.get("alerts", {}))
    config = Config(sources=sources, delivery=delivery, alerts=alerts, **sections)
    _check_scaleout(config)
    return config


def _check_scaleout(config: Config) -> None:
    """Check the role against the rest: sources, partitions, topic prefix."""
    scaleout = config.scaleout
    if scaleout.role == "all":
        if scaleout.partitions != 1:
            raise ConfigError(
                "scaleout.partitions",
                scaleout.partitions,
                "1 with role 'all' (one process does everything); set role to "
                "'router' or 'worker' to share the load among processes",
            )
        return
    prefix = config.mqtt.topic_prefix
    if not prefix.strip("/") or any(c in prefix for c in "#+"):
        raise ConfigError(
            "mqtt.topic_prefix",
            prefix,
            "a topic prefix without wildcards (# +), such as 'pantaulaut': the "
            "router and its workers meet on <prefix>/raw/<k>",
        )
    if scaleout.role == "router" and not config.sources:
        raise ConfigError(
            "sources",
            [],
            "at least one [[sources]] table: the router reads the stations and "
            "routes their messages to the workers",
        )
    if scaleout.role in ("worker", "pairs") and config.sources:
        raise ConfigError(
            "sources",
            [s.name for s in config.sources],
            f"no [[sources]] on a {scaleout.role} process: it reads the "
            "partitions from the broker of [mqtt]; give the stations' sources "
            "to the router",
        )


def _check_scaleout_section(section: ScaleoutConfig) -> None:
    if section.role not in ROLES:
        raise ConfigError("scaleout.role", section.role, f"one of {list(ROLES)}")
    if not 1 <= section.partitions <= MAX_PARTITIONS:
        raise ConfigError(
            "scaleout.partitions",
            section.partitions,
            f"a number of partitions from 1 to {MAX_PARTITIONS}",
        )
    if section.role == "worker" and not 0 <= section.worker < section.partitions:
        raise ConfigError(
            "scaleout.worker",
            section.worker,
            f"the partition this worker takes, 0 to {section.partitions - 1} "
            f"(scaleout.partitions is {section.partitions})",
        )


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
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and math.isfinite(value):
            return float(value)
        raise ConfigError(key, value, "a finite number")
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
        for key in ("session_minutes", "idle_minutes"):
            if getattr(section, key) <= 0:
                raise ConfigError(
                    f"dashboard.{key}", getattr(section, key), "minutes, above 0"
                )
        if section.secret_key and len(section.secret_key) < 32:
            raise ConfigError(
                "dashboard.secret_key",
                "(hidden)",
                "at least 32 characters, or empty to keep a generated key in "
                "the state folder",
            )
        if not 0 <= section.proxy_fix <= 5:
            raise ConfigError(
                "dashboard.proxy_fix",
                section.proxy_fix,
                "the number of reverse proxies in front (0: none, trust no "
                "X-Forwarded-* header)",
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
    if isinstance(section, StoreConfig) and section.timeout_s <= 0:
        raise ConfigError("store.timeout_s", section.timeout_s, "seconds, above 0")
    if isinstance(section, ZonesConfig) and section.reload_s < 0:
        raise ConfigError(
            "zones.reload_s", section.reload_s, "seconds, 0 (only on SIGHUP) or more"
        )
    if isinstance(section, SpoolConfig) and section.max_mb <= 0:
        raise ConfigError(
            "spool.max_mb", section.max_mb, "a size in megabytes, above 0"
        )
    if isinstance(section, ScaleoutConfig):
        _check_scaleout_section(section)
    if isinstance(section, IngestConfig):
        for key in (
            "fragment_timeout_s",
            "max_pending_fragments",
            "max_line_chars",
            "batch_size",
            "flush_interval_s",
        ):
            if getattr(section, key) <= 0:
                raise ConfigError(
                    f"ingest.{key}", getattr(section, key), "a number above 0"
                )
        window_s = section.duplicate_window_s
        if not 0 <= window_s <= _MAX_DUPLICATE_WINDOW_S:
            raise ConfigError(
                "ingest.duplicate_window_s",
                window_s,
                f"seconds from 0 (no de-duplication) to {_MAX_DUPLICATE_WINDOW_S:g}",
            )
        # The bounds are what keeps memory bounded against a hostile sender.
        for key, most in _INGEST_CEILINGS.items():
            if getattr(section, key) > most:
                raise ConfigError(
                    f"ingest.{key}", getattr(section, key), f"at most {most}"
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
    if source.max_connections < 1:
        raise ConfigError(
            f"{prefix}.max_connections", source.max_connections, "1 or more"
        )
    if source.idle_timeout_s <= 0 or source.reconnect_max_s <= 0:
        raise ConfigError(
            f"{prefix}.idle_timeout_s / reconnect_max_s",
            (source.idle_timeout_s, source.reconnect_max_s),
            "numbers above 0",
        )
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
