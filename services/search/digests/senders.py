"""The digest channels: e-mail through the deployment's SMTP server, and chat through a
Slack-compatible incoming webhook. Both block; each raises :class:`SendError` with a short reason
for the delivery's log, and sends one message per call (no retry of its own: the run loop retries).
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import httpx

from services.search.alerts.webhooks import WebhookRefused, check_webhook_url
from services.search.digests.render import Rendered
from services.search.settings import DigestSettings
from shared.ssrf import SsrfGuard


class SendError(Exception):
    """A channel failed; the message (one line) goes to the delivery's log."""


def message_id(key: str, sender: str) -> str:
    """The ``Message-ID`` of a digest's e-mail: the same for every attempt of the same digest, so
    a mail store that sees it twice (a retry after a crash that followed the server's acceptance)
    can tell it is one message."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "warta.invalid"
    return f"<digest.{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


@dataclass(frozen=True)
class EmailResult:
    message_id: str
    refused: dict[str, str]  # recipients the server refused, with its answer (the others got it)


class EmailSender:
    """Sends a digest as one ``multipart/alternative`` message (text, then HTML) to every
    recipient, through ``WARTA_SMTP_HOST`` with STARTTLS (default), implicit TLS or none, and
    authentication when a user name is set. STARTTLS that the server does not offer is an error:
    the message never goes out in clear when TLS was asked for."""

    def __init__(self, settings: DigestSettings) -> None:
        self.s = settings

    def build(self, rendered: Rendered, recipients: list[str], key: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = rendered.subject
        msg["From"] = self.s.smtp_from
        msg["To"] = [Address(addr_spec=r) for r in recipients]
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id(key, self.s.smtp_from)
        msg["X-Warta-Digest"] = key
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
        msg.set_content(rendered.text)
        msg.add_alternative(rendered.html, subtype="html")
        return msg

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.s.smtp_ca_file)

    def send(self, rendered: Rendered, recipients: list[str], key: str) -> EmailResult:
        if not self.s.smtp_host:
            raise SendError("SMTP is not configured (set WARTA_SMTP_HOST for warta search digests)")
        msg = self.build(rendered, recipients, key)
        try:
            smtp: smtplib.SMTP
            if self.s.smtp_security == "implicit":
                smtp = smtplib.SMTP_SSL(self.s.smtp_host, self.s.smtp_port, timeout=self.s.smtp_timeout_s,
                                        context=self._context())  # fmt: skip
            else:
                smtp = smtplib.SMTP(self.s.smtp_host, self.s.smtp_port, timeout=self.s.smtp_timeout_s)
            with smtp:
                smtp.ehlo()
                if self.s.smtp_security == "starttls":
                    smtp.starttls(context=self._context())  # raises if the server does not offer it
                    smtp.ehlo()
                if self.s.smtp_username:
                    smtp.login(self.s.smtp_username, self.s.smtp_password or "")
                refused = smtp.send_message(msg, from_addr=parseaddr(self.s.smtp_from)[1], to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"every recipient refused: {_refusals(exc.recipients)}") from exc
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SendError(f"the SMTP server does not offer STARTTLS ({exc})") from exc
        except (smtplib.SMTPException, OSError) as exc:  # connection, TLS, timeout
            raise SendError(f"{type(exc).__name__}: {exc}"[:300]) from exc
        return EmailResult(str(msg["Message-ID"]), {r: _text(v[1]) for r, v in refused.items()})


def _text(value: bytes | str) -> str:
    return (value.decode(errors="replace") if isinstance(value, bytes) else str(value))[:200]


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{r} ({code} {_text(answer)})" for r, (code, answer) in recipients.items())[:300]


class ChatSender:
    """POSTs ``{"text": ...}`` (Slack mrkdwn) to a Slack-compatible incoming webhook, with the alert
    webhook's network rules: the URL is checked again and the connection made to the checked
    address, no proxy from the environment, no redirects, no kept-alive connection. Any 2xx is a
    delivery."""

    def __init__(self, guard: SsrfGuard, timeout_s: float = 10.0, verify: ssl.SSLContext | bool = True) -> None:
        self.guard = guard
        self.client = httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False,
                                   limits=httpx.Limits(max_keepalive_connections=0), verify=verify)  # fmt: skip

    def close(self) -> None:
        self.client.close()

    def send(self, rendered: Rendered, url: str, key: str) -> int:
        return self.post_text(rendered.chat, url, {"User-Agent": "Warta-Digests/1", "X-Warta-Digest": key})

    def post_text(self, text: str, url: str, headers: dict[str, str]) -> int:
        """POST ``{"text": text}`` to ``url`` with ``headers`` (a User-Agent, the message's key).
        Also what spike alerts to a monitor's chat channel go through (services/search/alerts/)."""
        try:
            target = check_webhook_url(url, self.guard)
        except WebhookRefused as exc:
            raise SendError(f"refused: {exc.message}"[:300]) from exc
        headers = {**headers, "Host": target.host_header()}
        try:
            request = self.client.build_request("POST", target.pinned_url(), json={"text": text},
                                                headers=headers, extensions=target.extensions())  # fmt: skip
            response = self.client.send(request, stream=True)
            response.close()
        except httpx.HTTPError as exc:
            raise SendError((f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:300]) from exc
        if not 200 <= response.status_code < 300:
            raise SendError(f"HTTP {response.status_code}")
        return response.status_code
