"""Saved searches and alerts: the alerts consumer (``warta search alerts``) and what it shares with
the search API.

- :mod:`.store`: saved searches, matches and deliveries in Elasticsearch (the API's CRUD).
- :mod:`.webhooks`: which webhook URLs are called, and the signature of a call.
- :mod:`.matching`: matching a batch of indexed articles against every saved search, isolating
  the ones Elasticsearch rejects, recording matches and deliveries idempotently.
- :mod:`.es`: the Elasticsearch side of the matching.
- :mod:`.spikes`: spike alerts: the detector (pure) and the check that records one webhook
  delivery per monitor and spiking window (a thread of the consumer).
- :mod:`.consumer`: the process: ``articles.indexed`` in batches -> matching -> commit, with the
  webhook dispatcher thread (:mod:`.dispatcher`).

The payload, the headers, the retry schedule and how a receiver verifies a call are documented in
``docs/alerts.md``.
"""

from services.search.alerts.dispatcher import MAX_ATTEMPTS, MAX_BACKOFF_S, WebhookDispatcher
from services.search.alerts.store import (
    DELIVERY_STATE_RESET,
    QUERY_STATE_RESET,
    AlertIndices,
    SavedSearchStore,
    now_utc,
)
from services.search.alerts.webhooks import SIGNATURE_TOLERANCE_S, WebhookRefused, check_webhook_url, sign, verify

__all__ = [
    "DELIVERY_STATE_RESET",
    "MAX_ATTEMPTS",
    "MAX_BACKOFF_S",
    "QUERY_STATE_RESET",
    "SIGNATURE_TOLERANCE_S",
    "AlertIndices",
    "SavedSearchStore",
    "WebhookDispatcher",
    "WebhookRefused",
    "check_webhook_url",
    "now_utc",
    "sign",
    "verify",
]
