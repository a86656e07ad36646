"""Workers that empty the delivery outbox, retrying until 112 has every message.

One worker per destination claims due messages from the store's outbox
(:class:`~pantaulaut.store.base.Outbox`), sends them, and records the
outcome:

* taken (a 2xx answer, or the broker's PUBACK for QoS 1): ``delivered``;
* failed: tried again after an exponential backoff with jitter,
  ``min(backoff_max_s, backoff_base_s * 2 ** (attempt - 1))``, of which a
  random half is waited ("equal jitter", so that many senders restarting
  together do not retry in step), or after the destination's
  ``Retry-After`` when it gives one;
* failed ``max_attempts`` times: a dead letter, logged as a WARNING, listed
  by ``pantaulaut deliveries list`` and sent again by
  ``pantaulaut deliveries retry ID``.

Delivery is at least once: a message is marked delivered only after the
destination took it, so a crash between the two sends it again with the
same id, and the receiver drops the repeat. Messages of one alert go to a
destination in order (the outbox gives out only the earliest pending one of
each alert), the most severe alerts first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import aiomqtt

from pantaulaut.alerts.cap import CapSettings, zone_polygon_lookup
from pantaulaut.alerts.delivery import (
    DeliveryConfig,
    DeliverySink,
    MqttDeliveryConfig,
    WebhookConfig,
    describe,
    destinations_of,
)
from pantaulaut.errors import DeliveryError, StoreError
from pantaulaut.ingest.mqtt import MqttSettings, reraise_if_cancelling
from pantaulaut.store.base import Delivery, DeliveryState, Outbox, Store

if TYPE_CHECKING:
    from pantaulaut.geofence.zones import ZoneSet
    from pantaulaut.pipeline import Pipeline

__all__ = [
    "DeliveryService",
    "DeliveryThread",
    "DestinationWorker",
    "MqttSender",
    "ReplayDelivery",
    "RetryPolicy",
    "Sender",
    "add_cli_commands",
    "attach_delivery",
    "build_service",
]

log = logging.getLogger(__name__)


class Sender(Protocol):
    """Sends one message to one destination."""

    name: str

    @property
    def timeout_s(self) -> float:
        """Longest one attempt may take."""
        ...

    async def send(self, delivery: Delivery) -> None:
        """Send it; return only when the destination has it.

        Raises:
            DeliveryError: It did not take it.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a failed message again, and when to give up.

    Attributes:
        max_attempts: Attempts before a message becomes a dead letter.
        base_s: Delay after the first failure.
        max_s: Longest delay.
    """

    max_attempts: int = 30
    base_s: float = 2.0
    max_s: float = 300.0

    def delay_s(self, attempts: int, rng: random.Random | None = None) -> float:
        """Delay after ``attempts`` failed attempts: doubling, half of it random."""
        ceiling = min(self.max_s, self.base_s * 2.0 ** max(0, attempts - 1))
        draw = rng.random() if rng is not None else random.random()
        return ceiling / 2 + draw * ceiling / 2


class DestinationWorker:
    """Claims due messages for one destination and sends them.

    Args:
        outbox: Where the messages wait.
        sender: Sends to the destination.
        retry: Backoff and the number of attempts.
        lease_s: How long a claimed message is kept from other workers.
        concurrency: Messages sent at once.
        poll_interval_s: Longest sleep when nothing is due.
    """

    def __init__(
        self,
        outbox: Outbox,
        sender: Sender,
        retry: RetryPolicy,
        *,
        lease_s: float = 60.0,
        concurrency: int = 4,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.outbox = outbox
        self.sender = sender
        self.retry = retry
        self.lease_s = lease_s
        self.concurrency = concurrency
        self.poll_interval_s = poll_interval_s
        self.delivered = 0
        self.failed = 0
        self.dead = 0

    @property
    def name(self) -> str:
        """The destination."""
        return self.sender.name

    async def run_once(self) -> int:
        """Claim one batch of due messages and send them; return how many."""
        now = datetime.now(UTC)
        claimed = await asyncio.to_thread(
            self.outbox.claim_due_deliveries,
            now,
            self.concurrency,
            destination=self.name,
            lease_s=self.lease_s,
        )
        if claimed:
            await asyncio.gather(*(self._attempt(d) for d in claimed))
        return len(claimed)

    async def run(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Send until ``stop`` is set."""
        while not stop.is_set():
            reraise_if_cancelling()
            # Cleared before looking, so that a message stored meanwhile
            # wakes the next wait at once.
            wake.clear()
            try:
                sent = await self.run_once()
            except StoreError as exc:
                log.warning("delivery to %s: outbox unavailable (%s)", self.name, exc)
                sent = 0
            except Exception:
                # A bug must not end delivery: the messages stay leased and
                # are tried again when the lease runs out.
                log.exception("delivery to %s failed unexpectedly", self.name)
                sent = 0
            if sent:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, wake), self.poll_interval_s)

    async def _attempt(self, delivery: Delivery) -> None:
        started = time.monotonic()
        try:
            await asyncio.wait_for(
                self.sender.send(delivery), self.sender.timeout_s + 1.0
            )
        except (DeliveryError, TimeoutError) as exc:
            reraise_if_cancelling()
            error = str(exc) or f"{self.name}: no answer within the timeout"
            await self._failed(delivery, error, getattr(exc, "retry_after_s", None))
            return
        except Exception as exc:
            reraise_if_cancelling()
            log.exception("sending %s to %s failed", delivery.message_id, self.name)
            await self._failed(delivery, f"{type(exc).__name__}: {exc}", None)
            return
        now = datetime.now(UTC)
        await asyncio.to_thread(self.outbox.mark_delivered, delivery.id, now)
        self.delivered += 1
        log.info(
            "delivered %s %s (%s) to %s in %.2f s, attempt %d",
            delivery.msg_type,
            delivery.message_id,
            delivery.content_type,
            self.name,
            time.monotonic() - started,
            delivery.attempts,
        )

    async def _failed(
        self, delivery: Delivery, error: str, retry_after_s: float | None
    ) -> None:
        self.failed += 1
        now = datetime.now(UTC)
        if delivery.attempts >= self.retry.max_attempts:
            await asyncio.to_thread(self.outbox.mark_failed, delivery.id, error, None)
            self.dead += 1
            log.warning(
                "dead letter: %s %s to %s failed %d times (%s); "
                "`pantaulaut deliveries retry %s` sends it again",
                delivery.msg_type,
                delivery.message_id,
                self.name,
                delivery.attempts,
                error,
                delivery.id,
            )
            return
        delay_s = self.retry.delay_s(delivery.attempts)
        if retry_after_s is not None:
            delay_s = min(max(delay_s, retry_after_s), self.retry.max_s)
        await asyncio.to_thread(
            self.outbox.mark_failed,
            delivery.id,
            error,
            now + timedelta(seconds=delay_s),
        )
        log.info(
            "delivery of %s to %s failed (attempt %d: %s); next in %.1f s",
            delivery.message_id,
            self.name,
            delivery.attempts,
            error,
            delay_s,
        )


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class MqttSender:
    """Publishes outbox messages with QoS 1 and waits for the broker's PUBACK.

    One connection is kept open and made again after a failure; a message
    whose PUBACK did not come is tried again, so the broker may pass it on
    twice (subscribers drop repeats by the CAP identifier).

    Args:
        config: ``[delivery.mqtt]``.
    """

    name = "mqtt"

    def __init__(self, config: MqttDeliveryConfig) -> None:
        self.config = config
        self.settings = MqttSettings(
            host=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            tls=config.tls,
            ca_file=config.ca_file,
            client_id=config.client_id,
        )
        self._client: aiomqtt.Client | None = None
        self._connecting = asyncio.Lock()

    @property
    def timeout_s(self) -> float:
        """Connecting and waiting for the PUBACK."""
        return self.config.timeout_s * 2

    async def _connected(self) -> aiomqtt.Client:
        async with self._connecting:
            if self._client is None:
                client = self.settings.client()
                await asyncio.wait_for(client.__aenter__(), self.config.timeout_s)
                log.info(
                    "delivery: connected to MQTT %s:%d",
                    self.settings.host,
                    self.settings.port,
                )
                self._client = client
            return self._client

    async def send(self, delivery: Delivery) -> None:
        """Publish with QoS 1; return once the broker acknowledged it.

        Raises:
            DeliveryError: Not connected, refused, or no PUBACK in time.
        """
        try:
            client = await self._connected()
            await client.publish(
                delivery.topic,
                delivery.body.encode("utf-8"),
                qos=1,
                timeout=self.config.timeout_s,
            )
        except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
            reraise_if_cancelling()
            await self._drop()
            raise DeliveryError(
                self.name,
                f"broker {self.settings.host}:{self.settings.port}: "
                f"{exc or type(exc).__name__}",
            ) from exc

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.__aexit__(None, None, None), 2.0)

    async def aclose(self) -> None:
        """Disconnect."""
        await self._drop()


class DeliveryService:
    """The workers of every configured destination, and the sink feeding them.

    Args:
        outbox: The store's outbox.
        config: ``[delivery]``.
        senders: One per destination.
        sink: Turns alert changes into outbox messages (wakes the workers).
    """

    def __init__(
        self,
        outbox: Outbox,
        config: DeliveryConfig,
        senders: Sequence[Sender],
        sink: DeliverySink,
    ) -> None:
        self.outbox = outbox
        self.config = config
        self.senders = list(senders)
        self.sink = sink
        self.workers = []
        for sender in self.senders:
            section: WebhookConfig | MqttDeliveryConfig = (
                config.webhook if sender.name == "webhook" else config.mqtt
            )
            self.workers.append(
                DestinationWorker(
                    outbox,
                    sender,
                    RetryPolicy(
                        section.max_attempts,
                        section.backoff_base_s,
                        section.backoff_max_s,
                    ),
                    lease_s=config.lease_s,
                    concurrency=section.concurrency,
                    poll_interval_s=config.poll_interval_s,
                )
            )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        sink.on_enqueue = self.wake

    def wake(self) -> None:
        """New messages are in the outbox (may be called from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        log.info(
            "delivering alerts to %s",
            ", ".join(f"{k} {v}" for k, v in describe(self.config).items()),
        )
        tasks = [
            asyncio.create_task(w.run(stop, self._wake), name=f"delivery-{w.name}")
            for w in self.workers
        ]
        try:
            await stop.wait()
        finally:
            stop.set()
            self._wake.set()
            _, stuck = await asyncio.wait(tasks, timeout=max(5.0, self._longest()))
            for task in stuck:
                task.cancel()
            for sender in self.senders:
                with contextlib.suppress(Exception):
                    await sender.aclose()
            self._loop = None

    def _longest(self) -> float:
        return max((s.timeout_s for s in self.senders), default=0.0) + 1.0

    async def drain(self, time_limit_s: float) -> int:
        """Deliver until the outbox has nothing pending or the time is up.

        Returns:
            Messages still pending (0 when everything was delivered or
            became a dead letter).
        """
        stop = asyncio.Event()
        runner = asyncio.create_task(self.run(stop))
        deadline = time.monotonic() + time_limit_s
        try:
            while time.monotonic() < deadline and not runner.done():
                pending = await asyncio.to_thread(self.outbox.pending_deliveries)
                if pending == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await runner
        return await asyncio.to_thread(self.outbox.pending_deliveries)


class DeliveryThread:
    """Runs a :class:`DeliveryService` on an event loop of its own thread.

    For synchronous callers such as ``replay --deliver``: messages are sent
    while the replay goes on, and :meth:`finish` waits for the rest.
    """

    def __init__(self, service: DeliveryService) -> None:
        self.service = service
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="delivery", daemon=True)

    def start(self) -> None:
        """Start delivering."""
        self._thread.start()
        self._ready.wait(10.0)

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._ready.set()
            await self.service.run(self._stop)

        asyncio.run(main())

    def finish(self, time_limit_s: float) -> int:
        """Wait until nothing is pending or the time is up, then stop.

        Returns:
            Messages still pending.
        """
        deadline = time.monotonic() + time_limit_s
        outbox = self.service.outbox
        while time.monotonic() < deadline and self._thread.is_alive():
            if outbox.pending_deliveries() == 0:
                break
            time.sleep(0.1)
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30.0)
        return outbox.pending_deliveries()


def build_service(
    outbox: Outbox,
    config: DeliveryConfig,
    *,
    cap: CapSettings | None = None,
    zones: ZoneSet | None = None,
    vessel_lookup: Callable[[int], object] | None = None,
) -> DeliveryService:
    """Senders, workers and the sink for the configured destinations."""
    from pantaulaut.alerts.webhook import WebhookSender

    senders: list[Sender] = []
    if config.webhook.enabled:
        senders.append(WebhookSender(config.webhook))
    if config.mqtt.enabled:
        senders.append(MqttSender(config.mqtt))
    sink = DeliverySink(
        outbox,
        destinations_of(config),
        cap or config.cap_settings(),
        update_interval_s=config.update_interval_s,
        update_move_nm=config.update_move_nm,
        vessel_lookup=vessel_lookup,  # type: ignore[arg-type]
        zone_polygons=zone_polygon_lookup(zones.zones) if zones is not None else None,
    )
    return DeliveryService(outbox, config, senders, sink)


def attach_delivery(
    pipeline: Pipeline,
    config: DeliveryConfig,
    store: Store,
    *,
    status: str | None = None,
) -> DeliveryService:
    """Deliver a pipeline's alerts: its changes go to the outbox of ``store``.

    Args:
        pipeline: Its ``sinks`` gain the delivery sink.
        config: ``[delivery]``.
        store: A store with an outbox (SQLite and PostgreSQL have one).
        status: CAP status for these messages (``Exercise`` for a drill).

    Raises:
        DeliveryError: The store keeps no outbox.
    """
    if not isinstance(store, Outbox):
        raise DeliveryError("outbox", f"the store {type(store).__name__} has none")
    service = build_service(
        store,
        config,
        cap=config.cap_settings(status),
        zones=pipeline.zones.zones,
        vessel_lookup=pipeline.vessels.get,
    )
    pipeline.sinks.append(service.sink)
    return service


# ---------------------------------------------------------------------------
# The command line: pantaulaut deliveries list|retry|run|secret


def add_cli_commands(commands: Any) -> None:
    """Add ``deliveries`` to the ``pantaulaut`` command's subparsers."""
    deliveries = commands.add_parser(
        "deliveries", help="the outbox of messages to 112: list, retry, run"
    )
    actions = deliveries.add_subparsers(required=True, metavar="ACTION")

    def store_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", type=Path, help="TOML configuration file")
        parser.add_argument("--store", help="store URL (default: the configuration's)")

    listing = actions.add_parser("list", help="messages in the outbox")
    store_options(listing)
    listing.add_argument(
        "--state",
        choices=["pending", "delivered", "dead", "all", "undelivered"],
        default="undelivered",
        help="which messages (default: pending and dead)",
    )
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    listing.set_defaults(func=_list)

    retry = actions.add_parser("retry", help="send dead letters again")
    store_options(retry)
    retry.add_argument("ids", nargs="*", metavar="ID", help="ids from `list`")
    retry.add_argument("--all-dead", action="store_true", help="every dead letter")
    retry.set_defaults(func=_retry)

    run = actions.add_parser(
        "run", help="deliver what the outbox holds, then exit (e.g. after a crash)"
    )
    store_options(run)
    run.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        help="give up after this many seconds (default 300)",
    )
    run.set_defaults(func=_run, default_log_level="info")

    secret = actions.add_parser("secret", help="print a new webhook secret")
    secret.set_defaults(func=_secret)


def _outbox_store(args: argparse.Namespace) -> tuple[Store, DeliveryConfig]:
    from pantaulaut.config import load_config
    from pantaulaut.store.base import open_store

    config = load_config(args.config)
    store = open_store(args.store or config.store.url)
    if not isinstance(store, Outbox):
        store.close()
        raise DeliveryError("outbox", f"the store {type(store).__name__} has none")
    return store, config.delivery


def _list(args: argparse.Namespace) -> int:
    store, _ = _outbox_store(args)
    states: list[DeliveryState] | None
    if args.state == "all":
        states = None
    elif args.state == "undelivered":
        states = [DeliveryState.PENDING, DeliveryState.DEAD]
    else:
        states = [DeliveryState(args.state)]
    try:
        assert isinstance(store, Outbox)
        rows = store.deliveries(states=states, limit=args.limit)
    finally:
        store.close()
    for row in rows:
        if args.json:
            record = {
                "id": row.id,
                "message_id": row.message_id,
                "destination": row.destination,
                "alert_id": row.alert_id,
                "seq": row.seq,
                "msg_type": row.msg_type,
                "state": row.state.value,
                "attempts": row.attempts,
                "created": row.created.isoformat(),
                "next_attempt_at": (
                    row.next_attempt_at.isoformat() if row.next_attempt_at else None
                ),
                "delivered_at": (
                    row.delivered_at.isoformat() if row.delivered_at else None
                ),
                "last_error": row.last_error,
            }
            print(json.dumps(record))
            continue
        when = row.delivered_at or row.next_attempt_at or row.created
        print(
            f"{row.state.value:<9} {row.id}  {row.msg_type:<6} "
            f"attempts {row.attempts}  {when.isoformat(timespec='seconds')}"
            + (f"  {row.last_error}" if row.last_error else "")
        )
    if not args.json:
        print(f"{len(rows)} message(s)", file=sys.stderr)
    return 0


def _retry(args: argparse.Namespace) -> int:
    store, _ = _outbox_store(args)
    assert isinstance(store, Outbox)
    now = datetime.now(UTC)
    try:
        ids = list(args.ids)
        if args.all_dead:
            ids += [d.id for d in store.dead_letters(limit=100_000)]
        if not ids:
            print("pantaulaut: name dead letters by ID, or --all-dead", file=sys.stderr)
            return 2
        missing = [i for i in ids if not store.retry_dead_letter(i, now)]
    finally:
        store.close()
    for item in missing:
        print(f"pantaulaut: no dead letter {item}", file=sys.stderr)
    print(f"{len(ids) - len(missing)} dead letter(s) pending again")
    return 1 if missing else 0


def _run(args: argparse.Namespace) -> int:
    store, config = _outbox_store(args)
    assert isinstance(store, Outbox)
    try:
        if not config.active:
            print(
                "pantaulaut: no [delivery] destination is configured", file=sys.stderr
            )
            return 2
        service = build_service(store, config)
        left = asyncio.run(service.drain(args.time_limit))
    finally:
        store.close()
    return _report_left(left)


def _report_left(left: int) -> int:
    if left:
        print(
            f"pantaulaut: {left} message(s) not yet delivered; they stay in the "
            "outbox (`pantaulaut deliveries run` goes on)",
            file=sys.stderr,
        )
        return 3
    return 0


def _secret(args: argparse.Namespace) -> int:
    from pantaulaut.alerts.webhook import new_secret

    print(new_secret())
    return 0


class ReplayDelivery:
    """``replay --deliver``: the replay's alerts are delivered as it goes.

    Args:
        pipeline: The replay's pipeline.
        config: ``[delivery]``; some destination must be configured.
        store: The replay's store; None keeps the outbox in memory (what
            is not delivered before the replay exits is then lost).
        status: CAP status of the messages (``Exercise`` unless told).

    Raises:
        DeliveryError: No destination is configured.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        config: DeliveryConfig,
        store: Store | None,
        status: str = "Exercise",
    ) -> None:
        if not config.active:
            raise DeliveryError(
                "delivery",
                "--deliver needs a destination: [delivery.webhook] url, or "
                "[delivery.mqtt] enabled = true",
            )
        self._own: Store | None = None
        if store is None:
            from pantaulaut.store.sqlite import SqliteStore

            log.warning(
                "replay --deliver without --store: the outbox is in memory, and "
                "what is not delivered before the replay ends is lost"
            )
            store = self._own = SqliteStore(":memory:")
        self.service = attach_delivery(pipeline, config, store, status=status)
        self.thread = DeliveryThread(self.service)
        self.thread.start()
        self._left: int | None = None

    def finish(self, time_limit_s: float) -> int:
        """Wait until the outbox is empty or the time is up; then stop.

        Returns:
            Messages not delivered.
        """
        self._left = self.thread.finish(time_limit_s)
        return self._left

    def close(self) -> None:
        """Stop delivering (if :meth:`finish` was not called) and clean up."""
        if self._left is None:
            self._left = self.thread.finish(0.0)
        if self._own is not None:
            self._own.close()
            self._own = None

    @staticmethod
    def report(left: int) -> int:
        """Say what was not delivered; the exit status (3 when something was not)."""
        return _report_left(left)
