"""Operators' acts on live alerts, carried from the dashboard to the pipeline.

The dashboard is served from a thread of its own; the pipeline and its
:class:`~pantaulaut.alerts.book.AlertBook` belong to the service's asyncio
loop and must only be changed there. :class:`DeskActions` is the bridge: a
dashboard callback calls, say, :meth:`DeskActions.acknowledge`, which hands
the act to the loop, waits for the pipeline's answer, writes the change to
the store at once (rather than at the next flush) and returns the alert as
it now stands, or raises :class:`~pantaulaut.errors.DeskActionError` naming why
the act was not done.

A change made here is emitted like any other: stored, published and queued
for 112, with an entry in the alert's audit trail naming the operator. The
time of the act is the pipeline's clock, which is the wall clock in the
live service.

A process that runs no pipeline (a dashboard on its own) has no
:class:`DeskActions`; the desk then shows the alerts and refuses every act.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pantaulaut.alerts.book import AlertChange
from pantaulaut.errors import DeskActionError
from pantaulaut.model import Alert
from pantaulaut.pipeline import Pipeline

__all__ = ["ACTIONS", "ActionResult", "DeskActions", "Flushable", "refuse_unavailable"]

log = logging.getLogger(__name__)

ACTIONS = ("acknowledge", "assign", "comment", "resolve")
"""The acts an operator may take on an alert."""

_DEFAULT_TIMEOUT_S = 10.0


class Flushable(Protocol):
    """A store that writes in the background and can be waited for."""

    def flush(self, timeout_s: float = 60.0) -> bool:
        """Wait until what was handed to the store is written."""
        ...


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an act did.

    Attributes:
        alert: A copy of the alert after the act.
        action: The change recorded (``acknowledged``, ``assigned``,
            ``commented`` or ``resolved``).
        stored: True when the change was written to the store before the
            call returned; False when the store was slow (it follows).
    """

    alert: Alert
    action: str
    stored: bool


def refuse_unavailable(alert_id: str) -> DeskActionError:
    """The error for an act asked of a process that runs no pipeline."""
    return DeskActionError(
        alert_id,
        "unavailable",
        "no pipeline runs in this process: alerts can be seen here but are "
        "acted on at the desk of the service that raised them",
    )


class DeskActions:
    """Thread-safe acts on the alerts of a pipeline that runs on an event loop.

    Args:
        pipeline: The live pipeline.
        loop: The event loop the pipeline runs on.
        store: The pipeline's store when it writes in the background (the
            service's spooling store): each act waits for its change to be
            written, so that the desk reading the store sees it.
        timeout_s: How long an act waits for the loop, then for the store.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        loop: asyncio.AbstractEventLoop,
        store: Flushable | None = None,
        *,
        timeout_s: float = _DEFAULT_TIMEOUT_S,
    ) -> None:
        self.pipeline = pipeline
        self.loop = loop
        self.store = store
        self.timeout_s = timeout_s

    def acknowledge(self, alert_id: str, actor: str, note: str = "") -> ActionResult:
        """The operator ``actor`` takes the alert on.

        Raises:
            DeskActionError: Unknown or closed alert, already acknowledged, or
                the pipeline is not running.
        """
        actor = _named(alert_id, actor, "actor")
        return self._act(
            alert_id,
            actor,
            "acknowledge",
            lambda: self.pipeline.acknowledge(alert_id, actor, note.strip()),
        )

    def assign(self, alert_id: str, actor: str, assignee: str) -> ActionResult:
        """The operator ``actor`` hands the alert to the desk user ``assignee``.

        Raises:
            DeskActionError: Unknown or closed alert, an empty name, or the
                pipeline is not running.
        """
        actor = _named(alert_id, actor, "actor")
        name = _named(alert_id, assignee, "assignee")
        return self._act(
            alert_id,
            actor,
            "assign",
            lambda: self.pipeline.assign(alert_id, actor, name),
        )

    def comment(self, alert_id: str, actor: str, text: str) -> ActionResult:
        """The operator ``actor`` adds a remark to the alert's audit trail.

        Raises:
            DeskActionError: Unknown or closed alert, an empty text, or the
                pipeline is not running.
        """
        actor = _named(alert_id, actor, "actor")
        remark = _named(alert_id, text, "comment")
        return self._act(
            alert_id,
            actor,
            "comment",
            lambda: self.pipeline.comment(alert_id, actor, remark),
        )

    def resolve(self, alert_id: str, actor: str, note: str = "") -> ActionResult:
        """The operator ``actor`` closes the alert.

        Raises:
            DeskActionError: Unknown or already resolved alert, or the pipeline
                is not running.
        """
        actor = _named(alert_id, actor, "actor")
        return self._act(
            alert_id,
            actor,
            "resolve",
            lambda: self.pipeline.resolve(alert_id, actor, note.strip()),
        )

    def _act(
        self,
        alert_id: str,
        actor: str,
        verb: str,
        call: Callable[[], AlertChange],
    ) -> ActionResult:
        try:
            if self._on_loop_thread():
                # Called from the loop itself (a task, a test): no hand-over,
                # and no waiting for the store, which would hold the loop.
                alert, action, _ = self._apply(call)
                return ActionResult(alert, action, stored=False)
            done = self._on_loop(alert_id, call)
        except KeyError:
            raise DeskActionError(
                alert_id,
                "unknown_alert",
                f"no open alert has the id {alert_id!r}: it may have been "
                "resolved meanwhile",
            ) from None
        except ValueError as exc:
            raise DeskActionError(
                alert_id, "not_allowed", f"cannot {verb}: {exc}"
            ) from exc
        result = self._stored(done)
        log.info("alert %s: %s by %s", alert_id, result.action, actor)
        return result

    def _on_loop(
        self, alert_id: str, call: Callable[[], AlertChange]
    ) -> tuple[Alert, str, bool]:
        """Run ``call`` on the loop's thread and wait for its outcome."""
        future: concurrent.futures.Future[tuple[Alert, str, bool]] = (
            concurrent.futures.Future()
        )

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return  # the caller gave up waiting: do nothing late
            try:
                future.set_result(self._apply(call))
            except Exception as exc:  # handed to the waiting thread
                future.set_exception(exc)

        if self.loop.is_closed() or not self.loop.is_running():
            raise _stopped(alert_id)
        try:
            self.loop.call_soon_threadsafe(work)
        except RuntimeError:
            raise _stopped(alert_id) from None
        try:
            return future.result(self.timeout_s)
        except concurrent.futures.TimeoutError:
            if future.cancel():
                raise DeskActionError(
                    alert_id,
                    "timeout",
                    f"the pipeline did not answer within {self.timeout_s:g} s; "
                    "nothing was recorded",
                ) from None
        try:
            # It started just as the wait ended: its outcome follows shortly.
            return future.result(self.timeout_s)
        except concurrent.futures.TimeoutError:
            raise DeskActionError(
                alert_id,
                "timeout",
                "the pipeline took the act but has not finished it; look at "
                "the alert again before acting twice",
            ) from None

    def _apply(self, call: Callable[[], AlertChange]) -> tuple[Alert, str, bool]:
        """Run the act on the loop's thread and hand its change to the store."""
        change = call()
        written = True
        try:
            # At once, not at the next flush: the desk reads the store.
            self.pipeline.flush()
        except Exception:
            written = False
            log.exception("alert %s: change kept for the next write", change.alert.id)
        return copy.deepcopy(change.alert), change.action, written

    def _stored(self, done: tuple[Alert, str, bool]) -> ActionResult:
        alert, action, written = done
        if written and self.store is not None:
            written = self.store.flush(self.timeout_s)
            if not written:
                log.warning(
                    "alert %s: %s not yet in the store after %g s",
                    alert.id,
                    action,
                    self.timeout_s,
                )
        return ActionResult(alert, action, written)

    def _on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False


def _named(alert_id: str, value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise DeskActionError(
            alert_id, f"empty_{what}", f"the {what} must not be empty"
        )
    return text


def _stopped(alert_id: str) -> DeskActionError:
    return DeskActionError(
        alert_id,
        "unavailable",
        "the pipeline of this process is not running (stopping or stopped)",
    )
