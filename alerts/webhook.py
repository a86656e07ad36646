"""Signed webhooks, as the Standard Webhooks convention writes them.

Each POST carries three headers:

``webhook-id``
    The message's stable id (its CAP identifier): the same on every retry,
    so that the receiver can drop repeats.
``webhook-timestamp``
    Unix seconds when this attempt was made; receivers refuse ones too old
    (five minutes is usual), so that a captured request cannot be replayed.
``webhook-signature``
    ``v1,`` + base64 of HMAC-SHA256 over ``<id>.<timestamp>.<body>`` with
    the key of the shared secret. The secret is written ``whsec_`` + base64
    of the key. Several space-separated signatures may appear while a secret
    is being changed; one matching is enough.

A 2xx answer within the timeout means the receiver has the message; any
other answer, a timeout or a refused connection is a failed attempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import httpx

from pantaulaut.alerts.delivery import WebhookConfig, signing_key
from pantaulaut.errors import DeliveryError
from pantaulaut.store.base import Delivery

__all__ = [
    "TOLERANCE_S",
    "WebhookSender",
    "new_secret",
    "sign",
    "signature_headers",
    "verify",
]

log = logging.getLogger(__name__)

# Receivers refuse timestamps further than this from their clock.
TOLERANCE_S = 300
_USER_AGENT = "pantaulaut-delivery/1"


def new_secret(key_bytes: int = 32) -> str:
    """A fresh secret, ``whsec_`` + base64 of random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(key_bytes)).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) of one request."""
    key = signing_key(secret)
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(
    secret: str, message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    when = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(when),
        "webhook-signature": sign(secret, message_id, when, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = TOLERANCE_S,
    now: float | None = None,
) -> str:
    """Check a received request; return its ``webhook-id``.

    Args:
        secret: The shared secret, ``whsec_...``.
        headers: The request's headers (names in lower case).
        body: The raw body, exactly as received.
        tolerance_s: Oldest (and furthest in the future) timestamp accepted.
        now: Unix time now; the clock by default.

    Raises:
        ValueError: A header is missing, the timestamp is out of tolerance,
            or no signature matches.
    """
    try:
        message_id = headers["webhook-id"]
        stamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"]
    except KeyError as exc:
        msg = f"missing header {exc.args[0]}"
        raise ValueError(msg) from None
    try:
        timestamp = int(stamp)
    except ValueError:
        msg = f"webhook-timestamp {stamp!r} is not Unix seconds"
        raise ValueError(msg) from None
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance_s:
        msg = f"webhook-timestamp {timestamp} is more than {tolerance_s} s off"
        raise ValueError(msg)
    expected = sign(secret, message_id, timestamp, body).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return message_id
    msg = "no signature matches"
    raise ValueError(msg)


class WebhookSender:
    """Sends outbox messages to one webhook URL.

    Args:
        config: ``[delivery.webhook]``.
        transport: An httpx transport to use instead of the network (tests).
    """

    name = "webhook"

    def __init__(
        self, config: WebhookConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.url = config.url
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            follow_redirects=False,
            trust_env=config.use_env_proxy,
            transport=transport,
            headers={"user-agent": _USER_AGENT},
        )

    @property
    def timeout_s(self) -> float:
        """Longest one attempt may take."""
        return self.config.timeout_s + self.config.connect_timeout_s

    async def send(self, delivery: Delivery) -> None:
        """POST one message, signed.

        Raises:
            DeliveryError: No 2xx answer within the timeout.
        """
        body = delivery.body.encode("utf-8")
        headers = signature_headers(self.config.secret, delivery.message_id, body)
        headers["content-type"] = f"{delivery.content_type}; charset=utf-8"
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                self.name, f"no answer within the timeout ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(
                self.name, f"{type(exc).__name__}: {exc or 'connection failed'}"
            ) from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(
                self.name,
                f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                _retry_after(response.headers.get("retry-after")),
            )

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delay or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
