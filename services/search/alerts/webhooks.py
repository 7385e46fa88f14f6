"""Webhook URLs and signatures: which URLs Warta calls (:func:`check_webhook_url`), and how a call
is signed (:func:`sign`) and verified by a receiver (:func:`verify`). Pure but for DNS.

The payload, the headers and how a receiver verifies a call are documented in ``docs/alerts.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from shared.ssrf import BlockedUrl, SsrfGuard, Target

# Receivers should refuse a timestamp further than this from their clock (docs/alerts.md).
SIGNATURE_TOLERANCE_S = 300


class WebhookRefused(ValueError):
    """A webhook URL Warta will not call. ``reason`` is a short code (malformed, scheme, no_host,
    port, credentials, dns, private_address); the message says why in a sentence for the API client."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


_REFUSALS = {
    "malformed": "the URL is malformed ({detail})",
    "scheme": "only http and https URLs can be webhooks",
    "no_host": "the URL has no host",
    "port": "the port is not a number between 1 and 65535",
    "dns": "the host name does not resolve",
    "private_address": (
        "the host is or resolves to {detail}, a private, loopback, link-local, reserved or cloud-metadata address; "
        "an operator can allow a host:port with WARTA_WEBHOOK_ALLOW_HOSTS"
    ),
}


def check_webhook_url(url: str, guard: SsrfGuard) -> Target:
    """The checked, pinned target of a webhook URL, or :class:`WebhookRefused`. May block on DNS;
    a name that does not resolve is refused (it could never be delivered to)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise WebhookRefused("malformed", _REFUSALS["malformed"].format(detail=exc)) from exc
    if parts.username is not None or parts.password is not None:
        # They would be stored and shown in clear to every admin; the signature authenticates Warta.
        raise WebhookRefused("credentials", "credentials in the URL (user:password@) are not allowed")
    try:
        return guard.check(url)
    except BlockedUrl as exc:
        message = _REFUSALS.get(exc.reason, exc.reason).format(detail=exc.detail)
        if exc.reason == "dns" and exc.detail:
            message += f" ({exc.detail})"
        raise WebhookRefused(exc.reason, message) from exc


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Warta-Signature`` value: HMAC-SHA256 over ``timestamp + "." + body``."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, signature: str, body: bytes, now: float | None = None,
           tolerance_s: int = SIGNATURE_TOLERANCE_S) -> bool:  # fmt: skip
    """What a receiver does (docs/alerts.md): the signature matches and the timestamp is recent."""
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
