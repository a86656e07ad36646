"""Delivery of alerts to 112: settings, and alert changes into the outbox.

Every alert change the pipeline reports goes through :class:`DeliverySink`,
which decides whether it is worth a message to 112 and, if so, writes one
CAP 1.2 message (or its JSON form) per destination into the store's outbox
(:class:`pantaulaut.store.base.Outbox`). Workers
(:mod:`pantaulaut.alerts.outbox`) send what is in the outbox, retrying until
the destination takes it; nothing is sent that was not stored first, so a
crash or a restart loses nothing.

Which change gives which message (CAP 1.2 §3.2.1 msgType):

========================  ===============================================
change                    message
========================  ===============================================
opened                    ``Alert`` (sequence 1)
escalated, acknowledged   ``Update``
updated (new reports)     ``Update``, at most every ``update_interval_s``
                          of data time and only when the position moved
                          ``update_move_nm`` or the summary changed
resolved                  ``Cancel``; nothing more after it
========================  ===============================================

An ``Update`` or ``Cancel`` cites the alert's earlier messages in
``references`` (the first and the latest 19, so that a long chain stays a
few kilobytes). A change the 112 side never heard the start of (delivery
switched on while the alert was open) starts a chain with an ``Alert``; a
resolution of such an alert sends nothing.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pantaulaut.alerts.cap import (
    CAP_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    SCOPES,
    STATUSES,
    CapMessage,
    CapSettings,
    ZonePolygons,
    message_identifier,
    to_json,
    to_xml,
)
from pantaulaut.errors import ConfigError, StoreError
from pantaulaut.model import Alert, AlertState, Vessel
from pantaulaut.store.base import Batch, Delivery, Outbox

if TYPE_CHECKING:
    from pantaulaut.alerts.book import AlertChange

__all__ = [
    "FORMATS",
    "DeliveryConfig",
    "DeliverySink",
    "Destination",
    "MqttDeliveryConfig",
    "WebhookConfig",
    "current_message",
    "destinations_of",
    "parse_delivery",
]

log = logging.getLogger(__name__)

FORMATS = ("cap", "json")
# References kept in an Update or Cancel: the first message and the latest.
_MAX_REFERENCES = 20
# Chains remembered in memory; older ones are read back from the outbox.
_MAX_CHAINS = 50_000
_EARTH_RADIUS_NM = 3440.065
_CAP_DEFAULTS = CapSettings()


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """``[delivery.webhook]``: signed HTTP POSTs to the 112 system.

    Attributes:
        url: The receiver's address (http or https); empty: no webhook.
        secret: ``whsec_`` + base64 of the signing key (Standard Webhooks);
            required with a url. ``pantaulaut deliveries secret`` makes one.
        format: ``cap`` (``application/cap+xml``) or ``json``.
        timeout_s: Longest wait for the receiver's answer.
        connect_timeout_s: Longest wait for the connection.
        max_attempts: Attempts before a message becomes a dead letter.
        backoff_base_s: Delay after the first failed attempt; it doubles
            with each further failure, with jitter.
        backoff_max_s: Longest delay between two attempts.
        concurrency: Messages in flight at once (each alert's messages
            still go one after the other, in order).
        use_env_proxy: Honour ``HTTP(S)_PROXY`` from the environment.
    """

    url: str = ""
    secret: str = ""
    format: str = "cap"
    timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    max_attempts: int = 30
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    concurrency: int = 4
    use_env_proxy: bool = False

    @property
    def enabled(self) -> bool:
        """A url is set."""
        return bool(self.url)


@dataclass(frozen=True, slots=True)
class MqttDeliveryConfig:
    """``[delivery.mqtt]``: messages published with QoS 1, in alert order.

    Topics: ``<topic_prefix>/112/<format>/<severity>/<kind>``, such as
    ``pantaulaut/112/cap/critical/sart_active``.
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    client_id: str = "pantaulaut-delivery"
    topic_prefix: str = "pantaulaut"
    format: str = "cap"
    timeout_s: float = 10.0
    max_attempts: int = 30
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    concurrency: int = 4


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """``[delivery]``: how alerts reach 112, as CAP 1.2.

    Attributes:
        sender: CAP ``sender``; see :class:`~pantaulaut.alerts.cap.CapSettings`.
        sender_name: CAP ``senderName``.
        identifier_prefix: Start of every CAP ``identifier``.
        status: ``Actual`` or ``Exercise`` (``replay --deliver`` sends
            ``Exercise`` unless told otherwise).
        scope: ``Restricted``, ``Public`` or ``Private``.
        restriction: Who may see a Restricted message.
        addresses: Recipients of a Private message.
        web_base_url: The dashboard, for the ``web`` link of each alert.
        contact: CAP ``contact``.
        circle_radius_km: Radius of the circle at an alert's position.
        update_interval_s: Least data time between two Updates caused by
            new reports of the same alert.
        update_move_nm: Least movement for such an Update.
        lease_s: A message being sent is not sent again by another worker
            before this; after a crash it is retried once this has passed.
            Must exceed the destinations' timeouts.
        poll_interval_s: How often workers look for due messages when not
            woken by a new one.
    """

    sender: str = _CAP_DEFAULTS.sender
    sender_name: str = _CAP_DEFAULTS.sender_name
    identifier_prefix: str = _CAP_DEFAULTS.identifier_prefix
    status: str = "Actual"
    scope: str = "Restricted"
    restriction: str = _CAP_DEFAULTS.restriction
    addresses: str = ""
    web_base_url: str = "http://127.0.0.1:8050"
    contact: str = "112"
    circle_radius_km: float = 1.0
    update_interval_s: float = 300.0
    update_move_nm: float = 0.1
    lease_s: float = 60.0
    poll_interval_s: float = 1.0
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    mqtt: MqttDeliveryConfig = field(default_factory=MqttDeliveryConfig)

    @property
    def active(self) -> bool:
        """Some destination is configured."""
        return self.webhook.enabled or self.mqtt.enabled

    def cap_settings(self, status: str | None = None) -> CapSettings:
        """The CAP settings, with another ``status`` if given."""
        return CapSettings(
            sender=self.sender,
            sender_name=self.sender_name,
            identifier_prefix=self.identifier_prefix,
            status=status or self.status,
            scope=self.scope,
            restriction=self.restriction,
            addresses=self.addresses,
            web_base_url=self.web_base_url,
            contact=self.contact,
            circle_radius_km=self.circle_radius_km,
        )


def parse_delivery(values: Any) -> DeliveryConfig:
    """Check and convert the ``[delivery]`` table (with its sub-tables).

    Raises:
        ConfigError: Naming the key, the value and what is expected.
    """
    if not isinstance(values, dict):
        raise ConfigError("delivery", values, "a table [delivery]")
    top = {k: v for k, v in values.items() if k not in ("webhook", "mqtt")}
    webhook = _table("delivery.webhook", WebhookConfig, values.get("webhook", {}))
    mqtt = _table("delivery.mqtt", MqttDeliveryConfig, values.get("mqtt", {}))
    base: DeliveryConfig = _table("delivery", DeliveryConfig, top)
    config = replace(base, webhook=webhook, mqtt=mqtt)
    _check(config)
    return config


def _table(name: str, cls: type[Any], values: Any) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(name, values, f"a table [{name}]")
    allowed = {
        f.name: str(f.type) for f in fields(cls) if f.name not in ("webhook", "mqtt")
    }
    converted: dict[str, Any] = {}
    for key, value in values.items():
        if key not in allowed:
            raise ConfigError(
                f"{name}.{key}", value, f"one of the keys {sorted(allowed)}"
            )
        converted[key] = _convert(f"{name}.{key}", value, allowed[key])
    return cls(**converted)


def _convert(key: str, value: Any, type_name: str) -> Any:
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(key, value, "true or false")
    if type_name == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(key, value, "a whole number")
    if type_name == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(key, value, "a number")
    if isinstance(value, str):
        return value
    raise ConfigError(key, value, "a string")


def _positive(key: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(key, value, "a number above 0")


def _check(config: DeliveryConfig) -> None:
    for key in ("sender", "identifier_prefix"):
        value = getattr(config, key)
        if not value or re.search(r"[\s,<&]", value):
            raise ConfigError(
                f"delivery.{key}",
                value,
                "text without spaces, commas, < or & (CAP 1.2 §3.2.1)",
            )
    if config.status not in STATUSES:
        raise ConfigError("delivery.status", config.status, f"one of {STATUSES}")
    if config.scope not in SCOPES:
        raise ConfigError("delivery.scope", config.scope, f"one of {SCOPES}")
    if config.scope == "Restricted" and not config.restriction:
        raise ConfigError("delivery.restriction", "", "who may see Restricted messages")
    if config.scope == "Private" and not config.addresses:
        raise ConfigError("delivery.addresses", "", "the recipients of Private ones")
    _check_url("delivery.web_base_url", config.web_base_url)
    for key in (
        "circle_radius_km",
        "update_interval_s",
        "lease_s",
        "poll_interval_s",
    ):
        _positive(f"delivery.{key}", getattr(config, key))
    if config.update_move_nm < 0:
        raise ConfigError("delivery.update_move_nm", config.update_move_nm, "0 or more")
    webhook = config.webhook
    if webhook.enabled:
        _check_url("delivery.webhook.url", webhook.url)
        try:
            signing_key(webhook.secret)
        except ValueError as exc:
            raise ConfigError(
                "delivery.webhook.secret",
                "<hidden>" if webhook.secret else "",
                f"whsec_ followed by base64 of a key of 24 to 64 bytes ({exc}); "
                "`pantaulaut deliveries secret` makes one",
            ) from None
    mqtt = config.mqtt
    if not 0 <= mqtt.port <= 65535:
        raise ConfigError("delivery.mqtt.port", mqtt.port, "a TCP port 0-65535")
    if not mqtt.topic_prefix or any(c in mqtt.topic_prefix for c in "#+"):
        raise ConfigError(
            "delivery.mqtt.topic_prefix", mqtt.topic_prefix, "a topic without # or +"
        )
    for name, section in (("webhook", webhook), ("mqtt", mqtt)):
        prefix = f"delivery.{name}"
        if section.format not in FORMATS:
            raise ConfigError(f"{prefix}.format", section.format, f"one of {FORMATS}")
        for key in ("timeout_s", "backoff_base_s", "backoff_max_s"):
            _positive(f"{prefix}.{key}", getattr(section, key))
        if section.max_attempts < 1:
            raise ConfigError(
                f"{prefix}.max_attempts", section.max_attempts, "1 or more"
            )
        if section.concurrency < 1:
            raise ConfigError(f"{prefix}.concurrency", section.concurrency, "1 or more")
        if section.backoff_max_s < section.backoff_base_s:
            raise ConfigError(
                f"{prefix}.backoff_max_s",
                section.backoff_max_s,
                f"at least backoff_base_s ({section.backoff_base_s})",
            )
    timeouts = (
        [webhook.timeout_s + webhook.connect_timeout_s] if webhook.enabled else []
    )
    timeouts += [mqtt.timeout_s * 2] if mqtt.enabled else []
    if timeouts and config.lease_s <= max(timeouts):
        raise ConfigError(
            "delivery.lease_s",
            config.lease_s,
            f"more than one attempt may take ({max(timeouts):g} s)",
        )


def _check_url(key: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, url, "an http:// or https:// URL")


def signing_key(secret: str) -> bytes:
    """The key of a Standard Webhooks secret ``whsec_<base64>``.

    Raises:
        ValueError: Not of that form, or a key shorter than 24 or longer
            than 64 bytes.
    """
    if not secret.startswith("whsec_"):
        msg = "it does not start with whsec_"
        raise ValueError(msg)
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        msg = "what follows whsec_ is not base64"
        raise ValueError(msg) from None
    if not 24 <= len(key) <= 64:
        msg = f"the key has {len(key)} bytes"
        raise ValueError(msg)
    return key


@dataclass(frozen=True, slots=True)
class Destination:
    """Where messages go and in which form.

    Attributes:
        name: ``webhook`` or ``mqtt``: the outbox's ``destination``.
        format: ``cap`` or ``json``.
        topic_prefix: For MQTT: topics are
            ``<prefix>/112/<format>/<severity>/<kind>``.
    """

    name: str
    format: str = "cap"
    topic_prefix: str = ""

    @property
    def content_type(self) -> str:
        """The media type of the bodies."""
        return CAP_CONTENT_TYPE if self.format == "cap" else JSON_CONTENT_TYPE

    def topic(self, alert: Alert) -> str:
        """The MQTT topic of a message about this alert (empty for others)."""
        if not self.topic_prefix:
            return ""
        return (
            f"{self.topic_prefix.rstrip('/')}/112/{self.format}/"
            f"{alert.severity.value}/{alert.kind.value}"
        )


def destinations_of(config: DeliveryConfig) -> list[Destination]:
    """The destinations switched on in the configuration."""
    found = []
    if config.webhook.enabled:
        found.append(Destination("webhook", config.webhook.format))
    if config.mqtt.enabled:
        found.append(Destination("mqtt", config.mqtt.format, config.mqtt.topic_prefix))
    return found


class _ChainUnknownError(Exception):
    """The outbox could not tell what was said about an alert."""


@dataclass(slots=True)
class _Chain:
    """What has been said to 112 about one alert."""

    seq: int
    references: list[str]
    sent: datetime
    lat_deg: float | None = None
    lon_deg: float | None = None
    summary: str | None = None
    closed: bool = False

    def cited(self) -> tuple[str, ...]:
        refs = self.references
        if len(refs) <= _MAX_REFERENCES:
            return tuple(refs)
        return (refs[0], *refs[-(_MAX_REFERENCES - 1) :])


def _chain_from(rows: Sequence[Delivery]) -> _Chain | None:
    """The chain of an alert as its outbox rows tell it."""
    if not rows:
        return None
    by_seq: dict[int, Delivery] = {}
    for row in rows:
        by_seq.setdefault(row.seq, row)
    ordered = [by_seq[s] for s in sorted(by_seq)]
    last = ordered[-1]
    sent = _sent_of(last.reference) or last.created
    return _Chain(
        seq=last.seq,
        references=[r.reference for r in ordered if r.reference],
        sent=sent,
        closed=any(r.msg_type == "Cancel" for r in ordered),
    )


def _sent_of(reference: str) -> datetime | None:
    parts = reference.split(",")
    if len(parts) != 3:
        return None
    try:
        return datetime.fromisoformat(parts[2])
    except ValueError:
        return None


def _distance_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(a)))


def _history_note(alert: Alert, action: str) -> str:
    """Who made the change and why, from the alert's audit trail."""
    if not alert.history:
        return ""
    entry = alert.history[-1]
    if entry.get("action") != action:
        return ""
    actor = str(entry.get("actor") or "")
    note = str(entry.get("note") or "")
    return f"{actor}: {note}" if actor and note else actor or note


class DeliverySink:
    """An alert sink of the pipeline that fills the delivery outbox.

    Args:
        outbox: The store's outbox.
        destinations: Where messages go; one outbox row per destination.
        cap: What every message says about its origin.
        update_interval_s: See :class:`DeliveryConfig`.
        update_move_nm: See :class:`DeliveryConfig`.
        vessel_lookup: The vessel of an MMSI (call sign, type), if known.
        zone_polygons: Outline of a zone by name, for zone alerts.
        on_enqueue: Called after messages were stored (wakes the workers).
        clock: Wall clock for the outbox's ``created``; UTC now by default.

    Attributes:
        enqueued: Messages stored so far (rows, over all destinations).
    """

    def __init__(
        self,
        outbox: Outbox,
        destinations: Sequence[Destination],
        cap: CapSettings,
        *,
        update_interval_s: float = 300.0,
        update_move_nm: float = 0.1,
        vessel_lookup: Callable[[int], Vessel | None] | None = None,
        zone_polygons: ZonePolygons | None = None,
        on_enqueue: Callable[[], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.outbox = outbox
        self.destinations = list(destinations)
        self.cap = cap
        self.update_interval_s = update_interval_s
        self.update_move_nm = update_move_nm
        self.vessel_lookup = vessel_lookup
        self.zone_polygons = zone_polygons
        self.on_enqueue = on_enqueue
        self._clock = clock or (lambda: datetime.now(UTC))
        self._chains: OrderedDict[str, _Chain] = OrderedDict()
        self._unsaved: list[Delivery] = []
        self.enqueued = 0

    def __call__(self, change: AlertChange) -> None:
        """Store the messages this change calls for (see the module's table).

        Never raises: a message that cannot be made is logged as an error,
        and ingest goes on.
        """
        action = getattr(change, "action", "opened" if change.new else "updated")
        try:
            rows = self.messages_for(change.alert, change.new, action)
        except Exception:
            log.exception(
                "cannot make the 112 message for %s alert %s",
                change.alert.kind,
                change.alert.id,
            )
            return
        if rows or self._unsaved:
            self._unsaved.extend(rows)
            self.flush()

    def flush(self) -> bool:
        """Store messages kept back by an earlier store failure.

        Returns:
            True when nothing is left unsaved.
        """
        if not self._unsaved:
            return True
        # A store's write() takes outbox rows too; a spooling store keeps
        # them on local disk while its server is away, which enqueueing
        # directly could not.
        write = getattr(self.outbox, "write", None)
        try:
            if callable(write):
                write(Batch(deliveries=list(self._unsaved)))
            else:
                self.outbox.enqueue_deliveries(self._unsaved)
        except StoreError as exc:
            log.warning(
                "outbox: %d messages not yet stored (%s); retrying with the next "
                "alert change",
                len(self._unsaved),
                exc,
            )
            return False
        self.enqueued += len(self._unsaved)
        self._unsaved = []
        if self.on_enqueue is not None:
            self.on_enqueue()
        return True

    def messages_for(self, alert: Alert, new: bool, action: str) -> list[Delivery]:
        """The outbox rows for one change (none when 112 need not hear of it).

        Remembers what was said, so call it once per change. Nothing is
        stored; :meth:`__call__` stores, and :mod:`.incidents` puts the rows
        in the same transaction as the incident.
        """
        if not self.destinations:
            return []
        try:
            chain = None if new else self._chain(alert.id)
        except _ChainUnknownError as exc:
            log.warning(
                "outbox: the earlier messages of alert %s cannot be read (%s); "
                "this change is not sent",
                alert.id,
                exc.__cause__,
            )
            return []
        sent = alert.updated or alert.time
        if chain is not None and sent < chain.sent:
            sent = chain.sent
        decided = self._decide(alert, chain, action, sent)
        if decided is None:
            return []
        msg_type, action = decided
        seq = 1 if chain is None else chain.seq + 1
        vessel = (
            self.vessel_lookup(alert.mmsi)
            if self.vessel_lookup is not None and alert.mmsi is not None
            else None
        )
        message = CapMessage(
            identifier=message_identifier(self.cap.identifier_prefix, alert.id, seq),
            sender=self.cap.sender,
            sent=sent,
            status=self.cap.status,
            msg_type=msg_type,
            alert=alert,
            seq=seq,
            references=() if chain is None else chain.cited(),
            action=action,
            note=_history_note(alert, action),
            callsign=vessel.callsign if vessel is not None else None,
            ship_type=vessel.ship_type_text if vessel is not None else None,
        )
        self._remember(alert, message, chain)
        return self.render(message)

    def render(self, message: CapMessage) -> list[Delivery]:
        """One outbox row per destination for a message."""
        created = self._clock()
        bodies: dict[str, str] = {}
        rows = []
        for destination in self.destinations:
            if destination.format not in bodies:
                data = (
                    to_xml(message, self.cap, self.zone_polygons)
                    if destination.format == "cap"
                    else to_json(message, self.cap)
                )
                bodies[destination.format] = data.decode("utf-8")
            rows.append(
                Delivery(
                    id=f"{destination.name}:{message.identifier}",
                    message_id=message.identifier,
                    destination=destination.name,
                    alert_id=message.alert.id,
                    seq=message.seq,
                    body=bodies[destination.format],
                    content_type=destination.content_type,
                    created=created,
                    msg_type=message.msg_type,
                    reference=message.reference,
                    topic=destination.topic(message.alert),
                    priority=message.alert.severity.rank,
                )
            )
        return rows

    def _decide(
        self, alert: Alert, chain: _Chain | None, action: str, sent: datetime
    ) -> tuple[str, str] | None:
        resolved = action == "resolved" or alert.state is AlertState.RESOLVED
        if chain is None:
            # 112 never heard of it: nothing to cancel, else start a chain.
            return None if resolved else ("Alert", action)
        if chain.closed:
            return None
        if resolved:
            return ("Cancel", "resolved")
        if action != "updated":
            return ("Update", action)
        if (sent - chain.sent).total_seconds() < self.update_interval_s:
            return None
        moved = (
            alert.lat_deg is not None
            and alert.lon_deg is not None
            and (
                chain.lat_deg is None
                or chain.lon_deg is None
                or _distance_nm(
                    chain.lat_deg, chain.lon_deg, alert.lat_deg, alert.lon_deg
                )
                >= self.update_move_nm
            )
        )
        if moved or alert.summary != chain.summary:
            return ("Update", "updated")
        return None

    def _chain(self, alert_id: str) -> _Chain | None:
        chain = self._chains.get(alert_id)
        if chain is not None:
            self._chains.move_to_end(alert_id)
            return chain
        try:
            rows = self.outbox.deliveries(alert_id=alert_id, limit=100_000)
        except StoreError as exc:
            # Guessing the chain would reuse an identifier: say nothing now.
            raise _ChainUnknownError(alert_id) from exc
        chain = _chain_from(rows)
        if chain is not None:
            self._keep(alert_id, chain)
        return chain

    def _remember(
        self, alert: Alert, message: CapMessage, chain: _Chain | None
    ) -> None:
        if chain is None:
            chain = _Chain(seq=0, references=[], sent=message.sent)
        chain.seq = message.seq
        chain.references.append(message.reference)
        chain.sent = message.sent
        chain.lat_deg, chain.lon_deg = alert.lat_deg, alert.lon_deg
        chain.summary = alert.summary
        # A closed chain is kept too, so that a later change is refused.
        chain.closed = message.msg_type == "Cancel"
        self._keep(alert.id, chain)

    def _keep(self, alert_id: str, chain: _Chain) -> None:
        self._chains[alert_id] = chain
        self._chains.move_to_end(alert_id)
        while len(self._chains) > _MAX_CHAINS:
            self._chains.popitem(last=False)


def current_message(
    alert: Alert, cap: CapSettings, outbox: Outbox | None = None
) -> CapMessage:
    """The CAP message that stands for an alert now (for the Atom feed).

    Its identifier, type and references are those of the latest message
    sent about the alert, so that a system polling the feed and one
    receiving pushes see the same identifiers; its content is the alert as
    it is now. Without an outbox (or before any message), the first message
    of the chain (an ``Alert``).
    """
    rows: list[Delivery] = []
    if outbox is not None:
        try:
            rows = outbox.deliveries(alert_id=alert.id, limit=100_000)
        except StoreError as exc:
            log.warning("outbox: cannot read the messages of %s (%s)", alert.id, exc)
    chain = _chain_from(rows)
    if chain is None:
        return CapMessage(
            identifier=message_identifier(cap.identifier_prefix, alert.id, 1),
            sender=cap.sender,
            sent=alert.time,
            status=cap.status,
            msg_type="Alert",
            alert=alert,
        )
    last = max(rows, key=lambda r: r.seq)
    earlier = [r for r in chain.references if r != last.reference]
    # The status it was sent with: a drill stays an Exercise in the feed.
    found = re.search(r"<(?:\w+:)?status>(\w+)<|\"status\":\s*\"(\w+)\"", last.body)
    status = next((g for g in found.groups() if g), cap.status) if found else cap.status
    return CapMessage(
        identifier=last.message_id,
        sender=last.reference.split(",")[0] if last.reference else cap.sender,
        sent=chain.sent,
        status=status,
        msg_type=last.msg_type,
        alert=alert,
        seq=last.seq,
        references=tuple(earlier),
        action="resolved" if last.msg_type == "Cancel" else "updated",
    )


def describe(config: DeliveryConfig) -> Mapping[str, str]:
    """Where messages go, for a log line (no secrets)."""
    found: dict[str, str] = {}
    if config.webhook.enabled:
        # No user, password or query: they may hold credentials.
        parts = urlsplit(config.webhook.url)
        port = f":{parts.port}" if parts.port else ""
        found["webhook"] = f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
    if config.mqtt.enabled:
        found["mqtt"] = (
            f"{config.mqtt.host}:{config.mqtt.port} {config.mqtt.topic_prefix}/112/"
        )
    return found
