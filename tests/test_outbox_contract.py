"""The delivery outbox contract: every store backend must pass these.

SQLite (file and memory), plain PostgreSQL and TimescaleDB, as in
``test_store_contract.py``; the server backends come from
``scripts/services``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pantaulaut.model import Alert, AlertKind, Severity
from pantaulaut.store.base import (
    Batch,
    Delivery,
    DeliveryState,
    Outbox,
    Store,
    open_store,
)

NOW = datetime(2026, 6, 17, 1, 0, tzinfo=UTC)

BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite-file": lambda request, tmp: f"sqlite:///{tmp / 'outbox.db'}",
    "sqlite-memory": lambda request, tmp: "sqlite://:memory:",
    "postgres": lambda request, tmp: request.getfixturevalue("postgres_schema_url"),
    "timescaledb": lambda request, tmp: request.getfixturevalue(
        "timescale_database_url"
    ),
}
SERVER_BACKENDS = {"postgres", "timescaledb"}


@pytest.fixture(
    params=[
        pytest.param(
            name, marks=[pytest.mark.services] if name in SERVER_BACKENDS else []
        )
        for name in sorted(BACKENDS)
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    return request.param, BACKENDS[request.param](request, tmp_path)


@pytest.fixture(
    params=[
        pytest.param(
            name, marks=[pytest.mark.services] if name in SERVER_BACKENDS else []
        )
        for name in sorted(BACKENDS)
        if name != "sqlite-memory"  # does not outlive its process or connection
    ]
)
def lasting_backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    return request.param, BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def store(backend: tuple[str, str]) -> Iterator[Store]:
    opened = open_store(backend[1])
    yield opened
    opened.close()


def outbox(store: Store) -> Outbox:
    assert isinstance(store, Outbox)
    return store


def row(
    alert: str,
    seq: int,
    *,
    destination: str = "webhook",
    priority: int = 4,
    created: datetime = NOW,
    msg_type: str = "Alert",
) -> Delivery:
    message_id = f"pl.{alert}.{seq}"
    return Delivery(
        id=f"{destination}:{message_id}",
        message_id=message_id,
        destination=destination,
        alert_id=alert,
        seq=seq,
        body=f"<alert>{alert} {seq}</alert>",
        content_type="application/cap+xml",
        created=created,
        msg_type=msg_type,
        reference=f"me,{message_id},2026-06-17T08:00:00+07:00",
        topic="" if destination == "webhook" else f"pl/112/cap/x/{alert}",
        priority=priority,
    )


def test_enqueue_is_idempotent_and_lists_oldest_first(store: Store) -> None:
    box = outbox(store)
    first = [row("a1", 1), row("a2", 1, created=NOW + timedelta(seconds=1))]
    assert box.enqueue_deliveries(first) == 2
    assert box.enqueue_deliveries([row("a1", 1), row("a1", 2)]) == 1
    listed = box.deliveries()
    assert [d.id for d in listed] == [
        "webhook:pl.a1.1",
        "webhook:pl.a1.2",
        "webhook:pl.a2.1",
    ]
    item = listed[0]
    assert item.state is DeliveryState.PENDING
    assert item.attempts == 0
    assert item.next_attempt_at == NOW
    assert item.body == "<alert>a1 1</alert>"
    assert item.reference == "me,pl.a1.1,2026-06-17T08:00:00+07:00"
    assert box.pending_deliveries() == 3
    assert box.enqueue_deliveries([]) == 0


def test_claim_gives_chain_heads_most_severe_first_and_counts_attempts(
    store: Store,
) -> None:
    box = outbox(store)
    box.enqueue_deliveries(
        [
            row("zone", 1, priority=4),
            row("zone", 2, priority=4, msg_type="Update"),
            row("sart", 1, priority=0, created=NOW + timedelta(seconds=5)),
            row("later", 1, created=NOW + timedelta(minutes=5)),
        ]
    )
    claimed = box.claim_due_deliveries(NOW + timedelta(seconds=10), 10, lease_s=30)
    # Only the first message of each alert, and not what is not yet due.
    assert [d.id for d in claimed] == ["webhook:pl.sart.1", "webhook:pl.zone.1"]
    assert [d.attempts for d in claimed] == [1, 1]
    # Claimed messages are leased: nobody gets them again meanwhile.
    assert box.claim_due_deliveries(NOW + timedelta(seconds=20), 10) == []
    # Delivered: the next message of the chain is due.
    box.mark_delivered("webhook:pl.zone.1", NOW + timedelta(seconds=11))
    after = box.claim_due_deliveries(NOW + timedelta(seconds=21), 10)
    assert [d.id for d in after] == ["webhook:pl.zone.2"]
    delivered = box.deliveries(states=[DeliveryState.DELIVERED])
    assert [d.id for d in delivered] == ["webhook:pl.zone.1"]
    assert delivered[0].delivered_at == NOW + timedelta(seconds=11)


def test_a_claim_whose_worker_died_is_claimed_again_after_the_lease(
    store: Store,
) -> None:
    box = outbox(store)
    box.enqueue_deliveries([row("a", 1)])
    (first,) = box.claim_due_deliveries(NOW, 5, lease_s=60)
    assert box.claim_due_deliveries(NOW + timedelta(seconds=59), 5) == []
    (again,) = box.claim_due_deliveries(NOW + timedelta(seconds=61), 5)
    assert again.id == first.id
    assert again.attempts == 2


def test_claim_respects_the_limit_and_the_destination(store: Store) -> None:
    box = outbox(store)
    box.enqueue_deliveries(
        [row(f"a{i}", 1) for i in range(5)]
        + [row(f"a{i}", 1, destination="mqtt") for i in range(5)]
    )
    webhook = box.claim_due_deliveries(NOW, 3, destination="webhook")
    assert len(webhook) == 3
    assert {d.destination for d in webhook} == {"webhook"}
    mqtt = box.claim_due_deliveries(NOW, 10, destination="mqtt")
    assert len(mqtt) == 5
    assert mqtt[0].topic == "pl/112/cap/x/a0"
    assert box.pending_deliveries("webhook") == 5
    assert box.pending_deliveries("mqtt") == 5


def test_failures_wait_then_become_dead_letters_that_can_be_retried(
    store: Store,
) -> None:
    box = outbox(store)
    box.enqueue_deliveries([row("a", 1), row("a", 2, msg_type="Cancel")])
    (item,) = box.claim_due_deliveries(NOW, 5)
    box.mark_failed(item.id, "HTTP 500", NOW + timedelta(seconds=30))
    assert box.claim_due_deliveries(NOW + timedelta(seconds=29), 5) == []
    (item,) = box.claim_due_deliveries(NOW + timedelta(seconds=30), 5)
    assert item.attempts == 2
    assert item.last_error == "HTTP 500"
    box.mark_failed(item.id, "HTTP 503", None)
    (dead,) = box.dead_letters()
    assert (dead.id, dead.state, dead.last_error) == (
        "webhook:pl.a.1",
        DeliveryState.DEAD,
        "HTTP 503",
    )
    # A dead letter does not hold up the rest of the chain.
    (cancel,) = box.claim_due_deliveries(NOW + timedelta(seconds=31), 5)
    assert cancel.id == "webhook:pl.a.2"
    assert box.pending_deliveries() == 1
    assert box.retry_dead_letter("webhook:pl.a.1", NOW + timedelta(minutes=1))
    assert not box.retry_dead_letter("webhook:pl.a.1", NOW)
    assert not box.retry_dead_letter("webhook:nothing", NOW)
    assert box.dead_letters() == []
    pending = box.deliveries(states=[DeliveryState.PENDING], alert_id="a")
    (retried,) = [d for d in pending if d.seq == 1]
    assert retried.attempts == 0
    assert retried.next_attempt_at == NOW + timedelta(minutes=1)


def test_a_late_failure_does_not_revive_a_delivered_message(store: Store) -> None:
    box = outbox(store)
    box.enqueue_deliveries([row("a", 1)])
    (item,) = box.claim_due_deliveries(NOW, 5)
    box.mark_delivered(item.id, NOW)
    box.mark_failed(item.id, "late timeout", None)
    (kept,) = box.deliveries()
    assert kept.state is DeliveryState.DELIVERED


def test_outbox_rows_are_written_with_the_alert_in_one_batch(store: Store) -> None:
    alert = Alert(
        id="a1", kind=AlertKind.SART_ACTIVE, severity=Severity.CRITICAL, time=NOW
    )
    batch = Batch(deliveries=[row("a1", 1)])
    assert not batch.is_empty()
    batch.alerts[alert.id] = alert
    store.write(batch)
    store.write(Batch(deliveries=[row("a1", 1), row("a1", 2)]))
    assert [a.id for a in store.alerts()] == ["a1"]
    assert [d.seq for d in outbox(store).deliveries(alert_id="a1")] == [1, 2]


def test_rows_survive_a_restart(lasting_backend: tuple[str, str]) -> None:
    _, url = lasting_backend
    first = open_store(url)
    outbox(first).enqueue_deliveries([row("a", 1), row("b", 1)])
    outbox(first).claim_due_deliveries(NOW, 1, lease_s=10)
    first.close()
    again = open_store(url)
    try:
        box = outbox(again)
        assert box.pending_deliveries() == 2
        (late,) = box.claim_due_deliveries(NOW, 5)
        assert late.alert_id == "b"
        assert [d.alert_id for d in box.claim_due_deliveries(NOW + timedelta(11), 5)]
    finally:
        again.close()


def test_two_workers_never_claim_the_same_message(
    lasting_backend: tuple[str, str],
) -> None:
    _, url = lasting_backend
    stores = [open_store(url) for _ in range(2)]
    try:
        outbox(stores[0]).enqueue_deliveries([row(f"a{i}", 1) for i in range(40)])
        claimed: list[list[str]] = [[], []]
        start = threading.Barrier(2)

        def worker(index: int) -> None:
            start.wait()
            while batch := outbox(stores[index]).claim_due_deliveries(NOW, 3):
                claimed[index] += [d.id for d in batch]

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not set(claimed[0]) & set(claimed[1])
        assert len(claimed[0]) + len(claimed[1]) == 40
    finally:
        for opened in stores:
            opened.close()
