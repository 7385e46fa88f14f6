"""The digest scheduler: ``warta search digests``, a loop that sends every monitor's digest once
per period. Several may run at once (on several hosts, or two by mistake): each digest is claimed
in Elasticsearch by exactly one of them (:mod:`.store`).

Every ``digests_poll_s`` the loop

1. takes over digests whose sender died (lease expired) or whose retry is due, and finishes them;
2. for each enabled monitor with a schedule, computes the period that just ended
   (:func:`~.schedule.due_period`), skips it if its digest exists already (one ``mget`` for all),
   and otherwise claims and sends it: builds it from the monitor's matches, renders it and sends
   each channel, recording each channel's state before and after.

A channel that fails is retried after ``digests_retry_base_s`` × 1, 2, 4... up to
``digests_max_attempts`` attempts; the channels that went out are not sent again.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from prometheus_client import Counter

from services.search.alerts.store import AlertIndices, SavedSearchStore, now_utc
from services.search.digests.build import build_digest
from services.search.digests.config import Channels, Schedule
from services.search.digests.render import render
from services.search.digests.schedule import Period, digest_key, due_period
from services.search.digests.senders import ChatSender, EmailSender, SendError, message_id
from services.search.digests.store import Claim, DigestDeliveries, LostLease
from services.search.settings import DigestSettings
from shared.metrics import HEARTBEAT
from shared.process import beat
from shared.ssrf import SsrfGuard

log = logging.getLogger(__name__)

DIGESTS = Counter(
    "warta_digests",
    "Monitor digests: claimed (this scheduler created the digest), taken_over (a stalled or retrying one), "
    "then sent, retry, failed (after the last attempt), cancelled (monitor or schedule removed), lost_lease",
    ["outcome"],
)
DIGEST_SENDS = Counter("warta_digest_sends", "Digest messages sent per channel: ok or error", ["channel", "outcome"])


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class DigestRunner:
    """Finds due digests and sends them. Blocking; safe to run in several processes at once."""

    def __init__(self, es: Elasticsearch, settings: DigestSettings, guard: SsrfGuard | None = None,
                 chat: ChatSender | None = None) -> None:  # fmt: skip
        self.es = es
        self.s = settings
        self.saved = SavedSearchStore(es, settings.index_prefix, guard)
        self.deliveries = DigestDeliveries(es, settings.index_prefix)
        self.email = EmailSender(settings)
        self.chat = chat or ChatSender(guard or SsrfGuard(allow_hosts=settings.webhook_allow_list))
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def ensure(self) -> None:
        AlertIndices(self.s.index_prefix).ensure(self.es)
        self.deliveries.ensure()

    def close(self) -> None:
        self.chat.close()

    # --- finding work --------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> int:
        """One pass: recover, then claim and send what is due. Returns how many digests this
        process worked on. Raises Elasticsearch errors (the loop logs them and tries again)."""
        now = now or now_utc()
        done = 0
        for hit in self.deliveries.recoverable(now):
            attempts = int(hit["_source"].get("attempts") or 0) + 1
            claim = self.deliveries.take_over(hit, {"status": "sending", "owner": self.owner, "attempts": attempts,
                                                    "lease_until": self._lease(), "next_attempt_at": None})  # fmt: skip
            if claim is not None:
                DIGESTS.labels("taken_over").inc()
                log.info("digest taken over", extra={"digest": claim.key, "attempt": attempts,
                                                     "from_status": hit["_source"].get("status")})  # fmt: skip
                self.process(claim)
                done += 1
        due: list[tuple[str, dict[str, Any], Schedule, Period]] = []
        for saved in self.saved.list():
            if not saved.get("enabled", True) or not saved.get("schedule"):
                continue
            try:
                schedule = Schedule.model_validate(saved["schedule"])
            except ValueError as exc:  # stored by hand or by an older version: skip, say why
                log.warning("monitor %s has an invalid schedule: %s", saved["id"], exc)
                continue
            since = _time(saved.get("schedule_updated_at")) or _time(saved.get("created_at")) or now
            period = due_period(schedule, now, since)
            if period is not None:
                due.append((digest_key(saved["id"], period), saved, schedule, period))
        existing = self.deliveries.existing([k for k, *_ in due])
        for key, saved, _schedule, period in due:
            if key in existing:
                continue
            channels = Channels.model_validate(saved.get("channels") or {})
            claim = self.deliveries.claim({
                "id": key, "saved_search_id": saved["id"], "team": saved.get("team", "default"),
                "period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
                "status": "sending", "owner": self.owner, "lease_until": self._lease(), "attempts": 1,
                "created_at": now_utc().isoformat(),
                "channels": {name: {"status": "pending", "sends": 0} for name in channels.names()}, "log": [],
            })  # fmt: skip
            if claim is None:
                continue  # another scheduler claimed it between our mget and now
            DIGESTS.labels("claimed").inc()
            self.process(claim)
            done += 1
        return done

    def _lease(self) -> str:
        return (now_utc() + timedelta(seconds=self.s.digests_lease_s)).isoformat()

    # --- sending one digest ------------------------------------------------------------------

    def process(self, claim: Claim) -> None:
        """Send the channels of a claimed digest that have not gone out, then record the outcome.
        Never raises for a channel's failure; a lost lease stops it (logged)."""
        try:
            self._process(claim)
        except LostLease:
            DIGESTS.labels("lost_lease").inc()
            log.warning("digest taken over by another scheduler: this one stops", extra={"digest": claim.key})

    def _process(self, claim: Claim) -> None:
        doc = claim.doc
        saved = self.saved.get(doc["saved_search_id"])
        if saved is None or not saved.get("schedule"):
            self.deliveries.write(claim, {"status": "cancelled", "owner": None, "lease_until": None,
                                          "log": [*doc.get("log", []), self._entry(None, "monitor or schedule removed")]})  # fmt: skip
            DIGESTS.labels("cancelled").inc()
            return
        schedule = Schedule.model_validate(saved["schedule"])
        channels = Channels.model_validate(saved.get("channels") or {})
        period = Period(_time(doc["period_start"]), _time(doc["period_end"]))  # type: ignore[arg-type]
        digest = build_digest(self.es, self.s.index_prefix, self.s.alias, saved, schedule, period, claim.key,
                              self.s.public_url)  # fmt: skip
        rendered = render(digest)
        claim = self.deliveries.write(claim, {"articles": digest.article_count, "stories": digest.story_count})
        log_entries = list(doc.get("log", []))
        for name, state in (claim.doc.get("channels") or {}).items():
            if state.get("status") in ("sent", "cancelled"):
                continue
            if name not in channels.names():
                claim = self.deliveries.write(
                    claim, {"channels": {name: {"status": "cancelled", "at": now_utc().isoformat()}}}
                )
                continue
            # Record the attempt (and renew the lease) before sending: a crash from here on leaves
            # this channel "sending", which the scheduler that takes over sends again.
            sends = int(state.get("sends") or 0) + 1
            claim = self.deliveries.write(claim, {"lease_until": self._lease(), "channels": {
                name: {"status": "sending", "at": now_utc().isoformat(), "sends": sends}}})  # fmt: skip
            result: dict[str, Any]
            try:
                if name == "email":
                    sent = self.email.send(rendered, channels.email, claim.key)
                    result = {"status": "sent", "message_id": sent.message_id, "recipients": channels.email,
                              "refused": [f"{r}: {why}" for r, why in sent.refused.items()], "error": None}  # fmt: skip
                else:
                    code = self.chat.send(rendered, str(channels.chat_webhook_url), claim.key)
                    result = {"status": "sent", "status_code": code, "error": None}
                DIGEST_SENDS.labels(name, "ok").inc()
            except SendError as exc:
                DIGEST_SENDS.labels(name, "error").inc()
                result = {"status": "failed", "error": str(exc)}
                log_entries.append(self._entry(name, str(exc)))
                log.warning("digest channel failed", extra={"digest": claim.key, "channel": name, "error": str(exc)})
            result["at"] = now_utc().isoformat()
            claim = self.deliveries.write(claim, {"channels": {name: result}, "log": log_entries})
        states = [s.get("status") for s in (claim.doc.get("channels") or {}).values()]
        attempts = int(claim.doc.get("attempts") or 1)
        final: dict[str, Any] = {"lease_until": None}  # owner stays: who sent it last
        if all(s in ("sent", "cancelled") for s in states):
            final.update(status="sent", sent_at=now_utc().isoformat())
            outcome = "sent"
        elif attempts >= self.s.digests_max_attempts:
            final.update(status="failed")
            outcome = "failed"
        else:
            wait = self.s.digests_retry_base_s * 2 ** (attempts - 1)
            final.update(status="retrying", next_attempt_at=(now_utc() + timedelta(seconds=wait)).isoformat())
            outcome = "retry"
        self.deliveries.write(claim, final)
        DIGESTS.labels(outcome).inc()
        log.info("digest %s", outcome, extra={"digest": claim.key, "articles": digest.article_count,
                                              "stories": digest.story_count, "attempt": attempts})  # fmt: skip

    def _entry(self, channel: str | None, error: str) -> dict[str, Any]:
        return {"at": now_utc().isoformat(), "channel": channel, "owner": self.owner, "error": error[:500]}


def run(settings: DigestSettings, stop: Any) -> None:
    """The ``warta search digests`` process: :meth:`DigestRunner.run_once` every
    ``digests_poll_s`` until ``stop`` is set. Blocks. Elasticsearch trouble is logged and the
    pass tried again at the next poll."""
    from services.search.indexer import make_es, until_es_ready

    es = make_es(settings)
    runner = DigestRunner(es, settings, SsrfGuard(allow_hosts=settings.webhook_allow_list))
    try:
        if not until_es_ready(runner.ensure, settings, stop):
            return
        log.info("digest scheduler started", extra={"owner": runner.owner, "poll_s": settings.digests_poll_s})
        while not stop.is_set():
            try:
                runner.run_once()
            except Exception as exc:  # Elasticsearch unavailable, or a bug in one pass: try again
                log.warning("digest pass failed", extra={"error": repr(exc)})
            HEARTBEAT.beat()
            beat(settings.health_file)
            stop.wait(settings.digests_poll_s)
    finally:
        runner.close()
        es.close()


__all__ = ["DigestRunner", "message_id", "run"]
