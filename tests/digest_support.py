"""What the digest tests share: a real SMTP server (aiosmtpd, in a thread of the test process,
optionally with STARTTLS and AUTH, and able to hold a transaction at RCPT or DATA so a test can
kill the sender mid-send), a self-signed certificate, and a monitor with articles and matches
seeded in Elasticsearch for a period that has just ended."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from elasticsearch import Elasticsearch

from services.search.alerts.store import AlertIndices, SavedSearchStore
from services.search.digests.config import Schedule
from services.search.digests.schedule import Period, latest_boundary, period_ending
from shared.settings import articles_alias
from shared.ssrf import SsrfGuard
from tests.pipeline import free_port

SMTP_USER, SMTP_PASSWORD = "humas", "rahasia-smtp-uji"


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (openssl)."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)  # fmt: skip
    return cert, key


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    authenticated: bool
    tls: bool

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts in ``received``. ``hold``
    ("rcpt" or "data") makes the first transaction wait at that command (for DATA: after the
    message was kept, before the answer) until ``release`` is set; ``reached`` is set when it
    gets there."""

    tls: tuple[Path, Path] | None = None
    hold: str | None = None
    received: list[Received] = field(default_factory=list)
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def start(self) -> SmtpSink:
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if self.tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            kwargs = {"tls_context": ctx, "require_starttls": True, "auth_required": True,
                      "authenticator": self._authenticate}  # fmt: skip
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.controller.stop()

    @staticmethod
    def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)

    async def _wait_if(self, stage: str) -> None:
        if self.hold == stage and not self.reached.is_set():
            self.reached.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        envelope.rcpt_tos.append(address)
        await self._wait_if("rcpt")
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content),
                                      bool(session.authenticated), session.ssl is not None))  # fmt: skip
        await self._wait_if("data")
        return "250 Message accepted for delivery"


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Seeded:
    saved: dict[str, Any]
    period: Period
    inside: list[dict[str, Any]]  # the articles matched in the period (what the digest must list)
    outside: list[dict[str, Any]]  # matched before or after it, or removed since


def just_ended_schedule(minutes_ago: int = 2) -> Schedule:
    """A daily schedule (UTC) whose latest time was a few minutes ago: its digest is due now."""
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return Schedule(time=f"{at:%H:%M}", timezone="UTC")


def seed_monitor(es: Elasticsearch, prefix: str, name: str, channels: dict[str, Any], schedule: Schedule,
                 guard: SsrfGuard | None = None, n_inside: int = 3) -> Seeded:  # fmt: skip
    """A monitor with ``schedule`` set a day before its latest time, articles in the index and
    matches: ``n_inside`` in the period that has just ended (two of them one story), one before it,
    one after its end, one whose article was removed."""
    store = SavedSearchStore(es, prefix, guard)
    saved = store.create(name, "banjir", None, schedule=schedule.model_dump(), channels=channels)
    period = period_ending(schedule, latest_boundary(schedule, datetime.now(UTC)))
    es.update(index=AlertIndices(prefix).saved, id=saved["id"], refresh=True,
              doc={"schedule_updated_at": (period.start - timedelta(hours=1)).isoformat()})  # fmt: skip
    tag = saved["id"][:6]

    def article(n: int, matched_at: datetime, story: str | None = None, index: bool = True) -> dict[str, Any]:
        outlet = ("suarablora.example", "kabarjateng.example")[n % 2]
        doc = {"id": f"{tag}-a{n}", "title": f"Banjir {name} nomor {n} <b>&</b>", "body": "Banjir di Blora.",
               "source": outlet, "url": f"https://{outlet}/berita/{tag}-{n}",
               "published_at": (matched_at - timedelta(minutes=30 - n)).isoformat(),
               "ingested_at": matched_at.isoformat(), "summary": [f"Ringkasan artikel {n}."],
               "story_id": story or f"{tag}-a{n}", "tone": {"label": ("negative", "neutral", "positive")[n % 3]}}  # fmt: skip
        if index:
            es.index(index=articles_alias(prefix), id=doc["id"], document=doc)
        es.index(index=AlertIndices(prefix).matches, id=f"{saved['id']}:{doc['id']}", document={
            "saved_search_id": saved["id"], "team": "default", "article_id": doc["id"],
            "matched_at": matched_at.isoformat(), "published_at": doc["published_at"], "title": doc["title"],
            "url": doc["url"], "source": outlet, "outlet": None})  # fmt: skip
        return doc

    inside = [article(n, period.start + timedelta(hours=1 + n), story=f"{tag}-story" if n < 2 else None)
              for n in range(n_inside)]  # fmt: skip
    outside = [
        article(90, period.start - timedelta(seconds=1)),
        article(91, period.end),  # the end is exclusive: the next digest's
        article(92, period.start + timedelta(minutes=5), index=False),  # removed since it matched
    ]
    es.indices.refresh(index=f"{prefix}*")
    return Seeded(saved, period, inside, outside)
