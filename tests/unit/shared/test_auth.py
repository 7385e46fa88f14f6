"""shared/auth.py without a network: the key cache is bounded and drops everything when told to,
a disabled bootstrap key stays disabled, and authentication refuses guesses from an address over
its failure limit without a lookup (Redis and Elasticsearch are replaced by fakes)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import NotFoundError

from shared.auth import Authenticator, AuthError, KeyStore, hash_key

META = ApiResponseMeta(status=404, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                       node=NodeConfig("http", "localhost", 9200))  # fmt: skip


class FakeES:
    """Just enough of Elasticsearch for KeyStore: get and index by id."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.gets = 0

    def get(self, index: str, id: str, **kwargs: Any) -> dict[str, Any]:
        self.gets += 1
        if id not in self.docs:
            raise NotFoundError("not found", META, {})
        return {"_id": id, "_source": self.docs[id]}

    def index(self, index: str, id: str, document: dict[str, Any], **kwargs: Any) -> None:
        self.docs[id] = document


def store(es: FakeES, **kwargs: Any) -> KeyStore:
    return KeyStore(es, "t-", **kwargs)  # type: ignore[arg-type]


def test_the_key_cache_is_bounded_for_unknown_and_valid_keys() -> None:
    es = FakeES()
    keys = store(es, max_cached=10)
    valid = [keys.create("k", "reader")[0] for _ in range(30)]
    for i in range(500):
        assert keys.verify(f"wk_guess_{i}") is None
    for k in valid:
        assert keys.verify(k) is not None
    assert keys.cache_sizes() == (10, 10)


def test_unknown_keys_are_cached_briefly_and_valid_ones_until_invalidated() -> None:
    es = FakeES()
    keys = store(es, negative_cache_s=60)
    key, info = keys.create("k", "admin")
    assert keys.verify("wk_nope") is None and keys.verify("wk_nope") is None
    assert keys.verify(key) == info and keys.verify(key) == info
    assert es.gets == 2  # one lookup each; the repeats came from the cache
    keys.invalidate()  # another process created or disabled a key
    assert keys.cached(key) == (False, None) and keys.recently_valid(key)
    assert keys.verify(key) == info and es.gets == 3


def test_a_disabled_bootstrap_admin_key_stays_disabled() -> None:
    es = FakeES()
    keys = store(es)
    keys.bootstrap_admin("wk_bootstrap_admin_key_0123456789abcdef")
    h = hash_key("wk_bootstrap_admin_key_0123456789abcdef")
    es.docs[h]["disabled"] = True
    keys.invalidate()
    keys.bootstrap_admin("wk_bootstrap_admin_key_0123456789abcdef")
    assert es.docs[h]["disabled"] is True
    assert keys.verify("wk_bootstrap_admin_key_0123456789abcdef") is None


class FakeFailures:
    def __init__(self, blocked: bool) -> None:
        self.blocked = blocked
        self.recorded: list[str] = []

    async def retry_after(self, address: str) -> int | None:
        return 17 if self.blocked else None

    async def record(self, address: str) -> None:
        self.recorded.append(address)


def authenticator(es: FakeES, blocked: bool) -> tuple[Authenticator, FakeFailures]:
    auth = Authenticator.__new__(Authenticator)
    auth.keys = store(es)
    failures = FakeFailures(blocked)
    auth.failures = failures  # type: ignore[assignment]
    return auth, failures


def test_an_address_over_its_failure_limit_gets_429_without_a_lookup() -> None:
    es = FakeES()
    auth, failures = authenticator(es, blocked=False)
    key, _ = auth.keys.create("k", "reader")
    assert asyncio.run(auth.authenticate(f"Bearer {key}", "10.0.0.1")).name == "k"
    with pytest.raises(AuthError) as exc:
        asyncio.run(auth.authenticate("Bearer wk_guess", "10.0.0.1"))
    assert exc.value.status == 401 and failures.recorded == ["10.0.0.1"]
    with pytest.raises(AuthError) as exc:  # a missing key is not a guess
        asyncio.run(auth.authenticate("", "10.0.0.1"))
    assert exc.value.status == 401 and failures.recorded == ["10.0.0.1"]

    failures.blocked = True
    lookups = es.gets
    with pytest.raises(AuthError) as exc:
        asyncio.run(auth.authenticate("Bearer wk_another_guess", "10.0.0.1"))
    assert exc.value.status == 429 and exc.value.headers["Retry-After"] == "17"
    assert es.gets == lookups
    # A key this process verified is still served, and so is one it verified before its cache was
    # dropped (it is looked up again, not refused as a guess).
    assert asyncio.run(auth.authenticate(f"Bearer {key}", "10.0.0.1")).name == "k"
    auth.keys.invalidate()
    assert asyncio.run(auth.authenticate(f"Bearer {key}", "10.0.0.1")).name == "k"
    with pytest.raises(AuthError) as exc:  # an absurdly long token is never hashed or looked up
        asyncio.run(auth.authenticate("Bearer " + "x" * 10_000, "10.0.0.1"))
    assert exc.value.status == 429 and es.gets == lookups + 1
