"""A reference 112 receiver for the delivery tests: what a 112 system should do.

A small HTTP server on 127.0.0.1 (a port the system picks) that:

* verifies the Standard Webhooks signature of each POST, written here from
  the convention's text rather than with pantaulaut's own code, so that the
  two check each other (401 when it does not match);
* refuses a ``webhook-timestamp`` more than five minutes from its clock, so
  that a captured request cannot be replayed (401);
* keeps each ``webhook-id`` once: a repeat is answered 200 and counted, not
  kept again;
* records everything it accepted, and can be told to be down (the port
  closed), to answer 500, or to answer slowly.

Use it in a test as a context manager::

    with Receiver(secret) as receiver:
        ... deliver to receiver.url ...
        receiver.wait_for(5)
        assert len(receiver.messages) == 5
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_S = 300


@dataclass
class Received:
    """One accepted request."""

    message_id: str
    timestamp: int
    content_type: str
    body: bytes
    arrived: float


@dataclass
class Behaviour:
    """What the receiver does with the next requests."""

    fail_next: int = 0  # answer 500 to this many more requests
    fail_status: int = 500
    slow_next: int = 0  # answer this many more requests late (after keeping them)
    slow_s: float = 0.0
    retry_after: str | None = None


def verify_signature(
    secret: str, headers: Any, body: bytes, now: float
) -> tuple[str, int]:
    """The webhook id and timestamp of a request whose signature is right.

    Raises:
        PermissionError: Missing header, stale timestamp, or bad signature.
    """
    message_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    header = headers.get("webhook-signature")
    if not (message_id and stamp and header):
        raise PermissionError("missing webhook headers")
    if not stamp.isdigit():
        raise PermissionError("webhook-timestamp is not Unix seconds")
    timestamp = int(stamp)
    if abs(now - timestamp) > TOLERANCE_S:
        raise PermissionError("webhook-timestamp too old or too new: a replay?")
    if not secret.startswith("whsec_"):
        raise PermissionError("receiver misconfigured: secret must start whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    content = message_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for item in header.split(" "):
        version, _, signature = item.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return message_id, timestamp
    raise PermissionError("signature does not match")


@dataclass
class _State:
    secret: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    behaviour: Behaviour = field(default_factory=Behaviour)
    messages: dict[str, Received] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    requests: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    failed: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the records, not the log."""

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        with state.lock:
            state.requests += 1
            behaviour = state.behaviour
            if behaviour.fail_next > 0:
                behaviour.fail_next -= 1
                state.failed += 1
                status = behaviour.fail_status
                retry_after = behaviour.retry_after
            else:
                status = 0
                retry_after = None
        if status:
            self.send_response(status)
            if retry_after is not None:
                self.send_header("retry-after", retry_after)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        try:
            message_id, timestamp = verify_signature(
                state.secret, self.headers, body, time.time()
            )
        except PermissionError as exc:
            with state.lock:
                state.rejected.append(str(exc))
            self.send_response(401)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        with state.lock:
            if message_id in state.messages:
                state.duplicates += 1
            else:
                state.messages[message_id] = Received(
                    message_id,
                    timestamp,
                    self.headers.get("content-type", ""),
                    body,
                    time.monotonic(),
                )
                state.order.append(message_id)
            slow = 0.0
            if behaviour.slow_next > 0:
                behaviour.slow_next -= 1
                slow = behaviour.slow_s
        if slow:
            # Kept, but the answer comes after the sender gave up: it will
            # send again, and the repeat must be dropped.
            time.sleep(slow)
        try:
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, state: _State) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state


class Receiver:
    """The reference receiver.

    Args:
        secret: The shared ``whsec_`` secret.
        port: 0 to let the system pick one.
    """

    def __init__(self, secret: str, port: int = 0) -> None:
        self.state = _State(secret)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = port
        self._restart: threading.Timer | None = None

    # Lifecycle -----------------------------------------------------------

    def start(self) -> Receiver:
        """Listen (again, on the same port)."""
        server = _Server(self._port, self.state)
        self._port = server.server_port
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: connections are refused until :meth:`start`."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self._restart is not None:
            self._restart.cancel()
        self.stop()

    @property
    def port(self) -> int:
        """Where it listens."""
        return self._port

    @property
    def url(self) -> str:
        """The webhook URL."""
        return f"http://127.0.0.1:{self._port}/112/cap"

    # Faults ----------------------------------------------------------------

    def down_for(self, seconds: float) -> None:
        """Be down now, and up again after ``seconds``."""
        self.stop()
        self._restart = threading.Timer(seconds, self.start)
        self._restart.daemon = True
        self._restart.start()

    def fail(
        self, count: int, status: int = 500, retry_after: str | None = None
    ) -> None:
        """Answer the next ``count`` requests with ``status``."""
        with self.state.lock:
            self.state.behaviour.fail_next = count
            self.state.behaviour.fail_status = status
            self.state.behaviour.retry_after = retry_after

    def slow(self, count: int, seconds: float) -> None:
        """Keep the next ``count`` messages but answer ``seconds`` late."""
        with self.state.lock:
            self.state.behaviour.slow_next = count
            self.state.behaviour.slow_s = seconds

    # Records ---------------------------------------------------------------

    @property
    def messages(self) -> dict[str, Received]:
        """Accepted messages by webhook id (each once)."""
        with self.state.lock:
            return dict(self.state.messages)

    @property
    def order(self) -> list[str]:
        """Webhook ids in the order they first arrived."""
        with self.state.lock:
            return list(self.state.order)

    @property
    def duplicates(self) -> int:
        """Repeats dropped."""
        with self.state.lock:
            return self.state.duplicates

    @property
    def rejected(self) -> list[str]:
        """Why requests were refused (signature, timestamp)."""
        with self.state.lock:
            return list(self.state.rejected)

    @property
    def requests(self) -> int:
        """Every request, accepted or not."""
        with self.state.lock:
            return self.state.requests

    def wait_for(self, count: int, timeout_s: float = 30.0) -> bool:
        """Wait until ``count`` distinct messages arrived."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return True
            time.sleep(0.05)
        return len(self.messages) >= count
