"""Digests on the real stack (Elasticsearch, a real SMTP server started by the test, a local chat
webhook receiver, and real ``warta search digests`` processes):

- the e-mail as received over STARTTLS with authentication: subject, sender, recipients, the
  text and HTML parts, the links to the articles and to Warta, the counts equal to a brute-force
  count of the matches in the period; the chat message with its links;
- a channel that fails is retried alone: the other is never sent twice;
- the sender killed (SIGKILL) mid-send, after the claim and before marking sent: after a restart
  the digest is delivered exactly once (killed before the message was handed over), or handed over
  again with the same Message-ID (killed after the server accepted it, before it was recorded);
- two schedulers at once: each digest once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from services.search.alerts.store import AlertIndices
from services.search.digests.runner import DigestRunner
from services.search.digests.store import DigestDeliveries
from services.search.index import ensure_index
from services.search.settings import DigestSettings
from shared.ssrf import SsrfGuard
from tests.digest_support import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpSink,
    just_ended_schedule,
    seed_monitor,
    self_signed_cert,
    wait_for,
)
from tests.pipeline import ES_URL, Namespace, Proc
from tests.webhooks import Receiver

pytestmark = [pytest.mark.elasticsearch]
ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts" / "test-logs"


@pytest.fixture
def prefix(es: Elasticsearch, namespace: Namespace) -> str:
    ensure_index(es, namespace.prefix)
    AlertIndices(namespace.prefix).ensure(es)
    DigestDeliveries(es, namespace.prefix).ensure()
    return namespace.prefix


@pytest.fixture
def chat() -> Iterator[Receiver]:
    receiver = Receiver(status=200)
    yield receiver
    receiver.close()


def _settings(prefix: str, smtp: SmtpSink, chat: Receiver, **extra: Any) -> DigestSettings:
    return DigestSettings(index_prefix=prefix, es_url=ES_URL, smtp_host="127.0.0.1", smtp_port=smtp.port,
                          smtp_from="Humas Warta <digest@humas.example>", public_url="https://warta.example",
                          webhook_allow_hosts=f"127.0.0.1:{chat.port}", **extra)  # fmt: skip


def test_email_and_chat_digest_as_received(es: Elasticsearch, prefix: str, chat: Receiver, tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    smtp = SmtpSink(tls=(cert, key)).start()
    try:
        settings = _settings(prefix, smtp, chat, smtp_security="starttls", smtp_ca_file=str(cert),
                             smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD)  # fmt: skip
        guard = SsrfGuard(allow_hosts=settings.webhook_allow_list)
        seeded = seed_monitor(es, prefix, "Pemkab Blora", {"email": ["kabag@blora.example", "humas@blora.example"],
                              "chat_webhook_url": chat.url}, just_ended_schedule(), guard)  # fmt: skip
        runner = DigestRunner(es, settings, guard)
        assert runner.run_once() == 1
        assert runner.run_once() == 0  # the same period again: nothing

        assert len(smtp.received) == 1
        got = smtp.received[0]
        assert got.tls and got.authenticated  # STARTTLS, then AUTH
        assert got.mail_from == "digest@humas.example"
        assert sorted(got.rcpt_tos) == ["humas@blora.example", "kabag@blora.example"]
        msg = got.message
        assert msg["From"] == "Humas Warta <digest@humas.example>"
        assert msg["To"] == "kabag@blora.example, humas@blora.example"
        day = seeded.period.end.strftime("%-d")
        assert msg["Subject"].startswith("[Warta] Pemkab Blora: 3 artikel, 2 cerita · " + day)
        assert msg["Message-ID"].startswith("<digest.") and msg["Message-ID"].endswith("@humas.example>")
        assert msg["X-Warta-Digest"] == f"{seeded.saved['id']}:{seeded.period.end:%Y%m%dT%H%MZ}"
        assert msg.get_content_type() == "multipart/alternative"
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        # brute force: exactly the articles matched in [start, end) and still in the index
        lead, copy, single = seeded.inside
        for a in (lead, single):
            assert a["url"] in text and f"https://warta.example/article/{a['id']}" in text
        for a in seeded.outside:
            assert a["id"] not in text and a["id"] not in html
        assert "3 artikel dalam 2 cerita" in text and "Nada: 1 positif, 1 netral, 1 negatif" in text
        assert "Dimuat 2 media: kabarjateng.example, suarablora.example" in text
        assert f'href="{lead["url"]}"' in html and f'href="{single["url"]}"' in html
        assert f'href="{copy["url"]}"' not in html  # a story is shown by its first report...
        assert "Dimuat 2 media: kabarjateng.example, suarablora.example" in html  # ...with who carried it
        assert "&lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&</b>" not in html
        # "see the matches" opens the monitor's matches (by matched_at), not a search by publication date
        matches_link = f"https://warta.example/monitors?monitor={seeded.saved['id']}"
        assert f'href="{matches_link}"' in html and matches_link in text and "/search?" not in html + text

        assert len(chat.received) == 1
        headers, body, _ = chat.received[0]
        payload = json.loads(body)
        assert headers["Content-Type"] == "application/json" and headers["User-Agent"] == "Warta-Digests/1"
        assert f"<{lead['url']}|Banjir Pemkab Blora nomor 0 &lt;b&gt;&amp;&lt;/b&gt;>" in payload["text"]
        assert "3 artikel dalam 2 cerita" in payload["text"]
        assert f"<{matches_link}|Lihat kecocokan monitor ini di Warta>" in payload["text"]

        doc = DigestDeliveries(es, prefix).get(msg["X-Warta-Digest"])
        assert doc is not None and doc["status"] == "sent" and (doc["articles"], doc["stories"]) == (3, 2)
        assert (
            doc["channels"]["email"]["message_id"] == msg["Message-ID"]
            and doc["channels"]["chat"]["status_code"] == 200
        )
    finally:
        smtp.stop()


def test_a_failing_channel_is_retried_alone(es: Elasticsearch, prefix: str, chat: Receiver) -> None:
    smtp = SmtpSink().start()
    try:
        settings = _settings(prefix, smtp, chat, smtp_security="none", digests_retry_base_s=0.2)
        guard = SsrfGuard(allow_hosts=settings.webhook_allow_list)
        seeded = seed_monitor(es, prefix, "Dinkes", {"email": ["dinkes@blora.example"], "chat_webhook_url": chat.url},
                              just_ended_schedule(), guard)  # fmt: skip
        chat.status = 500
        runner = DigestRunner(es, settings, guard)
        runner.run_once()
        key = f"{seeded.saved['id']}:{seeded.period.end:%Y%m%dT%H%MZ}"
        doc = DigestDeliveries(es, prefix).get(key)
        assert doc is not None and doc["status"] == "retrying" and doc["channels"]["chat"]["error"] == "HTTP 500"
        assert doc["channels"]["email"]["status"] == "sent" and len(smtp.received) == 1
        chat.status = 200
        wait_for(lambda: runner.run_once(), timeout=10, what="the retry")
        doc = DigestDeliveries(es, prefix).get(key)
        assert doc is not None and doc["status"] == "sent" and doc["attempts"] == 2
        assert len(smtp.received) == 1 and len(chat.received) == 2  # the e-mail was not sent again
        assert doc["channels"]["email"]["sends"] == 1 and doc["channels"]["chat"]["sends"] == 2
    finally:
        smtp.stop()


def _scheduler(ns: Namespace, smtp: SmtpSink, chat: Receiver, name: str, log_dir: Path) -> Proc:
    env = {**os.environ, **ns.env, "WARTA_SMTP_HOST": "127.0.0.1", "WARTA_SMTP_PORT": str(smtp.port), "WARTA_SMTP_SECURITY": "none",
           "WARTA_SMTP_FROM": "digest@humas.example", "WARTA_DIGESTS_POLL_S": "0.2", "WARTA_DIGESTS_LEASE_S": "2",
           "WARTA_WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{chat.port}", "WARTA_LOG_FORMAT": "text"}  # fmt: skip
    if name.endswith("-1"):
        shutil.rmtree(log_dir, ignore_errors=True)  # an earlier run's logs
    log_dir.mkdir(parents=True, exist_ok=True)
    proc = Proc(name, ["search", "digests"], env, log_dir / f"{name}.log")
    proc.start()
    return proc


@pytest.mark.parametrize("hold", ["rcpt", "data"])
def test_killed_mid_send_the_digest_is_delivered_once_after_restart(
    es: Elasticsearch, prefix: str, namespace: Namespace, chat: Receiver, hold: str, request: pytest.FixtureRequest
) -> None:
    smtp = SmtpSink(hold=hold).start()
    log_dir = ARTIFACTS / request.node.name
    procs: list[Proc] = []
    try:
        seeded = seed_monitor(es, prefix, "Bupati", {"email": ["bupati@blora.example"]}, just_ended_schedule())
        key = f"{seeded.saved['id']}:{seeded.period.end:%Y%m%dT%H%MZ}"
        procs.append(_scheduler(namespace, smtp, chat, "digests-1", log_dir))
        wait_for(smtp.reached.is_set, timeout=60, what=f"the sender to reach {hold.upper()}")
        doc = DigestDeliveries(es, prefix).get(key)
        assert doc is not None and doc["status"] == "sending" and doc["channels"]["email"]["status"] == "sending"
        procs[0].signal(signal.SIGKILL)  # after the claim, before "sent" is recorded
        assert procs[0].popen is not None and procs[0].popen.wait(10) == -signal.SIGKILL
        smtp.release.set()
        procs.append(_scheduler(namespace, smtp, chat, "digests-2", log_dir))

        def sent() -> dict[str, Any] | None:
            d = DigestDeliveries(es, prefix).get(key)
            return d if d is not None and d["status"] == "sent" else None

        doc = wait_for(sent, timeout=60, what="the digest to be sent after the restart")
        assert doc["attempts"] == 2 and doc["channels"]["email"]["sends"] == 2  # taken over after the lease
        ids = {r.message["Message-ID"] for r in smtp.received}
        assert ids == {doc["channels"]["email"]["message_id"]}  # one message, as a mail store sees it
        if hold == "rcpt":  # killed before the message was handed over: delivered exactly once
            assert len(smtp.received) == 1
        else:  # killed after the server kept it, before its answer: handed over again, same Message-ID
            assert len(smtp.received) == 2
        procs[1].stop()
        # and never again
        assert len(DigestDeliveries(es, prefix).list(seeded.saved["id"])) == 1
    finally:
        for p in procs:
            p.kill()
        smtp.stop()


def test_two_schedulers_at_once_send_each_digest_once(
    es: Elasticsearch, prefix: str, namespace: Namespace, chat: Receiver, request: pytest.FixtureRequest
) -> None:
    smtp = SmtpSink().start()
    log_dir = ARTIFACTS / request.node.name
    guard = SsrfGuard(allow_hosts=[f"127.0.0.1:{chat.port}"])
    procs: list[Proc] = []
    try:
        schedule = just_ended_schedule()
        seeded = [seed_monitor(es, prefix, f"Monitor {i}", {"email": [f"m{i}@blora.example"], "chat_webhook_url":
                               chat.url}, schedule, guard, n_inside=1) for i in range(5)]  # fmt: skip
        saved_index = AlertIndices(prefix).saved
        for m in seeded:  # paused while the schedulers start, so that both find them due at once
            es.update(index=saved_index, id=m.saved["id"], doc={"enabled": False})
        es.indices.refresh(index=saved_index)
        procs = [_scheduler(namespace, smtp, chat, f"digests-{i}", log_dir) for i in (1, 2)]
        for p in procs:
            wait_for(lambda p=p: "digest scheduler started" in p.log.read_text(), timeout=60, what="start-up")
        time.sleep(0.5)
        for m in seeded:
            es.update(index=saved_index, id=m.saved["id"], doc={"enabled": True})
        es.indices.refresh(index=saved_index)
        deliveries = DigestDeliveries(es, prefix)

        def all_sent() -> bool:
            es.indices.refresh(index=deliveries.index)
            hits = es.search(index=deliveries.index, size=100, query={"term": {"status": "sent"}})["hits"]["hits"]
            return len(hits) == len(seeded)

        wait_for(all_sent, timeout=90, what="every digest to be sent")
        before = (len(smtp.received), len(chat.received))
        time.sleep(1.5)  # several more polls of both: nothing more goes out
        assert (len(smtp.received), len(chat.received)) == before == (5, 5)
        assert sorted(r.rcpt_tos[0] for r in smtp.received) == [f"m{i}@blora.example" for i in range(5)]
        es.indices.refresh(index=deliveries.index)
        docs = [h["_source"] for h in es.search(index=deliveries.index, size=100)["hits"]["hits"]]
        assert len(docs) == 5 and all(d["attempts"] == 1 for d in docs)
        assert all(d["channels"]["email"]["sends"] == 1 and d["channels"]["chat"]["sends"] == 1 for d in docs)
    finally:
        for p in procs:
            p.kill()
        smtp.stop()
